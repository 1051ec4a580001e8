"""Imbalanced classes: honest figures (checked against scikit-learn on the same predictions), per-class loss
weights that raise a rare class's recall, and class-balanced sampling that is seeded like the shuffle."""

import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import (balanced_accuracy_score, f1_score, precision_recall_fscore_support, roc_auc_score)
from torch import nn

from striate.cli.main import main
from striate.data.dataset import ImageSet
from striate.data.loader import DeviceLoader, epoch_order
from striate.errors import ConfigError
from striate.session import open_run, train_run
from striate.tasks import ClassificationTask
from striate.tasks.task import balance_weights
from striate.training.config import Config, DataConfig, OptimConfig, validate
from striate.training.loop import evaluate, fit
from striate.training.metrics import ClassificationMeter, roc_auc


def imbalanced_images(counts: list[int], seed: int, separation: float = 0.14) -> ImageSet:
    """Grey 8 x 8 noise (mean 0.5, sd 0.2); class k is ``k * separation`` brighter in its 4 x 4 centre, so that
    the classes overlap (a classifier of 1:9 data leans to the common class)."""
    generator = torch.Generator().manual_seed(seed)
    pattern = torch.zeros(1, 8, 8)
    pattern[:, 2:6, 2:6] = 1.0
    images, labels = [], []
    for label, count in enumerate(counts):
        values = 0.5 + 0.2 * torch.randn(count, 1, 8, 8, generator=generator) + label * separation * pattern
        images.append((values.clamp(0, 1) * 255).round().to(torch.uint8))
        labels += [label] * count
    return ImageSet(torch.cat(images), torch.tensor(labels), [f"class{k}" for k in range(len(counts))])


def feed(meter: ClassificationMeter, logits: torch.Tensor, labels: torch.Tensor, batch: int = 7) -> dict:
    for start in range(0, len(labels), batch):
        meter.update(logits[start:start + batch], labels[start:start + batch])
    return meter.result()


def sklearn_figures(labels, predicted, classes: int) -> dict:
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=list(range(classes)),
                                                               zero_division=0)
    return {"per_class_precision": precision, "per_class_recall": recall, "per_class_f1": f1,
            "balanced_accuracy": balanced_accuracy_score(labels, predicted),
            "macro_f1": f1_score(labels, predicted, average="macro", zero_division=0)}


def assert_matches_sklearn(result: dict, labels: torch.Tensor, predicted: torch.Tensor, classes: int) -> None:
    expected = sklearn_figures(labels.numpy(), predicted.numpy(), classes)
    for name in ("per_class_precision", "per_class_recall", "per_class_f1"):
        assert result[name] == pytest.approx(list(expected[name]), abs=1e-12), name
    assert result["per_class_accuracy"] == result["per_class_recall"]
    assert result["balanced_accuracy"] == pytest.approx(expected["balanced_accuracy"], abs=1e-12)
    assert result["macro_f1"] == pytest.approx(expected["macro_f1"], abs=1e-12)


def test_two_class_figures_match_scikit_learn_on_a_1_to_3_test_set():
    generator = torch.Generator().manual_seed(3)
    labels = torch.tensor([1] * 30 + [0] * 90)[torch.randperm(120, generator=generator)]  # 1:3
    logits = torch.randn(120, 2, generator=generator)
    logits[:, 1] += 2.0 * labels - 0.3  # some signal, far from perfect
    logits = (logits * 4).round() / 4  # coarse scores: many ties, which the ROC AUC must average
    predicted = logits.argmax(1)
    assert 0 < int((predicted == 1).sum()) < 120 and 0.6 < float((predicted == labels).float().mean()) < 0.9
    result = feed(ClassificationMeter(2), logits, labels)
    assert_matches_sklearn(result, labels, predicted, 2)
    score = (logits[:, 1] - logits[:, 0]).numpy()
    assert len(np.unique(score)) < 60  # the ties are really there
    assert result["roc_auc"] == pytest.approx(roc_auc_score(labels.numpy(), score), abs=1e-12)
    # the softmax probability ranks alike: the same AUC as scikit-learn's on probabilities
    probability = logits.double().softmax(1)[:, 1].numpy()
    assert result["roc_auc"] == pytest.approx(roc_auc_score(labels.numpy(), probability), abs=1e-12)
    assert result["balanced_accuracy"] != pytest.approx(result["accuracy"])  # an honest figure differs


