"""The viewer in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

Skipped, with the reason, when Playwright or Chromium is missing; ``.ci/run`` installs both
and sets ``SMGRNN_REQUIRE_BROWSER=1``, which turns that skip into a failure.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile

import pytest

from smgrnn_ref.viewer import write_viewer

CHROMIUM = os.environ.get("SMGRNN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 1000}


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if CHROMIUM is None:
        return "no chromium executable (Debian: apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _unavailable()
    if reason:
        if os.environ.get("SMGRNN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here (SMGRNN_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="smgrnn_chromium_") as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=LAUNCH_ARGS,
                                                   headless=True, viewport=VIEWPORT)
        yield ctx
        ctx.close()


class Page:
    """A loaded viewer page and every console error or uncaught exception it produced."""

    def __init__(self, ctx, path):
        self.errors = []
        self.page = ctx.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("window.smgrnnViewer !== undefined")

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def text(self, selector):
        return self.page.inner_text(selector)

    def canvas_origin(self):
        box = self.page.locator("#graph").bounding_box()
        return box["x"], box["y"]

    def pixel(self, x, y):
        """RGBA of the graph canvas at CSS pixel (x, y)."""
        return self.js("""([x, y]) => { const c = document.getElementById('graph'), d = window.devicePixelRatio || 1;
            return Array.from(c.getContext('2d').getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data); }""",
                       [x, y])


@pytest.fixture(scope="module")
def readme_page(browser, readme_run):
    path = write_viewer(readme_run)
    page = Page(browser, path)
    yield page, readme_run, path
    page.page.close()


def _graph_json(run):
    return json.loads((run / "graph.json").read_text())


def _no_overlap(nodes):
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            d = math.hypot(a["x"] - b["x"], a["y"] - b["y"])
            assert d >= a["r"] + b["r"], (a, b)


def test_readme_page_is_small_and_loads_without_errors(readme_page):
    page, run, path = readme_page
    assert path.stat().st_size < 2_000_000
    page.page.wait_for_timeout(200)
    assert page.errors == []


def test_last_frame_shows_the_counts_of_graph_json(readme_page):
    page, run, _ = readme_page
    g = _graph_json(run)
    page.page.click("#btn-start")
    assert page.text("#stat-step") == "0"
    page.page.focus("#slider")
    page.page.keyboard.press("End")  # the slider's own key: its last position
    steps = json.loads((run / "config.json").read_text())["steps"]
    assert page.text("#stat-step") == str(steps)
    assert page.text("#stat-nodes") == str(len(g["nodes"]))
    assert page.text("#stat-hidden") == str(sum(n["kind"] == "hidden" for n in g["nodes"]))
    assert page.text("#stat-edges") == str(len(g["edges"]))
    _no_overlap(page.js("smgrnnViewer.debug.nodes()"))


def test_next_relay_highlights_its_parent_edge(readme_page):
    page, run, _ = readme_page
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    first = next(e for e in events if e["kind"] == "relay_inserted")
    page.page.click("#btn-start")
    page.page.click("#btn-next-relay")
    assert page.text("#stat-step") == str(first["step"])
    assert first["edge"] in page.js("smgrnnViewer.debug.parents()")
    body = page.text("#event-body")
    assert f"Relay {first['node']} on edge {first['edge'][0]} → {first['edge'][1]}" in body
    # the canvas really shows it: the yellow halo (or its black core) along the parent edge
    points = page.js("([u, v]) => smgrnnViewer.debug.edgePoints(u, v, 9)", first["edge"])
    marked = 0
    for x, y in points:
        r, g, b, _ = page.pixel(x, y)
        marked += (r > 200 and g > 200 and b < 120) or (r < 40 and g < 40 and b < 40)
    assert marked >= 5, marked
    _no_overlap(page.js("smgrnnViewer.debug.nodes()"))


def _shown_to_4_digits(text, expected):
    """Whether ``text`` is ``expected`` rounded to 4 significant digits (the page's precision)."""
    return abs(float(text) - expected) <= 0.5 * 10 ** (math.floor(math.log10(abs(expected))) - 3) * (1 + 1e-9)


def test_the_first_relay_shows_its_recorded_window_and_margins(readme_page):
    import numpy as np

    page, run, _ = readme_page
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    first = next(e for e in events if e["kind"] == "relay_inserted")
    window = np.array(first["window"])
    lam = json.loads((run / "config.json").read_text())["spm"]["lambda_edge"]
    assert len(window) == 100  # the run records the T updates its parent edge was judged on
    # mu, sigma^2 (population) and the two margins, computed here from the recorded window
    mu = window.sum() / len(window)
    sigma2 = ((window - mu) ** 2).sum() / len(window)
    osc, spread = abs(mu) / math.sqrt(sigma2), sigma2 / (lam * abs(mu))
    assert osc < 0.5 and spread > 1  # the window the run judged is unstable
    page.page.click("#btn-start")
    page.page.click("#btn-next-relay")
    assert page.text("#stat-step") == str(first["step"])
    card = page.page.locator(".card.relay").first
    assert _shown_to_4_digits(card.locator(".margin-osc").inner_text(), osc)
    assert _shown_to_4_digits(card.locator(".margin-var").inner_text(), spread)
    assert _shown_to_4_digits(card.locator(".stat-mu").inner_text(), mu)
    assert _shown_to_4_digits(card.locator(".stat-sigma").inner_text(), math.sqrt(sigma2))
    # the sparkline draws the recorded window (4 significant digits), and is not blank
    drawn = page.js("smgrnnViewer.debug.sparklines()")[0]
    assert drawn == [float(f"{x:.4g}") for x in window]
    page.page.wait_for_timeout(100)  # drawn on the next animation frame
    im = page.page.locator(".card.relay canvas.spark").first.screenshot()
    from PIL import Image

    colors = Image.open(io.BytesIO(im)).convert("RGB").getcolors(1 << 16)
    assert len(colors) > 10 and any(c[0] < 80 and c[1] < 80 and c[2] < 80 for _, c in colors)  # the dark line
    assert page.errors == []


def test_a_pruning_step_lists_the_candidates_the_run_recorded(readme_page):
    page, run, _ = readme_page
    records = [json.loads(line) for line in (run / "prune_candidates.jsonl").read_text().splitlines()]
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    s = json.loads((run / "config.json").read_text())["spm"]["s"]
    steps = json.loads((run / "config.json").read_text())["steps"]
    assert [r["step"] for r in records] == list(range(s, steps + 1, s))  # every pruning step, empty ones too
    rec = next(r for r in records if 5 <= len(r["candidates"]) <= 40)  # ceil(0.8 n) < n: some are kept
    pruned = {tuple(e["edge"]) for e in events if e["kind"] == "edge_pruned" and e["step"] == rec["step"]}
    assert len(pruned) == math.ceil(0.8 * len(rec["candidates"])) and pruned < {(u, v) for u, v, _, _ in rec["candidates"]}
    page.js(f"smgrnnViewer.setStep({rec['step']})")
    assert page.text(".n-candidates") == str(len(rec["candidates"]))
    rows = page.js("""() => Array.from(document.querySelectorAll('table.candidates tr'), (tr) =>
                         Array.from(tr.cells, (c) => c.textContent)).slice(1)""")
    assert [r[0] for r in rows] == [f"{u} → {v}" for u, v, _, _ in rec["candidates"]]
    assert [r[3] for r in rows] == ["deleted" if (u, v) in pruned else "kept" for u, v, _, _ in rec["candidates"]]
    for (u, v, w, mu), r in zip(rec["candidates"], rows):
        assert float(r[1]) == pytest.approx(abs(w), rel=5e-3) and float(r[2]) == pytest.approx(abs(mu), rel=5e-3, abs=1e-12)
    # and the graph marks them
    assert sorted(map(tuple, page.js("smgrnnViewer.debug.candidates()"))) == [(u, v) for u, v, _, _ in rec["candidates"]]
    assert page.errors == []


def _replay(run, t):
    """The edges at step t and their latest recorded weights, replayed here from the logs:
    the latest snapshot at or before t, then the events of the steps after it up to t."""
    snaps = [json.loads(line) for line in (run / "topology.jsonl").read_text().splitlines()]
    snap = [s for s in snaps if s["step"] <= t][-1]
    edges = {(u, v): w for u, v, w in snap["edges"]}
    for e in map(json.loads, (run / "events.jsonl").read_text().splitlines()):
        if not snap["step"] < e["step"] <= t:
            continue
        if e["kind"] == "relay_inserted":
            (i, j), r = e["edge"], e["node"]
            edges[(i, r)], edges[(r, j)] = e["weights"]
        elif e["kind"] == "edge_added":
            edges[tuple(e["edge"])] = e["weight"]
        elif e["kind"] == "edge_pruned":
            del edges[tuple(e["edge"])]
        else:
            for pair in e["edges"]:
                del edges[tuple(pair)]
    return edges


def test_every_step_shows_the_graph_the_logs_describe(readme_page):
    page, run, _ = readme_page
    steps = json.loads((run / "config.json").read_text())["steps"]
    for t in [0, 1, 29, 30, 31, 99, 100, 327, 1234, 2999, 3000, 4321, 4999, steps] + list(range(17, steps, 397)):
        page.js(f"smgrnnViewer.setStep({t})")
        shown = {(u, v): w for u, v, w in page.js("smgrnnViewer.debug.edges()")}
        want = _replay(run, t)
        assert set(shown) == set(want), t
        for pair, w in want.items():  # snapshot weights have 6 digits, event weights all of theirs
            assert shown[pair] == pytest.approx(w, rel=1e-5, abs=1e-12), (t, pair)


def test_inputs_and_outputs_are_named_by_id_then_index(readme_page):
    """The graph canvas names every input and output as the text does: ``0 (in 0)``, ``4 (out 0)``
    (id first, index second), read from the ``fillText`` calls of one redraw."""
    page, run, _ = readme_page
    page.js("""() => { const proto = CanvasRenderingContext2D.prototype; window.__texts = [];
        window.__fillText = proto.fillText;
        proto.fillText = function (t, ...rest) {
            if (this.canvas.id === 'graph') window.__texts.push(String(t));
            return window.__fillText.call(this, t, ...rest); }; }""")
    try:
        page.page.click("#btn-start")
        page.page.focus("#slider")
        page.page.keyboard.press("End")
        page.page.wait_for_timeout(100)
        texts = page.js("window.__texts")
    finally:
        page.js("() => { CanvasRenderingContext2D.prototype.fillText = window.__fillText; }")
    g = _graph_json(run)
    names = {f"{n['id']} ({'in' if n['kind'] == 'input' else 'out'} {n['index']})"
             for n in g["nodes"] if n["kind"] != "hidden"}
    assert names and names <= set(texts)
    assert not any(t.startswith(("in ", "out ")) for t in texts)


def test_a_clicked_edge_shows_the_weight_of_graph_json(readme_page):
    page, run, _ = readme_page
    g = _graph_json(run)
    page.page.click("#btn-end")
    ox, oy = page.canvas_origin()
    checked = 0
    for e in sorted(g["edges"], key=lambda e: (e["source"], e["target"])):
        u, v = e["source"], e["target"]
        # a point of this edge that picks it (not a node, not a crossing edge) to click on, and
        # goes on picking it a pixel away (the mouse lands on whole pixels; a dense graph has
        # other edges within a pixel of many points)
        points = page.js("([u, v]) => smgrnnViewer.debug.edgePoints(u, v, 15)", [u, v])
        spot = next((p for p in points if all(
            page.js("([x, y]) => smgrnnViewer.debug.pick(x, y)", [p[0] + dx, p[1] + dy]) == {"edge": [u, v]}
            for dx, dy in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)))), None)
        if spot is None:
            continue
        page.page.mouse.click(ox + spot[0], oy + spot[1])
        assert page.text("#sel-title") == f"edge {u} → {v}"
        shown = float(page.text("#sel-weight"))
        assert shown == float(f"{e['weight']:.6g}"), (u, v, shown, e["weight"])
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def test_screenshot_is_not_blank(readme_page):
    from PIL import Image

    page, _, _ = readme_page
    page.page.click("#btn-end")
    im = Image.open(io.BytesIO(page.page.locator("#graph").screenshot())).convert("RGB")
    colors = im.getcolors(im.width * im.height)  # [(count, (r, g, b)), ...]
    white = sum(n for n, c in colors if c == (255, 255, 255))
    assert len(colors) > 50 and white < 0.97 * im.width * im.height


