"""Streaming loader throughput (images/s) on the CIFAR-10 JPEG folder with 0, 1 and 2 worker processes:
files decoded by the workers, augmentation (pad-4 crop + flip) and normalisation batched in the main process.
The folder is extracted once into ~/.cache/striate/bench (or $STRIATE_BENCH_CACHE), never into the repository.

    PYTHONPATH=src python bench/streaming_loader.py            # full run (one epoch of the 50000 training images)
    PYTHONPATH=src python bench/streaming_loader.py --quick    # checks that it works
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cifar10_jpeg_folder, write_figures  # noqa: E402

from striate.data.augment import build_augment  # noqa: E402
from striate.data.streaming import StreamingLoader  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 images a class and a few batches only")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="bench/results/streaming_loader.json")
    args = parser.parse_args()
    folder = cifar10_jpeg_folder() / "train"
    augment = build_augment(["hflip", {"crop": {"padding": 4}}])
    figures = {"folder": str(folder), "batch_size": args.batch_size}
    for workers in args.workers:
        loader = StreamingLoader.from_folder(folder, size=32, batch_size=args.batch_size, shuffle=True, augment=augment,
                                             workers=workers, verify=False, max_per_class=20 if args.quick else 0)
        started, images = time.perf_counter(), 0
        for batch, _ in loader:
            images += len(batch)
        seconds = time.perf_counter() - started
        figures[f"workers_{workers}"] = {"images": images, "seconds": seconds, "images_per_second": images / seconds}
        print(f"{workers} workers: {images / seconds:,.0f} images/s ({images} images in {seconds:.1f}s)")
    write_figures(args.out, figures)


if __name__ == "__main__":
    main()
