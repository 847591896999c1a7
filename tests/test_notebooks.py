"""The tutorials in ``notebooks/`` run top to bottom, and the committed files stay small.

Each notebook is executed with ``nbclient`` (kernel ``python3``) in a temporary working
directory, never in the repository: a copy of the notebook is read, the cell tagged
``parameters`` (if any) is replaced by a tiny budget from :data:`SMALL_PARAMETERS`, and every
cell must run without error. Images the notebook displays (``image/png`` outputs) and image
files it writes (``*.png``, ``*.gif`` under the working directory) must be real, non-empty
images.

The budgets keep each notebook well under two minutes here; the values in the committed
``parameters`` cells are the ones a reader runs.
"""

from __future__ import annotations

import ast
import re
import base64
import json
import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))

#: Tiny budgets injected into each notebook's ``parameters`` cell (by file name). Values are
#: written with ``repr``; the special value :data:`TMP` is replaced by a directory inside the
#: test's working directory.
TMP = object()
SMALL_PARAMETERS: dict[str, dict] = {
    "03_distill_cartpole.ipynb": {"STEPS": 120, "EVAL_EVERY": 60, "EVAL_EPISODES": 1, "FRAME_EVERY": 20,
                                  "OUT_DIR": TMP},
    "04_ablations.ipynb": {"STEPS": 60, "EVAL_EVERY": 30, "EVAL_EPISODES": 1, "SEEDS": [0],
                           "OUT_DIR": TMP},
    "05_estimators_playground.ipynb": {"N_SAMPLES": 120, "MAX_ITER": 3, "RECORD_EVERY": 6,
                                       "GROWTH": {"init_weight_scale": 0.1, "max_iter": 4, "max_params": 2000},
                                       "OUT_DIR": TMP},
    "07_what_drives_growth.ipynb": {"LIVE_STEPS": 300},
}

#: Files each notebook must write under its ``OUT_DIR`` (glob patterns, at least one match each).
EXPECTED_FILES: dict[str, list[str]] = {
    "03_distill_cartpole.ipynb": ["**/*.gif", "**/frame_*.png", "**/metrics.csv"],
    "04_ablations.ipynb": ["**/metrics.csv", "variants.png", "size_vs_return.png"],
    "05_estimators_playground.ipynb": ["*_boundary.gif", "*_frames/frame_*.png"],
}

#: Notebooks that end with exercises, each with at least this many hidden solution cells.
EXERCISES: dict[str, int] = {
    "01_graph_and_forward.ipynb": 2,
    "02_spm_step_by_step.ipynb": 2,
    "06_from_scratch.ipynb": 2,
}

#: Per-cell timeout, seconds: generous for a loaded shared machine; the notebooks themselves
#: are sized to run in well under a minute with the budgets above.
CELL_TIMEOUT = 300

#: Largest committed notebook file, and largest single output inside it.
MAX_NOTEBOOK_BYTES = 500_000
MAX_OUTPUT_BYTES = 100_000

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGIC = (b"GIF87a", b"GIF89a")



# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def patient_channels(monkeypatch):
    """The notebook client's kernel channels wait in short polls
    (:func:`smgrnn_ref._kernel_polls.get_msg_in_slices` says why)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    from smgrnn_ref._kernel_polls import get_msg_in_slices

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", get_msg_in_slices)


def parameters_cell(nb):
    """The code cell tagged ``parameters`` (papermill's convention), or ``None``."""
    tagged = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(tagged) > 1:
        raise ValueError(f"{len(tagged)} cells are tagged 'parameters'; expected at most one")
    return tagged[0] if tagged else None


def assigned_names(source: str) -> set[str]:
    """Names assigned at the top level of a cell's source."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, ast.Name):
                names.add(t.id)
    return names


def inject_parameters(nb, values: dict) -> None:
    """Replace the source of the ``parameters`` cell by the original followed by ``values``.

    The original assignments stay (so a name the test does not override keeps its default);
    the overrides come after them. Every overridden name must be assigned in the original
    cell, so a renamed parameter fails loudly instead of being silently ignored.
    """
    if not values:
        return
    cell = parameters_cell(nb)
    if cell is None:
        raise ValueError("the notebook has no cell tagged 'parameters' to override")
    unknown = sorted(set(values) - assigned_names(cell.source))
    if unknown:
        raise ValueError(f"parameters {unknown} are not assigned in the notebook's parameters cell")
    lines = [f"{k} = {v!r}" for k, v in values.items()]
    cell.source = cell.source.rstrip("\n") + "\n\n# --- injected by tests/test_notebooks.py ---\n" + "\n".join(lines) + "\n"


def execute_notebook(path: Path, workdir: Path, values: dict | None = None):
    """Execute a copy of ``path`` with ``workdir`` as the kernel's working directory."""
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, values or {})
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(workdir)}},
    )
    t0 = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - t0


def solution_cells(nb) -> list:
    """The code cells tagged ``solution`` (an exercise's answer, collapsed in Jupyter)."""
    return [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]


def displayed_pngs(nb) -> list[bytes]:
    """Every ``image/png`` output of the executed notebook, decoded."""
    images = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                images.append(base64.b64decode(data["image/png"]))
    return images


def output_bytes(out) -> int:
    return len(json.dumps(out))


# --- execution -------------------------------------------------------------------------------


