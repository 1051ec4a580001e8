"""The ``striate`` logger: the lines long work prints while it runs (training's epoch lines, the progress
of check, lr-find, report, compare, transfer and export), notes and warnings, and where they go.

Results are not logged: the commands print them on stdout. Everything else goes through loggers under
``striate`` (each module takes ``get_logger(__name__)``), which this module sends to the console:

* records logged with ``extra=ON_STDOUT`` (training's epoch lines, as they always were) go to stdout,
  every other record to stderr; a WARNING or worse is prefixed ``warning:`` there;
* records logged with ``extra=FILE_ONLY`` (an epoch line the progress bar already drew) stay off the
  console and reach only the log files, such as a run's ``train.log`` (:func:`log_file`);
* :func:`configure` sets what the console shows: ``QUIET`` (``striate -q``) warnings and errors only,
  ``NORMAL`` progress and notes too, ``VERBOSE`` (``striate -v``) also the details logged at DEBUG.

The console handlers write to ``sys.stdout`` / ``sys.stderr`` as they are when a record comes, so
``contextlib.redirect_stdout`` and pytest's ``capsys`` see the lines. To route striate's records into an
application's own logging instead: ``logging.getLogger("striate").handlers.clear()`` and set its
``propagate`` to True.

>>> log = get_logger("striate.example")
>>> configure(QUIET); log.isEnabledFor(logging.INFO), shows_progress()
(True, False)
>>> configure(NORMAL)
"""

import contextlib
import logging
import sys
from pathlib import Path

NAME = "striate"
QUIET, NORMAL, VERBOSE = -1, 0, 1
ON_STDOUT = {"stdout": True}  # extra= of a record for stdout (the epoch lines of training)
FILE_ONLY = {"console": False}  # extra= of a record for the log files only
CONSOLE_LEVELS = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
FILE_FORMAT = "%(asctime)s %(message)s"
_verbosity = NORMAL  # what configure() last set


class _Format(logging.Formatter):
    """The message as given; ``warning:`` / ``error:`` in front of a WARNING or worse that lacks it."""

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelno
        prefix = "error: " if level >= logging.ERROR else "warning: " if level >= logging.WARNING else ""
        message = record.getMessage()
        if prefix and not message.startswith(prefix):  # a copy: the other handlers get the record as it was
            record = logging.makeLogRecord({**record.__dict__, "msg": prefix + message, "args": None})
        return super().format(record)


class _Console(logging.StreamHandler):
    """stdout (records with ``stdout=True``) or stderr (the rest), looked up at each record; records with
    ``console=False`` are left to the log files."""

    def __init__(self, on_stdout: bool):
        super().__init__()
        self.on_stdout = on_stdout
        self.setFormatter(_Format())
        self.addFilter(self._mine)

    def _mine(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True) and bool(getattr(record, "stdout", False)) == self.on_stdout

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError):  # 'striate train | head': the CLI stops quietly
            raise  # noqa: PLE0704 -- inside emit()'s except block
        super().handleError(record)

    @property
    def stream(self):
        return sys.stdout if self.on_stdout else sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ sets it; the property decides
        pass


class _RunFile(logging.FileHandler):
    """A log file whose failed write raises (a full disk is reported as one line, like any other file)."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise  # noqa: PLE0704 -- called inside the except block of emit(): re-raise its OSError


def _console_handlers(logger: logging.Logger) -> list[_Console]:
    return [handler for handler in logger.handlers if isinstance(handler, _Console)]


def get_logger(name: str = NAME) -> logging.Logger:
    """The logger ``name`` (under ``striate``), the console handlers set up on first use."""
    root = logging.getLogger(NAME)
    if not _console_handlers(root) and not getattr(root, "_striate_configured", False):
        root._striate_configured = True  # once: an application that removes the handlers keeps them removed
        root.addHandler(_Console(on_stdout=True))
        root.addHandler(_Console(on_stdout=False))
        root.setLevel(logging.INFO)
        root.propagate = False
    return logging.getLogger(name)


def configure(verbosity: int = NORMAL) -> int:
    """What the console shows: ``QUIET`` warnings and errors, ``NORMAL`` progress and notes too, ``VERBOSE``
    everything down to DEBUG. Log files always get progress and notes. Returns the verbosity it replaces."""
    global _verbosity
    verbosity, previous = max(QUIET, min(VERBOSE, verbosity)), _verbosity
    root = get_logger()
    root.setLevel(logging.DEBUG if verbosity >= VERBOSE else logging.INFO)
    for handler in _console_handlers(root):
        handler.setLevel(CONSOLE_LEVELS[verbosity])
    _verbosity = verbosity
    return previous


@contextlib.contextmanager
def verbosity(level: int):
    """:func:`configure` for the block, the previous verbosity restored after it (a command run by ``main``)."""
    previous = configure(level)
    try:
        yield
    finally:
        configure(previous)


def shows_progress() -> bool:
    """Whether the console shows progress lines (not under ``striate -q``): a live bar is drawn only then."""
    handlers = _console_handlers(get_logger())
    return not handlers or any(handler.level <= logging.INFO for handler in handlers)


@contextlib.contextmanager
def log_file(path: str | Path, enabled: bool = True):
    """Append every striate record of INFO and above (progress, notes, warnings, FILE_ONLY lines) to
    ``path``, with a time stamp, while the block runs (a run's ``train.log``)."""
    if not enabled:
        yield
        return
    handler = _RunFile(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(_Format(FILE_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    root = get_logger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
