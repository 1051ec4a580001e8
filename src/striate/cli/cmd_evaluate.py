"""striate evaluate RUN [--data DIR] [--weights best|last] [--json]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy, per-class accuracy and confusion counts of a run "
                                                    "(mean IoU, keypoint RMSE or reconstruction error of a task run)")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--data", help="evaluate on this data's test split instead of the run's own")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from striate.cli.common import print_json, print_table
    from striate.data import DeviceLoader
    from striate.data.preprocess import make_normalizer
    from striate.pipeline import held_out_split
    from striate.runs import RunPaths, load_run_model
    from striate.train.config import load_recipe
    from striate.train.loop import evaluate

    from striate.runs import read_meta
    from striate.tasks.predict import is_task_run

    if is_task_run(read_meta(args.run_dir)):
        return _evaluate_task(args)
    model, meta = load_run_model(args.run_dir, args.weights)
    config = load_recipe(RunPaths(Path(args.run_dir)).config)
    test = held_out_split(config, meta["preprocess"], args.data)
    loader = DeviceLoader(test, 512, meta["preprocess"]["mean"], meta["preprocess"]["std"],
                          normalize=make_normalizer(meta["preprocess"]))
    figures = evaluate(model, loader, len(meta["class_names"]))
    if args.json:
        print_json(figures | {"class_names": meta["class_names"]})
        return 0
    names = meta["class_names"]
    print(f"accuracy {100 * figures['accuracy']:.2f}% on {figures['count']} images, loss {figures['loss']:.4f}")
    print()
    print_table(["class", "accuracy", "images"],
                [[name, f"{100 * acc:.2f}%", sum(row)] for name, acc, row in zip(names, figures["per_class_accuracy"], figures["confusion"])])
    print("\nconfusion counts (rows: true class, columns: predicted)")
    print_table(["true\\pred", *names], [[name, *row] for name, row in zip(names, figures["confusion"])])
    return 0


def _evaluate_task(args) -> int:
    from striate.cli.common import print_json, print_table
    from striate.tasks.pipeline import format_task_figures
    from striate.tasks.predict import evaluate_task_run

    figures, meta = evaluate_task_run(args.run_dir, args.weights, args.data)
    if args.json:
        print_json(figures | {"task": meta["task"], "names": meta["names"]})
        return 0
    print(f"{meta['task']}: {format_task_figures(figures)} on {figures['count']} images, loss {figures['loss']:.4f}")
    if "per_class_iou" in figures:
        print()
        print_table(["class", "IoU"], [[name, "-" if iou != iou else f"{iou:.4f}"]
                                       for name, iou in zip(meta["class_names"], figures["per_class_iou"])])
    if "per_point_error" in figures:
        print()
        from striate.tasks.data import point_names

        names = point_names(meta["names"])
        print_table(["keypoint", "error (px)"], [[name, "-" if error != error else f"{error:.3f}"]
                                                 for name, error in zip(names, figures["per_point_error"])])
    return 0
