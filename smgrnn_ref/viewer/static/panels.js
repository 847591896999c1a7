// panels.js: what to highlight, the event under the cursor explained, the selection, the
// sparklines of update windows and the training curves.

const NOT_RECORDED = "not recorded by this run";
const SPARKLINES = new WeakMap(); // sparkline canvas -> the values it draws (for the test hooks)
const SPANS_OF_PAIR = new Map(); // "u,v" -> edge spans of that pair, in order of birth
for (let k = 0; k < nE; k++) {
  const key = D.edges.u[k] + "," + D.edges.v[k];
  if (!SPANS_OF_PAIR.has(key)) SPANS_OF_PAIR.set(key, []);
  SPANS_OF_PAIR.get(key).push(k);
}
const RELAY_OF_NODE = new Map(); // node index -> index of the relay event that made it
for (let e = 0; e < EVENTS.length; e++) if (EVENTS[e][0] === EV.RELAY) RELAY_OF_NODE.set(EVENTS[e][3], e);

/** The span of pair (u, v) judged at a pruning step t: alive just before t's pruning. */
function spanJudgedAt(u, v, t) {
  for (const k of SPANS_OF_PAIR.get(u + "," + v) || []) if (EDGE_BIRTH[k] <= t && EDGE_DEATH[k] >= t) return k;
  return -1;
}

function isPruningStep(t) {
  return SPM.s && t > 0 && t % SPM.s === 0 && SPM.enable_pruning !== false;
}

/** What the graph highlights at step t: changes of the last `trail` steps, the events of
 * step t (relay parents, pruning candidates) and the selection. */
function marksFor(t, trail, selection) {
  const m = { added: new Set(), addedNodes: new Set(), ghostEdges: new Set(), ghostNodes: new Set(),
              parents: new Set(), candidates: new Set(), selectedEdge: null, selectedNode: null };
  const [a, b] = eventRange(t - trail, t);
  for (let e = a; e < b; e++) {
    const ev = EVENTS[e];
    if (ev[0] === EV.RELAY) { m.added.add(ev[4]); m.added.add(ev[5]); m.addedNodes.add(ev[3]); }
    else if (ev[0] === EV.ADDED) m.added.add(ev[2]);
    else if (ev[0] === EV.PRUNED) m.ghostEdges.add(ev[2]);
    else { m.ghostNodes.add(ev[2]); for (const k of ev[3]) m.ghostEdges.add(k); }
  }
  const [c, d] = eventRange(t - 1, t);
  for (let e = c; e < d; e++) if (EVENTS[e][0] === EV.RELAY) m.parents.add(EVENTS[e][2]);
  if (PRUNE_CANDIDATES && PRUNE_CANDIDATES.has(t)) {
    for (const [u, v] of PRUNE_CANDIDATES.get(t)) {
      const k = spanJudgedAt(u, v, t);
      if (k >= 0) m.candidates.add(k);
    }
  }
  if (selection && selection.type === "edge") m.selectedEdge = selection.k;
  if (selection && selection.type === "node") m.selectedNode = selection.i;
  return m;
}

// --- small DOM helpers ----------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function row(...cells) {
  return el("tr", {}, ...cells.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, c))));
}

function check(ok) {
  return el("span", { class: ok ? "ok" : "no" }, ok ? "✓" : "✗");
}

