"""striate data make-mnist-canvas | make-keypoint-dots: example data for the tasks beyond classification."""

from pathlib import Path

from striate.cli.common import refuse_overrides

ONLY_PREVIEW = "only 'data preview' takes recipe keys"


def register_make(commands) -> None:
    canvas = commands.add_parser("make-mnist-canvas", help="write image/mask folders of MNIST digits on a larger "
                                                           "canvas (segmentation example)")
    canvas.add_argument("out", metavar="OUT_DIR", help="folder to write images/, masks/ and classes.txt into")
    canvas.add_argument("--mnist", metavar="DIR", help="MNIST IDX folder (default: ../shared/data/mnist when present, "
                                                       "else the built-in mnist5k)")
    canvas.add_argument("--count", type=int, default=4000, help="canvases to write (default 4000)")
    canvas.add_argument("--size", type=int, default=48, help="canvas side in pixels (default 48)")
    canvas.add_argument("--max-digits", type=int, default=2, help="digits per canvas, 1 to this (default 2)")
    canvas.add_argument("--seed", type=int, default=0)
    canvas.set_defaults(func=run_canvas)
    dots = commands.add_parser("make-keypoint-dots", help="write a facial-keypoints-layout CSV of images with "
                                                          "drawn dots (keypoint example)")
    dots.add_argument("out", metavar="OUT.csv")
    dots.add_argument("--count", type=int, default=1000, help="images (default 1000)")
    dots.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    dots.add_argument("--missing-rate", type=float, default=0.1, help="share of rows whose nose is missing")
    dots.add_argument("--seed", type=int, default=0)
    dots.set_defaults(func=run_dots)


def _default_mnist() -> Path | None:
    folder = Path("..") / "shared" / "data" / "mnist"  # beside the project, as the data README says
    return folder if folder.is_dir() else None


def run_canvas(args) -> int:
    from striate.tasks.synthetic import make_mnist_canvas

    refuse_overrides(args, ONLY_PREVIEW)
    mnist = args.mnist or _default_mnist()
    out = make_mnist_canvas(args.out, args.count, args.size, args.max_digits, mnist, args.seed)
    print(f"{args.count} canvases of {args.size}x{args.size} ({'MNIST from ' + str(mnist) if mnist else 'mnist5k'}) "
          f"written to {out}; train with: striate train recipes/fcn8s-mnist-canvas.yaml --data {out}")
    return 0


def run_dots(args) -> int:
    from striate.tasks.synthetic import make_keypoint_dots

    refuse_overrides(args, ONLY_PREVIEW)
    out = make_keypoint_dots(args.out, args.count, args.size, args.missing_rate, args.seed)
    print(f"{args.count} images of {args.size}x{args.size} with 3 keypoints written to {out}; "
          f"train with: striate train recipes/keypoint-lenet-dots.yaml --data {out}")
    return 0
