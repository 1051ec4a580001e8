"""The advice reads figures that mean what they say: the eval-mode training error, a validation error below
it explained, and a class left behind flagged with what to try (issue 18)."""

import json
import shutil

import pytest

from striate.diagnose import advice as adv

# Full MNIST after two epochs: validation error 2.2%; the running training accuracy of the epoch (dropout on,
# weights still moving) is 88.9%, the final weights in eval mode on the training sample 98.4%.
MNIST_TWO_EPOCHS = [
    {"epoch": 1, "train_loss": 0.61, "train_accuracy": 0.80, "train_eval_accuracy": 0.972, "val_accuracy": 0.970,
     "val_loss": 0.10},
    {"epoch": 2, "train_loss": 0.35, "train_accuracy": 0.889, "train_eval_accuracy": 0.984, "val_accuracy": 0.978,
     "val_loss": 0.07},
]


def _running_only(history):
    return [{key: value for key, value in entry.items() if not key.startswith("train_eval")} for entry in history]


def test_the_eval_mode_figure_turns_a_false_high_bias_into_the_truth():
    old = adv.advise_history(_running_only(MNIST_TWO_EPOCHS))
    assert old.verdict in (adv.HIGH_BIAS, adv.NOT_CONVERGED)  # what the running figure says
    assert old.figures["variance"] == pytest.approx(-0.089)
    new = adv.advise_history(MNIST_TWO_EPOCHS)
    assert new.figures["train_error"] == pytest.approx(0.016)
    assert new.figures["running_train_error"] == pytest.approx(0.111)
    assert new.verdict not in (adv.HIGH_BIAS, adv.NOT_CONVERGED, adv.BOTH)
    assert "a bigger or deeper model" not in new.remedies


@pytest.mark.parametrize("eval_mode", [False, True])
def test_a_negative_variance_is_never_printed_bare(eval_mode):
    history = MNIST_TWO_EPOCHS if eval_mode else _running_only(MNIST_TWO_EPOCHS)
    if eval_mode:  # a training sample that came out a little worse than validation
        history = [dict(entry, train_eval_accuracy=0.974) for entry in history]
    advice = adv.advise_history(history)
    assert advice.figures["variance"] < 0
    text = adv.format_advice(advice)
    assert "variance -" not in text and "below the training error" in text
    assert ("running average" in text) != eval_mode  # the explanation fits the figure used
    assert advice.figures["variance_note"].startswith("validation error below training error")


def test_a_positive_variance_reads_as_before():
    history = [dict(entry, train_eval_accuracy=1.0, val_accuracy=0.9) for entry in MNIST_TWO_EPOCHS]
    text = adv.format_advice(adv.advise_history(history))
    assert "variance 10.0 points" in text and "below the training error" not in text


# ---- a class left behind ---------------------------------------------------------------------------------------
HEALTHY_CURVES = [dict(entry, train_loss=0.05, train_eval_accuracy=0.99, val_accuracy=0.98) for entry in MNIST_TWO_EPOCHS]
BALANCED = {"per_class_accuracy": [0.97, 0.95, 0.96, 0.94, 0.98], "per_class_count": [100, 100, 100, 100, 100]}
MINORITY = {"per_class_accuracy": [0.97, 0.95, 0.53, 0.94, 0.98], "per_class_count": [100, 100, 15, 100, 100]}
NAMES = ["cat", "dog", "fox", "owl", "yak"]


def test_a_minority_class_at_low_recall_is_flagged_with_the_remedies():
    assert adv.advise_history(HEALTHY_CURVES).verdict == adv.HEALTHY
    advice = adv.advise_history(HEALTHY_CURVES, classes=MINORITY, names=NAMES)
    assert advice.verdict == adv.WEAK_CLASS != adv.HEALTHY
    [weak] = advice.figures["weak_classes"]
    assert weak["class"] == "fox" and weak["images"] == 15 and weak["others_median_recall"] == pytest.approx(0.96)
    text = adv.format_advice(advice)
    assert "class 'fox' recall 53.0%" in text and "a minority: 15 images against a median of 100" in text
    assert "optim.class_balance inverse_frequency" in text and "balanced sampling" in text


def test_balanced_healthy_figures_are_not_flagged():
    advice = adv.advise_history(HEALTHY_CURVES, classes=BALANCED, names=NAMES)
    assert advice.verdict == adv.HEALTHY and "weak_classes" not in advice.figures


def test_the_rule_needs_both_a_ratio_and_a_gap_and_enough_images():
    def flagged(recall, count=100):
        classes = {"per_class_accuracy": [0.95, 0.95, recall, 0.95], "per_class_count": [100, 100, count, 100]}
        return [entry["class"] for entry in adv.weak_classes(classes)]

    assert flagged(0.70) == ["2"]  # below 0.75 x 95% = 71.25% and 25 points below
    assert flagged(0.75) == []  # 20 points below, but above 0.75 x the median
    assert flagged(0.50, count=5) == []  # too few images to judge
    assert adv.weak_classes({"per_class_accuracy": [0.30, 0.39, 0.40]}) == []  # far below in ratio, not in points
    absent = {"per_class_accuracy": [0.9, 0.0, 0.9], "per_class_count": [50, 0, 50]}  # a class missing from the split
    assert adv.weak_classes(absent) == []


def test_a_weak_class_joins_another_verdict_and_names_its_confusion():
    confusion = [[90, 0, 10], [0, 95, 5], [35, 5, 60]]  # class 2: 60% recall, mostly mistaken for class 0
    classes = {"per_class_accuracy": [0.90, 0.95, 0.60], "confusion": confusion}
    history = [dict(entry, train_eval_accuracy=1.0, val_accuracy=0.85) for entry in MNIST_TWO_EPOCHS]
    advice = adv.advise_history(history, classes=classes, names=["a", "b", "c"])
    assert advice.verdict == adv.HIGH_VARIANCE
    assert advice.remedies[: len(adv.REMEDIES[adv.HIGH_VARIANCE])] == adv.REMEDIES[adv.HIGH_VARIANCE]
    assert "mostly mistaken for 'a'" in adv.format_advice(advice)
    assert not any("class_balance" in remedy for remedy in advice.remedies)  # as many images as the others


def test_advise_run_reads_the_test_figures_and_class_names(tiny_run, tmp_path, capsys):
    from striate.cli.main import main

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    summary = json.loads((run / "summary.json").read_text())
    recall = [0.95] * 10
    recall[3] = 0.4
    summary["test"]["per_class_accuracy"] = summary["test"]["per_class_recall"] = recall
    summary["test"]["per_class_count"] = [18] * 9 + [10]
    (run / "summary.json").write_text(json.dumps(summary))
    names = json.loads((run / "model.json").read_text())["class_names"]
    advice = adv.advise_run(run)
    assert [entry["class"] for entry in advice.figures["weak_classes"]] == [names[3]]
    assert main(["advise", str(run)]) == 0
    assert f"class '{names[3]}' recall 40.0%" in capsys.readouterr().out
