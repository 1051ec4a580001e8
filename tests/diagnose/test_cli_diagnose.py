"""striate check, lr-find, advise, and the advice printed by train."""

import json

import pytest
import yaml

from striate.cli.main import main
from striate.training.config import config_to_dict


@pytest.fixture
def recipe(tiny_cfg, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config_to_dict(tiny_cfg)))
    return path


def test_check_prints_a_verdict_per_check(recipe, capsys):
    assert main(["check", str(recipe)]) == 0
    out, err = capsys.readouterr()
    assert "check: gradient check (3/7) ...\ncheck: gradient check: PASS in " in err  # progress as each check runs
    rows = [line for line in out.splitlines() if " PASS " in line or " WARN " in line or " FAIL " in line]
    names = ["label balance", "NaN / Inf in inputs", "normalisation", "train/test overlap", "loss at init",
             "regularisation raises the loss", "gradient check", "activations at init", "gradient norms at init",
             "overfit 20 images", "learns beyond chance"]
    assert [row.split("  ")[0] for row in rows] == names
    assert all(" PASS " in row for row in rows)


def test_check_exits_1_when_a_check_fails_and_json_says_which(recipe, capsys):
    assert main(["check", str(recipe), "--optim.lr", "10000", "--json"]) == 1
    results = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert results["overfit 20 images"]["verdict"] == "fail"
    assert results["overfit 20 images"]["advice"]
    assert results["gradient check"]["verdict"] == "pass"


def test_check_accepts_a_run_directory(tiny_run, capsys):
    assert main(["check", str(tiny_run), "--details"]) == 0
    out = capsys.readouterr().out
    assert "gradient check" in out and "features.fc1.weight" in out  # the per-tensor details


def test_check_on_a_folder_that_is_not_a_run_is_one_clear_line(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a finished striate run" in err


def test_advise_a_run(tiny_run, capsys):
    assert main(["advise", str(tiny_run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("diagnosis: ") and "training error" in out and "what to try:" in out
    assert main(["advise", str(tiny_run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["figures"]["epochs"] == 2


def test_train_ends_with_the_advice(recipe, capsys):
    assert main(["train", str(recipe)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("run saved to") and lines[2].startswith("diagnosis: ")


def test_lr_find_writes_a_plot_and_suggests_a_rate(recipe, tmp_path, capsys):
    plot = tmp_path / "lr.png"
    assert main(["lr-find", str(recipe), "--steps", "60", "--start-lr", "1e-4", "--plot", str(plot), "--json"]) == 0
    out, err = capsys.readouterr()
    figures = json.loads(out)
    assert "lr-find: step 15/60" in err  # progress on stderr, stdout holds the JSON alone
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert 1e-5 < figures["suggested_lr"] < 10 and len(figures["losses"]) <= 60


def test_lr_find_bad_range_is_one_clear_line(recipe, capsys):
    assert main(["lr-find", str(recipe), "--start-lr", "1", "--end-lr", "0.1"]) == 2
    assert "start_lr < end_lr" in capsys.readouterr().err
