"""Linear classifiers on CNN codes: the LIBLINEAR formulations (Fan et al. 2008, JMLR 9) by name.

scikit-learn's ``LinearSVC`` and ``LogisticRegression(solver="liblinear")`` call LIBLINEAR itself;
the names below are LIBLINEAR's own solver names (``train -s N``):

    l2r_lr               -s 0  L2-regularised logistic regression (primal)
    l2r_l2loss_svc_dual  -s 1  L2-regularised L2-loss (squared hinge) SVC, dual
    l2r_l2loss_svc       -s 2  L2-regularised L2-loss SVC, primal (fast when codes outnumber features)
    l2r_l1loss_svc_dual  -s 3  L2-regularised L1-loss (hinge) SVC, dual

The codes are standardised (mean and scale measured on the training codes), C is chosen by
stratified cross-validation on the training codes only, and the fitted classifier is plain arrays
(``coef``, ``intercept``, ``mean``, ``scale``): saved as safetensors plus JSON, never a pickle.

>>> classifier = fit_linear(train_codes, train_labels, "l2r_l2loss_svc", class_names)   # doctest: +SKIP
>>> classifier.predict(test_codes)                                                      # doctest: +SKIP
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from striate.errors import ConfigError, RunError, did_you_mean
from striate.files import atomic_write_bytes, atomic_write_json
from striate.transfer.formulations import DEFAULT_FORMULATION, FORMULATIONS  # noqa: F401 (re-exported)

DEFAULT_C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
CLASSIFIER_JSON = "classifier.json"
CLASSIFIER_ARRAYS = "classifier.safetensors"


def make_estimator(formulation: str, C: float = 1.0, max_iter: int = 5000):
    """The scikit-learn estimator that runs LIBLINEAR's ``formulation`` (L2 penalty in every case)."""
    if formulation not in FORMULATIONS:
        raise ConfigError(f"unknown linear classifier '{formulation}'{did_you_mean(formulation, FORMULATIONS)}; "
                          f"expected one of {sorted(FORMULATIONS)}")
    settings = FORMULATIONS[formulation]
    if settings["estimator"] == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        # liblinear solves binary problems only: one-vs-rest, as LIBLINEAR's own multi-class mode does
        return OneVsRestClassifier(LogisticRegression(solver="liblinear", C=C, dual=False, max_iter=max_iter,
                                                      **_l2_penalty()))
    from sklearn.svm import LinearSVC

    return LinearSVC(penalty="l2", loss=settings["loss"], dual=settings["dual"], C=C, max_iter=max_iter)


def _l2_penalty() -> dict:
    """The L2 penalty of LogisticRegression: ``l1_ratio=0`` from scikit-learn 1.8 (where ``penalty`` is
    deprecated), ``penalty="l2"`` before."""
    import sklearn

    version = tuple(int(part) for part in sklearn.__version__.split(".")[:2] if part.isdigit())
    return {"l1_ratio": 0.0} if version >= (1, 8) else {"penalty": "l2"}


def _coefficients(estimator) -> tuple[np.ndarray, np.ndarray]:
    """(coef k x d, intercept k) of a fitted LinearSVC or one-vs-rest logistic regression."""
    if hasattr(estimator, "estimators_"):
        coef = np.concatenate([e.coef_ for e in estimator.estimators_])
        intercept = np.concatenate([np.ravel(e.intercept_) for e in estimator.estimators_])
        if len(estimator.estimators_) == 1:  # binary: one estimator, as in LinearSVC
            coef, intercept = coef[:1], intercept[:1]
        return coef, intercept
    return estimator.coef_, np.ravel(estimator.intercept_)


@dataclass
class LinearClassifier:
    """A fitted linear classifier on standardised codes: ``scores = ((codes - mean) / scale) @ coef.T + intercept``."""

    formulation: str
    C: float
    coef: np.ndarray  # classes x features (1 x features for two classes)
    intercept: np.ndarray  # classes (1 for two classes)
    mean: np.ndarray  # features: the training codes' mean
    scale: np.ndarray  # features: the training codes' standard deviation (1 where it is 0)
    class_names: list[str]
    info: dict = field(default_factory=dict)  # where the codes come from (run, layer, pooling) and figures

    def decision_function(self, codes: np.ndarray) -> np.ndarray:
        standardised = (np.asarray(codes, dtype=np.float64) - self.mean) / self.scale
        return standardised @ self.coef.T + self.intercept

    def predict(self, codes: np.ndarray) -> np.ndarray:
        """Class indices: the highest one-vs-rest score (the sign of the one score for two classes)."""
        scores = self.decision_function(codes)
        if scores.shape[1] == 1:
            return (scores[:, 0] > 0).astype(np.int64)
        return scores.argmax(axis=1)

    def accuracy(self, codes: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict(codes) == np.asarray(labels)).mean()) if len(labels) else float("nan")

    @property
    def num_parameters(self) -> int:
        return int(self.coef.size + self.intercept.size)