// --- windows ----------------------------------------------------------------------------
/** A sparkline of a window: the values, the +-0.5 sigma band round 0 and mu (when given). */
function sparkline(values, stats) {
  const cv = el("canvas", { class: "spark" });
  cv.dataset.values = values.length; // the number of points drawn (the test reads it back)
  SPARKLINES.set(cv, values);
  requestAnimationFrame(() => {
    const r = cv.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    cv.width = Math.round(r.width * dpr);
    cv.height = Math.round(r.height * dpr);
    const g = cv.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const W = r.width, H = r.height, pad = 4;
    const sigma = stats ? Math.sqrt(stats.sigma2) : 0;
    let top = 0;
    for (const v of values) top = Math.max(top, Math.abs(v));
    if (stats) top = Math.max(top, 0.5 * sigma, Math.abs(stats.mu));
    top = top * 1.1 || 1;
    const X = (i) => pad + (i / Math.max(values.length - 1, 1)) * (W - 2 * pad);
    const Y = (v) => H / 2 - (v / top) * (H / 2 - pad);
    if (stats) {
      g.fillStyle = "rgba(86,180,233,0.25)"; // the band |x| < 0.5 sigma
      g.fillRect(pad, Y(0.5 * sigma), W - 2 * pad, Y(-0.5 * sigma) - Y(0.5 * sigma));
    }
    g.strokeStyle = "#bbb"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(pad, Y(0)); g.lineTo(W - pad, Y(0)); g.stroke();
    g.strokeStyle = "#333"; g.lineWidth = 1.2;
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(X(i), Y(v)) : g.moveTo(X(i), Y(v))));
    g.stroke();
    if (stats) {
      g.strokeStyle = "#D55E00"; g.lineWidth = 1.5; g.setLineDash([5, 3]);
      g.beginPath(); g.moveTo(pad, Y(stats.mu)); g.lineTo(W - pad, Y(stats.mu)); g.stroke();
      g.setLineDash([]);
    }
  });
  return cv;
}

/** A window of weight updates: sparkline, mu, sigma and the two margins of the criterion.
 * The margins come from the page's data, computed by the SPM's own statistics at full
 * precision (viewer/data.py); null stands for an infinite margin (a zero denominator). */
function windowBlock(win, caption) {
  const sigma = Math.sqrt(win.sigma2), lam = SPM.lambda_edge;
  const osc = win.osc === null ? Infinity : win.osc;
  // the run's second test: the paper's sigma^2 > lambda |mu|, or the scale-free sigma > lambda |mu| (ours)
  const scaleFree = SPM.variance_test === "scale_free";
  const ratio = scaleFree ? win.sd_ratio : win.var_ratio;
  const spread = ratio === null || ratio === undefined ? Infinity : ratio / lam;
  const unstable = win.n === SPM.T && osc < 0.5 && spread > 1;
  return el("div", { class: "window" },
    el("div", { class: "muted" }, caption, ` (${win.n} of T = ${SPM.T} `,
       SPM.window_signal === "gradient" ? "negative gradients −∂L/∂w (window_signal, ours)" : "updates",
       ", oldest left; ",
       "band ±0.5σ, dashed μ)"),
    win.values ? sparkline(win.values, win)
      : el("p", { class: "na" }, "the values are left out of this page (too many); events.jsonl holds them"),
    el("table", {},
      row("μ", el("span", { class: "stat-mu" }, fmt(win.mu, 4)), "σ", el("span", { class: "stat-sigma" }, fmt(sigma, 4))),
      row("|μ| / σ", el("span", { class: "margin-osc" }, fmt(osc, 4)), "< 0.5", check(osc < 0.5)),
      row(scaleFree ? "σ / (λ_edge |μ|)" : "σ² / (λ_edge |μ|)", el("span", { class: "margin-var" }, fmt(spread, 4)),
          "> 1", check(spread > 1))),
    el("div", { class: "muted" }, `λ_edge = ${fmt(lam)}${scaleFree ? " (scale-free test, ours)" : ""}; `,
       win.n < SPM.T ? "a window shorter than T is never judged" :
       unstable ? "unstable: edge-driven growth inserts a relay" : "stable"));
}

// --- the event panel ----------------------------------------------------------------------
function relayCard(e, focused) {
  const ev = EVENTS[e], t = ev[1], parent = ev[2], r = ev[3];
  const card = el("div", { class: "card relay" + (focused ? " active" : ""), "data-event": e },
    el("h3", {}, `Relay ${NODE_ID[r]} on edge ${edgeLabel(parent)}`),
    el("div", {}, `new edges ${edgeLabel(ev[4])} (w = ${fmt(D.edges.birth_weight[ev[4]], 4)}) and `,
       `${edgeLabel(ev[5])} (w = ${fmt(D.edges.birth_weight[ev[5]], 4)}); ${edgeLabel(parent)} is kept `,
       "and its window cleared (refractory rule)."));
  if (ev[6] >= 0) card.append(windowBlock(D.relay_windows[ev[6]], `window of ${edgeLabel(parent)} when judged at step ${t}`));
  else card.append(el("p", { class: "na window-missing" }, `window of the parent edge at birth: ${NOT_RECORDED}.`));
  return card;
}

