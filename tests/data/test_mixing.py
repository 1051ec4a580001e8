"""MixUp, CutMix and random erasing: the mixed images and their weight, the loss of mixed targets by hand, the
labels through the loaders and the training step, refusal outside classification, a short run that learns."""

import functools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from striate.data import DeviceLoader, ImageSet
from striate.data.augment import build_augment, label_mixing
from striate.data.mixing import CutMix, MixedTargets, MixUp, Mixing, sample_beta
from striate.data.preview import augmented_rows
from striate.errors import ConfigError
from striate.training.loop import train_step
from striate.training.mixing import mixed_loss


def _mix(method, count=8, size=10, seed=0):
    images = torch.arange(1.0, count + 1).view(count, 1, 1, 1).expand(count, 3, size, size) / count  # one grey each
    labels = torch.arange(count)  # label i for image i: the second labels name the partners
    mixed, targets = Mixing([method])(images, labels, torch.Generator().manual_seed(seed))
    first, second, weight = targets.mix
    return images, mixed, first, second, weight


def test_mixup_blends_each_image_with_its_partner():
    images, mixed, first, second, weight = _mix(MixUp(alpha=1.0))
    assert torch.equal(first, torch.arange(8)) and sorted(second.tolist()) == list(range(8))
    assert 0 < float(weight) < 1
    assert torch.allclose(mixed, weight * images + (1 - weight) * images[second], atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_cutmix_pastes_one_box_and_weighs_by_what_is_kept(seed):
    images, mixed, _, second, weight = _mix(CutMix(alpha=1.0), seed=seed)
    for index in range(len(images)):
        if int(second[index]) == index:  # paired with itself: nothing visible changes
            continue
        pasted = (mixed[index, 0] == images[second[index], 0, 0, 0]) & (mixed[index, 0] != images[index, 0, 0, 0])
        kept = mixed[index, 0] == images[index, 0, 0, 0]
        assert torch.all(pasted | kept)
        rows, cols = torch.nonzero(pasted, as_tuple=True)
        if len(rows):  # the pasted pixels fill a box
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert int(box) == len(rows)
        assert float(weight) == pytest.approx(1 - len(rows) / 100)


def test_beta_draws_have_the_right_mean_and_spread():
    for alpha in (0.2, 1.0, 3.0):
        draws = sample_beta(alpha, 20_000, torch.Generator().manual_seed(0), "cpu")
        assert draws.min() >= 0 and draws.max() <= 1 and not draws.isnan().any()
        assert float(draws.mean()) == pytest.approx(0.5, abs=0.01)
        assert float(draws.var()) == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.05)


def test_the_loss_of_mixed_targets_by_hand():
    outputs = torch.randn(6, 4)
    first, second, weight = torch.tensor([0, 1, 2, 3, 0, 1]), torch.tensor([3, 3, 0, 1, 2, 0]), torch.tensor(0.3)
    targets = MixedTargets.of(first, second, weight)
    log_p = outputs.log_softmax(dim=1)
    rows = torch.arange(6)
    by_hand = -(0.3 * log_p[rows, first] + 0.7 * log_p[rows, second]).mean()
    assert torch.allclose(mixed_loss(F.cross_entropy, outputs, targets), by_hand, atol=1e-6)
    smoothing = 0.1  # label smoothing smooths each of the two targets
    smoothed = lambda labels: -((1 - smoothing) * log_p[rows, labels] + smoothing * log_p.mean(dim=1))  # noqa: E731
    by_hand = (0.3 * smoothed(first) + 0.7 * smoothed(second)).mean()
    loss = functools.partial(F.cross_entropy, label_smoothing=smoothing)
    assert torch.allclose(mixed_loss(loss, outputs, targets), by_hand, atol=1e-6)
    assert torch.equal(mixed_loss(F.cross_entropy, outputs, first), F.cross_entropy(outputs, first))


def test_mixed_targets_read_as_the_dominant_labels_and_keep_their_mix_when_split():
    targets = MixedTargets.of(torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 7, 8]), torch.tensor(0.7))
    assert targets.tolist() == [1, 2, 3, 4] and len(targets) == 4
    assert int((torch.tensor([1, 0, 3, 0]) == targets).sum()) == 2  # a meter counts hits on the dominant labels
    halves = targets.tensor_split(2)  # as DDP's ShardedLoader splits a batch
    assert [half.mix[1].tolist() for half in halves] == [[5, 6], [7, 8]]
    assert targets[1:].mix[0].tolist() == [2, 3, 4] and targets.to("cpu").mix[2] == 0.7
    assert MixedTargets.of(torch.tensor([1]), torch.tensor([5]), torch.tensor(0.2)).tolist() == [5]


def test_the_training_step_scores_mixed_targets():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    images, outputs_before = torch.randn(5, 4), None
    targets = MixedTargets.of(torch.tensor([0, 1, 2, 0, 1]), torch.tensor([2, 2, 1, 1, 0]), torch.tensor(0.4))
    with torch.no_grad():
        outputs_before = model(images)
    first, second, _ = targets.mix
    expected = 0.4 * F.cross_entropy(outputs_before, first) + 0.6 * F.cross_entropy(outputs_before, second)

    class Task:
        loss = staticmethod(F.cross_entropy)

    figures = train_step(model, images, targets, torch.optim.SGD(model.parameters(), lr=0.1), Task())
    assert torch.allclose(figures["loss"], expected, atol=1e-6)


