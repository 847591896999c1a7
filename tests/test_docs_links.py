"""The reading path stays inside the repository, and its links resolve.

Checked on README.md, docs/**/*.md, the notebooks' Markdown cells and every file under
``smgrnn_ref/``, ``tests/``, ``experiments/`` and ``benchmarks/`` (docstrings and comments):

* no reference to a file outside the repository (the paper notes kept beside the project, a
  machine's absolute paths, ``../`` out of the repository); docs/paper.md carries what a reader
  needs from the paper;
* every relative Markdown link (and image) resolves to a file of the repository, and its
  ``#anchor``, when it points into a Markdown file, to a heading there (slugs as the site makes
  them: Python-Markdown's ``toc`` slugify, duplicates suffixed ``_1``, ``_2``);
* every ``docs/NAME.md`` a source file names exists, and so does the section it names
  (``docs/paper.md, section "The paper's rules"``);
* every test docs/paper.md and docs/equations.md name beside a rule is a test function of
  ``tests/``, and every function docs/paper.md names is one of the package's.

The checker is tested on files made here with known faults, so a check that finds nothing
because it looks at nothing fails.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: References to files that are not in a clone of the repository.
OUTSIDE = re.compile(r"\.\./shared\b|shared/paper|NOTES\.md|paper-summary|/work/|/home/\w")

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
_DOC_REF = re.compile(r"""docs/([\w/.-]+?\.md)(?:,?\s+sections?\s+["“]([^"”]+)["”])?""")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def source_files() -> list[Path]:
    return sorted(p for d in ("smgrnn_ref", "tests", "experiments", "benchmarks") for p in (ROOT / d).rglob("*")
                  if p.suffix in {".py", ".md", ".json", ".js", ".html", ".css"} and "__pycache__" not in p.parts)