def choose_C(codes: np.ndarray, labels: np.ndarray, formulation: str, grid=DEFAULT_C_GRID, folds: int = 3,
             seed: int = 0) -> tuple[float, dict]:
    """C with the best mean accuracy in stratified ``folds``-fold cross-validation (scaler fitted per fold)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    smallest = int(np.bincount(labels).min())
    folds = max(2, min(folds, smallest))
    pipeline = make_pipeline(StandardScaler(), make_estimator(formulation))
    step = pipeline.steps[-1][0]
    search = GridSearchCV(pipeline, {f"{step}__C" if formulation != "l2r_lr" else f"{step}__estimator__C": list(grid)},
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed), scoring="accuracy")
    _quiet_fit(search, codes, labels)
    scores = {str(c): float(s) for c, s in zip(grid, search.cv_results_["mean_test_score"])}
    return float(grid[int(np.argmax(search.cv_results_["mean_test_score"]))]), scores


def _quiet_fit(estimator, codes, labels):
    """Fit, turning LIBLINEAR's convergence warnings into nothing (the figures say how well it did)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(codes, labels)


def fit_linear(codes: np.ndarray, labels: np.ndarray, formulation: str = DEFAULT_FORMULATION,
               class_names: list[str] | None = None, C: float | None = None, info: dict | None = None) -> LinearClassifier:
    """Standardise ``codes``, choose C by cross-validation (unless given) and fit ``formulation``."""
    codes, labels = np.asarray(codes, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(np.unique(labels)) < 2:
        raise ConfigError("a linear classifier needs training codes of at least two classes")
    make_estimator(formulation)  # an unknown name fails before any work
    cv_scores = {}
    if C is None:
        C, cv_scores = choose_C(codes, labels, formulation)
    mean, scale = codes.mean(axis=0), codes.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # as StandardScaler: constant features stay put
    estimator = _quiet_fit(make_estimator(formulation, C), (codes - mean) / scale, labels)
    coef, intercept = _coefficients(estimator)
    names = class_names or [str(index) for index in range(int(labels.max()) + 1)]
    return LinearClassifier(formulation, float(C), coef.astype(np.float64), intercept.astype(np.float64), mean, scale,
                            list(names), {**(info or {}), "cv_accuracy": cv_scores})


def save_linear(classifier: LinearClassifier, folder: str | Path) -> Path:
    """Write ``folder/classifier.safetensors`` (the arrays) and ``folder/classifier.json`` (the rest), atomically."""
    from safetensors.numpy import save

    folder = Path(folder)
    arrays = {name: np.ascontiguousarray(getattr(classifier, name)) for name in ("coef", "intercept", "mean", "scale")}
    atomic_write_bytes(folder / CLASSIFIER_ARRAYS, save(arrays))
    atomic_write_json(folder / CLASSIFIER_JSON, {"kind": "linear-classifier", "formulation": classifier.formulation,
                                                 "C": classifier.C, "class_names": classifier.class_names,
                                                 **classifier.info})
    return folder


def is_classifier_dir(path: str | Path) -> bool:
    return (Path(path) / CLASSIFIER_JSON).is_file()


def load_linear(folder: str | Path) -> LinearClassifier:
    """Read a classifier written by :func:`save_linear` (no code is executed)."""
    from safetensors.numpy import load

    folder = Path(folder)
    if not is_classifier_dir(folder):
        raise RunError(f"{folder} has no {CLASSIFIER_JSON}: not a classifier made by 'striate transfer linear'")
    try:
        info = json.loads((folder / CLASSIFIER_JSON).read_text())
        arrays = load((folder / CLASSIFIER_ARRAYS).read_bytes())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{folder}: cannot read the classifier ({error}); the folder is damaged") from None
    except Exception as error:  # safetensors raises its own error type on a corrupt header
        raise RunError(f"{folder / CLASSIFIER_ARRAYS}: not a readable safetensors file ({error})") from None
    rest = {k: v for k, v in info.items() if k not in ("kind", "formulation", "C", "class_names")}
    return LinearClassifier(info["formulation"], float(info["C"]), arrays["coef"], arrays["intercept"], arrays["mean"],
                            arrays["scale"], list(info["class_names"]), rest)
