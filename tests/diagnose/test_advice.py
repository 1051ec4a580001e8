"""The advice gives the right verdict on synthetic curves of each kind."""

import json
import math

import pytest

from striate.diagnose import advice as adv
from striate.errors import RunError


def curves(train_loss, train_accuracy, val_accuracy, val_loss=None):
    val_loss = val_loss or [loss * 1.1 for loss in train_loss]
    return [{"epoch": i + 1, "train_loss": tl, "train_accuracy": ta, "val_loss": vl, "val_accuracy": va}
            for i, (tl, ta, vl, va) in enumerate(zip(train_loss, train_accuracy, val_loss, val_accuracy))]


CASES = {
    adv.HEALTHY: curves([1.0, 0.3, 0.1, 0.08, 0.079], [0.7, 0.9, 0.97, 0.985, 0.99], [0.7, 0.9, 0.96, 0.975, 0.98]),
    adv.HIGH_VARIANCE: curves([1.0, 0.3, 0.05, 0.02, 0.0199], [0.7, 0.9, 0.99, 0.999, 1.0],
                              [0.6, 0.7, 0.8, 0.82, 0.82], val_loss=[1.2, 0.9, 0.8, 0.9, 1.1]),
    adv.HIGH_BIAS: curves([2.0, 1.5, 1.2, 1.19, 1.19], [0.3, 0.5, 0.6, 0.62, 0.62], [0.3, 0.5, 0.6, 0.61, 0.61]),
    adv.BOTH: curves([2.0, 1.5, 1.2, 1.19, 1.19], [0.3, 0.5, 0.7, 0.72, 0.72], [0.3, 0.4, 0.5, 0.5, 0.5]),
    adv.NOT_CONVERGED: curves([2.0, 1.6, 1.3, 1.0, 0.8], [0.3, 0.45, 0.55, 0.65, 0.72], [0.3, 0.45, 0.55, 0.64, 0.71]),
    adv.DIVERGED: curves([2.3, 1.5, 4.0, 30.0, float("nan")], [0.1, 0.5, 0.3, 0.1, 0.1], [0.1, 0.5, 0.2, 0.1, 0.1]),
}


@pytest.mark.parametrize("verdict", list(CASES))
def test_verdict_on_synthetic_curves(verdict):
    advice = adv.advise_history(CASES[verdict])
    assert advice.verdict == verdict, advice.reasons
    assert advice.remedies == adv.REMEDIES[verdict]


def test_diverged_without_nan_when_the_loss_only_grows():
    advice = adv.advise_history(curves([2.3, 2.5, 3.0], [0.1, 0.1, 0.1], [0.1, 0.1, 0.1]))
    assert advice.verdict == adv.DIVERGED and "grew" in advice.reasons[0]


def test_figures_behind_the_verdict():
    advice = adv.advise_history(CASES[adv.HIGH_VARIANCE])
    assert math.isclose(advice.figures["train_error"], 0.0)
    assert math.isclose(advice.figures["variance"], 0.18)
    text = adv.format_advice(advice)
    assert text.startswith("diagnosis: high variance") and "variance 18.0 points" in text and "more dropout" in text


def test_target_error_changes_what_counts_as_bias():
    high_bias = CASES[adv.HIGH_BIAS]
    assert adv.advise_history(high_bias, target_error=0.36).verdict == adv.HEALTHY


def test_high_variance_remedies_follow_the_course():
    remedies = " ".join(adv.REMEDIES[adv.HIGH_VARIANCE])
    for words in ("more data", "augmentation", "regularisation", "dropout", "smaller model"):
        assert words in remedies
    remedies = " ".join(adv.REMEDIES[adv.HIGH_BIAS])
    for words in ("bigger or deeper model", "train longer", "less regularisation"):
        assert words in remedies


def test_read_history_of_a_run(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(entry) for entry in CASES[adv.HEALTHY]) + "\n")
    assert adv.advise_run(tmp_path).verdict == adv.HEALTHY


def test_missing_or_empty_metrics_are_clear_errors(tmp_path):
    with pytest.raises(RunError, match="no metrics.jsonl"):
        adv.read_history(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(RunError, match="empty"):
        adv.read_history(tmp_path)
