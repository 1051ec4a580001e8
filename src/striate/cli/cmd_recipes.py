"""striate recipes [--json] | striate recipes copy NAME [DEST]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("recipes", help="list the recipes that ship with striate, or copy one to change it",
                                   description="Shipped recipes are found by name: 'striate train mnist-fast'. "
                                               "'striate recipes copy mnist-fast my.yaml' copies one to edit.")
    parser.add_argument("action", nargs="?", choices=["list", "copy"], default="list")
    parser.add_argument("name", nargs="?", help="copy: the recipe's name (e.g. mnist-fast, classics/relu-tanh-cifar10)")
    parser.add_argument("destination", nargs="?", default=".", help="copy: a folder or a file name (default: here)")
    parser.add_argument("--json", action="store_true", help="list as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.cli.common import print_json, print_table
    from striate.errors import ConfigError
    from striate.recipes import copy_recipe, list_recipes

    if args.action == "copy":
        if not args.name:
            raise ConfigError("give the recipe to copy: striate recipes copy NAME [DEST] ('striate recipes' lists them)")
        print(f"copied to {copy_recipe(args.name, args.destination)}")
        return 0
    recipes = list_recipes()
    if args.json:
        print_json([{"name": name, "description": text} for name, text in recipes])
    else:
        print_table(["recipe", "description"], [[name, text] for name, text in recipes])
    return 0