function listEdges(spans, withWeight) {
  const shown = spans.slice(0, 24);
  const text = shown.map((k) => edgeLabel(k) + (withWeight ? ` (w = ${fmt(withWeight(k), 4)})` : "")).join(", ");
  return text + (spans.length > shown.length ? `, … (${spans.length} in all)` : "");
}

function pruneCard(t, pruned, removed) {
  const card = el("div", { class: "card prune" }, el("h3", {}, `Pruning step ${t} (t mod s = 0, s = ${SPM.s})`));
  const prunedWeight = new Map();
  const [a, b] = eventRange(t - 1, t);
  for (let e = a; e < b; e++) if (EVENTS[e][0] === EV.PRUNED) prunedWeight.set(EVENTS[e][2], EVENTS[e][3]);
  const cands = PRUNE_CANDIDATES ? PRUNE_CANDIDATES.get(t) : undefined;
  if (cands === undefined) {
    card.append(el("p", { class: "na candidates-missing" }, `candidate set W_t: ${NOT_RECORDED}.`));
  } else {
    const drawnPairs = new Set(pruned.map((k) => D.edges.u[k] + "," + D.edges.v[k]));
    const table = el("table", { class: "candidates" }, el("tr", {}, el("th", {}, "edge"), el("th", {}, "|w|"),
      el("th", {}, "|μ|"), el("th", {}, "drawn")));
    for (const [u, v, w, mu] of cands.slice(0, 40)) {
      table.append(row(`${u} → ${v}`, fmt(Math.abs(w), 3), fmt(Math.abs(mu), 3), drawnPairs.has(u + "," + v) ? "deleted" : "kept"));
    }
    const need = Math.ceil(SPM.eta_prune * cands.length - 1e-9);
    card.append(el("div", {}, `W_t = {k : |w_k| ≤ τ_w = ${fmt(SPM.tau_w)} and |μ_k| ≤ τ_Δ = ${fmt(SPM.tau_delta)}}: `,
      el("b", { class: "n-candidates" }, cands.length), " candidates", cands.length > 40 ? " (first 40)" : "", ":"), table,
      el("div", {}, `drawn: ${pruned.length} = ⌈η_prune |W_t|⌉ = ⌈${SPM.eta_prune} × ${cands.length}⌉ = ${need} `, check(pruned.length === need)));
  }
  if (pruned.length) card.append(el("div", {}, `deleted: ${listEdges(pruned, (k) => prunedWeight.get(k))}`));
  if (removed.length) {
    const chain = removed.map((e) => `${NODE_ID[EVENTS[e][2]]}` + (EVENTS[e][3].length ? ` (with ${listEdges(EVENTS[e][3])})` : ""));
    card.append(el("div", { class: "orphans" }, el("b", {}, "Orphans removed"),
      " (a hidden node with no input or no output left, removed until none is left), in order: ", chain.join(" → ")));
  }
  return card;
}

function renderEventPanel(t, focus) {
  const body = document.getElementById("event-body");
  body.replaceChildren();
  const [a, b] = eventRange(t - 1, t);
  const relays = [], added = [], pruned = [], removed = [];
  for (let e = a; e < b; e++) {
    const code = EVENTS[e][0];
    if (code === EV.RELAY) relays.push(e);
    else if (code === EV.ADDED) added.push(EVENTS[e][2]);
    else if (code === EV.PRUNED) pruned.push(EVENTS[e][2]);
    else removed.push(e);
  }
  const kind = isPruningStep(t) ? "pruning step" : t > 0 ? "growth step" : "initial graph";
  document.getElementById("stat-kind").textContent = kind;
  if (a === b && !(isPruningStep(t) && PRUNE_CANDIDATES && PRUNE_CANDIDATES.has(t))) {
    const prev = prevIn(EVENT_STEPS, t), next = nextIn(EVENT_STEPS, t);
    body.append(el("p", { class: "muted" }, `No structural event at step ${t} (${kind}).`),
      el("p", {}, prev !== null ? el("button", { class: "link", onclick: () => setStep(prev) }, `◀ step ${prev}`) : null,
         prev !== null && next !== null ? " · " : "",
         next !== null ? el("button", { class: "link", onclick: () => setStep(next) }, `step ${next} ▶`) : null));
    return;
  }
  relays.forEach((e, j) => body.append(relayCard(e, focus === e || (focus === null && j === 0))));
  if (added.length) {
    body.append(el("div", { class: "card growth" }, el("h3", {}, `Random growth: ${added.length} new edge${added.length > 1 ? "s" : ""}`),
      el("div", {}, listEdges(added, (k) => D.edges.birth_weight[k])),
      el("div", { class: "muted" }, "drawn uniformly among the pairs that make no cycle, weight ~ U[−c, c]")));
  }
  if (isPruningStep(t) || pruned.length || removed.length) body.append(pruneCard(t, pruned, removed));
}

