"""Bad settings on the command line: exit code 2, one short line on stderr naming the key, no traceback,
and no run directory left behind (the settings and the data are checked before it is made)."""

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main
from striate.errors import DataError
from striate.tasks import ClassificationTask
from striate.training.config import Config

# a fast run, should a bad setting wrongly be accepted
FAST = ["--data.source", "digits", "--model", "mlp", "--model.args", "{hidden: [8]}", "--data.input_size", "8",
        "--epochs", "1", "--progress", "off"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(code: int, err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and len(lines[0]) <= 500, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def assert_no_run_directory(out_dir) -> None:
    assert not out_dir.exists() or not any(out_dir.iterdir()), list(out_dir.iterdir())


@pytest.mark.parametrize("flags, key", [
    (["--lr", "nan"], "optim.lr"),
    (["--lr", "inf"], "optim.lr"),
    (["--lr", "0"], "optim.lr"),
    (["--lr", "-0.1"], "optim.lr"),
    (["--optim.lr", ".nan"], "optim.lr"),
    (["--momentum", "-1"], "optim.momentum"),
    (["--batch_size", "0"], "optim.batch_size"),
    (["--batch_size", "-1"], "optim.batch_size"),
    (["--epochs", "0"], "optim.epochs"),
    (["--epochs", "-1"], "optim.epochs"),
    (["--weight_decay", "-1"], "optim.weight_decay"),
    (["--warmup_epochs", "3"], "optim.warmup_epochs"),
    (["--betas", "0.9,1.5"], "optim.betas"),
    (["--data.input_size", "0"], "data.input_size"),
    (["--val_fraction", "0.6", "--test_fraction", "0.5"], "data.val_fraction"),
    (["--folds", "1"], "data.folds"),
    (["--run.tensorboard", "yes"], "run.tensorboard"),
    (["--monitor", "on"], "run.monitor"),
    (["--seed", "-1"], "run.seed"),
])
def test_bad_setting_exits_2_in_one_line(capsys, tmp_path, flags, key):
    out_dir = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", *FAST, "--out_dir", out_dir, *flags)
    assert_refused(code, err, "striate train: error:", key)
    assert_no_run_directory(out_dir)


def test_epochs_minus_one_is_a_problem_of_epochs_not_warmup(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", *FAST, "--warmup_epochs", "1", "--epochs", "-1", "--out_dir", tmp_path)
    assert_refused(code, err, "optim.epochs is -1", ">= 1")
    assert "warmup" not in err


@pytest.mark.parametrize("text", ["", "\n  \n", "# nothing yet\n"])
def test_empty_recipe_is_refused(capsys, tmp_path, text):
    recipe = tmp_path / "empty.yaml"
    recipe.write_text(text)
    out_dir = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", recipe, *FAST, "--out_dir", out_dir)
    assert_refused(code, err, f"recipe {recipe} is empty")
    assert_no_run_directory(out_dir)


def test_bad_value_in_a_recipe_names_the_recipe(capsys, tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("optim:\n  lr: .nan\n  epochs: 1\n")
    code, _, err = run_cli(capsys, "train", recipe, *FAST[:-4], "--out_dir", tmp_path / "runs")
    assert_refused(code, err, str(recipe), "optim.lr is nan")
    assert_no_run_directory(tmp_path / "runs")


@pytest.mark.parametrize("top_k", ["0", "-5"])
def test_predict_top_k_below_one_is_refused(capsys, tmp_path, tiny_run, top_k):
    image = tmp_path / "a.png"
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(image)
    code, out, err = run_cli(capsys, "predict", tiny_run, image, "--top-k", top_k)
    assert_refused(code, err, "striate predict: error:", f"--top-k is {top_k}", ">= 1")
    assert out == ""


def test_predict_top_k_above_the_classes_is_capped(capsys, tmp_path, tiny_run):
    image = tmp_path / "a.png"
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(image)
    code, out, _ = run_cli(capsys, "predict", tiny_run, image, "--top-k", "50", "--json")
    assert code == 0 and '"class"' in out and out.count('"class"') == 10  # digits: 10 classes


def _one_class_folder(root):
    (root / "cat").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index in range(12):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(root / "cat" / f"{index}.png")
    return root


def _one_class_npz(path, label: int):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 255, (30, 8, 8), dtype=np.uint8), y=np.full(30, label, dtype=np.int64))
    return path


@pytest.mark.parametrize("make, loader", [
    (lambda tmp: _one_class_folder(tmp / "cats"), "device"),
    (lambda tmp: _one_class_folder(tmp / "cats"), "streaming"),
    (lambda tmp: _one_class_npz(tmp / "one.npz", 0), "device"),
    (lambda tmp: _one_class_npz(tmp / "three.npz", 3), "device"),  # labels 0..3 named, only 3 present
])
def test_single_class_data_is_refused(capsys, tmp_path, make, loader):
    data = make(tmp_path)
    out_dir = tmp_path / "runs"
    code, _, err = run_cli(capsys, "train", *FAST, "--data", data, "--data.loader", loader, "--out_dir", out_dir)
    assert_refused(code, err, "a classifier needs at least two classes", f"{data} has 1")
    assert_no_run_directory(out_dir)


def test_single_class_is_refused_by_the_task(tmp_path):
    config = Config()
    config.data.source, config.data.path, config.data.input_size = "npz", str(_one_class_npz(tmp_path / "one.npz", 0)), 8
    with pytest.raises(DataError, match=r"a classifier needs at least two classes; .*one\.npz has 1 \('0'\)"):
        ClassificationTask.read(config.data, config.optim)
    config.data.source, config.data.path, config.data.classes = "digits", None, [3]
    with pytest.raises(DataError, match=r"data\.source digits has 1 after data\.classes \[3\].*keep two or more"):
        ClassificationTask.read(config.data, config.optim)


def test_predict_a_folder_predicts_every_image_in_it(capsys, tmp_path, tiny_run):
    folder = tmp_path / "new"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    names = ["a.png", "b.jpg", "sub/c.png"]
    for name in names:
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    code, out, err = run_cli(capsys, "predict", tiny_run, folder, "--json")
    assert code == 0, err
    import json

    predicted = json.loads(out)
    assert [item["image"] for item in predicted] == [str(folder / name) for name in names]
    alone = json.loads(run_cli(capsys, "predict", tiny_run, folder / "sub" / "c.png", "--json")[1])
    assert [t["class"] for t in alone[0]["top"]] == [t["class"] for t in predicted[2]["top"]]
    assert [t["probability"] for t in alone[0]["top"]] == pytest.approx([t["probability"] for t in predicted[2]["top"]],
                                                                         abs=1e-5)  # batched with others


def test_predict_a_folder_without_images_is_refused(capsys, tmp_path, tiny_run):
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(capsys, "predict", tiny_run, tmp_path / "empty")
    assert_refused(code, err, "no image files")
