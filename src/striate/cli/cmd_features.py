"""striate features RUN --layer NAME [--data D] [--pooling avg|max|flatten] [--out FILE]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "features", help="CNN codes: a layer's activations for every image, saved with the labels",
        description="Run a trained network over every image of a data set (in batches, with the run's own "
                    "preprocessing) and save the activations of one layer, pooled to one vector per image, with "
                    "the labels, per split (train/val/test as the run's recipe splits the data).")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--layer", default="features",
                        help="a layer name (see 'striate summary'), 'features' (the last hidden layer, default) or 'middle'")
    parser.add_argument("--data", help="data folder/file or source name (default: the run's own data)")
    parser.add_argument("--classes", help="keep only these classes, comma-separated (e.g. 5,6,7,8,9)")
    parser.add_argument("--pooling", default="avg", choices=["avg", "max", "flatten"],
                        help="how maps become vectors: global average (default), global max, or flattened")
    parser.add_argument("--out", help="output file, .npz (default) or .safetensors (default: codes-LAYER.npz)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.set_defaults(func=run)


def parse_classes(text: str | None) -> list | None:
    """'5,6,7' -> [5, 6, 7]; names stay text ('cat,dog' -> ['cat', 'dog'])."""
    if not text:
        return None
    return [int(item) if item.strip().isdigit() else item.strip() for item in text.split(",") if item.strip()]


def run(args) -> int:
    from striate.session import open_run
    from striate.transfer.codes import resolve_layer
    from striate.transfer.data import as_device, split_codes, splits_for_run, target_config, write_codes

    device = as_device(args.device)
    run = open_run(args.run_dir, args.weights, device=device)
    model, meta = run.model, run.meta
    layer = resolve_layer(model, args.layer)
    config = target_config(args.run_dir, args.data, parse_classes(args.classes))
    splits = splits_for_run(config, meta["preprocess"])
    codes = split_codes(model, splits, meta["preprocess"], layer, args.pooling, device)
    out = args.out or f"codes-{layer.replace('.', '-')}.npz"
    info = {"run": str(args.run_dir), "layer": layer, "pooling": args.pooling, "weights": args.weights,
            "data": {"source": config.data.source, "path": config.data.path, "classes": config.data.classes}}
    write_codes(out, codes, splits["train"].class_names, info)
    sizes = ", ".join(f"{name} {len(labels)}" for name, (_, labels) in codes.items())
    width = codes["train"][0].shape[1]
    print(f"{width}-dimensional codes of layer {layer} ({args.pooling} pooling) for {sizes} images saved to {out}")
    return 0