// --- the selection panel --------------------------------------------------------------------
function valueRow(label, id, v) {
  const where = v.source === "event" ? `at birth, step ${v.at} (event)` : `snapshot of step ${v.at}`;
  return row(label, el("b", { id }, fmt(v.value)), el("span", { class: "muted" }, where));
}

function lifeText(birth, death) {
  return death === Infinity ? `since step ${birth}` : `steps ${birth} to ${death} (removed at ${death})`;
}

function edgeWindowAt(k, t) {
  if (t === LAST && FINAL && finalEdgeSlot[k] >= 0) {
    const w = FINAL.edges[finalEdgeSlot[k]];
    return w ? windowBlock(w, `window at step ${LAST} (graph.json)`)
             : el("p", { class: "muted" }, `window at step ${LAST}: empty (cleared by a relay, or a new edge)`);
  }
  const [a, b] = eventRange(t - 1, t);
  for (let e = a; e < b; e++) {
    const ev = EVENTS[e];
    if (ev[0] === EV.RELAY && ev[2] === k && ev[6] >= 0) {
      return windowBlock(D.relay_windows[ev[6]], `window when judged at step ${t} (relay ${NODE_ID[ev[3]]})`);
    }
  }
  return el("p", { class: "na" }, `window at step ${t}: ${NOT_RECORDED} (this page has windows at the last step` +
    (FINAL ? "" : ", when graph.json exists") + " and, where recorded, at a relay's birth).");
}

function renderSelection(t, selection) {
  const box = document.getElementById("selection");
  box.replaceChildren();
  if (!selection) { box.append("Click a node or an edge."); return; }
  if (selection.type === "edge") {
    const k = selection.k, alive = EDGE_BIRTH[k] <= t && t < EDGE_DEATH[k];
    const table = el("table", {});
    box.append(el("h3", { id: "sel-title" }, `edge ${edgeLabel(k)}`), table);
    table.append(row("from → to", `${KIND_NAMES[NODE_KIND[EDGE_U[k]]]} → ${KIND_NAMES[NODE_KIND[EDGE_V[k]]]}`),
      row("lifetime", lifeText(EDGE_BIRTH[k], EDGE_DEATH[k])));
    if (alive) {
      table.append(valueRow("weight", "sel-weight", weightAt(k, t)));
      box.append(edgeWindowAt(k, t));
    } else box.append(el("p", { class: "muted" }, `not alive at step ${t}`));
    return;
  }
  const i = selection.i, alive = NODE_BIRTH[i] <= t && t < NODE_DEATH[i];
  const table = el("table", {});
  box.append(el("h3", { id: "sel-title" }, `node ${nodeName(i)}`), table);
  table.append(row("kind", KIND_NAMES[NODE_KIND[i]]), row("lifetime", lifeText(NODE_BIRTH[i], NODE_DEATH[i])));
  if (RELAY_OF_NODE.has(i)) {
    const e = RELAY_OF_NODE.get(i);
    table.append(row("born as", el("button", { class: "link", onclick: () => setStep(EVENTS[e][1]) },
      `relay on ${edgeLabel(EVENTS[e][2])}, step ${EVENTS[e][1]}`)));
  }
  if (!alive) { box.append(el("p", { class: "muted" }, `not alive at step ${t}`)); return; }
  const bias = biasAt(i, t);
  if (bias) table.append(valueRow("bias", "sel-bias", bias));
  let din = 0, dout = 0;
  for (const k of currentFrame.edges) { if (EDGE_V[k] === i) din++; if (EDGE_U[k] === i) dout++; }
  table.append(row("in / out edges", `${din} / ${dout}`));
  if (NODE_KIND[i] !== 0) {
    if (t === LAST && FINAL && finalNodeSlot[i] >= 0 && FINAL.nodes[finalNodeSlot[i]]) {
      box.append(el("div", { class: "muted" }, `activations at step ${LAST} (graph.json), oldest left`),
        sparkline(FINAL.nodes[finalNodeSlot[i]].values, null));
    } else box.append(el("p", { class: "na" }, `activation window at step ${t}: ${NOT_RECORDED} (only at the last step).`));
  }
}

