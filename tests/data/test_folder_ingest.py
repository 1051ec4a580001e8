"""Image-folder ingest (issue 21): listing without sorting what is then dropped, parallel decoding, and the
decoded, checksummed cache that a changed folder rebuilds."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from striate.data import folder as folders


def _write(path: Path, value: int, size=(8, 6), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.arange(size[0] * size[1] * 3).reshape(size[1], size[0], 3) * 7 + value) % 256
    image = Image.fromarray(pixels.astype(np.uint8), "RGB").convert(mode)
    image.save(path)


def test_max_per_class_keeps_the_first_files_in_path_order(tmp_path):
    # Path order compares the parts: "Z" < "a" (upper case first), "a" < "a.png" < "a0.png" < "b.png",
    # and the sub-folder "a/" (part "a") comes before the file "a.png"; so the first four are
    # Z.png, a/x.png, a.png, a0.png; b.png and c/y.png are dropped. Hidden and non-image files never count.
    for name in ("b.png", "a0.png", "c/y.png", "a.png", "Z.png", "a/x.png", ".hidden.png", "notes.txt"):
        if name.endswith(".png"):
            _write(tmp_path / "cat" / name, 1)
        else:
            (tmp_path / "cat" / name).write_text("x")
    _write(tmp_path / "dog" / "only.png", 2)
    files = folders.list_files(tmp_path, max_per_class=4)
    relative = [path.relative_to(tmp_path).as_posix() for path in files.paths]
    assert relative == ["cat/Z.png", "cat/a/x.png", "cat/a.png", "cat/a0.png", "dog/only.png"]
    assert files.labels == [0, 0, 0, 0, 1] and files.class_names == ["cat", "dog"]
    everything = folders.list_files(tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in everything.paths][:6] == \
        ["cat/Z.png", "cat/a/x.png", "cat/a.png", "cat/a0.png", "cat/b.png", "cat/c/y.png"]


def _folder(root: Path, count: int = 6) -> Path:
    for index in range(count):
        _write(root / "cat" / f"{index:02d}.png", index, size=(9 + index, 7))  # several sizes: resized and cropped
        _write(root / "dog" / f"{index:02d}.jpg", 100 + index)
    return root


def test_parallel_decoding_gives_the_serial_images(tmp_path, monkeypatch):
    folder = _folder(tmp_path / "pets")
    (folder / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    monkeypatch.setattr(folders, "DECODE_CHUNK", 4)  # several chunks from a tiny folder
    files = folders.list_files(folder)
    images, labels, kept = folders.decode_files(files, 3, 8)
    parallel, parallel_labels, parallel_kept = folders.decode_files(files, 3, 8, workers=2)
    assert images.shape == (12, 3, 8, 8) and images.dtype == parallel.dtype
    assert (images == parallel).all() and (labels == parallel_labels).all()
    assert kept.paths == parallel_kept.paths and kept.bad == parallel_kept.bad
    assert [Path(path).name for path, _ in parallel_kept.bad] == ["broken.jpg"]


@pytest.mark.slow
def test_spawned_workers_give_the_serial_images_too(tmp_path, monkeypatch):
    """Where there is no fork (Windows, macOS' default), the workers send their arrays back instead."""
    import multiprocessing

    folder = _folder(tmp_path / "pets")
    (folder / "cat" / "broken.png").write_bytes(b"not a png")
    monkeypatch.setattr(folders, "DECODE_CHUNK", 5)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    files = folders.list_files(folder)
    images, labels, kept = folders.decode_files(files, 3, 8)
    spawned, spawned_labels, spawned_kept = folders.decode_files(files, 3, 8, workers=2)
    assert images.shape == (12, 3, 8, 8) and torch.equal(images, spawned) and torch.equal(labels, spawned_labels)
    assert kept.paths == spawned_kept.paths and kept.bad == spawned_kept.bad and len(kept.bad) == 1


def _load(folder: Path, **options):
    from striate.data.file_sources import image_folder

    return image_folder(folder, input_size=8, skip_bad=True, **options)


def _same(first, second) -> bool:
    return all((first[split].images == second[split].images).all() and
               (first[split].labels == second[split].labels).all() for split in first) and set(first) == set(second)


def _from_cache(splits) -> bool:
    return any(note.startswith("decoded images read from the cache") for note in splits.notes)


def test_second_load_reads_the_cache(tmp_path):
    folder = _folder(tmp_path / "pets")
    (folder / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    first = _load(folder)
    assert not _from_cache(first) and any(note.startswith("decoded images cached in") for note in first.notes)
    second = _load(folder)
    assert _from_cache(second) and _same(first, second)
    assert second["train"].class_names == ["cat", "dog"]
    assert second["train"].skipped == first["train"].skipped and len(second["train"].skipped) == 1


def test_a_changed_folder_is_decoded_again(tmp_path):
    folder = _folder(tmp_path / "pets")
    _load(folder)
    _write(folder / "cat" / "new.png", 50)  # a file added
    added = _load(folder)
    assert not _from_cache(added) and len(added["train"]) == 13
    assert _from_cache(_load(folder))
    target = folder / "dog" / "00.jpg"
    _write(target, 200, size=(8, 8))  # a file replaced: another size and mtime
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    replaced = _load(folder)
    assert not _from_cache(replaced) and not _same(added, replaced)
    (folder / "cat" / "new.png").unlink()  # a file removed
    assert len(_load(folder)["train"]) == 12


def test_a_damaged_cache_is_ignored_and_rebuilt(tmp_path, caplog):
    import json

    from striate.data.folder_cache import MAGIC, cache_file

    folder = _folder(tmp_path / "pets")
    first = _load(folder)
    stored = cache_file(folder, 8, 0)
    payload = bytearray(stored.read_bytes())
    length = int.from_bytes(payload[len(MAGIC) : len(MAGIC) + 8], "little")
    header = json.loads(payload[len(MAGIC) + 8 : len(MAGIC) + 8 + length])
    payload[header["splits"]["train"]["images"]["offset"] + 100] ^= 0xFF  # one byte of the images flipped
    stored.write_bytes(bytes(payload))
    with caplog.at_level("WARNING", logger="striate.data"):
        again = _load(folder)
    assert not _from_cache(again) and _same(first, again)
    assert any("damaged image cache" in record.getMessage() for record in caplog.records)
    assert _from_cache(_load(folder))  # rebuilt
    stored.write_bytes(stored.read_bytes()[:-500])  # cut short
    assert not _from_cache(_load(folder))
    stored.write_bytes(b"garbage")
    assert not _from_cache(_load(folder))
    assert _from_cache(_load(folder))


def test_cache_off_never_writes(tmp_path):
    from striate.data.folder_cache import cache_root

    folder = _folder(tmp_path / "pets")
    first = _load(folder, cache=False)
    second = _load(folder, cache=False)
    assert not _from_cache(second) and _same(first, second)
    assert not (cache_root() / "folders").exists()


def test_cache_keys_on_the_reading_options(tmp_path):
    folder = _folder(tmp_path / "pets")
    _load(folder)
    capped = _load(folder, max_per_class=2)
    assert not _from_cache(capped) and len(capped["train"]) == 4
    from striate.data.file_sources import image_folder

    larger = image_folder(folder, input_size=12)
    assert not _from_cache(larger) and larger["train"].images.shape[-1] == 12
