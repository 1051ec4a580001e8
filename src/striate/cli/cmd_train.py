"""striate train [RECIPE.yaml] [--key value ...]"""

from striate.cli.common import resolve_config, split_recipe


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a network from a recipe",
        description="Train from a YAML recipe (default: recipes/lenet5-mnist.yaml). Any recipe key can be "
                    "overridden: --optim.lr 0.1, --epochs 5, --model mlp, --data ../shared/data/mnist.")
    parser.usage = "striate train [RECIPE.yaml] [--key value ...]"
    parser.set_defaults(func=run, accepts_overrides=True)


def run(args) -> int:
    from striate.pipeline import train_from_config

    recipe, overrides = split_recipe(args.overrides)
    config, recipe_name = resolve_config(recipe, overrides)
    result = train_from_config(config, recipe_name)
    summary = result["summary"]
    print(f"test accuracy {100 * summary['test_accuracy']:.2f}% on {summary['test_count']} images "
          f"(best epoch {summary['best_epoch']}, {summary['train_seconds']:.1f}s of training)")
    print(f"run saved to {result['run_dir']}")
    if config.run.report:
        from striate.visualize.report import write_report

        print(f"report written to {write_report(result['run_dir'])}")
    return 0
