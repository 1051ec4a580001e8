"""The bad-input corpus: every wrong setting, corrupt or lying data file and tampered run file, driven through
the real command line (in process), ends with exit code 2 and one line of at most 500 characters on stderr,
no traceback, nothing new left on disk, and no payload executed. The cases are generated here; their count is
recorded in docs/robustness.md."""

import gzip
import io
import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from striate.cli.main import main

TINY = ["--model", "mlp", "--model.args", "{hidden: [8]}", "--data.source", "digits", "--data.input_size", "8",
        "--epochs", "1", "--progress", "off"]
MARKER = "payload-ran"  # a file a payload would create if it ever ran


class Payload:
    """Unpickling this runs os.system: the readers must refuse it without running it."""

    def __reduce__(self):
        return os.system, (f"touch {MARKER}",)


# ---- settings: train with one bad flag ----------------------------------------------------------------------
SETTINGS = [
    ("lr-nan", ["--lr", "nan"]), ("lr-inf", ["--lr", "inf"]), ("lr-minus-inf", ["--lr", "-inf"]),
    ("lr-zero", ["--lr", "0"]), ("lr-negative", ["--lr", "-0.1"]), ("lr-text", ["--lr", "abc"]),
    ("momentum-negative", ["--momentum", "-1"]), ("momentum-above-one", ["--momentum", "1.5"]),
    ("weight-decay-negative", ["--weight_decay", "-1"]), ("batch-zero", ["--batch_size", "0"]),
    ("batch-negative", ["--batch_size", "-1"]), ("batch-fraction", ["--batch_size", "1.5"]),
    ("epochs-zero", ["--epochs", "0"]), ("epochs-negative", ["--epochs", "-1"]),
    ("warmup-negative", ["--warmup_epochs", "-1"]), ("warmup-too-long", ["--warmup_epochs", "99"]),
    ("eps-zero", ["--optim.eps", "0"]), ("smoothing-one", ["--label_smoothing", "1.0"]),
    ("smoothing-negative", ["--label_smoothing", "-0.1"]), ("clip-negative", ["--clip_grad_norm", "-1"]),
    ("dropout-above-one", ["--dropout_rate", "1.5"]), ("gamma-zero", ["--gamma", "0"]),
    ("step-size-zero", ["--step_size", "0"]), ("l1-negative", ["--optim.l1", "-1"]),
    ("plateau-patience-zero", ["--plateau_patience", "0"]), ("early-stop-negative", ["--early_stop_patience", "-1"]),
    ("betas-above-one", ["--optim.betas", "[1.5, 0.9]"]), ("input-size-zero", ["--data.input_size", "0"]),
    ("input-size-negative", ["--data.input_size", "-8"]), ("input-size-huge", ["--data.input_size", "100000"]),
    ("val-fraction-above-one", ["--data.val_fraction", "1.5"]), ("val-fraction-negative", ["--data.val_fraction", "-0.1"]),
    ("test-fraction-one", ["--data.test_fraction", "1.0"]), ("fractions-sum-one", ["--data.val_fraction", "0.5", "--data.test_fraction", "0.5"]),
    ("whiten-epsilon-zero", ["--data.normalize", "zca_white", "--data.whiten_epsilon", "0"]),
    ("folds-one", ["--data.folds", "1"]), ("folds-negative", ["--data.folds", "-2"]),
    ("workers-negative", ["--data.workers", "-1"]), ("checkpoint-every-negative", ["--run.checkpoint_every", "-1"]),
    ("monitor-every-zero", ["--run.monitor_every", "0"]), ("seed-negative", ["--run.seed", "-1"]),
    ("tensorboard-yes", ["--run.tensorboard", "yes"]), ("max-per-class-negative", ["--data.max_per_class", "-1"]),
    ("ignore-index-out-of-byte", ["--data.ignore_index", "300"]), ("aux-weight-negative", ["--optim.aux_loss_weight", "-1"]),
    ("optimizer-unknown", ["--optimizer", "sgdd"]), ("schedule-unknown", ["--schedule", "cosin"]),
    ("loss-unknown", ["--loss", "xent"]), ("model-unknown", ["--model", "lenet55"]), ("init-unknown", ["--model.init", "hee"]),
    ("normalize-unknown", ["--data.normalize", "zca"]), ("source-unknown", ["--data.source", "mnistt"]),
    ("fit-unknown", ["--data.fit", "crop"]), ("loader-unknown", ["--data.loader", "disk"]),
    ("precision-unknown", ["--run.precision", "fp8"]), ("device-unknown", ["--run.device", "tpu"]),
    ("progress-unknown", ["--run.progress", "loud"]), ("task-unknown", ["--data.task", "detection"]),
    ("watch-unknown", ["--optim.watch", "val_acc"]), ("augment-unknown", ["--data.augment", "[twirl]"]),
    ("key-unknown", ["--optim.lrr", "0.1"]), ("section-unknown", ["--training.lr", "0.1"]),
    ("model-args-list", ["--model.args", "[1, 2]"]), ("model-args-unknown", ["--model.args", "{width: 4}"]),
    ("classes-unknown", ["--data.classes", "[99]"]), ("classes-twice", ["--data.classes", "[1, 1]"]),
    ("class-balance-classifier", ["--optim.class_balance", "median_frequency"]),
    ("fp16-on-cpu", ["--run.precision", "fp16", "--run.device", "cpu"]), ("cuda-absent", ["--run.device", "cuda"]),
    ("folds-with-task", ["--data.task", "autoencoder", "--model", "conv_autoencoder", "--data.folds", "2"]),
    ("task-wrong-model", ["--data.task", "segmentation"]),
    ("diverges-at-once", ["--lr", "1e12"]),
]


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """A clean working folder; the check snapshots it before and after each case."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def assert_refused(corpus: Path, capsys, argv: list[str], keep: set[str] | None = None) -> str:
    before = files_under(corpus) if keep is None else keep
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, f"exit {code}; stderr: {captured.err[-2000:]}"
    assert len(lines) == 1 and len(lines[0]) <= 500, captured.err[:2000]
    assert "Traceback" not in captured.err
    new = files_under(corpus) - before
    assert not new, f"left behind: {sorted(new)[:10]}"
    assert not (corpus / MARKER).exists(), "a payload ran"
    return lines[0]


@pytest.mark.parametrize("flags", [flags for _, flags in SETTINGS], ids=[name for name, _ in SETTINGS])
def test_bad_settings(corpus, capsys, flags):
    assert_refused(corpus, capsys, ["train", *TINY, "--out_dir", "runs", *flags])


# ---- recipes --------------------------------------------------------------------------------------------------
RECIPES = {
    "empty": b"", "comments-only": b"# nothing here\n", "not-yaml": b"optim: {lr: [0.1\n", "a-list": b"- 1\n- 2\n",
    "a-number": b"42\n", "unknown-section": b"training: {lr: 0.1}\n", "section-not-a-mapping": b"optim: 3\n",
    "wrong-type": b"optim: {epochs: many}\n", "binary": bytes(range(256)) * 4,
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                  b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                  b"model: {name: mlp, args: {hidden: [*d, *d, *d, *d, *d, *d, *d, *d, *d]}}\n",
    "python-tag": b"model: !!python/object/apply:os.system ['touch payload-ran']\n",
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_bad_recipes(corpus, capsys, name):
    recipe = corpus / f"{name}.yaml"
    recipe.write_bytes(RECIPES[name])
    assert_refused(corpus, capsys, ["train", recipe, "--out_dir", "runs", "--progress", "off"])


def test_missing_recipe_and_a_folder_as_recipe(corpus, capsys):
    assert_refused(corpus, capsys, ["train", "absent.yaml", "--out_dir", "runs"])
    (corpus / "folder.yaml").mkdir()
    assert_refused(corpus, capsys, ["train", "folder.yaml", "--out_dir", "runs"])


# ---- data files -----------------------------------------------------------------------------------------------
def idx_bytes(type_code: int, shape: tuple, payload: bytes) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", n) for n in shape) + payload


def idx_folder(corpus: Path, images: bytes, labels: bytes, name: str = "idx") -> Path:
    folder = corpus / name
    folder.mkdir()
    for prefix in ("train", "t10k"):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(images)
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(labels)
    return folder


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_lying_header(corpus: Path) -> Path:
    """A valid zip whose x_train.npy header declares 99999999 x 99999999 bytes."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (99999999, 99999999)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    path = corpus / "lying.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", b"\x93NUMPY\x01\x00" + buffer.getvalue()[8:] + b"\x00" * 64)
        archive.writestr("y_train.npy", npz_member(np.zeros(4, dtype=np.int64)))
    return path


