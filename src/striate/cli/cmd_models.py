"""striate models"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the registered models")
    parser.add_argument("--params", action="store_true", help="build each model (10 classes) and count its parameters")
    parser.set_defaults(func=run)


def run(args) -> int:
    from striate.cli.common import print_table
    from striate.models import create_model, get_builder, list_models

    rows = []
    for name in list_models():
        doc = (get_builder(name).__doc__ or "").strip().splitlines()
        row = [name, doc[0] if doc else ""]
        if args.params:
            row.insert(1, f"{sum(p.numel() for p in create_model(name).parameters()):,}")
        rows.append(row)
    print_table(["model", "parameters", "description"] if args.params else ["model", "description"], rows)
    return 0
