"""Weight initialisation by name.

    xavier_uniform / glorot_uniform   U(-a, a), a = sqrt(6 / (fan_in + fan_out))   (Glorot and Bengio 2010)
    xavier_normal  / glorot_normal    N(0, 2 / (fan_in + fan_out))
    he_uniform     / msr_uniform      U(-a, a), a = sqrt(6 / fan_in)   for ReLU    (He et al. 2015)
    he_normal      / msr_normal       N(0, 2 / fan_in)
    naive                             N(0, 0.01^2): the small Gaussian the course warns about
                                      (activations shrink layer after layer in deep nets)
    default                           PyTorch's own initialisation (left as built)

Biases start at zero; batch-norm scales at one. The locally connected layer's kernels (one per
position) get the fans of a convolution with the same kernel: fan_in = C kh kw, fan_out = O kh kw.

>>> init_weights(model, "he_normal")   # doctest: +SKIP
"""

import math

from torch import nn

from striate.errors import ModelError, did_you_mean
from striate.layers.local import LocallyConnected2d


def _naive(weight):
    nn.init.normal_(weight, mean=0.0, std=0.01)


SCHEMES = {
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "he_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "he_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "naive": _naive,
}
# the two names each scheme goes by in the literature
SYNONYMS = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
            "msr_uniform": "he_uniform", "msr_normal": "he_normal"}


# the same schemes as a standard deviation from given fans, for weights whose shape nn.init cannot read
STD_FROM_FANS = {
    "xavier_uniform": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "xavier_normal": lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    "he_uniform": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "he_normal": lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    "naive": lambda fan_in, fan_out: 0.01,
}


def _init_with_fans(weight, name: str, fan_in: int, fan_out: int) -> None:
    std = STD_FROM_FANS[name](fan_in, fan_out)
    if name.endswith("uniform"):
        nn.init.uniform_(weight, -math.sqrt(3) * std, math.sqrt(3) * std)  # U(-a, a) has std a / sqrt(3)
    else:
        nn.init.normal_(weight, mean=0.0, std=std)


def init_names() -> list[str]:
    return sorted([*SCHEMES, *SYNONYMS, "default"])


def init_weights(model: nn.Module, scheme: str) -> nn.Module:
    """Initialise every convolution, locally connected and fully connected layer of ``model`` with ``scheme``."""
    name = SYNONYMS.get(scheme, scheme)
    if name == "default":
        return model
    if name not in SCHEMES:
        raise ModelError(f"unknown initialisation '{scheme}'{did_you_mean(scheme, init_names())}; "
                         f"expected one of {init_names()}")
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            SCHEMES[name](module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, LocallyConnected2d):
            _init_with_fans(module.weight, name, *module.fans)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model
