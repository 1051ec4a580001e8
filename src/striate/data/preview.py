"""A PNG grid of augmented samples: each row one training image, first column the original,
then augmented versions drawn with a fixed seed (``striate data preview RECIPE``)."""

import io

import numpy as np
import torch

from striate.data.augment import Augmenter


def augmented_rows(images: torch.Tensor, augmenter: Augmenter | None, variants: int, seed: int = 0) -> torch.Tensor:
    """uint8 ``N x C x H x W`` -> float ``N x (1 + variants) x C x H x W`` in 0..1 (the original first); with
    mixup or cutmix the rows are mixed with each other, as a training batch is."""
    generator = torch.Generator().manual_seed(seed)
    originals = images.float().div(255)
    columns = [originals]
    for _ in range(variants):
        if augmenter is None:
            columns.append(originals)
            continue
        augmented = augmenter(originals.clone(), generator)
        columns.append(augmenter.mix(augmented, torch.zeros(len(images), dtype=torch.long), generator)[0])
    return torch.stack(columns, dim=1).clamp(0, 1)


def grid_png(rows: torch.Tensor, scale: int = 2, gap: int = 2) -> bytes:
    """PNG bytes of a grid of images ``R x K x C x H x W`` (0..1), each enlarged ``scale`` times."""
    from PIL import Image

    count, columns, channels, height, width = rows.shape
    cell_h, cell_w = height * scale + gap, width * scale + gap
    canvas = np.full((count * cell_h + gap, columns * cell_w + gap, 3), 255, dtype=np.uint8)
    pixels = (rows * 255).round().to(torch.uint8)
    pixels = pixels.expand(-1, -1, 3, -1, -1) if channels == 1 else pixels[:, :, :3]
    pixels = pixels.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1).permute(0, 1, 3, 4, 2).numpy()
    for row in range(count):
        for column in range(columns):
            top, left = gap + row * cell_h, gap + column * cell_w
            canvas[top : top + height * scale, left : left + width * scale] = pixels[row, column]
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return buffer.getvalue()
