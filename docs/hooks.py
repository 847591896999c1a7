"""MkDocs hooks for the documentation site (``mkdocs.yml``: ``hooks: [docs/hooks.py]``).

What they do, and why (docs/site.md has the reader's version):

* **Tutorials.** ``notebooks/*.ipynb`` live outside ``docs/`` (they are run from there), so the
  hooks add them to the site as ``notebooks/NAME.ipynb`` and fill the nav's ``Tutorials``
  section with them, in file order: a new notebook appears without editing ``mkdocs.yml``.
* **Executed at build time.** Each notebook is executed here with ``nbclient`` (kernel
  ``python3``, this checkout on ``PYTHONPATH``) in a temporary working directory, never in the
  repository, and mkdocs-jupyter renders the executed copy (``execute: false`` there). A cell
  that raises fails the build. The kernel's channels wait in short polls, as in
  ``tests/test_notebooks.py`` (``smgrnn_ref._kernel_polls.get_msg_in_slices`` says why: a missed
  zmq wake-up made an ``interact`` cell wait for the whole timeout). ``SMGRNN_DOCS_PARAMETERS`` (JSON,
  ``{"03_distill_cartpole.ipynb": {"STEPS": 120}}``) overrides values of a notebook's
  ``parameters`` cell; the build test uses it for tiny budgets. An executed copy is kept in
  ``.cache/docs-notebooks/`` under a key of the notebook, its parameters and every file of
  ``smgrnn_ref/`` (:func:`cache_key`), so a rebuild (``mkdocs serve``) after editing a page
  executes nothing; ``SMGRNN_DOCS_CACHE=0`` executes every time.
* **Math without a CDN.** Notebook Markdown math (``$...$``, ``$$...$$``) is converted to
  MathML at build time (``latex2mathml``), which browsers render natively, so the page loads no
  MathJax; the loaders nbconvert writes for MathJax, Mermaid, RequireJS and widgets are removed.
  Any remaining resource fetched from another host fails the build.
* **Links that work in a clone and on the site.** Pages link notebooks and sources by their
  path in the repository (``../notebooks/02_spm_step_by_step.ipynb``, ``../tests/test_spm.py``),
  which a clone and a code host resolve. On the site a notebook link becomes its page; a link to
  another file of the repository becomes its plain text (the site does not carry the sources);
  a link to a missing file is left alone, so MkDocs' strict link check fails on it. Links
  inside notebooks get the same treatment (they are HTML, which MkDocs does not check).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.smgrnn")

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NB_GLOB = "[0-9][0-9]_*.ipynb"
#: The nav entry the tutorials are filled into (``mkdocs.yml``).
TUTORIALS_PLACEHOLDER = "notebooks/"
#: Longest a notebook cell may run, seconds (the full budgets run in well under this).
CELL_TIMEOUT = 1800

_state: dict = {}


# --- tutorials: nav, execution ----------------------------------------------------------------


def notebooks() -> list[Path]:
    """The tutorials, in file (and reading) order."""
    return sorted(NB_DIR.glob(NB_GLOB))


def _fill_nav(items: list) -> bool:
    """Replace the ``Tutorials: notebooks/`` entry of ``items`` (in place) by the notebooks."""
    for i, item in enumerate(items):
        if isinstance(item, dict):
            (title, value), = item.items()
            if value == TUTORIALS_PLACEHOLDER:
                items[i] = {title: [f"notebooks/{p.name}" for p in notebooks()]}
                return True
            if isinstance(value, list) and _fill_nav(value):
                return True
    return False


def on_config(config):
    jupyter = config["plugins"].get("mkdocs-jupyter")
    if jupyter is not None and jupyter.config["execute"]:
        raise PluginError("mkdocs.yml: set mkdocs-jupyter's execute: false; docs/hooks.py executes the notebooks")
    if not _fill_nav(config["nav"] or []):
        raise PluginError(f"mkdocs.yml: no nav entry '{TUTORIALS_PLACEHOLDER}' for the tutorials")
    _patch_math()
    return config


def _overrides() -> dict:
    raw = os.environ.get("SMGRNN_DOCS_PARAMETERS", "")
    try:
        return json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise PluginError(f"SMGRNN_DOCS_PARAMETERS is not JSON: {exc}") from None


def _inject(nb, values: dict, name: str) -> None:
    """Append ``NAME = value`` lines to the notebook's ``parameters`` cell."""
    if not values:
        return
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise PluginError(f"{name}: SMGRNN_DOCS_PARAMETERS given, but {len(cells)} cells are tagged 'parameters'")
    lines = "\n".join(f"{k} = {v!r}" for k, v in values.items())
    cells[0].source = cells[0].source.rstrip("\n") + "\n\n# --- injected by docs/hooks.py ---\n" + lines + "\n"


