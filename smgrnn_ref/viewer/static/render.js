// render.js: the graph canvas. Positions come from the run-wide layered layout
// (smgrnn_ref/viz/layered_layout.py, unit square, y up; the PNG frames and GIF use the same), so a node never moves; only the pixel
// scale changes with the window size.

const COLORS = {
  input: "#F0E442", hidden: "#CC79A7", output: "#E69F00",
  positive: "#0072B2", negative: "#D55E00", added: "#009E73", ghost: "#9a9a9a",
  halo: "#F0E442", candidate: "#56B4E9", select: "#000000",
};
const NODE_FILL = [COLORS.input, COLORS.hidden, COLORS.output];
const MARGIN = { left: 72, right: 80, top: 16, bottom: 16 }; // room for "12 (in 12)" / "14 (out 2)"
// radius rule of smgrnn_ref.viz.layered_layout.node_radius: a fraction of the room, clipped
const RADIUS = { max: 9, min: 1.5, fill: 0.42 };
const WEIGHT_CLIP = 2.0; // |w| at which an edge's width saturates (as in the PNG frames)
const BIG_GRAPH = 1500; // above this many edges: straight, thin, faint edges, no arrowheads
const ARROW_LIMIT = 400; // arrowheads up to this many edges
const HUGE_GRAPH = 5000; // above this many edges: a density picture (drawDensity)
const LABEL_RADIUS = 6.5; // hidden ids are written inside nodes at least this large

const canvas = document.getElementById("graph");
const ctx = canvas.getContext("2d");
const PX = new Float64Array(nN), PY = new Float64Array(nN);
const RAD = new Float64Array(nN);
let canvasW = 0, canvasH = 0, hiddenRadius = RADIUS.min;

function clampRadius(room) {
  return Math.min(RADIUS.max, Math.max(RADIUS.min, RADIUS.fill * room));
}

/** Distance from each distinct place to its nearest other place (pixels), by a grid. */
function roomOfPlaces() {
  const key = new Map(); // "x,y" -> place index (nodes that share a track share a place)
  const placeOf = new Int32Array(nN), xs = [], ys = [];
  for (let i = 0; i < nN; i++) {
    const k = PX[i].toFixed(3) + "," + PY[i].toFixed(3);
    let p = key.get(k);
    if (p === undefined) { p = xs.length; key.set(k, p); xs.push(PX[i]); ys.push(PY[i]); }
    placeOf[i] = p;
  }
  const P = xs.length, room = new Float64Array(P).fill(Infinity);
  const cell = Math.max(4, 2 * RADIUS.max / RADIUS.fill); // beyond this any radius fits
  const grid = new Map();
  for (let p = 0; p < P; p++) {
    const g = Math.floor(xs[p] / cell) + "," + Math.floor(ys[p] / cell);
    if (!grid.has(g)) grid.set(g, []);
    grid.get(g).push(p);
  }
  for (let p = 0; p < P; p++) {
    const gx = Math.floor(xs[p] / cell), gy = Math.floor(ys[p] / cell);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      const list = grid.get((gx + dx) + "," + (gy + dy));
      if (!list) continue;
      for (const q of list) {
        if (q === p) continue;
        const d = Math.hypot(xs[p] - xs[q], ys[p] - ys[q]);
        if (d < room[p]) room[p] = d;
      }
    }
  }
  return { placeOf, room };
}

