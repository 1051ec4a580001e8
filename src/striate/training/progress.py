"""Progress display: a live bar (rich) on a terminal, one plain line per epoch otherwise."""

import sys

from striate.errors import ConfigError


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
    """One line per epoch on ``stream`` (log files, CI)."""

    def __init__(self, epochs: int, steps_per_epoch: int, stream=None):
        self.epochs = epochs
        self.stream = stream or sys.stdout

    def on_step(self, figures: dict) -> None:
        pass

    def on_epoch(self, figures: dict) -> None:
        print(format_epoch(figures, self.epochs), file=self.stream, flush=True)

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

    def on_step(self, figures: dict) -> None:
        if self.task is None:
            self.epoch += 1
            self.task = self.progress.add_task(f"epoch {self.epoch}/{self.epochs}", total=self.steps_per_epoch, figures="")
        if figures["step"] % 5 == 0 or figures["step"] % self.steps_per_epoch == 0:
            accuracy = f"acc {100 * figures['accuracy']:.2f}% " if "accuracy" in figures else ""
            text = (f"loss {figures['loss']:.4f} {accuracy}"
                    f"{figures['images'] / max(figures['seconds'], 1e-9):,.0f} img/s")
            self.progress.update(self.task, completed=(figures["step"] - 1) % self.steps_per_epoch + 1, figures=text)

    def on_epoch(self, figures: dict) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
        self.console.print(format_epoch(figures, self.epochs), highlight=False)

    def close(self) -> None:
        self.progress.stop()


class SilentProgress(LineProgress):
    def on_epoch(self, figures: dict) -> None:
        pass


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where the bar renders inline)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def make_progress(mode: str, epochs: int, steps_per_epoch: int, stream=None) -> LineProgress:
    """``auto`` picks the bar on a terminal and plain lines otherwise; ``bar``, ``lines`` and ``off`` force one."""
    stream = stream or sys.stdout
    if mode == "auto":
        mode = "bar" if stream.isatty() or (in_notebook() and stream is sys.stdout) else "lines"
    kinds = {"bar": BarProgress, "lines": LineProgress, "off": SilentProgress}
    if mode not in kinds:
        raise ConfigError(f"unknown run.progress '{mode}'; expected auto, bar, lines or off")
    return kinds[mode](epochs, steps_per_epoch, stream)
