"""Evaluating a run on other data matches the data's classes to the run's by name: another order is
renumbered, a renamed class is mapped with --class-map, and a class the run does not know is refused
in one line (exit 2) instead of printing an accuracy over unlike classes or a traceback."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from striate.cli.main import main
from striate.session.open import match_classes, parse_class_map
from striate.errors import DataError

NAMES = [str(digit) for digit in range(10)]


def _digits_npz(path, names, order=None):
    """The 8x8 digits as an .npz written with plain NumPy, class ``k`` stored as label ``order[k]``."""
    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    order = np.arange(10) if order is None else np.asarray(order)
    stored_names = [None] * 10
    for digit, label in enumerate(order):
        stored_names[label] = names[digit]
    np.savez(path, x_test=images[:600], y_test=order[bunch.target[:600]], x_train=images[600:],
             y_train=order[bunch.target[600:]], class_names=np.array(stored_names))
    return path


def _evaluate(capsys, run, data, *extra):
    code = main(["evaluate", str(run), "--data", str(data), "--json", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_same_classes_in_another_order_give_the_same_figures(capsys, tmp_path, tiny_run):
    plain = _digits_npz(tmp_path / "plain.npz", NAMES)
    shuffled = _digits_npz(tmp_path / "shuffled.npz", NAMES, order=[3, 7, 0, 9, 1, 5, 2, 8, 4, 6])
    code, out, err = _evaluate(capsys, tiny_run, plain)
    assert code == 0, err
    expected = json.loads(out)
    code, out, err = _evaluate(capsys, tiny_run, shuffled)
    assert code == 0, err
    got = json.loads(out)
    assert got["accuracy"] == expected["accuracy"] and got["confusion"] == expected["confusion"]
    assert expected["accuracy"] > 0.5  # a trained run: a wrong numbering would show


def test_a_class_the_run_does_not_know_is_refused_and_a_map_fixes_it(capsys, tmp_path, tiny_run):
    renamed = _digits_npz(tmp_path / "renamed.npz", ["zero", *NAMES[1:]])
    code, out, err = _evaluate(capsys, tiny_run, renamed)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and out == "", err
    assert "zero" in lines[0] and "--class-map" in lines[0] and "Traceback" not in err
    code, out, err = _evaluate(capsys, tiny_run, renamed, "--class-map", "zero=0")
    assert code == 0, err
    plain_code, plain_out, _ = _evaluate(capsys, tiny_run, _digits_npz(tmp_path / "plain.npz", NAMES))
    assert json.loads(out)["accuracy"] == json.loads(plain_out)["accuracy"]


def test_more_classes_than_the_run_is_refused_not_a_traceback(capsys, tmp_path, tiny_run):
    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255 / 16)), 0, 255).astype(np.uint8)
    labels = bunch.target.copy()
    labels[:50] = 10  # an eleventh class
    np.savez(tmp_path / "eleven.npz", x_test=images[:600], y_test=labels[:600], x_train=images[600:],
             y_train=labels[600:])
    code, out, err = _evaluate(capsys, tiny_run, tmp_path / "eleven.npz")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "10" in err, err


@pytest.mark.parametrize("text, message", [("zero", "not data_name=run_name"), ("=0", "not data_name=run_name")])
def test_a_malformed_class_map_is_one_line(text, message):
    with pytest.raises(DataError, match=message):
        parse_class_map(text)


def test_a_map_to_a_class_the_run_lacks_is_refused():
    with pytest.raises(DataError, match="not classes of the run"):
        match_classes(None, ["a"], ["b"], {"a": "c"}, "data")
