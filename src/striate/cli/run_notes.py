"""Notes the commands that read a run print beside their output."""

import sys


def warn_if_training(run) -> None:
    """Say on stderr when the run is still being trained by another process: its files are those of the
    last finished epoch (best weights and logs move on while it trains)."""
    if run.writer is not None:
        holder = f" (PID {run.writer})" if run.writer > 0 else ""
        print(f"note: {run.root} is still training{holder}; these figures are from its last finished epoch",
              file=sys.stderr)
