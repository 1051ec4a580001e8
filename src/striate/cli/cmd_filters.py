"""striate filters IMAGE [--out FILE.png] [--sigma S] [--orientations N] [--wavelengths 4,8]"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("filters", help="apply the classic image filters (mean, Gaussian, Sobel, Prewitt, "
                                                   "Laplacian of Gaussian, a Gabor bank) to an image")
    parser.add_argument("image", metavar="IMAGE", help="an image file (PNG, JPEG, BMP, NPY); colour images are made grey")
    parser.add_argument("--out", help="the PNG file to write (default: IMAGE's name with -filters.png)")
    parser.add_argument("--sigma", type=float, default=2.0, help="sigma of the Gaussian and the Laplacian of Gaussian (pixels)")
    parser.add_argument("--orientations", type=int, default=4, help="Gabor orientations over 0..180 degrees (default 4)")
    parser.add_argument("--wavelengths", default="4,8", help="Gabor wavelengths in pixels, one scale each (default 4,8)")
    parser.add_argument("--max-size", type=int, default=256, help="larger images are shrunk to this side first (default 256)")
    parser.set_defaults(func=run)


def _wavelengths(text: str) -> tuple[float, ...]:
    from striate.errors import ConfigError

    try:
        values = tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 2:
        raise ConfigError(f"--wavelengths expects comma-separated numbers of at least 2 pixels such as 4,8; got '{text}'")
    return values


def run(args) -> int:
    from pathlib import Path

    from striate.data.geometry import resize
    from striate.data.images import load_image
    from striate.errors import ConfigError
    from striate.visualize.image_filters import plot_image_filters

    if args.sigma <= 0 or not 1 <= args.orientations <= 16:
        raise ConfigError("--sigma must be positive and --orientations between 1 and 16")
    wavelengths = _wavelengths(args.wavelengths)
    image = load_image(args.image, channels=1)  # uint8 1 x H x W
    height, width = image.shape[-2:]
    scale = min(1.0, args.max_size / max(height, width))
    if scale < 1.0:
        image = resize(image.unsqueeze(0), (max(1, round(height * scale)), max(1, round(width * scale))))[0]
    out = Path(args.out) if args.out else Path(args.image).with_name(Path(args.image).stem + "-filters.png")
    plot_image_filters(image.float().div(255), out, args.sigma, args.orientations, wavelengths)
    print(f"wrote {out}")
    return 0
