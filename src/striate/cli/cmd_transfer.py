"""striate transfer finetune|linear|compare --from SOURCE --data D [...]"""

from striate.cli.cmd_features import parse_classes
from striate.cli.common import with_json


def register(subparsers) -> None:
    parser = subparsers.add_parser("transfer", help="transfer a trained network to new data (fine-tune, linear on codes)",
                                   description="Transfer learning; see docs/transfer.md.")
    commands = parser.add_subparsers(dest="transfer_command", metavar="ACTION", required=True)
    finetune = commands.add_parser(
        "finetune", help="fine-tune a run or weights file on new data with a new head",
        description="New head for the new classes; freeze the bottom (--freeze conv1..conv3 or --freeze-stages 2); "
                    "a smaller body learning rate (--body-lr-scale 0.1); un-freeze at an epoch (--unfreeze-at 5). "
                    "Recipe keys as flags: --epochs 3 --optim.lr 0.01.")
    _common(finetune)
    finetune.add_argument("--model", help="architecture of a weights file (e.g. resnet18); a run knows its own")
    finetune.add_argument("--freeze", help="body layers to freeze: conv1..conv3, or conv2 (the bottom up to conv2)")
    finetune.add_argument("--freeze-stages", type=int, default=0, help="freeze the bottom N stages")
    finetune.add_argument("--body-lr-scale", type=float, default=1.0, help="body learning rate = optim.lr x this")
    finetune.add_argument("--unfreeze-at", type=int, default=0, help="from this epoch on, train every layer")
    finetune.set_defaults(func=with_json(run_finetune), accepts_overrides=True)
    linear = commands.add_parser("linear", help="a LIBLINEAR classifier on a run's CNN codes",
                                 description="Codes of one layer + a linear classifier (C by cross-validation).")
    _common(linear)
    linear.add_argument("--layer", default="features", help="layer name, 'features' (last hidden, default) or 'middle'")
    linear.add_argument("--pooling", default="avg", choices=["avg", "max", "flatten"])
    linear.add_argument("--C", type=float, help="fix C instead of choosing it by cross-validation")
    linear.add_argument("--out", required=True, help="folder for the classifier (classifier.json + .safetensors)")
    _formulation(linear)
    linear.set_defaults(func=with_json(run_linear))
    compare = commands.add_parser("compare", help="the transfer strategies side by side on the same splits",
                                  description="Fine-tune all; scratch with the bottom from the source; codes (last "
                                              "hidden and middle layer) + linear SVM; scratch. Recipe keys as flags.")
    _common(compare)
    compare.add_argument("--init-stages", type=int, help="bottom stages copied for strategy (b) (default: half)")
    compare.add_argument("--out", help="folder for compare.json and compare.md (default: runs/transfer-compare-TIME)")
    _formulation(compare)
    compare.set_defaults(func=with_json(run_compare), accepts_overrides=True)



def _common(parser) -> None:
    parser.add_argument("--from", dest="source", required=True, help="a run directory (or, for finetune, a weights file)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout; progress and the text "
                                                            "result go to stderr")
    parser.add_argument("--data", help="the new data: folder/file or source name (default: the source run's)")
    parser.add_argument("--classes", help="keep only these classes, comma-separated (e.g. 5,6,7,8,9)")


def _formulation(parser) -> None:
    from striate.transfer.formulations import DEFAULT_FORMULATION, FORMULATIONS

    parser.add_argument("--formulation", default=DEFAULT_FORMULATION, choices=sorted(FORMULATIONS),
                        help=f"LIBLINEAR formulation (default {DEFAULT_FORMULATION})")


def _config(args, fit: bool = True):
    """The target config: the source run's recipe (or the default one for a weights file) on the new data,
    with the batch, validation share and epochs fitted to that data (``fit``) unless given as flags."""
    from pathlib import Path

    from striate.cli.common import parse_overrides, resolve_config
    from striate.training.config import set_value
    from striate.transfer.data import describe_fit, fit_to_data, target_config

    classes = parse_classes(args.classes)
    if Path(args.source).is_dir():
        config = target_config(args.source, args.data, classes)
    else:
        flags = (["--data", args.data] if args.data else []) + (["--model", args.model] if getattr(args, "model", None) else [])
        config, _ = resolve_config(None, flags)
        if classes is not None:
            config.data.classes = classes
    config.run.name = None  # a new run, not the source's name (--name sets one)
    overrides = parse_overrides(getattr(args, "overrides", []) or [])
    for key, value in overrides:
        set_value(config, key, value)
    if fit:
        print(describe_fit(fit_to_data(config, [key for key, _ in overrides])), flush=True)
    return config