def execute(path: Path, out_dir: Path, values: dict) -> Path:
    """Execute ``path`` in a fresh working directory; write the executed copy into ``out_dir``."""
    import nbclient
    import nbformat
    from jupyter_client.channels import AsyncZMQSocketChannel

    from smgrnn_ref._kernel_polls import get_msg_in_slices

    nb = nbformat.read(path, as_version=4)
    _inject(nb, values, path.name)
    work = Path(tempfile.mkdtemp(prefix=f"smgrnn-docs-{path.stem}-"))
    original = AsyncZMQSocketChannel.get_msg
    AsyncZMQSocketChannel.get_msg = get_msg_in_slices
    env_before = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND")}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env_before["PYTHONPATH"]]))
    os.environ.pop("MPLBACKEND", None)  # IPython's inline backend: figures become outputs
    t0 = time.perf_counter()
    try:
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                                resources={"metadata": {"path": str(work)}}).execute()
    except Exception as exc:  # a failing cell: fail the build with the notebook's name
        raise PluginError(f"{path.name}: a cell failed while building the docs:\n{exc}") from None
    finally:
        AsyncZMQSocketChannel.get_msg = original
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(work, ignore_errors=True)
    log.info("executed %s in %.1f s", path.name, time.perf_counter() - t0)
    out = out_dir / "notebooks" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def cache_key(path: Path, values: dict) -> str:
    """What an executed notebook depends on: its file, the parameters given to it, and every
    source file of the package (a change anywhere in ``smgrnn_ref/`` executes it again)."""
    h = hashlib.sha256(path.read_bytes())
    h.update(json.dumps(values, sort_keys=True).encode())
    for src in sorted((ROOT / "smgrnn_ref").rglob("*")):
        if src.is_file() and "__pycache__" not in src.parts:
            h.update(src.relative_to(ROOT).as_posix().encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:32]


