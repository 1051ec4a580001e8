"""Predictions of the dense and regression tasks for image files: keypoints in pixels by name; for
segmentation a class mask PNG, an overlay PNG and the share of each class; for an autoencoder a
reconstruction PNG and its error. Each task's ``predict_files`` (striate.tasks.dense) uses these; a run is
opened through striate.session.open_run.

>>> task.predict_files(model, ["canvas.png"], meta, "masks/")     # doctest: +SKIP
[{'image': 'canvas.png', 'mask': 'masks/canvas.mask.png', 'overlay': 'masks/canvas.overlay.png', ...}]
"""

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from striate.data.images import as_image, to_network_size
from striate.data.preprocess import make_normalizer
from striate.errors import DataError, RunError
from striate.files import atomic_write_bytes
from striate.tasks.pictures import overlay_colours


def read_inputs(paths: list[str], preprocess: dict, any_size: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Image files -> (the images in 0..1 at the network's size, the normalised network input); with
    ``any_size`` (a fully convolutional network) the images keep their size, which must be one for all."""
    decoded = [as_image(path, int(preprocess["channels"])) for path in paths]
    if any_size:
        sizes = {tuple(image.shape[1:]) for image in decoded}
        if len(sizes) > 1:
            raise DataError(f"segmentation images of different sizes ({sorted(sizes)}) cannot share a batch; "
                            "predict them in separate calls")
        images = torch.stack(decoded).float().div(255)
    else:
        images = to_network_size(decoded, preprocess)
    return images, make_normalizer(preprocess)(images)


def output_folder(out_dir, task_name: str) -> Path:
    if out_dir is None:
        raise RunError(f"a {task_name} run writes pictures: give --out DIR")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out


def segmentation_files(path, image: torch.Tensor, scores: torch.Tensor, meta: dict, out: Path) -> dict:
    names = meta["class_names"]
    mask = scores.argmax(dim=0).to(torch.uint8)
    stem = Path(path).stem
    mask_file, overlay_file = out / f"{stem}.mask.png", out / f"{stem}.overlay.png"
    write_png(mask_file, mask.numpy())
    write_png(overlay_file, overlay_colours(image, mask, len(names)))
    counts = torch.bincount(mask.flatten().long(), minlength=len(names)).tolist()
    shares = {names[index]: round(count / mask.numel(), 4) for index, count in enumerate(counts) if count}
    return {"image": str(path), "mask": str(mask_file), "overlay": str(overlay_file), "classes": shares}


def reconstruction_file(path, image: torch.Tensor, output: torch.Tensor, out: Path) -> dict:
    file = out / f"{Path(path).stem}.reconstruction.png"
    pixels = (output.clamp(0, 1) * 255).round().to(torch.uint8)
    write_png(file, pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy())
    return {"image": str(path), "reconstruction": str(file), "mse": float((output - image).pow(2).mean())}


def write_png(path: Path, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