def test_a_frame_change_takes_under_100_ms(readme_page):
    page, run, _ = readme_page
    n_events = len((run / "events.jsonl").read_text().splitlines())
    assert n_events >= 300  # a 5,000-step run with hundreds of events
    times = page.js("""() => {
        const v = window.smgrnnViewer, last = Number(document.getElementById('slider').max), out = [];
        const graph = document.getElementById('graph').getContext('2d');
        let s = 12345;
        for (let i = 0; i < 300; i++) {
            s = (s * 1103515245 + 12345) % 2147483648;       // a fixed pseudo-random walk
            const t = s % (last + 1), t0 = performance.now();
            v.setStep(t);
            graph.getImageData(0, 0, 1, 1);  // a read-back waits until the frame is drawn
            out.push(performance.now() - t0);
        }
        const slider = document.getElementById('slider');        // through the slider's own event
        for (let i = 0; i < 50; i++) {
            slider.value = (i * 97) % (last + 1);
            const t0 = performance.now();
            slider.dispatchEvent(new Event('input'));
            graph.getImageData(0, 0, 1, 1);
            out.push(performance.now() - t0);
        }
        return out; }""")
    print(f"frame change: median {sorted(times)[len(times) // 2]:.1f} ms, max {max(times):.1f} ms")
    assert max(times) < 100


