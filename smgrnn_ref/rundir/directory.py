"""One run directory (:class:`RunDir`): its paths, its writers, and its checkpoints.

The checkpoint is written to ``checkpoint.tmp/``, then swapped in by renames so a complete
checkpoint exists at every instant (:meth:`RunDir.write_checkpoint`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from ..io import load_graph, save_graph
from .candidates import append_prune_candidates
from .formats import append_events, csv_line, read_config_dict, read_dataset, write_config, write_dataset, write_text_atomic
from .names import (
    CHECKPOINT_DIR,
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CONFIG_FILE,
    DATASET_FILE,
    DONE_FILE,
    EVENTS_FILE,
    FRAMES_DIR,
    GIF_FILE,
    GRAPH_FILE,
    LOG_FILES,
    METRICS_COLUMNS,
    METRICS_FILE,
    PLOT_FILE,
    PRUNE_CANDIDATES_FILE,
    STATE_FILE,
    TOPOLOGY_FILE,
    VIEWER_FILE,
)
from .snapshots import write_snapshot



@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read back by :meth:`RunDir.read_checkpoint`."""

    path: Path
    """The checkpoint directory read (``checkpoint/``, or ``checkpoint.old/``)."""

    state: dict
    """``state.json``: format, version, the trainer's state and the logs' sizes."""

    graph: nx.DiGraph
    """The graph, with every Adam moment and SPM window."""

    dataset: dict
    """The labelled dataset's arrays (:func:`read_dataset`)."""


