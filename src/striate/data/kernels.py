"""Pure augmentation kernels on batches: ``N x C x H x W`` float images in 0..1 (or masks), plus
the matching moves of keypoints. No randomness here: every parameter is an argument, so a
test can fix it and one draw can be applied to an image, its mask and its keypoints.

Keypoints are ``N x K x 2`` tensors of ``(x, y)`` pixel coordinates (the centre of the top-left
pixel is ``(0, 0)``); missing keypoints are NaN and stay NaN.
"""

import torch
import torch.nn.functional as F


def _where(flags: torch.Tensor, changed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    return torch.where(flags.view(-1, *([1] * (original.ndim - 1))), changed, original)


def hflip(images: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Mirror left-right the images whose ``flags`` (bool, N) are set.

    >>> hflip(torch.tensor([[[[1., 2.]]]]), torch.tensor([True]))[0, 0].tolist()
    [[2.0, 1.0]]
    """
    return _where(flags, images.flip(-1), images)


def vflip(images: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Mirror top-bottom the images whose ``flags`` are set."""
    return _where(flags, images.flip(-2), images)


def flip_keypoints(keypoints: torch.Tensor, flags: torch.Tensor, size: int, axis: int,
                   swap: list[int] | None = None) -> torch.Tensor:
    """Move keypoints with a flip along ``axis`` (0: x, left-right; 1: y) of an image ``size`` pixels wide;
    with ``swap`` (a permutation of the keypoints, e.g. left eye <-> right eye) exchange their roles."""
    moved = keypoints.clone()
    moved[..., axis] = size - 1 - keypoints[..., axis]
    if swap is not None:
        moved = moved[:, swap]
    return _where(flags, moved, keypoints)


def translate(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift each image by integer ``(dy, dx)`` pixels (``shifts``: N x 2), filling with zeros.

    >>> translate(torch.arange(4.).view(1, 1, 2, 2), torch.tensor([[0, 1]]))[0, 0].tolist()
    [[0.0, 0.0], [0.0, 2.0]]
    """
    margin = int(shifts.abs().max()) if len(shifts) else 0
    if margin == 0:
        return images
    padded = F.pad(images, (margin, margin, margin, margin))
    return _gather_window(padded, margin - shifts, images.shape[-2:])


def _gather_window(padded: torch.Tensor, corners: torch.Tensor, size) -> torch.Tensor:
    """Cut a ``size`` window from each padded image at its own top-left ``corners`` (N x 2: row, col).
    Every possible window is a strided view (unfold, no copy); one indexing call picks each image's."""
    windows = padded.unfold(2, size[0], 1).unfold(3, size[1], 1)  # N x C x rows x cols x H x W (a view)
    batch = torch.arange(len(padded), device=padded.device)
    return windows[batch, :, corners[:, 0], corners[:, 1]]


def translate_keypoints(keypoints: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move keypoints with :func:`translate`: ``x += dx``, ``y += dy``."""
    return keypoints + shifts.flip(-1).to(keypoints.dtype).unsqueeze(1)


def pad_crop(images: torch.Tensor, corners: torch.Tensor, padding: int, mode: str = "constant") -> torch.Tensor:
    """Pad each side by ``padding`` (``constant`` zeros or ``reflect``), then cut the original size
    at ``corners`` (N x 2 row, col in 0..2*padding): the random crop of Krizhevsky et al. / ResNet."""
    if padding == 0:
        return images
    padded = F.pad(images, (padding,) * 4, mode=mode)
    return _gather_window(padded, corners, images.shape[-2:])


def pad_crop_keypoints(keypoints: torch.Tensor, corners: torch.Tensor, padding: int) -> torch.Tensor:
    return translate_keypoints(keypoints, padding - corners)


def _pixel_to_grid(matrices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A 2 x 2 map of pixel offsets about the image centre -> affine_grid's normalised coordinates
    (align_corners=False: ``x - cx = x_n * W / 2``)."""
    scale = torch.tensor([width / 2, height / 2], device=matrices.device, dtype=matrices.dtype)
    return matrices / scale.view(1, 2, 1) * scale.view(1, 1, 2)


def affine(images: torch.Tensor, matrices: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Warp each image about its centre: output pixel ``p`` samples input ``A (p - c) + c`` where
    ``A`` is ``matrices[i]`` (N x 2 x 2, acting on ``(x, y)``); zeros outside. ``mode``: bilinear or
    nearest (for masks)."""
    height, width = images.shape[-2:]
    dtype = images.dtype if images.is_floating_point() else torch.float32  # masks: integer labels
    theta = torch.cat([_pixel_to_grid(matrices.to(dtype), height, width),
                       torch.zeros(len(images), 2, 1, device=images.device, dtype=dtype)], dim=2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return _sample(images, grid, mode)


def _sample(images: torch.Tensor, grid: torch.Tensor, mode: str) -> torch.Tensor:
    source = images if images.is_floating_point() else images.float()
    warped = F.grid_sample(source, grid, mode=mode, padding_mode="zeros", align_corners=False)
    return warped if images.is_floating_point() else warped.round().to(images.dtype)


def affine_keypoints(keypoints: torch.Tensor, matrices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Move keypoints with :func:`affine`: ``q -> A^-1 (q - c) + c``."""
    centre = torch.tensor([(width - 1) / 2, (height - 1) / 2], device=keypoints.device, dtype=keypoints.dtype)
    inverse = torch.linalg.inv(matrices.to(keypoints.dtype))
    return (keypoints - centre) @ inverse.transpose(1, 2) + centre


def rotation_scale_matrices(angles_degrees: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """The sampling matrices of :func:`affine` that rotate the picture by ``angles`` (counter-clockwise
    as seen on screen) and magnify it by ``scales``."""
    radians = torch.deg2rad(angles_degrees.float())
    cos, sin = torch.cos(radians) / scales, torch.sin(radians) / scales
    # y points down on screen, so a counter-clockwise turn of the picture samples with +sin in row 0
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def displace(images: torch.Tensor, field: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Elastic deformation (Simard et al. 2003): output pixel ``p`` samples input ``p + field[:, :, p]``
    (``field``: N x 2 x H x W of (dx, dy) pixel displacements)."""
    count, _, height, width = images.shape
    ys = torch.arange(height, device=images.device, dtype=field.dtype)
    xs = torch.arange(width, device=images.device, dtype=field.dtype)
    source_x = xs.view(1, 1, width) + field[:, 0]
    source_y = ys.view(1, height, 1) + field[:, 1]
    grid = torch.stack([(2 * source_x + 1) / width - 1, (2 * source_y + 1) / height - 1], dim=-1)
    return _sample(images, grid.to(images.dtype if images.is_floating_point() else torch.float32), mode)


def displace_keypoints(keypoints: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """Approximate move of keypoints under :func:`displace`: ``q - field(q)`` at the nearest pixel
    (exact for a smooth field's first order)."""
    _, _, height, width = field.shape
    columns = keypoints[..., 0].nan_to_num(0).round().long().clamp(0, width - 1)
    rows = keypoints[..., 1].nan_to_num(0).round().long().clamp(0, height - 1)
    batch = torch.arange(len(field), device=field.device).view(-1, 1)
    offsets = torch.stack([field[:, 0][batch, rows, columns], field[:, 1][batch, rows, columns]], dim=-1)
    return keypoints - offsets.to(keypoints.dtype)


def _grey(images: torch.Tensor) -> torch.Tensor:
    if images.shape[1] != 3:
        return images.mean(dim=1, keepdim=True)
    weights = torch.tensor([0.299, 0.587, 0.114], device=images.device, dtype=images.dtype)  # ITU-R 601 luma
    return (images * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def adjust_brightness(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Multiply each image by its factor; clipped to 0..1."""
    return (images * _per_image(factors)).clamp(0, 1)


def adjust_contrast(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Blend each image with its mean grey level: factor 0 gives flat grey, 1 the image."""
    mean = _grey(images).mean(dim=(1, 2, 3), keepdim=True)
    return (mean + _per_image(factors) * (images - mean)).clamp(0, 1)


def adjust_saturation(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Blend each image with its grey version: factor 0 gives grey, 1 the image (no-op on 1 channel)."""
    grey = _grey(images)
    return (grey + _per_image(factors) * (images - grey)).clamp(0, 1)


def add_lighting(images: torch.Tensor, alphas: torch.Tensor, eigenvalues: torch.Tensor,
                 eigenvectors: torch.Tensor) -> torch.Tensor:
    """AlexNet's lighting noise (Krizhevsky et al. 2012, sec. 4.1): add ``P (alpha * lambda)`` to every
    pixel, where ``P`` (columns) and ``lambda`` are the eigenvectors and eigenvalues of the RGB covariance."""
    offsets = (alphas * eigenvalues.view(1, -1)) @ eigenvectors.T  # N x 3
    return images + offsets.view(len(images), -1, 1, 1).to(images.dtype)


def add_noise(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Add a drawn noise tensor (e.g. Gaussian), clipped to 0..1."""
    return (images + noise).clamp(0, 1)


def erase(images: torch.Tensor, boxes: torch.Tensor, values: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Random erasing (Zhong et al. 2017): fill each image's box (N x 4: top, left, height, width;
    height 0 means no box) with ``values`` (a number or an N x C x H x W tensor)."""
    height, width = images.shape[-2:]
    rows = torch.arange(height, device=images.device).view(1, height, 1)
    cols = torch.arange(width, device=images.device).view(1, 1, width)
    top, left, box_h, box_w = (boxes[:, i].view(-1, 1, 1) for i in range(4))
    inside = (rows >= top) & (rows < top + box_h) & (cols >= left) & (cols < left + box_w)
    values = values if torch.is_tensor(values) else torch.full_like(images, float(values))
    return torch.where(inside.unsqueeze(1), values.to(images.dtype), images)


# ---- the pixel operations of RandAugment / TrivialAugment (striate.data.policies) -----------------------------
# On images in 0..1 that come from uint8 (k / 255) they give PIL's ImageOps / ImageEnhance results: posterize,
# solarize and equalize exactly, autocontrast, contrast, brightness, colour and sharpness within 2/255 (PIL rounds
# its intermediate images to uint8 and truncates in autocontrast). Each acts on every channel, so on a grey
# (1-channel) image they act on its luminance; colour (adjust_saturation) leaves a grey image as it is.

def shear_matrices(shears: torch.Tensor, axis: int) -> torch.Tensor:
    """The sampling matrices of :func:`affine` that shear along x (``axis`` 0: input ``x = x + s y``, as PIL's
    ``Image.transform`` with ``(1, s, 0, 0, 1, 0)``) or along y (``axis`` 1), about the centre."""
    ones, zeros, shears = torch.ones_like(shears), torch.zeros_like(shears), shears.float()
    rows = [[ones, shears], [zeros, ones]] if axis == 0 else [[ones, zeros], [shears, ones]]
    return torch.stack([torch.stack(row, -1) for row in rows], -2)


def _levels(images: torch.Tensor) -> torch.Tensor:
    """The uint8 level (0..255, as floats) each pixel would be stored as."""
    return images.clamp(0, 1).mul(255).round()


def posterize(images: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Keep the top ``bits`` (N values, 1..8) of each pixel's 8-bit level (PIL ``ImageOps.posterize``).

    >>> posterize(torch.tensor([[[[200 / 255]]]]), torch.tensor([2]))[0, 0, 0, 0] * 255
    tensor(192.)
    """
    step = torch.pow(2.0, 8 - _per_image(bits).to(images.dtype))
    return torch.floor(_levels(images) / step) * step / 255


def solarize(images: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """Invert the pixels at or above each image's threshold (0..1; PIL ``ImageOps.solarize`` with ``255 t``)."""
    return torch.where(images >= _per_image(thresholds).to(images.dtype), 1 - images, images)


def autocontrast(images: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of each image to the full 0..1 range (PIL ``ImageOps.autocontrast``, cutoff 0);
    a flat channel stays as it is."""
    low = images.amin(dim=(2, 3), keepdim=True)
    high = images.amax(dim=(2, 3), keepdim=True)
    stretched = (images - low) / (high - low).clamp_min(1e-12)
    return torch.where(high > low, stretched.clamp(0, 1), images)


def equalize(images: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation of each channel of each image, on its 8-bit levels, with PIL's lookup table
    (``ImageOps.equalize``): ``step = (pixels - count of the top level) // 255``,
    ``lut[i] = (step // 2 + pixels below level i) // step``; a channel with ``step`` 0 stays as it is."""
    count, channels, height, width = images.shape
    levels = _levels(images).long().view(count, channels, height * width)
    histogram = torch.zeros(count, channels, 256, dtype=torch.long, device=images.device)
    histogram.scatter_add_(2, levels, torch.ones_like(levels))
    top = 255 - (histogram > 0).flip(-1).long().argmax(dim=2, keepdim=True)  # the highest level present
    step = (height * width - histogram.gather(2, top)) // 255
    below = histogram.cumsum(dim=2) - histogram
    table = ((step // 2 + below) // step.clamp_min(1)).clamp(max=255)
    equalized = table.gather(2, levels).view_as(images).to(images.dtype) / 255
    return torch.where(step.view(count, channels, 1, 1) > 0, equalized, images)


def adjust_sharpness(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Blend each image with its smoothed version (PIL ``ImageEnhance.Sharpness``: the 3x3 SMOOTH filter
    [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13, the border pixels kept): factor 0 smooths, 1 is the image, 2
    sharpens; clipped to 0..1."""
    channels, height, width = images.shape[1:]
    if height < 3 or width < 3:
        return images
    kernel = torch.ones(3, 3, device=images.device, dtype=images.dtype)
    kernel[1, 1] = 5
    kernel = (kernel / 13).expand(channels, 1, 3, 3)
    smooth = images.clone()
    smooth[..., 1:-1, 1:-1] = F.conv2d(images, kernel, groups=channels)
    return (smooth + _per_image(factors).to(images.dtype) * (images - smooth)).clamp(0, 1)
