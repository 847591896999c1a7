// main.js: the state (step, selection, playback), the controls, and the page's small API
// (window.smgrnnViewer) used by the browser test and handy from the console.

const state = { t: LAST, trail: 1, focus: null, selection: null, playing: false, lastFrameMs: 0 };
let currentFrame = null, currentMarks = null;
const slider = document.getElementById("slider");

function render() {
  const t0 = performance.now();
  currentFrame = computeFrame(state.t);
  currentMarks = marksFor(state.t, state.trail, state.selection);
  const t1 = performance.now();
  drawGraph(currentFrame, currentMarks);
  const t2 = performance.now();
  document.getElementById("stat-step").textContent = state.t;
  document.getElementById("stat-nodes").textContent = currentFrame.nodes.length;
  document.getElementById("stat-hidden").textContent = currentFrame.hidden;
  document.getElementById("stat-edges").textContent = currentFrame.edges.length;
  // parameters: a weight per edge and a bias per non-input node
  let inputs = 0;
  for (const i of currentFrame.nodes) if (NODE_KIND[i] === 0) inputs++;
  document.getElementById("stat-params").textContent = currentFrame.edges.length + currentFrame.nodes.length - inputs;
  renderEventPanel(state.t, state.focus);
  renderSelection(state.t, state.selection);
  drawCurvesCursor(state.t);
  slider.value = state.t;
  const t3 = performance.now();
  state.lastFrameMs = t3 - t0;
  state.lastParts = { frame: t1 - t0, draw: t2 - t1, panels: t3 - t2 };  // where the time went
}

/** Go to step t (clipped to the run). Returns the time the frame took, in milliseconds. */
function setStep(t, focus) {
  state.t = Math.max(0, Math.min(LAST, Math.round(t)));
  state.focus = focus === undefined ? null : focus;
  render();
  return state.lastFrameMs;
}

function jump(steps, forward) {
  const s = forward ? nextIn(steps, state.t) : prevIn(steps, state.t);
  if (s !== null) setStep(s);
}

// --- playback -------------------------------------------------------------------------------
let playClock = null, playCarry = 0;
function setPlaying(on) {
  state.playing = on;
  document.getElementById("btn-play").textContent = on ? "⏸ pause" : "▶ play";
  if (on) {
    if (state.t >= LAST) setStep(0);
    playClock = null;
    playCarry = 0;
    requestAnimationFrame(tick);
  }
}

function tick(now) {
  if (!state.playing) return;
  const speed = document.getElementById("speed").value;
  if (playClock === null) playClock = now;
  const dt = (now - playClock) / 1000;
  if (speed === "events") {
    if (dt >= 0.35) { playClock = now; const s = nextIn(EVENT_STEPS, state.t); if (s === null) setStep(LAST); else setStep(s); }
  } else {
    playCarry += dt * Number(speed);
    playClock = now;
    const n = Math.floor(playCarry);
    if (n >= 1) { playCarry -= n; setStep(state.t + n); }
  }
  if (state.t >= LAST) { setPlaying(false); return; }
  requestAnimationFrame(tick);
}

// --- wiring -------------------------------------------------------------------------------
function on(id, fn) { document.getElementById(id).addEventListener("click", fn); }

function wire() {
  on("btn-start", () => setStep(0));
  on("btn-end", () => setStep(LAST));
  on("btn-prev-event", () => jump(EVENT_STEPS, false));
  on("btn-next-event", () => jump(EVENT_STEPS, true));
  on("btn-prev-relay", () => jump(RELAY_STEPS, false));
  on("btn-next-relay", () => jump(RELAY_STEPS, true));
  on("btn-prev-prune", () => jump(PRUNE_STEPS, false));
  on("btn-next-prune", () => jump(PRUNE_STEPS, true));
  on("btn-play", () => setPlaying(!state.playing));
  slider.addEventListener("input", () => setStep(Number(slider.value)));
  document.getElementById("trail").addEventListener("change", (e) => { state.trail = Number(e.target.value); render(); });
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT" && e.target !== slider) return;
    if (e.key === " ") { setPlaying(!state.playing); e.preventDefault(); }
    else if (e.key === "ArrowRight" && e.shiftKey) { jump(EVENT_STEPS, true); e.preventDefault(); }
    else if (e.key === "ArrowLeft" && e.shiftKey) { jump(EVENT_STEPS, false); e.preventDefault(); }
    else if (e.key === "Home") setStep(0);
    else if (e.key === "End") setStep(LAST);
    else if (e.target !== slider && e.key === "ArrowRight") setStep(state.t + 1);
    else if (e.target !== slider && e.key === "ArrowLeft") setStep(state.t - 1);
  });
  const tip = document.getElementById("tooltip");
  let hoverQueued = null;
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    hoverQueued = [e.clientX - r.left, e.clientY - r.top];
    requestAnimationFrame(() => {
      if (!hoverQueued) return;
      const [x, y] = hoverQueued;
      hoverQueued = null;
      const hit = pick(currentFrame, x, y);
      if (!hit) { tip.hidden = true; return; }
      tip.textContent = hit.type === "node" ? hoverNodeText(hit.i) : hoverEdgeText(hit.k);
      tip.style.left = Math.min(x + 14, canvasW - 220) + "px";
      tip.style.top = y + 12 + "px";
      tip.hidden = false;
    });
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (e) => {
    const r = canvas.getBoundingClientRect();
    state.selection = pick(currentFrame, e.clientX - r.left, e.clientY - r.top);
    render();
  });
  document.getElementById("event-body").addEventListener("click", (e) => {
    const card = e.target.closest(".card.relay");
    if (card) { state.focus = Number(card.dataset.event); state.selection = { type: "edge", k: EVENTS[state.focus][2] }; render(); }
  });
  curvesCanvas.addEventListener("click", (e) => {
    const r = curvesCanvas.getBoundingClientRect();
    setStep(stepAtCurveX(e.clientX - r.left));
  });
  let resizeQueued = false;
  window.addEventListener("resize", () => {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(() => { resizeQueued = false; layoutPixels(); drawCurvesBase(); render(); });
  });
}

