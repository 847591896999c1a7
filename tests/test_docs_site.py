"""The documentation site builds strictly from the repository, and works offline in a browser.

``python -m mkdocs build --strict`` (docs/site.md) runs here as a subprocess, with the notebooks'
tiny test budgets (``tests/test_notebooks.py``'s ``SMALL_PARAMETERS``, through
``SMGRNN_DOCS_PARAMETERS``): it executes every notebook, so it is in the ``slow`` tier. Then:

* every page of the navigation is there: the docs, each notebook with its figures (executed
  outputs), the API reference with its numpydoc sections;
* no page makes a browser fetch anything from another host: checked on the HTML, and in
  Chromium, where every request a page makes is recorded; search works from ``file://``;
* the interactive viewer embedded by notebook 03 runs inside the built page and shows the run
  the notebook trained (its last step is the notebook's ``STEPS``);
* notebook math is MathML and has a size on the page;
* exercise solutions (cells tagged ``solution``) are folded until the reader opens them.

A failing cell fails the build: :func:`docs/hooks.py:execute` is run on a notebook that raises.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
from test_notebooks import NOTEBOOKS, SMALL_PARAMETERS, TMP  # noqa: E402
# the viewer tests' Chromium (one launch per module; a failure, not a skip, under .ci/run)
from test_viewer_browser import browser  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Longest the build may take here, seconds (about a minute and a half with these budgets).
BUILD_TIMEOUT = 1500


def load_hooks():
    spec = importlib.util.spec_from_file_location("smgrnn_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_parameters() -> dict:
    """The notebooks' test budgets; an output directory is left at the notebook's default (the
    build runs each notebook in a temporary working directory)."""
    return {name: {k: v for k, v in values.items() if v is not TMP} for name, values in SMALL_PARAMETERS.items()}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, SMGRNN_DOCS_PARAMETERS=json.dumps(tiny_parameters()), NO_MKDOCS_2_WARNING="1",
               SMGRNN_DOCS_CACHE="0")  # execute every notebook, whatever an earlier build left
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return out


def page(site: Path, src: str) -> Path:
    """The built HTML of the page whose source is ``src``."""
    return site / (src.removesuffix(".md").removesuffix(".ipynb") + ".html")


@pytest.mark.slow
def test_every_page_is_built(site):
    for md in sorted(DOCS.rglob("*.md")):
        assert page(site, md.relative_to(DOCS).as_posix()).is_file(), md
    for nb in NOTEBOOKS:
        html = page(site, f"notebooks/{nb.name}").read_text(encoding="utf-8")
        assert "jp-Notebook" in html, nb.name
    # executed: the figures are on the pages (notebook 01 draws graphs, 03 the training curves)
    for name in ("01_graph_and_forward", "03_distill_cartpole"):
        html = page(site, f"notebooks/{name}.ipynb").read_text(encoding="utf-8")
        assert html.count('src="data:image/png;base64,') >= 1, name


@pytest.mark.slow
def test_the_api_reference_renders_the_numpydoc_sections(site):
    html = page(site, "api/spm.md").read_text(encoding="utf-8")
    for name in ("is_unstable", "insert_relay", "random_growth", "prune", "remove_orphans", "spm_step"):
        assert f'id="smgrnn_ref.spm.{name}"' in html, name
    assert "Parameters:" in html and "Returns:" in html


@pytest.mark.slow
def test_no_page_fetches_from_another_host(site):
    hooks = load_hooks()
    offenders = {str(p.relative_to(site)): hooks.remote_resources(p.read_text(encoding="utf-8"))
                 for p in site.rglob("*.html")}
    assert not {k: v for k, v in offenders.items() if v}


def open_page(ctx, path: Path):
    """``path`` loaded in a new tab; returns the tab, the URLs it requested, its errors."""
    tab = ctx.new_page()
    requests, errors = [], []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(path.as_uri(), wait_until="load")
    tab.wait_for_timeout(300)  # late requests (fonts, lazily loaded scripts)
    return tab, requests, errors


LOCAL = ("file:", "data:", "about:", "blob:")


@pytest.mark.slow
def test_pages_in_a_browser_request_nothing_from_another_host(site, browser):
    for src in ("index.md", "paper.md", "api/spm.md", "notebooks/02_spm_step_by_step.ipynb",
                "notebooks/03_distill_cartpole.ipynb"):
        tab, requests, errors = open_page(browser, page(site, src))
        remote = [u for u in requests if not u.startswith(LOCAL)]
        assert not remote, (src, remote)
        assert not errors, (src, errors)
        tab.close()


@pytest.mark.slow
def test_the_embedded_viewer_runs_in_the_built_page(site, browser):
    tab, _, errors = open_page(browser, page(site, "notebooks/03_distill_cartpole.ipynb"))
    frames = [f for f in tab.frames if f != tab.main_frame]
    viewers = [f for f in frames if f.evaluate("typeof window.smgrnnViewer !== 'undefined'")]
    assert len(viewers) == 1, [f.url for f in frames]
    viewer = viewers[0]
    viewer.focus("#slider")
    viewer.press("#slider", "End")
    assert viewer.inner_text("#stat-step") == str(SMALL_PARAMETERS["03_distill_cartpole.ipynb"]["STEPS"])
    kinds = [n["kind"] for n in viewer.evaluate("smgrnnViewer.debug.nodes()")]
    assert kinds.count("input") == 4 and kinds.count("output") == 2  # CartPole-v1: 4 observations, 2 actions
    assert not errors


@pytest.mark.slow
def test_search_works_from_the_file_system(site, browser):
    tab, requests, errors = open_page(browser, page(site, "index.md"))
    tab.keyboard.press("/")  # Material's search shortcut
    tab.keyboard.type("is_unstable")
    tab.wait_for_selector(".md-search-result__item a", timeout=15_000)
    hits = tab.evaluate("Array.from(document.querySelectorAll('.md-search-result__item a'), a => a.href)")
    assert any("api/spm.html" in h and "#smgrnn_ref.spm.is_unstable" in h for h in hits), hits
    assert not [u for u in requests if not u.startswith(LOCAL)] and not errors


@pytest.mark.slow
def test_exercise_solutions_are_folded_until_asked_for(site, browser):
    import nbformat

    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        n = sum("solution" in c.metadata.get("tags", []) for c in nb.cells)
        if not n:
            continue
        tab, _, errors = open_page(browser, page(site, f"notebooks/{nb_path.name}"))
        folded = tab.locator("details.smgrnn-solution")
        assert folded.count() == n, nb_path.name
        cell = folded.first.locator(":scope > .jp-Cell")
        assert not cell.is_visible()
        folded.first.locator("summary").click()
        assert cell.is_visible() and "Solution" in cell.inner_text()
        assert not errors
        tab.close()


@pytest.mark.slow
def test_notebook_math_is_mathml_with_a_size(site, browser):
    tab, _, _ = open_page(browser, page(site, "notebooks/02_spm_step_by_step.ipynb"))
    sizes = tab.evaluate("Array.from(document.querySelectorAll('math'), m => m.getBoundingClientRect().width)")
    assert len(sizes) >= 10 and all(w > 0 for w in sizes[:10])
    assert "$" not in tab.evaluate(
        "Array.from(document.querySelectorAll('.jp-RenderedMarkdown'), e => e.innerText).join(' ')")


@pytest.mark.slow
def test_a_failing_cell_fails_the_build(tmp_path):
    import nbformat
    from mkdocs.exceptions import PluginError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('cell 2 fails')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "99_fails.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(PluginError, match="(?s)99_fails.ipynb: a cell failed.*cell 2 fails"):
        load_hooks().execute(path, tmp_path / "out", {})
