"""The grid: parsing --vary values into typed settings, and every combination of them."""

import pytest

from striate.errors import ConfigError
from striate.experiments.grid import make_arms, parse_variation, split_top_level
from striate.training.config import Config


def test_values_are_typed_like_recipe_flags():
    variation = parse_variation("optim.lr=0.1,0.01")
    assert variation.keys == ("optim.lr",)
    assert variation.values == [(0.1,), (0.01,)]


def test_commas_inside_brackets_belong_to_the_value():
    assert split_top_level("[],[translate,flip],{crop: {padding: 4}}", ",") == ["[]", "[translate,flip]",
                                                                              "{crop: {padding: 4}}"]
    variation = parse_variation("data.augment=[],[translate,flip]")
    assert variation.values == [([],), (["translate", "flip"],)]


def test_linked_keys_move_together():
    variation = parse_variation("optim.optimizer+optim.lr=sgd+0.05,sgd+0.01")
    arms = make_arms([variation])
    assert [arm.settings for arm in arms] == [(("optim.optimizer", "sgd"), ("optim.lr", 0.05)),
                                              (("optim.optimizer", "sgd"), ("optim.lr", 0.01))]


def test_variations_multiply_and_arms_apply_to_a_copy():
    arms = make_arms([parse_variation("model.args.activation=relu,tanh"), parse_variation("lr=0.1,0.2,0.3")])
    assert len(arms) == 6
    assert len({arm.label for arm in arms}) == 6
    base = Config()
    config = arms[-1].apply(base)
    assert config.model.args["activation"] == "tanh" and config.optim.lr == 0.3
    assert base.model.args == {} and base.optim.lr == Config().optim.lr


@pytest.mark.parametrize("text, fragment", [("optim.lrr=0.1,0.2", "optim.lr"), ("lr", "KEY=VALUE"),
                                            ("lr=0.1,0.1", "distinct"), ("optimizer+lr=sgd,adam", "joined by '+'"),
                                            ("data.augment=[translate", "unbalanced")])
def test_bad_variations_say_what_to_write(text, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("+", r"\+")):
        parse_variation(text)


def test_a_key_varied_twice_is_refused():
    with pytest.raises(ConfigError, match="twice"):
        make_arms([parse_variation("lr=0.1,0.2"), parse_variation("optim.lr=0.3,0.4")])


def test_labels_are_short():
    arms = make_arms([parse_variation("model.name=recipes/nets/lenet5.yaml,mlp"), parse_variation("data.augment=[],[hflip]")])
    assert [arm.label for arm in arms] == ["name=lenet5 augment=none", "name=lenet5 augment=[hflip]",
                                           "name=mlp augment=none", "name=mlp augment=[hflip]"]


def test_exponents_without_a_dot_are_numbers():
    assert parse_variation("optim.lr=1e-3,1e-2").values == [(0.001,), (0.01,)]


def test_importing_experiments_stays_light():
    import subprocess
    import sys

    code = "import sys, striate.experiments; print('matplotlib' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