// --- training curves ---------------------------------------------------------------------
const M = D.metrics;
const curvesCanvas = document.getElementById("curves");
const curvesCtx = curvesCanvas.getContext("2d");
let curvesBase = null, curvesW = 0, curvesH = 0;
const CURVE_PANELS = [
  { title: "evaluation return (mean ± std)", series: [["eval_return_mean", "#0072B2"], ["train_return_mean", "#9a9a9a"]], band: "eval_return_std" },
  { title: "loss", series: [["loss", "#D55E00"]], log: true },
  { title: "size: hidden nodes (left), edges (right)", series: [["hidden_nodes", "#CC79A7"], ["edges", "#555555", true]] },
];
const CURVE_LEFT = 64, CURVE_RIGHT = 52;

function curveX(step) {
  return CURVE_LEFT + (step / Math.max(LAST, 1)) * (curvesW - CURVE_LEFT - CURVE_RIGHT);
}

function drawCurvesBase() {
  const r = curvesCanvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  curvesW = r.width; curvesH = r.height;
  curvesBase = document.createElement("canvas");
  curvesBase.width = curvesCanvas.width = Math.round(curvesW * dpr);
  curvesBase.height = curvesCanvas.height = Math.round(curvesH * dpr);
  const g = curvesBase.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  curvesCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const ph = curvesH / CURVE_PANELS.length;
  g.font = "11px system-ui, sans-serif";
  CURVE_PANELS.forEach((p, n) => {
    const top = n * ph + 14, bottom = (n + 1) * ph - 6;
    g.fillStyle = "#444"; g.textAlign = "left"; g.textBaseline = "alphabetic";
    g.fillText(p.title, CURVE_LEFT, n * ph + 11);
    g.strokeStyle = "#ddd"; g.strokeRect(CURVE_LEFT, top, curvesW - CURVE_LEFT - CURVE_RIGHT, bottom - top);
    const scales = {};
    for (const [col, , right] of p.series) {
      const side = right ? "right" : "left";
      const vals = (M[col] || []).filter((v) => v !== null && (!p.log || v > 0)).map((v) => (p.log ? Math.log10(v) : v));
      if (p.band && side === "left") {
        (M[col] || []).forEach((v, j) => { const s = M[p.band][j]; if (v !== null && s !== null) vals.push(v - s, v + s); });
      }
      if (!vals.length) continue;
      const sc = scales[side] || { lo: Infinity, hi: -Infinity };
      for (const v of vals) { sc.lo = Math.min(sc.lo, v); sc.hi = Math.max(sc.hi, v); }
      scales[side] = sc;
    }
    for (const [side, sc] of Object.entries(scales)) {
      if (sc.hi === sc.lo) { sc.hi += 1; sc.lo -= 1; }
      sc.y = (v) => bottom - ((v - sc.lo) / (sc.hi - sc.lo)) * (bottom - top);
      g.fillStyle = "#666"; g.textAlign = side === "left" ? "right" : "left";
      const x = side === "left" ? CURVE_LEFT - 4 : curvesW - CURVE_RIGHT + 4;
      const label = (v) => (p.log ? fmt(Math.pow(10, v), 2) : fmt(v, 3));
      g.fillText(label(sc.hi), x, top + 9); g.fillText(label(sc.lo), x, bottom);
    }
    if (p.band && scales.left) { // mean +- std, between the evaluations
      const mu = M[p.series[0][0]], sd = M[p.band], steps = M.step, js = [];
      for (let j = 0; j < steps.length; j++) if (mu[j] !== null && sd[j] !== null) js.push(j);
      if (js.length) {
        g.fillStyle = "rgba(0,114,178,0.18)";
        g.beginPath();
        js.forEach((j, n) => { const x = curveX(steps[j]), y = scales.left.y(mu[j] + sd[j]); if (n) g.lineTo(x, y); else g.moveTo(x, y); });
        for (const j of js.slice().reverse()) g.lineTo(curveX(steps[j]), scales.left.y(mu[j] - sd[j]));
        g.closePath();
        g.fill();
      }
    }
    for (const [col, color, right] of p.series) {
      const sc = scales[right ? "right" : "left"], vals = M[col] || [];
      if (!sc) continue;
      g.strokeStyle = color; g.lineWidth = 1.4; g.setLineDash(right ? [5, 3] : []);
      g.beginPath();
      let pen = false; // rows without a value (e.g. no evaluation at that step) are skipped
      const sparse = vals.filter((v) => v !== null).length <= 60;
      vals.forEach((v, j) => {
        if (v === null || (p.log && v <= 0)) return;
        const x = curveX(M.step[j]), y = sc.y(p.log ? Math.log10(v) : v);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      });
      g.stroke(); g.setLineDash([]);
      if (sparse && !right) {
        g.fillStyle = color;
        vals.forEach((v, j) => {
          if (v === null || (p.log && v <= 0)) return;
          g.beginPath(); g.arc(curveX(M.step[j]), sc.y(p.log ? Math.log10(v) : v), 2, 0, 2 * Math.PI); g.fill();
        });
      }
    }
  });
  g.fillStyle = "#666"; g.textAlign = "center";
}

