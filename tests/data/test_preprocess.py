"""Preprocessing fitted on the training split: whitening, mean image, storage with the run."""

import json

import pytest
import torch

from striate.data.preprocess import fit_preprocess, load_arrays, make_normalizer, split_arrays
from striate.errors import ConfigError, RunError


def _correlated_images(count=4000, seed=0) -> torch.Tensor:
    """2 x 3 x 3 uint8 images whose pixels are strongly correlated (a shared component plus noise)."""
    generator = torch.Generator().manual_seed(seed)
    shared = torch.rand(count, 1, 1, 1, generator=generator) * 150
    noise = torch.rand(count, 2, 3, 3, generator=generator) * 60
    return (shared + noise + torch.linspace(0, 30, 9).view(1, 1, 3, 3)).round().to(torch.uint8)


@pytest.mark.parametrize("method", ["pca_white", "zca_white"])
def test_whitened_training_data_has_identity_covariance(method):
    images = _correlated_images()
    state = fit_preprocess(images, method, epsilon=1e-6)
    white = make_normalizer(state)(images.float().div(255)).flatten(1).double()
    covariance = torch.cov(white.T, correction=0)
    assert torch.allclose(white.mean(0), torch.zeros(18, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(covariance, torch.eye(18, dtype=torch.float64), atol=2e-3)
    raw_covariance = torch.cov(images.float().flatten(1).T)
    assert raw_covariance[0, 1] > 0.5 * raw_covariance[0, 0]  # the input was far from white


def test_epsilon_shrinks_the_small_components():
    images = _correlated_images()
    white = make_normalizer(fit_preprocess(images, "zca_white", epsilon=0.1))(images.float().div(255)).flatten(1)
    assert torch.cov(white.T).diagonal().max() < 0.9  # regularised: variances below one


def test_zca_stays_image_like_and_pca_does_not():
    images = _correlated_images()
    zca = make_normalizer(fit_preprocess(images, "zca_white", 1e-3))(images.float().div(255))
    pca = make_normalizer(fit_preprocess(images, "pca_white", 1e-3))(images.float().div(255))
    centred = images.float().div(255) - images.float().div(255).mean(0)
    assert torch.corrcoef(torch.stack([zca.flatten(), centred.flatten()]))[0, 1] > 0.3
    assert abs(torch.corrcoef(torch.stack([pca.flatten(), centred.flatten()]))[0, 1]) < \
        torch.corrcoef(torch.stack([zca.flatten(), centred.flatten()]))[0, 1]


def test_mean_image_and_channel_statistics():
    images = torch.tensor([[[[0, 255]]], [[[255, 255]]]], dtype=torch.uint8)  # 2 images, 1 x 1 x 2
    state = fit_preprocess(images, "mean_image")
    assert state["arrays"]["mean_image"].tolist() == [[[0.5, 1.0]]]
    assert make_normalizer(state)(images.float().div(255)).tolist() == [[[[-0.5, 0.0]]], [[[0.5, 0.0]]]]
    assert state["mean"] == pytest.approx([0.75]) and state["std"] == pytest.approx([0.4330127])
    channel = make_normalizer(fit_preprocess(images, "channel"))(images.float().div(255))
    assert channel.mean().item() == pytest.approx(0.0, abs=1e-6)


def test_channel_moments_of_bytes_by_counting_equal_numpys_and_the_float_path():
    """Bytes are counted in 256 bins a channel; floats are summed in chunks: both give NumPy's mean and std."""
    from striate.data.preprocess import channel_moments

    images = torch.randint(0, 256, (9000, 3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    images[:, 1] //= 4  # channels with different statistics
    pixels = images.double().div(255).transpose(0, 1).reshape(3, -1).numpy()
    # counting is exact; the float path starts from float32 pixels (about 1e-8 off)
    for (mean, std), rel in ((channel_moments(images), 1e-12), (channel_moments(images.float().div(255)), 1e-6)):
        assert mean == pytest.approx(pixels.mean(1).tolist(), rel=rel)
        assert std == pytest.approx(pixels.std(1).tolist(), rel=rel)


def test_rgb_eigen_decomposition_is_recorded_for_colour_images():
    images = torch.randint(0, 256, (50, 3, 4, 4), dtype=torch.uint8)
    state = fit_preprocess(images, "channel")
    vectors = torch.tensor(state["rgb_eigenvectors"])
    assert torch.allclose(vectors.T @ vectors, torch.eye(3, dtype=vectors.dtype), atol=1e-6)
    assert state["rgb_eigenvalues"] == sorted(state["rgb_eigenvalues"], reverse=True)
    assert "rgb_eigenvalues" not in fit_preprocess(images[:, :1], "channel")
    assert "rgb_eigenvalues" not in fit_preprocess(images, "channel", colour_pca=False)


def test_only_a_recipe_with_lighting_fits_the_colour_pca():
    from striate.data.augment import uses_lighting

    assert uses_lighting(["hflip", {"lighting": {"std": 0.1}}]) and uses_lighting(["lighting"])
    assert not uses_lighting(["hflip", {"crop": {"padding": 4}}]) and not uses_lighting(None)


def test_arrays_round_trip_through_safetensors(tmp_path):
    images = _correlated_images(200)
    state = fit_preprocess(images, "zca_white", 0.01)
    figures, payload = split_arrays(state)
    json.dumps(figures)  # JSON-ready
    (tmp_path / figures["arrays_file"]).write_bytes(payload)
    restored = load_arrays(tmp_path, figures)
    batch = images[:5].float().div(255)
    assert torch.equal(make_normalizer(restored)(batch), make_normalizer(state)(batch))
    (tmp_path / figures["arrays_file"]).write_bytes(b"garbage")
    with pytest.raises(RunError, match="not a readable safetensors"):
        load_arrays(tmp_path, figures)
    with pytest.raises(RunError, match="needs its arrays"):
        make_normalizer(figures)


def test_bad_settings():
    images = _correlated_images(20)
    with pytest.raises(ConfigError, match="did you mean|expected one of"):
        fit_preprocess(images, "zca")
    with pytest.raises(ConfigError, match="positive"):
        fit_preprocess(images, "zca_white", 0.0)


def test_a_whitened_run_predicts_with_the_same_preprocessing(tiny_cfg):
    from striate.data.images import to_network_input
    from striate.data.sources import load_source
    from striate.session import make_loader, prepare, train_run
    from striate.session import load_run_model

    config = tiny_cfg
    config.data.normalize, config.data.whiten_epsilon = "zca_white", 0.01
    run_dir = train_run(config)["run_dir"]
    assert (run_dir / "preprocess.safetensors").is_file()
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["preprocess"]["normalize"] == "zca_white" and "arrays" not in meta["preprocess"]
    _, loaded = load_run_model(run_dir)
    images = load_source("digits")["train"].images[:4]
    prepared = prepare(config)
    prepared.splits["train"] = prepared.splits["train"].subset(torch.arange(4))
    direct = make_loader(prepared, "train", config, "cpu", False)
    assert torch.allclose(to_network_input(list(images), loaded["preprocess"]),
                          make_normalizer(prepared.preprocess)(images.float().div(255)), atol=1e-5)
    assert next(iter(direct))[0].shape == (4, 1, 8, 8)


def test_rgb_eigen_is_the_pixel_colour_covariance():
    """The chunked 3x3 covariance equals NumPy's covariance of every pixel's colour (population form)."""
    import numpy as np

    from striate.data.preprocess import rgb_eigen

    images = torch.randint(0, 256, (9000, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    images[:, 1] = images[:, 0] // 2  # correlated channels: an eigenvalue far from the others
    pixels = images.permute(0, 2, 3, 1).reshape(-1, 3).double().numpy() / 255
    expected_values, expected_vectors = np.linalg.eigh(np.cov(pixels, rowvar=False, bias=True))
    values, vectors = rgb_eigen(images)
    np.testing.assert_allclose(values, expected_values[::-1], rtol=1e-9)  # float64 around the exact means
    np.testing.assert_allclose(np.abs(vectors), np.abs(expected_vectors[:, ::-1]), atol=1e-9)
