"""The commands end to end on the tiny run: features, transfer linear + predict, finetune, compare."""

import json

import numpy as np
import pytest
import torch

from striate.cli.main import main


def test_features_file_holds_the_layers_codes_with_labels(tiny_run, tmp_path, capsys):
    out = tmp_path / "codes.npz"
    assert main(["features", str(tiny_run), "--layer", "fc1", "--classes", "5,6,7", "--out", str(out)]) == 0
    assert "saved to" in capsys.readouterr().out
    saved = np.load(out, allow_pickle=False)
    assert list(saved["class_names"]) == ["5", "6", "7"]
    assert set(np.unique(saved["train_labels"])) == {0, 1, 2}
    assert saved["train_codes"].shape[1] == 32 and len(saved["test_codes"]) == len(saved["test_labels"]) > 0
    safetensors_out = tmp_path / "codes.safetensors"
    assert main(["features", str(tiny_run), "--layer", "fc1", "--classes", "5,6,7", "--out", str(safetensors_out)]) == 0
    from safetensors.numpy import load_file

    np.testing.assert_array_equal(load_file(safetensors_out)["train_codes"], saved["train_codes"])
    assert main(["features", str(tiny_run), "--layer", "nope", "--out", str(tmp_path / "x.npz")]) == 2
    assert not (tmp_path / "x.npz").exists()


def test_linear_classifier_dir_predicts_like_the_saved_arrays(tiny_run, tmp_path, capsys):
    folder = tmp_path / "clf"
    assert main(["transfer", "linear", "--from", str(tiny_run), "--formulation", "l2r_l1loss_svc_dual",
                 "--C", "0.1", "--out", str(folder)]) == 0
    info = json.loads((folder / "classifier.json").read_text())
    assert info["formulation"] == "l2r_l1loss_svc_dual" and info["C"] == 0.1 and info["test_accuracy"] > 0.5
    image = tmp_path / "digit.npy"
    from striate.data import load_source

    digits = load_source("digits")["train"]
    np.save(image, digits.images[0, 0].numpy())
    capsys.readouterr()
    assert main(["predict", str(folder), str(image), "--json", "--top-k", "2"]) == 0
    predicted = json.loads(capsys.readouterr().out)[0]["top"][0]["class"]
    # the same prediction from the arrays directly
    from striate.data.images import load_image, to_network_input
    from striate.session import load_run_model
    from striate.transfer.linear import load_linear

    classifier = load_linear(folder)
    model, meta = load_run_model(tiny_run)
    with torch.no_grad():
        codes = model.forward_features(to_network_input([load_image(image, 1)], meta["preprocess"])).double().numpy()
    assert predicted == classifier.class_names[int(classifier.predict(codes)[0])]


@pytest.mark.slow
def test_finetune_and_compare_commands(tiny_run, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["transfer", "finetune", "--from", str(tiny_run), "--classes", "5,6,7,8,9", "--freeze", "fc1",
                 "--epochs", "1", "--run.out_dir", str(runs)]) == 0
    # the source was trained with progress off: the fine-tune shows its epochs all the same, as train does
    assert "epoch   1/1" in capsys.readouterr().out
    run_dir = next(runs.iterdir())
    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["class_names"] == ["5", "6", "7", "8", "9"] and meta["model"]["args"]["num_classes"] == 5
    assert main(["transfer", "compare", "--from", str(tiny_run), "--classes", "5,6,7,8,9", "--epochs", "1",
                 "--out", str(tmp_path / "cmp")]) == 0
    assert "transfer compare: (a) fine-tune everything: training 1 epochs" in capsys.readouterr().err
    rows = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"]
    assert [row["strategy"][:3] for row in rows] == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    assert all(0 <= row["accuracy"] <= 1 and row["trainable_parameters"] > 0 for row in rows)
    assert rows[2]["trainable_parameters"] == 5 * 32 + 5  # 5 one-vs-rest rows on 32-d codes