def test_a_class_never_predicted_has_precision_0_as_scikit_learn_zero_division_0():
    generator = torch.Generator().manual_seed(5)
    labels = torch.tensor([0] * 60 + [1] * 20 + [2] * 20)
    logits = torch.randn(100, 3, generator=generator)
    logits[:, 0] += 0.8 * (labels == 0)
    logits[:, 1] += 1.5 * (labels == 1)
    logits[:, 2] = -50.0  # class 2 is never predicted: precision 0/0
    predicted = logits.argmax(1)
    assert not (predicted == 2).any() and len(predicted.unique()) == 2
    result = feed(ClassificationMeter(3), logits, labels)
    assert result["per_class_precision"][2] == 0.0 and result["per_class_recall"][2] == 0.0
    assert_matches_sklearn(result, labels, predicted, 3)
    assert "roc_auc" not in result  # two classes only

    # two classes, the rare one never predicted: ROC AUC still ranks the scores
    labels2 = torch.tensor([0] * 75 + [1] * 25)
    logits2 = torch.stack([torch.full((100,), 5.0), torch.randn(100, generator=generator) + labels2], dim=1)
    result2 = feed(ClassificationMeter(2), logits2, labels2)
    assert result2["per_class_precision"][1] == 0.0
    assert_matches_sklearn(result2, labels2, logits2.argmax(1), 2)
    assert result2["roc_auc"] == pytest.approx(roc_auc_score(labels2.numpy(), (logits2[:, 1] - logits2[:, 0]).numpy()))


def test_roc_auc_edge_cases_and_ddp_totals():
    assert math.isnan(roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([True, True])))  # one side empty
    assert roc_auc(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([True, False, False])) == 0.5  # all tied
    meter = ClassificationMeter(2)
    result = feed(meter, torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]]), torch.tensor([1, 0, 0]))
    assert result["roc_auc"] == 0.5
    meter.load_totals(meter.totals())  # one process: its own counts, the scores still cover them
    assert meter.result()["roc_auc"] == 0.5
    meter.load_totals(meter.totals() * 2)  # summed over two ranks: the scores cover half; no AUC of a share
    assert math.isnan(meter.result()["roc_auc"]) and meter.result()["count"] == 6
    empty = ClassificationMeter(2).result()
    assert empty["count"] == 0 and math.isnan(empty["balanced_accuracy"]) and math.isnan(empty["roc_auc"])


# ---- class weights ------------------------------------------------------------------------------------
def test_balance_weights_by_formula():
    labels = torch.tensor([0] * 90 + [1] * 10)
    names = ["common", "rare"]
    inverse = balance_weights(OptimConfig(class_balance="inverse_frequency"), labels, names)
    assert inverse.tolist() == pytest.approx([100 / (2 * 90), 100 / (2 * 10)])
    beta = 0.99
    effective = balance_weights(OptimConfig(class_balance="effective_number", class_balance_beta=beta), labels, names)
    raw = torch.tensor([(1 - beta) / (1 - beta**90), (1 - beta) / (1 - beta**10)], dtype=torch.float64)
    assert effective.tolist() == pytest.approx((raw * 2 / raw.sum()).tolist(), rel=1e-6)  # Cui et al.: sum to C
    assert 1 < effective[1] / effective[0] < inverse[1] / inverse[0]  # milder than inverse frequency
    flat = balance_weights(OptimConfig(class_balance="effective_number", class_balance_beta=0.0), labels, names)
    assert flat.tolist() == [1.0, 1.0]
    given = balance_weights(OptimConfig(class_weights=[1, 3.5]), labels, names)
    assert given.tolist() == [1.0, 3.5]
    assert balance_weights(OptimConfig(), labels, names) is None
    absent = balance_weights(OptimConfig(class_balance="inverse_frequency"), labels, [*names, "unseen"])
    assert absent[2] == 1.0
    with pytest.raises(ConfigError, match=r"optim.class_weights has 3 values; expected one per class, 2 \('common', 'rare'\), e.g. \[1.0, 1.0\]"):
        balance_weights(OptimConfig(class_weights=[1.0, 2.0, 3.0]), labels, names)