def test_the_device_loader_yields_mixed_targets_reproducibly():
    data = ImageSet(torch.randint(0, 256, (20, 1, 6, 6), dtype=torch.uint8), torch.arange(20) % 4)
    augment = build_augment(["hflip", {"mixup": {"alpha": 0.4}}, "cutmix"])
    batches = [list(DeviceLoader(data, 8, [0.5], [0.25], shuffle=True, seed=3, augment=augment)) for _ in range(2)]
    for (images, targets), (again, targets_again) in zip(*batches):
        assert isinstance(targets, MixedTargets) and torch.equal(images, again)
        assert all(torch.equal(a, b) for a, b in zip(targets.mix, targets_again.mix))
    plain = list(DeviceLoader(data, 8, [0.5], [0.25], shuffle=True, seed=3, augment=build_augment(["hflip"])))
    assert not isinstance(plain[0][1], MixedTargets)


def test_the_streaming_loader_mixes_as_the_device_loader_does(tmp_path):
    import numpy as np
    from PIL import Image

    from striate.data import StreamingLoader, load_source

    for label, name in enumerate(("a", "b")):
        (tmp_path / name).mkdir()
        for index in range(4):
            pixels = np.random.default_rng(label * 10 + index).integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{index}.png")
    augment = build_augment(["hflip", "cutmix"])
    data = load_source("folder", str(tmp_path), input_size=8)["train"]
    device = DeviceLoader(data, 4, [0.0], [1.0], shuffle=True, seed=2, augment=augment)
    streaming = StreamingLoader.from_folder(tmp_path, size=8, batch_size=4, normalize=lambda x: x, shuffle=True,
                                            seed=2, augment=augment, workers=0)
    for (images, targets), (images_too, targets_too) in zip(device, streaming):
        assert torch.equal(images, images_too)
        assert all(torch.equal(a, b) for a, b in zip(targets.mix, targets_too.mix))


def test_mixing_settings_and_tasks_that_refuse_them():
    assert label_mixing(["hflip", {"cutmix": {"alpha": 1.0}}, "mixup"]) == ["cutmix", "mixup"]
    with pytest.raises(ConfigError, match=r"mixup': alpha is -1; expected a number in"):
        build_augment([{"mixup": {"alpha": -1}}])
    with pytest.raises(ConfigError, match="did you mean 'cutmix'"):
        build_augment(["cutmx"])
    with pytest.raises(ConfigError, match="twice"):
        build_augment(["mixup", "mixup"])
    from striate.tasks.dense import SegmentationTask
    from striate.training.config import Config

    config = Config()
    config.data.augment = ["hflip", "cutmix"]
    with pytest.raises(ConfigError, match="data.augment cutmix mixes pairs of images .* data.task is segmentation"):
        SegmentationTask.check_settings(config, False)


def test_preview_shows_mixed_images():
    images = (torch.arange(4).view(4, 1, 1, 1) * 60).expand(4, 1, 8, 8).to(torch.uint8)
    rows = augmented_rows(images, build_augment([{"mixup": {"alpha": 1.0}}]), variants=2)
    assert rows.shape == (4, 3, 1, 8, 8) and not torch.equal(rows[:, 1], rows[:, 0])


# ---- random erasing -----------------------------------------------------------------------------------------
def test_erased_boxes_keep_their_area_and_aspect_in_range():
    augmenter = build_augment([{"erase": {"p": 1.0}}])
    boxes = augmenter.draw((400, 3, 64, 64), torch.Generator().manual_seed(0))[0]["boxes"]
    top, left, height, width = boxes.T
    assert (height > 0).all()  # p = 1 and a fitting box is always found at this size
    assert (top + height <= 64).all() and (left + width <= 64).all() and (top >= 0).all() and (left >= 0).all()
    # whole pixels: a side is within half a pixel of the drawn one
    share = height * width / 64**2
    assert share.min() >= 0.02 * (1 - 1 / 8) ** 2 and share.max() <= 0.33 * (1 + 1 / 8) ** 2
    aspect = height / width
    assert aspect.min() >= 0.3 * 0.85 and aspect.max() <= 3.3 / 0.85
    assert math.log(aspect.max() / aspect.min()) > 2  # the range is really used


def test_erase_fills_and_leaves_masks_alone():
    images, masks = torch.rand(8, 3, 16, 16), torch.ones(8, 1, 16, 16, dtype=torch.long)
    for value in (0.0, "random", "mean"):
        augmenter = build_augment([{"erase": {"p": 1.0, "value": value}}], {"mean": [0.1, 0.2, 0.3]})
        draws = augmenter.draw(images.shape, torch.Generator().manual_seed(1))
        out, out_masks, _ = augmenter.apply(images, draws, masks)
        assert torch.equal(out_masks, masks) and not torch.equal(out, images)
        changed = (out != images).any(dim=1)
        if value == "mean":
            assert torch.allclose(out[0][:, changed[0]], torch.tensor([[0.1], [0.2], [0.3]]))
        if value == 0.0:
            assert (out[0][:, changed[0]] == 0).all()
    with pytest.raises(ConfigError, match="value is 'noise'"):
        build_augment([{"erase": {"value": "noise"}}])
    with pytest.raises(ConfigError, match="area is"):
        build_augment([{"erase": {"area": [0.5, 0.1]}}])


def test_a_short_run_with_cutmix_learns_digits(tmp_path):
    import striate

    run = striate.train(model="mlp", data="digits", epochs=2, input_size=8, progress="off", batch_size=32, lr=0.1,
                        out_dir=str(tmp_path), **{"model.args": {"hidden": [32]}, "data.augment": ["cutmix"]})
    assert all(math.isfinite(epoch["train_loss"]) for epoch in run.history)
    assert run.summary["test_accuracy"] > 0.5  # chance is 0.1
