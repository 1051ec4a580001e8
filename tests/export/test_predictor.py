"""The Predictor gives 'striate predict' answers for every kind of input, in batches, from many threads."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from striate.cli.main import main
from striate.data import load_source
from striate.data.images import load_image, to_network_input
from striate.errors import DataError
from striate.export import Predictor
from striate.session import load_run_model


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """Six real digits (8x8) saved as PNG, plus one as .npy and one scaled up to 40x40 JPEG."""
    folder = tmp_path_factory.mktemp("digits")
    images = load_source("digits")["train"].images[:6, 0].numpy()
    paths = []
    for index, image in enumerate(images):
        paths.append(folder / f"digit{index}.png")
        Image.fromarray(image).save(paths[-1])
    np.save(folder / "digit.npy", images[0])
    Image.fromarray(images[1]).resize((40, 40)).save(folder / "big.jpg", quality=95)
    return [*paths, folder / "digit.npy", folder / "big.jpg"]


def test_predictor_equals_striate_predict(tiny_run, digit_files, capsys):
    assert main(["predict", str(tiny_run), *map(str, digit_files), "--top-k", "4", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    answers = Predictor.from_run(tiny_run).predict(digit_files, top_k=4)
    assert [p["image"] for p in printed] == list(map(str, digit_files))
    for row, top in zip(printed, answers):
        assert [t["class"] for t in row["top"]] == [t["class"] for t in top]
        assert np.allclose([t["probability"] for t in row["top"]], [t["probability"] for t in top], atol=1e-6)


def test_predictor_matches_the_model_run_by_hand(tiny_run, digit_files):
    model, meta = load_run_model(tiny_run)
    images = [load_image(path, 1) for path in digit_files]
    with torch.no_grad():
        expected = torch.softmax(model(to_network_input(images, meta["preprocess"])), 1)
    probabilities = Predictor.from_run(tiny_run).probabilities(digit_files)
    assert torch.allclose(probabilities, expected, atol=1e-6)
    top = Predictor.from_run(tiny_run).predict(digit_files, top_k=1)
    assert [t[0]["class"] for t in top] == [meta["class_names"][i] for i in expected.argmax(1).tolist()]


def test_arrays_pil_images_tensors_and_bytes_give_the_same_answers(tiny_run, digit_files):
    predictor = Predictor.from_run(tiny_run)
    pixels = [np.array(Image.open(path)) for path in digit_files[:6]]
    by_path = predictor.probabilities(digit_files[:6])
    for items in (pixels, [Image.fromarray(p) for p in pixels], [torch.from_numpy(p) for p in pixels],
                  [path.read_bytes() for path in digit_files[:6]]):
        assert torch.allclose(predictor.probabilities(items), by_path, atol=1e-6)


def test_batching_does_not_change_answers(tiny_run, digit_files):
    whole = Predictor.from_run(tiny_run, batch_size=64).probabilities(digit_files)
    in_pairs = Predictor.from_run(tiny_run, batch_size=2).probabilities(digit_files)
    assert torch.allclose(whole, in_pairs, atol=1e-6)
    assert torch.allclose(whole.sum(1), torch.ones(len(digit_files)), atol=1e-5)


def test_many_threads_share_one_predictor(tiny_run, digit_files):
    predictor = Predictor.from_run(tiny_run)
    serial_top = predictor.predict(digit_files, top_k=3)
    serial_layers = predictor.explain(digit_files[0])["layers"]

    def work(index):
        if index % 2:
            return predictor.predict(digit_files, top_k=3)
        return predictor.explain(digit_files[0])["layers"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(40)))
    for index, result in enumerate(results):
        if index % 2:
            assert result == serial_top
        else:
            assert [name for name, _ in result] == [name for name, _ in serial_layers]
            assert all(torch.equal(a, b) for (_, a), (_, b) in zip(result, serial_layers))
    assert not any(module._forward_hooks for module in predictor.model.modules())  # every hook removed


def test_explain_reports_every_drawn_layer(tiny_run, digit_files):
    predictor = Predictor.from_run(tiny_run)
    result = predictor.explain(digit_files[0], top_k=2)
    names = [name for name, _ in result["layers"]]
    assert names == predictor.layer_names() and names[-1] == "head"
    assert result["layers"][-1][1].shape == (len(predictor.class_names),)
    assert result["input"].shape == tuple(predictor.meta["input_shape"]) and len(result["top"]) == 2


def test_bad_inputs_raise_clear_errors(tiny_run, tmp_path):
    predictor = Predictor.from_run(tiny_run)
    with pytest.raises(DataError, match="image not found"):
        predictor.predict([tmp_path / "missing.png"])
    with pytest.raises(DataError, match="cannot use a dict as an image"):
        predictor.predict([{"not": "an image"}])
    assert predictor.predict([np.zeros((8, 8), np.uint8)], top_k=99)[0].__len__() == len(predictor.class_names)
