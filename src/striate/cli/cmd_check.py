"""striate check [RECIPE.yaml | RUN] [--key value ...] [--details] [--json]"""

from pathlib import Path

from striate.cli.common import print_json, print_table, resolve_config, split_recipe

EXIT_CHECK_FAILED = 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="sanity-check a recipe before training (gradients, loss at init, overfit, data, layers)",
        description="Run the course's sanity checks on a recipe (or on the recipe of a run directory) with a freshly "
                    "initialised model, and print a verdict for each. Exit code 1 when a check fails.")
    parser.usage = "striate check [RECIPE.yaml | RUN] [--key value ...] [--details] [--json]"
    parser.add_argument("--details", action="store_true", help="also print the per-layer and per-tensor figures")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=run, accepts_overrides=True)


def config_for(target: str | None, overrides: list[str]):
    """A recipe file, or a run directory (its stored config.yaml), with the flags applied."""
    if target and Path(target).is_dir():
        from striate.session import RunPaths, read_meta

        read_meta(target)  # raises a clear RunError for a folder that is not a run
        return resolve_config(str(RunPaths(Path(target)).config), overrides)
    return resolve_config(target, overrides)


def _format_figure(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "-" if value is None else str(value)


def print_details(results) -> None:
    for result in results:
        if not result.details:
            continue
        print(f"\n{result.name}")
        headers = list(result.details[0])
        print_table(headers, [[_format_figure(row.get(key)) for key in headers] for row in result.details])


def run(args) -> int:
    from striate.diagnose.run_checks import run_checks
    from striate.diagnose.report import failed

    target, overrides = split_recipe(args.overrides)
    config, _ = config_for(target, overrides)
    results = run_checks(config)
    if args.json:
        print_json([result.to_dict() for result in results])
    else:
        print_table(["check", "verdict", "measured", "expected", "what to do"],
                    [[r.name, r.verdict.upper(), r.measured, r.expected, r.advice or "-"] for r in results])
        for result in results:
            if result.note:  # what a pass still wants said (e.g. why a gradient is zero)
                print(f"\nnote on the {result.name}: {result.note}")
        if args.details:
            print_details(results)
    return EXIT_CHECK_FAILED if failed(results) else 0
