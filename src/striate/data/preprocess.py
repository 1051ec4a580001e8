"""Input preprocessing fitted on the training split only, stored with the run, and applied the same
way in training, evaluation and prediction.

Methods (``data.normalize``):

- ``channel``: per-channel mean and standard deviation (the default);
- ``mean_image``: subtract the mean training image (Krizhevsky et al. 2012);
- ``pca_white`` / ``zca_white``: whitening of the flattened image, ``W (x - mean)`` with
  ``W = diag(1 / sqrt(lambda + epsilon)) U^T`` (PCA) or ``U diag(...) U^T`` (ZCA, which stays
  image-like; Krizhevsky 2009, "Learning multiple layers of features from tiny images", app. A);
- ``none``: pixels in 0..1 only.

For RGB data the eigen-decomposition of the 3 x 3 covariance of training pixels is recorded too,
for AlexNet's lighting noise (the ``lighting`` augmentation).

Small figures stay in the JSON ``preprocess`` dict of model.json; arrays (the mean image, the
whitening matrix) go to ``preprocess.safetensors`` in the run directory, never a pickle.

>>> state = fit_preprocess(torch.randint(0, 256, (50, 1, 4, 4), dtype=torch.uint8), "zca_white", 0.01)
>>> sorted(state["arrays"])
['mean_image', 'whitening']
"""

from pathlib import Path

import torch

from striate.errors import ConfigError, RunError

NORMALIZE_METHODS = ("channel", "mean_image", "pca_white", "zca_white", "none")
ARRAYS_FILE = "preprocess.safetensors"
_CHUNK = 4096


