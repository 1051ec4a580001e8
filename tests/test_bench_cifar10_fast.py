"""bench/cifar10_fast.py's arithmetic: per-epoch test accuracy against wall time, with and without the
evaluations of the epochs before, and the first epoch at each target."""

import json

import pytest


def test_epoch_rows_take_out_the_evaluations_of_the_epochs_before(tmp_path, load_bench):
    bench = load_bench("cifar10_fast")
    history = [{"epoch": 1, "seconds": 100.0, "val_accuracy": 0.70}, {"epoch": 2, "seconds": 100.0, "val_accuracy": 0.86},
               {"epoch": 3, "seconds": 100.0, "val_accuracy": 0.91}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(figures) + "\n" for figures in history))
    walls = {1: 130.0, 2: 250.0, 3: 370.0}  # 20 s of evaluation after each epoch, 10 s of start-up
    rows = bench.epoch_rows(tmp_path, walls)
    assert [row["wall_seconds_without_evaluation"] for row in rows] == [130.0, 230.0, 330.0]
    found = bench.crossings(rows)
    assert found["80%"]["epoch"] == 2 and found["85%"]["epoch"] == 2 and found["90%"]["epoch"] == 3
    assert found["90%"]["wall_seconds"] == 370.0


def test_a_target_not_reached_is_none(tmp_path, load_bench):
    bench = load_bench("cifar10_fast")
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "seconds": 5.0, "val_accuracy": 0.5}) + "\n")
    assert bench.crossings(bench.epoch_rows(tmp_path, {1: 9.0}))["80%"] is None


def test_the_stolen_share_is_the_stolen_ticks_over_all_ticks_between_two_readings(load_bench):
    bench = load_bench("cifar10_fast")
    assert bench.steal_share((1000, 50), (1400, 150)) == 0.25
    assert bench.steal_share((1000, 50), None) is None
    assert bench.steal_share((1000, 50), (1000, 50)) is None  # no time passed: no share
    assert bench.steal_words(0.25) == "; 25% of the CPU time stolen by the hypervisor"
    assert bench.steal_words(None) == ""


def test_the_cpu_ticks_are_read_from_this_machine(load_bench):
    bench = load_bench("cifar10_fast")
    ticks = bench.cpu_ticks()
    if ticks is None:
        pytest.skip("no /proc/stat on this system")
    everything, stolen = ticks
    assert everything > 0 and 0 <= stolen <= everything
    sum(range(10**6))  # some work, so that the clock moves on
    later = bench.cpu_ticks()
    assert later[0] >= everything and later[1] >= stolen