function hoverNodeText(i) {
  const b = biasAt(i, state.t);
  return `node ${nodeName(i)} · ${KIND_NAMES[NODE_KIND[i]]}` + (b ? ` · bias ${fmt(b.value, 4)}` : "");
}

function hoverEdgeText(k) {
  return `edge ${edgeLabel(k)} · weight ${fmt(weightAt(k, state.t).value, 4)}`;
}

function legend() {
  const item = (style, text, dot) => el("span", {}, el("i", { class: dot ? "dot" : "", style }), text);
  document.getElementById("legend").append(
    item(`background:${COLORS.input}`, "input", true), item(`background:${COLORS.hidden}`, "hidden", true),
    item(`background:${COLORS.output}`, "output", true), item(`border-color:${COLORS.positive}`, "weight > 0"),
    item(`border-color:${COLORS.negative}`, "weight < 0"), item(`border-color:${COLORS.added}`, "added"),
    item(`border-color:${COLORS.ghost};border-top-style:dashed`, "removed (ghost)"),
    item(`border-color:${COLORS.halo}`, "relay's parent edge"), item(`border-color:${COLORS.candidate}`, "pruning candidate"));
}

function notes() {
  const box = document.getElementById("notes");
  const lines = [
    `Structure at every step rebuilt from topology.jsonl (${SNAP_STEPS.length} kept snapshots) and events.jsonl ` +
    `(${EVENTS.length} events); a weight or bias is the latest the run wrote (snapshot or birth), as the selection says.`,
    `Layout: ${D.layout.n_layers} layers by depth over the whole run (inputs left, outputs right); a node keeps its place ` +
    `for its whole life; places free ${D.layout.grace} steps after a death may be reused.`,
    `Relay windows: ${D.relay_windows.length ? "recorded" : NOT_RECORDED}. Pruning candidate sets: ` +
    `${PRUNE_CANDIDATES ? "recorded" : NOT_RECORDED}.`,
    ...D.notes,
  ];
  for (const s of lines) box.append(el("p", {}, s));
}

function init() {
  const title = `${RUN.env_id || "run"} · ${RUN.variant || "?"} · seed ${RUN.seed ?? "?"} (${RUN.name})`;
  document.getElementById("title").textContent = title;
  document.getElementById("stat-last").textContent = LAST;
  slider.max = LAST;
  legend();
  notes();
  wire();
  layoutPixels();
  drawCurvesBase();
  render();
}

window.smgrnnViewer = {
  setStep,
  get step() { return state.t; },
  get lastFrameMs() { return state.lastFrameMs; },
  get lastParts() { return state.lastParts; },
  select(sel) { state.selection = sel; render(); },
  /** Test hooks: what is drawn, in page (CSS pixel) coordinates of the graph canvas. */
  debug: {
    nodes() {
      return Array.from(currentFrame.nodes, (i) => ({ id: NODE_ID[i], kind: KIND_NAMES[NODE_KIND[i]], x: PX[i], y: PY[i], r: RAD[i] }));
    },
    parents() { return [...currentMarks.parents].map((k) => [D.edges.u[k], D.edges.v[k]]); },
    candidates() { return [...currentMarks.candidates].map((k) => [D.edges.u[k], D.edges.v[k]]); },
    /** The values each sparkline of the side panels draws, in page order. */
    sparklines() { return Array.from(document.querySelectorAll("canvas.spark"), (c) => SPARKLINES.get(c) || null); },
    edges() { return Array.from(currentFrame.edges, (k, j) => [D.edges.u[k], D.edges.v[k], currentFrame.weights[j]]); },
    edgePoints(u, v, n) {
      const k = (SPANS_OF_PAIR.get(u + "," + v) || []).find((s) => EDGE_BIRTH[s] <= state.t && state.t < EDGE_DEATH[s]);
      if (k === undefined) return null;
      const g = edgeControl(k, currentFrame.edges.length > BIG_GRAPH);
      return Array.from({ length: n }, (_, j) => pointOnEdge(g, (j + 1) / (n + 1)));
    },
    pick(x, y) {
      const hit = pick(currentFrame, x, y);
      if (!hit) return null;
      return hit.type === "node" ? { node: NODE_ID[hit.i] } : { edge: [D.edges.u[hit.k], D.edges.v[hit.k]] };
    },
  },
};

init();
