"""fastnet: the speed runs' CIFAR shape. Its size, test-time flip averaging and logit scale."""

import torch

from striate.models import create_model


def pair(**kwargs):
    """Two fastnets with the same weights, the second built with ``kwargs``."""
    torch.manual_seed(0)
    first = create_model("fastnet", input_size=32, **{key: value for key, value in kwargs.items() if key == "widths"})
    second = create_model("fastnet", input_size=32, **kwargs)
    second.load_state_dict(first.state_dict())
    return first, second


def close(a, b, share=1e-4):
    """Equal to ``share`` of b's largest magnitude (a fresh network's eval-mode logits are tiny)."""
    return float((a - b).detach().abs().max()) <= share * float(b.detach().abs().max())


def test_parameter_count_follows_the_widths():
    # whitening 24*3*2*2 + 24 (fixed); per group conv3x3 (in*w + w*w)*9 and two batch norms 4w; head 128*10
    convs = 9 * (24 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128)
    expected = 24 * 12 + 24 + convs + 4 * (32 + 64 + 128) + 128 * 10
    assert sum(p.numel() for p in create_model("fastnet").parameters()) == expected == 295_096


def test_flip_test_averages_the_image_and_its_mirror_image_in_eval_mode_only():
    plain, flipping = pair(widths=[8, 8, 16], flip_test=True)
    plain.flip_test = False
    images = torch.randn(4, 3, 32, 32)
    plain.eval(), flipping.eval()
    with torch.no_grad():
        expected = (plain(images) + plain(images.flip(-1))) / 2
        assert close(flipping(images), expected)
        assert not close(plain(images), expected, 0.01)  # the mirror image does change the logits
    plain.train(), flipping.train()
    assert close(flipping(images), plain(images))  # training sees one image


def test_head_scale_multiplies_the_logits():
    plain, scaled = pair(widths=[8, 8, 16], head_scale=0.25)
    plain.head[1].factor = 1.0
    plain.eval(), scaled.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert close(scaled(images), 0.25 * plain(images))
        assert not close(scaled(images), plain(images), 0.1)
