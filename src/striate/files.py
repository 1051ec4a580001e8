"""Safe files: atomic writes (a temporary file beside the target, fsync, rename), so that a crash at any
moment leaves either the old file or the new one, never half of one; files readable as the user's umask
says; the temporaries an interrupted write left behind cleared; a failed write (a full disk, no permission)
reported as one line naming the file.

>>> atomic_write_json("runs/x/summary.json", {"test_accuracy": 0.98})   # doctest: +SKIP
"""

import errno
import json
import os
import re
import tempfile
from pathlib import Path

from striate.errors import RunError


class FileWriteError(RunError):
    """A file could not be written (no space left, no permission, ...); the old file, if any, is intact."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file: mkstemp's 0600 is too private to share
# the temporaries of atomic_write_bytes: '.' + the target's name + '.' + mkstemp's 8 random characters + '.tmp'
TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that a crash at any moment leaves either the old file or the new one.
    Raises FileWriteError (the old file untouched, no temporary left) when the write fails."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise write_error(path, error) from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise write_error(path, error) from None
        raise


def atomic_write_json(path: str | Path, value) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode())


def write_error(path: Path, error: OSError) -> FileWriteError:
    """One line for a failed write: which file, why, and what to do."""
    reason = error.strerror or str(error)
    hint = {errno.ENOSPC: "free some disk space", errno.EDQUOT: "free some disk quota",
            errno.EACCES: "check the folder's permissions", errno.EROFS: "write to a writable folder",
            errno.EPERM: "check the folder's permissions"}.get(error.errno, "check the disk and the folder")
    return FileWriteError(f"could not write {path} ({reason}); {hint}")


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporaries of interrupted atomic writes in ``folder`` (never a real file); returns them.
    Call it only while no process writes the folder."""
    removed = []
    for entry in Path(folder).iterdir() if Path(folder).is_dir() else []:
        if TEMPORARY.match(entry.name) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
