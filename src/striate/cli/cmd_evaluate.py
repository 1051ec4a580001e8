"""striate evaluate RUN [--data DIR] [--weights best|last] [--json]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy, balanced accuracy, macro F1, ROC AUC (two classes), "
                                                    "per-class precision, recall and F1 and confusion counts of a run "
                                                    "(mean IoU, keypoint RMSE or reconstruction error of a task run)")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--data", help="evaluate on this data's test split instead of the run's own")
    parser.add_argument("--class-map", metavar="MAP", help="with --data: the data's class names that differ from "
                                                          "the run's, as data_name=run_name,... (same names match "
                                                          "by themselves, in any order)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.cli.common import print_json, print_table
    from striate.cli.run_notes import warn_if_training
    from striate.session import open_run
    from striate.session.open import parse_class_map

    run = open_run(args.run_dir, args.weights, args.data, class_map=parse_class_map(args.class_map))
    warn_if_training(run)
    figures = run.evaluate()
    if args.json:
        print_json(figures | {"task": run.task.name, "class_names": run.class_names, "names": run.names})
        return 0
    print(f"{run.task.describe(figures)} on {figures['count']} images, loss {figures['loss']:.4f}")
    for title, headers, rows in run.task.tables(figures, run.names):
        print()
        if title:
            print(title)
        print_table(headers, rows)
    return 0