def npz_member(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def make_data(kind: str, corpus: Path) -> Path:
    digits = np.random.default_rng(0).integers(0, 255, (20, 8, 8), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 4
    good_images = idx_bytes(0x08, (20, 8, 8), digits.tobytes())
    good_labels = idx_bytes(0x08, (20,), labels.tobytes())
    if kind == "idx-truncated":
        return idx_folder(corpus, good_images[:-100], good_labels)
    if kind == "idx-lying-header":
        return idx_folder(corpus, idx_bytes(0x08, (2**31, 2**31, 2**31), b"\x00" * 64), good_labels)
    if kind == "idx-overflowing-header":
        return idx_folder(corpus, idx_bytes(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1), b"\x00" * 64), good_labels)
    if kind == "idx-bad-magic":
        return idx_folder(corpus, b"\x12\x34" + good_images[2:], good_labels)
    if kind == "idx-bad-type":
        return idx_folder(corpus, good_images[:2] + b"\x42" + good_images[3:], good_labels)
    if kind == "idx-count-mismatch":
        return idx_folder(corpus, good_images, idx_bytes(0x08, (19,), labels[:19].tobytes()))
    if kind == "idx-gzip-corrupt":  # a gzip stream cut in the middle
        return idx_folder(corpus, gzip.compress(good_images)[:60], good_labels)
    if kind == "idx-empty-files":
        return idx_folder(corpus, b"", b"")
    if kind == "npz-lying-header":
        return npz_lying_header(corpus)
    if kind == "npz-object-array":
        (corpus / "objects.npz").write_bytes(npz_bytes(x_train=np.array([Payload()] * 4, dtype=object),
                                                       y_train=np.zeros(4, dtype=np.int64)))
        return corpus / "objects.npz"
    if kind == "npz-no-known-arrays":
        (corpus / "odd.npz").write_bytes(npz_bytes(pictures=digits, answers=labels))
        return corpus / "odd.npz"
    if kind == "npz-length-mismatch":
        (corpus / "mismatch.npz").write_bytes(npz_bytes(x_train=digits, y_train=labels[:5]))
        return corpus / "mismatch.npz"
    if kind == "npz-truncated":
        (corpus / "cut.npz").write_bytes(npz_bytes(x_train=digits, y_train=labels)[:200])
        return corpus / "cut.npz"
    if kind == "npz-not-a-zip":
        (corpus / "text.npz").write_text("hello")
        return corpus / "text.npz"
    if kind == "npz-one-class":
        (corpus / "one.npz").write_bytes(npz_bytes(x_train=digits, y_train=np.zeros(20, dtype=np.int64)))
        return corpus / "one.npz"
    if kind == "npz-negative-labels":
        (corpus / "negative.npz").write_bytes(npz_bytes(x_train=digits, y_train=-np.ones(20, dtype=np.int64)))
        return corpus / "negative.npz"
    if kind == "npz-nan-images":
        (corpus / "nan.npz").write_bytes(npz_bytes(x_train=np.full((20, 8, 8), np.nan, dtype=np.float32), y_train=labels))
        return corpus / "nan.npz"
    if kind == "csv-ragged":
        (corpus / "ragged.csv").write_text("label,p0,p1\n1,2,3\n4,5\n")
        return corpus / "ragged.csv"
    if kind == "csv-text-pixels":
        (corpus / "words.csv").write_text("label,p0,p1,p2,p3\n1,a,b,c,d\n0,e,f,g,h\n")
        return corpus / "words.csv"
    if kind == "csv-empty":
        (corpus / "empty.csv").write_text("")
        return corpus / "empty.csv"
    if kind in ("folder-one-class", "folder-corrupt-image", "folder-empty", "folder-text-as-image"):
        folder = corpus / "images"
        classes = ["a"] if kind == "folder-one-class" else ["a", "b"]
        for name in classes if kind != "folder-empty" else []:
            (folder / name).mkdir(parents=True)
            for index in range(6):
                Image.fromarray(digits[index]).save(folder / name / f"{index}.png")
        if kind == "folder-empty":
            folder.mkdir()
        if kind == "folder-corrupt-image":
            (folder / "a" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
        if kind == "folder-text-as-image":
            (folder / "b" / "1.png").write_text("not an image")
        return folder
    if kind == "cifar-pickle-payload":
        folder = corpus / "cifar-10-batches-py"
        folder.mkdir()
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            (folder / name).write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}))
        (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
        return folder
    if kind == "cifar-truncated":
        folder = corpus / "cifar-10-batches-py"
        folder.mkdir()
        batch = pickle.dumps({b"data": np.zeros((4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}, protocol=2)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            (folder / name).write_bytes(batch[: len(batch) // 2])
        (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
        return folder
    if kind == "png-decompression-bomb":
        folder = corpus / "bomb"
        for name in ("a", "b"):
            (folder / name).mkdir(parents=True)
            for index in range(3):
                Image.fromarray(digits[index]).save(folder / name / f"{index}.png")
        bomb = Image.new("1", (60000, 60000))  # 1 bit a pixel: a small file that decodes to 3.6 gigapixels
        bomb.save(folder / "a" / "bomb.png", optimize=True)
        return folder
    if kind == "missing":
        return corpus / "absent"
    if kind == "unknown-file":
        (corpus / "notes.txt").write_text("hello")
        return corpus / "notes.txt"
    raise AssertionError(kind)


DATA = ["idx-truncated", "idx-lying-header", "idx-overflowing-header", "idx-bad-magic", "idx-bad-type",
        "idx-count-mismatch", "idx-gzip-corrupt", "idx-empty-files", "npz-lying-header", "npz-object-array",
        "npz-no-known-arrays", "npz-length-mismatch", "npz-truncated", "npz-not-a-zip", "npz-one-class",
        "npz-negative-labels", "npz-nan-images", "csv-ragged", "csv-text-pixels", "csv-empty", "folder-one-class",
        "folder-corrupt-image", "folder-empty", "folder-text-as-image", "cifar-pickle-payload", "cifar-truncated",
        "png-decompression-bomb", "missing", "unknown-file"]


@pytest.mark.parametrize("kind", DATA)
def test_bad_data_files(corpus, capsys, kind):
    path = make_data(kind, corpus)
    assert_refused(corpus, capsys, ["train", "--model", "mlp", "--model.args", "{hidden: [8]}", "--data", path,
                                    "--data.input_size", "8", "--epochs", "1", "--progress", "off", "--out_dir", "runs"])


@pytest.mark.parametrize("kind", ["idx-lying-header", "npz-lying-header", "npz-object-array", "cifar-pickle-payload",
                                  "folder-empty", "missing"])
def test_bad_data_files_for_data_info(corpus, capsys, kind):
    assert_refused(corpus, capsys, ["data", "info", make_data(kind, corpus)])


# ---- run directories ----------------------------------------------------------------------------------------
def tamper(run: Path, kind: str) -> None:
    meta = json.loads((run / "model.json").read_text())
    if kind == "model-json-not-json":
        (run / "model.json").write_text("{ not json")
    elif kind == "model-json-a-list":
        (run / "model.json").write_text("[1, 2, 3]")
    elif kind == "model-json-no-preprocess":
        meta.pop("preprocess")
        (run / "model.json").write_text(json.dumps(meta))
    elif kind == "model-json-no-class-names":
        meta.pop("class_names")
        (run / "model.json").write_text(json.dumps(meta))
    elif kind == "model-json-absurd-classes":
        meta["model"]["args"]["num_classes"] = 10**12
        (run / "model.json").write_text(json.dumps(meta))
    elif kind == "model-json-args-a-list":
        meta["model"]["args"] = [1, 2]
        (run / "model.json").write_text(json.dumps(meta))
    elif kind == "model-json-unknown-model":
        meta["model"]["name"] = "os.system"
        (run / "model.json").write_text(json.dumps(meta))
    elif kind == "model-json-huge":
        (run / "model.json").write_text(json.dumps({**meta, "padding": "x" * 30_000_000}))
    elif kind == "model-json-missing":
        (run / "model.json").unlink()
    elif kind == "weights-truncated":
        data = (run / "best.safetensors").read_bytes()
        (run / "best.safetensors").write_bytes(data[: len(data) // 2])
    elif kind == "weights-missing":
        (run / "best.safetensors").unlink()
    elif kind == "weights-garbage":
        (run / "best.safetensors").write_bytes(os.urandom(4096))
    elif kind == "weights-a-pickle":
        (run / "best.safetensors").write_bytes(pickle.dumps(Payload()))
    elif kind == "weights-wrong-shapes":
        state = load_file(run / "best.safetensors")
        save_file({name: torch.zeros(3) for name in state}, run / "best.safetensors")
    elif kind == "config-not-yaml":
        (run / "config.yaml").write_text("optim: {lr: [\n")
    elif kind == "config-unknown-key":
        (run / "config.yaml").write_text((run / "config.yaml").read_text() + "extra: {x: 1}\n")
    elif kind == "config-missing":
        (run / "config.yaml").unlink()
    elif kind == "config-python-tag":
        (run / "config.yaml").write_text("optim: !!python/object/apply:os.system ['touch payload-ran']\n")
    elif kind == "config-bad-epochs":
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("epochs: 2", "epochs: -3"))
    else:
        raise AssertionError(kind)


RUN_FILES = ["model-json-not-json", "model-json-a-list", "model-json-no-preprocess", "model-json-no-class-names",
             "model-json-absurd-classes", "model-json-args-a-list", "model-json-unknown-model", "model-json-huge",
             "model-json-missing", "weights-truncated", "weights-missing", "weights-garbage", "weights-a-pickle",
             "weights-wrong-shapes", "config-not-yaml", "config-unknown-key", "config-missing", "config-python-tag"]
READERS = {"evaluate": lambda run, corpus: ["evaluate", run],
           "predict": lambda run, corpus: ["predict", run, digit_file(corpus)],
           "report": lambda run, corpus: ["report", run],
           "export": lambda run, corpus: ["export", run, "--format", "torchscript"]}


def digit_file(corpus: Path) -> Path:
    path = corpus / "digit.png"
    if not path.exists():
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def run_copy(tiny_run, corpus):
    copy = corpus / "run"
    shutil.copytree(tiny_run, copy)
    return copy


# evaluate meets every kind of damage; the other readers a representative subset
READ_CASES = [(kind, "evaluate") for kind in RUN_FILES] + [
    (kind, reader) for reader in sorted(READERS) if reader != "evaluate"
    for kind in ("model-json-not-json", "model-json-absurd-classes", "weights-truncated", "weights-a-pickle",
                 "config-missing")]


@pytest.mark.parametrize("kind, reader", READ_CASES, ids=[f"{reader}-{kind}" for kind, reader in READ_CASES])
def test_tampered_run_files(corpus, capsys, run_copy, kind, reader):
    tamper(run_copy, kind)
    argv = READERS[reader](run_copy, corpus)
    assert_refused(corpus, capsys, argv)


CHECKPOINT = ["checkpoint-truncated", "checkpoint-missing-tensor", "checkpoint-text-for-number", "checkpoint-garbage",
              "checkpoint-missing", "config-bad-epochs", "metrics-corrupt"]


@pytest.mark.parametrize("kind", CHECKPOINT)
def test_tampered_resumes(corpus, capsys, run_copy, kind):
    checkpoint = run_copy / "checkpoint.safetensors"
    if kind == "checkpoint-truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    elif kind == "checkpoint-garbage":
        checkpoint.write_bytes(os.urandom(2000))
    elif kind == "checkpoint-missing":
        checkpoint.unlink()
    elif kind in ("checkpoint-missing-tensor", "checkpoint-text-for-number"):
        with safe_open(str(checkpoint), framework="pt") as file:
            metadata = dict(file.metadata())
        tensors = load_file(checkpoint)
        skeleton = json.loads(metadata["striate_checkpoint"])
        if kind == "checkpoint-missing-tensor":
            tensors.pop(next(iter(tensors)))
        else:
            skeleton["loop"]["epoch"] = "three"
        save_file(tensors, checkpoint, metadata={"striate_checkpoint": json.dumps(skeleton)})
    elif kind == "config-bad-epochs":
        tamper(run_copy, kind)
    elif kind == "metrics-corrupt":
        (run_copy / "metrics.jsonl").write_text('{"epoch": 1, "train_loss": 0.5}\n{"epoch": 2, "tr')
        assert_refused(corpus, capsys, ["plot", "curves", run_copy])
        return
    keep = files_under(corpus)
    assert_refused(corpus, capsys, ["train", "--resume", run_copy], keep)


# ---- commands -------------------------------------------------------------------------------------------------
def test_bad_command_arguments(corpus, capsys, run_copy):
    image = digit_file(corpus)
    (corpus / "text.png").write_text("not an image")
    cases = [["predict", run_copy, corpus / "absent.png"], ["predict", run_copy, corpus / "text.png"],
             ["predict", run_copy, image, "--top-k", "0"], ["predict", run_copy, image, "--top-k", "-5"],
             ["evaluate", corpus / "absent"], ["evaluate", corpus], ["plot", "filters", run_copy, "--layer", "nope"],
             ["plot", "feature-maps", run_copy, "--image", "99999"], ["summary", "lenet55"],
             ["summary", "lenet5", "--input", "3xbig"], ["features", run_copy, "--layer", "nope"],
             ["train", "--resume", corpus / "absent"], ["train", "--resume", run_copy, "--lr", "0.1"]]
    for argv in cases:
        assert_refused(corpus, capsys, argv)
