"""run.threads sets torch's CPU threads; the summary keeps them with the load the run started under, and a
run that asked for more cores than were idle gets a one-line hint."""

import os

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
    # the run queue at the start decides where it was read: a load average of 1.4 left by a run that just
    # ended is no reason for a hint, two other threads running now are
    ({"threads": 2, "load_at_start": 1.4, "cores": 2, "others_running_at_start": 0}, False),
    ({"threads": 2, "load_at_start": 1.4, "cores": 2, "others_running_at_start": 2}, True),
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
        assert ("others_running_at_start" in summary) == os.path.exists("/proc/loadavg")
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="the run queue is read from Linux's /proc/loadavg")
def test_others_running_counts_processes_that_want_a_core_now():
    import subprocess
    import sys
    import time

    from striate.session.prepare import others_running

    quiet = others_running()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.3)  # both started and spinning
        busy = others_running(samples=9)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert busy >= quiet + 2, (quiet, busy)
