"""Classic image filters, the chapter before CNNs: mean, Gaussian, Sobel and Prewitt edges,
Laplacian of Gaussian, and a Gabor bank, each a small kernel applied by convolution.

Orientation: a Gabor kernel at angle ``theta`` oscillates along the direction
``(cos theta, sin theta)`` in (column, row) coordinates, so it answers most strongly to a
grating ``cos(2 pi (x cos theta + y sin theta) / wavelength)`` at the same angle.

>>> image = torch.rand(1, 64, 64)
>>> convolve(image, gaussian_kernel(2.0)).shape
torch.Size([1, 64, 64])
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from striate.errors import ConfigError
from striate.visualize.figure import finish_figure, new_figure, show_image, to_display


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column (x) and row (y) coordinates of a ``size x size`` kernel, centred on 0."""
    half = (size - 1) / 2
    axis = torch.arange(size, dtype=torch.float64) - half
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return x, y


def _odd_size(sigma: float, size: int | None, reach: float = 3.0) -> int:
    if sigma <= 0:
        raise ConfigError(f"sigma must be positive, got {sigma}")
    return size if size is not None else 2 * math.ceil(reach * sigma) + 1


def mean_kernel(size: int = 3) -> torch.Tensor:
    """The box filter: every weight 1 / size^2."""
    if size < 1:
        raise ConfigError(f"the mean filter's size must be at least 1, got {size}")
    return torch.full((size, size), 1.0 / size**2, dtype=torch.float64)


def gaussian_kernel(sigma: float, size: int | None = None) -> torch.Tensor:
    """exp(-(x^2 + y^2) / (2 sigma^2)), normalised to sum 1; size 2*ceil(3 sigma)+1 by default."""
    x, y = _grid(_odd_size(sigma, size))
    kernel = torch.exp(-(x**2 + y**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def sobel_kernels() -> tuple[torch.Tensor, torch.Tensor]:
    """(d/dx, d/dy) Sobel kernels: central difference times a [1, 2, 1] smoothing."""
    gx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=torch.float64)
    return gx, gx.t().clone()


def prewitt_kernels() -> tuple[torch.Tensor, torch.Tensor]:
    """(d/dx, d/dy) Prewitt kernels: central difference times a [1, 1, 1] smoothing."""
    gx = torch.tensor([[1.0, 0.0, -1.0]] * 3, dtype=torch.float64)
    return gx, gx.t().clone()


def laplacian_of_gaussian(sigma: float, size: int | None = None) -> torch.Tensor:
    """-(1 / (pi sigma^4)) (1 - r^2 / 2 sigma^2) exp(-r^2 / 2 sigma^2), shifted to sum 0
    (a flat region gives 0; blobs of radius about sigma*sqrt(2) give the strongest answer)."""
    x, y = _grid(_odd_size(sigma, size, reach=4.0))
    ratio = (x**2 + y**2) / (2 * sigma**2)
    kernel = -(1 / (math.pi * sigma**4)) * (1 - ratio) * torch.exp(-ratio)
    return kernel - kernel.mean()


def gabor_kernel(sigma: float, theta: float, wavelength: float, gamma: float = 0.5, phase: float = 0.0,
                 size: int | None = None) -> torch.Tensor:
    """A Gaussian envelope (sigma, aspect ratio gamma) times a cosine of ``wavelength`` pixels
    along angle ``theta`` (radians); the mean is removed so flat regions give 0."""
    x, y = _grid(_odd_size(sigma, size))
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta)
    kernel = torch.exp(-(along**2 + gamma**2 * across**2) / (2 * sigma**2)) * torch.cos(2 * math.pi * along / wavelength + phase)
    return kernel - kernel.mean()


def gabor_bank(orientations: int = 4, wavelengths=(4.0, 8.0), sigma_per_wavelength: float = 0.56) -> list[dict]:
    """Gabor kernels over ``orientations`` evenly spaced angles in [0, pi) and the given wavelengths
    (scales); sigma = 0.56 wavelength gives about one octave of bandwidth."""
    bank = []
    for wavelength in wavelengths:
        for index in range(orientations):
            theta = math.pi * index / orientations
            sigma = sigma_per_wavelength * wavelength
            bank.append({"theta": theta, "wavelength": wavelength, "sigma": sigma,
                         "kernel": gabor_kernel(sigma, theta, wavelength)})
    return bank