/** Pixel positions and radii for the current canvas size. */
function layoutPixels() {
  const rect = canvas.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvasW = Math.max(200, rect.width);
  canvasH = Math.max(200, rect.height);
  canvas.width = Math.round(canvasW * dpr);
  canvas.height = Math.round(canvasH * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const w = canvasW - MARGIN.left - MARGIN.right, h = canvasH - MARGIN.top - MARGIN.bottom;
  for (let i = 0; i < nN; i++) {
    PX[i] = MARGIN.left + NODE_X[i] * w;
    PY[i] = MARGIN.top + (1 - NODE_Y[i]) * h;
  }
  const { placeOf, room } = roomOfPlaces();
  let minHidden = Infinity;
  for (let i = 0; i < nN; i++) if (NODE_KIND[i] === 1) minHidden = Math.min(minHidden, room[placeOf[i]]);
  hiddenRadius = clampRadius(Number.isFinite(minHidden) ? minHidden : 2 * RADIUS.max / RADIUS.fill);
  // one size for all hidden nodes (a steady picture); inputs and outputs each as large as
  // their own room allows, at least the hidden size
  for (let i = 0; i < nN; i++) {
    RAD[i] = NODE_KIND[i] === 1 ? hiddenRadius : Math.max(hiddenRadius, clampRadius(room[placeOf[i]]));
  }
}

// --- edge geometry: a slight arc (a relay path i -> r -> j stays apart from the kept
// edge i -> j, and the two directions of a pair bend to opposite sides) ----------------------
function edgeControl(k, straight) {
  const a = EDGE_U[k], b = EDGE_V[k];
  const x0 = PX[a], y0 = PY[a], x1 = PX[b], y1 = PY[b];
  if (straight) return [x0, y0, (x0 + x1) / 2, (y0 + y1) / 2, x1, y1];
  const same = NODE_KIND[a] === 2 && NODE_KIND[b] === 2; // output -> output: a wider arc
  const bend = same ? 0.35 : 0.08;
  return [x0, y0, (x0 + x1) / 2 + bend * (y1 - y0), (y0 + y1) / 2 - bend * (x1 - x0), x1, y1];
}

function pointOnEdge(g, s) {
  const u = 1 - s;
  return [u * u * g[0] + 2 * u * s * g[2] + s * s * g[4], u * u * g[1] + 2 * u * s * g[3] + s * s * g[5]];
}

function edgeWidth(w, big) {
  const lw = 0.6 + 2.4 * Math.min(Math.abs(w) / WEIGHT_CLIP, 1);
  return big ? 0.35 + 0.5 * lw : lw;
}

function pathEdge(g) {
  ctx.moveTo(g[0], g[1]);
  ctx.quadraticCurveTo(g[2], g[3], g[4], g[5]);
}

function arrowHead(g, r, size) {
  // the tangent at the end of the curve is (end - control)
  const dx = g[4] - g[2], dy = g[5] - g[3], L = Math.hypot(dx, dy) || 1;
  const ux = dx / L, uy = dy / L, tx = g[4] - ux * r, ty = g[5] - uy * r;
  ctx.moveTo(tx, ty);
  ctx.lineTo(tx - ux * size - uy * size * 0.5, ty - uy * size + ux * size * 0.5);
  ctx.lineTo(tx - ux * size + uy * size * 0.5, ty - uy * size - ux * size * 0.5);
  ctx.closePath();
}

/** Draw one frame. `marks` (from marksFor in panels.js) says what to highlight. */
function drawGraph(frame, marks) {
  ctx.clearRect(0, 0, canvasW, canvasH);
  const big = frame.edges.length > BIG_GRAPH;
  const arrows = frame.edges.length <= ARROW_LIMIT;
  drawGhosts(marks, big);
  if (frame.edges.length > HUGE_GRAPH) {
    drawDensity(frame, marks);
    drawMarkedEdges(frame, marks, big, arrows);
    drawNodes(frame, marks);
    return;
  }
  // living edges, batched by colour and width: a handful of strokes however many edges
  const buckets = new Map();
  for (let j = 0; j < frame.edges.length; j++) {
    const k = frame.edges[j];
    if (marks.added.has(k)) continue;
    const w = frame.weights[j];
    const key = (w >= 0 ? "p" : "n") + Math.round(edgeWidth(w, big) * 4);
    if (!buckets.has(key)) buckets.set(key, []);
    buckets.get(key).push(k);
  }
  // thousands of edges: fainter the more there are, so the picture stays a density, not a
  // blot; thin buckets first, so the strongest weights are drawn on top
  ctx.globalAlpha = big ? Math.max(0.05, 0.3 * Math.sqrt(BIG_GRAPH / frame.edges.length)) : 0.75;
  const order = [...buckets.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)) || (a < b ? -1 : 1));
  for (const key of order) {
    const ks = buckets.get(key);
    ctx.strokeStyle = key[0] === "p" ? COLORS.positive : COLORS.negative;
    ctx.lineWidth = Number(key.slice(1)) / 4;
    ctx.beginPath();
    for (const k of ks) pathEdge(edgeControl(k, big));
    ctx.stroke();
    if (arrows) {
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      for (const k of ks) arrowHead(edgeControl(k, big), RAD[EDGE_V[k]] + 1, 5);
      ctx.fill();
    }
  }
  ctx.globalAlpha = 1;
  drawMarkedEdges(frame, marks, big, arrows);
  drawNodes(frame, marks);
}

