"""Shipped recipes by name: listed, copied (never over a file), read by load_recipe from any folder."""

import json

import pytest

from striate.cli.main import main
from striate.recipes import FOLDER, find_recipe, list_recipes
from striate.training.config import load_recipe


def test_every_shipped_recipe_is_listed_and_reads(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no recipes/ here: the names resolve to the package's files
    names = [name for name, _ in list_recipes()]
    assert len(names) == len(list(FOLDER.rglob("*.yaml"))) and "mnist-fast" in names
    for name in names:
        if not name.startswith("nets/"):
            assert load_recipe(name) is not None
            assert load_recipe(f"recipes/{name}.yaml") == load_recipe(name)


def test_a_file_in_the_folder_wins_over_a_shipped_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist-fast").write_text("optim: {epochs: 1}\n")
    assert find_recipe("mnist-fast").resolve() == tmp_path / "mnist-fast"
    assert load_recipe("mnist-fast").optim.epochs == 1


def test_copy_then_refuse_to_overwrite(capsys, tmp_path):
    assert main(["recipes", "copy", "mnist-fast", str(tmp_path)]) == 0
    assert (tmp_path / "mnist-fast.yaml").read_text() == (FOLDER / "mnist-fast.yaml").read_text()
    (tmp_path / "mnist-fast.yaml").write_text("# mine\n")
    assert main(["recipes", "copy", "mnist-fast", str(tmp_path)]) == 2
    assert (tmp_path / "mnist-fast.yaml").read_text() == "# mine\n"
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["recipes", "copy", "nope"], ["train", "nope-recipe"], ["recipes", "copy"]])
def test_unknown_recipes_are_one_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "recipe" in err[0]


def test_recipes_json(capsys):
    assert main(["recipes", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"name": "mnist-fast", "description": dict(list_recipes())["mnist-fast"]} in listed
