"""striate summary MODEL_OR_YAML_OR_RUN [--input 3x224x224] [--num-classes N] [--json]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "summary", help="per-layer shapes, parameters, multiply-adds, activation memory and receptive fields",
        description="MODEL is a registered model (see 'striate models'), a network spec (.yaml) or a run "
                    "directory. The model is built on PyTorch's 'meta' device: no weights are allocated.")
    parser.add_argument("model", metavar="MODEL_OR_YAML_OR_RUN")
    parser.add_argument("--input", help="input shape CxHxW, e.g. 3x224x224 (default: the model's own)")
    parser.add_argument("--num-classes", type=int, help="number of classes (default: the model's own)")
    parser.add_argument("--json", action="store_true", help="print the rows and totals as JSON")
    parser.set_defaults(func=run)


def parse_shape(text: str) -> tuple[int, int, int]:
    """'3x224x224' -> (3, 224, 224); '224' or '224x224' alone are not enough (channels are needed)."""
    from striate.errors import ConfigError

    parts = text.lower().replace("*", "x").replace(",", "x").split("x")
    if len(parts) != 3 or not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise ConfigError(f"--input must be channels x height x width such as 3x224x224, got '{text}'")
    return tuple(int(part) for part in parts)


def default_input(name: str) -> tuple[int, int, int]:
    """The builder's own in_channels and input_size (or the spec's input)."""
    import inspect

    from striate.models import get_builder
    from striate.models.spec import is_spec_path, read_spec

    if is_spec_path(name):
        return tuple(read_spec(name).get("input") or (3, 32, 32))
    defaults = {key: p.default for key, p in inspect.signature(get_builder(name)).parameters.items()}
    size = defaults.get("input_size", 224)
    return (defaults.get("in_channels", 3), size, size)


def build_for_summary(target: str, input_shape, num_classes):
    """(model on the meta device, input shape, title) for a model name, a spec file or a run directory."""
    from pathlib import Path

    import torch

    from striate.models import create_model

    args, name = {}, target
    if Path(target).is_dir():
        from striate.session import read_meta

        meta = read_meta(target)
        name, args = meta["model"]["name"], dict(meta["model"]["args"])
        input_shape = input_shape or tuple(meta["input_shape"])
    input_shape = input_shape or default_input(name)
    args |= {"in_channels": input_shape[0], "input_size": input_shape[1]}
    if num_classes:
        args["num_classes"] = num_classes
    with torch.device("meta"):
        model = create_model(name, **args)
    return model, input_shape, Path(target).name if Path(target).is_dir() else name


def run(args) -> int:
    from striate.cli.common import print_json
    from striate.inspect import summary
    from striate.inspect.text import summary_lines

    shape = parse_shape(args.input) if args.input else None
    model, shape, title = build_for_summary(args.model, shape, args.num_classes)
    table = summary(model, shape)
    if args.json:
        print_json({"model": title} | table.to_dict())
        return 0
    print("\n".join(summary_lines(table, title)))
    return 0
