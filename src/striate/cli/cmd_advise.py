"""striate advise RUN [--target-error E] [--tolerance T] [--json]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "advise", help="bias/variance diagnosis of a run's curves, with remedies",
        description="Read a run's metrics.jsonl and say whether it diverged, has not converged, has high bias, "
                    "high variance, both, or looks healthy, with the figures behind the verdict and what to try.")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--target-error", type=float, default=0.02,
                        help="the error a good model reaches on this data, e.g. human level (default 0.02)")
    parser.add_argument("--tolerance", type=float, default=0.03,
                        help="bias or variance above this many error points is high (default 0.03)")
    parser.add_argument("--json", action="store_true", help="print the verdict and figures as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from striate.cli.common import print_json
    from striate.diagnose.advice import advise_run, format_advice

    advice = advise_run(args.run_dir, args.target_error, args.tolerance)
    if args.json:
        print_json(asdict(advice))
    else:
        print(format_advice(advice))
    return 0