def _cache_dir() -> Path | None:
    """``SMGRNN_DOCS_CACHE``: where executed notebooks are kept between builds (default
    ``.cache/docs-notebooks``, git-ignored); ``0`` executes every notebook on every build."""
    value = os.environ.get("SMGRNN_DOCS_CACHE", str(ROOT / ".cache" / "docs-notebooks"))
    return None if value == "0" else Path(value)


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files, config):
    out_dir = Path(tempfile.mkdtemp(prefix="smgrnn-docs-nb-"))
    _state["executed"] = out_dir
    overrides, cache = _overrides(), _cache_dir()
    for path in notebooks():
        values = overrides.get(path.name, {})
        cached = cache / f"{path.stem}-{cache_key(path, values)}.ipynb" if cache else None
        target = out_dir / "notebooks" / path.name
        if cached is not None and cached.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)
            log.info("%s: executed copy from the cache (%s)", path.name, cached.name)
        else:
            execute(path, out_dir, values)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target, cached)
        files.append(File(f"notebooks/{path.name}", str(out_dir), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_post_build(config):
    shutil.rmtree(_state.pop("executed", ""), ignore_errors=True)


# --- math ---------------------------------------------------------------------------------------


def _patch_math() -> None:
    """Notebook Markdown math -> MathML (nbconvert's renderer otherwise leaves it for MathJax)."""
    from latex2mathml.converter import convert
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    def mathml(body: str, display: str) -> str:
        try:
            return convert(body, display=display)
        except Exception as exc:  # noqa: BLE001 - any parse failure: name the formula
            raise PluginError(f"latex2mathml cannot convert {body!r}: {exc}") from None

    IPythonRenderer.inline_math = lambda self, body: mathml(body, "inline")
    IPythonRenderer.block_math = lambda self, body: mathml(body, "block")
    IPythonRenderer.latex_environment = (
        lambda self, name, body: mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block"))


# --- links ----------------------------------------------------------------------------------------

_MD_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")
_HREF = re.compile(r'<a\s+href="(?P<target>[^"]+)"(?P<rest>[^>]*)>(?P<text>.*?)</a>', re.S)


def _repo_target(target: str, source: Path) -> tuple[Path, str] | None:
    """The repository file a relative link from ``source`` points to, and its ``#anchor``."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path or target.startswith("/"):
        return None
    path = (source.parent / parts.path).resolve()
    return path, (f"#{parts.fragment}" if parts.fragment else "")


def _site_path(path: Path, docs_dir: Path) -> str | None:
    """The docs-relative path of a repository file on the site, if the site carries it."""
    if path.is_relative_to(docs_dir):
        return path.relative_to(docs_dir).as_posix()
    if path.parent == NB_DIR and path.match(NB_GLOB):
        return f"notebooks/{path.name}"
    return None


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri.startswith("notebooks/"):
        return markdown  # the notebook's JSON; its links are rewritten in on_page_content
    docs_dir = Path(config["docs_dir"]).resolve()
    source = Path(page.file.abs_src_path)

    def fix(m: re.Match) -> str:
        found = _repo_target(m["target"], source)
        if found is None or found[0].is_relative_to(docs_dir) or not found[0].exists():
            return m[0]  # external, in docs/, or broken: MkDocs checks it
        path, anchor = found
        site = _site_path(path, docs_dir)
        if site is not None:
            rel = posixpath.relpath(site, posixpath.dirname(page.file.src_uri) or ".")
            return f"[{m['text']}]({rel}{anchor})"
        return m["text"]  # a source file: the site shows its name

    return _MD_LINK.sub(fix, markdown)


#: reST's literal-block marker, which numpydoc docstrings use before an indented formula: the
#: API pages render docstrings as Markdown, which shows it; "text::" reads "text:", a lone "::"
#: goes.
_RST_LITERAL = [(re.compile(r"<p>::</p>\s*"), ""), (re.compile(r"::</p>"), ":</p>")]


def on_page_content(html, page, config, files):
    if page.file.src_uri.startswith("api/"):
        for pattern, repl in _RST_LITERAL:
            html = pattern.sub(repl, html)
        return html
    if not page.file.src_uri.startswith("notebooks/"):
        return html
    docs_dir = Path(config["docs_dir"]).resolve()
    source = NB_DIR / Path(page.file.src_uri).name

    def fix(m: re.Match) -> str:
        found = _repo_target(m["target"], source)
        if found is None:
            return m[0]
        path, anchor = found
        if not path.exists():
            log.warning("%s: link to a missing file: %s", page.file.src_uri, m["target"])
            return m[0]
        site = _site_path(path, docs_dir)
        target = files.get_file_from_path(site) if site is not None else None
        if target is None:
            return f"<span>{m['text']}</span>"
        return f'<a href="{target.url_relative_to(page.file)}{anchor}"{m["rest"]}>{m["text"]}</a>'

    return _HREF.sub(fix, html)


# --- nothing fetched from elsewhere ---------------------------------------------------------------

#: Loaders nbconvert's template writes (MathJax, Mermaid, RequireJS, the widget manager): the site
#: renders math as MathML and needs none of them.
_BODY = r"(?:(?!</script>).)*"
_LOADERS = [
    re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
    re.compile(rf"<script[^>]*>{_BODY}(mermaid|html-manager|jupyter-js-widgets){_BODY}</script>", re.S | re.I),
    re.compile(r'<script[^>]+src="(https?:)?//[^"]*(require|html-manager|embed-amd|mathjax|mermaid)[^"]*"[^>]*>\s*</script>',
               re.I),
]
#: An element that makes the browser fetch ``src`` / ``href`` / ``data`` from another host (an
#: ``<a href>`` to another site is a link, not a resource).
_REMOTE_ATTR = re.compile(
    r"""<(script|link|img|iframe|source|video|audio|embed|object|track)\b[^>]*?\b(src|href|data)\s*=\s*["']?(https?:)?//""",
    re.I)
_REMOTE_CSS = re.compile(r"""url\(\s*["']?(https?:)?//|@import\s+(url\()?["']?(https?:)?//""", re.I)
#: Script bodies that run (not JSON data blocks), and a remote URL inside one.
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_DATA_SCRIPT = re.compile(r"""type\s*=\s*["']application/(ld\+)?json|type\s*=\s*["']application/vnd\.""", re.I)
_REMOTE_IN_SCRIPT = re.compile(r"""(import\s*\(|from|src\s*=|fetch\s*\(|Url\s*=)\s*["'](https?:)?//""", re.I)


def remote_resources(html: str) -> list[str]:
    """Snippets of ``html`` that would make a browser fetch something from another host."""
    hits = [m.group(0) for m in _REMOTE_ATTR.finditer(html)] + [m.group(0) for m in _REMOTE_CSS.finditer(html)]
    for m in _SCRIPT.finditer(html):
        if not _DATA_SCRIPT.search(m["attrs"]):
            hits += [m["body"][h.start():h.start() + 120] for h in _REMOTE_IN_SCRIPT.finditer(m["body"])]
    return hits


def on_post_page(output, page, config):
    for loader in _LOADERS:
        output = loader.sub("", output)
    for hit in remote_resources(output):
        log.warning("%s: fetches a resource from another host: %s", page.file.src_uri, hit)
    return output


def on_post_template(output, template_name, config):
    for hit in remote_resources(output):  # the 404 page and other theme templates
        log.warning("%s: fetches a resource from another host: %s", template_name, hit)
    return output
