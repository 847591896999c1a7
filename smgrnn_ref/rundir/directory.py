"""One run directory (:class:`RunDir`): its paths, its writers, who owns it, and its checkpoints.

**Ownership.** :meth:`RunDir.create` writes the marker ``.smgrnn-run`` (:data:`MARKER_FILE`)
before any other file. Only a directory carrying it is replaced by ``--force``, and then only
the files a run writes (:func:`owned_names`) are removed (:meth:`RunDir.remove`): the
directory itself, the files and directories a user put there and everything else stay. One
process at a time writes a run directory: :meth:`RunDir.lock` (:mod:`smgrnn_ref.rundir.lock`).

**Checkpoints.** :meth:`RunDir.write_checkpoint` writes a new checkpoint into
``checkpoint.tmp/``, ``fsync``\\ s each file and the directory, then swaps it in by renames; the
previous checkpoint is deleted only once the new one is in place, so a complete checkpoint is
on disk at every instant, across a crash or a power cut (:meth:`RunDir.latest_checkpoint`).
:meth:`RunDir.read_checkpoint` trusts nothing it reads: it touches only the run's own files,
checks every one it needs, and a crafted ``state.json`` can neither truncate nor pad a file.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from ..io import graph_to_dict, load_graph, read_json, save_graph
from .candidates import append_prune_candidates
from .formats import append_events, csv_line, read_config_dict, read_dataset, write_config, write_dataset, write_text_atomic
from .lock import NOFOLLOW, RunLock
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
    LOCK_FILE,
    LOG_FILES,
    MARKER_FILE,
    METRICS_COLUMNS,
    METRICS_FILE,
    PLOT_FILE,
    PRUNE_CANDIDATES_FILE,
    RUN_FORMAT,
    STATE_FILE,
    TOPOLOGY_FILE,
    VIEWER_FILE,
)
from .snapshots import write_snapshot

#: Where a checkpoint is written before it is swapped in, and where the previous one waits
#: during the swap.
CHECKPOINT_TMP = CHECKPOINT_DIR + ".tmp"
CHECKPOINT_OLD = CHECKPOINT_DIR + ".old"
#: The files of a checkpoint directory; a resume needs every one.
CHECKPOINT_FILES = (STATE_FILE, GRAPH_FILE, DATASET_FILE, METRICS_FILE)
#: The marker's text.
MARKER_TEXT = json.dumps({"format": RUN_FORMAT, "version": 1}) + "\n"


def owned_names() -> tuple[str, ...]:
    """Every name a run writes in its directory (``smgrnn-ref view``'s page included, and the
    temporaries of atomic writes): what ``--force`` removes, and nothing else.

    >>> "config.json" in owned_names() and "checkpoint.old" in owned_names()
    True
    >>> MARKER_FILE in owned_names() or LOCK_FILE in owned_names()  # kept: the directory stays ours
    False
    """
    files = (CONFIG_FILE, METRICS_FILE, *LOG_FILES, GRAPH_FILE, PLOT_FILE, GIF_FILE, VIEWER_FILE, DONE_FILE)
    return (*files, *(f + ".tmp" for f in files), FRAMES_DIR, CHECKPOINT_DIR, CHECKPOINT_TMP, CHECKPOINT_OLD)


# --- durable file operations: every change a checkpoint makes on disk is one of these --------


def _write_file(path: Path, write) -> None:
    """Create ``path`` (refusing an existing one), ``write(fh)`` into it, flush and ``fsync``."""
    with open(path, "xb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: Path) -> None:
    """``fsync`` a file or a directory (a directory's: its entries, i.e. renames, are durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rename(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _remove(path: Path) -> None:
    """Delete a file, a symbolic link (not its target) or a directory tree; nothing if absent."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()


def _is_regular(path: Path) -> bool:
    """A plain file, not a symbolic link (a hostile one could point anywhere)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except FileNotFoundError:
        return False


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

    Creating a ``RunDir`` touches nothing on disk; :meth:`create` starts a new run in the
    directory and :meth:`remove` deletes an old one's files. The path attributes
    (:attr:`config`, :attr:`metrics`, ...) name the files of :mod:`smgrnn_ref.rundir`.

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
        self.marker = self.path / MARKER_FILE
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
        """Whether the directory carries the marker a run writes first (it was made by smgrnn-ref)."""
        if not _is_regular(self.marker):
            return False
        try:
            return self.marker.read_text(encoding="utf-8") == MARKER_TEXT
        except (OSError, UnicodeDecodeError):
            return False

    def check_new(self, *, force: bool, locked: bool = False) -> None:
        """Check that the directory may receive a new run; ``ValueError`` otherwise. Changes nothing.

        A missing directory (that can be created) or an empty one is fine. A directory holding
        a run (:meth:`holds_run`) is refused unless ``force`` (the caller then :meth:`remove`\\ s
        its files). A non-empty directory without the marker is refused even with ``force``:
        we never delete files we did not write. A directory another process is writing is
        refused (:class:`~smgrnn_ref.rundir.RunInUseError`) unless ``locked``: the caller holds
        its lock.
        """
        out = self.path
        if out.is_symlink() and not out.exists():
            raise ValueError(f"output path {out} is a symbolic link to nothing ({os.readlink(out)})")
        if out.exists() and not out.is_dir():
            raise ValueError(f"output path {out} exists and is not a directory")
        if not out.exists():
            _check_creatable(out)
            return
        if not locked:
            self.lock().check_free()
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"output directory {out} is not writable")
        if not set(os.listdir(out)) - {MARKER_FILE, LOCK_FILE}:
            return  # empty, or only what a run writes before its first file
        if not self.holds_run():
            old = self.config.exists() or self.checkpoint_dir.exists()
            hint = (f"; a run made before run directories carried the marker can be resumed, or deleted by "
                    f"hand") if old else ""
            raise ValueError(f"output directory {out} is not empty and holds no run (no {MARKER_FILE} marker, "
                             f"which every run writes first){hint}; choose another --out")
        if not force:
            raise ValueError(f"output directory {out} already holds a run; use --resume to continue it "
                             f"or --force to replace it")

    def remove(self) -> None:
        """Delete the run this directory holds (``--force``): only the files a run writes
        (:func:`owned_names`). The directory, the marker, the lock file and anything else in
        it stay. Nothing happens to a directory without the marker."""
        if not self.holds_run():
            return
        for name in owned_names():
            _remove(self.path / name)

    def lock(self) -> RunLock:
        """The directory's lock (:class:`~smgrnn_ref.rundir.lock.RunLock`): hold it while writing
        the run (``with run.lock(): ...``); it creates the directory if needed."""
        return RunLock(self.path)

    def create(self, config: Mapping) -> None:
        """Start a new run here: the directory, the marker (first), ``config.json`` and the empty
        logs (``metrics.csv`` holds its header)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.mark()
        write_config(self.config, config)
        self.metrics.write_text(csv_line(METRICS_COLUMNS))
        for log in (self.events, self.topology, self.prune_candidates):
            log.write_text("")

    def mark(self) -> None:
        """Write the marker (a resume of a run made before markers existed adopts it)."""
        if not self.holds_run():
            write_text_atomic(self.marker, MARKER_TEXT)

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
        """The ``done.json`` record; ``ValueError`` if missing or unreadable."""
        return read_json(self.done, what="done record")

    # -- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self) -> Path | None:
        """The newest checkpoint: ``checkpoint/``, or ``checkpoint.old/`` when a crash hit the
        instant between the two renames of :meth:`write_checkpoint`; ``None`` if neither holds a
        ``state.json`` (``checkpoint.tmp/`` is never one: it may be half written). A symbolic
        link is never taken for a checkpoint."""
        for name in (CHECKPOINT_DIR, CHECKPOINT_OLD):
            p = self.path / name
            if _is_real_dir(p) and _is_regular(p / STATE_FILE):
                return p
        return None

    def write_checkpoint(self, G: nx.DiGraph, dataset: Mapping, state: Mapping) -> Path:
        """Write a checkpoint durably and atomically; return its directory.

        1. ``checkpoint.tmp/`` (a leftover of an interrupted write is deleted first: it was
           never the newest complete checkpoint) receives ``graph.json``, ``dataset.npz``,
           ``metrics.csv`` and, last, ``state.json``, each ``fsync``\\ ed; the logs whose sizes
           ``state.json`` records are ``fsync``\\ ed before it, and the directory after it.
        2. If ``checkpoint/`` exists (complete, by this very protocol), a ``checkpoint.old/``
           left by a crash is deleted and ``checkpoint/`` is renamed to ``checkpoint.old/``.
        3. ``checkpoint.tmp/`` is renamed to ``checkpoint/`` and the run directory ``fsync``\\ ed.
        4. ``checkpoint.old/`` is deleted.

        Before step 2 ``checkpoint/`` (or, after a crash in step 3, ``checkpoint.old/``) is
        complete; between the renames ``checkpoint.old/`` is; after them ``checkpoint/`` is.
        :meth:`latest_checkpoint` finds it.

        Parameters
        ----------
        G : networkx.DiGraph
            The graph, with its optimizer and SPM state.
        dataset : mapping
            The arguments of :func:`write_dataset` (``obs``, ``logits``, ``next``, ``capacity``).
        state : mapping
            The trainer's JSON-ready state; ``format``, ``version`` and ``files`` are added.
        """
        tmp, old, final = self.path / CHECKPOINT_TMP, self.path / CHECKPOINT_OLD, self.checkpoint_dir
        _remove(tmp)
        tmp.mkdir()
        graph_text = json.dumps(graph_to_dict(G)).encode()
        _write_file(tmp / GRAPH_FILE, lambda fh: fh.write(graph_text))
        _write_file(tmp / DATASET_FILE, lambda fh: write_dataset(fh, **dataset))
        metrics = self.metrics.read_bytes()
        _write_file(tmp / METRICS_FILE, lambda fh: fh.write(metrics))
        for name in LOG_FILES:  # the sizes recorded below must be on disk too
            _fsync(self.path / name)
        record = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state,
                  "files": {name: (self.path / name).stat().st_size for name in LOG_FILES}}
        state_text = json.dumps(record).encode()
        _write_file(tmp / STATE_FILE, lambda fh: fh.write(state_text))
        _fsync(tmp)
        if _is_real_dir(final):
            _remove(old)
            _rename(final, old)
        _rename(tmp, final)
        _fsync(self.path)
        _remove(old)
        return final

    def read_checkpoint_state(self) -> dict:
        """``state.json`` of the newest checkpoint, its format and its log sizes checked.

        Raises
        ------
        ValueError
            If there is no checkpoint, or it is not a :data:`CHECKPOINT_FORMAT` version
            :data:`CHECKPOINT_VERSION` checkpoint, or ``state.json`` is malformed.
        """
        return self._state_of(self._newest())

    def checkpoint_step(self) -> int | None:
        """The step of the newest checkpoint, or ``None`` when there is none (or it is unreadable)."""
        ck = self.latest_checkpoint()
        try:
            return None if ck is None else self._state_of(ck)["step"]
        except ValueError:
            return None

    def read_checkpoint(self, *, max_rows: int | None = None) -> Checkpoint:
        """Read the newest checkpoint, every part checked; changes nothing on disk.

        Parameters
        ----------
        max_rows : int, optional
            Refuse a dataset of more pairs (the run's ``dataset_capacity``).

        Raises
        ------
        ValueError
            Naming the file: no checkpoint; a checkpoint file missing, not a plain file, or
            malformed (:meth:`read_checkpoint_state`, :func:`smgrnn_ref.io.load_graph`,
            :func:`read_dataset`); or the run's logs not matching the recorded sizes
            (:meth:`check_logs`).
        """
        ck = self._newest()
        for name in CHECKPOINT_FILES:
            if not _is_regular(ck / name):
                what = "is not a plain file" if (ck / name).is_symlink() or (ck / name).exists() else "is missing"
                raise ValueError(f"checkpoint {ck} is incomplete: {name} {what}")
        state = self._state_of(ck)
        self.check_logs(state)
        return Checkpoint(path=ck, state=state, graph=load_graph(ck / GRAPH_FILE),
                          dataset=read_dataset(ck / DATASET_FILE, max_rows=max_rows))

    def _newest(self) -> Path:
        ck = self.latest_checkpoint()
        if ck is None:
            if self.checkpoint_dir.is_symlink():
                raise ValueError(f"{self.checkpoint_dir} is a symbolic link; a checkpoint must be a directory "
                                 f"inside the run")
            raise ValueError(f"no checkpoint to resume in {self.path}")
        return ck

    @staticmethod
    def _state_of(ck: Path) -> dict:
        where = ck / STATE_FILE
        state = read_json(where, what="checkpoint state")
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT \
                or state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{ck}: not a {CHECKPOINT_FORMAT} version {CHECKPOINT_VERSION} checkpoint")
        step = state.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"{where}: 'step' must be an integer >= 0, got {step!r:.40}")
        files = state.get("files")
        # the run's own logs, by name, and nothing else: a path from the file is never opened.
        # A checkpoint written before a log existed records no size for it (prune_candidates.jsonl).
        if not isinstance(files, dict) or not set(LOG_FILES[:2]) <= set(files) <= set(LOG_FILES):
            raise ValueError(f"{where}: 'files' must give the sizes of the run's logs {list(LOG_FILES)} "
                             f"and nothing else")
        for name, size in files.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"{where}: the size of {name} must be an integer >= 0, got {size!r:.40}")
        return state

    def check_logs(self, state: Mapping) -> None:
        """Check that a resume may cut the logs back to ``state["files"]``; changes nothing.

        Each log must be a plain file of this directory (not a symbolic link, not a file with
        other hard links that the cut would change too) at least as long as the recorded size:
        a resume cuts written lines off, it never pads a file. A log the checkpoint records no
        size for (one newer than the run) may be missing, or a plain file. ``metrics.csv`` is
        replaced, so it must not be a symbolic link or a directory either.

        Raises
        ------
        ValueError
            Naming the file.
        """
        for name, size in state["files"].items():
            path = self.path / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                raise ValueError(f"{path} is missing; the checkpoint records {size} bytes of it") from None
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                raise ValueError(f"{path} is not a plain file of the run (a symbolic or hard link?); "
                                 f"refusing to cut it back")
            if info.st_size < size:
                raise ValueError(f"{path} holds {info.st_size} bytes, fewer than the {size} the checkpoint "
                                 f"records; it does not belong to this checkpoint")
        for name in set(LOG_FILES) - set(state["files"]):
            path = self.path / name
            if (path.exists() or path.is_symlink()) and not (_is_regular(path) and path.lstat().st_nlink == 1):
                raise ValueError(f"{path} is not a plain file of the run (a symbolic or hard link?); refusing it")
        if self.metrics.is_symlink() or self.metrics.is_dir():
            raise ValueError(f"{self.metrics} is not a plain file; refusing to replace it")

    def rewind(self, checkpoint: Checkpoint) -> None:
        """Cut the logs back to ``checkpoint``: its ``metrics.csv`` replaces the run's and the
        logs (:data:`LOG_FILES`) are truncated to their recorded sizes (lines written after the
        checkpoint are dropped; a resumed run writes them again); a log newer than the run (no
        recorded size) is created if missing. Checked first (:meth:`check_logs`); a symbolic link
        is never followed."""
        self.check_logs(checkpoint.state)
        write_text_atomic(self.metrics, (checkpoint.path / METRICS_FILE).read_text(encoding="utf-8"))
        for name, size in checkpoint.state["files"].items():
            fd = os.open(self.path / name, os.O_RDWR | NOFOLLOW)
            try:
                if os.fstat(fd).st_size >= size:
                    os.ftruncate(fd, size)
            finally:
                os.close(fd)
        for name in set(LOG_FILES) - set(checkpoint.state["files"]):
            os.close(os.open(self.path / name, os.O_WRONLY | os.O_CREAT | NOFOLLOW, 0o644))


def _check_creatable(out: Path) -> None:
    """``ValueError`` unless ``out`` (missing) can be made: its nearest existing ancestor must be
    a writable directory. Root passes every permission check, so a failure can still come when
    the directory is made (:class:`RunLock` reports it in one line too)."""
    parent = out.absolute().parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"cannot create the output directory {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot create the output directory {out}: {parent} is not writable")
