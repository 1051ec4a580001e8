"""striate models"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list the registered models")
    parser.add_argument("--params", action="store_true", help="count each model's parameters (with its default classes and input size)")
    parser.add_argument("--pretrained", action="store_true", help="list the trained networks that ship with striate "
                                                                  "(use one by name: striate filters lenet5-mnist)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    import torch

    from striate.cli.common import print_json, print_table
    from striate.models import create_model, get_builder, list_models

    if args.pretrained:
        from striate.pretrained import list_pretrained

        shipped = list_pretrained()
        if args.json:
            print_json(shipped)
            return 0
        print_table(["name", "model", "data", "classes", "test accuracy", "parameters", "model card"],
                    [[item["name"], item["model"], item["data"], item["classes"], f"{100 * item['test_accuracy']:.2f}%",
                      f"{item['parameters']:,}", item["card"]] for item in shipped])
        return 0
    rows = []
    for name in list_models():
        doc = (get_builder(name).__doc__ or "").strip().splitlines()
        row = [name, doc[0] if doc else ""]
        if args.params:
            with torch.device("meta"):  # shapes only: no memory, no initialisation
                model = create_model(name)
            row.insert(1, f"{sum(p.numel() for p in model.parameters()):,}")
        rows.append(row)
    headers = ["model", "parameters", "description"] if args.params else ["model", "description"]
    if args.json:
        print_json([dict(zip(headers, row)) for row in rows])
        return 0
    print_table(headers, rows)
    return 0
