"""`striate plot PICTURE RUN`: each picture written and decodable; bad input is one line and exit 2."""

import json

import pytest
from visualize_helpers import decode_png

from striate.cli.main import main

PICTURE_ARGS = {
    "curves": [],
    "filters": [],
    "feature-maps": ["--layers", "features.conv1,features.conv2", "--image", "3"],
    "top-patches": ["--layer", "features.conv1", "--channels", "0,2"],
    "saliency": ["--image", "1"],
    "deconvnet": ["--layer", "features.conv1", "--channels", "1,3"],
    "guided-backprop": ["--image", "2"],
    "occlusion": ["--image", "4", "--size", "3", "--stride", "2"],
    "confusion": ["--count", "3"],
    "top-losses": ["--count", "6"],
}


@pytest.mark.parametrize("picture", list(PICTURE_ARGS))
def test_each_picture_is_written_and_decodes(tiny_cnn_run, tmp_path, picture, capsys):
    out = tmp_path / f"{picture}.png"
    assert main(["plot", picture, str(tiny_cnn_run), "--out", str(out), *PICTURE_ARGS[picture]]) == 0
    width, height = decode_png(out)
    assert width > 100 and height > 100
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    if picture == "confusion":
        assert len([line for line in printed.splitlines() if "predicted as" in line]) <= 3


def test_monitors_picture_from_recorded_monitors(tiny_cnn_run, tmp_path):
    run = tmp_path / "with-monitors"
    run.mkdir()
    for name in ("model.json", "config.yaml"):
        (run / name).write_bytes((tiny_cnn_run / name).read_bytes())
    records = [{"epoch": e, "train_loss": 1.0 / e, "monitors": {"features.conv1": {"grad_norm": 0.1 * e}}} for e in (1, 2, 3)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["plot", "monitors", str(run)]) == 0
    decode_png(run / "monitors.png")


@pytest.mark.parametrize("arguments, message", [
    (["monitors"], "recorded no layer monitors"),
    (["top-patches", "--layer", "features.conv1", "--channels", "0,99"], "channels 0..3"),
    (["top-patches", "--channels", "a,b"], "comma-separated integers"),
    (["saliency", "--image", "100000"], "out of range"),
    (["filters", "--layer", "features.conv3"], "did you mean"),
    (["deconvnet", "--layer", "head"], "not channel maps"),
    (["deconvnet", "--layer", "features.conv1", "--channels", "7"], "channels 0..3"),
    (["guided-backprop", "--layer", "features.flatten", "--channels", "0"], "not channel maps"),
    (["guided-backprop", "--channels", "0"], "needs the layer"),
    (["guided-backprop", "--image", "-1"], "out of range"),
    (["occlusion", "--image", "100000"], "out of range"),
    (["occlusion", "--size", "9"], "1..8 pixels"),
    (["occlusion", "--stride", "0"], "at least 1"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(tiny_cnn_run, tmp_path, capsys, arguments, message):
    out = tmp_path / "picture.png"
    assert main(["plot", arguments[0], str(tiny_cnn_run), "--out", str(out), *arguments[1:]]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("striate plot: error:") and message in error and "\n" not in error
    assert not out.exists()


def test_missing_run_is_one_line(tmp_path, capsys):
    assert main(["plot", "curves", str(tmp_path / "absent")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_the_pixel_pictures_are_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    text = capsys.readouterr().out
    for picture in ("deconvnet", "guided-backprop", "occlusion", "--size", "--stride"):
        assert picture in text
