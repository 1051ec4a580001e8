"""A run directory with one damaged file (model.json, a weights file, the checkpoint) ends ``striate
evaluate`` and ``striate train --resume`` in one clear line and exit 2: no traceback, nothing built from
absurd sizes, and nothing new written next to the run."""

import json
import shutil

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from striate.cli.main import main
from striate.errors import RunError
from striate.session import read_meta
from striate.training import checkpoint as checkpoint_module
from striate.training.checkpoint import CHECKPOINT_KEY, load_checkpoint, load_weights


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A private copy of the tiny run, in its own runs/ folder."""
    target = tmp_path / "runs" / tiny_run.name
    shutil.copytree(tiny_run, target)
    return target


def _listing(run_dir):
    return sorted(p.name for p in run_dir.parent.iterdir()), sorted(p.name for p in run_dir.iterdir())


def _fails_in_one_line(capsys, run_dir, command: str) -> str:
    before = _listing(run_dir)
    code = main(["evaluate", str(run_dir)] if command == "evaluate" else ["train", "--resume", str(run_dir)])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and len(lines[0]) <= 500, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert _listing(run_dir) == before, "something new was written next to or inside the run"
    return lines[0]


# ---- model.json ------------------------------------------------------------------------------------------

def _edit_meta(run_dir, edit):
    path = run_dir / "model.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def edit(meta):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _drop(*keys):
    def edit(meta):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return edit


META_DAMAGE = {
    "missing preprocess": (_drop("preprocess"), "no 'preprocess' entry"),
    "missing class_names": (_drop("class_names"), "no 'class_names' entry"),
    "missing model": (_drop("model"), "no 'model' entry"),
    "absurd num_classes": (_set("model", "args", "num_classes", 10**12), "'model.args.num_classes' is 1000000000000"),
    "num_classes disagrees": (_set("model", "args", "num_classes", 7), "lists 10 names"),
    "absurd input_size": (_set("model", "args", "input_size", 10**6), "'model.args.input_size' is 1000000"),
    "model name not a string": (_set("model", "name", ["mlp"]), "'model.name' must be a model name"),
    "args not an object": (_set("model", "args", "hidden=32"), "'model.args' must be a JSON object"),
    "class names not strings": (_set("class_names", list(range(10))), "'class_names' must be a list of strings"),
    "no class names": (_set("class_names", []), "'class_names' has 0 entries"),
    "input_shape of text": (_set("input_shape", ["1", "8", "8"]), "'input_shape[0]' must be a whole number"),
    "input_shape too short": (_set("input_shape", [1, 8]), "'input_shape' must be [channels, height, width]"),
    "too many channels": (_set("input_shape", [7, 8, 8]), "'input_shape[0]' is 7; expected 1..4"),
    "mean of the wrong length": (_set("preprocess", "mean", [0.1, 0.2, 0.3]), "'preprocess.mean' must be a list of 1"),
    "std of text": (_set("preprocess", "std", ["wide"]), "'preprocess.std[0]' must be a finite number"),
    "std NaN": (_set("preprocess", "std", [float("nan")]), "'preprocess.std[0]' must be a finite number"),
    "preprocess without channels": (_drop("preprocess", "channels"), "'preprocess' has no 'channels'"),
    "channel counts disagree": (_set("preprocess", "channels", 3), "'preprocess.mean' must be a list of 3"),
    "huge input_size": (_set("preprocess", "input_size", 10**9), "'preprocess.input_size' is 1000000000"),
    "arrays file outside the run": (_set("preprocess", "arrays_file", "../../../etc/passwd"),
                                    "'preprocess.arrays_file'"),
    "boolean as a count": (_set("preprocess", "channels", True), "'preprocess.channels' must be a whole number"),
}


@pytest.mark.parametrize("case", sorted(META_DAMAGE))
def test_a_model_json_that_breaks_the_schema_is_refused(run_copy, capsys, case):
    edit, message = META_DAMAGE[case]
    _edit_meta(run_copy, edit)
    with pytest.raises(RunError) as caught:
        read_meta(run_copy)
    assert message in str(caught.value), str(caught.value)
    assert str(caught.value).startswith(str(run_copy / "model.json") + ": ")
    assert str(caught.value).endswith("the run directory is damaged (train it again, or restore model.json)")
    assert message in _fails_in_one_line(capsys, run_copy, "evaluate")


@pytest.mark.parametrize("command", ["evaluate", "resume"])
@pytest.mark.parametrize("content, message", [
    (b"{not json", "corrupt JSON"),
    (b"", "corrupt JSON"),
    (b"\xff\xfe\x00garbage", "corrupt JSON"),
    (b"[1, 2, 3]", "'model.json' must be a JSON object"),
    (b"null", "'model.json' must be a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "model.json"),  # nested too deep for the parser
    (b'{"model": {"name": "mlp", "args": {"num_classes": 1' + b"0" * 5000 + b"}}}", "corrupt JSON"),
])
def test_a_model_json_that_is_not_a_json_object_is_refused(run_copy, capsys, command, content, message):
    (run_copy / "model.json").write_bytes(content)
    line = _fails_in_one_line(capsys, run_copy, command)
    assert message in line and "the run directory is damaged" in line


def test_absurd_num_classes_is_refused_on_resume_before_building_the_model(run_copy, capsys):
    _edit_meta(run_copy, _set("model", "args", "num_classes", 10**12))
    _edit_meta(run_copy, _set("class_names", ["c"] * 3))
    assert "'model.args.num_classes' is 1000000000000" in _fails_in_one_line(capsys, run_copy, "resume")


def test_a_huge_model_json_is_refused_unread(run_copy, capsys):
    (run_copy / "model.json").write_bytes(b" " * (11 * 1024**2) + b"{}")
    assert "more than the 10,485,760 bytes" in _fails_in_one_line(capsys, run_copy, "evaluate")


def test_the_intact_run_still_reads(run_copy):
    meta = read_meta(run_copy)
    assert meta["model"]["name"] == "mlp" and len(meta["class_names"]) == meta["model"]["args"]["num_classes"]
    state = load_checkpoint(run_copy / "checkpoint.safetensors")
    assert state["loop"]["epoch"] >= 1 and set(state["model"]) == set(load_weights(run_copy / "best.safetensors"))


# ---- weights and checkpoint ------------------------------------------------------------------------------

def _rewrite_checkpoint(run_dir, edit):
    """Apply ``edit(skeleton, tensors)`` to the run's checkpoint and write it back as valid safetensors
    (an edit that returns a string replaces the skeleton's JSON text with it)."""
    path = run_dir / "checkpoint.safetensors"
    tensors = load_bytes(path.read_bytes())
    with safe_open(str(path), framework="pt") as file:
        skeleton = json.loads(file.metadata()[CHECKPOINT_KEY])
    replaced = edit(skeleton, tensors)
    text = replaced if isinstance(replaced, str) else json.dumps(skeleton)
    path.write_bytes(save_bytes(tensors, metadata={CHECKPOINT_KEY: text}))


def _first_model_tensor(skeleton):
    return next(iter(skeleton["model"]))


def _missing_tensor(skeleton, tensors):
    skeleton["model"][_first_model_tensor(skeleton)] = {"__tensor__": "state.model.nowhere"}


def _tensor_dropped(skeleton, tensors):
    del tensors[skeleton["model"][_first_model_tensor(skeleton)]["__tensor__"]]


def _loop(key, value):
    def edit(skeleton, tensors):
        skeleton["loop"][key] = value

    return edit


def _section(key, value):
    def edit(skeleton, tensors):
        skeleton[key] = value

    return edit


CHECKPOINT_DAMAGE = {
    "a reference to a missing tensor": (_missing_tensor, "refers to tensor 'state.model.nowhere'"),
    "a tensor dropped from the file": (_tensor_dropped, "which the file does not hold"),
    "text as the epoch": (_loop("epoch", "three"), "'loop.epoch' must be a whole number >= 0, found 'three'"),
    "a negative step": (_loop("step", -5), "'loop.step' must be a whole number >= 0, found -5"),
    "a float batch": (_loop("batch", 1.5), "'loop.batch' must be a whole number"),
    "text as the loss sum": (_loop("loss_sum", "lots"), "'loop.loss_sum' must be a finite number"),
    "an infinite time": (_loop("seconds", float("inf")), "'loop.seconds' must be a finite number"),
    "a list as the meter": (_loop("meter", [1, 2]), "'loop.meter' must be a tensor"),
    "no loop": (lambda s, t: s.pop("loop"), "no 'loop' entry"),
    "loop a list": (_section("loop", [1, 2, 3]), "'loop' must be a dict"),
    "text as the best figure": (_section("best", {"value": "high", "epoch": 1}), "'best.value' must be a number"),
    "a negative best epoch": (_section("best", {"value": 0.5, "epoch": -1}), "'best.epoch' must be a whole number"),
    "text as the schedule's steps": (lambda s, t: s["schedule"].update(steps="many"), "'schedule.steps'"),
    "no optimizer": (lambda s, t: s.pop("optimizer"), "no 'optimizer' entry"),
    "a broken python random state": (lambda s, t: s["rng"].update(python=[3, [1, 2], None]), "'rng.python'"),
    "a broken numpy random state": (lambda s, t: s["rng"].update(numpy=[1, 2]), "'rng.numpy'"),
    "an object array": (lambda s, t: s.update(extra={"__ndarray__": [1], "dtype": "O"}), "not a valid array"),
    "bad item pairs": (lambda s, t: s.update(extra={"__items__": [[[1], 2]]}), "pairs with plain keys"),
    "not JSON": (lambda s, t: "{oops", "corrupt checkpoint metadata"),
    "nested too deep": (lambda s, t: "[" * 100_000 + "]" * 100_000, "corrupt checkpoint metadata"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_skeleton_is_refused_on_resume(run_copy, capsys, case):
    edit, message = CHECKPOINT_DAMAGE[case]
    _rewrite_checkpoint(run_copy, edit)
    with pytest.raises(RunError) as caught:
        load_checkpoint(run_copy / "checkpoint.safetensors")
    assert message in str(caught.value), str(caught.value)
    line = _fails_in_one_line(capsys, run_copy, "resume")
    assert message in line and "checkpoint.safetensors" in line


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[: len(raw) // 2], "corrupt or truncated"),
    (lambda raw: raw[:5], "no header"),
    (lambda raw: (2**63).to_bytes(8, "little") + raw[8:], "its header declares 9,223,372,036,854,775,808 bytes"),
    (lambda raw: raw[:8] + b"\xff" * 20 + raw[28:], "corrupt header"),
    (lambda raw: b"garbage" * 100, "not a readable safetensors file"),
    (lambda raw: b"", "no header"),
])
@pytest.mark.parametrize("victim", ["checkpoint", "best"])
def test_a_truncated_or_garbled_safetensors_file_is_refused(run_copy, capsys, damage, message, victim):
    path = run_copy / f"{victim}.safetensors"
    path.write_bytes(damage(path.read_bytes()))
    line = _fails_in_one_line(capsys, run_copy, "resume" if victim == "checkpoint" else "evaluate")
    assert message in line and path.name in line


def test_a_checkpoint_without_striate_metadata_is_refused(run_copy, capsys):
    path = run_copy / "checkpoint.safetensors"
    path.write_bytes(save_bytes({"w": torch.zeros(2)}))
    assert "not a striate checkpoint" in _fails_in_one_line(capsys, run_copy, "resume")


def test_an_oversized_skeleton_is_refused(run_copy, capsys, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "MAX_SKELETON_CHARS", 100)
    assert "more than the 100" in _fails_in_one_line(capsys, run_copy, "resume")


def test_weights_that_do_not_fit_the_model_are_one_line(run_copy, capsys):
    path = run_copy / "best.safetensors"
    path.write_bytes(save_bytes({name: torch.zeros(1) for name in load_weights(path)}))
    assert "do not fit" in _fails_in_one_line(capsys, run_copy, "evaluate")
