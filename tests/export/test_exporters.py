"""Every registered model exports to TorchScript and ONNX, and the file run by its own runtime
gives PyTorch's outputs. Parametrised over the registry, so new families are covered when added."""

import pytest
import torch

import striate
from striate.errors import ExportError, ModelError
from striate.export import check_parity, export_model, run_exported
from striate.models import get_builder

CANDIDATE_SIZES = (8, 16, 32, 64, 96, 128, 160, 224, 227, 256, 299)
IN_CHANNELS = 3


def smallest_model(name: str) -> tuple[torch.nn.Module, tuple]:
    """The model built for the smallest input side it accepts (tiny inputs keep the export quick)."""
    for size in CANDIDATE_SIZES:
        try:
            model = striate.create_model(name, num_classes=5, in_channels=IN_CHANNELS, input_size=size).eval()
            with torch.no_grad():
                model(torch.zeros(1, IN_CHANNELS, size, size))
        except (ModelError, RuntimeError, ValueError):
            continue
        return model, (IN_CHANNELS, size, size)
    pytest.fail(f"model '{name}' builds for none of the input sizes {CANDIDATE_SIZES}")


def perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """Non-trivial batch-norm statistics, so that eval-mode normalisation is really exercised."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model


def family_representatives() -> list[str]:
    """One model per family file (the shortest name, e.g. resnet18 for resnet.py): quick enough for ONNX."""
    families: dict[str, list[str]] = {}
    for name in striate.list_models():
        families.setdefault(get_builder(name).__module__, []).append(name)
    return sorted(min(names, key=lambda n: (len(n), n)) for names in families.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", striate.list_models())
def test_torchscript_parity_for_every_model(name):
    model, input_shape = smallest_model(name)
    model = perturbed(model)
    payload = export_model(model, input_shape, "torchscript", dynamic_batch=True)
    parity = check_parity(model, payload, "torchscript", input_shape, batch_sizes=(1, 3))
    assert parity["max_abs_diff"] <= 1e-4 and parity["runtime"] == "torch.jit.load"


@pytest.mark.slow
@pytest.mark.parametrize("name", family_representatives())
def test_onnx_parity_for_each_family(name):
    pytest.importorskip("onnxruntime")
    model, input_shape = smallest_model(name)
    model = perturbed(model)
    payload = export_model(model, input_shape, "onnx", dynamic_batch=True)
    parity = check_parity(model, payload, "onnx", input_shape, batch_sizes=(1, 3))
    assert parity["max_abs_diff"] <= 1e-4 and parity["runtime"] == "onnxruntime"


@pytest.mark.parametrize("format", ["torchscript", "onnx"])
def test_lenet5_parity_in_both_formats(format):
    if format == "onnx":
        pytest.importorskip("onnxruntime")
    model = perturbed(striate.create_model("lenet5", num_classes=10, activation="tanh", pooling="avg").eval())
    payload = export_model(model, (1, 32, 32), format, dynamic_batch=True)
    parity = check_parity(model, payload, format, (1, 32, 32), batch_sizes=(1, 4))
    assert parity["max_abs_diff"] <= 1e-4 and parity["batch_sizes"] == [1, 4]


def test_onnx_static_batch_is_fixed_and_dynamic_batch_is_free():
    pytest.importorskip("onnxruntime")
    model = striate.create_model("lenet5", num_classes=4).eval()
    static = export_model(model, (1, 32, 32), "onnx", dynamic_batch=False)
    dynamic = export_model(model, (1, 32, 32), "onnx", dynamic_batch=True)
    inputs = torch.randn(5, 1, 32, 32)
    with torch.no_grad():
        expected = model(inputs).numpy()
    assert abs(run_exported(dynamic, "onnx", inputs) - expected).max() < 1e-4
    assert abs(run_exported(static, "onnx", inputs[:1]) - expected[:1]).max() < 1e-4
    with pytest.raises(Exception):
        run_exported(static, "onnx", inputs)


def test_parity_check_catches_a_file_that_is_not_the_model():
    first = striate.create_model("mlp", num_classes=3, input_size=8, hidden=[16]).eval()
    torch.manual_seed(1)
    second = striate.create_model("mlp", num_classes=3, input_size=8, hidden=[16]).eval()
    payload = export_model(first, (1, 8, 8), "torchscript")
    with pytest.raises(ExportError, match="differs from PyTorch by .* more than the tolerance"):
        check_parity(second, payload, "torchscript", (1, 8, 8))


def test_unknown_format_names_the_nearest():
    model = striate.create_model("mlp", num_classes=3, input_size=8)
    with pytest.raises(striate.ConfigError, match="did you mean 'onnx'"):
        export_model(model, (1, 8, 8), "onx")
