"""striate predict RUN IMAGE... [--top-k K] [--json]"""

from striate.errors import ConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="classify image files (PNG, JPEG, BMP, NPY) with a trained run; "
                                                   "keypoints, masks or reconstructions with a task run")
    parser.add_argument("run_dir", metavar="RUN", help="a run directory made by 'striate train' (or a classifier "
                                                       "folder made by 'striate transfer linear')")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files, or folders: every image in a "
                        "folder (and its sub-folders) is predicted")
    parser.add_argument("--top-k", type=int, default=3, help="how many classes to show per image (default 3; at most "
                                                             "the number of classes are shown)")
    parser.add_argument("--weights", default="best", choices=["best", "last"])
    parser.add_argument("--out", metavar="DIR", help="where a segmentation or autoencoder run writes its mask, "
                                                    "overlay or reconstruction PNGs (created)")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")
    parser.set_defaults(func=run)


def predict_files(run_dir: str, paths: list[str], top_k: int, weights: str = "best") -> list[dict]:
    """Top-k classes and probabilities for each image file (through :class:`striate.export.Predictor`); ``top_k``
    is at least 1, and at most the number of classes are given."""
    check_top_k(top_k)
    from striate.transfer.linear import is_classifier_dir

    if is_classifier_dir(run_dir):  # a linear classifier on a run's CNN codes
        from striate.transfer.predict import predict_with_classifier

        return predict_with_classifier(run_dir, paths, top_k)
    from striate.export.predictor import Predictor

    predictions = Predictor.from_run(run_dir, weights).predict(paths, top_k)
    return [{"image": str(path), "top": top} for path, top in zip(paths, predictions)]


def check_top_k(top_k: int) -> None:
    """Refuse a top-k below 1 (a larger one than the number of classes is capped where the classes are known)."""
    if top_k < 1:
        raise ConfigError(f"--top-k is {top_k}; expected a whole number >= 1 (how many classes to show per image); "
                          f"give e.g. --top-k 3")


def run(args) -> int:
    from striate.cli.common import print_json, print_table
    from striate.transfer.linear import is_classifier_dir

    from striate.data.images import image_files

    check_top_k(args.top_k)
    args.images = image_files(args.images)
    if not is_classifier_dir(args.run_dir):
        from striate.session import open_run
        from striate.tasks import ClassificationTask

        run = open_run(args.run_dir, args.weights)
        if not isinstance(run.task, ClassificationTask):  # keypoints, masks or reconstructions
            return _predict_task(args, run)
    predictions = predict_files(args.run_dir, args.images, args.top_k, args.weights)
    if args.json:
        print_json(predictions)
        return 0
    rows = [[p["image"], *[f"{t['class']} ({100 * t['probability']:.1f}%)" for t in p["top"]]] for p in predictions]
    print_table(["image", *[f"top {i + 1}" for i in range(len(predictions[0]["top"]))]], rows)
    return 0


def _predict_task(args, run) -> int:
    from striate.cli.common import print_json, print_table

    predictions = run.task.predict_files(run.model, args.images, run.meta, args.out)
    if args.json:
        print_json(predictions)
    elif "points" in predictions[0]:
        names = list(predictions[0]["points"])
        print_table(["image", *names], [[p["image"], *[f"({x:.1f}, {y:.1f})" for x, y in p["points"].values()]]
                                        for p in predictions])
    elif "classes" in predictions[0]:
        print_table(["image", "mask", "overlay", "classes (share of pixels)"],
                    [[p["image"], p["mask"], p["overlay"],
                      ", ".join(f"{name} {100 * share:.1f}%" for name, share in p["classes"].items())]
                     for p in predictions])
    else:
        print_table(["image", "reconstruction", "mse"], [[p["image"], p["reconstruction"], f"{p['mse']:.5f}"]
                                                         for p in predictions])
    return 0
