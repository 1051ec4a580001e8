"""bench/fastnet_step.py's child runs striate's own training step on the recipe's network and reports its time."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bench_module():
    spec = importlib.util.spec_from_file_location("fastnet_step", REPO / "bench" / "fastnet_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tiny_setting_is_timed_in_a_child_process():
    bench = bench_module()
    milliseconds = bench.one([4, 4, 8], "fp32", 4, 1, 1)
    assert milliseconds > 0


def test_a_bad_setting_stops_with_the_childs_error():
    bench = bench_module()
    try:
        bench.one([4, 4, 8], "fp8", 4, 1, 1)  # no such precision in the child
    except SystemExit as stop:
        assert "failed" in str(stop)
    else:
        raise AssertionError("a setting the child refused was timed")
