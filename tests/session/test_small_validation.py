"""A validation split too small to choose an epoch by: the run keeps the last epoch's weights, says so in
summary.json, summary.txt and the train command's output, and early stopping does not fire on noise."""

from striate.cli.main import main
from striate.data.splits import MIN_VAL_PER_CLASS
from striate.session import train_run
from striate.session.rundir import RunPaths
from striate.training.checkpoint import load_weights
from striate.training.watch import Watch


def test_a_watch_that_keeps_the_last_epoch_calls_every_epoch_better():
    watch = Watch("val_accuracy", True, last_because="too few")
    assert watch.better(0.1, 0.9) and not Watch("val_accuracy", True).better(0.1, 0.9)


def test_a_tiny_validation_split_keeps_the_last_weights(tiny_cfg):
    tiny_cfg.data.val_fraction = 0.02  # 32 images for 10 classes
    tiny_cfg.optim.epochs = 3
    tiny_cfg.optim.early_stop_patience = 1
    tiny_cfg.optim.lr = 0.5  # a rate that makes validation figures jump about
    result = train_run(tiny_cfg)
    summary, paths = result["summary"], RunPaths(result["run_dir"])
    assert summary["best_epoch"] == summary["epochs"] == 3  # early stopping did not end it
    assert summary["best_is"].startswith("the last epoch") and "early stopping was off" in summary["best_is"]
    best, last = load_weights(paths.weights("best")), load_weights(paths.weights("last"))
    assert all((best[name] == last[name]).all() for name in best)
    assert "kept: the last epoch" in (paths.root / "summary.txt").read_text()


def test_enough_validation_images_choose_by_validation(tiny_cfg):
    tiny_cfg.data.val_fraction = 0.15  # 240 images for 10 classes
    tiny_cfg.optim.epochs = 3
    result = train_run(tiny_cfg)
    summary, history = result["summary"], result["history"]
    assert summary["best_is"] == "the best val_accuracy"
    assert summary["best_epoch"] == 1 + max(range(len(history)), key=lambda i: history[i]["val_accuracy"])
    assert 240 >= MIN_VAL_PER_CLASS * 10


def test_the_train_command_prints_why_it_kept_the_last_weights(tmp_path, capsys):
    code = main(["train", "--data.source", "digits", "--model", "mlp", "--model.args", "{hidden: [8]}",
                 "--data.input_size", "8", "--epochs", "1", "--progress", "off", "--val_fraction", "0.02",
                 "--out_dir", str(tmp_path / "runs"), "--run.report", "false"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: the weights kept are the last epoch: the validation split holds" in out
