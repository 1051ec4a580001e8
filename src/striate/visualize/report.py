"""The run report: one self-contained HTML file (images embedded as data URIs, no network access,
opens from disk) with the configuration, model summary, curves, final figures, confusion matrix,
top losses, filters, feature maps, top patches, deconvnet projections, guided backpropagation,
occlusion, layer monitors and the bias/variance verdict.

>>> write_report("runs/lenet5-mnist")            # doctest: +SKIP
PosixPath('runs/lenet5-mnist/report.html')
"""

import tempfile
import time
from pathlib import Path

from striate.console import get_logger
from striate.errors import StriateError
from striate.session import open_run
from striate.tasks import ClassificationTask
from striate.version import __version__
from striate.visualize.curves import read_step_records
from striate.visualize.report_sections import SECTIONS, ReportContext
from striate.visualize.task_report import TASK_SECTIONS
from striate.files import atomic_write_bytes
from striate.visualize import report_html as h

REPORT_NAME = "report.html"

_log = get_logger(__name__)


def build_sections(run_dir: str | Path, weights: str = "best", data_path: str | None = None) -> list[h.Section]:
    """Every section of the report, in page order: the run opened once through the session, its test split
    evaluated once by the task's meter (the figures summary.json and 'striate evaluate' give)."""
    run = open_run(run_dir, weights, data_path)
    _log.info(f"report: evaluating the test split of {run_dir} ...")
    with tempfile.TemporaryDirectory(prefix="striate-report-") as scratch:
        context = ReportContext(run, run.history, read_step_records(run.root), run.summary, Path(scratch))
        context.evaluation = run.evaluate()
        sections = SECTIONS if isinstance(run.task, ClassificationTask) else TASK_SECTIONS
        return [_build_logged(builder, context, index, len(sections)) for index, builder in enumerate(sections, 1)]


def _build_logged(builder, context, index: int, count: int) -> h.Section:
    """A section, with a progress line (some take a while: top patches, feature maps)."""
    started = time.perf_counter()
    section = _build_one(builder, context)
    _log.info(f"report: {index}/{count} {section.title} ({time.perf_counter() - started:.1f}s)")
    return section


def _build_one(builder, context) -> h.Section:
    """A section, or a note saying why it could not be drawn (a bad input, never a hidden bug)."""
    try:
        return builder(context)
    except StriateError as error:
        title = builder.__name__.replace("_", " ").capitalize()
        return h.Section(builder.__name__.replace("_", "-"), title, [h.note(f"{title} could not be drawn: {error}")])


def write_report(run_dir: str | Path, out_path: str | Path | None = None, weights: str = "best",
                 data_path: str | None = None) -> Path:
    """Write the report of ``run_dir`` (default ``run_dir/report.html``) atomically; returns its path."""
    run_dir = Path(run_dir)
    out_path = Path(out_path) if out_path else run_dir / REPORT_NAME
    sections = build_sections(run_dir, weights, data_path)
    name = run_dir.resolve().name

    page = h.render_page(f"striate run report: {name}", f"{run_dir} · {weights} weights · striate {__version__}", sections)
    atomic_write_bytes(out_path, page.encode("utf-8"))
    return out_path
