"""Notes the commands that read a run print beside their output (on stderr, through the striate logger:
silenced by -q)."""

from striate.console import get_logger

_log = get_logger(__name__)


def warn_if_training(run) -> None:
    """Say on stderr when the run is still being trained by another process: its files are those of the
    last finished epoch (best weights and logs move on while it trains)."""
    if run.writer is not None:
        holder = f" (PID {run.writer})" if run.writer > 0 else ""
        _log.info(f"note: {run.root} is still training{holder}; these figures are from its last finished epoch")