class RunDir:
    """One run directory: where each of its files lives, and how each is written and read.

    Creating a ``RunDir`` touches nothing on disk; :meth:`create` makes the directory of a
    new run and :meth:`remove` deletes an old one. The path attributes (:attr:`config`,
    :attr:`metrics`, ...) name the files of the module docstring.

    Parameters
    ----------
    path : path
        The directory (it need not exist).

    Examples
    --------
    >>> run = RunDir("runs/x")
    >>> run.metrics.as_posix(), run.checkpoint_dir.as_posix()
    ('runs/x/metrics.csv', 'runs/x/checkpoint')
    """

    def __init__(self, path):
        self.path = Path(path)
        self.config = self.path / CONFIG_FILE
        self.metrics = self.path / METRICS_FILE
        self.events = self.path / EVENTS_FILE
        self.topology = self.path / TOPOLOGY_FILE
        self.prune_candidates = self.path / PRUNE_CANDIDATES_FILE
        self.graph = self.path / GRAPH_FILE
        self.checkpoint_dir = self.path / CHECKPOINT_DIR
        self.plot = self.path / PLOT_FILE
        self.frames = self.path / FRAMES_DIR
        self.gif = self.path / GIF_FILE
        self.viewer = self.path / VIEWER_FILE
        self.done = self.path / DONE_FILE

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- the directory ---------------------------------------------------------------------

    def holds_run(self) -> bool:
        """Whether the directory holds a run (its ``config.json`` or ``checkpoint/``)."""
        return self.config.exists() or self.checkpoint_dir.exists()

    def check_new(self, *, force: bool) -> None:
        """Check that the directory may receive a new run; ``ValueError`` otherwise. Changes nothing.

        A missing or empty directory is fine. A directory holding a run is refused unless
        ``force`` (the caller then :meth:`remove`\\ s it). A non-empty directory that holds no
        run is refused even with ``force``: we never delete files we did not write.
        """
        out = self.path
        if out.exists() and not out.is_dir():
            raise ValueError(f"output path {out} exists and is not a directory")
        if out.is_dir() and any(out.iterdir()):
            if not self.holds_run():
                raise ValueError(f"output directory {out} is not empty and holds no run; choose another --out")
            if not force:
                raise ValueError(f"output directory {out} already holds a run; use --resume to continue it "
                                 f"or --force to replace it")

    def remove(self) -> None:
        """Delete the run this directory holds (``--force``); nothing when it holds none."""
        if self.path.exists() and self.holds_run():
            shutil.rmtree(self.path)

    def create(self, config: Mapping) -> None:
        """Start a new run here: the directory, ``config.json`` and the empty logs
        (``metrics.csv`` holds its header)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_config(self.config, config)
        self.metrics.write_text(csv_line(METRICS_COLUMNS))
        for log in (self.events, self.topology, self.prune_candidates):
            log.write_text("")

    # -- the logs and results --------------------------------------------------------------

    def read_config(self) -> dict:
        """The raw ``config.json`` (:func:`read_config_dict`)."""
        return read_config_dict(self.config)

    def write_config(self, config: Mapping) -> None:
        """Replace ``config.json`` (a resume that raises ``steps``)."""
        write_config(self.config, config)

    def append_metrics(self, row: Mapping) -> None:
        """Append one row (a mapping holding every column of :data:`METRICS_COLUMNS`)."""
        with open(self.metrics, "a") as fh:
            fh.write(csv_line(row[c] for c in METRICS_COLUMNS))

    def append_events(self, events) -> None:
        """Append SPM events to ``events.jsonl`` (:func:`append_events`)."""
        append_events(self.events, events)

    def append_prune_candidates(self, records) -> None:
        """Append pruning candidate sets to ``prune_candidates.jsonl`` (:func:`append_prune_candidates`)."""
        append_prune_candidates(self.prune_candidates, records)

    def append_snapshot(self, snap: Mapping) -> None:
        """Append a topology record to ``topology.jsonl`` (:func:`write_snapshot`)."""
        write_snapshot(self.topology, snap)

    def write_graph(self, G: nx.DiGraph) -> None:
        """Write the final graph to ``graph.json`` (:func:`smgrnn_ref.io.save_graph`)."""
        save_graph(G, self.graph)

    def write_done(self, record: Mapping) -> None:
        """Write ``done.json``: a grid's record that the run finished."""
        write_text_atomic(self.done, json.dumps(record, indent=2))

    def read_done(self) -> dict:
        """The ``done.json`` record; ``ValueError`` (or ``OSError``) if unreadable."""
        return json.loads(self.done.read_text())

    # -- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (``checkpoint/``, or ``checkpoint.old/`` when a crash
        hit the instant between the two renames of :meth:`write_checkpoint`), or ``None``."""
        for name in (CHECKPOINT_DIR, CHECKPOINT_DIR + ".old"):
            p = self.path / name
            if (p / STATE_FILE).is_file():
                return p
        return None

    def write_checkpoint(self, G: nx.DiGraph, dataset: Mapping, state: Mapping) -> Path:
        """Write a checkpoint atomically and return its directory.

        Everything goes to ``checkpoint.tmp/`` first; then the old checkpoint is renamed to
        ``checkpoint.old/``, the new one to ``checkpoint/``, and the old one deleted. At every
        instant one complete checkpoint is on disk (:meth:`latest_checkpoint` finds it).

        Parameters
        ----------
        G : networkx.DiGraph
            The graph, with its optimizer and SPM state.
        dataset : mapping
            The arguments of :func:`write_dataset` (``obs``, ``logits``, ``next``, ``capacity``).
        state : mapping
            The trainer's JSON-ready state; ``format``, ``version`` and ``files`` are added.
        """
        tmp = self.path / (CHECKPOINT_DIR + ".tmp")
        old = self.path / (CHECKPOINT_DIR + ".old")
        final = self.checkpoint_dir
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        save_graph(G, tmp / GRAPH_FILE)
        write_dataset(tmp / DATASET_FILE, **dataset)
        shutil.copyfile(self.metrics, tmp / METRICS_FILE)
        record = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state,
                  "files": {name: (self.path / name).stat().st_size for name in LOG_FILES}}
        (tmp / STATE_FILE).write_text(json.dumps(record))
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        if old.exists():
            shutil.rmtree(old)
        return final

    def read_checkpoint_state(self) -> dict:
        """``state.json`` of the newest checkpoint, its format checked.

        Raises
        ------
        ValueError
            If there is no checkpoint, or it is not a :data:`CHECKPOINT_FORMAT` version
            :data:`CHECKPOINT_VERSION` checkpoint.
        """
        return self._state_of(self._newest())

    def checkpoint_step(self) -> int | None:
        """The step of the newest checkpoint, or ``None`` when there is none."""
        ck = self.latest_checkpoint()
        return None if ck is None else json.loads((ck / STATE_FILE).read_text())["step"]

    def read_checkpoint(self) -> Checkpoint:
        """Read the newest checkpoint: its state, graph and dataset (changes nothing on disk).

        Raises
        ------
        ValueError
            As :meth:`read_checkpoint_state`, or a malformed graph file.
        """
        ck = self._newest()
        state = self._state_of(ck)
        return Checkpoint(path=ck, state=state, graph=load_graph(ck / GRAPH_FILE),
                          dataset=read_dataset(ck / DATASET_FILE))

    def _newest(self) -> Path:
        ck = self.latest_checkpoint()
        if ck is None:
            raise ValueError(f"no checkpoint to resume in {self.path}")
        return ck

    @staticmethod
    def _state_of(ck: Path) -> dict:
        state = json.loads((ck / STATE_FILE).read_text())
        if state.get("format") != CHECKPOINT_FORMAT or state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{ck}: not a {CHECKPOINT_FORMAT} version {CHECKPOINT_VERSION} checkpoint")
        return state

    def rewind(self, checkpoint: Checkpoint) -> None:
        """Cut the logs back to ``checkpoint``: its ``metrics.csv`` is copied back and
        ``events.jsonl`` / ``topology.jsonl`` are truncated to their recorded sizes (lines
        written after the checkpoint are dropped; a resumed run writes them again)."""
        shutil.copyfile(checkpoint.path / METRICS_FILE, self.metrics)
        for name, size in checkpoint.state["files"].items():
            with open(self.path / name, "r+b") as fh:
                fh.truncate(size)
        for name in LOG_FILES:  # a log newer than the run (its checkpoint has no size for it)
            (self.path / name).touch()
