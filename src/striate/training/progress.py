"""Progress display: a live bar (rich) on a terminal, one plain line per epoch otherwise.

Every epoch line goes through the ``striate.training.progress`` logger, so that a run's train.log holds it
whatever is shown: as a console line on stdout (``lines``), or to the log files only when the bar drew it or
progress is ``off``. ``striate -q`` turns the console display off (striate.console).
"""

import sys
import time

from striate.console import FILE_ONLY, ON_STDOUT, get_logger, shows_progress
from striate.errors import ConfigError

_log = get_logger(__name__)


def _quality(figures: dict, prefix: str) -> str:
    """' acc 98.10%' for classifiers; the task's figures (' miou 0.7123 pixel_accuracy 0.9512') otherwise."""
    if f"{prefix}_accuracy" in figures:
        return f" acc {100 * figures[f'{prefix}_accuracy']:6.2f}%"
    return "".join(f" {name[len(prefix) + 1:]} {value:.4f}" for name, value in figures.items()
                   if name.startswith(prefix + "_") and name != f"{prefix}_loss")


def format_epoch(figures: dict, epochs: int) -> str:
    """One line of per-epoch figures, as printed to logs and CI."""
    line = f"epoch {figures['epoch']:>3}/{epochs}  train loss {figures['train_loss']:.4f}" + _quality(figures, "train")
    if "val_loss" in figures:
        line += f"  val loss {figures['val_loss']:.4f}" + _quality(figures, "val")
    return line + f"  {figures['images_per_second']:,.0f} img/s  {figures['seconds']:.1f}s"


class LineProgress:
    """One line per epoch (log files, CI): through the logger to stdout, or printed on ``stream`` when one is
    given (and then logged to the log files only)."""

    def __init__(self, epochs: int, steps_per_epoch: int, stream=None):
        self.epochs = epochs
        self.given = stream  # None: the logger's console (stdout)
        self.stream = stream or sys.stdout

    def on_step(self, figures: dict) -> None:
        pass

    def on_epoch(self, figures: dict) -> None:
        line = format_epoch(figures, self.epochs)
        if self.given is not None:
            print(line, file=self.given, flush=True)
        _log.info(line, extra=ON_STDOUT if self.given is None else FILE_ONLY)

    def close(self) -> None:
        pass


class BarProgress(LineProgress):
    """A live bar per epoch with loss, accuracy and throughput; the epoch line stays when it ends."""

    def __init__(self, epochs: int, steps_per_epoch: int, stream=None):
        super().__init__(epochs, steps_per_epoch, stream)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # in a notebook, rich draws the bar as a live cell output (its Jupyter support); elsewhere on the stream
        self.console = Console() if in_notebook() and self.stream is sys.stdout else Console(file=self.stream)
        self.steps_per_epoch = steps_per_epoch
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[figures]}"), TimeRemainingColumn(),
                                 console=self.console, transient=True)
        self.progress.start()
        self.task = None
        self.epoch = 0
        self.shown = 0.0  # time.monotonic() of the last redraw

    def on_step(self, figures: dict) -> None:
        if self.task is None:
            self.epoch += 1
            self.task = self.progress.add_task(f"epoch {self.epoch}/{self.epochs}", total=self.steps_per_epoch, figures="")
        now = time.monotonic()  # redrawn 5 times a second: each read of the figures waits for a GPU
        if now - self.shown >= 0.2 or figures["step"] % self.steps_per_epoch == 0:
            self.shown = now
            accuracy = f"acc {100 * figures['accuracy']:.2f}% " if "accuracy" in figures else ""
            text = (f"loss {figures['loss']:.4f} {accuracy}"
                    f"{figures['images'] / max(figures['seconds'], 1e-9):,.0f} img/s")
            self.progress.update(self.task, completed=(figures["step"] - 1) % self.steps_per_epoch + 1, figures=text)

    def on_epoch(self, figures: dict) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        line = format_epoch(figures, self.epochs)
        self.console.print(line, highlight=False)
        _log.info(line, extra=FILE_ONLY)

    def close(self) -> None:
        self.progress.stop()


class SilentProgress(LineProgress):
    """Nothing on the console; the epoch lines still reach the log files (train.log)."""

    def on_epoch(self, figures: dict) -> None:
        _log.info(format_epoch(figures, self.epochs), extra=FILE_ONLY)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where the bar renders inline)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def make_progress(mode: str, epochs: int, steps_per_epoch: int, stream=None) -> LineProgress:
    """``auto`` picks the bar on a terminal and plain lines otherwise; ``bar``, ``lines`` and ``off`` force one.
    Without a ``stream``, a quiet console (``striate -q``) shows none."""
    kinds = {"auto": None, "bar": BarProgress, "lines": LineProgress, "off": SilentProgress}
    if mode not in kinds:
        raise ConfigError(f"unknown run.progress '{mode}'; expected auto, bar, lines or off")
    if stream is None and not shows_progress():
        mode = "off"
    shown = stream or sys.stdout
    if mode == "auto":
        mode = "bar" if shown.isatty() or (in_notebook() and shown is sys.stdout) else "lines"
    return kinds[mode](epochs, steps_per_epoch, stream)
