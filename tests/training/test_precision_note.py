"""The note for bf16 autocast on a CPU without native bf16 arithmetic, where it runs slower than fp32."""

import torch

from striate.training.engine import slow_precision_note

CPU = torch.device("cpu")


def native_bf16() -> bool:
    return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def test_the_note_follows_what_onednn_says_of_this_cpu():
    note = slow_precision_note("bf16", CPU)
    assert (note is None) == native_bf16()


def test_a_cpu_without_native_bf16_is_told_to_use_fp32(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)  # as on a build or CPU without it
    note = slow_precision_note("bf16", CPU)
    assert "emulated" in note and "--run.precision fp32" in note


def test_fp32_and_gpus_get_no_note(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert slow_precision_note("fp32", CPU) is None
    assert slow_precision_note("bf16", torch.device("cuda")) is None
