"""Reading a run's own files (its report, its summary) for the web app, and nothing else.

A run directory may come from someone else (an archive, a shared folder), so a file in it may be a
symbolic link to anything on this machine (``report.html -> /etc/passwd``). The app only reads
*regular files* that lie inside the run directory: any symbolic link on the way (the file itself
or a folder such as ``report/``) is refused, the resolved path must stay inside the run directory,
and the file is opened without following links and checked again after opening (so it cannot be
swapped for a link between the check and the read). The run directory itself may be a link
(``runs/latest -> runs/2024-...``): it is resolved once, first.

>>> read_run_file("runs/lenet5-mnist", "report.html")     # doctest: +SKIP
b'<!doctype html>...'
"""

import os
import stat
from pathlib import Path, PurePosixPath

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not hang us
               | getattr(os, "O_BINARY", 0))


def _checked(run_dir: str | Path, name: str) -> tuple[Path, os.stat_result] | None:
    """The path of the regular file ``name`` inside ``run_dir`` and its lstat, or None when it is missing,
    not a regular file, reached through a symbolic link, or resolves outside the run directory."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or any(part in (".", "..") for part in relative.parts):
        raise ValueError(f"not a plain relative name of a file in the run: {name!r}")  # names are fixed by the app
    try:
        root = Path(run_dir).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    path = root
    info = None
    for part in relative.parts:  # every step from the run directory down, without following links
        path = path / part
        try:
            info = os.lstat(path)
        except (OSError, ValueError):
            return None
        if stat.S_ISLNK(info.st_mode):
            return None
    if info is None or not stat.S_ISREG(info.st_mode):
        return None
    try:
        if not path.resolve(strict=True).is_relative_to(root):
            return None
    except (OSError, RuntimeError):
        return None
    return path, info


def run_file_exists(run_dir: str | Path, name: str) -> bool:
    """Whether ``name`` is a regular file inside ``run_dir`` that the app would serve."""
    return _checked(run_dir, name) is not None


def read_run_file(run_dir: str | Path, name: str) -> bytes | None:
    """The bytes of the regular file ``name`` inside ``run_dir``, or None when it is missing, is not a
    regular file, is (or is reached through) a symbolic link, or lies outside the run directory."""
    checked = _checked(run_dir, name)
    if checked is None:
        return None
    path, before = checked
    try:
        descriptor = os.open(path, _OPEN_FLAGS)  # O_NOFOLLOW: a link swapped in since the check fails here
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        opened = os.fstat(file.fileno())
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            return None  # something else was put in its place (or in place of a folder on the way)
        return file.read()
