"""bench/fastnet_step.py's child runs striate's own training step on the recipe's network and reports its time."""

import pytest


def test_a_tiny_setting_is_timed_in_a_child_process(load_bench):
    bench = load_bench("fastnet_step")
    milliseconds = bench.one([4, 4, 8], "fp32", 4, 1, 1)
    assert milliseconds > 0


def test_a_bad_setting_stops_with_the_childs_error(load_bench):
    bench = load_bench("fastnet_step")
    with pytest.raises(SystemExit, match="the step child failed"):
        bench.one([4, 4, 8], "fp8", 4, 1, 1)  # no such precision in the child
