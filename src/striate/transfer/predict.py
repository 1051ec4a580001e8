"""Predictions of a linear classifier on CNN codes, from image files: the source run computes the
codes (with its own preprocessing), the classifier scores them.

>>> predict_with_classifier("runs/digits-svm", ["seven.png"], top_k=3)   # doctest: +SKIP
"""

from pathlib import Path

import numpy as np

from striate.data.images import load_image, to_network_input
from striate.session import load_run_model
from striate.transfer.codes import layer_activations, pool_codes
from striate.transfer.linear import load_linear


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Scores -> probabilities for display (one-vs-rest scores are not calibrated probabilities)."""
    if scores.shape[1] == 1:  # two classes: the one score is class 1 against class 0
        scores = np.concatenate([-scores, scores], axis=1) / 2
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def predict_with_classifier(folder: str | Path, paths: list[str], top_k: int = 3) -> list[dict]:
    """Top-k classes for each image, in the shape of 'striate predict' (probability: a softmax of the scores)."""
    import torch

    classifier = load_linear(folder)
    model, meta = load_run_model(classifier.info["run"])
    images = [load_image(path, meta["preprocess"]["channels"]) for path in paths]
    with torch.no_grad():
        outputs = layer_activations(model, to_network_input(images, meta["preprocess"]), classifier.info["layer"])
    codes = pool_codes(outputs, classifier.info.get("pooling", "avg")).double().numpy()
    probabilities = _softmax(classifier.decision_function(codes))
    k = max(1, min(top_k, probabilities.shape[1]))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    names = classifier.class_names
    return [{"image": str(path), "top": [{"class": names[i], "probability": float(row[i])} for i in top]}
            for path, row, top in zip(paths, probabilities, order)]
