"""(c) Training throughput (images/second) of ResNet-18 and ResNet-50 on a CUDA GPU: a minimal hand-written
loop against striate's ``train_step`` in fp32, bf16 autocast + channels_last, and the same plus
torch.compile. Synthetic ImageNet-sized batches that live on the GPU (no data loading measured).

    PYTHONPATH=src python bench/gpu_throughput.py                        # on a machine with a CUDA GPU
    PYTHONPATH=src python bench/gpu_throughput.py --models resnet18 --no-compile
    PYTHONPATH=src python bench/gpu_throughput.py --quick --device cpu   # does it work (tiny, CPU)

bench/gpu_suite.py measures ResNet-50 the same way, inside the one GPU run of issue 21 (bench/gpu_run.sh).
"""

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from striate.tasks import ClassificationTask
from striate.training.loop import StepOptions, train_step

HERE = Path(__file__).resolve().parent


def build(name: str, num_classes: int):
    from striate.models import list_models

    if name in list_models():
        from striate.models import create_model

        return create_model(name, num_classes=num_classes, in_channels=3, input_size=224)
    sys.path.insert(0, str(HERE / "peers"))
    from resnet import resnet

    return resnet(int(name.removeprefix("resnet")), num_classes)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(step, batch, warmup: int, steps: int, device) -> float:
    for _ in range(warmup):
        step(*batch)
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step(*batch)
    synchronize(device)
    return steps * len(batch[0]) / (time.perf_counter() - started)


def minimal_step(model, optimizer, dtype, channels_last):
    def step(images, labels):
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def striate_step(model, optimizer, dtype, channels_last):
    options = StepOptions(autocast_dtype=dtype, channels_last=channels_last)
    task = ClassificationTask(1000)
    return lambda images, labels: train_step(model, images, labels, optimizer, task, options)


MODES = [  # (name, loop, autocast dtype, channels_last, compile)
    ("minimal fp32", minimal_step, None, False, False),
    ("striate fp32", striate_step, None, False, False),
    ("minimal bf16+channels_last", minimal_step, torch.bfloat16, True, False),
    ("striate bf16+channels_last", striate_step, torch.bfloat16, True, False),
    ("striate bf16+channels_last+compile", striate_step, torch.bfloat16, True, True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--batch-size", type=int, default=0, help="default: 256 for resnet18, 128 for resnet50")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny images and 2 steps: checks the script")
    parser.add_argument("--out", default=str(HERE / "results" / "gpu_throughput.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: nothing measured (use --quick --device cpu to check the script)")
        return
    torch.backends.cudnn.benchmark = True
    size, steps, warmup = (64, 2, 1) if args.quick else (224, args.steps, 10)
    results = []
    for name in args.models:
        batch_size = 4 if args.quick else (args.batch_size or (256 if name == "resnet18" else 128))
        reference = build(name, 1000).to(device)
        batch = (torch.randn(batch_size, 3, size, size, device=device), torch.randint(0, 1000, (batch_size,), device=device))
        for mode, loop, dtype, channels_last, compiled in MODES:
            if compiled and args.no_compile:
                continue
            model = copy.deepcopy(reference)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            runnable = torch.compile(model) if compiled else model
            rate = measure(loop(runnable, optimizer, dtype, channels_last), batch, warmup, steps, device)
            results.append({"model": name, "mode": mode, "batch_size": batch_size, "images_per_second": rate})
            print(f"{name:<9} {mode:<36} {rate:10.1f} img/s", flush=True)
    info = {"benchmark": "gpu_throughput", "quick": args.quick, "device": torch.cuda.get_device_name(device)
            if device.type == "cuda" else "cpu", "torch": torch.__version__, "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
