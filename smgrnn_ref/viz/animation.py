"""Frames and animations of a run's topology: PNG frames, a GIF (Pillow) or an MP4 (ffmpeg).

:func:`render_frames` draws one PNG per topology snapshot, every frame on the same layered
layout (:mod:`smgrnn_ref.viz.layout`: for a run directory, the run's own, the one its viewer
shows), figure size and axis extent, with the changes since the previous snapshot
highlighted (:func:`smgrnn_ref.rundir.diff_snapshots`); :func:`animate` stacks them into a
GIF or an MP4. Snapshots come from a run's ``topology.jsonl`` (:mod:`smgrnn_ref.rundir`) or
from a list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..rundir import EVENTS_FILE, TOPOLOGY_FILE, check_snapshot, diff_snapshots, read_snapshots, snapshot_to_graph
from .drawing import draw
from .layered_layout import Layout
from .layout import run_layout, snapshots_layout


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _frame_title(snap) -> str:
    kinds = [rec[1] for rec in snap["nodes"]]
    return f"step {snap['step']}: {kinds.count('hidden')} hidden nodes, {len(snap['edges'])} edges"


def _diff_caption(d) -> str:
    return (
        f"+{len(d['added_nodes'])} nodes, +{len(d['added_edges'])} edges, "
        f"-{len(d['removed_nodes'])} nodes, -{len(d['removed_edges'])} edges since previous frame"
    )


def render_frames(
    snapshots: Sequence[Mapping],
    out_dir,
    *,
    layout: Layout | None = None,
    dpi: int = 100,
    figsize: tuple[float, float] = (8.0, 6.4),
    weight_clip: float = 2.0,
) -> list[Path]:
    """Write one PNG per snapshot, ``frame_0000.png``, ``frame_0001.png``, ... in ``out_dir``.

    Each frame is titled ``"step N: H hidden nodes, E edges"`` and highlights the difference
    with the previous snapshot (added in green, pruned as grey ghosts); the first frame has
    no highlights. All frames share one layout (by default the layered layout of every node
    the snapshots show, :func:`~smgrnn_ref.viz.layout.snapshots_layout`; :func:`animate`
    passes a run's own), the same figure size and the same axis extent, so nodes stay in
    place, keep one size, and the frames can be stacked into a video. Existing files of the
    same names are overwritten; other files are left alone.

    Returns
    -------
    list of pathlib.Path
        The frame files, in order.
    """
    from matplotlib.figure import Figure

    snapshots = list(snapshots)
    if not snapshots:
        raise ValueError("render_frames needs at least one snapshot")
    for i, snap in enumerate(snapshots):
        try:
            check_snapshot(snap)
        except ValueError as err:
            raise ValueError(f"snapshot {i}: {err}") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = snapshots_layout(snapshots) if layout is None else layout
    n = len(snapshots)
    paths = []
    prev = None
    for i, snap in enumerate(snapshots):
        G = snapshot_to_graph(snap)
        d = diff_snapshots(prev, snap) if prev is not None else diff_snapshots(snap, snap)
        fig = Figure(figsize=figsize, dpi=dpi)
        # Fixed axes rectangle (no tight bbox): every frame has the same pixel size and the
        # same data-to-pixel mapping.
        ax = fig.add_axes((0.02, 0.12, 0.96, 0.80))
        draw(G, ax, layout, added_edges=d["added_edges"], removed_edges=d["removed_edges"],
             added_nodes=d["added_nodes"], removed_nodes=d["removed_nodes"],
             title=_frame_title(snap), weight_clip=weight_clip)
        caption = _diff_caption(d) if prev is not None else "first frame"
        fig.text(0.02, 0.015, caption, fontsize=7, color="#444444", ha="left", va="bottom")
        # The frame counter also makes every frame distinct, so GIF writers that merge
        # identical consecutive frames keep one frame per snapshot.
        fig.text(0.98, 0.015, f"frame {i + 1}/{n}", fontsize=7, color="#444444", ha="right", va="bottom")
        path = out_dir / f"frame_{i:04d}.png"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
        prev = snap
    return paths


def _resolve_snapshots(source) -> tuple[list[dict], Layout | None]:
    """The snapshots of ``source`` and, for a run's log, the run's layout (from its events too)."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            p = p / TOPOLOGY_FILE
        if not p.is_file():
            raise FileNotFoundError(f"no topology log at {p}")
        run = p.parent
        if p.name == TOPOLOGY_FILE and (run / EVENTS_FILE).is_file():
            return read_snapshots(p), run_layout(run)
        return read_snapshots(p), None
    return list(source), None


def _ffmpeg_exe() -> str | None:
    """Path of an ffmpeg executable (system, or the imageio-ffmpeg wheel), or ``None``."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or its bundled binary is missing
        return None


def animate(
    source,
    out_path,
    *,
    fps: float = 4.0,
    dpi: int = 100,
    every: int = 1,
    layout: Layout | None = None,
    frames_dir=None,
) -> Path:
    """Animate the topology of a run: a GIF, or an MP4 when ``out_path`` ends with ``.mp4``.

    Parameters
    ----------
    source : path or list of dict
        A run directory (its ``topology.jsonl`` is read), a path to a ``topology.jsonl``
        file, or a list of snapshots.
    out_path : path
        ``*.gif`` (written with Pillow) or ``*.mp4`` (needs ffmpeg: a system binary or the
        ``imageio-ffmpeg`` package).
    fps : float
        Frames per second.
    dpi : int
        Resolution of the frames (the figure is 8 x 6.4 inches).
    every : int
        Keep one snapshot in ``every``; highlights then show the change since the previous
        kept snapshot. GIF frames are held in memory, so thin out long runs.
    layout : Layout, optional
        The positions of every node drawn; by default a run directory's own layout
        (:func:`~smgrnn_ref.viz.layout.run_layout`, the viewer's), else that of the snapshots.
    frames_dir : path, optional
        Keep the PNG frames there; by default they go to a temporary directory.

    Returns
    -------
    pathlib.Path
        ``out_path``.

    Raises
    ------
    RuntimeError
        For ``.mp4`` when no ffmpeg is available (checked before rendering anything).
    ValueError
        For another suffix, no snapshots, or a malformed topology log.
    """
    out_path = Path(out_path)
    suffix = out_path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"animate writes .gif or .mp4, not {out_path.name!r}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not _is_int(every) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    ffmpeg = None
    if suffix == ".mp4":
        ffmpeg = _ffmpeg_exe()
        if ffmpeg is None:
            raise RuntimeError(
                "writing MP4 needs ffmpeg, which was not found (no `ffmpeg` on PATH and no "
                "imageio-ffmpeg package); install one of them or write a .gif instead"
            )
    snaps, run_lay = _resolve_snapshots(source)
    layout = layout or run_lay or (snapshots_layout(snaps) if snaps else None)
    snaps = snaps[::every]
    if not snaps:
        raise ValueError("no snapshots to animate")
    out_path.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="smgrnn_frames_") as tmp:
        fdir = Path(frames_dir) if frames_dir is not None else Path(tmp)
        paths = render_frames(snaps, fdir, layout=layout, dpi=dpi)
        if suffix == ".gif":
            _write_gif(paths, out_path, fps)
        else:
            _write_mp4(ffmpeg, paths, out_path, fps)
    return out_path


def _write_gif(paths: Sequence[Path], out_path: Path, fps: float) -> None:
    from PIL import Image

    # One palette for the whole animation (taken from the first frame, whose legend already
    # shows every colour used): per-frame palettes make colours flicker.
    with Image.open(paths[0]) as im0:
        palette = im0.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    frames = []
    for p in paths:
        with Image.open(p) as im:
            frames.append(im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE))
    frames[0].save(
        out_path,
        save_all=True,
        append_images=frames[1:],
        duration=max(int(round(1000.0 / fps)), 20),
        loop=0,
        disposal=1,
    )


def _write_mp4(ffmpeg: str, paths: Sequence[Path], out_path: Path, fps: float) -> None:
    # The frames are numbered consecutively from 0 in one directory (render_frames), which is
    # what ffmpeg's image2 pattern expects.
    pattern = str(Path(paths[0]).parent / "frame_%04d.png")
    cmd = [
        ffmpeg, "-y", "-loglevel", "error", "-framerate", f"{fps:g}", "-i", pattern,
        "-frames:v", str(len(paths)),
        # H.264 with yuv420p needs even dimensions.
        "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        str(out_path),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({res.returncode}): {res.stderr.strip()[-2000:]}")



__all__ = ["render_frames", "animate"]
