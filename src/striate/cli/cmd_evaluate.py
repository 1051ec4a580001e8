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
    from striate.cli.common import print_json, print_table
    from striate.cli.run_notes import warn_if_training
    from striate.session import open_run

    run = open_run(args.run_dir, args.weights, args.data)
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
