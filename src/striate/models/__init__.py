"""The model zoo: one file per family, each registering small builders."""

from striate.models import alexnet, convnet, fastnet, googlenet, lenet, mlp, nin, resnet, vgg  # noqa: F401  (importing registers the builders)
from striate.models import autoencoder, deconvnet, dilated, fcn, keypoints  # noqa: F401  (dense prediction, regression)
from striate.models import sequential  # noqa: F401  (a user's nn.Sequential, described)
from striate.models.base import Classifier, tap_outputs
from striate.models.registry import create_model, get_builder, list_models, model_task, register_model, split_args

__all__ = ["Classifier", "create_model", "get_builder", "list_models", "model_task", "register_model", "split_args",
           "tap_outputs"]
