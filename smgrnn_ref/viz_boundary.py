"""Decision boundaries of a 2-D SMGrNN classifier beside its growing graph, frame by frame.

The picture TensorFlow Playground made famous, for a network whose topology grows: each frame
shows, for one recorded training step of an :class:`smgrnn_ref.estimators.SMGrNNClassifier`,
the class probabilities over the plane with the data on top (left) and the graph at that step
(right), drawn by :func:`smgrnn_ref.viz.draw` with one layered layout (:func:`smgrnn_ref.viz.snapshots_layout`) for
all frames (so a node keeps its place for its whole life) and the changes since the previous
frame highlighted (added in green, pruned as grey ghosts), exactly like a training run's
topology frames.

The classifier must be fitted with ``record_every`` (it then keeps a frozen copy of its graph
every ``record_every`` steps in ``history_``); a :class:`sklearn.pipeline.Pipeline` ending in
one works too (the grid is passed through the pipeline's preprocessing, so the axes are the
data's own units). Only :mod:`smgrnn_ref.viz`'s public functions draw the graphs.

* :func:`plot_boundary`: one boundary panel (the fitted model, or one recorded step);
* :func:`render_boundary_frames`: PNG frames ``frame_0000.png``, ... (boundary | graph);
* :func:`animate_boundary`: those frames and a GIF.

Examples
--------
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from smgrnn_ref.datasets import make_playground
>>> from smgrnn_ref.estimators import SMGrNNClassifier
>>> X, y = make_playground("xor", 100, noise=0.0, random_state=0)
>>> model = make_pipeline(StandardScaler(), SMGrNNClassifier(max_iter=4, record_every=10, random_state=0))
>>> model = model.fit(X, y)
>>> [r["step"] for r in model[-1].history_]
[0, 10, 16]
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> gif = animate_boundary(model, X, y, out / "xor.gif", frames_dir=out / "frames", dpi=40)
>>> sorted(p.name for p in (out / "frames").iterdir()), gif.name
(['frame_0000.png', 'frame_0001.png', 'frame_0002.png'], 'xor.gif')
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .viz import Layout, diff_snapshots, draw, snapshot, snapshots_layout

#: Grid points per axis of a boundary panel.
RESOLUTION = 120
#: The grid extends this fraction of the data's range beyond it on every side.
MARGIN = 0.1
#: Frame size in inches (boundary | graph) and the axes rectangles in figure fractions:
#: fixed, so every frame has the same pixels and the frames stack into a GIF.
FIGSIZE = (13.0, 5.6)
BOUNDARY_AXES = (0.04, 0.14, 0.36, 0.76)
GRAPH_AXES = (0.44, 0.14, 0.55, 0.76)
#: Class colours (Okabe-Ito, as the graph pictures): class i gets CLASS_COLORS[i % len].
CLASS_COLORS = ("#D55E00", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def _split(model):
    """``(preprocess, classifier)``: a Pipeline's leading steps (or ``None``) and its last one."""
    steps = getattr(model, "steps", None)
    if steps is not None:
        return model[:-1], model[-1]
    return None, model


