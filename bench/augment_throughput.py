"""Augmented batches per second: the device-resident pipeline (uint8 images on the device, one batched
random draw per batch) against the usual per-sample pipeline (PIL decode + per-image transforms in a
torch DataLoader), on CIFAR-10-sized images with the same augmentation (pad-4 random crop + flip).

    PYTHONPATH=src python bench/augment_throughput.py            # full run
    PYTHONPATH=src python bench/augment_throughput.py --quick    # checks that it works

``--part policies`` times the policies instead: RandAugment, TrivialAugment, random erasing, MixUp and CutMix,
milliseconds per batch of 256 float images (3x32x32 and 1x28x28) against kornia's equivalents when kornia is
installed (``bash bench/setup_bench_venv.sh`` puts it in the benchmark's own venv; run with its python):

    OMP_NUM_THREADS=1 PYTHONPATH=src $STRIATE_BENCH_VENV/bin/python bench/augment_throughput.py --part policies
"""

import argparse
import io
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cifar10_jpeg_folder, write_figures  # noqa: E402

from striate.data import DeviceLoader, ImageSet  # noqa: E402
from striate.data.augment import build_augment  # noqa: E402

MEAN, STD = [0.49, 0.48, 0.45], [0.25, 0.24, 0.26]


def load_jpegs(count: int, synthetic: bool) -> list[bytes]:
    """JPEG bytes of CIFAR-10 training images (or random 32x32 images encoded as JPEG)."""
    from PIL import Image

    if not synthetic:
        paths = sorted((cifar10_jpeg_folder() / "train").rglob("*.jpg"))
        random.Random(0).shuffle(paths)
        return [path.read_bytes() for path in paths[:count]]
    rng = np.random.default_rng(0)
    blobs = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buffer, format="JPEG", quality=75)
        blobs.append(buffer.getvalue())
    return blobs


class PerSample(Dataset):
    """The usual way: decode with PIL, pad + random crop, random flip, to tensor, normalise; one image a call."""

    def __init__(self, blobs: list[bytes]):
        self.blobs = blobs
        self.mean, self.std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)

    def __len__(self):
        return len(self.blobs)

    def __getitem__(self, index):
        from PIL import Image, ImageOps

        image = Image.open(io.BytesIO(self.blobs[index])).convert("RGB")
        image = ImageOps.expand(image, border=4, fill=0)
        left, top = random.randint(0, 8), random.randint(0, 8)
        image = image.crop((left, top, left + 32, top + 32))
        if random.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        tensor = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float().div(255)
        return (tensor - self.mean) / self.std, 0


def time_batches(batches, limit: int) -> tuple[int, float]:
    started, count = time.perf_counter(), 0
    for images, _ in batches:
        images.sum().item()  # make sure the batch is really computed
        count += 1
        if count >= limit:
            break
    return count, time.perf_counter() - started


POLICIES = {  # name: (striate's data.augment entries, kornia's module and how it is called)
    "randaugment n=2 m=9": ([{"randaugment": {"n": 2, "m": 9}}], "RandAugment"),
    "trivialaugment": (["trivialaugment"], "TrivialAugment"),
    "erase p=0.5": ([{"erase": {"p": 0.5}}], "RandomErasing"),
    "mixup alpha=1": ([{"mixup": {"alpha": 1.0}}], "RandomMixUpV2"),
    "cutmix alpha=1": ([{"cutmix": {"alpha": 1.0}}], "RandomCutMixV2"),
}


def _kornia(name: str):
    """kornia's equivalent as ``fn(images, labels)``, or None without kornia. Its RandAugment / TrivialAugment
    draw the operations once per batch (every image gets the same ones); striate's draw them per image."""
    try:
        import kornia.augmentation as K
        from kornia.augmentation import auto
    except ImportError:
        return None
    if name == "RandAugment":
        module = auto.RandAugment(n=2, m=9)
    elif name == "TrivialAugment":
        module = auto.TrivialAugment()
    elif name == "RandomErasing":
        module = K.RandomErasing(scale=(0.02, 0.33), ratio=(0.3, 3.3), p=0.5)
    else:
        mix = getattr(K, name)(data_keys=["input", "class"])
        return lambda images, labels: mix(images, labels)
    return lambda images, labels: module(images)


