"""The CLI end to end: train, evaluate, predict, models, --version, and every bad-input case
(one clear line, exit code 2, no traceback, no run directory left behind)."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import striate
from striate.cli.main import main
from striate.data import write_idx

TINY = ["--model", "mlp", "--model.args.hidden", "[16]", "--data.source", "digits", "--data.input_size", "8",
        "--epochs", "1", "--progress", "lines"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_and_models(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and striate.__version__ in capsys.readouterr().out
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "lenet5" in out and "mlp" in out


def test_train_evaluate_predict(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "train", *TINY, "--out_dir", tmp_path, "--name", "r")
    assert code == 0
    assert "epoch   1/1" in out and "test accuracy" in out and f"run saved to {tmp_path / 'r'}" in out
    code, out, _ = run_cli(capsys, "evaluate", tmp_path / "r", "--json")
    figures = json.loads(out)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert code == 0 and figures["accuracy"] == summary["test_accuracy"]
    assert sum(map(sum, figures["confusion"])) == figures["count"] == summary["test_count"]
    code, out, _ = run_cli(capsys, "evaluate", tmp_path / "r")
    assert code == 0 and "confusion counts" in out and "accuracy" in out

    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", np.full((16, 16), 200, dtype=np.uint8))
    code, out, _ = run_cli(capsys, "predict", tmp_path / "r", tmp_path / "a.png", tmp_path / "b.npy", "--json", "--top-k", "2")
    predictions = json.loads(out)
    assert code == 0 and [len(p["top"]) for p in predictions] == [2, 2]
    assert predictions[0]["top"] == predictions[1]["top"]  # same image content, different size and format
    assert predictions[0]["top"][0]["probability"] >= predictions[0]["top"][1]["probability"]
    code, out, _ = run_cli(capsys, "predict", tmp_path / "r", tmp_path / "a.png")
    assert code == 0 and "top 3" in out


def _mnist_folder(folder, corrupt=None):
    folder.mkdir()
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte.gz": rng.integers(0, 255, (40, 28, 28), dtype=np.uint8),
             "train-labels-idx1-ubyte.gz": (np.arange(40) % 10).astype(np.uint8),
             "t10k-images-idx3-ubyte.gz": rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
             "t10k-labels-idx1-ubyte.gz": (np.arange(20) % 10).astype(np.uint8)}
    for name, array in files.items():
        write_idx(folder / name, array)
    if corrupt == "magic":
        (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04" + bytes(100)))
    elif corrupt == "truncated":
        raw = (folder / "t10k-images-idx3-ubyte.gz").read_bytes()
        (folder / "t10k-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    elif corrupt == "labels":
        write_idx(folder / "t10k-labels-idx1-ubyte.gz", (np.arange(19) % 10).astype(np.uint8))
    return folder


def test_train_on_an_idx_folder(capsys, tmp_path):
    folder = _mnist_folder(tmp_path / "mnist")
    code, out, _ = run_cli(capsys, "train", "--model", "mlp", "--data", folder, "--data.input_size", "28",
                           "--epochs", "1", "--progress", "off", "--out_dir", tmp_path / "runs", "--name", "m")
    assert code == 0 and "on 20 images" in out


@pytest.mark.parametrize("case, argv, message", [
    ("missing data", ["--data", "{tmp}/absent"], "data path not found"),
    ("bad magic", ["--data", "{magic}"], "bad magic number"),
    ("truncated idx", ["--data", "{truncated}"], "corrupt or truncated"),
    ("labels do not match", ["--data", "{labels}"], "20 images but t10k-labels-idx1-ubyte.gz holds 19 labels"),
    ("unknown model", ["--model", "lenet"], "did you mean 'lenet5'"),
    ("unknown key", ["--optim.lrr", "0.1"], "did you mean 'optim.lr'"),
    ("bad value", ["--epochs", "many"], "expected int"),
    ("bad yaml", ["{bad_yaml}"], "not valid YAML"),
    ("unknown recipe key", ["{bad_key_recipe}"], "did you mean 'optim.momentum'"),
    ("missing recipe", ["{tmp}/none.yaml"], "recipe not found"),
])
def test_train_bad_input(capsys, tmp_path, case, argv, message):
    places = {"tmp": tmp_path}
    for kind in ("magic", "truncated", "labels"):
        places[kind] = _mnist_folder(tmp_path / kind, corrupt=kind)
    (tmp_path / "bad.yaml").write_text("optim: {lr: [1, 2\n")
    (tmp_path / "key.yaml").write_text("optim:\n  momentun: 0.9\n")
    places.update(bad_yaml=tmp_path / "bad.yaml", bad_key_recipe=tmp_path / "key.yaml")
    argv = [a.format(**places) for a in argv]
    recipe = [argv.pop(0)] if not argv[0].startswith("--") else []
    code, out, err = run_cli(capsys, "train", *recipe, *argv, "--out_dir", tmp_path / "runs", "--progress", "off")
    assert code == 2, case
    assert message in err and err.startswith("striate train: error:") and err.count("\n") == 1
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_predict_and_evaluate_bad_input(capsys, tmp_path, tiny_run):
    (tmp_path / "not-an-image.png").write_bytes(b"this is text")
    code, out, err = run_cli(capsys, "predict", tiny_run, tmp_path / "not-an-image.png")
    assert code == 2 and "cannot decode this image" in err and out == ""
    code, _, err = run_cli(capsys, "predict", tiny_run, tmp_path / "absent.png")
    assert code == 2 and "image not found" in err
    code, _, err = run_cli(capsys, "evaluate", tmp_path / "no-run")
    assert code == 2 and "run directory not found" in err


def test_console_entry_point_prints_one_line_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "striate.cli.main", "train", "--model", "lenet",
                             "--out_dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "striate train: error: unknown model 'lenet' (did you mean 'lenet5'?); "
        f"run 'striate models' to list the {len(striate.list_models())} registered models"]
    assert not any(tmp_path.iterdir())


def test_a_reader_that_goes_away_stops_the_output_quietly():
    # as in 'striate models | head -1': the pipe is closed before the command prints anything
    process = subprocess.Popen([sys.executable, "-m", "striate.cli.main", "models"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err
