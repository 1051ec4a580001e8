"""striate report RUN [--out FILE.html] [--weights best|last] [--data DIR]"""

import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write a run's report: one self-contained HTML page",
                                   description="Write one HTML file (pictures embedded, no network access needed) with the "
                                               "configuration, model summary, curves, final figures, confusion matrix, "
                                               "top losses, filters, top patches, monitors and the bias/variance verdict.")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--out", help="the HTML file to write (default: RUN/report.html)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--data", help="use this data's test split instead of the run's own")
    parser.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from striate.session.lock import writer_of
    from striate.visualize.report import write_report

    path = write_report(args.run_dir, args.out, args.weights, args.data)
    writer = writer_of(Path(args.run_dir))
    if writer is not None:
        print(f"note: {args.run_dir} is still training; the report shows its last finished epoch", file=sys.stderr)
    print(f"wrote {path} (open it in a browser)")
    return 0