function latestRow(t) {
  return upperBound(M.step, t) - 1;
}

function drawCurvesCursor(t) {
  // a canvas not laid out yet (an <iframe srcdoc> parsed before its frame has a size, as on the
  // documentation site) has no pixels to copy: drawImage would throw; the resize redraws it
  if (!curvesBase || curvesBase.width === 0 || curvesBase.height === 0) return;
  curvesCtx.setTransform(1, 0, 0, 1, 0, 0);
  curvesCtx.clearRect(0, 0, curvesCanvas.width, curvesCanvas.height);
  curvesCtx.drawImage(curvesBase, 0, 0);
  const dpr = window.devicePixelRatio || 1;
  curvesCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const x = curveX(t);
  curvesCtx.strokeStyle = "#000"; curvesCtx.lineWidth = 1;
  curvesCtx.beginPath(); curvesCtx.moveTo(x, 0); curvesCtx.lineTo(x, curvesH); curvesCtx.stroke();
  const j = latestRow(t);
  if (j < 0) return;
  const ph = curvesH / CURVE_PANELS.length;
  curvesCtx.font = "11px system-ui, sans-serif"; curvesCtx.textAlign = "right"; curvesCtx.fillStyle = "#000";
  let lastEval = j;
  while (lastEval >= 0 && M.eval_return_mean[lastEval] === null) lastEval--;
  const texts = [
    lastEval >= 0 ? `${fmt(M.eval_return_mean[lastEval], 4)} ± ${fmt(M.eval_return_std[lastEval], 3)} (step ${M.step[lastEval]})` : "",
    M.loss[j] !== null ? `${fmt(M.loss[j], 3)} (steps to ${M.step[j]})` : "",
    `${fmt(M.hidden_nodes[j])} hidden, ${fmt(M.edges[j])} edges (step ${M.step[j]})`,
  ];
  texts.forEach((s, n) => curvesCtx.fillText(s, curvesW - CURVE_RIGHT, n * ph + 11));
}

function stepAtCurveX(x) {
  const s = ((x - CURVE_LEFT) / (curvesW - CURVE_LEFT - CURVE_RIGHT)) * LAST;
  return Math.max(0, Math.min(LAST, Math.round(s)));
}
