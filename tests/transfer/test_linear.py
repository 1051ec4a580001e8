"""The LIBLINEAR formulations are the ones named; fitted classifiers reload to identical predictions."""

import numpy as np
import pytest

from striate.errors import ConfigError
from striate.transfer.linear import FORMULATIONS, fit_linear, load_linear, make_estimator, save_linear


def _codes(classes=3, per_class=30, width=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, width))
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + rng.normal(0, 1, (len(labels), width)) * 2 + 10, labels


@pytest.mark.parametrize("name, loss, dual", [("l2r_l1loss_svc_dual", "hinge", True),
                                              ("l2r_l2loss_svc_dual", "squared_hinge", True),
                                              ("l2r_l2loss_svc", "squared_hinge", False)])
def test_svc_formulations_are_the_named_ones(name, loss, dual):
    from sklearn.svm import LinearSVC

    estimator = make_estimator(name, C=0.5)
    assert isinstance(estimator, LinearSVC)
    params = estimator.get_params()
    assert (params["penalty"], params["loss"], params["dual"], params["C"]) == ("l2", loss, dual, 0.5)


def test_logistic_regression_is_liblinears_l2_primal():
    from sklearn.linear_model import LogisticRegression

    inner = make_estimator("l2r_lr", C=2.0).estimator
    assert isinstance(inner, LogisticRegression)
    params = inner.get_params()
    assert (params["solver"], params["dual"], params["C"]) == ("liblinear", False, 2.0)
    # L2: 'penalty' before scikit-learn 1.8, 'l1_ratio' 0 (no L1 part) from 1.8 on
    assert params["penalty"] == "l2" or (params["penalty"] == "deprecated" and params["l1_ratio"] == 0.0)


def test_unknown_formulation_names_the_nearest():
    with pytest.raises(ConfigError, match="l2r_lr"):
        make_estimator("l2r_lrr")


@pytest.mark.parametrize("name", sorted(FORMULATIONS))
def test_fit_matches_the_estimator_and_reloads_identically(name, tmp_path):
    codes, labels = _codes()
    classifier = fit_linear(codes, labels, name, ["a", "b", "c"], info={"layer": "features"})
    # the stored arrays score exactly as scikit-learn's own fitted estimator on the standardised codes
    estimator = make_estimator(name, classifier.C).fit((codes - classifier.mean) / classifier.scale, labels)
    np.testing.assert_array_equal(classifier.predict(codes), estimator.predict((codes - classifier.mean) / classifier.scale))
    assert classifier.accuracy(codes, labels) > 0.8
    np.testing.assert_allclose(classifier.mean, codes.mean(axis=0))
    save_linear(classifier, tmp_path / "clf")
    again = load_linear(tmp_path / "clf")
    np.testing.assert_array_equal(again.decision_function(codes), classifier.decision_function(codes))
    assert (again.formulation, again.C, again.class_names, again.info["layer"]) == (name, classifier.C, ["a", "b", "c"],
                                                                                     "features")
    assert not list((tmp_path / "clf").glob("*.pkl"))


def test_two_classes_and_cross_validated_C():
    codes, labels = _codes(classes=2, seed=3)
    classifier = fit_linear(codes, labels, "l2r_lr")
    assert classifier.coef.shape == (1, codes.shape[1])
    assert set(classifier.info["cv_accuracy"]) == {"0.001", "0.01", "0.1", "1.0", "10.0"}
    best = max(classifier.info["cv_accuracy"], key=classifier.info["cv_accuracy"].get)
    assert classifier.C == float(best)
    assert classifier.accuracy(codes, labels) > 0.8
