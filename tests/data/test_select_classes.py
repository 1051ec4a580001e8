"""data.classes keeps a subset of the classes, relabelled in the order given, in every split."""

import pytest
import torch

from striate.data import ImageSet
from striate.data.sources import select_classes
from striate.errors import DataError


def _splits():
    images = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1)
    labels = torch.tensor([0, 1, 2, 3, 2, 1])
    return {"train": ImageSet(images, labels, ["zero", "one", "two", "three"]),
            "test": ImageSet(images[:3], labels[:3], ["zero", "one", "two", "three"])}


def test_classes_are_kept_and_relabelled_in_order():
    kept = select_classes(_splits(), [2, "one"])
    assert kept["train"].class_names == ["two", "one"]
    assert kept["train"].labels.tolist() == [1, 0, 0, 1]
    assert kept["train"].images.flatten().tolist() == [1, 2, 4, 5]
    assert kept["test"].labels.tolist() == [1, 0]
    assert select_classes(_splits(), [])["train"].num_classes == 4


def test_unknown_or_repeated_classes_fail():
    with pytest.raises(DataError, match="no class 'tow'"):
        select_classes(_splits(), ["tow"])
    with pytest.raises(DataError, match="twice"):
        select_classes(_splits(), [1, "one"])


def test_recipe_key_reaches_the_splits(tiny_cfg):
    from striate.session import prepare

    tiny_cfg.data.classes = [7, 3]
    splits = prepare(tiny_cfg).splits
    assert splits["train"].class_names == ["7", "3"]
    assert set(torch.unique(splits["val"].labels).tolist()) == {0, 1}