def time_calls(calls: list, repeats: int) -> list[tuple[float, float]]:
    """The best and the median milliseconds of one call of each of ``calls``, timed in turn (interleaved, so that
    a busy spell of a shared machine falls on all of them), after two warm-up calls each."""
    for call in calls * 2:
        call()
    times = [[] for _ in calls]
    for _ in range(repeats):
        for call, kept in zip(calls, times):
            started = time.perf_counter()
            out = call()
            (out[0] if isinstance(out, (tuple, list)) else out).sum().item()
            kept.append(time.perf_counter() - started)
    return [(1000 * min(kept), 1000 * sorted(kept)[len(kept) // 2]) for kept in times]


def time_policies(batch_size: int, repeats: int) -> dict:
    """Milliseconds per batch of each policy, striate against kornia, on 3x32x32 and 1x28x28 images. kornia's
    RandAugment and TrivialAugment pick one set of operations a batch, so their best time is that of the
    cheapest operations: compare their medians."""
    figures = {}
    for shape in ((3, 32, 32), (1, 28, 28)):
        images = torch.rand(batch_size, *shape, generator=torch.Generator().manual_seed(0))
        labels = torch.randint(0, 10, (batch_size,), generator=torch.Generator().manual_seed(0))
        for name, (entries, peer) in POLICIES.items():
            augmenter, generator = build_augment(entries), torch.Generator().manual_seed(0)
            ours = (lambda: augmenter.mix(images, labels, generator)) if augmenter.mixing is not None else \
                (lambda: augmenter(images, generator))
            kornia, note = _kornia(peer), "kornia not installed"
            if kornia is not None:
                try:  # its RandAugment draws operations at random: try enough batches to meet each
                    for _ in range(30):
                        kornia(images, labels)
                except (ValueError, RuntimeError) as error:  # e.g. its colour operations take 3 channels only
                    kornia, note = None, f"kornia {peer} fails: {str(error).splitlines()[0][:60]}"
            timed = time_calls([ours] + ([lambda: kornia(images, labels)] if kornia is not None else []), repeats)
            (best, median), theirs = timed[0], (timed[1] if len(timed) > 1 else (None, None))
            against = note if theirs[0] is None else \
                f"kornia {theirs[0]:6.2f} ms (median {theirs[1]:6.2f}); median ratio {theirs[1] / median:.1f}x"
            key = f"{name} {'x'.join(map(str, shape))}"
            figures[key] = {"striate_best_ms": best, "striate_median_ms": median, "kornia_best_ms": theirs[0],
                            "kornia_median_ms": theirs[1], "kornia_module": peer, "note": against}
            print(f"{key:30s} striate {best:6.2f} ms (median {median:6.2f})   {against}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few batches only, to check that it runs")
    parser.add_argument("--part", choices=["loader", "policies"], default="loader",
                        help="loader: device-resident vs per-sample (default); policies: their cost per batch")
    parser.add_argument("--repeats", type=int, default=50, help="timed batches of each policy (--part policies)")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader workers of the per-sample pipeline")
    parser.add_argument("--synthetic", action="store_true", help="random images instead of the CIFAR-10 JPEG folder")
    parser.add_argument("--out", default="bench/results/augment_throughput.json")
    args = parser.parse_args()
    if args.part == "policies":
        policies = time_policies(args.batch_size, 3 if args.quick else args.repeats)
        figures = {"batch_size": args.batch_size, "policies": policies}
        write_figures(args.out.replace(".json", "_policies.json"), figures)
        return
    count = 1024 if args.quick else args.images
    blobs = load_jpegs(count, args.synthetic)
    from PIL import Image

    decoded = np.stack([np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")) for blob in blobs])
    data = ImageSet(torch.from_numpy(decoded).permute(0, 3, 1, 2).contiguous(), torch.zeros(len(blobs), dtype=torch.long))
    augment = build_augment(["hflip", {"crop": {"padding": 4}}])
    limit = 3 if args.quick else len(blobs) // args.batch_size
    device = DeviceLoader(data, args.batch_size, MEAN, STD, shuffle=True, augment=augment, drop_last=True)
    time_batches(device, 1)  # warm-up
    batches, seconds = time_batches(device, limit)
    figures = {"images": len(blobs), "batch_size": args.batch_size,
               "device_resident": {"batches_per_second": batches / seconds}}
    print(f"device-resident: {batches / seconds:.1f} batches/s")
    for workers in args.workers:
        loader = DataLoader(PerSample(blobs), batch_size=args.batch_size, shuffle=True, num_workers=workers, drop_last=True)
        batches, seconds = time_batches(loader, limit)
        rate = batches / seconds
        figures[f"per_sample_workers_{workers}"] = {"batches_per_second": rate,
                                                    "speedup": figures["device_resident"]["batches_per_second"] / rate}
        print(f"per-sample PIL + DataLoader, {workers} workers: {rate:.1f} batches/s "
              f"(device-resident is {figures[f'per_sample_workers_{workers}']['speedup']:.1f}x)")
    write_figures(args.out, figures)


if __name__ == "__main__":
    main()
