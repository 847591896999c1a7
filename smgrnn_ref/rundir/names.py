"""The names inside a run directory: its files, its default location, the formats' constants.

Defined once, here; every other module refers to these (the files are described in
:mod:`smgrnn_ref.rundir`).
"""

from __future__ import annotations

from pathlib import Path


#: The run's configuration.
CONFIG_FILE = "config.json"
#: The training metrics table.
METRICS_FILE = "metrics.csv"
#: The SPM event log.
EVENTS_FILE = "events.jsonl"
#: The per-frame topology log.
TOPOLOGY_FILE = "topology.jsonl"
#: The candidate set ``W_t`` of every pruning step.
PRUNE_CANDIDATES_FILE = "prune_candidates.jsonl"
#: The final graph (and the checkpoint's graph).
GRAPH_FILE = "graph.json"
#: The latest checkpoint (a directory); ``checkpoint.tmp`` and ``checkpoint.old`` while writing.
CHECKPOINT_DIR = "checkpoint"
#: The checkpoint's labelled dataset.
DATASET_FILE = "dataset.npz"
#: The checkpoint's training state.
STATE_FILE = "state.json"
#: Return and size against step.
PLOT_FILE = "training.png"
#: One PNG per topology snapshot.
FRAMES_DIR = "frames"
#: The topology animation.
GIF_FILE = "topology.gif"
#: The interactive topology viewer (:mod:`smgrnn_ref.viewer`).
VIEWER_FILE = "topology.html"
#: A grid's record that the run finished (:mod:`smgrnn_ref.experiment`).
DONE_FILE = "done.json"

#: Written first into every run directory (:meth:`RunDir.create`): the directory was made by
#: smgrnn-ref, so ``--force`` may clear the files a run writes there.
MARKER_FILE = ".smgrnn-run"
#: The run directory's lock file: the one process writing the run holds an OS lock on it.
LOCK_FILE = ".smgrnn-lock"
#: The marker's contents.
RUN_FORMAT = "smgrnn_ref.run"

#: ``state.json``'s ``format`` and ``version``: a resume reads only this format.
CHECKPOINT_FORMAT = "smgrnn_ref.checkpoint"
CHECKPOINT_VERSION = 1

#: The append-only logs a checkpoint records the size of, so a resume can cut them back.
LOG_FILES = (EVENTS_FILE, TOPOLOGY_FILE, PRUNE_CANDIDATES_FILE)

#: Event kinds, in the column order of ``metrics.csv`` (the ``kind`` of :mod:`smgrnn_ref.events`).
EVENT_KINDS = ("relay_inserted", "edge_added", "edge_pruned", "node_removed")

#: Columns of ``metrics.csv``. Event counts and ``loss`` cover the logging interval ending at
#: ``step`` (since the previous row); sizes are at ``step``; empty cells mean "none".
METRICS_COLUMNS = (
    "step",
    "episodes",
    "beta",
    "loss",
    "train_return_mean",
    "eval_return_mean",
    "eval_return_std",
    "hidden_nodes",
    "edges",
    "params",
    *EVENT_KINDS,
    "dataset_size",
    "wall_time",
)

#: Columns :func:`read_metrics` requires (what the training and study plots draw).
REQUIRED_METRICS = ("step", "eval_return_mean", "eval_return_std", "hidden_nodes", "edges")


def run_name(env_id: str, variant: str, seed: int) -> str:
    """The default run name ``{env}__{variant}__s{seed}``.

    >>> run_name("CartPole-v1", "full", 0)
    'CartPole-v1__full__s0'
    """
    return f"{env_id}__{variant}__s{seed}"


def default_out_dir(env_id: str, variant: str, seed: int) -> Path:
    """``runs/{env}__{variant}__s{seed}`` (relative to the working directory).

    >>> default_out_dir("Acrobot-v1", "mlp", 3).as_posix()
    'runs/Acrobot-v1__mlp__s3'
    """
    return Path("runs") / run_name(env_id, variant, seed)
