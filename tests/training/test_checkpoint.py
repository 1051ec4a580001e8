"""Checkpoints: every kind of state round-trips without pickle; a failure during a save leaves the old
checkpoint loadable."""

import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from striate.files import FileWriteError
from striate.errors import RunError
from striate import files as checkpoint_module
from striate.training.checkpoint import load_checkpoint, save_checkpoint
from striate.training.config import OptimConfig
from striate.training.optim import build_optimizer
from striate.training.engine import rng_states, set_rng_states


def adam_after_steps(model: nn.Module) -> torch.optim.Optimizer:
    optimizer = build_optimizer(model, OptimConfig(optimizer="adam", lr=0.01))
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 3)).pow(2).sum().backward()
        optimizer.step()
    return optimizer


def test_optimizer_state_round_trips_and_training_continues_identically(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = adam_after_steps(model)
    save_checkpoint(tmp_path / "c.safetensors", {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                                 "epoch": 3, "best": {"value": 0.5, "epoch": None}})
    loaded = load_checkpoint(tmp_path / "c.safetensors")
    twin = nn.Linear(3, 2)
    twin.load_state_dict(loaded["model"])
    twin_optimizer = build_optimizer(twin, OptimConfig(optimizer="adam", lr=0.01))
    twin_optimizer.load_state_dict(loaded["optimizer"])
    assert loaded["epoch"] == 3 and loaded["best"] == {"value": 0.5, "epoch": None}
    batch = torch.randn(4, 3)
    for net, opt in ((model, optimizer), (twin, twin_optimizer)):
        opt.zero_grad()
        net(batch).pow(2).sum().backward()
        opt.step()
    assert torch.equal(model.weight, twin.weight)


def test_rng_states_round_trip(tmp_path):
    save_checkpoint(tmp_path / "r.safetensors", {"rng": rng_states()})
    draws = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_states(load_checkpoint(tmp_path / "r.safetensors")["rng"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(draws[0], again[0]) and np.array_equal(draws[1], again[1]) and draws[2] == again[2]


def test_a_checkpoint_holds_no_pickle(tmp_path):
    save_checkpoint(tmp_path / "c.safetensors", {"model": nn.Linear(2, 2).state_dict(), "step": 7})
    head = (tmp_path / "c.safetensors").read_bytes()
    assert b"\x80\x04" not in head[:8] and b"__builtin__" not in head and b"torch._utils" not in head


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failure_during_save_leaves_the_old_checkpoint_loadable(tmp_path, monkeypatch, failing):
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, {"model": {"w": torch.ones(3)}, "step": 1})

    def broken(*args, **kwargs):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(checkpoint_module.os, failing, broken)
    with pytest.raises(FileWriteError, match="could not write .*injected"):
        save_checkpoint(path, {"model": {"w": torch.zeros(3)}, "step": 2})
    monkeypatch.undo()
    old = load_checkpoint(path)
    assert old["step"] == 1 and torch.equal(old["model"]["w"], torch.ones(3))
    assert os.listdir(tmp_path) == ["checkpoint.safetensors"]  # no temporary file left behind


def test_a_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, {"model": {"w": torch.ones(100)}})
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(RunError, match="corrupt or truncated"):
        load_checkpoint(path)
