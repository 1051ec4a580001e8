"""striate train [RECIPE.yaml] [--key value ...] | striate train --resume RUN"""

from striate.cli.common import resolve_config, split_recipe


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network from a recipe",
        description="Train from a YAML recipe (default: recipes/lenet5-mnist.yaml). Any recipe key can be "
                    "overridden: --optim.lr 0.1, --epochs 5, --model mlp, --data ../shared/data/mnist. "
                    "--folds K runs k-fold cross-validation and reports the mean and spread.")
    parser.usage = "striate train [RECIPE.yaml] [--key value ...] | striate train --resume RUN"
    parser.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last checkpoint")
    parser.set_defaults(func=run, accepts_overrides=True)


def run(args) -> int:
    from striate.errors import ConfigError
    from striate.pipeline import resume_run, train_from_config

    if args.resume:
        if args.overrides:
            raise ConfigError(f"--resume continues a run as it was configured; drop {' '.join(args.overrides)}")
        result = resume_run(args.resume)
        from pathlib import Path

        from striate.runs import RunPaths
        from striate.train.config import load_recipe

        config = load_recipe(RunPaths(Path(args.resume)).config)
        if config.data.task != "classification":
            return _report_task(result)
    else:
        recipe, overrides = split_recipe(args.overrides)
        config, recipe_name = resolve_config(recipe, overrides)
        if config.data.task != "classification":  # keypoints, segmentation, autoencoder
            return _run_task(config, recipe_name)
        if config.data.folds > 1:  # k-fold cross-validation: --folds K
            return _cross_validate(config, recipe_name)
        result = train_from_config(config, recipe_name)
    if result["run_dir"] is None:  # a DDP rank other than 0: rank 0 reports
        return 0
    summary = result["summary"]
    print(f"test accuracy {100 * summary['test_accuracy']:.2f}% on {summary['test_count']} images "
          f"(best epoch {summary['best_epoch']}, {summary['train_seconds']:.1f}s of training)")
    print(f"run saved to {result['run_dir']}")
    from striate.diagnose.advice import advise_history, format_advice

    print(format_advice(advise_history(result["history"])))
    if config.run.report:
        from striate.visualize.report import write_report

        print(f"report written to {write_report(result['run_dir'])}")
    return 0


def _run_task(config, recipe_name: str) -> int:
    from striate.tasks.pipeline import train_task_from_config

    return _report_task(train_task_from_config(config, recipe_name))


def _report_task(result: dict) -> int:
    from striate.tasks.pipeline import format_task_figures

    summary = result["summary"]
    print(f"test {format_task_figures(result['test'])} on {result['test']['count']} images "
          f"(best epoch {summary['best_epoch']}, {summary['train_seconds']:.1f}s of training)")
    print(f"run saved to {result['run_dir']} (predictions in {summary['picture']})")
    return 0


def _cross_validate(config, recipe_name: str) -> int:
    from striate.crossval import cross_validate

    report = cross_validate(config, config.data.folds, recipe_name)
    for name in ("val_accuracy", "test_accuracy"):
        print(f"{name.replace('_', ' ')} {100 * report[name]['mean']:.2f}% +- {100 * report[name]['std']:.2f}% "
              f"over {report['folds']} folds")
    print(f"cross-validation report saved to {report['report_file']}")
    return 0
