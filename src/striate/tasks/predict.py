"""A finished keypoint, segmentation or autoencoder run, used again: its figures on a test split
(``striate evaluate``) and its predictions for image files (``striate predict``).

>>> figures, meta = evaluate_task_run("runs/fcn8s-mnist-canvas")               # doctest: +SKIP
>>> figures["miou"], figures["per_class_iou"]                                  # doctest: +SKIP
>>> predict_task_files("runs/fcn8s-mnist-canvas", ["canvas.png"], "masks/")     # doctest: +SKIP
[{'image': 'canvas.png', 'mask': 'masks/canvas.mask.png', 'overlay': 'masks/canvas.overlay.png', ...}]
"""

from pathlib import Path

import numpy as np
import torch

from striate.errors import DataError, RunError


def is_task_run(meta: dict) -> bool:
    return meta.get("task", "classification") != "classification"


def evaluate_task_run(run_dir: str | Path, weights: str = "best", data_path: str | None = None) -> tuple[dict, dict]:
    """The task's figures (mean IoU and per-class IoU, keypoint RMSE and per-point error, reconstruction
    MSE) on the run's own test split, rebuilt from its recipe and split seed, or on the test split of
    ``data_path`` (a mask folder, a keypoint CSV, or any image source for an autoencoder)."""
    from striate.runs import load_run_model

    model, meta = load_run_model(run_dir, weights)
    return evaluate_task_model(model, meta, run_dir, data_path), meta


def evaluate_task_model(model, meta: dict, run_dir: str | Path, data_path: str | None = None) -> dict:
    """:func:`evaluate_task_run` with the run's model already loaded."""
    from striate.data.sources import infer_source
    from striate.runs import RunPaths
    from striate.tasks.pipeline import prepare_task_data, task_loader
    from striate.train.config import load_recipe
    from striate.train.loop import StepOptions, evaluate

    config = load_recipe(RunPaths(Path(run_dir)).config)
    if data_path:
        config.data.path = data_path
        if config.data.task == "autoencoder":
            config.data.source = infer_source(data_path)
    prepared = prepare_task_data(config)
    test = prepared.splits["test"]
    if len(test.images) == 0:
        raise DataError(f"the test split of {config.data.path} is empty; give data with more images "
                        f"(data.test_fraction is {config.data.test_fraction})")
    _check_shape(test.images.shape[1:], meta)
    loader = task_loader(test, prepared.task, meta["preprocess"], config, torch.device("cpu"), train=False)
    return evaluate(model, loader, 0, options=StepOptions(task=prepared.task))


def _check_shape(shape, meta: dict) -> None:
    channels, size = meta["preprocess"]["channels"], meta["preprocess"]["input_size"]
    if shape[0] != channels:
        raise DataError(f"the data has {shape[0]} channels but the run was trained on {channels}")
    if meta["task"] == "keypoints" and tuple(shape[1:]) != (size, size):
        raise DataError(f"the keypoint images are {shape[1]}x{shape[2]} but the run was trained on {size}x{size}; "
                        "keypoints are predicted at the training size")


def _task_model(run_dir: str | Path, weights: str):
    from striate.runs import load_run_model

    model, meta = load_run_model(run_dir, weights)
    if not is_task_run(meta):
        raise RunError(f"{run_dir} is a classification run; 'striate predict' gives its classes")
    return model, meta


def _inputs(paths: list[str], meta: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Image files -> (the images in 0..1 at the network's size, the normalised network input)."""
    from striate.data.images import as_image, to_network_size
    from striate.data.preprocess import make_normalizer

    preprocess = meta["preprocess"]
    decoded = [as_image(path, int(preprocess["channels"])) for path in paths]
    if meta["task"] == "segmentation":  # fully convolutional: any size, each image on its own
        sizes = {tuple(image.shape[1:]) for image in decoded}
        if len(sizes) > 1:
            raise DataError(f"segmentation images of different sizes ({sorted(sizes)}) cannot share a batch; "
                            "predict them in separate calls")
        images = torch.stack(decoded).float().div(255)
    else:
        images = to_network_size(decoded, preprocess)
    return images, make_normalizer(preprocess)(images)


@torch.no_grad()
def predict_task_files(run_dir: str | Path, paths: list[str], out_dir: str | Path | None = None,
                       weights: str = "best") -> list[dict]:
    """Predictions for image files by a task run: keypoints in pixels by name; for segmentation a class
    mask PNG, an overlay PNG and the share of each class; for an autoencoder a reconstruction PNG and its
    error. Pictures go to ``out_dir`` (created; keypoint predictions need none)."""
    model, meta = _task_model(run_dir, weights)
    images, inputs = _inputs(paths, meta)
    outputs = model(inputs)
    task = meta["task"]
    if task == "keypoints":
        half = (meta["preprocess"]["input_size"] - 1) / 2
        points = ((outputs.view(len(outputs), -1, 2) + 1) * half).tolist()
        from striate.tasks.data import point_names

        names = point_names(meta["names"])
        return [{"image": str(path), "points": {name: [round(x, 2), round(y, 2)] for name, (x, y) in zip(names, row)}}
                for path, row in zip(paths, points)]
    if out_dir is None:
        raise RunError(f"a {task} run writes pictures: give --out DIR")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if task == "segmentation":
        return [_segmentation_files(path, image, scores, meta, out) for path, image, scores in zip(paths, images, outputs)]
    return [_reconstruction_file(path, image, output, out) for path, image, output in zip(paths, images, outputs)]


def _segmentation_files(path, image: torch.Tensor, scores: torch.Tensor, meta: dict, out: Path) -> dict:
    from striate.tasks.pictures import overlay_colours

    names = meta["class_names"]
    mask = scores.argmax(dim=0).to(torch.uint8)
    stem = Path(path).stem
    mask_file, overlay_file = out / f"{stem}.mask.png", out / f"{stem}.overlay.png"
    _write_png(mask_file, mask.numpy())
    _write_png(overlay_file, overlay_colours(image, mask, len(names)))
    counts = torch.bincount(mask.flatten().long(), minlength=len(names)).tolist()
    shares = {names[index]: round(count / mask.numel(), 4) for index, count in enumerate(counts) if count}
    return {"image": str(path), "mask": str(mask_file), "overlay": str(overlay_file), "classes": shares}


def _reconstruction_file(path, image: torch.Tensor, output: torch.Tensor, out: Path) -> dict:
    file = out / f"{Path(path).stem}.reconstruction.png"
    pixels = (output.clamp(0, 1) * 255).round().to(torch.uint8)
    _write_png(file, pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy())
    return {"image": str(path), "reconstruction": str(file), "mse": float((output - image).pow(2).mean())}


def _write_png(path: Path, array: np.ndarray) -> None:
    import io

    from PIL import Image

    from striate.train.checkpoint import atomic_write_bytes

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
