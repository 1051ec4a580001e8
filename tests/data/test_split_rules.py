"""The split rules every run shares: the validation floor, the labelled budget (data.train_per_class), the
reading cap (data.max_per_class), the too-small-validation note, and a path that names a source."""

import torch

from striate.data import ImageSet, make_splits, stratified_split
from striate.data.registry import cap_per_class
from striate.data.sources import source_for_path
from striate.data.splits import first_per_class, raise_to_floor, val_floor, validation_size_note


def _data(counts: list[int]) -> ImageSet:
    labels = torch.cat([torch.full((count,), label) for label, count in enumerate(counts)])
    return ImageSet(torch.arange(len(labels)).to(torch.uint8).view(-1, 1, 1, 1), labels)


def _per_class(part: ImageSet) -> list[int]:
    return torch.bincount(part.labels, minlength=part.num_classes).tolist()


def test_the_floor_raises_small_classes_and_keeps_a_split_that_has_it():
    assert [val_floor(size) for size in (4, 10, 24, 25, 10_000)] == [0, 2, 4, 5, 5]
    splits = make_splits({"train": _data([200, 40, 12])}, 0.02, 0.1, seed=0)  # 252 images: values 0..251
    assert _per_class(splits["val"])[1:] == [5, 2]  # 40 - 4 test = 36 -> min(5, 7); 12 - 1 test = 11 -> 2
    assert any("validation floor: " in note for note in splits.notes)
    plain = stratified_split(_data([200, 40, 12]).labels, [0.02, 0.1], seed=0)
    assert splits["test"].images.flatten().tolist() == plain[2].tolist()  # the test split is as it ever was
    assert len(splits["train"]) + len(splits["val"]) + len(splits["test"]) == 252
    big = _data([300, 300])
    train, val = stratified_split(big.labels, [0.1], seed=1)
    assert all(torch.equal(a, b) for a, b in zip(raise_to_floor(big.labels, train, val, seed=1), (train, val)))


def test_no_validation_fraction_carves_no_validation_split():
    splits = make_splits({"train": _data([30, 30])}, 0.0, 0.2, seed=0)
    assert len(splits["val"]) == 0 and len(splits["test"]) == 12


def test_train_per_class_is_a_seeded_budget_on_train_only():
    data, test = _data([50, 50, 50]), _data([10, 10, 10])
    whole = make_splits({"train": data, "test": test}, 0.2, 0.1, seed=0)
    cut = make_splits({"train": data, "test": test}, 0.2, 0.1, seed=0, train_per_class=7)
    assert _per_class(cut["train"]) == [7, 7, 7] and torch.equal(cut["val"].images, whole["val"].images)
    assert torch.equal(cut["test"].images, test.images)
    kept = set(cut["train"].images.flatten().tolist())
    assert kept <= set(whole["train"].images.flatten().tolist())
    again = make_splits({"train": data, "test": test}, 0.2, 0.1, seed=0, train_per_class=7)
    assert torch.equal(again["train"].images, cut["train"].images)
    other = first_per_class(data.labels, 7, seed=5)
    assert set(other.tolist()) != set(first_per_class(data.labels, 7, seed=0).tolist())
    assert "train: at most 7 images a class" in cut.notes[-1]
    assert _per_class(make_splits({"train": data}, 0.1, 0.1, 0, train_per_class=1000)["train"]) == [40, 40, 40]


def test_max_per_class_reads_the_first_images_of_each_class():
    data = ImageSet(torch.arange(8, dtype=torch.uint8).view(-1, 1, 1, 1), torch.tensor([1, 0, 1, 1, 0, 2, 1, 0]))
    assert cap_per_class(data, 2).images.flatten().tolist() == [0, 1, 2, 4, 5]
    assert cap_per_class(data, 0) is data


def test_validation_size_note_says_when_validation_cannot_choose_an_epoch():
    train = _data([100, 100, 100])
    assert validation_size_note({"train": train, "val": _data([20, 20, 20])}) is None
    line = validation_size_note({"train": train, "val": _data([20, 20, 19])})
    assert line.startswith("the validation split holds 59 images for 3 classes") and "too few" in line
    assert "holds 0 images" in validation_size_note({"train": train})


def test_a_data_path_that_names_a_source_reads_that_source(tmp_path):
    assert source_for_path("mnist5k", "digits") == ("digits", None, None)
    assert source_for_path("idx", None) == ("idx", None, None)
    (tmp_path / "t.csv").write_text("label,p0\n0,1\n")
    source, path, note = source_for_path("idx", str(tmp_path / "t.csv"))
    assert (source, path) == ("csv", str(tmp_path / "t.csv")) and "data.source is idx, but" in note
    assert source_for_path("csv", str(tmp_path / "t.csv")) == ("csv", str(tmp_path / "t.csv"), None)


def test_a_zero_fraction_is_said_to_carve_nothing_not_carved_at_0():
    splits = make_splits({"train": _data([30, 30]), "test": _data([5, 5])}, 0.0, 0.1, seed=0)
    assert len(splits["val"]) == 0 and len(splits["train"]) == 60
    assert "validation: none (data.val_fraction 0)" in splits.notes
    assert not any("carved" in note for note in splits.notes)