def test_a_scale_free_run_shows_the_scale_free_margin(browser, made_run):
    cfg = json.loads((made_run / "config.json").read_text())
    cfg["spm"]["variance_test"] = "scale_free"
    (made_run / "config.json").write_text(json.dumps(cfg))
    page = Page(browser, write_viewer(made_run))
    try:
        page.js("smgrnnViewer.setStep(3)")
        body = page.text("#event-body")
        # [0.4, -0.2, 0.4, -0.2]: sigma / (lambda |mu|) = 0.3 / (0.3 * 0.1) = 10
        assert page.text(".margin-var") == "10"
        assert "σ / (λ_edge |μ|)" in body and "scale-free test" in body and "unstable" in body
        assert page.errors == []
    finally:
        page.page.close()


def test_made_run_shows_the_recorded_windows_and_candidates(browser, made_run):
    page = Page(browser, write_viewer(made_run))
    try:
        page.js("smgrnnViewer.setStep(3)")
        body = page.text("#event-body")
        assert "Relay 3 on edge 0 → 2" in body
        # [0.4, -0.2, 0.4, -0.2]: |mu| / sigma = 0.1 / 0.3, sigma^2 / (lambda |mu|) = 0.09 / 0.03
        assert page.text(".margin-osc") == "0.3333" and page.text(".margin-var") == "3"
        assert "unstable" in body
        page.js("smgrnnViewer.setStep(10)")
        body = page.text("#event-body")
        assert page.text(".n-candidates") == "2"
        assert "0 → 3" in body and "1 → 3" in body and "⌈0.8 × 2⌉ = 2" in body
        assert "3 (with 3 → 2, 3 → 4) → 4 (with 4 → 2)" in body  # the orphan chain, in order
        page.js("smgrnnViewer.setStep(12)")
        assert "window of the parent edge at birth: not recorded by this run" in page.text("#event-body")
        page.js("smgrnnViewer.setStep(20)")
        assert "0 candidates" in page.text("#event-body")  # W_t recorded, and empty
        assert page.errors == []
    finally:
        page.page.close()


