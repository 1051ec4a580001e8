"""Deconvnet projections, guided backpropagation and occlusion sensitivity, against formulas and cases
whose answer is known: the backprop rules on tiny networks worked by hand, projections inside the
unit's receptive field, occlusion lowest where the class's evidence is."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from visualize_helpers import TinyCNN, decode_png

from striate.errors import ConfigError, ModelError
from striate.models import create_model
from striate.session import open_run
from striate.visualize.backprop_rules import backprop_rule
from striate.visualize.occlusion import occlusion_map, plot_occlusion
from striate.visualize.projections import guided_backprop, project_units, top_projections
from striate.visualize.receptive import receptive_field, window
from striate.visualize.saliency import gradient_saliency


def _two_layer(inplace: bool = False):
    torch.manual_seed(4)
    first, second = nn.Linear(6, 5), nn.Linear(5, 1)
    with torch.no_grad():  # hidden units: negative, positive, negative, positive, positive; w2 of each sign on both
        first.bias.copy_(torch.tensor([-3.0, 3.0, -3.0, 3.0, 3.0]))
        second.weight.copy_(torch.tensor([[1.0, -1.0, -1.0, 1.0, 0.5]]))
    return nn.Sequential(first, nn.ReLU(inplace=inplace), second), first, second


def _input_gradient(model, x, rule):
    x = x.clone().requires_grad_(True)
    with backprop_rule(model, rule):
        (gradient,) = torch.autograd.grad(model(x).sum(), x)
    return gradient


@pytest.mark.parametrize("inplace", [False, True])
def test_the_three_rules_cross_a_relu_by_their_formulas(inplace):
    model, first, second = _two_layer(inplace)
    x = 0.1 * torch.randn(1, 6)
    hidden = first(x).detach()[0]
    w1, w2 = first.weight.detach(), second.weight.detach()[0]
    assert (hidden < 0).any() and (hidden > 0).any() and (w2 < 0).any() and (w2 > 0).any()  # every case occurs
    expected = {"gradient": (w2 * (hidden > 0)) @ w1,
                "deconvnet": w2.clamp(min=0) @ w1,  # rectify the backward signal, ignore the forward switch
                "guided": (w2.clamp(min=0) * (hidden > 0)) @ w1}
    got = {rule: _input_gradient(model, x, rule)[0] for rule in expected}
    for rule in expected:
        assert torch.allclose(got[rule], expected[rule], atol=1e-6), rule
    assert not torch.allclose(got["guided"], got["gradient"]) and not torch.allclose(got["guided"], got["deconvnet"])
    assert model[1].inplace is inplace and not model[1]._forward_hooks  # restored on leaving
    assert torch.allclose(_input_gradient(model, x, "gradient")[0], expected["gradient"], atol=1e-6)


def test_an_unknown_rule_is_refused():
    with pytest.raises(ConfigError, match="expected one of gradient, deconvnet, guided"):
        with backprop_rule(nn.ReLU(), "zeiler"):
            pass


@pytest.mark.parametrize("seed", range(4))
def test_guided_backprop_is_the_gradient_in_a_network_without_relus(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
    image = torch.randn(2, 8, 8)
    guided, target = guided_backprop(model, image)
    x = image[None].clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(x)[0, target], x)
    assert torch.allclose(guided, gradient[0], atol=1e-6)
    assert torch.allclose(guided.abs().amax(dim=0), gradient_saliency(model, image, target)[0], atol=1e-6)


def test_guided_backprop_differs_from_saliency_where_relus_block():
    torch.manual_seed(1)
    model = TinyCNN(input_size=8)
    image = torch.randn(1, 8, 8)
    guided, target = guided_backprop(model, image)
    saliency, _ = gradient_saliency(model, image, target)
    assert not torch.allclose(guided.abs().amax(dim=0), saliency, atol=1e-6)
    assert any(not m.inplace and not m._forward_hooks for m in model.modules() if isinstance(m, nn.ReLU))


def test_guided_backprop_of_a_unit_needs_a_channel_in_range():
    model = TinyCNN(input_size=8)
    with pytest.raises(ModelError, match="channels 0..7"):
        guided_backprop(model, torch.randn(1, 8, 8), layer="features.conv2", channel=8)
    with pytest.raises(ModelError, match="not channel maps"):
        guided_backprop(model, torch.randn(1, 8, 8), layer="head", channel=0)


def test_deconvnet_projection_is_the_transposed_convolutions_with_rectified_signals():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3, padding=1))
    images = torch.randn(3, 1, 7, 7)
    projections, positions, values = project_units(model, images, "2", channel=1)
    maps = model(images).detach()
    for b in range(3):
        r, c = positions[b].tolist()
        assert values[b] == maps[b, 1].max() == maps[b, 1, r, c]
        signal = torch.zeros(1, 2, 7, 7)
        signal[0, 1, r, c] = values[b]
        back = F.relu(F.conv_transpose2d(signal, model[2].weight.detach(), padding=1))  # unconv, then rectify
        expected = F.conv_transpose2d(back, model[0].weight.detach(), padding=1)
        assert torch.allclose(projections[b], expected[0], atol=1e-5)


@pytest.mark.parametrize("model_name, layer, side", [("tiny", "features.conv2", 16), ("lenet5", "features.conv2", 32),
                                                    ("lenet5", "features.pool2", 32)])
def test_a_deconvnet_projection_lies_inside_the_units_receptive_field(model_name, layer, side):
    torch.manual_seed(5)
    model = TinyCNN(input_size=side) if model_name == "tiny" else create_model(model_name)
    images = torch.randn(6, 1, side, side)
    size, jump, start = receptive_field(model, layer, (1, side, side))
    assert size < side  # a window smaller than the image: the check below can fail
    for channel in (0, 1):
        projections, positions, values = project_units(model, images, layer, channel)
        assert (values > 0).all()  # units these images drive: their projections are not empty
        for projection, (row, column) in zip(projections, positions.tolist()):
            top, bottom = window(size, jump, start, row)
            left, right = window(size, jump, start, column)
            inside = torch.zeros(side, side, dtype=torch.bool)
            inside[max(top, 0) : bottom, max(left, 0) : right] = True
            nonzero = projection.abs().amax(dim=0) > 0
            assert nonzero.any() and not (nonzero & ~inside).any()


class RegionScore(nn.Module):
    """Class 0's logit is the sum of the pixels in rows 6..9, columns 2..5; class 1's is 8."""

    def forward(self, images):
        evidence = images[:, :, 6:10, 2:6].sum(dim=(1, 2, 3))
        return torch.stack([evidence, torch.full_like(evidence, 8.0)], dim=1)


def test_occlusion_is_lowest_over_the_region_that_holds_the_evidence():
    found = occlusion_map(RegionScore(), torch.ones(1, 12, 12), target=0, size=3, stride=1)
    assert found.target == 0 and found.probabilities.shape == (10, 10)
    assert math.isclose(found.baseline, 1 / (1 + math.exp(-8)), rel_tol=1e-5)  # 16 - 8 in favour of class 0
    region = torch.zeros(12, 12, dtype=torch.bool)
    region[6:10, 2:6] = True
    assert float(found.pixel_map[region].max()) < float(found.pixel_map[~region].min()) + 1e-6
    row, column = divmod(int(found.pixel_map.argmin()), 12)
    assert region[row, column]
    far = found.probabilities[0, 7]  # the square at rows 0..2, columns 7..9 hides nothing of the region
    assert math.isclose(float(far), found.baseline, rel_tol=1e-5)


def test_occlusion_is_batched_and_equals_one_copy_at_a_time():
    torch.manual_seed(6)
    model = TinyCNN(num_classes=3, input_size=8)
    image = torch.randn(1, 8, 8)
    calls = []
    model.register_forward_hook(lambda _m, inputs, _o: calls.append(len(inputs[0])))
    found = occlusion_map(model, image, target=2, size=3, stride=2, batch_size=10)
    assert calls == [1, 10, 6]  # the whole image, then 16 copies (4 x 4 positions) in two batches
    assert found.tops.tolist() == [0, 2, 4, 5] and found.lefts.tolist() == [0, 2, 4, 5]  # the last flush with the border
    with torch.no_grad():
        for i, top in enumerate(found.tops.tolist()):
            for j, left in enumerate(found.lefts.tolist()):
                copy = image.clone()
                copy[:, top : top + 3, left : left + 3] = 0.0
                expected = model(copy[None]).softmax(dim=1)[0, 2]
                assert torch.isclose(found.probabilities[i, j], expected, atol=1e-6)


@pytest.mark.parametrize("size, stride, message", [(9, 1, "1..8 pixels"), (0, 1, "1..8 pixels"), (2, 0, "at least 1")])
def test_occlusion_refuses_a_square_that_does_not_fit(size, stride, message):
    with pytest.raises(ConfigError, match=message):
        occlusion_map(TinyCNN(input_size=8), torch.randn(1, 8, 8), size=size, stride=stride)


def test_occlusion_picture_decodes(tmp_path):
    image = torch.rand(1, 12, 12)
    found = occlusion_map(RegionScore(), image, target=0, size=3, stride=1)
    width, height = decode_png(plot_occlusion(found, image, tmp_path / "occlusion.png", class_names=["square", "none"]))
    assert width > 400 and height > 100


def test_top_projections_of_a_run_match_its_top_patches(tiny_cnn_run):
    run = open_run(tiny_cnn_run)
    found = top_projections(run.model, run.loader, "features.conv1", [0, 2], k=4, input_shape=run.input_shape)
    assert found.channels == [0, 2] and found.projections.shape == found.patches.shape == (2, 4, 1, 3, 3)
    assert (torch.isnan(found.projections) == torch.isnan(found.patches)).all()  # the same crop, border included
    assert (found.projections.nan_to_num(0).abs() > 0).any()
    for row, channel in enumerate(found.channels):  # the patch is the window of the stream image at the position
        for slot in range(4):
            image, _ = run.image(int(found.image_indices[row, slot]))
            maps = run.model.features.conv1(image[None]).detach()[0, channel]
            r, c = found.positions[row, slot].tolist()
            assert torch.isclose(maps[r, c], found.values[row, slot], atol=1e-5)


def test_top_projections_default_to_four_channels(tiny_cnn_run):
    run = open_run(tiny_cnn_run)
    found = top_projections(run.model, run.loader, "features.conv2", k=2, input_shape=run.input_shape)
    assert found.channels == [0, 1, 2, 3] and found.values.shape == (4, 2)


def test_the_api_draws_the_three_pictures(tiny_cnn_run):
    from matplotlib.figure import Figure

    from striate.api import open_run as api_open_run

    run = api_open_run(tiny_cnn_run)
    for figure in (run.deconvnet("features.conv1", [1]), run.guided_backprop(2),
                   run.guided_backprop(0, "features.conv2", [0, 5]), run.occlusion(3, size=2, stride=1)):
        assert isinstance(figure, Figure)
        decode_png(figure._repr_png_())
