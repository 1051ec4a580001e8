import json

import pytest
import torch
import yaml
from safetensors import safe_open

from striate.errors import RunError
from striate.session import RunPaths, load_run_model, open_run, read_meta
from striate.session import train_run


def test_run_directory_layout_and_no_pickle(tiny_run):
    names = {path.name for path in tiny_run.iterdir()}
    assert {"config.yaml", "metrics.jsonl", "best.safetensors", "last.safetensors", "model.json",
            "summary.json", "summary.txt"} <= names
    for path in tiny_run.iterdir():
        if path.suffix == ".safetensors":  # its first 8 bytes are a header length: parse it instead
            with safe_open(str(path), framework="pt") as file:
                assert list(file.keys())
        elif path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
    meta = read_meta(tiny_run)
    assert meta["model"] == {"name": "mlp", "args": {"num_classes": 10, "in_channels": 1, "input_size": 8, "hidden": [32]}}
    assert meta["class_names"] == [str(d) for d in range(10)] and meta["input_shape"] == [1, 8, 8]
    assert set(meta["preprocess"]) >= {"mean", "std", "native_size", "input_size", "fit", "channels"}
    assert meta["striate_version"]
    lines = RunPaths(tiny_run).metrics.read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert yaml.safe_load(RunPaths(tiny_run).config.read_text())["model"]["name"] == "mlp"


def test_saved_model_reproduces_the_test_figures(tiny_run):
    figures = open_run(tiny_run).evaluate()
    summary = json.loads(RunPaths(tiny_run).summary.read_text())
    assert figures["accuracy"] == summary["test_accuracy"]
    assert figures["loss"] == pytest.approx(summary["test_loss"], rel=1e-6)


def test_same_config_twice_gives_the_same_figures(tiny_cfg):
    first = train_run(tiny_cfg)
    tiny_cfg.run.name = "again"
    second = train_run(tiny_cfg)
    drop = ("seconds", "images_per_second")
    assert [{k: v for k, v in f.items() if k not in drop} for f in first["history"]] == \
           [{k: v for k, v in f.items() if k not in drop} for f in second["history"]]
    a, _ = load_run_model(first["run_dir"])
    b, _ = load_run_model(second["run_dir"])
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_loading_broken_runs(tmp_path, tiny_run):
    with pytest.raises(RunError, match="run directory not found"):
        load_run_model(tmp_path / "absent")
    (tmp_path / "half").mkdir()
    with pytest.raises(RunError, match="not a finished striate run"):
        load_run_model(tmp_path / "half")
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in tiny_run.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "best.safetensors").write_bytes(b"garbage")
    with pytest.raises(RunError, match="not a readable safetensors file"):
        load_run_model(broken)
