"""striate plot PICTURE RUN [--out FILE.png] [options]

One PNG picture of a trained run: curves, filters, feature-maps, top-patches, saliency,
deconvnet, guided-backprop, occlusion, confusion, top-losses or monitors. Pictures of data
use the run's own test split.
"""

PICTURES = {
    "curves": "loss and accuracy per epoch (training against validation) and the learning rate",
    "filters": "the first convolution's kernels as an image grid (--layer for a deeper one)",
    "feature-maps": "every channel of chosen layers (--layers) for one test image (--image)",
    "top-patches": "the 9 test patches that activate each chosen channel most, cropped to its receptive field",
    "saliency": "gradient saliency and Grad-CAM (--layer) for one test image (--image)",
    "deconvnet": "the 9 strongest activations of chosen channels (--layer, --channels) with their deconvnet "
                 "projections to the pixels",
    "guided-backprop": "guided backpropagation of the predicted class, or of units (--layer, --channels), for one "
                       "test image (--image)",
    "occlusion": "the true class's probability as a grey square (--size, --stride) hides each part of one test "
                 "image (--image)",
    "confusion": "the confusion matrix, counts and row-normalised; the most confused pairs are printed",
    "top-losses": "the test images with the highest loss, with true and predicted class",
    "monitors": "per-layer monitor statistics over epochs (when the run recorded them)",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("plot", help="draw a picture of a run (curves, filters, feature maps, top patches, ...)",
                                   description="Draw one PNG picture of a trained run. Pictures: " +
                                   "; ".join(f"{name}: {text}" for name, text in PICTURES.items()))
    parser.add_argument("picture", choices=list(PICTURES), metavar="PICTURE", help=" | ".join(PICTURES))
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train'")
    parser.add_argument("--out", help="the PNG file to write (default: RUN/PICTURE.png)")
    parser.add_argument("--layer", help="layer name (filters, top-patches, saliency, deconvnet, guided-backprop); "
                                        "see 'striate summary' or model.named_modules()")
    parser.add_argument("--layers", help="comma-separated layer names (feature-maps; default: the model's feature taps)")
    parser.add_argument("--channels", help="comma-separated channel numbers (top-patches: default the first 16; "
                                           "deconvnet: the first 4; guided-backprop: the 4 most active)")
    parser.add_argument("--image", type=int, default=0, help="index of the test image (feature-maps, saliency, "
                                                             "guided-backprop, occlusion; default 0)")
    parser.add_argument("--size", type=int, help="occlusion: side of the occluding square in pixels (default: a quarter "
                                                 "of the image)")
    parser.add_argument("--stride", type=int, help="occlusion: pixels between square positions (default: a quarter of "
                                                   "the size)")
    parser.add_argument("--count", type=int, default=16, help="how many images (top-losses) or pairs (confusion); default 16")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--data", help="use this data's test split instead of the run's own")
    parser.add_argument("--class-map", metavar="MAP", help="with --data: the data's class names that differ from "
                                                          "the run's, as data_name=run_name,... (same names match "
                                                          "by themselves, in any order)")
    parser.set_defaults(func=run)


def _numbers(text: str | None) -> list[int] | None:
    from striate.errors import ConfigError

    if not text:
        return None
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(f"--channels expects comma-separated integers such as 0,1,2, got '{text}'") from None


def _draw(args, out):
    """The picture through striate.visualize.pictures, the same functions the Python API uses."""
    from striate.session import open_run
    from striate.session.open import parse_class_map
    from striate.visualize import pictures
    from striate.visualize.confusion import most_confused_pairs

    from_files_only = args.picture in ("curves", "monitors")  # no model, no data
    run = open_run(args.run_dir, None if from_files_only else args.weights, args.data,
                   class_map=parse_class_map(args.class_map))
    if args.picture == "confusion":
        figures = run.evaluate()
        path = pictures.confusion(run, out, figures)  # refuses a run that has no classes to confuse
        for true, predicted, count in most_confused_pairs(figures["confusion"], args.count):
            print(f"{count:6d}  {run.class_names[true]} predicted as {run.class_names[predicted]}")
        return path
    layers = [name.strip() for name in args.layers.split(",")] if args.layers else None
    draw = {"curves": lambda: pictures.curves(run, out), "monitors": lambda: pictures.monitors(run, out),
            "filters": lambda: pictures.filters(run, args.layer, out),
            "feature-maps": lambda: pictures.feature_maps(run, args.image, layers, out),
            "top-patches": lambda: pictures.top_patches(run, args.layer, _numbers(args.channels), out),
            "saliency": lambda: pictures.saliency(run, args.image, args.layer, out),
            "deconvnet": lambda: pictures.deconvnet(run, args.layer, _numbers(args.channels), out),
            "guided-backprop": lambda: pictures.guided_backprop(run, args.image, args.layer, _numbers(args.channels),
                                                                out),
            "occlusion": lambda: pictures.occlusion(run, args.image, args.size, args.stride, out),
            "top-losses": lambda: pictures.top_losses(run, args.count, out)}
    return draw[args.picture]()


def run(args) -> int:
    from pathlib import Path

    from striate.session import read_meta

    read_meta(args.run_dir)  # a clear error for a missing or unfinished run, before any drawing
    from striate.pretrained import find_pretrained

    shipped = find_pretrained(args.run_dir)  # a shipped network: its picture goes here, not into the package
    out = Path(args.out) if args.out else Path(f"{args.run_dir}-{args.picture}.png") if shipped else \
        Path(args.run_dir) / f"{args.picture}.png"
    path = _draw(args, out)
    print(f"wrote {path}")
    return 0