/** Tens of thousands of edges: a density picture, rasterised here (each edge a one-pixel
 * line, counted per pixel for each sign, then shaded), which costs the same however the
 * edges overlap. Colour: the blend of positive (blue) and negative (vermillion) edges. */
let density = null;
function drawDensity(frame, marks) {
  const W = Math.max(1, Math.round(canvasW)), H = Math.max(1, Math.round(canvasH));
  if (!density || density.W !== W || density.H !== H) {
    const layer = document.createElement("canvas");
    layer.width = W; layer.height = H;
    density = { W, H, pos: new Float32Array(W * H), neg: new Float32Array(W * H), layer,
                img: layer.getContext("2d").createImageData(W, H) };
  }
  const { pos, neg, img } = density;
  pos.fill(0); neg.fill(0);
  for (let j = 0; j < frame.edges.length; j++) {
    const k = frame.edges[j];
    if (marks.added.has(k)) continue;
    const acc = frame.weights[j] >= 0 ? pos : neg;
    const x0 = PX[EDGE_U[k]], y0 = PY[EDGE_U[k]], x1 = PX[EDGE_V[k]], y1 = PY[EDGE_V[k]];
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const dx = (x1 - x0) / n, dy = (y1 - y0) / n;
    let x = x0, y = y0;
    for (let i = 0; i <= n; i++, x += dx, y += dy) {
      const xi = x | 0, yi = y | 0;
      if (xi >= 0 && xi < W && yi >= 0 && yi < H) acc[yi * W + xi] += 1;
    }
  }
  const px = img.data, P = [0, 114, 178], N = [213, 94, 0];
  for (let i = 0, o = 0; i < W * H; i++, o += 4) {
    const p = pos[i], q = neg[i], c = p + q;
    if (c === 0) { px[o + 3] = 0; continue; }
    const f = p / c;
    px[o] = f * P[0] + (1 - f) * N[0];
    px[o + 1] = f * P[1] + (1 - f) * N[1];
    px[o + 2] = f * P[2] + (1 - f) * N[2];
    px[o + 3] = 255 * (1 - Math.exp(-0.35 * c)); // one line faint, many lines solid
  }
  density.layer.getContext("2d").putImageData(img, 0, 0);
  ctx.drawImage(density.layer, 0, 0, canvasW, canvasH);
}

function strokeEdges(ks, color, width, dash, big) {
  if (!ks.length) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.setLineDash(dash || []);
  ctx.beginPath();
  for (const k of ks) pathEdge(edgeControl(k, big));
  ctx.stroke();
  ctx.setLineDash([]);
}

