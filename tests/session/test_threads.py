"""run.threads sets torch's CPU threads; the summary keeps them with the load the run started under, and a
run that asked for more cores than were idle gets a one-line hint."""

import pytest
import torch

from striate.session import train_run
from striate.session.prepare import busy_machine_note


@pytest.mark.parametrize("figures, busy", [
    ({"threads": 2, "load_at_start": 3.4, "cores": 2}, True),
    ({"threads": 1, "load_at_start": 3.4, "cores": 2}, False),  # one thread: nothing to lower
    ({"threads": 2, "load_at_start": 0.1, "cores": 2}, False),  # an idle machine
    ({"threads": 8, "load_at_start": 1.0, "cores": 16}, False),
    ({"threads": 2, "load_at_start": 0.7, "cores": 2}, False),  # the tail of a finished process
])
def test_the_hint_comes_only_when_threads_and_load_exceed_the_cores(figures, busy):
    note = busy_machine_note(figures)
    assert (note is not None) == busy
    if busy:
        assert "--run.threads 1" in note and f"load {figures['load_at_start']:.1f}" in note


def test_run_threads_is_used_and_recorded(tiny_cfg):
    before = torch.get_num_threads()
    try:
        tiny_cfg.run.threads = 1
        summary = train_run(tiny_cfg)["summary"]
        assert summary["threads"] == 1 == torch.get_num_threads() and summary["load_at_start"] >= 0
    finally:
        torch.set_num_threads(before)
