"""The run directory: every file a training run writes, its format, and its reader and writer.

A distillation run (:mod:`smgrnn_ref.distill`) lives in one directory, by default
``runs/{env}__{variant}__s{seed}`` (:func:`default_out_dir`). This package is the only place
that knows the files' names and formats; the trainer, the pictures (:mod:`smgrnn_ref.viz`),
the grid (:mod:`smgrnn_ref.experiment`) and the report (:mod:`smgrnn_ref.report`) read and
write them through it. :class:`RunDir` is one run directory (its paths, its writers, its
checkpoint); the module-level readers take any path, so a table or a log can be read from
anywhere. Every name below is importable from ``smgrnn_ref.rundir``; inside, one module per
concern:

* :mod:`~smgrnn_ref.rundir.names`: the file names, run names and format constants (defined
  once, here);
* :mod:`~smgrnn_ref.rundir.formats`: ``config.json``, ``metrics.csv``, ``events.jsonl`` and
  ``dataset.npz``, a writer and a reader each;
* :mod:`~smgrnn_ref.rundir.snapshots`: the topology records of ``topology.jsonl``;
* :mod:`~smgrnn_ref.rundir.candidates`: the pruning candidate sets of ``prune_candidates.jsonl``;
* :mod:`~smgrnn_ref.rundir.directory`: :class:`RunDir` (creating, replacing, appending to a run
  directory) and its checkpoints;
* :mod:`~smgrnn_ref.rundir.lock`: the lock that keeps a second writer out (:class:`RunLock`).

Files of a run directory
------------------------
``.smgrnn-run`` (:data:`MARKER_FILE`)
    The marker, written before any other file of a run (:meth:`RunDir.create`): the directory
    was made by smgrnn-ref and holds a run (:meth:`RunDir.holds_run`). ``--force`` replaces
    only a directory carrying it, and removes only the files a run writes
    (:func:`owned_names`: the ones listed here); the directory and anything else in it stay.
``.smgrnn-lock`` (:data:`LOCK_FILE`)
    The lock file: the one process writing the run holds an OS lock on it
    (:meth:`RunDir.lock`, :mod:`~smgrnn_ref.rundir.lock`); it holds that process's pid.
``config.json`` (:data:`CONFIG_FILE`)
    The run's :class:`~smgrnn_ref.distill.TrainConfig`, fully resolved, as indented JSON
    (``json.dumps(d, indent=2)`` plus a newline), written atomically (:func:`write_config`,
    read by :func:`read_config_dict`).
``metrics.csv`` (:data:`METRICS_FILE`)
    One row every ``log_every`` steps, at every evaluation and at the last step, with the
    columns :data:`METRICS_COLUMNS`. Event counts and ``loss`` cover the logging interval
    ending at ``step``; sizes are at ``step``; an empty cell means "none"; floats are written
    with ``repr`` so they read back exactly (:func:`csv_line`, :func:`read_metrics`).
``events.jsonl`` (:data:`EVENTS_FILE`)
    Every SPM event, one JSON object per line, in the order they happened
    (``event.to_dict()`` of :mod:`smgrnn_ref.events`; :func:`append_events`,
    :func:`read_events`).
``topology.jsonl`` (:data:`TOPOLOGY_FILE`)
    One :func:`snapshot` of the graph per line (compact JSON, strict: no ``NaN``): at step 0,
    every ``frame_every`` steps and at the last step (:func:`write_snapshot`,
    :func:`read_snapshots`). Weights and biases keep 6 significant digits: a record is for
    drawing, not for training.
``prune_candidates.jsonl`` (:data:`PRUNE_CANDIDATES_FILE`)
    The candidate set ``W_t`` of every pruning step (also when empty; none when pruning is
    off), one JSON object per line: each candidate edge with its weight and window mean
    (:func:`append_prune_candidates`, :func:`read_prune_candidates`). Relays carry the window
    they were judged on in ``events.jsonl``.
``graph.json`` (:data:`GRAPH_FILE`)
    The final graph, written at the end of a run in the format of :mod:`smgrnn_ref.io`
    (weights, biases, Adam state, SPM windows, exact).
``checkpoint/`` (:data:`CHECKPOINT_DIR`)
    The latest checkpoint, the whole training state (:meth:`RunDir.write_checkpoint`,
    :meth:`RunDir.read_checkpoint`):

    * ``graph.json``: the graph, in the format of :mod:`smgrnn_ref.io`;
    * ``dataset.npz`` (:data:`DATASET_FILE`): the labelled pairs, plain arrays ``obs``,
      ``logits``, ``next`` (the ring's write position) and ``capacity``, read with
      ``allow_pickle=False`` (:func:`write_dataset`, :func:`read_dataset`);
    * ``metrics.csv``: ``metrics.csv`` as it was at the checkpoint;
    * ``state.json`` (:data:`STATE_FILE`): ``format`` (:data:`CHECKPOINT_FORMAT`),
      ``version`` (:data:`CHECKPOINT_VERSION`), then the trainer's state (``step``,
      ``episodes``, ``wall_time``, ``last_eval``, ``interval``: the accumulators of the current
      logging interval, ``episode``: the current training episode's reset ``seed``,
      ``actions`` so far, ``return`` so far and ``obs``, ``rng``: the bit-generator state of
      each random stream), and ``files``: the byte sizes of the logs (:data:`LOG_FILES`:
      ``events.jsonl``, ``topology.jsonl``, ``prune_candidates.jsonl``) at that step, so a
      resume cuts the lines written after it.

    It is written to ``checkpoint.tmp/`` first, every file ``fsync``\\ ed; then the old one is
    renamed to ``checkpoint.old/``, the new one to ``checkpoint/``, and only then the old one is
    deleted, so a complete checkpoint exists at every instant, across a crash or a power cut
    (:meth:`RunDir.latest_checkpoint` falls back on ``checkpoint.old/``). A resume reads it
    without trusting it: it touches only the run's own files, by name, checks every file it
    needs and never pads or follows a link (:meth:`RunDir.read_checkpoint`).
``training.png`` (:data:`PLOT_FILE`), ``frames/`` (:data:`FRAMES_DIR`), ``topology.gif`` (:data:`GIF_FILE`), ``topology.html`` (:data:`VIEWER_FILE`)
    The pictures drawn at the end of ``smgrnn-ref train``
    (:func:`smgrnn_ref.viz.draw_run_pictures`): return and size against step, one PNG per
    topology snapshot, their GIF, and the interactive viewer (:mod:`smgrnn_ref.viewer`).
    Grid runs draw none unless asked (``smgrnn-ref view`` writes the viewer of any run).
``done.json`` (:data:`DONE_FILE`)
    Written by a grid (:mod:`smgrnn_ref.experiment`) when its run has finished: the run's
    config and summary (:meth:`RunDir.write_done`, :meth:`RunDir.read_done`).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> run = RunDir(Path(tmp.name) / run_name("CartPole-v1", "full", 0))
>>> run.holds_run()
False
>>> run.create({"env_id": "CartPole-v1", "steps": 10})
>>> run.holds_run(), read_config_dict(run.config)["steps"]
(True, 10)
>>> sorted(p.name for p in run.path.iterdir())
['.smgrnn-run', 'config.json', 'events.jsonl', 'metrics.csv', 'prune_candidates.jsonl', 'topology.jsonl']
>>> tmp.cleanup()
"""