def test_a_graph_of_thousands_of_edges_is_drawn_as_a_density(browser, tmp_path):
    from conftest import write_grown_run

    run = write_grown_run(tmp_path / "grown", 1000)  # about 7,900 edges at the end
    g = _graph_json(run)
    page = Page(browser, write_viewer(run))
    try:
        assert page.text("#stat-hidden") == "1000" and page.text("#stat-edges") == str(len(g["edges"]))
        assert len(g["edges"]) > 5000  # above render.js HUGE_GRAPH: the density picture
        _no_overlap(page.js("smgrnnViewer.debug.nodes()"))
        ms = page.js("""() => { const g = document.getElementById('graph').getContext('2d'), t0 = performance.now();
                                smgrnnViewer.setStep(0); smgrnnViewer.setStep(Number(document.getElementById('slider').max));
                                g.getImageData(0, 0, 1, 1); return (performance.now() - t0) / 2; }""")
        print(f"frame change with {len(g['edges'])} edges: {ms:.1f} ms")
        from PIL import Image

        im = Image.open(io.BytesIO(page.page.locator("#graph").screenshot())).convert("RGB")
        white = sum(n for n, c in im.getcolors(im.width * im.height) if c == (255, 255, 255))
        assert white < 0.8 * im.width * im.height  # the density covers the graph's area
        assert page.errors == []
    finally:
        page.page.close()
