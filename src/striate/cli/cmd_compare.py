"""striate compare RECIPE --vary key=v1,v2 [--vary ...] [--seeds 3] [--key value ...]"""

import shlex
from pathlib import Path

from striate.cli.common import with_json
from striate.errors import ConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="train every combination of some config values, several seeds each, and compare",
        description="Train every combination of the --vary values (any recipe key), several seeds each, on the same "
                    "data and splits; print and write one table (CSV, JSON, Markdown), overlaid curves (PNG) and an "
                    "HTML page. Re-running the same command reuses the finished runs. Keys that vary together: "
                    "--vary optim.optimizer+optim.lr=sgd+0.05,adam+0.001. Other --key value flags change the recipe.")
    parser.usage = "striate compare [RECIPE.yaml] --vary KEY=V1,V2[,...] [--vary ...] [--seeds 3] [--key value ...]"
    parser.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2",
                        help="a config key and its values (repeat for a grid)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per combination (run.seed, run.seed+1, ...)")
    parser.add_argument("--target", default=None, metavar="METRIC=VALUE",
                        help="report epochs, steps and seconds until METRIC reaches VALUE, e.g. train_accuracy=0.75")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once in worker processes (default 1)")
    parser.add_argument("--out", default=None, help="comparison folder (default: <run.out_dir>/compare-<recipe>)")
    parser.add_argument("--json", action="store_true", help="print comparison.json's content on stdout; progress and "
                                                            "the text table go to stderr")
    parser.set_defaults(func=with_json(_compare), accepts_overrides=True)


def parse_target(text: str | None, task: str):
    """'train_accuracy=0.75' -> (the watched figure train_accuracy, higher is better; 0.75), for ``task``."""
    from striate.tasks import task_kind

    if not text:
        return None
    metric, _, value = text.partition("=")
    kind = task_kind(task)
    known = kind.watchable()
    if metric not in known:
        raise ConfigError(f"--target '{text}': unknown metric '{metric}'; expected one of {known}, e.g. val_accuracy=0.9")
    try:
        return kind.figure(metric, "target"), float(value)
    except ValueError:
        raise ConfigError(f"--target '{text}': expected METRIC=NUMBER, e.g. train_accuracy=0.75") from None


def _command_line(args, folder: Path) -> str:
    """The command as one shell line (recorded in comparison.json and on the HTML page)."""
    words = ["striate", "compare", *args.overrides]
    for text in args.vary:
        words += ["--vary", text]
    words += ["--seeds", str(args.seeds), "--out", str(folder)]
    words += ["--target", args.target] if args.target else []
    words += ["--jobs", str(args.jobs)] if args.jobs != 1 else []
    return shlex.join(words)


def _compare(args, outcome: dict) -> int:
    from striate.cli.common import print_table, resolve_config, split_recipe
    from striate.experiments import compare, parse_variation

    recipe, overrides = split_recipe(args.overrides)
    config, recipe_name = resolve_config(recipe, overrides)
    if not args.vary:
        raise ConfigError("nothing to compare: give at least one --vary KEY=V1,V2 (e.g. --vary model.args.activation=relu,tanh)")
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    variations = [parse_variation(text) for text in args.vary]
    folder = Path(args.out) if args.out else Path(config.run.out_dir) / f"compare-{recipe_name}"
    command = _command_line(args, folder)

    def on_run(planned, reused: bool) -> None:
        print(f"{'reused ' if reused else 'trained'} {planned.arm.label} seed {planned.seed}: {planned.run_dir}", flush=True)

    report = compare(config, variations, args.seeds, folder, args.jobs, parse_target(args.target, config.data.task),
                     command, on_run)
    from striate.experiments.table import text_rows

    outcome.update(report)

    print(f"{report['trained']} run(s) trained, {report['reused']} reused; mean ± std over seeds, accuracies in %")
    print_table(*text_rows(report["rows"]))
    print(f"table, curves and page written to {folder}/ (comparison.md, comparison.csv, comparison.json, "
          f"curves.png, comparison.html)")
    return 0
