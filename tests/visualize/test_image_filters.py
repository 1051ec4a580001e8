"""Classic image filters: the kernels' defining properties and what they answer to."""

import math

import pytest
import torch
from visualize_helpers import decode_png

from striate.cli.main import main
from striate.errors import ConfigError
from striate.visualize.image_filters import (
    convolve,
    gabor_bank,
    gabor_kernel,
    gaussian_kernel,
    laplacian_of_gaussian,
    mean_kernel,
    plot_image_filters,
    prewitt_kernels,
    sobel_kernels,
)


def grating(theta: float, wavelength: float, size: int = 64) -> torch.Tensor:
    """cos(2 pi (x cos theta + y sin theta) / wavelength) with x the column and y the row."""
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    return torch.cos(2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / wavelength)


def centre_energy(response: torch.Tensor, margin: int = 16) -> float:
    return float(response[margin:-margin, margin:-margin].pow(2).mean())


@pytest.mark.parametrize("index", range(8))
def test_gabor_at_theta_responds_most_to_a_grating_at_theta(index):
    bank = gabor_bank(orientations=8, wavelengths=(6.0,))
    theta = bank[index]["theta"]
    image = grating(theta, 6.0)
    energies = [centre_energy(convolve(image, entry["kernel"])) for entry in bank]
    assert max(range(8), key=energies.__getitem__) == index
    assert energies[index] > 5 * min(energies)


def test_gabor_prefers_its_own_wavelength():
    kernel = gabor_kernel(sigma=0.56 * 8, theta=0.3, wavelength=8.0)
    energies = {wavelength: centre_energy(convolve(grating(0.3, wavelength), kernel)) for wavelength in (3.0, 8.0, 20.0)}
    assert max(energies, key=energies.get) == 8.0


def test_smoothing_kernels_sum_to_one_and_are_symmetric():
    for kernel in (mean_kernel(5), gaussian_kernel(1.5)):
        assert float(kernel.sum()) == pytest.approx(1.0)
        assert torch.allclose(kernel, kernel.flip(0)) and torch.allclose(kernel, kernel.t())
    gaussian = gaussian_kernel(2.0)
    assert gaussian.shape == (13, 13)  # 2 * ceil(3 sigma) + 1
    assert gaussian[6, 6] == gaussian.max()
    # the variance along one axis is sigma^2
    offsets = torch.arange(13, dtype=torch.float64) - 6
    assert float((gaussian.sum(dim=0) * offsets**2).sum()) == pytest.approx(4.0, rel=0.02)


def test_convolve_is_a_true_convolution():
    impulse = torch.zeros(9, 9, dtype=torch.float64)
    impulse[4, 4] = 1.0
    kernel = torch.arange(9, dtype=torch.float64).view(3, 3)  # not symmetric
    assert torch.equal(convolve(impulse, kernel)[3:6, 3:6], kernel)  # the impulse response is the kernel itself


def test_edge_kernels_measure_the_gradient():
    y, x = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    ramp = (3 * x + 0 * y).double()  # brightness grows to the right by 3 per pixel
    for gx, gy in (sobel_kernels(), prewitt_kernels()):
        weight = float(gx[:, 0].sum())  # 4 for Sobel, 3 for Prewitt
        inner = (slice(2, -2), slice(2, -2))
        assert torch.allclose(convolve(ramp, gx)[inner], torch.full((12, 12), 2 * 3 * weight, dtype=torch.float64))
        assert torch.allclose(convolve(ramp, gy)[inner], torch.zeros(12, 12, dtype=torch.float64))


def test_laplacian_of_gaussian_ignores_flat_regions_and_finds_blobs():
    kernel = laplacian_of_gaussian(2.0)
    assert float(kernel.sum()) == pytest.approx(0.0, abs=1e-12)
    assert float(convolve(torch.full((20, 20), 5.0, dtype=torch.float64), kernel).abs().max()) < 1e-9
    y, x = torch.meshgrid(torch.arange(41.0), torch.arange(41.0), indexing="ij")
    blob = ((x - 20) ** 2 + (y - 20) ** 2 <= (2.0 * math.sqrt(2)) ** 2).double()
    response = convolve(blob, kernel)
    assert divmod(int(response.abs().argmax()), 41) == (20, 20)  # strongest at the blob's centre


def test_bad_sigma_raises():
    with pytest.raises(ConfigError, match="sigma must be positive"):
        gaussian_kernel(0.0)


def test_picture_is_written_and_decodes(tmp_path):
    image = (grating(0.5, 8.0, 48) + 1) / 2
    width, height = decode_png(plot_image_filters(image, tmp_path / "filters.png"))
    assert width > 400 and height > 400


def test_cli_filters_on_an_image_file(tmp_path, capsys):
    from PIL import Image

    source = tmp_path / "stripes.png"
    Image.fromarray(((grating(1.0, 6.0, 40) + 1) * 127).to(torch.uint8).numpy()).convert("RGB").save(source)
    assert main(["filters", str(source), "--orientations", "6", "--wavelengths", "4,10"]) == 0
    decode_png(tmp_path / "stripes-filters.png")
    assert "wrote" in capsys.readouterr().out


def test_cli_filters_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert main(["filters", str(tmp_path / "broken.png")]) == 2
    assert main(["filters", str(tmp_path / "broken.png"), "--wavelengths", "x"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("striate filters: error:") for line in errors)
    assert not (tmp_path / "broken-filters.png").exists()