from .candidates import append_prune_candidates, read_prune_candidates
from .directory import Checkpoint, RunDir, owned_names
from .formats import (
    DATASET_ARRAYS,
    append_events,
    csv_line,
    read_config_dict,
    read_dataset,
    read_events,
    read_jsonl,
    read_metrics,
    write_config,
    write_dataset,
    write_text_atomic,
)
from .lock import RunInUseError, RunLock
from .names import (
    CHECKPOINT_DIR,
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CONFIG_FILE,
    DATASET_FILE,
    DONE_FILE,
    EVENT_KINDS,
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
    REQUIRED_METRICS,
    STATE_FILE,
    TOPOLOGY_FILE,
    VIEWER_FILE,
    default_out_dir,
    run_name,
)
from .snapshots import check_snapshot, diff_snapshots, read_snapshots, snapshot, snapshot_to_graph, write_snapshot

__all__ = [
    "CONFIG_FILE",
    "METRICS_FILE",
    "EVENTS_FILE",
    "TOPOLOGY_FILE",
    "PRUNE_CANDIDATES_FILE",
    "GRAPH_FILE",
    "CHECKPOINT_DIR",
    "DATASET_FILE",
    "STATE_FILE",
    "PLOT_FILE",
    "FRAMES_DIR",
    "GIF_FILE",
    "VIEWER_FILE",
    "DONE_FILE",
    "MARKER_FILE",
    "LOCK_FILE",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "LOG_FILES",
    "EVENT_KINDS",
    "METRICS_COLUMNS",
    "REQUIRED_METRICS",
    "DATASET_ARRAYS",
    "run_name",
    "default_out_dir",
    "write_text_atomic",
    "write_config",
    "read_config_dict",
    "csv_line",
    "read_metrics",
    "append_events",
    "read_events",
    "read_jsonl",
    "append_prune_candidates",
    "read_prune_candidates",
    "snapshot",
    "check_snapshot",
    "snapshot_to_graph",
    "write_snapshot",
    "read_snapshots",
    "diff_snapshots",
    "write_dataset",
    "read_dataset",
    "Checkpoint",
    "RunDir",
    "owned_names",
    "RunLock",
    "RunInUseError",
]
