"""striate data info / preview, train on an image folder (bad files, --skip-bad), train --folds."""

import json

import numpy as np
import pytest
from PIL import Image

from striate.cli.main import main

TINY = ["--model", "mlp", "--model.args", "{hidden: [16]}", "--epochs", "1", "--progress", "off",
        "--data.augment", "[]"]


def _folder(root, per_class=12):
    rng = np.random.default_rng(0)
    for label, name in enumerate(("dark", "light")):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            base = 60 if label == 0 else 190
            Image.fromarray((base + rng.integers(-40, 40, (10, 10, 3))).astype(np.uint8)).save(root / name / f"{index}.png")
    return root


def test_info_on_a_folder_lists_classes_balance_and_unreadable_files(tmp_path, capsys):
    root = _folder(tmp_path / "imgs", per_class=3)
    (root / "light" / "bad.jpg").write_bytes(b"nope")
    assert main(["data", "info", str(root), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    train = found["splits"]["train"]
    assert found["source"] == "folder" and train["count"] == 6 and train["classes"] == {"dark": 3, "light": 3}
    assert train["balance"] == 1.0 and train["native_sizes"] == {"10x10": 6}
    assert len(train["unreadable"]) == 1 and "bad.jpg" in train["unreadable"][0]
    assert 0.2 < train["mean"][0] < 0.6
    assert main(["data", "info", str(root)]) == 0
    assert "unreadable:" in capsys.readouterr().out


def test_info_on_a_keypoints_csv(tmp_path, capsys):
    (tmp_path / "k.csv").write_text("a_x,a_y,Image\n1,,0 1 2 3\n2,3,4 5 6 7\n")
    assert main(["data", "info", str(tmp_path / "k.csv"), "--json"]) == 0
    train = json.loads(capsys.readouterr().out)["splits"]["train"]
    assert train["missing_targets"] == {"a_x": 0, "a_y": 1} and train["complete_rows"] == 1


def test_preview_writes_a_png_grid(tmp_path, capsys):
    out = tmp_path / "grid.png"
    code = main(["data", "preview", "recipes/lenet5-mnist.yaml", "--out", str(out), "--samples", "2",
                 "--variants", "3", "--data.source", "digits", "--data.input_size", "8", "--data.augment",
                 "[hflip, {rotate: {degrees: 30}}]"])
    assert code == 0 and "wrote" in capsys.readouterr().out
    with Image.open(out) as image:
        # 2 rows (samples) x 4 columns (original + 3 variants) of 8x8 images enlarged 8 times, 2-pixel gaps
        assert image.size == (4 * 66 + 2, 2 * 66 + 2) and image.mode == "RGB"


def test_download_rejects_unknown_extra_flags(capsys):
    assert main(["data", "info", ".", "--foo", "1"]) == 2
    assert "only 'data preview' takes recipe keys" in capsys.readouterr().err


def test_train_on_a_folder_stops_before_training_on_bad_files(tmp_path, capsys):
    root = _folder(tmp_path / "imgs")
    (root / "dark" / "broken.png").write_bytes(b"\x89PNG broken")
    runs = tmp_path / "runs"
    args = ["train", "--data", str(root), "--data.input_size", "8", "--out_dir", str(runs), *TINY]
    assert main(args) == 2
    assert "broken.png" in capsys.readouterr().err and not runs.exists()
    assert main(args + ["--skip-bad"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    meta = json.loads(next(runs.glob("*/model.json")).read_text())
    assert meta["class_names"] == ["dark", "light"] and meta["input_shape"] == [3, 8, 8]


def test_train_with_folds_reports_mean_and_spread(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["train", "--folds", "2", "--data.source", "digits", "--data.input_size", "8", "--out_dir", str(runs),
                 "--name", "cv", *TINY])
    assert code == 0
    out = capsys.readouterr().out
    assert "over 2 folds" in out and "+-" in out
    report = json.loads((runs / "cv-crossval.json").read_text())
    assert report["folds"] == 2 and len(report["val_accuracy"]["values"]) == 2
    assert sorted(p.name for p in runs.iterdir()) == ["cv-crossval.json", "cv-fold1", "cv-fold2"]
    configs = [(runs / f"cv-fold{k}" / "config.yaml").read_text() for k in (1, 2)]
    assert "fold: 0" in configs[0] and "fold: 1" in configs[1]


@pytest.mark.slow
@pytest.mark.needs_data
def test_train_end_to_end_on_the_cifar10_jpeg_folder(shared_data, tmp_path, capsys):
    """striate train --data <cifar10-jpeg>/ --data.max_per_class 25: a small CNN on a subset of the real folder."""
    import tarfile

    with tarfile.open(shared_data / "cifar10-jpeg" / "cifar10-jpeg.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.isdir() or m.name.rsplit("/", 1)[-1][:3] in ("000", "001", "002")]
        tar.extractall(tmp_path / "cifar", members=members, filter="data")
    root = next(p.parent for p in (tmp_path / "cifar").rglob("train") if p.is_dir())
    runs = tmp_path / "runs"
    code = main(["train", "--data", str(root), "--model", "lenet5", "--data.input_size", "32", "--epochs", "2",
                 "--data.max_per_class", "25", "--data.augment", "[hflip, {crop: {padding: 4}}]",
                 "--out_dir", str(runs), "--progress", "off", "--name", "cifar"])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((runs / "cifar" / "model.json").read_text())
    assert len(meta["class_names"]) == 10 and meta["input_shape"] == [3, 32, 32]
    summary = json.loads((runs / "cifar" / "summary.json").read_text())
    assert summary["test_count"] > 0 and 0.0 <= summary["test_accuracy"] <= 1.0


def test_streaming_training_matches_device_training(tmp_path, capsys):
    """data.loader: streaming (files decoded by workers per batch) trains exactly like the in-memory loader."""
    root = _folder(tmp_path / "imgs")
    histories = {}
    for loader in ("device", "streaming"):
        runs = tmp_path / loader
        assert main(["train", "--data", str(root), "--data.input_size", "8", "--out_dir", str(runs), "--name", "r",
                     "--data.loader", loader, "--data.workers", "0", *TINY[:-2], "--epochs", "2",
                     "--data.augment", "[hflip, {crop: {padding: 1}}]"]) == 0
        histories[loader] = [json.loads(line) for line in (runs / "r" / "metrics.jsonl").read_text().splitlines()]
    for device, streaming in zip(histories["device"], histories["streaming"]):
        assert device["train_loss"] == streaming["train_loss"] and device["val_accuracy"] == streaming["val_accuracy"]
    assert main(["train", "--data", str(root), "--data.loader", "disk", "--out_dir", str(tmp_path / "x"), *TINY]) == 2
    assert "expected one of ['device', 'streaming']" in capsys.readouterr().err
