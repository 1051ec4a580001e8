"""Downloading the public data sets: checksummed, resumable (HTTP Range), atomic.

A file is fetched into ``NAME.part`` (resumed from its length when the server honours
``Range``), its MD5 is checked, and only then renamed to ``NAME``; a checksum mismatch
deletes the partial file. Archives are extracted into a temporary folder and renamed into
place, so a folder is either complete or absent.

The URL base can be replaced (a mirror, or a local server in tests) with ``--mirror`` or
the ``STRIATE_DOWNLOAD_MIRROR`` environment variable.

>>> download_dataset("mnist", "data")   # doctest: +SKIP
PosixPath('data/mnist')
"""

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from striate.errors import DataError, clip, did_you_mean

MIRROR_VARIABLE = "STRIATE_DOWNLOAD_MIRROR"
DATA_DIR_VARIABLE = "STRIATE_DATA_DIR"
_BLOCK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str


@dataclass(frozen=True)
class DataSet:
    base_urls: tuple[str, ...]  # tried in order
    files: tuple[RemoteFile, ...]
    extract: bool = False  # a .tar.gz to unpack


def _idx_files(*md5s: str) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(name, md5) for name, md5 in zip(names, md5s))


# The official files and their published MD5 checksums (as torchvision records them).
DATASETS = {
    "mnist": DataSet(("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
                     _idx_files("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
    "fashion-mnist": DataSet(("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
                             _idx_files("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
    "cifar10": DataSet(("https://www.cs.toronto.edu/~kriz/",),
                       (RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),), extract=True),
    "cifar100": DataSet(("https://www.cs.toronto.edu/~kriz/",),
                        (RemoteFile("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),), extract=True),
}


def default_data_dir() -> Path:
    """Where downloaded data sets live: $STRIATE_DATA_DIR or ~/.cache/striate/data."""
    return Path(os.environ.get(DATA_DIR_VARIABLE) or Path.home() / ".cache" / "striate" / "data")


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "striate"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https URLs only, checked by caller)


def download_file(url: str, destination: str | Path, md5: str, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``destination`` (resuming ``destination.part``), check its MD5, rename atomically.
    An existing ``destination`` with the right checksum is kept as it is."""
    destination = Path(destination)
    if not url.startswith(("http://", "https://")):
        raise DataError(f"unsupported URL {url}; expected http:// or https://")
    if destination.is_file() and file_md5(destination) == md5:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    offset = partial.stat().st_size if partial.is_file() else 0
    try:
        with _open(url, offset, timeout) as response:
            resumed = offset > 0 and response.status == 206
            expected = int(response.headers.get("Content-Length") or -1)
            with partial.open("ab" if resumed else "wb") as file:
                start = file.tell()
                shutil.copyfileobj(response, file, _BLOCK)
                received = file.tell() - start
        if 0 <= received < expected:  # the connection closed early: keep the part to resume from
            raise http.client.IncompleteRead(b"", expected - received)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the partial file is already complete (or longer than the file)
            pass
        else:
            raise DataError(f"{url}: HTTP error {error.code} ({error.reason}); try again later or use --mirror") from None
    except urllib.error.URLError as error:  # no connection was made (DNS, refused, unreachable, connect timeout)
        host = urllib.parse.urlsplit(url).hostname
        raise DataError(f"cannot reach {host} ({clip(error.reason, 120)}; no network?): {url} was not downloaded; "
                        "connect and run the command again, or give a reachable copy with --mirror URL") from None
    except (http.client.HTTPException, OSError, TimeoutError) as error:
        raise DataError(f"{url}: download interrupted ({getattr(error, 'reason', error)}); run the command again "
                        f"to resume from {partial.stat().st_size if partial.is_file() else 0} bytes") from None
    actual = file_md5(partial)
    if actual != md5:
        partial.unlink(missing_ok=True)
        raise DataError(f"{destination.name}: checksum mismatch (md5 {actual}, expected {md5}); the download is "
                        "corrupt or the server sent another file, so it was deleted; run the command again")
    os.replace(partial, destination)
    return destination


def _extract(archive: Path, folder: Path) -> None:
    """Unpack a .tar.gz into ``folder`` through a temporary sibling (only regular files and folders)."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        for child in staging.iterdir():
            target = folder / child.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(child, target)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataError(f"{archive}: cannot extract ({error}); delete it and download again") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_dataset(name: str, directory: str | Path | None = None, mirror: str | None = None,
                     timeout: float = 60.0) -> Path:
    """Download (and unpack) data set ``name`` into ``directory/name``; returns that folder."""
    if name not in DATASETS:
        raise DataError(f"unknown data set '{name}'{did_you_mean(name, DATASETS)}; expected one of {sorted(DATASETS)}")
    spec = DATASETS[name]
    folder = Path(directory) / name if directory else default_data_dir() / name
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get(MIRROR_VARIABLE)
    bases = (mirror.rstrip("/") + "/",) if mirror else spec.base_urls
    try:
        _fetch_all(spec, bases, folder, timeout)
    except DataError:
        for made in created:  # the folders this call made and left empty (nothing to resume from): gone again
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise
    return folder


def _fetch_all(spec: DataSet, bases: tuple[str, ...], folder: Path, timeout: float) -> None:
    for remote in spec.files:
        last_error = None
        for base in bases:
            try:
                path = download_file(base + remote.name, folder / remote.name, remote.md5, timeout)
                break
            except DataError as error:
                last_error = error
        else:
            raise last_error
        if spec.extract:
            _extract(path, folder)