def _float01(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(255) if images.dtype == torch.uint8 else images.float()


def channel_moments(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and (population) standard deviation in 0..1 units. Bytes are counted, 256 bins a
    channel (exact, and one pass over 60,000 MNIST digits takes 0.05 s instead of 0.6 s in float64 chunks);
    other images are accumulated in float64, a chunk at a time."""
    channels = images.shape[1]
    count = max(1, images[:, :1].numel())
    if images.dtype == torch.uint8:
        levels = torch.arange(256, dtype=torch.float64) / 255
        counts = torch.stack([torch.bincount(images[:, c].reshape(-1).cpu(), minlength=256) for c in range(channels)])
        total, squares = counts.double() @ levels, counts.double() @ levels**2
    else:
        total = torch.zeros(channels, dtype=torch.float64)
        squares = torch.zeros(channels, dtype=torch.float64)
        for start in range(0, len(images), _CHUNK):
            chunk = _float01(images[start : start + _CHUNK].cpu()).double().transpose(0, 1).reshape(channels, -1)
            total += chunk.sum(1)
            squares += (chunk**2).sum(1)
    mean = total / count
    return mean.tolist(), (squares / count - mean**2).clamp_min(0).sqrt().tolist()


def flat_moments(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (float64) of the flattened images in 0..1 units."""
    flat_size = images[0].numel()
    total = torch.zeros(flat_size, dtype=torch.float64)
    outer = torch.zeros(flat_size, flat_size, dtype=torch.float64)
    for start in range(0, len(images), _CHUNK):
        chunk = _float01(images[start : start + _CHUNK].cpu()).double().reshape(-1, flat_size)
        total += chunk.sum(0)
        outer += chunk.T @ chunk
    count = max(1, len(images))
    mean = total / count
    return mean, outer / count - torch.outer(mean, mean)


def rgb_eigen(images: torch.Tensor) -> tuple[list[float], list[list[float]]]:
    """Eigenvalues (descending) and eigenvectors (columns) of the RGB pixel covariance, for AlexNet's
    lighting noise: the 3x3 covariance of every pixel's colour around the exact channel means, accumulated
    in float64 over chunks of images (one 3 x P by P x 3 product a chunk; 50,000 CIFAR images in 1.3 s)."""
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    mean = torch.tensor(channel_moments(images)[0], dtype=torch.float64).view(3, 1) * scale
    outer = torch.zeros(3, 3, dtype=torch.float64)
    for start in range(0, len(images), _CHUNK // 4):
        chunk = images[start : start + _CHUNK // 4].cpu().transpose(0, 1).reshape(3, -1).double() - mean
        outer += chunk @ chunk.T
    covariance = outer / max(1, images[:, :1].numel()) / scale**2
    values, vectors = torch.linalg.eigh(covariance)
    return values.flip(0).clamp_min(0).tolist(), vectors.flip(1).tolist()


def whitening_matrix(covariance: torch.Tensor, epsilon: float, zca: bool) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(covariance)
    values, vectors = values.flip(0).clamp_min(0), vectors.flip(1)  # largest component first
    projection = vectors.T / torch.sqrt(values + epsilon).view(-1, 1)  # rows: scaled components
    return (vectors @ projection) if zca else projection


def patch_whitening(images: torch.Tensor, kernel_size: int, epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PCA whitening of the ``kernel_size`` x ``kernel_size`` patches of ``images`` (N x C x H x W, as the
    network sees them): the filters ``components x C x k x k`` (the rows of :func:`whitening_matrix`, largest
    component first) and the mean patch (C*k*k). A convolution with these filters gives every patch
    decorrelated components of unit variance (striate.layers.PatchWhitening).

    >>> filters, mean = patch_whitening(torch.randn(20, 3, 8, 8), 2, 1e-3)
    >>> tuple(filters.shape), tuple(mean.shape)
    ((12, 3, 2, 2), (12,))
    """
    channels = images.shape[1]
    patches = images.float().unfold(2, kernel_size, 1).unfold(3, kernel_size, 1)  # N x C x H' x W' x k x k
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, channels * kernel_size * kernel_size)  # one row a patch
    mean, covariance = flat_moments(patches)
    projection = whitening_matrix(covariance, epsilon, zca=False)
    return projection.float().view(-1, channels, kernel_size, kernel_size), mean.float()


def fit_preprocess(images: torch.Tensor, method: str = "channel", epsilon: float = 0.1, colour_pca: bool = True) -> dict:
    """Fit the preprocessing on uint8 training images ``N x C x H x W``; returns the state (JSON figures
    plus ``arrays``, a dict of tensors). ``colour_pca``: record the RGB eigen-decomposition of colour images
    (:func:`rgb_eigen`, read by the ``lighting`` augmentation only; 1.3 s for 50,000 CIFAR images)."""
    if method not in NORMALIZE_METHODS:
        raise ConfigError(f"unknown data.normalize '{method}'; expected one of {NORMALIZE_METHODS}")
    if method in ("pca_white", "zca_white") and epsilon <= 0:
        raise ConfigError(f"data.whiten_epsilon must be positive for whitening, got {epsilon}")
    mean, std = channel_moments(images)
    state = {"normalize": method, "mean": mean, "std": std, "arrays": {}}
    if images.shape[1] == 3 and colour_pca:
        state["rgb_eigenvalues"], state["rgb_eigenvectors"] = rgb_eigen(images)
    if method == "mean_image":
        state["arrays"]["mean_image"] = _float01(images).mean(0)
    elif method in ("pca_white", "zca_white"):
        flat_mean, covariance = flat_moments(images)
        state["whiten_epsilon"] = epsilon
        state["arrays"]["mean_image"] = flat_mean.float().view(images.shape[1:])
        state["arrays"]["whitening"] = whitening_matrix(covariance, epsilon, method == "zca_white").float()
    return state


def make_normalizer(state: dict, device="cpu"):
    """``fn(float images in 0..1, N x C x H x W) -> network input`` for a fitted state."""
    method = state.get("normalize", "channel")
    arrays = {name: tensor.to(device) for name, tensor in state.get("arrays", {}).items()}
    if method in ("pca_white", "zca_white", "mean_image") and "mean_image" not in arrays:
        raise RunError(f"the preprocessing '{method}' needs its arrays ({ARRAYS_FILE}), which are missing; "
                       "open the run with striate.session.open_run")
    if method == "channel":
        mean = torch.tensor(state["mean"], device=device).view(1, -1, 1, 1)
        std = torch.tensor(state["std"], device=device).clamp_min(1e-8).view(1, -1, 1, 1)
        return lambda images: (images - mean) / std
    if method == "mean_image":
        return lambda images: images - arrays["mean_image"]
    if method in ("pca_white", "zca_white"):
        mean_flat, whitening = arrays["mean_image"].flatten(), arrays["whitening"]
        return lambda images: ((images.flatten(1) - mean_flat) @ whitening.T).view(images.shape)
    return lambda images: images


def display_moments(state: dict) -> tuple[list[float] | None, list[float] | None]:
    """(mean, std) such that ``input * std + mean`` is the image in 0..1 again, for pictures of network
    inputs; (None, None) where the normalisation is no per-channel affine map (mean image, whitening).

    >>> display_moments({"normalize": "none", "mean": [0.13], "std": [0.31]})
    ([0.0], [1.0])
    """
    method = state.get("normalize", "channel")
    if method == "channel":
        return list(state["mean"]), list(state["std"])
    if method == "none":
        return [0.0] * len(state["mean"]), [1.0] * len(state["mean"])
    return None, None


def split_arrays(state: dict) -> tuple[dict, bytes | None]:
    """The JSON-ready figures (arrays replaced by the name of their file) and the safetensors bytes of
    the arrays (None when there are none); the caller writes them to ``run_dir/preprocess.safetensors``."""
    from safetensors.torch import save

    figures = {key: value for key, value in state.items() if key != "arrays"}
    arrays = state.get("arrays") or {}
    if not arrays:
        return figures, None
    figures["arrays_file"] = ARRAYS_FILE
    return figures, save({name: tensor.detach().cpu().contiguous() for name, tensor in arrays.items()})


def load_arrays(run_dir: str | Path, figures: dict) -> dict:
    """The inverse of :func:`split_arrays`: the state with its arrays read back (no code executed)."""
    if "arrays_file" not in figures:
        return dict(figures)
    from safetensors.torch import load

    path = Path(run_dir) / figures["arrays_file"]
    if not path.is_file():
        raise RunError(f"{path} is missing: the run's preprocessing arrays are needed to prepare its inputs")
    try:
        arrays = load(path.read_bytes())
    except Exception as error:  # safetensors raises its own error type on a corrupt header
        raise RunError(f"{path}: not a readable safetensors file ({error}); the run directory is damaged") from None
    return dict(figures) | {"arrays": arrays}
