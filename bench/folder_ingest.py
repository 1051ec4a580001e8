"""Image-folder ingest (issue 21) on the CIFAR-10 JPEG folder (60,000 images in train/ and test/): listing before and
after, decoding in one process / two processes / two threads, the first load (parallel decoding and the cache
write) and the second (a cache hit), and start to first optimizer step of a whole `striate train` process, cold
and cached. The decoded cache goes to a temporary folder ($STRIATE_CACHE), never the user's.

    PYTHONPATH=src python bench/folder_ingest.py [FOLDER | cifar10-jpeg.tar.gz]   # or $STRIATE_CIFAR_JPEG
    PYTHONPATH=src python bench/folder_ingest.py --quick                           # checks that it works

A tarball is unpacked into a temporary folder outside the repository (removed at the end); without an argument,
the folder of bench/_common.py (~/.cache/striate/bench/cifar10-jpeg) is used.
"""

import argparse
import os
import shutil
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cifar10_jpeg_folder, seconds_to_first_step, write_figures  # noqa: E402

from striate.data import folder as folders  # noqa: E402
from striate.data.images import IMAGE_SUFFIXES  # noqa: E402



def list_files_before(folder: Path, max_per_class: int = 0) -> int:
    """The listing before issue 21: every class's files found by rglob and sorted as Paths, then cut."""
    count = 0
    classes = sorted(child for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))
    for class_folder in classes:
        files = sorted(p for p in class_folder.rglob("*")
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        count += len(files[:max_per_class] if max_per_class > 0 else files)
    return count


def best_of(repeats: int, function) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def threaded_decode(paths: list[Path], threads: int) -> None:
    chunks = [paths[start : start + folders.DECODE_CHUNK] for start in range(0, len(paths), folders.DECODE_CHUNK)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda chunk: [folders.decode_file(path, 3, 32) for path in chunk], chunks))


def decoding(folder: Path, count: int, workers: int) -> dict:
    files = folders.list_files(folder / "train", max_per_class=count // 10)
    seconds = {"serial": best_of(1, lambda: folders.decode_files(files, 3, 32)),
               f"{workers}_processes": best_of(1, lambda: folders.decode_files(files, 3, 32, workers)),
               f"{workers}_threads": best_of(1, lambda: threaded_decode(files.paths, workers))}
    for name, value in seconds.items():
        print(f"decode {len(files.paths)} files, {name}: {value:.2f}s ({len(files.paths) / value:,.0f} images/s)")
    return {"files": len(files.paths), "seconds": seconds}


def first_step(folder: Path, cache: Path, workers: int, max_per_class: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="striate-ingest-runs-"))
    arguments = ["train", "classics/regularisation-cifar10", "--data", str(folder), "--epochs", "1",
                 "--run.out_dir", str(out), "--data.workers", str(workers), "--data.max_per_class", str(max_per_class)]
    try:
        return seconds_to_first_step(arguments, {"STRIATE_CACHE": str(cache)})
    finally:
        shutil.rmtree(out, ignore_errors=True)


def loads(folder: Path, workers: int, max_per_class: int) -> dict:
    from striate.data.file_sources import image_folder

    figures = {}
    for name in ("first_load", "second_load"):
        started = time.perf_counter()
        splits = image_folder(folder, input_size=32, max_per_class=max_per_class, workers=workers)
        figures[name] = time.perf_counter() - started
        print(f"{name}: {figures[name]:.2f}s ({sum(len(part) for part in splits.values())} images; {splits.notes[-1]})")
    return figures


def resolve(argument: str | None, scratch: Path) -> Path:
    given = argument or os.environ.get("STRIATE_CIFAR_JPEG")
    if not given:
        return cifar10_jpeg_folder()
    path = Path(given)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(path) as archive:
            archive.extractall(scratch / "unpacked", filter="data")
        path = next(found.parent for found in sorted((scratch / "unpacked").rglob("train")) if found.is_dir())
    if not (path / "train").is_dir():
        raise SystemExit(f"{path}: expected the CIFAR-10 JPEG folder (train/<class>/*.jpg, test/<class>/*.jpg)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", help="the CIFAR-10 JPEG folder or its .tar.gz ($STRIATE_CIFAR_JPEG)")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes (data.workers)")
    parser.add_argument("--quick", action="store_true", help="100 images a class only")
    parser.add_argument("--out", default="bench/results/folder_ingest.json")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="striate-ingest-"))
    try:
        folder = resolve(args.folder, scratch)
        cap = 100 if args.quick else 0
        with open("/proc/loadavg") as file:
            load = file.read().split()[:3]
        print(f"folder {folder}; load average {' '.join(load)}; {os.cpu_count()} cores")
        figures = {"folder": str(folder), "workers": args.workers, "load_average_before": load,
                   "listing": {}}
        for cap_listed in (0, 1000):
            before = best_of(2, lambda: list_files_before(folder / "train", cap_listed))
            after = best_of(2, lambda: folders.list_files(folder / "train", max_per_class=cap_listed))
            figures["listing"][f"max_per_class_{cap_listed}"] = {"before": before, "after": after}
            print(f"list train/ (max_per_class {cap_listed}): before {before:.2f}s, after {after:.2f}s")
        figures["decoding"] = decoding(folder, 400 if args.quick else 4000, args.workers)
        os.environ["STRIATE_CACHE"] = str(scratch / "cache-in-process")
        figures.update(loads(folder, args.workers, cap))
        for name in ("first_step_cold", "first_step_cached"):
            figures[name] = first_step(folder, scratch / "cache-process", args.workers, cap)
            print(f"{name}: {figures[name]:.2f}s from process start to the first optimizer step")
        with open("/proc/loadavg") as file:
            figures["load_average_after"] = file.read().split()[:3]
        print(f"load average after: {' '.join(figures['load_average_after'])}")
        write_figures(args.out, figures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
