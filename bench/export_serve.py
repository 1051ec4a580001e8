"""Benchmark the shipping path: Predictor throughput by batch size, ONNX Runtime vs PyTorch latency,
and /api/predict requests per second on loopback. Prints a table and writes JSON.

    python bench/export_serve.py --run runs/lenet5-mnist            # full figures
    python bench/export_serve.py --quick                            # a tiny run, a few repeats: checks it works
"""

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch


def tiny_run(folder: Path) -> Path:
    from striate.session import train_run
    from striate.training.config import Config

    config = Config()
    config.model.name, config.model.args = "mlp", {"hidden": [32]}
    config.data.source, config.data.input_size = "digits", 8
    config.optim.epochs = 1
    config.run.out_dir, config.run.name, config.run.progress = str(folder), "bench", "off"
    return Path(train_run(config)["run_dir"])


def timed(function, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def predictor_figures(run: Path, batch_sizes, repeats: int) -> list[dict]:
    from striate.export import Predictor

    predictor = Predictor.from_run(run)
    channels, height, width = predictor.meta["input_shape"]
    rng = np.random.default_rng(0)
    rows = []
    for batch_size in batch_sizes:
        images = [rng.integers(0, 256, (height, width), dtype=np.uint8) for _ in range(batch_size)]
        seconds = timed(lambda: predictor.predict(images), repeats)
        rows.append({"batch_size": batch_size, "seconds": seconds, "images_per_second": batch_size / seconds})
    return rows


def runtime_figures(run: Path, batch_size: int, repeats: int) -> dict:
    from striate.export import export_model
    from striate.session import load_run_model

    model, meta = load_run_model(run)
    inputs = torch.randn(batch_size, *meta["input_shape"])
    figures = {"batch_size": batch_size}
    with torch.no_grad():
        figures["pytorch_seconds"] = timed(lambda: model(inputs), repeats)
    for format in ("onnx", "torchscript"):
        payload = export_model(model, meta["input_shape"], format, dynamic_batch=True)
        if format == "onnx":
            import onnxruntime

            session = onnxruntime.InferenceSession(payload, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            figures["onnxruntime_seconds"] = timed(lambda: session.run(None, {name: inputs.numpy()}), repeats)
        else:
            import io

            module = torch.jit.load(io.BytesIO(payload))
            with torch.no_grad():
                figures["torchscript_seconds"] = timed(lambda: module(inputs), repeats)
    return figures


def server_figures(run: Path, requests: int, clients: int) -> dict:
    import httpx
    import uvicorn
    from PIL import Image

    from striate.serve.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(run), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buffer, "PNG")
    image = buffer.getvalue()

    def client_loop(count: int, activations: bool) -> list[int]:
        with httpx.Client(base_url=url, timeout=60) as client:
            return [client.post(f"/api/predict?activations={str(activations).lower()}",
                                files={"image": ("x.png", image, "image/png")}).status_code for _ in range(count)]

    figures = {"requests": requests, "clients": clients}
    for activations in (False, True):
        start = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(requests // clients, activations)) for _ in range(clients)]
        for worker in threads:
            worker.start()
        for worker in threads:
            worker.join()
        key = "with_activations" if activations else "top_k_only"
        figures[f"{key}_requests_per_second"] = (requests // clients * clients) / (time.perf_counter() - start)
    server.should_exit = True
    thread.join(10)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained run directory (default: train a tiny one)")
    parser.add_argument("--quick", action="store_true", help="few repeats and requests: checks that the script works")
    parser.add_argument("--out", help="where to write the JSON figures (default bench/results/export_serve.json; "
                                      "with --quick a temporary file, so no figure is recorded by accident)")
    args = parser.parse_args()
    repeats, requests = (3, 40) if args.quick else (30, 1000)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(args.run) if args.run else tiny_run(Path(folder))
        result = {"run": str(run), "machine": platform.machine(), "torch_threads": torch.get_num_threads(),
                  "predictor": predictor_figures(run, (1, 8, 64) if args.quick else (1, 8, 64, 256), repeats),
                  "runtimes": runtime_figures(run, 64, repeats),
                  "server": server_figures(run, requests, 4)}
    for row in result["predictor"]:
        print(f"Predictor batch {row['batch_size']:4d}: {row['images_per_second']:10.1f} images/s")
    runtimes = result["runtimes"]
    for key in ("pytorch_seconds", "onnxruntime_seconds", "torchscript_seconds"):
        print(f"{key.replace('_seconds', ''):12s} batch {runtimes['batch_size']}: {1000 * runtimes[key]:8.2f} ms")
    server = result["server"]
    print(f"/api/predict ({server['clients']} clients): {server['top_k_only_requests_per_second']:.1f} req/s top-k only, "
          f"{server['with_activations_requests_per_second']:.1f} req/s with activations")
    out = Path(args.out or (Path(tempfile.gettempdir()) / "export_serve-quick.json" if args.quick
                            else "bench/results/export_serve.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