def _check(model, X, y):
    pre, est = _split(model)
    if not hasattr(est, "history_") or not hasattr(est, "classes_"):
        raise ValueError("decision-boundary pictures need a fitted SMGrNNClassifier (or a Pipeline ending in one)")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision-boundary pictures need 2-D inputs, got X of shape {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    return pre, est, X, y


def _grid(X, resolution: int, margin: float):
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.c_[gx.ravel(), gy.ravel()]


def _draw_boundary(ax, gx, gy, P, X, y, classes, title=None):
    """The probability map ``P`` (grid points x classes) under the data points."""
    from matplotlib.colors import LinearSegmentedColormap, to_rgb

    shape = gx.shape
    if P.shape[1] == 2:
        # P(classes_[1]) from the colour of class 0 through white to that of class 1
        cmap = LinearSegmentedColormap.from_list("pair", [CLASS_COLORS[0], "#ffffff", CLASS_COLORS[1]])
        ax.contourf(gx, gy, P[:, 1].reshape(shape), levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.75)
        ax.contour(gx, gy, P[:, 1].reshape(shape), levels=[0.5], colors="black", linewidths=1.0)
    else:
        # the most probable class, fading to white where it is barely more probable than chance
        k = P.argmax(axis=1)
        rgb = np.array([to_rgb(CLASS_COLORS[i % len(CLASS_COLORS)]) for i in range(P.shape[1])])[k]
        strength = (P.max(axis=1) - 1.0 / P.shape[1]) / (1.0 - 1.0 / P.shape[1])
        img = 1.0 - strength[:, None] * (1.0 - rgb) * 0.75
        ax.imshow(img.reshape(*shape, 3), origin="lower", aspect="auto",
                  extent=(gx.min(), gx.max(), gy.min(), gy.max()))
    for i, c in enumerate(classes):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=9, c=CLASS_COLORS[i % len(CLASS_COLORS)], edgecolors="white",
                   linewidths=0.4, label=str(c))
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.legend(loc="upper right", fontsize=7, title="class", title_fontsize=7, framealpha=0.8)
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def plot_boundary(model, X, y, ax=None, *, record: int | None = None, resolution: int = RESOLUTION,
                  margin: float = MARGIN, title: str | None = None):
    """Draw the class probabilities of a 2-D classifier over the plane, with the data.

    Parameters
    ----------
    model : SMGrNNClassifier or Pipeline
        Fitted; a Pipeline's leading steps transform the grid first.
    X : array-like of shape (n_samples, 2)
        Points to draw (in the units ``model`` is called with); they also fix the extent.
    y : array-like of shape (n_samples,)
        Their labels (values of ``classes_``).
    ax : matplotlib.axes.Axes, optional
        A new ``pyplot`` figure when omitted.
    record : int, optional
        Index into ``history_`` (needs ``record_every``); by default the fitted model.
    resolution : int
        Grid points per axis.
    margin : float
        Extra extent around the data, as a fraction of its range.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``model`` is not a fitted SMGrNN classifier, ``X`` is not 2-D, or ``record`` names
        no recorded step.
    """
    pre, est, X, y = _check(model, X, y)
    gx, gy, grid = _grid(X, resolution, margin)
    Z = grid if pre is None else pre.transform(grid)
    if record is None:
        P = est.predict_proba(Z)
    else:
        if not -len(est.history_) <= record < len(est.history_):
            raise ValueError(f"record {record} is not in history_ ({len(est.history_)} recorded steps)")
        P = list(est.staged_predict_proba(Z))[record][1]
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(5.5, 5))[1]
    return _draw_boundary(ax, gx, gy, P, X, y, est.classes_, title)


