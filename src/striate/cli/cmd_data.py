"""striate data download|info|preview|make-mnist-canvas|make-keypoint-dots"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="download data sets, describe data, preview augmentation")
    commands = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    download = commands.add_parser("download", help="download mnist, fashion-mnist, cifar10 or cifar100 "
                                                    "(checksummed, resumable)")
    download.add_argument("name", choices=["mnist", "fashion-mnist", "cifar10", "cifar100"])
    download.add_argument("--dir", help="parent folder (default: $STRIATE_DATA_DIR or ~/.cache/striate/data)")
    download.add_argument("--mirror", help="another URL base holding the same files ($STRIATE_DOWNLOAD_MIRROR)")
    download.set_defaults(func=run_download)
    info = commands.add_parser("info", help="count, classes and balance, shape, dtype, pixel mean/std, bad files, "
                                            "and the train/validation/test splits a run makes")
    info.add_argument("path", metavar="PATH", help="a data folder or file (IDX, CIFAR, image folder, .npz, .csv), "
                                                   "or a source name (mnist5k, digits)")
    info.add_argument("--source", help="the data source, when it cannot be inferred")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    info.add_argument("--recipe", help="take data.val_fraction, test_fraction, split_seed, train_per_class and "
                                       "max_per_class from this recipe (default: the defaults of striate train)")
    for key, kind in (("val_fraction", float), ("test_fraction", float), ("split_seed", int), ("train_per_class", int),
                      ("max_per_class", int)):
        info.add_argument(f"--{key.replace('_', '-')}", f"--data.{key}", f"--{key}", dest=key, type=kind,
                          help=f"data.{key} of the run to split for (overrides --recipe)")
    info.set_defaults(func=run_info)
    preview = commands.add_parser("preview", help="write a PNG grid of a recipe's augmented training samples")
    preview.add_argument("recipe", metavar="RECIPE", help="a YAML recipe (recipe keys can follow as --key value)")
    preview.add_argument("--out", default="augment-preview.png", help="the PNG to write")
    preview.add_argument("--samples", type=int, default=8, help="training images, one a row (default 8)")
    preview.add_argument("--variants", type=int, default=7, help="augmented versions of each (default 7)")
    preview.add_argument("--seed", type=int, default=0)
    preview.set_defaults(func=run_preview)
    from striate.cli.data_make import register_make

    register_make(commands)  # make-mnist-canvas, make-keypoint-dots
    parser.set_defaults(accepts_overrides=True)


# the message for the data actions that take no recipe keys (data_make.py says the same)
ONLY_PREVIEW = "only 'data preview' takes recipe keys"


def run_download(args) -> int:
    from striate.cli.common import refuse_overrides
    from striate.data.download import download_dataset

    refuse_overrides(args, ONLY_PREVIEW)
    folder = download_dataset(args.name, args.dir, args.mirror)
    print(f"{args.name} ready in {folder} (use it with --data.source {args.name} --data.path {folder})")
    return 0


def _settings(args):
    from striate.data.info import SplitSettings
    from striate.training.config import DataConfig, load_recipe
    from striate.training.validation import check_value

    data = load_recipe(args.recipe).data if args.recipe else DataConfig()
    values = {key: getattr(args, key) if getattr(args, key) is not None else getattr(data, key)
              for key in ("val_fraction", "test_fraction", "split_seed", "train_per_class", "max_per_class")}
    for key, value in values.items():
        check_value(f"data.{key}", value)
    return SplitSettings(**values)


def run_info(args) -> int:
    from striate.cli.common import print_json, refuse_overrides
    from striate.data.info import describe

    refuse_overrides(args, ONLY_PREVIEW)
    found = describe(args.path, args.source, _settings(args))
    if args.json:
        print_json(found)
        return 0
    print(f"{found['path']}: source {found['source']}")
    for note in found.get("notes", []):  # the files or keys read, and how the splits were found
        print(f"  {note}")
    for name, split in found["splits"].items():
        _print_split(name, split)
    if "run_splits" in found:
        _print_run_splits(found)
    return 0


def _print_split(name: str, split: dict) -> None:
    from striate.cli.common import print_table

    figures = ", ".join(f"{m:.4f}/{s:.4f}" for m, s in zip(split["mean"], split["std"]))
    sizes = split.get("native_sizes") or {}
    shape = f"{split['shape'][0]} channels at the sizes below" if None in split["shape"] \
        else "shape " + "x".join(str(d) for d in split["shape"])
    print(f"\n{name}: {split['count']} images, {shape}, {split['dtype']}, pixel mean/std {figures}")
    if len(sizes) > 1:
        print(f"sizes ({len(sizes)}): " + ", ".join(f"{size} ({count})" for size, count in list(sizes.items())[:8])
              + (" ..." if len(sizes) > 8 else ""))
    if "classes" in split:
        print(f"{split['num_classes']} classes, balance {split['balance'] or 0:.3f} (smallest/largest)")
        print_table(["class", "images"], [[c, n] for c, n in split["classes"].items()])
    if "missing_targets" in split:
        print(f"{split['targets']} targets, {split['complete_rows']} rows complete; missing per target:")
        print_table(["target", "missing"], [[t, n] for t, n in split["missing_targets"].items()])
    for bad in split.get("unreadable", []):
        print(f"unreadable: {bad}")


def _print_run_splits(found: dict) -> None:
    from striate.cli.common import print_table

    settings, parts = found["settings"], found["run_splits"]
    print(f"\na run trains on (data.val_fraction {settings['val_fraction']:g}, data.test_fraction "
          f"{settings['test_fraction']:g}, data.split_seed {settings['split_seed']}"
          + (f", data.train_per_class {settings['train_per_class']}" if settings["train_per_class"] else "") + "):")
    for note in found["split_notes"]:
        print(f"  {note}")
    names = list(parts["train"]["classes"])
    rows = [[name, *(parts[split]["classes"][name] for split in ("train", "val", "test"))] for name in names]
    print_table(["class", "train", "val", "test"], rows + [["all", *(parts[s]["count"] for s in ("train", "val", "test"))]])
    print(f"validation floor: {found['validation_floor']}")
    if found["validation_note"]:
        print(f"note: {found['validation_note']}")


def run_preview(args) -> int:
    import torch

    from striate.cli.common import resolve_config
    from striate.data import fit_to_size, load_source
    from striate.data.augment import build_augment
    from striate.data.preprocess import fit_preprocess
    from striate.data.preview import augmented_rows, grid_png
    from striate.tasks.classification import source_options
    from striate.files import atomic_write_bytes

    config, _ = resolve_config(args.recipe, args.overrides)
    train = load_source(config.data.source, config.data.path, **source_options(config.data))["train"]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed))[: max(1, args.samples)]
    images = fit_to_size(train.images[pick], config.data.input_size, config.data.fit)
    stats = fit_preprocess(images, "channel")
    rows = augmented_rows(images, build_augment(config.data.augment, stats), max(0, args.variants), args.seed)
    atomic_write_bytes(args.out, grid_png(rows, scale=max(1, 64 // config.data.input_size)))
    print(f"wrote {args.out}: {len(rows)} images, the original then {args.variants} augmented versions each "
          f"({', '.join(map(str, config.data.augment)) or 'no augmentation'})")
    return 0
