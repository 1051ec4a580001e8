"""striate plot PICTURE RUN [--out FILE.png] [options]

One PNG picture of a trained run: curves, filters, feature-maps, top-patches, saliency,
confusion, top-losses or monitors. Pictures of data use the run's own test split.
"""

PICTURES = {
    "curves": "loss and accuracy per epoch (training against validation) and the learning rate",
    "filters": "the first convolution's kernels as an image grid (--layer for a deeper one)",
    "feature-maps": "every channel of chosen layers (--layers) for one test image (--image)",
    "top-patches": "the 9 test patches that activate each chosen channel most, cropped to its receptive field",
    "saliency": "gradient saliency and Grad-CAM (--layer) for one test image (--image)",
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
    parser.add_argument("--layer", help="layer name (filters, top-patches, saliency); see 'striate summary' or model.named_modules()")
    parser.add_argument("--layers", help="comma-separated layer names (feature-maps; default: the model's feature taps)")
    parser.add_argument("--channels", help="comma-separated channel numbers (top-patches; default: the first 16)")
    parser.add_argument("--image", type=int, default=0, help="index of the test image (feature-maps, saliency; default 0)")
    parser.add_argument("--count", type=int, default=16, help="how many images (top-losses) or pairs (confusion); default 16")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--data", help="use this data's test split instead of the run's own")
    parser.set_defaults(func=run)


def _numbers(text: str | None) -> list[int] | None:
    from striate.errors import ConfigError

    if not text:
        return None
    try:
        return [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(f"--channels expects comma-separated integers such as 0,1,2, got '{text}'") from None


def _curves(args, out):
    from striate.visualize.curves import plot_training_curves, read_metrics, read_step_records

    return plot_training_curves(read_metrics(args.run_dir), out, read_step_records(args.run_dir) or None)


def _monitors(args, out):
    from striate.errors import RunError
    from striate.visualize.curves import read_metrics
    from striate.visualize.monitors import monitor_series, plot_monitors

    table = monitor_series(read_metrics(args.run_dir))
    if not table:
        raise RunError(f"{args.run_dir} recorded no layer monitors; train with the layer monitors switched on")
    return plot_monitors(table, out)


def _needs_data(args, out):
    from striate.session import open_run

    run = open_run(args.run_dir, args.weights, args.data)
    return DATA_PICTURES[args.picture](args, run, out)


def _filters(args, out):
    from striate.session import load_run_model
    from striate.visualize.filters import plot_filters

    model, _ = load_run_model(args.run_dir, args.weights)
    return plot_filters(model, out, args.layer)


def _feature_maps(args, run, out):
    from striate.visualize.feature_maps import plot_feature_maps

    image, _ = run.image(args.image)
    layers = [name.strip() for name in args.layers.split(",")] if args.layers else None
    return plot_feature_maps(run.model, image, layers, out, display=_undo(image, run))


def _undo(image, run):
    """The normalised image back in 0..1, for display (whitened inputs are shown as they are, stretched)."""
    import torch

    if run.mean is None:
        return image
    return (image * torch.tensor(run.std).view(-1, 1, 1) + torch.tensor(run.mean).view(-1, 1, 1)).clamp(0, 1)


def _top_patches(args, run, out):
    from striate.errors import ConfigError
    from striate.visualize.filters import conv_layers
    from striate.visualize.top_patches import plot_top_patches, top_activating_patches

    layer = args.layer or (conv_layers(run.model)[-1][0] if conv_layers(run.model) else None)
    if layer is None:
        raise ConfigError("this model has no convolution layer; give --layer with a layer that has channel maps")
    found = top_activating_patches(run.model, run.loader(), layer, _numbers(args.channels), k=9, input_shape=run.input_shape)
    return plot_top_patches(found, out, mean=run.mean, std=run.std, class_names=run.class_names)


def _saliency(args, run, out):
    from striate.visualize.saliency import plot_saliency

    image, _ = run.image(args.image)
    return plot_saliency(run.model, image, args.layer, out, mean=run.mean, std=run.std, class_names=run.class_names)


def _confusion(args, run, out):
    from striate.visualize.confusion import most_confused_pairs, plot_confusion

    figures = run.evaluate()
    names = run.class_names
    for true, predicted, count in most_confused_pairs(figures["confusion"], args.count):
        print(f"{count:6d}  {names[true]} predicted as {names[predicted]}")
    return plot_confusion(figures["confusion"], names, out)


def _top_losses(args, run, out):
    from striate.visualize.confusion import plot_top_losses, top_losses

    found = top_losses(run.model, run.loader(), k=args.count)
    return plot_top_losses(found, out, mean=run.mean, std=run.std, class_names=run.class_names)


DATA_PICTURES = {"feature-maps": _feature_maps, "top-patches": _top_patches,
                 "saliency": _saliency, "confusion": _confusion, "top-losses": _top_losses}
HANDLERS = {"curves": _curves, "monitors": _monitors, "filters": _filters, **dict.fromkeys(DATA_PICTURES, _needs_data)}


def run(args) -> int:
    from pathlib import Path

    from striate.session import read_meta

    read_meta(args.run_dir)  # a clear error for a missing or unfinished run, before any drawing
    out = Path(args.out) if args.out else Path(args.run_dir) / f"{args.picture}.png"
    path = HANDLERS[args.picture](args, out)
    print(f"wrote {path}")
    return 0
