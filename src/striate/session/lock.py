"""One writer per run directory: a lock held for the whole session (train, resume, fine-tune, compare's
runs), released on any exit, and never stale: it is an ``flock`` on ``RUN/.lock``, which the kernel drops
when the holding process ends, however it ends (SIGKILL included). The file keeps the holder's PID so that
a second writer's message can name it. Readers (evaluate, report, predict, serve) never take the lock;
:func:`writer_of` tells them whether a run is still being written.

>>> with RunLock(Path("runs/lenet5-mnist")):    # doctest: +SKIP
...     pass                                     # the only writer of the run in here
"""

import fcntl
import json
import os
import time
from pathlib import Path

from striate.errors import RunError

LOCK_FILE = ".lock"


class RunLock:
    """Exclusive, non-blocking: a second writer gets a RunError naming the run and the holder's PID."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.handle: int | None = None

    def acquire(self) -> "RunLock":
        path = self.root / LOCK_FILE
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            holder = _holder(path)
            raise RunError(f"{self.root} is being written by another striate process{holder}; wait for it to end "
                           "(or stop it) before training or resuming this run") from None
        os.ftruncate(handle, 0)
        os.write(handle, json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode())
        self.handle = handle
        return self

    def release(self) -> None:
        if self.handle is not None:
            os.close(self.handle)  # closing drops the flock; the file stays (unlinking it would race)
            self.handle = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(path: Path) -> str:
    try:
        pid = json.loads(path.read_text()[:200]).get("pid")
    except (OSError, ValueError, AttributeError):
        return ""
    return f" (PID {int(pid)})" if isinstance(pid, int) else ""


def writer_of(root: Path) -> int | None:
    """The PID of the process writing the run now (None when no process holds its lock)."""
    path = Path(root) / LOCK_FILE
    if not path.is_file():
        return None
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(path)
        return int(holder.strip(" ()PID")) if holder else -1
    else:
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
    finally:
        os.close(handle)
