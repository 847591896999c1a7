"""The topology viewer: one self-contained, interactive HTML page per run (``topology.html``).

The PNG frames and the GIF of a run show the net change every ``frame_every`` steps; the
viewer shows the graph at **every** step and why it changed. A slider, play/pause and
event-by-event navigation move through the run; the event under the cursor is explained (a
relay's parent edge and, where the run recorded it, its window against the
instability criterion; a pruning step's candidate set ``W_t`` and the edges drawn; the new
edges of random growth; the chain of orphans removed); any node or edge can be inspected;
return, loss and size curves follow the cursor.

The page is one file: data, script and style inlined, no network access, no library (plain
JavaScript, canvas drawing). It reads only what the run wrote (:func:`build_viewer_data`);
docs/viewer.md describes what it shows and the data contract a run fulfils to show
everything.

Examples
--------
>>> page = render_page({"run": {"name": "x</script>"}})  # any dict the page's script reads
>>> "</script>" in page.split('id="smgrnn-data">')[1].split("</script>")[0]
False
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from ..rundir import PRUNE_CANDIDATES_FILE, VIEWER_FILE, RunDir
from .data import FORMAT, VERSION, build_viewer_data

__all__ = ["build_viewer_data", "render_page", "write_viewer", "inline", "InlineViewer", "VIEWER_FILE",
           "PRUNE_CANDIDATES_FILE", "FORMAT", "VERSION"]

#: The page's scripts, in the order they are inlined (one scope: later files use earlier ones).
SCRIPTS = ("model.js", "render.js", "panels.js", "main.js")


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _script() -> str:
    body = "\n".join(_static(name) for name in SCRIPTS)
    if "</script" in body.lower():
        raise RuntimeError("a viewer script contains '</script', which would end the inline script early")
    return '(function () {\n"use strict";\n' + body + "\n})();"


def render_page(data: dict) -> str:
    """The HTML page for ``data`` (as :func:`build_viewer_data` returns it).

    The data goes into a ``<script type="application/json">`` element with every ``<``
    written as ``\\u003c``, so no string in it can close the element.
    """
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    run = data.get("run", {})
    title = f"SMGrNN topology · {run.get('name', '')}"
    page = _static("viewer.html")
    # the template's placeholders are filled in this order and the data last, so nothing in
    # the style, the script or the data is ever taken for a placeholder
    page = page.replace("{{TITLE}}", html.escape(title)).replace("{{CSS}}", _static("viewer.css"))
    page = page.replace("{{JS}}", _script())
    return page.replace("{{DATA}}", blob)


def write_viewer(run_dir, out_path=None) -> Path:
    """Write the viewer of ``run_dir`` (default ``RUN_DIR/topology.html``); return its path.

    Parameters
    ----------
    run_dir : path
        A run directory.
    out_path : path, optional
        Where to write the page.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        As :func:`build_viewer_data` (no run there, a malformed or inconsistent log).
    """
    out = Path(out_path) if out_path is not None else RunDir(run_dir).viewer
    page = render_page(build_viewer_data(run_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # atomic: a reader never sees half a page
    return out


class InlineViewer:
    """A run's viewer for a notebook: displays as an ``<iframe srcdoc=...>`` holding the page,
    so its script runs isolated from the notebook's and stays interactive in a rendered
    (exported or nbviewer) notebook, where no kernel is running.

    Attributes
    ----------
    page : str
        The full HTML page.
    height : int
        Height of the frame in pixels.
    """

    def __init__(self, page: str, height: int = 900):
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" width="100%" height="{self.height}" '
                'style="border:1px solid #ddd" sandbox="allow-scripts"></iframe>')


def inline(run_dir, height: int = 900) -> InlineViewer:
    """The viewer of ``run_dir`` for inline display in a notebook (last expression of a cell).

    Reads ``RUN_DIR/topology.html`` when it exists, else builds the page (without writing it).
    """
    path = RunDir(run_dir).viewer
    page = path.read_text(encoding="utf-8") if path.is_file() else render_page(build_viewer_data(run_dir))
    return InlineViewer(page, height)