def convolve(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """True 2-D convolution (kernel flipped) of each channel of ``image`` (``H x W`` or ``C x H x W``)
    with reflected borders; the result has the image's shape."""
    squeeze = image.ndim == 2
    batch = (image[None] if squeeze else image)[:, None].to(torch.float64)  # C x 1 x H x W
    kernel = kernel.to(torch.float64)
    pad_y, pad_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    mode = "reflect" if min(batch.shape[-2:]) > max(pad_y, pad_x) else "replicate"
    padded = F.pad(batch, (pad_x, kernel.shape[1] - 1 - pad_x, pad_y, kernel.shape[0] - 1 - pad_y), mode=mode)
    result = F.conv2d(padded, kernel.flip(0, 1)[None, None])[:, 0]
    return result[0] if squeeze else result


def gradient_magnitude(image: torch.Tensor, kernels: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """sqrt(gx^2 + gy^2) with the given (d/dx, d/dy) kernels."""
    return torch.sqrt(convolve(image, kernels[0]) ** 2 + convolve(image, kernels[1]) ** 2)


def classic_responses(image: torch.Tensor, sigma: float = 2.0) -> list[tuple[str, torch.Tensor]]:
    """(title, response) of the smoothing and edge filters on a grey ``H x W`` image."""
    sobel, prewitt = sobel_kernels(), prewitt_kernels()
    return [("image", image), ("mean 5x5", convolve(image, mean_kernel(5))),
            (f"Gaussian σ={sigma:g}", convolve(image, gaussian_kernel(sigma))),
            ("Sobel d/dx", convolve(image, sobel[0])), ("Sobel d/dy", convolve(image, sobel[1])),
            ("Sobel magnitude", gradient_magnitude(image, sobel)),
            ("Prewitt magnitude", gradient_magnitude(image, prewitt)),
            (f"Laplacian of Gaussian σ={sigma:g}", convolve(image, laplacian_of_gaussian(sigma)))]


def plot_image_filters(image: torch.Tensor, path: str | Path | None = None, sigma: float = 2.0,
                       orientations: int = 4, wavelengths=(4.0, 8.0)):
    """The classic filters and a Gabor bank (kernels and responses) applied to a grey image
    (``H x W`` or ``1 x H x W`` in 0..1); the PNG's path, or the Figure when ``path`` is None."""
    grey = image[0] if image.ndim == 3 else image
    classic = classic_responses(grey.to(torch.float64), sigma)
    bank = gabor_bank(orientations, wavelengths)
    columns = max(4, orientations)
    rows = 2 + 2 * len(wavelengths)
    figure, axes = new_figure(columns, rows, width=2.6 * columns, height=2.6 * rows)
    for axis, (title, response) in zip(axes[:2].flat, classic):
        if "d/d" in title or "Laplacian" in title:  # signed: zero in the middle of the colour scale
            limit = float(response.abs().max()) or 1.0
            show_image(axis, (response / (2 * limit) + 0.5).numpy(), title=title, cmap="RdBu_r")
        else:
            show_image(axis, to_display(response[None]), title=title, cmap="magma" if "magnitude" in title else "gray")
    for scale, wavelength in enumerate(wavelengths):
        entries = [entry for entry in bank if entry["wavelength"] == wavelength]
        for column, entry in enumerate(entries):
            label = f"θ={math.degrees(entry['theta']):.0f}° λ={wavelength:g}"
            show_image(axes[2 + 2 * scale, column], to_display(entry["kernel"][None]), title=f"Gabor {label}")
            show_image(axes[3 + 2 * scale, column], to_display(convolve(grey, entry["kernel"]).abs()[None]),
                       title=f"|response| {label}", cmap="magma")
        for axis in axes[2 + 2 * scale : 4 + 2 * scale, len(entries):].flat:
            axis.axis("off")
    figure.tight_layout()
    return finish_figure(figure, path)
