"""striate lr-find [RECIPE.yaml] [--steps N] [--start-lr LR] [--end-lr LR] [--plot PNG] [--key value ...]"""

from pathlib import Path

from striate.cli.common import print_json, resolve_config, split_recipe


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lr-find", help="learning-rate range test: a plot and a suggested learning rate", allow_abbrev=False,
        description="Train the recipe's model for a few hundred mini-batches with an exponentially growing learning "
                    "rate, plot the loss against it and suggest a rate. Nothing is saved but the plot.")
    parser.usage = "striate lr-find [RECIPE.yaml] [--steps N] [--start-lr LR] [--end-lr LR] [--plot PNG] [--key value ...]"
    parser.add_argument("--steps", type=int, default=200, help="mini-batches in the sweep (default 200)")
    parser.add_argument("--start-lr", type=float, default=1e-6, help="first learning rate (default 1e-6)")
    parser.add_argument("--end-lr", type=float, default=10.0, help="last learning rate (default 10)")
    parser.add_argument("--plot", help="where to save the PNG (default: <run.out_dir>/lr-find-<recipe>.png)")
    parser.add_argument("--json", action="store_true", help="print the suggestion and the curve as JSON")
    parser.set_defaults(func=run, accepts_overrides=True)


def run(args) -> int:
    from striate.diagnose.lr_finder import plot_lr_finder
    from striate.diagnose.run_checks import find_lr_for

    recipe, overrides = split_recipe(args.overrides)
    config, recipe_name = resolve_config(recipe, overrides)
    result = find_lr_for(config, args.start_lr, args.end_lr, args.steps)
    plot = Path(args.plot) if args.plot else Path(config.run.out_dir) / f"lr-find-{recipe_name}.png"
    plot_lr_finder(result, plot)
    if args.json:
        print_json({"suggested_lr": result.suggested_lr, "min_loss_lr": result.min_loss_lr,
                    "steepest_lr": result.steepest_lr, "stopped_early": result.stopped_early, "plot": str(plot),
                    "lrs": result.lrs, "losses": result.losses})
        return 0
    print(f"suggested learning rate {result.suggested_lr:.3g} (set it with --optim.lr {result.suggested_lr:.2g})")
    print(f"smoothed loss lowest at lr {result.min_loss_lr:.3g}, falling fastest at lr {result.steepest_lr:.3g}; "
          f"{len(result.losses)} steps" + (" (stopped early: the loss blew up)" if result.stopped_early else ""))
    print(f"plot saved to {plot}")
    return 0
