"""The pictures of a run directory: ``training.png``, ``frames/``, ``topology.gif`` and ``topology.html``.

``smgrnn-ref train`` draws them when a run ends; :func:`draw_run_pictures` draws (or redraws)
them for any run directory, for example a grid run trained without pictures. The frames, the
GIF and the viewer share one layout, the run's (:func:`smgrnn_ref.viz.layout.run_layout`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..rundir import RunDir
from .animation import animate
from .plots import plot_training


def draw_run_pictures(run_dir, *, title: str | None = None) -> list[Path]:
    """Draw a run's training curves, its topology frames and GIF, and write its viewer.

    Parameters
    ----------
    run_dir : path
        A run directory holding ``metrics.csv`` and ``topology.jsonl``.
    title : str, optional
        Title of ``training.png``.

    Returns
    -------
    list of pathlib.Path
        ``training.png``, ``frames/``, ``topology.gif`` and ``topology.html``.

    Raises
    ------
    ValueError
        If ``metrics.csv`` lacks a required column, or the logs are malformed, empty or
        contradict each other.
    """
    from ..viewer import write_viewer  # the viewer draws with this package: imported when used

    run = RunDir(run_dir)
    plot_training(run.metrics, run.plot, title=title)
    if run.frames.exists():
        shutil.rmtree(run.frames)  # a resumed run re-renders every frame
    animate(run.path, run.gif, frames_dir=run.frames)
    write_viewer(run.path, run.viewer)
    return [run.plot, run.frames, run.gif, run.viewer]


__all__ = ["draw_run_pictures"]