def notebook_markdown(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code (links there are examples)."""
    return _CODE.sub("", _FENCE.sub("", text))


def slugify(heading: str) -> str:
    """The anchor the site gives a heading (Python-Markdown's toc extension, MkDocs' default):
    the heading rendered, its tags stripped, entities unescaped, then slugified."""
    import markdown
    from markdown.extensions.toc import slugify as md_slugify

    text = re.sub(r"<[^>]+>", "", markdown.markdown(heading))
    return md_slugify(html.unescape(text), "-")


@functools.lru_cache(maxsize=None)
def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file (duplicates get ``_1``, ``_2``, as on the site)."""
    seen: dict[str, int] = {}
    out = set()
    for m in _HEADING.finditer(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = slugify(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}_{n}")
    return out


def broken_links(path: Path, text: str, root: Path = ROOT) -> list[str]:
    """The relative links in ``text`` (from file ``path``) that do not resolve inside ``root``."""
    problems = []
    for target in _LINK.findall(prose(text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # https:, mailto:: not a file of ours
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    return problems


def bad_doc_refs(text: str, root: Path = ROOT) -> list[str]:
    """``docs/NAME.md`` (and ``section "X"``) references in ``text`` that do not exist."""
    problems = []
    for name, section in _DOC_REF.findall(text):
        doc = root / "docs" / name
        if not doc.is_file():
            problems.append(f"docs/{name}: no such page")
        elif section and slugify(section) not in anchors(doc):
            problems.append(f'docs/{name}, section "{section}": no such heading')
    return problems


# --- the repository -----------------------------------------------------------------------------


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.mark.parametrize("path", markdown_files() + notebooks(), ids=_rel)
def test_no_reference_to_a_file_outside_the_repository(path):
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else json.dumps(
        [c["source"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"]])
    assert not OUTSIDE.findall(text), OUTSIDE.findall(text)


def test_no_source_file_refers_outside_the_repository():
    offenders = [f"{_rel(p)}: {m}" for p in source_files() if p.name != Path(__file__).name
                 for m in OUTSIDE.findall(p.read_text(encoding="utf-8", errors="replace"))]
    assert not offenders, offenders


@pytest.mark.parametrize("path", markdown_files() + notebooks(), ids=_rel)
def test_every_relative_link_resolves(path):
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else notebook_markdown(path)
    assert not broken_links(path, text), broken_links(path, text)


def test_every_docs_page_a_source_names_exists_with_its_section():
    problems = [f"{_rel(p)}: {msg}" for p in source_files() + markdown_files() + notebooks()
                if p.name != Path(__file__).name for msg in bad_doc_refs(p.read_text(encoding="utf-8", errors="replace"))]
    assert not problems, problems


def test_every_test_the_paper_pages_name_exists():
    """docs/paper.md and docs/equations.md put each rule beside the tests that check it: each
    named test must be a test function of ``tests/``."""
    defined = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        defined |= set(re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M))
    for page in ("paper.md", "equations.md"):
        named = set(re.findall(r"`(test_\w+)`", (ROOT / "docs" / page).read_text(encoding="utf-8")))
        assert named and not named - defined, (page, sorted(named - defined))


def test_every_function_the_paper_page_names_exists():
    """The functions docs/paper.md names in its code column (``smgrnn_ref`` attributes)."""
    import smgrnn_ref.engine, smgrnn_ref.evaluate, smgrnn_ref.graph, smgrnn_ref.losses, smgrnn_ref.spm  # noqa: E401

    modules = [smgrnn_ref.spm, smgrnn_ref.graph, smgrnn_ref.evaluate, smgrnn_ref.losses, smgrnn_ref.engine]
    text = (ROOT / "docs" / "paper.md").read_text(encoding="utf-8")
    rows = [line.split("|")[2] for line in text.splitlines() if line.startswith("| ") and line.count("|") >= 4]
    names = {n for row in rows for n in re.findall(r"`([a-z_][a-z0-9_]+)`", row)
             if "_" in n and not n.startswith("test_")}
    missing = sorted(n for n in names if not any(hasattr(m, n) for m in modules))
    assert names and not missing, missing


def test_the_checks_see_the_files():
    names = {p.name for p in markdown_files()}
    assert {"README.md", "index.md", "paper.md"} <= names
    assert len(notebooks()) >= 5 and len(source_files()) > 50


# --- the checker, on faults made here ------------------------------------------------------------


def test_the_checker_finds_broken_files_anchors_and_escapes(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## The paper's rules\n\n## Title\n", encoding="utf-8")
    page = tmp_path / "docs" / "b.md"
    text = ("[ok](a.md) [ok](a.md#the-papers-rules) [dup](a.md#title_1) [self](#only) "
            "[web](https://example.org/x.md) `[code](missing.md)` ![img](none.png) "
            "[file](missing.md) [anchor](a.md#nowhere) [escape](../../outside.md)\n\n# Only\n")
    page.write_text(text, encoding="utf-8")
    assert broken_links(page, text, root=tmp_path) == [
        "none.png: no such file", "missing.md: no such file", "a.md#nowhere: no heading #nowhere in a.md",
        "../../outside.md: outside the repository"]


def test_the_checker_finds_bad_page_and_section_references(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "paper.md").write_text("# P\n\n## The paper's rules\n", encoding="utf-8")
    text = ('see docs/paper.md, section "The paper\'s rules"; docs/paper.md, section "Gone"; '
            "docs/nowhere.md")
    assert bad_doc_refs(text, root=tmp_path) == ['docs/paper.md, section "Gone": no such heading',
                                                 "docs/nowhere.md: no such page"]


def test_outside_references_are_recognised():
    assert OUTSIDE.findall("see ../shared/paper/NOTES.md and /work/base/x") == ["../shared", "NOTES.md", "/work/"]
    assert not OUTSIDE.findall("docs/paper.md, arXiv 2512.12713, runs/study")


def test_slugs_are_the_sites():
    assert slugify("Evaluation (`smgrnn_ref/evaluate.py`)") == "evaluation-smgrnn_refevaluatepy"
    assert slugify("The paper's claims beside ours, claim by claim") == "the-papers-claims-beside-ours-claim-by-claim"


# --- the site's link rewriting (docs/hooks.py) ------------------------------------------------------


def _hooks():
    import importlib.util

    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("smgrnn_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site_files(tmp_path):
    from mkdocs.structure.files import File, Files

    docs = str(ROOT / "docs")
    files = [File(p, docs, str(tmp_path), False) for p in ("index.md", "paper.md", "api/spm.md")]
    files.append(File("notebooks/02_spm_step_by_step.ipynb", str(ROOT), str(tmp_path), False))
    return Files(files)


class _Page:
    def __init__(self, file):
        self.file = file


def test_site_links_from_a_page_become_site_pages_or_plain_names(tmp_path):
    hooks, files = _hooks(), _site_files(tmp_path)
    config = {"docs_dir": str(ROOT / "docs")}
    md = ("[nb](../notebooks/02_spm_step_by_step.ipynb#x) [src](../tests/test_spm.py) [p](paper.md#a) "
          "[gone](../nowhere.md) [web](https://example.org) ![img](img/readme_topology.gif)")
    out = hooks.on_page_markdown(md, _Page(files.get_file_from_path("index.md")), config, files)
    assert out == ("[nb](notebooks/02_spm_step_by_step.ipynb#x) src [p](paper.md#a) "
                   "[gone](../nowhere.md) [web](https://example.org) ![img](img/readme_topology.gif)")
    # one level down, the same files are one more ../ away
    md = "[nb](../../notebooks/02_spm_step_by_step.ipynb) [src](../../tests/test_spm.py) [wrong](../tests/test_spm.py)"
    out = hooks.on_page_markdown(md, _Page(files.get_file_from_path("api/spm.md")), config, files)
    assert out == "[nb](../notebooks/02_spm_step_by_step.ipynb) src [wrong](../tests/test_spm.py)"


def test_site_links_from_a_notebook_point_at_the_built_pages(tmp_path):
    hooks, files = _hooks(), _site_files(tmp_path)
    config = {"docs_dir": str(ROOT / "docs")}
    html = ('<a href="../docs/paper.md#the-papers-rules">the rules</a> <a href="../smgrnn_ref/spm.py">spm</a> '
            '<a href="https://arxiv.org/abs/2512.12713">arXiv</a>')
    out = hooks.on_page_content(html, _Page(files.get_file_from_path("notebooks/02_spm_step_by_step.ipynb")),
                                config, files)
    assert out == ('<a href="../paper.html#the-papers-rules">the rules</a> <span>spm</span> '
                   '<a href="https://arxiv.org/abs/2512.12713">arXiv</a>')


def test_the_notebook_cache_key_follows_the_notebook_and_its_parameters(tmp_path):
    hooks = _hooks()
    a, b, c = tmp_path / "a.ipynb", tmp_path / "b.ipynb", tmp_path / "c.ipynb"
    a.write_text('{"cells": []}'), b.write_text('{"cells": []}'), c.write_text('{"cells": [1]}')
    assert hooks.cache_key(a, {}) == hooks.cache_key(b, {}) != hooks.cache_key(c, {})
    assert hooks.cache_key(a, {"STEPS": 1}) != hooks.cache_key(a, {}) != hooks.cache_key(a, {"STEPS": 2})
