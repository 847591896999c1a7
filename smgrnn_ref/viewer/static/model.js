// model.js: the run's data decoded once into typed arrays, and the graph at any step.
//
// The structure at step t is exact: every node and edge lifetime (birth <= t < death) comes
// from the run's snapshots and events (smgrnn_ref/viz/history.py). A weight or bias is the
// latest one the run wrote: the latest kept snapshot at or before t, or the event that gave
// birth to the element after that snapshot.

const D = JSON.parse(document.getElementById("smgrnn-data").textContent);
const RUN = D.run;
const SPM = RUN.spm || {};
const LAST = RUN.last_step;
const KIND_NAMES = ["input", "hidden", "output"];
const EV = { RELAY: 0, ADDED: 1, PRUNED: 2, REMOVED: 3 };

const nN = D.nodes.id.length;
const nE = D.edges.u.length;
const NODE_ID = Int32Array.from(D.nodes.id);
const NODE_KIND = Uint8Array.from(D.nodes.kind);
const NODE_INDEX = Int32Array.from(D.nodes.index);
const NODE_BIRTH = Float64Array.from(D.nodes.birth);
const NODE_DEATH = Float64Array.from(D.nodes.death, (d) => (d < 0 ? Infinity : d));
const NODE_X = Float64Array.from(D.nodes.x);
const NODE_Y = Float64Array.from(D.nodes.y);
const NODE_OF_ID = new Map();
for (let i = 0; i < nN; i++) NODE_OF_ID.set(NODE_ID[i], i);
const EDGE_U = Int32Array.from(D.edges.u, (id) => NODE_OF_ID.get(id));
const EDGE_V = Int32Array.from(D.edges.v, (id) => NODE_OF_ID.get(id));
const EDGE_BIRTH = Float64Array.from(D.edges.birth);
const EDGE_DEATH = Float64Array.from(D.edges.death, (d) => (d < 0 ? Infinity : d));

// spans are stored in order of birth, so a scan for the living ones stops at the first
// span born after t; nodes are sorted by id, which is also birth order (ids never reused)
function sortedByBirth(births) {
  for (let i = 1; i < births.length; i++) if (births[i] < births[i - 1]) return false;
  return true;
}
const EDGES_BY_BIRTH = sortedByBirth(EDGE_BIRTH);
const NODES_BY_BIRTH = sortedByBirth(NODE_BIRTH);

// --- events -------------------------------------------------------------------------------
const EVENTS = D.events; // [code, step, ...] (smgrnn_ref/viewer/data.py)
const EV_STEP = Float64Array.from(EVENTS, (e) => e[1]);
const EVENT_STEPS = []; // distinct steps with an event, ascending
const RELAY_STEPS = [];
const PRUNE_STEPS = [];
for (let k = 0; k < EVENTS.length; k++) {
  const t = EVENTS[k][1], code = EVENTS[k][0];
  if (EVENT_STEPS[EVENT_STEPS.length - 1] !== t) EVENT_STEPS.push(t);
  if (code === EV.RELAY && RELAY_STEPS[RELAY_STEPS.length - 1] !== t) RELAY_STEPS.push(t);
  if ((code === EV.PRUNED || code === EV.REMOVED) && PRUNE_STEPS[PRUNE_STEPS.length - 1] !== t) PRUNE_STEPS.push(t);
}
const PRUNE_CANDIDATES = D.prune_candidates === null ? null : new Map(D.prune_candidates);

/** Index of the first element of the ascending array `a` greater than `x`. */
function upperBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Events with lo < step <= hi, as [first, end) indices into EVENTS. */
function eventRange(lo, hi) {
  return [upperBound(EV_STEP, lo), upperBound(EV_STEP, hi)];
}

function nextIn(steps, t) {
  const i = upperBound(steps, t);
  return i < steps.length ? steps[i] : null;
}

function prevIn(steps, t) {
  const i = upperBound(steps, t - 1) - 1;
  return i >= 0 ? steps[i] : null;
}

// --- weights and biases ---------------------------------------------------------------------
const SNAP_STEPS = D.snapshots.step;
const snapCache = new Map(); // snapshot index -> {w: Float64Array(nE), b: Float64Array(nN)}