def test_weighted_loss_is_torchs_weighted_cross_entropy_and_evaluation_stays_unweighted():
    scores, labels = torch.randn(12, 3, generator=torch.Generator().manual_seed(0)), torch.arange(12) % 3
    weights = torch.tensor([0.5, 2.0, 4.0])
    task = ClassificationTask(3, weights=weights)
    expected = nn.functional.cross_entropy(scores, labels, weight=weights)
    assert float(task.loss(scores, labels)) == pytest.approx(float(expected), rel=1e-6)
    assert float(task.evaluation_loss(scores, labels)) == pytest.approx(float(nn.functional.cross_entropy(scores, labels)))
    hinge = ClassificationTask(3, loss="hinge", weights=weights).loss(scores, labels, reduction="none")
    unweighted = ClassificationTask(3, loss="hinge").loss(scores, labels, reduction="none")
    assert torch.allclose(hinge, unweighted * weights[labels])


def _minority_recall(seed: int, balance: str = "none", sampler: str = "shuffle") -> float:
    """A linear classifier trained 6 epochs on 450:50 images, its recall of the rare class on 200:200."""
    torch.manual_seed(seed)
    train, test = imbalanced_images([450, 50], seed), imbalanced_images([200, 200], seed + 1000)
    task = ClassificationTask.build(train.class_names, DataConfig(sampler=sampler), OptimConfig(class_balance=balance),
                                    train.labels)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    normalize = lambda images: (images - 0.5) / 0.2  # noqa: E731
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    fit(model, optimizer, task.loader(train, 50, normalize, True, seed, "cpu"), None, task, epochs=6)
    return evaluate(model, task.loader(test, 400, normalize, False, 0, "cpu"), task)["per_class_recall"][1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_weights_and_balanced_sampling_raise_the_rare_class_recall(seed):
    plain = _minority_recall(seed)
    weighted = _minority_recall(seed, "inverse_frequency")
    sampled = _minority_recall(seed, sampler="balanced")
    # at 1:9 the plain classifier finds about 60% of the rare class, a balanced one about 82% (d' 2.8)
    assert weighted > plain + 0.1 and sampled > plain + 0.1, (plain, weighted, sampled)


# ---- class-balanced sampling --------------------------------------------------------------------------
def test_balanced_sampling_draws_each_class_equally_within_the_binomial_spread():
    labels = torch.tensor([0] * 700 + [1] * 250 + [2] * 50)
    data = ImageSet(torch.arange(1000).remainder(256).to(torch.uint8).view(1000, 1, 1, 1), labels, ["a", "b", "c"])
    loader = DeviceLoader(data, 64, [0.0], [1.0], shuffle=True, seed=7, sampler="balanced")
    plain = DeviceLoader(data, 64, [0.0], [1.0], shuffle=True, seed=7)
    assert len(loader) == len(plain)
    for epoch in (1, 2):
        loader.set_epoch(epoch)
        drawn = torch.cat([batch_labels for _, batch_labels in loader])
        assert len(drawn) == 1000  # the epoch keeps its length
        counts = torch.bincount(drawn, minlength=3)
        # each class ~ Binomial(1000, 1/3): within 4.5 standard deviations (a miss once in ~150,000 draws)
        spread = 4.5 * math.sqrt(1000 * (1 / 3) * (2 / 3))
        assert ((counts - 1000 / 3).abs() <= spread).all(), counts
    # the rare class's images recur; the common class's are not all visited
    order = epoch_order(1000, torch.Generator().manual_seed(0), "cpu", "balanced", labels)
    assert len(order[labels[order] == 2].unique()) <= 50 and len(order[labels[order] == 0].unique()) < 700


def test_balanced_sampling_is_seeded_by_the_epoch_like_the_shuffle():
    labels = torch.tensor([0] * 90 + [1] * 10)
    data = ImageSet(torch.arange(100).to(torch.uint8).view(100, 1, 1, 1), labels, ["a", "b"])

    def epoch_images(seed: int, epoch: int) -> torch.Tensor:
        loader = DeviceLoader(data, 16, [0.0], [1.0], shuffle=True, seed=seed, sampler="balanced")
        loader.set_epoch(epoch)  # a resumed run builds a fresh loader and sets its epoch
        return torch.cat([images.flatten() for images, _ in loader])

    assert torch.equal(epoch_images(3, 2), epoch_images(3, 2))
    assert not torch.equal(epoch_images(3, 2), epoch_images(3, 3))
    assert not torch.equal(epoch_images(3, 2), epoch_images(4, 2))
    evaluation = DeviceLoader(data, 16, [0.0], [1.0], shuffle=False, sampler="balanced")  # evaluation: in order
    assert torch.equal(torch.cat([images.flatten() for images, _ in evaluation]), torch.arange(100).float() / 255)


# ---- settings: one line each, exit 2 --------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--optim.class_balance", "inverse"], "unknown optim.class_balance 'inverse' (did you mean 'inverse_frequency'?); "
                                           "expected one of ['none', 'median_frequency', 'inverse_frequency', 'effective_number']"),
    (["--data.sampler", "balance"], "unknown data.sampler 'balance' (did you mean 'balanced'?); expected one of "
                                    "['shuffle', 'balanced']"),
    (["--optim.class_weights", "[1, 2, 3]"], "optim.class_weights has 3 values; expected one per class, 10 ('0', '1', '2', '3', '4', ...)"),
    (["--optim.class_weights", "[1.0, -2.0]"], "optim.class_weights is [1.0, -2.0]; expected numbers, each > 0"),
    (["--optim.class_weights", "[1.0, .nan]"], "optim.class_weights is [1.0, nan]; expected numbers, each > 0"),
    (["--optim.class_balance_beta", "1"], "optim.class_balance_beta is 1.0; expected a finite number in [0, 1)"),
    (["--optim.class_weights", "[1, 2]", "--optim.class_balance", "inverse_frequency"], "both set the class weights"),
    (["--optim.class_balance", "median_frequency"], "weighs the pixels of a segmentation loss by median frequency; "
                                                    "data.task is classification: use optim.class_balance "
                                                    "inverse_frequency or effective_number, or set optim.class_balance none"),
    (["--data.sampler", "balanced", "--data.task", "autoencoder", "--model", "conv_autoencoder"],
     "data.sampler balanced draws a classifier's classes equally often; data.task is autoencoder"),
])
def test_bad_balance_settings_are_one_line_errors(capsys, tmp_path, argv, message):
    code = main(["train", *argv, "--data.source", "digits", "--out_dir", str(tmp_path), "--progress", "off"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_config_built_in_python_is_checked_too():
    config = Config()
    config.optim.class_weights = [1.0, float("nan")]
    with pytest.raises(ConfigError, match="optim.class_weights is"):
        validate(config)


# ---- end to end: the weights are recorded, the figures reach summary.json and evaluate --json ------------------
def test_a_weighted_balanced_run_records_its_weights(tmp_path, tiny_cfg):
    train, test = imbalanced_images([180, 20], 0), imbalanced_images([60, 20], 1)  # 1:9 to train, 1:3 to test
    path = tmp_path / "imbalanced.npz"
    np.savez(path, x_train=train.images[:, 0].numpy(), y_train=train.labels.numpy(),
             x_test=test.images[:, 0].numpy(), y_test=test.labels.numpy())
    config = tiny_cfg
    config.data.source, config.data.path, config.data.val_fraction = "npz", str(path), 0.2
    config.optim.class_balance, config.data.sampler, config.optim.epochs = "effective_number", "balanced", 2
    summary = train_run(config)["summary"]
    run_dir = tmp_path / "runs" / "tiny"
    meta = json.loads((run_dir / "model.json").read_text())
    assert len(meta["class_weights"]) == 2 and meta["class_weights"][1] > meta["class_weights"][0]
    assert "class_balance: effective_number" in (run_dir / "config.yaml").read_text()
    assert "sampler: balanced" in (run_dir / "config.yaml").read_text()
    run = open_run(run_dir)
    assert run.task.weights.tolist() == meta["class_weights"] and run.task.sampler == "balanced"
    figures = run.evaluate()
    for name in ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc"):
        assert summary[f"test_{name}"] == figures[name], name
    assert summary["test"]["per_class_f1"] == figures["per_class_f1"] and summary["test_count"] == 80
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"val_balanced_accuracy", "val_macro_f1", "val_roc_auc"} <= set(history[-1])
