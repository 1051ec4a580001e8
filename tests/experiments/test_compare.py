"""striate compare end to end on a tiny recipe (digits + a tiny MLP): rows, resume, seeds."""

import json
from pathlib import Path

import pytest

from striate.experiments import compare, parse_variation
from striate.experiments.plan import config_hash
from striate.experiments.table import reach_target
from striate.tasks import ClassificationTask, KeypointTask
from striate.training.config import config_from_dict

pytestmark = pytest.mark.slow  # trains a handful of one-epoch runs (a few seconds in all)

GRID = ["model.args.activation=relu,tanh", "optim.lr=0.1,0.05"]


def tiny_config(out_dir, epochs: int = 1):
    """The tiny MLP on digits of tests/conftest.py (tiny_cfg), for module-scoped fixtures."""
    return config_from_dict({"model": {"name": "mlp", "args": {"hidden": [32]}},
                             "data": {"source": "digits", "input_size": 8},
                             "optim": {"epochs": epochs, "lr": 0.1, "batch_size": 32},
                             "run": {"out_dir": str(out_dir), "name": "tiny", "progress": "off"}})


def _losses(run_dir) -> list[float]:
    return [json.loads(line)["train_loss"] for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    config = tiny_config(folder / "unused")
    config.run.eval_train = True  # the train/test gap column
    report = compare(config, [parse_variation(text) for text in GRID], seeds=1, folder=folder,
                     target=("val_accuracy", 0.0))
    return config, folder, report


def test_one_row_per_combination(grid):
    _, folder, report = grid
    rows = report["rows"]
    assert [row["settings"] for row in rows] == [
        {"model.args.activation": a, "optim.lr": lr} for a in ("relu", "tanh") for lr in (0.1, 0.05)]
    assert report["trained"] == 4 and report["reused"] == 0
    for row in rows:
        assert len(row["seeds"]) == 1
        assert 0.0 <= row["best_val_accuracy"]["mean"] <= 1.0
        assert row["epochs_to_target"]["mean"] == 1  # any accuracy reaches 0
        gap = row["train_eval_accuracy"]["mean"] - row["test_accuracy"]["mean"]
        assert row["train_test_gap"]["mean"] == pytest.approx(gap)
    written = json.loads((folder / "comparison.json").read_text())
    assert len(written["rows"]) == 4
    assert len((folder / "comparison.csv").read_text().splitlines()) == 5  # header + 4 rows
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (folder / "comparison.html").read_text()


def test_rerun_reuses_finished_runs_and_redoes_an_interrupted_one(grid):
    config, folder, first = grid
    summaries = sorted(folder.glob("runs/*/summary.json"))
    assert len(summaries) == 4
    stamps = {path: path.stat().st_mtime_ns for path in summaries}
    interrupted = summaries[0]
    interrupted.unlink()  # as if the comparison had stopped during this run
    again = compare(config, [parse_variation(text) for text in GRID], seeds=1, folder=folder)
    assert again["trained"] == 1 and again["reused"] == 3
    for path in summaries[1:]:
        assert path.stat().st_mtime_ns == stamps[path]  # untouched
    assert interrupted.is_file()
    assert len(_losses(interrupted.parent)) == 1  # one epoch, not repeated
    assert len(list(folder.glob("runs/*"))) == 4  # retrained in place, no second directory


def test_seeds_differ_and_the_same_seed_repeats(grid, tmp_path):
    config, folder, first = grid
    report = compare(config, [parse_variation("model.args.activation=relu"), parse_variation("optim.lr=0.1")],
                     seeds=2, folder=tmp_path)
    assert report["trained"] == 2
    seed0, seed1 = report["rows"][0]["runs"]
    assert _losses(seed0) != _losses(seed1)
    same_in_grid = first["rows"][0]["runs"][0]  # relu, lr 0.1, seed 0 in the other folder
    assert Path(same_in_grid).name == Path(seed0).name  # same configuration, same name (hash)
    assert _losses(same_in_grid) == _losses(seed0)


def test_the_hash_ignores_where_files_go_but_not_what_is_trained(tmp_path):
    config = tiny_config(tmp_path)
    moved = tiny_config(tmp_path / "elsewhere")
    moved.run.name, moved.run.progress = "other", "lines"
    assert config_hash(config) == config_hash(moved)
    moved.run.seed = 1
    assert config_hash(config) != config_hash(moved)


def test_reach_target_counts_epochs_steps_and_seconds():
    history = [{"epoch": 1, "step": 10, "seconds": 2.0, "train_accuracy": 0.5, "val_loss": 1.0},
               {"epoch": 2, "step": 20, "seconds": 3.0, "train_accuracy": 0.8, "val_loss": 0.4}]
    assert reach_target(history, ClassificationTask.figure("train_accuracy"), 0.75) == {"epochs_to_target": 2, "steps_to_target": 20,
                                                             "seconds_to_target": 5.0}
    assert reach_target(history, ClassificationTask.figure("val_loss"), 0.5)["epochs_to_target"] == 2  # losses count downwards
    assert reach_target(history, ClassificationTask.figure("train_accuracy"), 0.9)["epochs_to_target"] is None
    errors = [{"epoch": 1, "step": 5, "seconds": 1.0, "val_rmse": 2.0, "val_top5_error": 0.3},
              {"epoch": 2, "step": 10, "seconds": 1.0, "val_rmse": 0.9, "val_top5_error": 0.1}]
    assert reach_target(errors, KeypointTask.figure("val_rmse"), 1.0)["epochs_to_target"] == 2  # errors count downwards too
    assert reach_target(errors, ClassificationTask.figure("val_top5_error"), 0.2)["epochs_to_target"] == 2


def test_a_comparison_of_segmentation_runs_reports_mean_iou(tmp_path):
    from striate.tasks.synthetic import make_mnist_canvas

    canvas = make_mnist_canvas(tmp_path / "canvas", count=24, size=28, seed=5)
    config = config_from_dict({
        "model": {"name": "dilated_context", "args": {"width": 4}},
        "data": {"task": "segmentation", "path": str(canvas), "val_fraction": 0.25, "test_fraction": 0.25},
        "optim": {"optimizer": "adam", "lr": 0.01, "batch_size": 8, "epochs": 2},
        "run": {"out_dir": str(tmp_path / "unused"), "name": "seg", "progress": "off"},
    })
    report = compare(config, [parse_variation("optim.lr=0.01,0.001")], seeds=1, folder=tmp_path / "cmp",
                     target=("val_miou", 0.0))
    for row in report["rows"]:
        summary = json.loads((Path(row["runs"][0]) / "summary.json").read_text())
        assert row["test_miou"]["mean"] == pytest.approx(summary["test"]["miou"])
        assert 0 <= row["best_val_miou"]["mean"] <= 1 and row["epochs_to_target"]["mean"] == 1
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "test mean IoU" in table and "test %" not in table


def test_parallel_jobs_train_every_run(tmp_path):
    config = tiny_config(tmp_path / "unused")
    report = compare(config, [parse_variation("optim.lr=0.1,0.05")], seeds=1, folder=tmp_path, jobs=2)
    assert report["trained"] == 2
    assert [row["settings"]["optim.lr"] for row in report["rows"]] == [0.1, 0.05]
    assert all(len(_losses(row["runs"][0])) == 1 for row in report["rows"])


def test_a_diverged_run_is_a_result_not_a_crash(tmp_path):
    config = tiny_config(tmp_path / "unused")
    config.data.normalize = "none"
    report = compare(config, [parse_variation("optim.lr=1e9,0.1")], seeds=1, folder=tmp_path)
    diverged, healthy = report["rows"]
    assert len(diverged["failed"]) == 1 and "loss became" in diverged["failed"][0]
    assert diverged["best_val_accuracy"]["mean"] is None and healthy["best_val_accuracy"]["mean"] is not None
    assert "diverged" in (tmp_path / "comparison.md").read_text()
    again = compare(config, [parse_variation("optim.lr=1e9,0.1")], seeds=1, folder=tmp_path)
    assert again["reused"] == 2  # not tried again


def test_layer_table_puts_arms_side_by_side():
    from striate.experiments.compare import layer_table
    from striate.experiments.grid import make_arms

    naive, he = make_arms([parse_variation("model.init=naive,he_normal")])
    epoch = lambda std: [{"epoch": 1, "monitor": {"features.act1": {"std": std, "dead_fraction": 0.5},  # noqa: E731
                                                  "features.fc1.weight": {"grad_norm": 1.0}}}]
    results = [{"arm": naive, "history": epoch(0.001)}, {"arm": naive, "history": epoch(0.003)},
               {"arm": he, "history": epoch(0.9)}]
    table = layer_table(results)
    assert "| layer | init=naive | init=he_normal |" in table
    assert "| features.act1 | 0.002 (50% dead) | 0.9 (50% dead) |" in table
    assert "fc1.weight" not in table  # parameters have no activation statistics
    assert layer_table([{"arm": he, "history": [{"epoch": 1}]}]) == ""


def test_an_interrupted_comparison_continues_where_it_stopped(tmp_path):
    config = tiny_config(tmp_path / "unused")
    grid = [parse_variation("optim.lr=0.1,0.05")]

    def stop_after_first(planned, reused):
        raise KeyboardInterrupt  # Ctrl-C right after the first run finished

    with pytest.raises(KeyboardInterrupt):
        compare(config, grid, seeds=1, folder=tmp_path, on_run=stop_after_first)
    assert len(list(tmp_path.glob("runs/*/summary.json"))) == 1
    assert not (tmp_path / "comparison.json").exists()  # no table from half a comparison
    again = compare(config, grid, seeds=1, folder=tmp_path)
    assert again["reused"] == 1 and again["trained"] == 1
