"""The lesson notebooks in docs/notebooks run from top to bottom in a real Jupyter kernel of this interpreter,
without an error, and each shows at least one picture inline; a failing cell fails the execution.

Their runs go to a temporary folder (STRIATE_NOTEBOOK_OUT) and the kernel starts in another, so nothing is
written into the repository. Needs the `dev` extra's nbclient, nbformat and ipykernel (skipped without them).
"""

import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (pip install -e '.[dev]')")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (pip install -e '.[dev]')")
pytest.importorskip("ipykernel", reason="the notebook tests need ipykernel (pip install -e '.[dev]')")

from nbclient.exceptions import CellExecutionError  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
# the notebooks that take more than about 20 s on 2 CPU cores are marked slow (measured: 01 15 s, 02 24 s,
# 03 23 s, 04 22 s, kernel start included)
LESSONS = [
    pytest.param("01-pixels-to-lenet5.ipynb", id="01-pixels-to-lenet5"),
    pytest.param("02-debugging-a-network.ipynb", id="02-debugging-a-network", marks=pytest.mark.slow),
    pytest.param("03-transfer.ipynb", id="03-transfer", marks=pytest.mark.slow),
    pytest.param("04-beyond-classification.ipynb", id="04-beyond-classification", marks=pytest.mark.slow),
]
TIMEOUT = 600  # seconds per cell: far above what any cell needs, so that only a hang trips it


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A 'python3' kernel spec that runs this interpreter (installed in a temporary JUPYTER_PATH, found before
    any user or system spec of that name), one BLAS/OpenMP thread, and the notebooks' runs in tmp_path."""
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager

    install(kernel_name="python3", prefix=str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("STRIATE_NOTEBOOK_OUT", str(tmp_path / "runs"))
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve(), spec.argv
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


def execute(nb, cwd: Path):
    """Run every cell in a fresh python3 kernel started in ``cwd``; raises CellExecutionError on an error."""
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=TIMEOUT, startup_timeout=120,
                                     resources={"metadata": {"path": str(cwd)}})
    return client.execute()


def outputs(nb) -> list:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def test_notebooks_are_stored_without_outputs():
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert names == sorted(param.values[0] for param in LESSONS)
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert any(cell.cell_type == "markdown" for cell in nb.cells), name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name}: stored with outputs"
        assert "STRIATE_NOTEBOOK_OUT" in nb.cells[1].source, f"{name}: its runs must go under STRIATE_NOTEBOOK_OUT"


@pytest.mark.parametrize("name", LESSONS)
def test_notebook_runs_and_shows_pictures(name, kernel_env, tmp_path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    started = time.perf_counter()
    execute(nb, kernel_env)
    seconds = time.perf_counter() - started
    produced = outputs(nb)
    errors = [output for output in produced if output.output_type == "error"]
    assert not errors, errors
    images = [output for output in produced if output.output_type in ("display_data", "execute_result")
              and "image/png" in output.get("data", {})]
    assert images, f"{name} showed no inline picture"
    assert any((tmp_path / "runs").rglob("summary.json")), "the notebook's runs did not go under STRIATE_NOTEBOOK_OUT"
    assert not any(kernel_env.iterdir()), f"{name} wrote into its working folder: {sorted(kernel_env.iterdir())}"
    print(f"{name}: {seconds:.1f}s, {len(images)} pictures")


def test_a_failing_cell_fails_the_execution(kernel_env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import striate\nvalue = 1"),
                                         nbformat.v4.new_code_cell('raise ValueError("boom")'),
                                         nbformat.v4.new_code_cell("never = True")])
    with pytest.raises(CellExecutionError, match="boom"):
        execute(nb, kernel_env)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count == 1  # the good cell ran
    assert nb.cells[1].outputs[0].output_type == "error" and nb.cells[1].outputs[0].ename == "ValueError"
    assert nb.cells[2].execution_count is None  # execution stopped at the error


def test_the_readme_links_every_notebook():
    readme = (NOTEBOOKS.parents[1] / "README.md").read_text()
    for path in NOTEBOOKS.glob("*.ipynb"):
        assert f"docs/notebooks/{path.name}" in readme, path.name