@pytest.fixture
def kernel_env(monkeypatch):
    """The kernel imports this checkout even when the package is not installed, and uses
    IPython's inline matplotlib backend (so figures become ``image/png`` outputs)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("MPLBACKEND", raising=False)


def test_notebooks_are_found_and_numbered():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers and numbers == list(range(1, len(numbers) + 1)), [p.name for p in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, kernel_env, patient_channels):
    workdir = tmp_path / "work"
    workdir.mkdir()
    values = {k: (str(workdir / "out") if v is TMP else v) for k, v in SMALL_PARAMETERS.get(path.name, {}).items()}
    before = sorted(p.name for p in NB_DIR.iterdir())

    nb, elapsed = execute_notebook(path, workdir, values)
    print(f"\n{path.name}: executed in {elapsed:.1f} s")

    # nothing was written next to the notebooks
    assert sorted(p.name for p in NB_DIR.iterdir()) == before
    # the exercises' solutions ran (a failing assert in one would have failed the execution)
    for cell in solution_cells(nb):
        assert cell.execution_count is not None, cell.source[:80]
        assert not any(o.get("output_type") == "error" for o in cell.outputs)
    # every displayed image is a non-empty PNG, and each tutorial shows at least one picture
    pngs = displayed_pngs(nb)
    assert pngs, f"{path.name} displayed no image"
    for img in pngs:
        assert img.startswith(PNG_MAGIC) and len(img) > 1000
    # every image file the notebook wrote is a real, non-empty image
    for f in workdir.rglob("*"):
        if f.suffix == ".png":
            assert f.read_bytes().startswith(PNG_MAGIC), f
        elif f.suffix == ".gif":
            assert f.read_bytes()[:6] in GIF_MAGIC, f
        if f.suffix in (".png", ".gif"):
            assert f.stat().st_size > 100, f"{f} is (nearly) empty"
    for pattern in EXPECTED_FILES.get(path.name, []):
        found = list((workdir / "out").glob(pattern))
        assert found, f"{path.name} wrote no file matching {pattern} under OUT_DIR"
        assert all(f.stat().st_size > 0 for f in found)


# --- the committed files ---------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_small_and_well_formed(path):
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    # the first cell is markdown and cites the paper
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "2512.12713" in first.source
    # markdown explains the steps: at least as many markdown cells as code cells, minus one
    n_md = sum(c.cell_type == "markdown" for c in nb.cells)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    assert n_md >= n_code - 1, f"{path.name}: {n_md} markdown cells for {n_code} code cells"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert output_bytes(out) < MAX_OUTPUT_BYTES, f"{path.name}: an output of {output_bytes(out)} bytes"
    # committed stripped: no outputs, no execution counts (run them to see the figures)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: not stripped: {cell.source[:60]!r}"
    # the injected budget names parameters the notebook really has
    values = SMALL_PARAMETERS.get(path.name)
    if values:
        cell = parameters_cell(nb)
        assert cell is not None, f"{path.name} needs a cell tagged 'parameters'"
        assert set(values) <= assigned_names(cell.source)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_exercises_have_hidden_solutions(name):
    """The exercises come after an "Exercises" heading; each solution is a code cell tagged
    ``solution``, collapsed (``jupyter.source_hidden``), that checks itself with ``assert``
    (test_notebook_runs runs them)."""
    nb = nbformat.read(NB_DIR / name, as_version=4)
    heading = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Exercises" in c.source]
    assert heading, f"{name} has no '## Exercises' section"
    solutions = solution_cells(nb)
    assert len(solutions) >= EXERCISES[name], f"{name}: {len(solutions)} solution cells"
    for cell in solutions:
        assert nb.cells.index(cell) > heading[0]
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, cell.source[:60]
        assert any(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(cell.source))), cell.source[:60]
        # the cell before a solution poses the exercise: a stub to fill in, or its text
        before = nb.cells[nb.cells.index(cell) - 1]
        assert "solution" not in before.metadata.get("tags", [])


def test_notebook_run_directories_are_ignored_by_git():
    """A reader's run writes under ``notebooks/runs/`` (each default ``OUT_DIR`` is relative and
    under ``runs/``), which ``.gitignore`` lists: running the tutorials leaves nothing untracked."""
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/notebooks/runs/" in ignored
    for path in NOTEBOOKS:
        cell = parameters_cell(nbformat.read(path, as_version=4))
        if cell is None or "OUT_DIR" not in assigned_names(cell.source):
            continue
        out = next(ast.literal_eval(n.value) for n in ast.parse(cell.source).body
                   if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "OUT_DIR" for t in n.targets))
        assert Path(out).parts[0] == "runs" and not Path(out).is_absolute(), (path.name, out)


def test_inject_parameters_overrides_and_rejects_unknown_names():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("STEPS = 3000\nOUT_DIR = 'runs/x'")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    inject_parameters(nb, {"STEPS": 5})
    ns: dict = {}
    exec(nb.cells[0].source, ns)
    assert ns["STEPS"] == 5 and ns["OUT_DIR"] == "runs/x"
    with pytest.raises(ValueError, match="STEPZ"):
        inject_parameters(nb, {"STEPZ": 5})


def test_docs_index_links_every_notebook_and_resolves():
    index = ROOT / "docs" / "index.md"
    text = index.read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert f"../notebooks/{nb.name}" in text, f"docs/index.md does not link {nb.name}"
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target or target.startswith("#"):
            continue
        path = (index.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"docs/index.md links {target}, which does not exist"
    img = index.parent / "img" / "topology_evolution.png"
    assert img.read_bytes().startswith(PNG_MAGIC) and 1000 < img.stat().st_size < 300_000