function drawGhosts(marks, big) {
  strokeEdges([...marks.ghostEdges], COLORS.ghost, 1.2, [4, 3], big);
  ctx.setLineDash([3, 2]);
  ctx.strokeStyle = COLORS.ghost;
  ctx.lineWidth = 1.4;
  for (const i of marks.ghostNodes) {
    ctx.beginPath();
    ctx.arc(PX[i], PY[i], Math.max(RAD[i], 3) * 1.15, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

function drawMarkedEdges(frame, marks, big, arrows) {
  // candidates of a pruning step (kept ones alive, drawn ones as ghosts): a sky-blue halo
  strokeEdges([...marks.candidates], COLORS.candidate, 6, null, big);
  strokeEdges([...marks.ghostEdges].filter((k) => marks.candidates.has(k)), COLORS.ghost, 1.2, [4, 3], big);
  // the relay's parent edge: a yellow halo round a black core
  strokeEdges([...marks.parents], COLORS.halo, 8, null, big);
  strokeEdges([...marks.parents], COLORS.select, 2.2, null, big);
  // new edges
  const added = [...marks.added].filter((k) => EDGE_BIRTH[k] <= frame.t && frame.t < EDGE_DEATH[k]);
  strokeEdges(added, COLORS.added, 2.2, null, big);
  if (arrows && added.length) {
    ctx.fillStyle = COLORS.added;
    ctx.beginPath();
    for (const k of added) arrowHead(edgeControl(k, big), RAD[EDGE_V[k]] + 1, 6);
    ctx.fill();
  }
  if (marks.selectedEdge !== null) {
    strokeEdges([marks.selectedEdge], COLORS.select, 4, [6, 3], big);
  }
}

function drawNodes(frame, marks) {
  for (let kind = 0; kind < 3; kind++) {
    ctx.fillStyle = NODE_FILL[kind];
    ctx.beginPath();
    for (const i of frame.nodes) {
      if (NODE_KIND[i] !== kind) continue;
      ctx.moveTo(PX[i] + RAD[i], PY[i]);
      ctx.arc(PX[i], PY[i], RAD[i], 0, 2 * Math.PI);
    }
    ctx.fill();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = hiddenRadius < 3 && kind === 1 ? 0.4 : 0.8;
    ctx.stroke();
  }
  ctx.strokeStyle = COLORS.added;
  ctx.lineWidth = 2.5;
  for (const i of marks.addedNodes) {
    if (!nodeAlive[i]) continue;
    ctx.beginPath();
    ctx.arc(PX[i], PY[i], Math.max(RAD[i], 3) + 3, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (marks.selectedNode !== null) {
    const i = marks.selectedNode;
    ctx.strokeStyle = COLORS.select;
    ctx.lineWidth = 2.5;
    ctx.setLineDash([4, 2]);
    ctx.beginPath();
    ctx.arc(PX[i], PY[i], Math.max(RAD[i], 3) + 4, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  drawLabels(frame, marks);
}

function drawLabels(frame, marks) {
  ctx.textBaseline = "middle";
  ctx.fillStyle = "#000";
  const inside = hiddenRadius >= LABEL_RADIUS;
  for (const i of frame.nodes) {
    const kind = NODE_KIND[i];
    if (kind === 1 && inside) { // a hidden node: its id inside
      const size = Math.max(6, Math.min(11, RAD[i] * 1.1));
      ctx.font = `${size}px system-ui, sans-serif`;
      const text = String(NODE_ID[i]);
      if (RAD[i] >= LABEL_RADIUS) {
        ctx.textAlign = "center";
        ctx.fillText(text, PX[i], PY[i], 2 * RAD[i] - 1);
      }
    }
    if (kind !== 1) { // an input / output beside the node: its id, then its index ("4 (out 0)")
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = kind === 0 ? "right" : "left";
      const dx = (RAD[i] + 4) * (kind === 0 ? -1 : 1);
      ctx.fillText(nodeName(i), PX[i] + dx, PY[i]);
    }
  }
  // ghosts, new nodes and the selection are always named, beside the node
  const named = new Set([...marks.ghostNodes, ...(inside ? [] : [...marks.addedNodes].filter((i) => nodeAlive[i]))]);
  if (marks.selectedNode !== null && !inside) named.add(marks.selectedNode);
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "left";
  for (const i of named) {
    const x = PX[i] + Math.max(RAD[i], 3) + 3, y = PY[i] - Math.max(RAD[i], 3) - 3;
    const text = String(NODE_ID[i]);
    const w = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(x - 1, y - 6, w + 2, 12);
    ctx.fillStyle = marks.ghostNodes.has(i) ? "#555" : "#000";
    ctx.fillText(text, x, y);
  }
}

// --- hit testing -------------------------------------------------------------------------
function distToEdge(k, x, y, big) {
  const g = edgeControl(k, big);
  let best = Infinity, px = g[0], py = g[1];
  const steps = big ? 1 : 8;
  for (let s = 1; s <= steps; s++) {
    const [qx, qy] = pointOnEdge(g, s / steps);
    const dx = qx - px, dy = qy - py, L2 = dx * dx + dy * dy;
    let u = L2 ? ((x - px) * dx + (y - py) * dy) / L2 : 0;
    u = Math.max(0, Math.min(1, u));
    best = Math.min(best, Math.hypot(x - (px + u * dx), y - (py + u * dy)));
    px = qx; py = qy;
  }
  return best;
}

/** The node or edge under (x, y): {type: "node", i} or {type: "edge", k} or null. */
function pick(frame, x, y) {
  let bestNode = null, bestD = Infinity;
  for (const i of frame.nodes) {
    const d = Math.hypot(PX[i] - x, PY[i] - y);
    if (d <= Math.max(RAD[i], 3) + 2 && d < bestD) { bestD = d; bestNode = i; }
  }
  if (bestNode !== null) return { type: "node", i: bestNode };
  const big = frame.edges.length > BIG_GRAPH;
  let bestEdge = null;
  bestD = 5;
  for (const k of frame.edges) {
    const a = EDGE_U[k], b = EDGE_V[k];
    if (x < Math.min(PX[a], PX[b]) - 40 || x > Math.max(PX[a], PX[b]) + 40) continue;
    const d = distToEdge(k, x, y, big);
    if (d < bestD) { bestD = d; bestEdge = k; }
  }
  return bestEdge === null ? null : { type: "edge", k: bestEdge };
}
