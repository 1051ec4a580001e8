"""striate train [RECIPE.yaml] [--key value ...] | striate train --resume RUN"""

from striate.cli.common import resolve_config, split_recipe, with_json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network from a recipe",
        description="Train from a YAML recipe (default: recipes/lenet5-mnist.yaml). Any recipe key can be "
                    "overridden: --optim.lr 0.1, --epochs 5, --model mlp, --data ../shared/data/mnist. "
                    "--folds K runs k-fold cross-validation and reports the mean and spread.")
    parser.usage = "striate train [RECIPE.yaml] [--key value ...] | striate train --resume RUN"
    parser.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last checkpoint")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config (the recipe with your "
                                                                    "flags) with every key and what it means; train nothing")
    parser.add_argument("--json", action="store_true", help="print the summary (summary.json's figures) as JSON on "
                                                            "stdout; progress and the text result go to stderr")
    parser.set_defaults(func=with_json(_train), accepts_overrides=True)


def _train(args, outcome: dict) -> int:
    """Train (or resume, or cross-validate), print the text result, and put the JSON one in ``outcome``."""
    from striate.errors import ConfigError

    if args.resume:
        if args.overrides:
            raise ConfigError(f"--resume continues a run as it was configured; drop {' '.join(args.overrides)}")
        from striate.session import resume_run

        result = resume_run(args.resume)
    else:
        recipe, overrides = split_recipe(args.overrides)
        config, recipe_name = resolve_config(recipe, overrides)
        if args.print_config:
            print(annotated_config(config), end="")
            return 0
        from striate.session import cross_validate, train_run

        if config.data.folds > 1:  # k-fold cross-validation: --folds K
            report = cross_validate(config, config.data.folds, recipe_name)
            outcome.update(report)
            return _cross_validate(report)
        result = train_run(config, recipe_name)
    if result["run_dir"] is None:  # a DDP rank other than 0: rank 0 reports
        return 0
    outcome.update(result["summary"])
    return _report(result)


def annotated_config(config) -> str:
    """The config as YAML, one line a key with what it means (the comments of striate.training.config)."""
    import inspect
    import re

    import yaml

    from striate.training import config as config_module
    from striate.training.config import config_to_dict

    comments, section = {}, None
    owners = {cls.__name__: name for name, cls in typing_sections(config_module)}
    for line in inspect.getsource(config_module).splitlines():
        header = re.match(r"class (\w+)", line)
        if header:
            section = owners.get(header.group(1))
        field = re.match(r"    (\w+): [^=]+=[^#]*#\s*(.*)$", line)
        if section and field:
            comments[f"{section}.{field.group(1)}"] = field.group(2).strip()
    lines = ["# the resolved config; any key can be given as a flag: --section.key VALUE (or --key VALUE)"]
    for name, values in config_to_dict(config).items():
        lines.append(f"{name}:")
        for key, value in values.items():
            text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()
            comment = comments.get(f"{name}.{key}")
            lines.append(f"  {key}: {text}" + (f"  # {comment}" if comment else ""))
    return "\n".join(lines) + "\n"


def typing_sections(config_module) -> list[tuple[str, type]]:
    """(section name, its dataclass) of a Config: model -> ModelConfig, ..."""
    import dataclasses

    return [(field.name, field.type if isinstance(field.type, type) else getattr(config_module, field.type))
            for field in dataclasses.fields(config_module.Config)]


def _report(result: dict) -> int:
    from striate.diagnose.advice import advise_history, format_advice
    from striate.session import open_run

    run = open_run(result["run_dir"])
    summary, test = result["summary"], result["test"]
    print(f"test {run.task.describe(test)} on {test['count']} images "
          f"(best epoch {summary['best_epoch']}, {summary['train_seconds']:.1f}s of training)")
    picture = f" (predictions in {summary['picture']})" if summary.get("picture") else ""
    print(f"run saved to {result['run_dir']}{picture}")
    if summary.get("best_is", "").startswith("the last epoch"):
        print(f"note: the weights kept are {summary['best_is']}")
    from striate.session.prepare import busy_machine_note

    busy = busy_machine_note(summary)
    if busy:
        print(f"note: {busy}")
    if "accuracy" in run.task.figures:  # the bias/variance advice reads error rates
        print(format_advice(advise_history(result["history"], classes=result["test"], names=run.class_names)))
    if run.config.run.report:
        from striate.visualize.report import write_report

        print(f"report written to {write_report(result['run_dir'])}")
    return 0


def _cross_validate(report: dict) -> int:
    for name in ("val_accuracy", "test_accuracy"):
        if name in report:
            print(f"{name.replace('_', ' ')} {100 * report[name]['mean']:.2f}% +- {100 * report[name]['std']:.2f}% "
                  f"over {report['folds']} folds")
    print(f"cross-validation report saved to {report['report_file']}")
    return 0