def render_boundary_frames(model, X, y, out_dir, *, every: int = 1, resolution: int = RESOLUTION,
                           margin: float = MARGIN, dpi: int = 100, layout: Layout | None = None) -> list[Path]:
    """One PNG per recorded step: the boundary (left) beside the graph (right).

    Frames are ``frame_0000.png``, ``frame_0001.png``, ... in ``out_dir`` (existing files of
    those names are overwritten). Each graph panel highlights the changes since the previous
    frame; all frames share one layout (the layered layout of every recorded graph,
    :func:`smgrnn_ref.viz.snapshots_layout`, as a training run's frames) and the same figure.

    Parameters
    ----------
    model, X, y, resolution, margin
        As :func:`plot_boundary`.
    out_dir : path
    every : int
        Keep one recorded step in ``every`` (the last one always).
    dpi : int
    layout : Layout, optional
        The positions of every node drawn (by default the layout of all the recorded graphs).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ValueError
        As :func:`plot_boundary`, when nothing was recorded (fit with ``record_every``), or for
        ``every < 1``.
    """
    from matplotlib.figure import Figure

    pre, est, X, y = _check(model, X, y)
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    if not est.history_:
        raise ValueError("the classifier recorded no training steps: fit it with record_every set")
    keep = sorted(set(range(0, len(est.history_), every)) | {len(est.history_) - 1})
    gx, gy, grid = _grid(X, resolution, margin)
    Z = grid if pre is None else pre.transform(grid)
    Xm = X if pre is None else pre.transform(X)
    staged = [P for _, P in est.staged_predict_proba(Z)]
    on_data = [P for _, P in est.staged_predict_proba(Xm)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    snaps = [snapshot(rec["graph"], rec["step"]) for rec in est.history_]
    layout = snapshots_layout(snaps) if layout is None else layout
    paths, prev = [], None
    for i, r in enumerate(keep):
        rec = est.history_[r]
        snap = snaps[r]
        d = diff_snapshots(prev if prev is not None else snap, snap)
        fig = Figure(figsize=FIGSIZE, dpi=dpi)
        # accuracy on the points drawn (whatever they are: training or test points)
        acc = float(np.mean(est.classes_[on_data[r].argmax(axis=1)] == y))
        _draw_boundary(fig.add_axes(BOUNDARY_AXES), gx, gy, staged[r], X, y, est.classes_,
                       title=f"step {rec['step']} (epoch {rec['epoch']}): accuracy {acc:.3f} on these points")
        G = rec["graph"]
        n_hidden = sum(1 for _, k in G.nodes(data="kind") if k == "hidden")
        draw(G, fig.add_axes(GRAPH_AXES), layout, added_edges=d["added_edges"], removed_edges=d["removed_edges"],
             added_nodes=d["added_nodes"], removed_nodes=d["removed_nodes"],
             title=f"{n_hidden} hidden nodes, {G.number_of_edges()} edges")
        # the frame counter also keeps consecutive frames distinct for GIF writers
        fig.text(0.02, 0.015, f"frame {i + 1}/{len(keep)}", fontsize=7, color="#444444")
        path = out_dir / f"frame_{i:04d}.png"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
        prev = snap
    return paths


def _write_gif(paths, out_path: Path, fps: float) -> None:
    """Stack PNG frames into a looping GIF with one palette (no flicker between frames)."""
    from PIL import Image

    with Image.open(paths[-1]) as last:  # the last frame holds the most colours
        palette = last.convert("RGB").quantize(colors=256)
    frames = []
    for p in paths:
        with Image.open(p) as im:
            frames.append(im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE))
    frames[0].save(out_path, save_all=True, append_images=frames[1:], loop=0,
                   duration=max(int(round(1000.0 / fps)), 20), disposal=1)


def animate_boundary(model, X, y, out_path, *, fps: float = 4.0, every: int = 1, dpi: int = 100,
                     frames_dir=None, resolution: int = RESOLUTION, margin: float = MARGIN) -> Path:
    """Write the frames of :func:`render_boundary_frames` and a GIF of them.

    Parameters
    ----------
    model, X, y, every, dpi, resolution, margin
        As :func:`render_boundary_frames`.
    out_path : path
        The ``.gif`` to write.
    fps : float
        Frames per second.
    frames_dir : path, optional
        Keep the PNG frames there (by default in a temporary directory, deleted).

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    ValueError
        For a suffix other than ``.gif``, ``fps <= 0``, and as :func:`render_boundary_frames`.
    """
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".gif":
        raise ValueError(f"animate_boundary writes a .gif, not {out_path.name!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smgrnn_boundary_") as tmp:
        fdir = Path(frames_dir) if frames_dir is not None else Path(tmp)
        paths = render_boundary_frames(model, X, y, fdir, every=every, dpi=dpi, resolution=resolution, margin=margin)
        _write_gif(paths, out_path, fps)
    return out_path


__all__ = ["plot_boundary", "render_boundary_frames", "animate_boundary", "RESOLUTION", "MARGIN"]