def run_finetune(args, outcome: dict) -> int:
    from striate.transfer.finetune import FineTunePlan, finetune_run

    config = _config(args)
    plan = FineTunePlan(args.freeze, args.freeze_stages, args.body_lr_scale, args.unfreeze_at)
    result = finetune_run(args.source, config, plan, args.model)
    summary = result["summary"]
    outcome.update(summary, frozen=result["frozen"], trainable_parameters=result["trainable_parameters"])
    print(f"test accuracy {100 * summary['test_accuracy']:.2f}% on {summary['test_count']} images "
          f"({result['trainable_parameters']:,} trainable parameters at the start, {len(result['frozen'])} frozen "
          f"tensors, {summary['train_seconds']:.1f}s of training)")
    print(f"run saved to {result['run_dir']}")
    return 0


def run_linear(args, outcome: dict) -> int:
    from pathlib import Path

    from striate.session import load_run_model
    from striate.transfer.codes import resolve_layer
    from striate.transfer.data import split_codes, splits_for_run
    from striate.transfer.linear import fit_linear, save_linear

    config = _config(args, fit=False)  # no training: C is chosen by cross-validation on the training codes
    model, meta = load_run_model(args.source)
    layer = resolve_layer(model, args.layer)
    splits = splits_for_run(config, meta["preprocess"])
    codes = split_codes(model, splits, meta["preprocess"], layer, args.pooling)
    info = {"run": str(Path(args.source).resolve()), "layer": layer, "pooling": args.pooling,
            "data": {"source": config.data.source, "path": config.data.path, "classes": config.data.classes}}
    classifier = fit_linear(*codes["train"], args.formulation, splits["train"].class_names, args.C, info)
    classifier.info["test_accuracy"] = classifier.accuracy(*codes["test"])
    classifier.info["val_accuracy"] = classifier.accuracy(*codes["val"])
    save_linear(classifier, args.out)
    outcome.update(classifier.info, C=classifier.C, formulation=args.formulation, out=args.out)
    print(f"{args.formulation} on {codes['train'][0].shape[1]}-d codes of {layer}: C={classifier.C:g}, test accuracy "
          f"{100 * classifier.info['test_accuracy']:.2f}% on {len(codes['test'][1])} images")
    print(f"classifier saved to {args.out} (use it with: striate predict {args.out} IMAGE)")
    return 0


def run_compare(args, outcome: dict) -> int:
    import time
    from pathlib import Path

    from striate.cli.common import print_table
    from striate.files import atomic_write_bytes, atomic_write_json
    from striate.transfer.compare import TABLE_HEADERS, compare_strategies, format_rows, markdown_table

    config = _config(args)
    config.run.progress = "off"
    out = Path(args.out or Path(config.run.out_dir) / f"transfer-compare-{time.strftime('%Y%m%d-%H%M%S')}")
    config.run.out_dir = str(out / "runs")  # the trained strategies are runs of their own, kept beside the table
    report = (lambda row: print(f"done: {row['strategy']}: {100 * row['accuracy']:.2f}% in {row['seconds']:.1f}s",
                                flush=True))
    rows = compare_strategies(args.source, config, args.init_stages, args.formulation, report)
    outcome.update(rows=rows, out=out)
    print_table(TABLE_HEADERS, format_rows(rows))
    atomic_write_json(out / "compare.json", {"source": str(args.source), "data": config.data.path or config.data.source,
                                             "classes": config.data.classes, "epochs": config.optim.epochs, "rows": rows})
    atomic_write_bytes(out / "compare.md", markdown_table(rows).encode())
    print(f"table saved to {out}/compare.md and compare.json")
    return 0
