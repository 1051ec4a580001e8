"""CNN codes and the LIBLINEAR formulations: code extraction throughput (images/s) and, per formulation,
the time of the cross-validated C search and the fit, with test accuracy, on MNIST digits 5-9.

The codes come from RUN (e.g. a LeNet-5 trained on digits 0-4, see docs/transfer.md) or, without --run,
from an untrained LeNet-5 (timings only; its accuracy means little).

    PYTHONPATH=src python bench/transfer_linear.py --run runs/mnist-0-4 --data ../shared/data/mnist
    PYTHONPATH=src python bench/transfer_linear.py --quick     # built-in mnist5k, checks that it works
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_figures  # noqa: E402

from striate.session import prepare  # noqa: E402
from striate.training.config import Config  # noqa: E402
from striate.transfer.data import eval_loader  # noqa: E402
from striate.transfer.linear import FORMULATIONS, fit_linear  # noqa: E402


def source_model(run: str | None):
    if run:
        from striate.session import load_run_model

        return load_run_model(run)
    from striate.models import create_model

    return create_model("lenet5", num_classes=5).eval(), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="built-in mnist5k and a short C grid")
    parser.add_argument("--run", help="source run (default: an untrained LeNet-5)")
    parser.add_argument("--data", help="MNIST IDX folder (default: built-in mnist5k)")
    parser.add_argument("--layer", default="features")
    parser.add_argument("--out", default="bench/results/transfer_linear.json")
    args = parser.parse_args()
    config = Config()
    config.data.source, config.data.path = ("idx", args.data) if args.data and not args.quick else ("mnist5k", None)
    config.data.classes = [5, 6, 7, 8, 9]
    prepared = prepare(config)
    model, meta = source_model(args.run)
    preprocess = meta["preprocess"] if meta else prepared.preprocess
    from striate.transfer.codes import extract_codes

    started = time.perf_counter()
    codes = {name: extract_codes(model, eval_loader(prepared.splits[name], preprocess), args.layer)
             for name in ("train", "test")}
    seconds = time.perf_counter() - started
    count = sum(len(labels) for _, labels in codes.values())
    figures = {"data": config.data.path or config.data.source, "run": args.run, "layer": args.layer,
               "codes": {"images": count, "width": int(codes["train"][0].shape[1]), "seconds": seconds,
                         "images_per_second": count / seconds}}
    print(f"codes: {count / seconds:,.0f} images/s ({count} images, {codes['train'][0].shape[1]}-d, {seconds:.1f}s)")
    for name in sorted(FORMULATIONS):
        started = time.perf_counter()
        classifier = fit_linear(*codes["train"], name, C=1.0 if args.quick else None)
        seconds = time.perf_counter() - started
        accuracy = classifier.accuracy(*codes["test"])
        figures[name] = {"C": classifier.C, "seconds": seconds, "test_accuracy": accuracy}
        print(f"{name:22s} C={classifier.C:<6g} {seconds:6.2f}s  test accuracy {100 * accuracy:.2f}%")
    write_figures(args.out, figures)


if __name__ == "__main__":
    main()
