"""Issue 21's GPU figures, side by side in one run of at most 8 minutes (compile warm-up included), each part
in a child process with a time cap, each printing JSON lines (``RESULT {...}``), then one summary table:

    mnist     MNIST to 99.0% test accuracy: training seconds of striate's session (recipes/mnist-fast.yaml on
              the IDX files, data on the GPU, bf16 autocast, channels_last), eager and torch.compile, 3 seeds;
              and the host syncs counted in 20 training steps (torch.cuda.set_sync_debug_mode)
    cifar     CIFAR-10 to 94%: striate's session (recipes/cifar10-fast.yaml, fastnet at airbench94's widths)
              against airbench94 run here on the same decoded JPEG images, alternating (airbench94 is an
              external peer: its file is not in this repository, see --airbench; without it that row is skipped)
    resnet50  ResNet-50 bf16 + channels_last training images/s on synthetic batches on the GPU: striate's
              train_epoch against a minimal hand-written loop, eager and compiled
    ddp       NCCL DistributedDataParallel over the GPUs the machine has (skipped, with a line, on one GPU)

    bash bench/gpu_run.sh                                  # on the GPU machine (how it gets there: its header)
    PYTHONPATH=src python bench/gpu_suite.py --smoke       # here: tiny sizes, a few steps, CUDA parts skipped
    PYTHONPATH=src python bench/gpu_suite.py --parts mnist resnet50

Data: MNIST from $STRIATE_SHARED_DATA/mnist (default ../shared/data), CIFAR-10 from the JPEG tarball in
$STRIATE_SHARED_DATA/cifar10-jpeg (extracted into $STRIATE_BENCH_CACHE by bench/_common.py). --smoke writes
tiny stand-ins of both into a temporary folder, so it needs neither.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("STRIATE_SHARED_DATA", REPO.parent / "shared" / "data"))
AIRBENCH = Path(os.environ.get("STRIATE_AIRBENCH", HERE / "peers" / "external" / "airbench94.py"))
BUDGET = 470  # seconds for the whole run: the 8 minutes, less the interpreter starts
CAPS = {"mnist": 130, "cifar": 180, "resnet50": 120, "ddp": 30}  # seconds each part may take (smoke: SMOKE_CAP)
SMOKE_CAP = 300
MNIST_TARGET, CIFAR_TARGET, RESNET_AIM = 0.99, 0.94, 3000
# CIFAR-10 on the GPU: recipes/cifar10-fast.yaml at airbench94's widths; not yet tuned on a GPU (none was lent)
CIFAR_OVERRIDES = [("model.args.widths", [64, 256, 256]), ("optim.epochs", 10), ("optim.batch_size", 512),
                   ("optim.lr", 0.4)]  # the peak rate for a 512-image batch (the CPU recipe: 0.2 at 256)
RESULT = "RESULT "


# ---- the parent: parts in child processes, each with its cap, then the summary --------------------------
def run_part(part: str, args, cap: float) -> list[dict]:
    """Run one part in a child process, echoing its lines; its RESULT lines, or one saying why there are none."""
    command = [sys.executable, "-u", str(Path(__file__)), "--part", part] + (["--smoke"] if args.smoke else [])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    results: list[dict] = []

    def echo() -> None:
        for line in child.stdout:
            print(f"[{part}] {line}", end="", flush=True)
            if line.startswith(RESULT):
                results.append(json.loads(line[len(RESULT):]))

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    try:
        child.wait(timeout=cap)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        results.append({"part": part, "status": f"stopped at its cap of {cap:.0f} s"})
    reader.join(timeout=5)
    if child.returncode and not any("status" in row for row in results):
        results.append({"part": part, "status": f"failed (exit {child.returncode}); see its lines above"})
    return results


def summary_rows(results: list[dict]) -> list[tuple[str, str, str, str, str]]:
    """(what, striate, peer, striate / peer, aim) for the summary table."""
    rows = []
    for row in results:
        if "status" in row:
            rows.append((row["part"], row["status"], "", "", ""))
        elif row.get("skipped"):
            rows.append((row["what"], f"skipped: {row['skipped']}", "", "", ""))
        elif "table" in row:
            rows.append(tuple(row["table"]))
    return rows


def print_summary(rows, started: float) -> None:
    headers = ("what", "striate", "peer", "ratio", "aim")
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    print(f"\nsummary ({time.perf_counter() - started:.0f} s in all)")
    for line in [headers, tuple("-" * width for width in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


def parent(args) -> None:
    started = time.perf_counter()
    deadline = started + BUDGET
    print(machine_line(), flush=True)
    results = []
    for part in args.parts:
        left = deadline - time.perf_counter()
        cap = SMOKE_CAP if args.smoke else min(CAPS[part], left)
        if cap < 10:
            results.append({"part": part, "status": "not run: the 8-minute budget is spent"})
            continue
        begun = time.perf_counter()
        results += run_part(part, args, cap)
        print(f"[{part}] took {time.perf_counter() - begun:.0f} s", flush=True)
    rows = summary_rows(results)
    print_summary(rows, started)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": machine_line(), "smoke": args.smoke, "results": results,
                                              "seconds": time.perf_counter() - started}, indent=2) + "\n")
        print(f"figures written to {args.out}")
    if any("status" in row for row in results):
        raise SystemExit(1)  # a part failed or was stopped at its cap: its line in the summary says which


def machine_line() -> str:
    import platform

    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return (f"torch {torch.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"GPUs: {', '.join(gpus) or 'none'}, load average {' '.join(f'{x:.2f}' for x in load)}")


def report(row: dict) -> None:
    print(RESULT + json.dumps(row), flush=True)


# ---- shared helpers of the parts ------------------------------------------------------------------------
def device_of():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def session_run(recipe: str, pairs: list, out_dir: Path, name: str) -> dict:
    """One run through striate's session (what `striate train` does); its history and summary."""
    from striate.session import train_run
    from striate.session.config import resolve_config

    config, recipe_name = resolve_config(recipe, pairs + [("run.out_dir", str(out_dir)), ("run.name", name),
                                                          ("run.progress", "off")])
    started = time.perf_counter()
    result = train_run(config, recipe_name)
    return {"history": result["history"], "summary": result["summary"], "wall": time.perf_counter() - started}


