"""A run directory one writer at a time, failed writes answered in one line with the last checkpoint intact,
interrupted writes cleaned up, files readable as the umask says, and nothing left by a run that failed before
its first checkpoint."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from striate import files as striate_files
from striate.cli.main import main
from striate.errors import RunError
from striate.session import resume_run, train_run
from striate.session.lock import RunLock, writer_of
from striate.training.checkpoint import load_checkpoint, load_weights

SRC = Path(__file__).resolve().parents[2] / "src"


def same_weights(a: Path, b: Path) -> bool:
    first, second = load_weights(a), load_weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


def test_a_second_writer_is_refused_naming_the_holder(tiny_cfg, capsys):
    run_dir = train_run(tiny_cfg)["run_dir"]
    with RunLock(run_dir):
        assert writer_of(run_dir) == os.getpid()
        with pytest.raises(RunError, match=rf"being written by another striate process \(PID {os.getpid()}\)"):
            RunLock(run_dir).acquire()
        assert main(["train", "--resume", str(run_dir)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"PID {os.getpid()}" in err and "Traceback" not in err
    assert writer_of(run_dir) is None  # released on exit
    assert main(["evaluate", str(run_dir)]) == 0  # readers never need the lock


def test_a_full_disk_mid_run_is_one_line_and_the_resume_ends_bit_exact(tmp_cfg_factory, monkeypatch, capsys):
    whole = train_run(tmp_cfg_factory("whole", epochs=3))
    config = tmp_cfg_factory("full", epochs=3)
    real_fsync, calls = os.fsync, {"n": 0}

    def fsync_until_full(handle):  # the disk fills up in epoch 2, after the first checkpoint
        calls["n"] += 1
        if calls["n"] > 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(handle)

    monkeypatch.setattr(striate_files.os, "fsync", fsync_until_full)
    path = Path(config.run.out_dir) / "full"
    with pytest.raises(RunError) as caught:
        train_run(config)
    message = str(caught.value)
    assert "No space left on device" in message and "could not write" in message and "\n" not in message
    assert "is untouched" in message and "--resume" in message
    assert not list(path.glob(".*.tmp"))  # the failed write left no temporary
    saved = load_checkpoint(path / "checkpoint.safetensors")  # the last checkpoint loads
    assert saved["loop"]["step"] > 0
    monkeypatch.setattr(striate_files.os, "fsync", real_fsync)  # space freed
    resumed = resume_run(path)
    assert same_weights(whole["run_dir"] / "last.safetensors", path / "last.safetensors")
    drop = ("seconds", "images_per_second")
    assert [{k: v for k, v in f.items() if k not in drop} for f in whole["history"]] == \
           [{k: v for k, v in f.items() if k not in drop} for f in resumed["history"]]


def test_a_full_disk_through_the_cli_is_exit_2(tmp_path, monkeypatch, capsys):
    def full(handle):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(striate_files.os, "fsync", full)
    code = main(["train", "--model", "mlp", "--model.args", "{hidden: [8]}", "--data.source", "digits",
                 "--data.input_size", "8", "--epochs", "1", "--progress", "off", "--out_dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "No space left on device" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing half-written


def test_interrupted_writes_are_cleared_on_the_next_open_never_the_real_files(tiny_cfg):
    run_dir = train_run(tiny_cfg)["run_dir"]
    real = sorted(p.name for p in run_dir.iterdir())
    leftovers = [run_dir / ".checkpoint.safetensors.ab12_x9z.tmp", run_dir / ".metrics.jsonl.Qw3rty_0.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a file")
    keep = run_dir / "notes.tmp"  # not one of striate's temporaries
    keep.write_text("mine")
    assert main(["evaluate", str(run_dir)]) == 0
    assert not any(path.exists() for path in leftovers) and keep.exists()
    assert sorted(p.name for p in run_dir.iterdir() if p.name != "notes.tmp") == real


def test_run_files_are_readable_as_the_umask_says(tmp_cfg_factory):
    old = os.umask(0o022)
    try:
        run_dir = train_run(tmp_cfg_factory("shared", epochs=1))["run_dir"]
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir() if p.is_file()}
    expected = 0o666 & ~old
    assert modes and all(mode == expected for mode in modes.values()), modes


def test_a_run_that_diverges_before_its_first_checkpoint_leaves_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["train", "--model", "mlp", "--model.args", "{hidden: [8]}", "--data.source", "digits",
                 "--data.input_size", "8", "--epochs", "2", "--lr", "1e12", "--progress", "off", "--out_dir", str(runs)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "the loss became" in err and len(err.splitlines()) == 1
    assert not runs.exists() or not any(runs.iterdir())


def striate(*arguments: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                   "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "striate.cli.main", *arguments], env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


RECIPE = {"model": {"name": "mlp", "args": {"hidden": [64], "dropout_rate": 0.2}},
          "data": {"source": "digits", "input_size": 8, "augment": ["translate"]},
          "optim": {"optimizer": "adam", "lr": 0.003, "batch_size": 8, "epochs": 4, "weight_decay": 0.0001},
          "run": {"progress": "off", "checkpoint_every": 11}}


def wait_for(condition, process, seconds=120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)


@pytest.mark.slow
def test_two_resumes_at_once_one_proceeds_and_a_killed_holder_is_taken_over(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**RECIPE, "run": {**RECIPE["run"], "out_dir": str(tmp_path)}}))
    whole = striate("train", str(recipe), "--name", "whole")
    assert whole.wait(300) == 0, whole.stderr.read()

    run_dir = tmp_path / "killed"
    first = striate("train", str(recipe), "--name", "killed")
    wait_for(lambda: (run_dir / "checkpoint.safetensors").exists(), first)
    assert first.poll() is None, "the run ended before it could be killed"
    assert writer_of(run_dir) == first.pid  # the holder is named by its PID
    os.kill(first.pid, signal.SIGKILL)  # the lock dies with its holder
    first.wait()

    resumes = [striate("train", "--resume", str(run_dir)) for _ in range(2)]
    outcomes = [process.communicate(timeout=300) for process in resumes]
    codes = sorted(process.returncode for process in resumes)
    assert codes == [0, 2], outcomes
    refused = next(err for process, (_, err) in zip(resumes, outcomes) if process.returncode == 2)
    assert "being written by another striate process (PID" in refused and "Traceback" not in refused
    assert same_weights(tmp_path / "whole" / "last.safetensors", run_dir / "last.safetensors")
    assert [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    assert not list(run_dir.glob(".*.tmp"))  # the kill's temporaries are gone once resumed and finished


def test_run_directories_created_at_the_same_moment_never_collide(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from striate.session.rundir import new_run_dir

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: new_run_dir(tmp_path, "same", "x"), range(64)))
    assert len(set(made)) == 64 and all(path.is_dir() for path in made)
