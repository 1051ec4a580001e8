"""PatchWhitening and the patch PCA behind it: whitened patches have unit covariance, the layer never trains."""

import torch
import torch.nn.functional as F

from striate.data.preprocess import patch_whitening
from striate.layers import PatchWhitening
from striate.training.optim import parameter_groups


def correlated_images(count=64, channels=3, size=12):
    """Neighbouring pixels and channels strongly correlated, as in photographs."""
    torch.manual_seed(0)
    noise = torch.randn(count, channels, size + 2, size + 2)
    smooth = F.avg_pool2d(noise, 3, stride=1)  # neighbours share most of their inputs
    mixing = torch.tensor([[1.0, 0.8, 0.6], [0.0, 0.6, 0.5], [0.0, 0.0, 0.3]])[:channels, :channels]
    return torch.einsum("dc,nchw->ndhw", mixing, smooth) + 0.5


def test_whitened_patches_have_unit_covariance_and_zero_mean():
    images = correlated_images()
    layer = PatchWhitening(3, kernel_size=2, epsilon=1e-6)
    layer.load_whitening(*patch_whitening(images, 2, 1e-6))
    with torch.no_grad():
        out = layer(images)  # N x 24 x 11 x 11
    assert out.shape == (64, 24, 11, 11)
    components = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    assert torch.allclose(components.mean(0), torch.zeros(12), atol=1e-3)
    assert torch.allclose(torch.cov(components.T, correction=0), torch.eye(12), atol=2e-3)
    assert torch.equal(out[:, 12:], -out[:, :12])  # both signs, for the activation that follows


def test_the_largest_component_comes_first():
    filters, _ = patch_whitening(correlated_images(), 2, 1e-6)
    lengths = filters.flatten(1).norm(dim=1)  # a component's filter is its direction over sqrt(its variance)
    assert lengths[0] == lengths.min() and lengths[-1] == lengths.max()


def test_the_layer_is_fixed_and_left_out_of_the_optimizer():
    model = torch.nn.Sequential(PatchWhitening(3), torch.nn.Conv2d(24, 4, 3))
    assert not any(p.requires_grad for p in model[0].parameters())
    names = [name for group in parameter_groups(model, 0.1, 5e-4) for name in group["names"]]
    assert names and not any(name.startswith("0.") for name in names)