def seconds_to(history: list[dict], target: float) -> float | None:
    """Training seconds up to the end of the first epoch whose test accuracy (val_is_test) reaches ``target``."""
    total = 0.0
    for figures in history:
        total += figures["seconds"]
        if figures.get("val_accuracy", 0.0) >= target:
            return total
    return None


def curve(history: list[dict]) -> list[tuple[float, float]]:
    """(training seconds so far, test accuracy) after each epoch."""
    total, points = 0.0, []
    for figures in history:
        total += figures["seconds"]
        points.append((round(total, 3), figures.get("val_accuracy")))
    return points


def median(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present and len(present) == len(values) else None


def show(value, unit: str = " s") -> str:
    return "not reached" if value is None else f"{value:.2f}{unit}"


def rate(images_per_second: float) -> str:
    return f"{images_per_second:,.0f}" if images_per_second >= 100 else f"{images_per_second:.1f}"


# ---- (a) MNIST to 99% -----------------------------------------------------------------------------------
def tiny_mnist(folder: Path) -> Path:
    """Stand-in IDX files (512 training and 128 test digits of noise with a class mark) for --smoke."""
    import numpy as np

    from striate.data.idx import write_idx

    generator = np.random.default_rng(0)
    for split, count in (("train", 512), ("t10k", 128)):
        labels = (np.arange(count) % 10).astype(np.uint8)
        images = generator.integers(0, 64, (count, 28, 28), dtype=np.uint8)
        images[np.arange(count), 2 + 2 * labels, 4:24] = 255  # a bright row whose height is the class
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


def count_syncs(device) -> int | None:
    """Host syncs in 20 training steps of LeNet-5 through striate's train_epoch (bf16, channels_last), as
    torch.cuda.set_sync_debug_mode('warn') reports them; None without CUDA."""
    import warnings

    import torch

    from striate.models import create_model
    from striate.tasks import ClassificationTask
    from striate.training.loop import StepOptions, train_epoch

    if device.type != "cuda":
        return None
    model = create_model("lenet5", num_classes=10, in_channels=1, input_size=32).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    batches = [(torch.randn(256, 1, 32, 32, device=device), torch.randint(0, 10, (256,), device=device)) for _ in range(20)]
    options = StepOptions(autocast_dtype=torch.bfloat16, channels_last=True, read_every=1000)
    train_epoch(model, optimizer, batches[:3], ClassificationTask(10), options=options)  # cuDNN's choices

    def watched(items):
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield from items
        finally:
            torch.cuda.set_sync_debug_mode(0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_epoch(model, optimizer, watched(batches), ClassificationTask(10), options=options)
    return sum("synchroniz" in str(warning.message) for warning in caught)


def mnist_variant(variant: str, pairs: list, seeds: list, scratch: Path) -> dict:
    """Runs of one variant (eager, compile, compile + CUDA graphs), after a warm-up run where it compiles."""
    if variant != "eager":
        import torch._dynamo
        import torch._inductor.config

        torch._dynamo.reset()  # compile afresh: a cached graph would not see the new setting
        torch._inductor.config.triton.cudagraphs = variant == "compile+cudagraphs"  # what mode="reduce-overhead" sets
        warm = session_run("mnist-fast", pairs + [("optim.epochs", 1)], scratch / "runs", f"warm-{variant}")
        print(f"warm-up run ({variant}, not counted): {warm['wall']:.1f} s", flush=True)
    runs = [session_run("mnist-fast", pairs + [("run.seed", seed)], scratch / "runs", f"{variant}-{seed}") for seed in seeds]
    times = [seconds_to(run["history"], MNIST_TARGET) for run in runs]
    return {"part": "mnist", "what": f"MNIST 99% ({variant})", "seconds_to_99": times,
            "test_accuracy": [run["summary"]["test_accuracy"] for run in runs],
            "train_seconds": [run["summary"]["train_seconds"] for run in runs], "wall": [run["wall"] for run in runs],
            "table": (f"MNIST to 99%, training s ({variant}, median of {len(seeds)} seeds)", show(median(times)),
                      "0.76 s (published, laptop GPU)", "", "under 1 s")}


def part_mnist(smoke: bool) -> None:
    device = device_of()
    syncs = count_syncs(device)
    if syncs is not None:
        report({"part": "mnist", "what": "host syncs in 20 steps", "syncs": syncs,
                "table": ("host syncs in 20 training steps (striate's loop)", str(syncs), "", "", "0")})
    with tempfile.TemporaryDirectory() as scratch:
        data = tiny_mnist(Path(scratch)) if smoke else SHARED / "mnist"
        base = [("data.path", str(data)), ("data.source", "idx"), ("data.val_fraction", 0.0), ("data.val_is_test", True),
                ("run.device", device.type), ("run.precision", "bf16"), ("run.channels_last", True)]
        if smoke:
            base += [("optim.epochs", 1), ("optim.batch_size", 64)]
        gpu = device.type == "cuda" and not smoke
        for variant in ["eager"] + (["compile", "compile+cudagraphs"] if gpu else []):
            try:
                report(mnist_variant(variant, base + [("run.compile", variant != "eager")], [0, 1, 2] if gpu else [0],
                                     Path(scratch)))
            except Exception as error:  # one variant's failure (a compiler's) leaves the others to run
                report({"part": "mnist", "what": f"MNIST 99% ({variant})", "error": repr(error)[:300],
                        "table": (f"MNIST to 99% ({variant})", f"failed: {repr(error)[:60]}", "", "", "")})


# ---- (b) CIFAR-10 to 94% against airbench94 -------------------------------------------------------------
def tiny_cifar(folder: Path) -> Path:
    """A stand-in JPEG folder (10 classes, 8 training and 4 test images each) for --smoke."""
    import numpy as np
    from PIL import Image

    generator = np.random.default_rng(0)
    for split, count in (("train", 8), ("test", 4)):
        for label in range(10):
            place = folder / split / f"class{label}"
            place.mkdir(parents=True)
            for index in range(count):
                pixels = generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                pixels[:, :, label % 3] = 25 * label
                Image.fromarray(pixels).save(place / f"{index:04d}.jpg", quality=75)
    return folder


def airbench_data(folder: Path, work: Path) -> None:
    """airbench94's cifar10/train.pt and test.pt (uint8 N x 32 x 32 x 3 images, labels, class names) made from the
    same decoded JPEG images striate trains on, so that airbench downloads nothing and both see the same data."""
    import torch

    from striate.session.config import resolve_config
    from striate.session.prepare import read_data
    from striate.tasks import ClassificationTask

    config, _ = resolve_config("cifar10-fast", [("data.path", str(folder)), ("data.val_fraction", 0.0)])
    data = read_data(config, ClassificationTask)
    (work / "cifar10").mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.pt"), ("test", "test.pt")):
        part = data.splits[split]
        torch.save({"images": part.images.permute(0, 2, 3, 1).contiguous(), "labels": part.labels,
                    "classes": list(data.names)}, work / "cifar10" / name)


def run_airbench(module, run) -> dict:
    """One airbench94 run (its main(run)); its final test accuracy and its own time (the 'eval' row's
    total_time_seconds: training plus its test-time augmentation, without its per-epoch evaluations)."""
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        accuracy = module.main(run)
    wall = time.perf_counter() - started
    print(printed.getvalue(), end="", flush=True)
    seconds = None
    for line in printed.getvalue().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[1] == "eval":
            seconds = float(cells[-1])
    return {"accuracy": accuracy, "seconds": seconds, "wall": wall}


def load_airbench(work: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("airbench94_peer", AIRBENCH)
    module = importlib.util.module_from_spec(spec)
    os.chdir(work)  # it reads cifar10/train.pt relative to the working folder
    spec.loader.exec_module(module)
    return module


def part_cifar(smoke: bool) -> None:
    device = device_of()
    with tempfile.TemporaryDirectory() as scratch:
        if smoke:
            folder = tiny_cifar(Path(scratch) / "cifar")
        else:
            sys.path.insert(0, str(HERE))
            from _common import cifar10_jpeg_folder

            folder = cifar10_jpeg_folder()
        workers = min(16, os.cpu_count() or 2)
        pairs = [("data.path", str(folder)), ("data.val_fraction", 0.0), ("data.val_is_test", True),
                 ("data.workers", workers), ("run.device", device.type)]
        if device.type == "cuda":
            pairs += [("run.precision", "bf16"), ("run.channels_last", True), ("run.compile", True)] + CIFAR_OVERRIDES
        else:
            pairs += [("optim.epochs", 1), ("optim.batch_size", 32), ("model.args.widths", [8, 16, 16])]
        runs = Path(scratch) / "runs"
        warm = session_run("cifar10-fast", pairs + ([("optim.epochs", 1)] if not smoke else []), runs, "warm")
        print(f"warm-up run (decodes and caches the folder, compiles): {warm['wall']:.1f} s", flush=True)
        peer = None
        if device.type != "cuda":
            print("airbench94: skipped (it needs a CUDA GPU)", flush=True)
        elif not AIRBENCH.is_file():
            print(f"airbench94: skipped ({AIRBENCH} is absent: place airbench94.py from github.com/KellerJordan/"
                  "cifar10-airbench there by hand, or give its path in $STRIATE_AIRBENCH)", flush=True)
        else:
            try:
                work = Path(scratch) / "airbench"
                airbench_data(folder, work)
                peer = load_airbench(work)
                run_airbench(peer, "warmup")
            except Exception as error:  # the peer's failure leaves striate's rows
                print(f"airbench94: failed ({repr(error)[:300]})", flush=True)
                peer = None
        ours, theirs = [], []
        for round_ in range(1 if smoke else 2):  # alternating: striate, then airbench94
            run = session_run("cifar10-fast", pairs + [("run.seed", round_)], runs, f"run-{round_}")
            ours.append({"seconds_to_94": seconds_to(run["history"], CIFAR_TARGET), "accuracy": run["summary"]["test_accuracy"],
                         "train_seconds": run["summary"]["train_seconds"],
                         "curve": curve(run["history"])})
            report({"part": "cifar", "side": "striate", **ours[-1]})
            if peer is not None:
                theirs.append(run_airbench(peer, round_))
                report({"part": "cifar", "side": "airbench94", **theirs[-1]})
        mine = median([row["seconds_to_94"] for row in ours])
        accuracy = statistics.mean(row["accuracy"] for row in ours)
        striate_cell = f"{show(mine)} ({100 * accuracy:.2f}%)"
        if theirs:
            reached = [row["seconds"] if row["accuracy"] >= CIFAR_TARGET else None for row in theirs]
            peer_time = median(reached)
            peer_accuracy = statistics.mean(row["accuracy"] for row in theirs)
            peer_cell = f"{show(peer_time)} ({100 * peer_accuracy:.2f}%)"
            ratio = f"{mine / peer_time:.2f}x" if mine and peer_time else ""
        else:
            peer_cell, ratio = "skipped (no airbench94.py or no GPU)", ""
        report({"part": "cifar", "what": "CIFAR-10 94%", "table": ("CIFAR-10 to 94%, training s (test accuracy)",
                                                                   striate_cell, f"airbench94: {peer_cell}", ratio,
                                                                   "within 1.2x of airbench94")})


# ---- (c) ResNet-50 throughput ---------------------------------------------------------------------------
def throughput(loop, batch, steps: int, device) -> float:
    """Images per second of ``loop(batches)`` over ``steps`` copies of ``batch`` (after one warm-up pass)."""
    loop([batch] * min(steps, 5))
    synchronize(device)
    started = time.perf_counter()
    loop([batch] * steps)
    synchronize(device)
    return steps * len(batch[0]) / (time.perf_counter() - started)


def resnet_loops(model, device, compiled: bool):
    """striate's train_epoch and a minimal hand-written loop, both bf16 autocast (on a GPU; fp32 on a CPU, whose
    bf16 convolutions are slow) and channels_last."""
    import torch
    import torch.nn.functional as F

    from striate.tasks import ClassificationTask
    from striate.training.loop import StepOptions, train_epoch

    runnable = torch.compile(model) if compiled else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    dtype = torch.bfloat16 if device.type == "cuda" else None
    options = StepOptions(autocast_dtype=dtype, channels_last=True)
    task = ClassificationTask(1000)

    def striate(batches):
        train_epoch(runnable, optimizer, batches, task, options=options)

    def minimal(batches):
        for images, labels in batches:
            images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = F.cross_entropy(runnable(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return striate, minimal


def part_resnet50(smoke: bool) -> None:
    import torch

    from striate.models import create_model

    device = device_of()
    torch.backends.cudnn.benchmark = True
    size, batch_size, steps = (32, 2, 2) if smoke or device.type != "cuda" else (224, 256, 30)
    batch = (torch.randn(batch_size, 3, size, size, device=device), torch.randint(0, 1000, (batch_size,), device=device))
    figures = {}
    for compiled in [False] + ([True] if device.type == "cuda" and not smoke else []):
        torch.manual_seed(0)
        model = create_model("resnet50", num_classes=1000, in_channels=3, input_size=size)
        model = model.to(device, memory_format=torch.channels_last)
        striate, minimal = resnet_loops(model, device, compiled)
        mode = "compiled" if compiled else "eager"
        try:
            for side, loop in (("minimal", minimal), ("striate", striate)):  # both on the same (compiled) module
                figures[(side, mode)] = throughput(loop, batch, steps, device)
                report({"part": "resnet50", "side": side, "mode": mode, "batch_size": batch_size, "image_size": size,
                        "images_per_second": figures[(side, mode)]})
        except Exception as error:  # the compiler's failure leaves the eager rows
            report({"part": "resnet50", "what": f"ResNet-50 {mode}", "error": repr(error)[:300],
                    "table": (f"ResNet-50 ({mode})", f"failed: {repr(error)[:60]}", "", "", "")})
            continue
        ours, theirs = figures[("striate", mode)], figures[("minimal", mode)]
        report({"part": "resnet50", "what": f"ResNet-50 {mode}", "table": (
            f"ResNet-50 {'bf16' if device.type == 'cuda' else 'fp32'} training img/s ({mode}, batch {batch_size})",
            rate(ours), f"minimal loop: {rate(theirs)}", f"{ours / theirs:.2f}x", f"at least {RESNET_AIM:,} on an H100/H200")})


# ---- (d) DDP --------------------------------------------------------------------------------------------
def ddp_worker(rank: int, size: int, backend: str, port: int, smoke: bool, queue) -> None:
    import torch

    from striate.models import create_model
    from striate.training.distributed import World, setup, sum_over_ranks, teardown, wrap_model
    from striate.training.loop import StepOptions, train_epoch

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(size))
    world = World(rank, rank, size)
    device = setup(world, torch.device("cuda" if backend == "nccl" else "cpu"))
    from striate.tasks import ClassificationTask

    name, size_px, batch_size, steps = ("mlp", 8, 8, 3) if smoke else ("resnet50", 224, 256, 20)
    arguments = {"hidden": [16]} if smoke else {}
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, in_channels=3, input_size=size_px, **arguments).to(device)
    model = wrap_model(model, world, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    options = StepOptions(autocast_dtype=None if smoke else torch.bfloat16, channels_last=not smoke, reduce=sum_over_ranks)
    batch = (torch.randn(batch_size, 3, size_px, size_px, device=device), torch.randint(0, 10, (batch_size,), device=device))
    task = ClassificationTask(10)
    train_epoch(model, optimizer, [batch] * 3, task, options=options)  # warm-up
    synchronize(device)
    started = time.perf_counter()
    train = train_epoch(model, optimizer, [batch] * steps, task, options=options)
    synchronize(device)
    if rank == 0:
        queue.put({"images_per_second": size * steps * batch_size / (time.perf_counter() - started), "loss": train["loss"]})
    teardown(world)


def part_ddp(smoke: bool) -> None:
    import torch
    import torch.multiprocessing as mp

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not smoke and gpus < 2:
        print(f"DDP: skipped, this machine has {gpus} GPU{'s' if gpus != 1 else ''} (NCCL DDP needs at least 2)", flush=True)
        report({"part": "ddp", "what": "NCCL DDP", "skipped": f"{gpus} GPU on this machine"})
        return
    backend, size = ("gloo", 2) if smoke else ("nccl", gpus)
    context = mp.get_context("spawn")
    figures = {}
    for world_size in sorted({1, size}):
        queue = context.Queue()
        port = 29500 + world_size + (os.getpid() % 1000)
        processes = [context.Process(target=ddp_worker, args=(rank, world_size, backend, port, smoke, queue))
                     for rank in range(world_size)]
        for process in processes:
            process.start()
        figures[world_size] = queue.get(timeout=SMOKE_CAP)["images_per_second"]
        for process in processes:
            process.join()
        report({"part": "ddp", "backend": backend, "processes": world_size, "images_per_second": figures[world_size]})
    scaling = figures[size] / (size * figures[1])
    report({"part": "ddp", "what": "DDP", "table": (f"{backend.upper()} DDP img/s, {size} processes (ResNet-50 bf16)"
                                                    if not smoke else f"{backend} DDP img/s, {size} processes (smoke)",
                                                    rate(figures[size]), f"1 process: {rate(figures[1])}",
                                                    f"{scaling:.2f} of linear", "")})


PARTS = {"mnist": part_mnist, "cifar": part_cifar, "resnet50": part_resnet50, "ddp": part_ddp}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and a few steps each, on any machine")
    parser.add_argument("--out", default=None, help="write every figure as JSON here")
    parser.add_argument("--part", choices=list(PARTS), help=argparse.SUPPRESS)  # a child's one part
    args = parser.parse_args()
    if args.part:
        PARTS[args.part](args.smoke)
    else:
        parent(args)


if __name__ == "__main__":
    main()
