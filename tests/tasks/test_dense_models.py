"""Shapes and starting points of the dense-prediction models and the autoencoder."""

import pytest
import torch
import torch.nn.functional as F

from striate.models import Classifier, create_model, list_models, tap_outputs
from striate.models.dilated import ContextModule
from striate.models.fcn import upsampler


@pytest.mark.parametrize("name", list_models("segmentation"))
@pytest.mark.parametrize("size", [(32, 32), (37, 50)])
def test_output_size_equals_input_size(name, size):
    torch.manual_seed(0)
    model = create_model(name, num_classes=4, in_channels=1, input_size=size[0])
    scores = model(torch.randn(2, 1, *size))
    assert scores.shape == (2, 4, *size)
    F.cross_entropy(scores, torch.zeros(2, *size, dtype=torch.long)).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    taps = model.feature_taps()
    assert taps and all(torch.isfinite(o).all() for o in tap_outputs(model, torch.randn(1, 1, *size), taps).values())


def test_the_fcn_variants_differ_by_their_skip_links():
    counts = {name: sum(1 for n, _ in create_model(name, num_classes=3).named_modules() if n.startswith("score_pool"))
              for name in ("fcn32s", "fcn16s", "fcn8s")}
    assert counts == {"fcn32s": 0, "fcn16s": 1, "fcn8s": 2}


@pytest.mark.parametrize("factor", [2, 8, 32])
def test_up_convolution_starts_as_bilinear_interpolation(factor):
    image = torch.linspace(0, 1, 16).view(1, 1, 4, 4).repeat(1, 2, 1, 1)
    out = upsampler(2, factor)(image)
    assert out.shape == (1, 2, 4 * factor, 4 * factor)
    inner = slice(factor, 3 * factor)  # away from the zero-padded border
    expected = F.interpolate(image, scale_factor=factor, mode="bilinear", align_corners=False)
    assert torch.allclose(out[..., inner, inner], expected[..., inner, inner], atol=1e-5)


def test_context_module_starts_as_identity_on_scores():
    scores = torch.rand(2, 5, 20, 20)  # non-negative: the ReLUs pass them
    with torch.no_grad():
        assert torch.allclose(ContextModule(5)(scores), scores)


def test_autoencoder_reconstructs_and_its_encoder_extracts_features():
    model = create_model("conv_autoencoder", in_channels=3, input_size=16, width=4, code_channels=8)
    images = torch.rand(2, 3, 16, 16)
    reconstruction = model(images)
    assert reconstruction.shape == images.shape and 0 <= reconstruction.min() and reconstruction.max() <= 1
    assert isinstance(model, Classifier)
    features = model.forward_features(images)
    assert features.shape == (2, model.num_features, 2, 2)
    model.reset_classifier(5)  # the encoder under a new classifier, as the transfer tools use it
    assert model(images).shape == (2, 5) and model.num_classes == 5
    assert torch.equal(model.forward_features(images), features)


def test_autoencoder_refuses_sides_it_cannot_halve_three_times():
    from striate.errors import ModelError

    with pytest.raises(ModelError, match="divisible by 8"):
        create_model("conv_autoencoder", input_size=28)


def test_keypoint_networks_regress_2k_coordinates():
    mlp = create_model("keypoint_mlp")
    assert sum(p.numel() for p in mlp.parameters()) == 9216 * 100 + 100 + 100 * 30 + 30  # the course's 9216-100-30
    lenet = create_model("keypoint_lenet", num_classes=6, input_size=32, widths=[4, 8, 8], hidden=16)
    assert lenet(torch.rand(3, 1, 32, 32)).shape == (3, 6)
