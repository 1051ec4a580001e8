"""CNN codes are the activations of the named layer, pooled as asked, in the run's preprocessing."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from striate.errors import ModelError
from striate.models import create_model
from striate.transfer.codes import extract_codes, pool_codes, resolve_layer


def _batches(images, labels, size=7):
    return [(images[i : i + size], labels[i : i + size]) for i in range(0, len(images), size)]


def test_conv_codes_equal_the_layers_activations_pooled():
    torch.manual_seed(0)
    model = create_model("lenet5", num_classes=4)
    images, labels = torch.randn(20, 1, 32, 32), torch.arange(20) % 4
    codes, got_labels = extract_codes(model, _batches(images, labels), "features.conv2", pooling="avg")
    body = model.features
    with torch.no_grad():  # the layer recomputed by hand: conv1 -> relu -> pool -> conv2
        conv2 = F.conv2d(body.pool1(F.relu(F.conv2d(images, body.conv1.weight, body.conv1.bias))),
                         body.conv2.weight, body.conv2.bias)
    np.testing.assert_allclose(codes, conv2.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got_labels, labels.numpy())
    flat, _ = extract_codes(model, _batches(images, labels), "conv2", pooling="flatten")
    np.testing.assert_allclose(flat, conv2.flatten(1).numpy(), rtol=1e-5, atol=1e-6)
    peak, _ = extract_codes(model, _batches(images, labels), "conv2", pooling="max")
    np.testing.assert_allclose(peak, conv2.amax(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)


def test_last_hidden_codes_are_forward_features_and_model_mode_is_kept():
    torch.manual_seed(1)
    model = create_model("mlp", num_classes=3, input_size=8, hidden=[16, 8], dropout_rate=0.5).train()
    images, labels = torch.randn(10, 1, 8, 8), torch.zeros(10, dtype=torch.long)
    codes, _ = extract_codes(model, _batches(images, labels), "features")
    assert model.training  # put back as it was
    model.eval()
    with torch.no_grad():
        expected = model.forward_features(images)
    np.testing.assert_allclose(codes, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert codes.shape == (10, 8)


def test_layer_names_resolve_and_unknown_ones_fail():
    model = create_model("lenet5")
    assert resolve_layer(model, "conv3") == "features.conv3"
    assert resolve_layer(model, "middle") == "features.conv2"
    with pytest.raises(ModelError, match="conv9"):
        resolve_layer(model, "conv9")
    assert pool_codes(torch.ones(2, 5), "avg").shape == (2, 5)