/** Weights and biases of kept snapshot `i`, spread over all spans and nodes (NaN elsewhere). */
function snapshotValues(i) {
  let v = snapCache.get(i);
  if (v) return v;
  const t = SNAP_STEPS[i], ws = D.snapshots.weights[i], bs = D.snapshots.biases[i];
  const w = new Float64Array(nE).fill(NaN), b = new Float64Array(nN).fill(NaN);
  let j = 0;
  for (let k = 0; k < nE; k++) if (EDGE_BIRTH[k] <= t && t < EDGE_DEATH[k]) w[k] = ws[j++];
  if (j !== ws.length) throw new Error(`snapshot of step ${t}: ${ws.length} weights for ${j} edges`);
  j = 0;
  for (let i2 = 0; i2 < nN; i2++) {
    if (NODE_KIND[i2] !== 0 && NODE_BIRTH[i2] <= t && t < NODE_DEATH[i2]) b[i2] = bs[j++];
  }
  if (j !== bs.length) throw new Error(`snapshot of step ${t}: ${bs.length} biases for ${j} nodes`);
  if (snapCache.size > 4) snapCache.delete(snapCache.keys().next().value);
  v = { w, b };
  snapCache.set(i, v);
  return v;
}

function snapshotIndexAt(t) {
  return upperBound(SNAP_STEPS, t) - 1;
}

/** {value, at, source} of edge span k's weight at step t (k alive at t). */
function weightAt(k, t) {
  const i = snapshotIndexAt(t);
  if (i < 0 || EDGE_BIRTH[k] > SNAP_STEPS[i]) {
    return { value: D.edges.birth_weight[k], at: EDGE_BIRTH[k], source: "event" };
  }
  return { value: snapshotValues(i).w[k], at: SNAP_STEPS[i], source: "snapshot" };
}

/** {value, at, source} of node i's bias at step t, or null for an input. */
function biasAt(i, t) {
  if (NODE_KIND[i] === 0) return null;
  const s = snapshotIndexAt(t);
  if (s < 0 || NODE_BIRTH[i] > SNAP_STEPS[s]) {
    return { value: D.nodes.birth_bias[i], at: NODE_BIRTH[i], source: "event" };
  }
  return { value: snapshotValues(s).b[i], at: SNAP_STEPS[s], source: "snapshot" };
}

// --- the graph at a step ----------------------------------------------------------------------
const FINAL = D.final; // windows of graph.json, aligned with the spans / nodes alive at LAST
let finalEdgeSlot = null, finalNodeSlot = null; // span / node -> position in FINAL's lists
if (FINAL) {
  finalEdgeSlot = new Int32Array(nE).fill(-1);
  finalNodeSlot = new Int32Array(nN).fill(-1);
  let j = 0;
  for (let k = 0; k < nE; k++) if (EDGE_BIRTH[k] <= LAST && LAST < EDGE_DEATH[k]) finalEdgeSlot[k] = j++;
  j = 0;
  for (let i = 0; i < nN; i++) if (NODE_KIND[i] !== 0 && NODE_BIRTH[i] <= LAST && LAST < NODE_DEATH[i]) finalNodeSlot[i] = j++;
}

const frameNodes = new Int32Array(nN); // reused buffers: no allocation per frame
const frameEdges = new Int32Array(nE);
const frameWeights = new Float64Array(nE);
const nodeAlive = new Uint8Array(nN);

/** The graph at step t: living node and edge indices and each living edge's weight. */
function computeFrame(t) {
  let n = 0, m = 0;
  nodeAlive.fill(0);
  for (let i = 0; i < nN; i++) {
    if (NODE_BIRTH[i] > t) { if (NODES_BY_BIRTH) break; else continue; }
    if (t < NODE_DEATH[i]) { frameNodes[n++] = i; nodeAlive[i] = 1; }
  }
  const s = snapshotIndexAt(t);
  const snapW = s >= 0 ? snapshotValues(s).w : null;
  const snapT = s >= 0 ? SNAP_STEPS[s] : -Infinity;
  for (let k = 0; k < nE; k++) {
    if (EDGE_BIRTH[k] > t) { if (EDGES_BY_BIRTH) break; else continue; }
    if (t < EDGE_DEATH[k]) {
      frameEdges[m] = k;
      frameWeights[m] = EDGE_BIRTH[k] > snapT ? D.edges.birth_weight[k] : snapW[k];
      m++;
    }
  }
  let hidden = 0;
  for (let j = 0; j < n; j++) if (NODE_KIND[frameNodes[j]] === 1) hidden++;
  return { t, nodes: frameNodes.subarray(0, n), edges: frameEdges.subarray(0, m),
           weights: frameWeights.subarray(0, m), hidden };
}

function edgeLabel(k) {
  return `${D.edges.u[k]} → ${D.edges.v[k]}`;
}

function nodeName(i) {
  const kind = KIND_NAMES[NODE_KIND[i]];
  if (kind === "input") return `${NODE_ID[i]} (in ${NODE_INDEX[i]})`;
  if (kind === "output") return `${NODE_ID[i]} (out ${NODE_INDEX[i]})`;
  return `${NODE_ID[i]}`;
}

function fmt(x, digits) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x).toPrecision(digits === undefined ? 6 : digits).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
}
