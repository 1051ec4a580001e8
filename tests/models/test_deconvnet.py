"""The deconvolution network (Noh, Hong and Han 2015): per-pixel scores at the input size, decoder unpools
wired to the encoder's pools, and a tiny segmentation set it learns."""

import pytest
import torch
import torch.nn.functional as F

from striate.errors import ModelError
from striate.layers import MaxUnpool
from striate.models import create_model, model_task


@pytest.mark.parametrize("size, input_size", [((48, 48), 48), ((37, 50), 32), ((16, 16), 32)])
def test_scores_per_pixel_at_the_input_size(size, input_size):
    torch.manual_seed(0)
    model = create_model("deconvnet", num_classes=5, in_channels=1, input_size=input_size, width=4, fc_width=16)
    assert model_task("deconvnet") == "segmentation"
    assert model(torch.randn(2, 1, *size)).shape == (2, 5, *size)


def test_decoder_unpools_with_the_mirrored_encoder_pools():
    model = create_model("deconvnet", num_classes=3, input_size=48, width=4, fc_width=8)
    assert model.fc_kernel == 3  # 48 / 16: fc6 covers the whole pooled map
    for stage in range(1, 5):
        unpool = model.decoder.get_submodule(f"stage{stage}.unpool")
        assert isinstance(unpool, MaxUnpool) and unpool.pool is model.encoder.get_submodule(f"stage{stage}.pool")
    with pytest.raises(ModelError, match="input_size"):
        create_model("deconvnet", input_size=8)


def test_a_tiny_segmentation_set_is_learned():
    torch.manual_seed(0)
    images = torch.rand(8, 1, 16, 16) * 0.2
    masks = torch.zeros(8, 16, 16, dtype=torch.long)
    for index in range(8):  # a bright square per image, class 1 or 2 by its place
        top, left = (index % 3) * 4, (index // 3) * 4
        masks[index, top:top + 5, left:left + 5] = 1 + index % 2
        images[index, 0, top:top + 5, left:left + 5] += 0.5 + 0.4 * (index % 2)
    model = create_model("deconvnet", num_classes=3, in_channels=1, input_size=16, width=4, fc_width=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), masks)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_the_recipe_loads_and_builds_its_model():
    from pathlib import Path

    from striate.training.config import load_recipe

    config = load_recipe(Path(__file__).resolve().parents[2] / "recipes" / "deconvnet-mnist-canvas.yaml")
    assert config.model.name == "deconvnet" and config.data.task == "segmentation"
    model = create_model(config.model.name, num_classes=11, in_channels=1, input_size=48, **config.model.args)
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 1, 48, 48)).shape == (1, 11, 48, 48)
