"""Policy distillation: train an SMGrNN student to imitate a shipped expert, DAgger-style.

The paper trains SMGrNN by policy distillation: a supervised loss ``L_t(theta)`` between the
student's and a pre-trained expert's outputs drives Adam, while the Structural Plasticity
Module edits the structure (Jia & Zhou, arXiv 2512.12713; see ``shared/paper/NOTES.md``).
The paper does not spell out how the training states are collected; **our choice** is a
DAgger-style loop (Ross et al., 2011). At every training step ``t = 1, 2, ...``:

1. the expert labels the current state ``s_t`` (its logits ``z_E(s_t)``) and the pair goes into
   a bounded dataset (a ring buffer of ``dataset_capacity`` pairs);
2. the acting policy is the expert with probability ``beta_t`` (linearly decayed from
   ``beta0`` to 0 over the first ``mix_steps`` steps), else the student (greedy argmax of its
   logits); the environment steps;
3. one Adam step on a minibatch of ``batch_size`` pairs drawn uniformly (with replacement)
   from the dataset (the whole dataset while it holds fewer than ``batch_size`` pairs);
4. one SPM step ``engine.spm_step(t, rng_spm)``.

Every ``eval_every`` steps the student alone plays ``eval_episodes`` greedy episodes reset with
the fixed seeds ``eval_seed + i``, so evaluations are comparable across steps, runs and
variants.

Variants (all through the same engine): ``full``; ``static`` (SPM off, the initial
input/output graph: the paper's growth-disabled ablation); ``growth-only`` (pruning off);
``no-random`` (``p_rand = 0``); ``mlp`` (a fixed layered graph, SPM off).

A run directory holds ``config.json``, ``metrics.csv``, ``events.jsonl``, ``topology.jsonl``,
``graph.json``, ``checkpoint/``, ``training.png``, ``frames/`` and ``topology.gif``; see
``docs/distillation.md``. A run can be interrupted (Ctrl-C or a crash) and resumed exactly.

Examples
--------
>>> cfg = TrainConfig(env_id="CartPole-v1", variant="static", steps=50)
>>> variant_spm("static", cfg.spm).enable_edge_growth
False
>>> train_config_from_dict(train_config_to_dict(cfg)) == cfg
True
>>> [round(mixing_beta(t, beta0=1.0, mix_steps=4), 2) for t in (1, 2, 5, 9)]
[1.0, 0.75, 0.0, 0.0]
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import (
    AdamConfig,
    GraphConfig,
    SPMConfig,
    _check_range,
    check_fields,
    config_from_dict,
    config_to_dict,
)
from .engine import ENGINES, make_engine
from .envs import DEFAULT_STEPS, ENV_DEFAULTS, as_obs, check_env, default_steps, make_env
from .graph import hidden_nodes, initial_graph, layered_graph, n_params
from .io import load_graph, save_graph
from .losses import LOSSES

#: Engine used when neither ``--engine`` nor the config says otherwise: the fast engine
#: (:mod:`smgrnn_ref.fast`, same results as the reference engine up to rounding, about 20x
#: faster on a grown CartPole graph). ``"reference"`` is the readable one.
DEFAULT_ENGINE = "fast"

#: Training variants: the paper's method, its ablations and the fixed-MLP baseline.
VARIANTS = ("full", "static", "growth-only", "no-random", "mlp")

#: Independent random streams of a run, spawned from ``SeedSequence(seed)`` in this order
#: (the order fixes which child seed each stream gets, so never reorder, only append).
STREAMS = ("graph", "env", "mix", "batch", "spm")

#: Training-episode reset seeds are drawn from the ``env`` stream in ``[0, ENV_SEED_BOUND)``:
#: gymnasium accepts any non-negative int; 2**31 - 1 keeps them portable 32-bit ints.
ENV_SEED_BOUND = 2**31 - 1

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

# file names inside a run directory
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
EVENTS_FILE = "events.jsonl"
TOPOLOGY_FILE = "topology.jsonl"
GRAPH_FILE = "graph.json"
CHECKPOINT_DIR = "checkpoint"
PLOT_FILE = "training.png"
FRAMES_DIR = "frames"
GIF_FILE = "topology.gif"
CHECKPOINT_FORMAT = "smgrnn_ref.checkpoint"
CHECKPOINT_VERSION = 1


# --- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Everything a distillation run needs; ``config.json`` of a run holds one of these."""

    env_id: str = "CartPole-v1"
    """Gymnasium environment id; an expert must be shipped for it (``experts.SUPPORTED_ENVS``)."""

    variant: str = "full"
    """One of :data:`VARIANTS`: ``full``, ``static``, ``growth-only``, ``no-random``, ``mlp``."""

    seed: int = 0
    """Root seed; every random stream of the run is spawned from ``SeedSequence(seed)``."""

    steps: int | None = None
    """Training steps (environment steps = optimizer steps = SPM steps). ``None`` means the
    per-environment default :data:`smgrnn_ref.envs.DEFAULT_STEPS` (**our choice**); the
    stored ``config.json`` always holds the resolved number."""

    batch_size: int = 64
    """Minibatch size of each optimizer step. **Our choice** (the paper gives none)."""

    dataset_capacity: int = 20_000
    """Size of the labelled dataset (ring buffer: the oldest pair is overwritten).
    **Our choice**: large enough to remember early, expert-driven states."""

    loss: str = "kl"
    """Distillation loss: ``"kl"`` (KL of expert to student softmax, the cross-entropy
    gradient) or ``"mse"`` on logits. The paper names MSE or cross-entropy; default ours."""

    adam: AdamConfig = field(default_factory=AdamConfig)
    """Adam hyper-parameters (:class:`smgrnn_ref.config.AdamConfig`)."""

    spm: SPMConfig = field(default_factory=SPMConfig)
    """SPM hyper-parameters of the ``full`` variant; other variants derive theirs from it
    (:func:`variant_spm`)."""

    graph: GraphConfig = field(default_factory=GraphConfig)
    """How the initial graph is built (:class:`smgrnn_ref.config.GraphConfig`)."""

    beta0: float = 1.0
    """Probability that the expert acts at step 1 (DAgger's mixing). **Our choice**: the
    expert drives the first episodes, so the dataset starts with good trajectories."""

    mix_steps: int = 2000
    """``beta_t`` decays linearly from ``beta0`` to 0 over the first ``mix_steps`` steps, then
    the student alone acts. **Our choice**; 0 means the student always acts."""

    log_every: int = 100
    """A ``metrics.csv`` row every ``log_every`` steps (plus every evaluation and the last
    step). **Our choice**."""

    eval_every: int = 500
    """Greedy evaluation of the student every ``eval_every`` steps (and at the last step).
    **Our choice**."""

    eval_episodes: int = 10
    """Episodes per evaluation. **Our choice**."""

    eval_seed: int = 1_000_000
    """Evaluation episode ``i`` is reset with seed ``eval_seed + i`` at every evaluation, so
    evaluations are comparable. **Our choice**: far from small seeds used elsewhere."""

    frame_every: int = 100
    """A topology snapshot (one line of ``topology.jsonl``, one GIF frame) every
    ``frame_every`` steps, plus step 0 and the last step. **Our choice**."""

    checkpoint_every: int = 1000
    """A checkpoint every ``checkpoint_every`` steps (also at step 0, the end, Ctrl-C and
    crashes between steps). **Our choice**."""

    engine: str = DEFAULT_ENGINE
    """``"reference"`` (the readable NetworkX engine) or ``"fast"``; same interface."""

    mlp_hidden: tuple[int, ...] = (16, 16)
    """Hidden layer sizes of the ``mlp`` baseline (tanh). **Our choice**: 386 parameters on
    CartPole, a fixed network an order of magnitude larger than a grown one yet small
    enough for the per-node reference engine (the experts' 64x64 is ~30x slower there)."""

    max_params: int | None = None
    """Stop the run early once the network holds more than ``max_params`` parameters
    (weights + biases); ``None`` (the default) never stops. The step that crosses the cap is
    evaluated, logged and checkpointed like a last step, and the summary says ``capped``.
    A guard for sweeps: without pruning (``growth-only``) a graph can grow exponentially and
    a run can take hours. A size cap, unlike a time limit, stops every machine at the same
    step."""

    def __post_init__(self):
        name = type(self).__name__
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"{name}.env_id must be a non-empty string, got {self.env_id!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"{name}.variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        _check_range(name, "seed", self.seed, 0, None, integer=True)
        if self.steps is None:
            if self.env_id not in DEFAULT_STEPS:
                check_env(self.env_id)  # an unknown or continuous-action env: say that first
                raise ValueError(
                    f"{name}.steps: no default for env {self.env_id!r}; give steps "
                    f"(defaults exist for {sorted(DEFAULT_STEPS)})"
                )
            object.__setattr__(self, "steps", default_steps(self.env_id))
        for f in ("steps", "batch_size", "dataset_capacity", "log_every", "eval_every", "eval_episodes",
                  "frame_every", "checkpoint_every"):
            _check_range(name, f, getattr(self, f), 1, None, integer=True)
        _check_range(name, "mix_steps", self.mix_steps, 0, None, integer=True)
        _check_range(name, "eval_seed", self.eval_seed, 0, None, integer=True)
        _check_range(name, "beta0", self.beta0, 0.0, 1.0)
        if self.loss not in LOSSES:
            raise ValueError(f"{name}.loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"{name}.engine must be one of {list(ENGINES)}, got {self.engine!r}")
        for f, cls in (("adam", AdamConfig), ("spm", SPMConfig), ("graph", GraphConfig)):
            if not isinstance(getattr(self, f), cls):
                raise ValueError(f"{name}.{f} must be a {cls.__name__}, got {type(getattr(self, f)).__name__}")
        if self.max_params is not None:
            _check_range(name, "max_params", self.max_params, 1, None, integer=True)
        if isinstance(self.mlp_hidden, list):
            object.__setattr__(self, "mlp_hidden", tuple(self.mlp_hidden))
        if not isinstance(self.mlp_hidden, tuple) or not self.mlp_hidden:
            raise ValueError(f"{name}.mlp_hidden must be a non-empty sequence of layer sizes, got {self.mlp_hidden!r}")
        for h in self.mlp_hidden:
            if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                raise ValueError(f"{name}.mlp_hidden must hold integers >= 1, got {self.mlp_hidden!r}")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


_NESTED = {"adam": AdamConfig, "spm": SPMConfig, "graph": GraphConfig}


def train_config_to_dict(cfg: TrainConfig) -> dict:
    """A JSON-ready dict of ``cfg`` (nested configs as dicts, tuples as lists)."""
    d = config_to_dict(cfg)
    d["mlp_hidden"] = list(cfg.mlp_hidden)
    return d


def train_config_from_dict(data: dict, base: TrainConfig | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig` from a (possibly partial) dict over ``base``'s values.

    Unknown keys (top level or nested) raise ``ValueError`` naming them; missing keys keep
    ``base``'s value (the defaults when ``base`` is ``None``).

    >>> train_config_from_dict({"seed": 3, "adam": {"lr": 0.02}}).adam.lr
    0.02
    >>> train_config_from_dict({"sed": 3})
    Traceback (most recent call last):
    ...
    ValueError: TrainConfig: unknown field(s) ['sed']; known: ['adam', 'batch_size', 'beta0', 'checkpoint_every', 'dataset_capacity', 'engine', 'env_id', 'eval_episodes', 'eval_every', 'eval_seed', 'frame_every', 'graph', 'log_every', 'loss', 'max_params', 'mix_steps', 'mlp_hidden', 'seed', 'spm', 'steps', 'variant']
    """
    check_fields(TrainConfig, data)
    base_dict = train_config_to_dict(base) if base is not None else {}
    merged = {}
    for key, value in data.items():
        if key in _NESTED:
            nested = dict(base_dict.get(key, {}))
            if not isinstance(value, dict):
                raise ValueError(f"TrainConfig.{key} must be a mapping, got {type(value).__name__}")
            nested.update(value)
            merged[key] = config_from_dict(_NESTED[key], nested)
        else:
            merged[key] = value
    if base is None:
        return TrainConfig(**merged)
    return dataclasses.replace(base, **merged)


def _deep_merge(base: dict, over: dict) -> dict:
    """``base`` updated by ``over``; nested dicts are merged key by key, not replaced.

    >>> _deep_merge({"spm": {"T": 5, "s": 3}, "seed": 1}, {"spm": {"s": 4}})
    {'spm': {'T': 5, 's': 4}, 'seed': 1}
    """
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def config_for_env(data: dict | None = None) -> TrainConfig:
    """The config of a run: ``TrainConfig`` defaults < the environment's
    :data:`smgrnn_ref.envs.ENV_DEFAULTS` < ``data`` (a possibly partial config dict: a
    ``--config`` file with the command-line options on top). This is what
    ``smgrnn-ref train`` runs; a bare ``TrainConfig(env_id=...)`` skips the per-env layer.

    >>> cfg = config_for_env({"seed": 3, "spm": {"T": 50}})
    >>> cfg.env_id, cfg.seed, cfg.spm.T, cfg.steps == ENV_DEFAULTS["CartPole-v1"]["steps"]
    ('CartPole-v1', 3, 50, True)
    """
    data = dict(data or {})
    env_id = data.get("env_id", TrainConfig.env_id)
    if not isinstance(env_id, str) or env_id not in ENV_DEFAULTS:
        check_env(env_id)  # the clear message for an unknown or continuous-action env
        raise ValueError(f"no per-env defaults for {env_id!r}; known: {sorted(ENV_DEFAULTS)}")
    return train_config_from_dict(_deep_merge(ENV_DEFAULTS[env_id], data))


def save_config(cfg: TrainConfig, path) -> Path:
    """Write ``cfg`` as indented JSON, atomically."""
    path = Path(path)
    _atomic_write_text(path, json.dumps(train_config_to_dict(cfg), indent=2) + "\n")
    return path


def read_config_dict(path) -> dict:
    """The raw JSON object of a config file (``ValueError`` if missing or malformed)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"config file {path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object, got {type(data).__name__}")
    return data


def load_config(path) -> TrainConfig:
    """Read a config file written by :func:`save_config` (or a partial one by hand)."""
    return train_config_from_dict(read_config_dict(path))


def variant_spm(variant: str, spm: SPMConfig) -> SPMConfig:
    """The SPM configuration a variant trains with, derived from the ``full`` one.

    ``full``: unchanged; ``static`` and ``mlp``: every rule off; ``growth-only``: pruning
    off; ``no-random``: ``p_rand = 0``.

    >>> s = variant_spm("growth-only", SPMConfig())
    >>> s.enable_pruning, s.enable_edge_growth, s.enable_random_growth
    (False, True, True)
    >>> variant_spm("no-random", SPMConfig()).p_rand
    0.0
    """
    if variant == "full":
        return spm
    if variant in ("static", "mlp"):
        return spm.replace(enable_edge_growth=False, enable_random_growth=False, enable_pruning=False)
    if variant == "growth-only":
        return spm.replace(enable_pruning=False)
    if variant == "no-random":
        return spm.replace(p_rand=0.0)
    raise ValueError(f"unknown variant {variant!r}; known: {list(VARIANTS)}")


def build_graph(cfg: TrainConfig, n_inputs: int, n_outputs: int, rng: np.random.Generator):
    """The starting graph of a run: the paper's input/output graph, or the layered MLP.

    >>> cfg = TrainConfig(variant="mlp", mlp_hidden=(3,), steps=1)
    >>> G = build_graph(cfg, 4, 2, np.random.default_rng(0))
    >>> len(hidden_nodes(G)), G.number_of_edges()
    (3, 18)
    """
    if cfg.variant == "mlp":
        return layered_graph(n_inputs, list(cfg.mlp_hidden), n_outputs, rng=rng, T=cfg.spm.T,
                             hidden_activation=cfg.graph.hidden_activation)
    return initial_graph(n_inputs, n_outputs, density=cfg.graph.density, rng=rng,
                         weight_scale=cfg.graph.init_weight_scale, T=cfg.spm.T,
                         output_activation=cfg.graph.output_activation)


def mixing_beta(t: int, *, beta0: float, mix_steps: int) -> float:
    """Probability that the expert acts at step ``t >= 1``.

    ::

        beta_t = beta0 * max(0, 1 - (t - 1) / mix_steps)      (0 when mix_steps == 0)

    >>> mixing_beta(1, beta0=0.5, mix_steps=10), mixing_beta(11, beta0=0.5, mix_steps=10)
    (0.5, 0.0)
    """
    if mix_steps == 0:
        return 0.0
    return beta0 * max(0.0, 1.0 - (t - 1) / mix_steps)


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent ``Generator`` per name in :data:`STREAMS`, from ``SeedSequence(seed)``.

    >>> a, b = spawn_streams(0), spawn_streams(0)
    >>> a["spm"].random() == b["spm"].random() and a["spm"].random() != a["env"].random()
    True
    """
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


# --- the labelled dataset ----------------------------------------------------------------


class Dataset:
    """A bounded set of labelled states: a ring buffer of ``(obs, expert_logits)`` pairs.

    Parameters
    ----------
    capacity : int
        Maximum number of pairs; when full the oldest pair is overwritten.
    n_inputs, n_outputs : int
        Observation size and number of actions.

    Examples
    --------
    >>> d = Dataset(2, 1, 1)
    >>> for x in (1.0, 2.0, 3.0): d.add([x], [-x])
    >>> len(d), d.obs[:, 0].tolist(), d.next
    (2, [3.0, 2.0], 1)
    """

    def __init__(self, capacity: int, n_inputs: int, n_outputs: int):
        self.capacity = int(capacity)
        self.obs = np.zeros((0, n_inputs))
        self.logits = np.zeros((0, n_outputs))
        self._obs = np.zeros((self.capacity, n_inputs))
        self._logits = np.zeros((self.capacity, n_outputs))
        self.size = 0
        self.next = 0

    def __len__(self) -> int:
        return self.size

    def _refresh_views(self):
        self.obs, self.logits = self._obs[: self.size], self._logits[: self.size]

    def add(self, obs, logits) -> None:
        """Store one labelled state at the write position (overwriting the oldest when full)."""
        self._obs[self.next] = obs
        self._logits[self.next] = logits
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self._refresh_views()

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A minibatch drawn uniformly with replacement (one ``rng.integers`` call); the whole
        dataset, in storage order and without drawing, while it holds fewer than
        ``batch_size`` pairs."""
        if self.size == 0:
            raise ValueError("the dataset is empty")
        if self.size < batch_size:
            return self.obs.copy(), self.logits.copy()
        idx = rng.integers(0, self.size, size=batch_size)
        return self._obs[idx], self._logits[idx]

    def save(self, path) -> None:
        """Write the stored pairs to ``path`` (``.npz``, plain arrays: loadable without pickle)."""
        with open(path, "wb") as fh:
            np.savez(fh, obs=self.obs, logits=self.logits, next=np.array(self.next),
                     capacity=np.array(self.capacity))

    @classmethod
    def load(cls, path, n_inputs: int, n_outputs: int) -> "Dataset":
        """Read a dataset written by :meth:`save` (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as z:
            obs, logits = z["obs"], z["logits"]
            nxt, capacity = int(z["next"]), int(z["capacity"])
        if obs.shape[1:] != (n_inputs,) or logits.shape != (obs.shape[0], n_outputs):
            raise ValueError(f"dataset {path}: shapes {obs.shape} / {logits.shape} do not fit the run")
        d = cls(capacity, n_inputs, n_outputs)
        d.size = obs.shape[0]
        d._obs[: d.size], d._logits[: d.size] = obs, logits
        d.next = nxt
        d._refresh_views()
        return d


# --- evaluation ----------------------------------------------------------------------------


def evaluate_student(engine, env_id: str, episodes: int, seed: int, envs=None) -> np.ndarray:
    """Returns of ``episodes`` greedy student episodes; episode ``i`` is reset with ``seed + i``.

    The episodes run in lockstep so the student evaluates one batch per time step (each row
    of a batch is computed independently, so the result does not depend on the batching).

    Parameters
    ----------
    engine
        Anything with ``forward(X) -> logits``.
    env_id : str
    episodes, seed : int
    envs : list of gymnasium.Env, optional
        ``episodes`` environments to reuse (created and closed here when omitted).

    Returns
    -------
    numpy.ndarray
        The ``episodes`` returns, in episode order.
    """
    own = envs is None
    envs = [make_env(env_id) for _ in range(episodes)] if own else envs
    try:
        obs = [as_obs(env.reset(seed=seed + i)[0]) for i, env in enumerate(envs)]
        returns = np.zeros(episodes)
        live = list(range(episodes))
        while live:
            logits = np.asarray(engine.forward(np.stack([obs[i] for i in live])))
            actions = np.argmax(logits, axis=1)
            still = []
            for i, a in zip(live, actions):
                o, r, term, trunc, _ = envs[i].step(int(a))
                returns[i] += float(r)
                obs[i] = as_obs(o)
                if not (term or trunc):
                    still.append(i)
            live = still
        return returns
    finally:
        if own:
            for env in envs:
                env.close()


# --- small file helpers --------------------------------------------------------------------


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _csv_value(x) -> str:
    """Exact, portable cell text: ``repr`` round-trips floats; ``None`` is an empty cell."""
    if x is None:
        return ""
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return str(x)


def _csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_csv_value(v) for v in values])
    return buf.getvalue()


def run_name(env_id: str, variant: str, seed: int) -> str:
    """The default run name ``{env}__{variant}__s{seed}``.

    >>> run_name("CartPole-v1", "full", 0)
    'CartPole-v1__full__s0'
    """
    return f"{env_id}__{variant}__s{seed}"


def default_out_dir(env_id: str, variant: str, seed: int) -> Path:
    """``runs/{env}__{variant}__s{seed}`` (relative to the working directory)."""
    return Path("runs") / run_name(env_id, variant, seed)


def _holds_run(path: Path) -> bool:
    return (path / CONFIG_FILE).exists() or (path / CHECKPOINT_DIR).exists()


def _checkpoint_path(out_dir: Path) -> Path | None:
    """The newest complete checkpoint (``checkpoint/``, or ``checkpoint.old/`` when a crash hit
    the instant between the two renames of :meth:`Trainer.write_checkpoint`)."""
    for name in (CHECKPOINT_DIR, CHECKPOINT_DIR + ".old"):
        p = out_dir / name
        if (p / "state.json").is_file():
            return p
    return None


# --- the trainer ---------------------------------------------------------------------------


class Trainer:
    """One distillation run bound to its run directory. Use :func:`train` / :func:`resume`.

    The training state is: the graph (weights, biases, Adam moments, SPM windows), the
    dataset, the random streams, the current training episode (reset seed, actions so far,
    return so far), the step and episode counters, the accumulators of the current logging
    interval and the last evaluation. A checkpoint stores all of it.
    """

    def __init__(self, cfg: TrainConfig, out_dir: Path, *, progress: bool = True, on_step=None):
        self.cfg = cfg
        self.out = Path(out_dir)
        self.progress = progress
        self.on_step = on_step
        self.n_inputs, self.n_actions = check_env(cfg.env_id)
        from .experts import load_expert

        self.expert = load_expert(cfg.env_id)
        self.spm_cfg = variant_spm(cfg.variant, cfg.spm)
        self.env = None
        self.eval_envs = None
        self._stop_requested = False
        self._consistent = True

    # -- state set-up ------------------------------------------------------------------------

    def _new_engine(self, G):
        return make_engine(self.cfg.engine, G, adam=self.cfg.adam, spm=self.spm_cfg, loss=self.cfg.loss)

    def start_fresh(self) -> None:
        """Build the step-0 state and the run directory's files."""
        cfg = self.cfg
        self.rng = spawn_streams(cfg.seed)
        self.engine = self._new_engine(build_graph(cfg, self.n_inputs, self.n_actions, self.rng["graph"]))
        self.dataset = Dataset(cfg.dataset_capacity, self.n_inputs, self.n_actions)
        self.step = 0
        self.episodes = 0
        self.wall_time = 0.0
        self.last_eval = None
        self._reset_interval()
        self.out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, self.out / CONFIG_FILE)
        (self.out / METRICS_FILE).write_text(_csv_line(METRICS_COLUMNS))
        (self.out / EVENTS_FILE).write_text("")
        (self.out / TOPOLOGY_FILE).write_text("")
        self.env = make_env(cfg.env_id)
        self._new_episode()
        self._write_snapshot()
        self.write_checkpoint()

    def load_checkpoint(self) -> None:
        """Restore the state of the newest checkpoint and cut the logs back to it."""
        ck = _checkpoint_path(self.out)
        if ck is None:
            raise ValueError(f"no checkpoint to resume in {self.out}")
        state = json.loads((ck / "state.json").read_text())
        if state.get("format") != CHECKPOINT_FORMAT or state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"{ck}: not a {CHECKPOINT_FORMAT} version {CHECKPOINT_VERSION} checkpoint")
        self.engine = self._new_engine(load_graph(ck / GRAPH_FILE))
        self.dataset = Dataset.load(ck / "dataset.npz", self.n_inputs, self.n_actions)
        self.rng = {}
        for name in STREAMS:
            g = np.random.Generator(np.random.PCG64())
            g.bit_generator.state = state["rng"][name]
            self.rng[name] = g
        self.step = state["step"]
        self.episodes = state["episodes"]
        self.wall_time = state["wall_time"]
        self.last_eval = state["last_eval"]
        self.interval = state["interval"]
        # the logs may hold lines written after the checkpoint: cut them back to it
        shutil.copyfile(ck / METRICS_FILE, self.out / METRICS_FILE)
        for name, size in state["files"].items():
            with open(self.out / name, "r+b") as fh:
                fh.truncate(size)
        # the environment: same reset seed, same actions => the same state (deterministic envs)
        ep = state["episode"]
        self.env = make_env(self.cfg.env_id)
        obs = as_obs(self.env.reset(seed=ep["seed"])[0])
        for a in ep["actions"]:
            obs, _, term, trunc, _ = self.env.step(a)
            obs = as_obs(obs)
            if term or trunc:
                raise ValueError(f"{ck}: replaying the current episode ended it early; cannot resume exactly")
        if not np.array_equal(obs, np.asarray(ep["obs"], dtype=np.float64)):
            raise ValueError(f"{ck}: replaying the current episode did not reproduce its state; "
                             f"{self.cfg.env_id} is not deterministic given seed and actions")
        self.ep_seed, self.ep_actions, self.ep_return, self.obs = ep["seed"], list(ep["actions"]), ep["return"], obs

    def _reset_interval(self) -> None:
        self.interval = {"loss_sum": 0.0, "loss_n": 0, "train_returns": [], **{k: 0 for k in EVENT_KINDS}}

    def _new_episode(self) -> None:
        self.ep_seed = int(self.rng["env"].integers(0, ENV_SEED_BOUND))
        self.ep_actions = []
        self.ep_return = 0.0
        self.obs = as_obs(self.env.reset(seed=self.ep_seed)[0])

    # -- one training step -------------------------------------------------------------------

    def train_step(self, t: int) -> list:
        """Training step ``t``: label, act, one optimizer step, one SPM step."""
        cfg = self.cfg
        # 1. the expert labels the visited state; the pair joins the bounded dataset
        label = self.expert.logits(self.obs[None, :])[0]
        self.dataset.add(self.obs, label)
        # 2. act: the expert with probability beta_t, else the student (greedy)
        beta = mixing_beta(t, beta0=cfg.beta0, mix_steps=cfg.mix_steps)
        if self.rng["mix"].random() < beta:
            action = int(np.argmax(label))
        else:
            action = int(np.argmax(self.engine.forward(self.obs[None, :])[0]))
        obs, reward, term, trunc, _ = self.env.step(action)
        self.ep_actions.append(action)
        self.ep_return += float(reward)
        self.obs = as_obs(obs)
        if term or trunc:
            self.interval["train_returns"].append(self.ep_return)
            self.episodes += 1
            self._new_episode()
        # 3. one optimizer step on a minibatch of the dataset
        X, Y = self.dataset.sample(cfg.batch_size, self.rng["batch"])
        loss = self.engine.train_step(X, Y)
        self.interval["loss_sum"] += float(loss)
        self.interval["loss_n"] += 1
        # 4. one SPM step
        events = self.engine.spm_step(t, self.rng["spm"])
        for e in events:
            self.interval[e.kind] += 1
        return events

    # -- logging -------------------------------------------------------------------------------

    def _write_snapshot(self) -> None:
        from .viz import snapshot, write_snapshot

        write_snapshot(self.out / TOPOLOGY_FILE, snapshot(self.engine.graph, self.step))

    def _write_events(self, events) -> None:
        if events:
            with open(self.out / EVENTS_FILE, "a") as fh:
                fh.write("".join(json.dumps(e.to_dict()) + "\n" for e in events))

    def _evaluate(self) -> dict:
        if self.eval_envs is None:
            self.eval_envs = [make_env(self.cfg.env_id) for _ in range(self.cfg.eval_episodes)]
        r = evaluate_student(self.engine, self.cfg.env_id, self.cfg.eval_episodes, self.cfg.eval_seed,
                             envs=self.eval_envs)
        return {"step": self.step, "mean": float(r.mean()), "std": float(r.std())}

    def _log_row(self, evaluation) -> None:
        G = self.engine.graph
        iv = self.interval
        row = {
            "step": self.step,
            "episodes": self.episodes,
            "beta": mixing_beta(self.step, beta0=self.cfg.beta0, mix_steps=self.cfg.mix_steps),
            "loss": iv["loss_sum"] / iv["loss_n"] if iv["loss_n"] else None,
            "train_return_mean": float(np.mean(iv["train_returns"])) if iv["train_returns"] else None,
            "eval_return_mean": evaluation["mean"] if evaluation else None,
            "eval_return_std": evaluation["std"] if evaluation else None,
            "hidden_nodes": len(hidden_nodes(G)),
            "edges": G.number_of_edges(),
            "params": n_params(G),
            **{k: iv[k] for k in EVENT_KINDS},
            "dataset_size": len(self.dataset),
            "wall_time": round(self.wall_time, 3),
        }
        with open(self.out / METRICS_FILE, "a") as fh:
            fh.write(_csv_line(row[c] for c in METRICS_COLUMNS))
        self._reset_interval()

    # -- checkpoints -------------------------------------------------------------------------

    def write_checkpoint(self) -> Path:
        """Write the whole training state to ``checkpoint/`` atomically.

        Everything goes to ``checkpoint.tmp/`` first; then the old checkpoint is renamed to
        ``checkpoint.old/``, the new one to ``checkpoint/``, and the old one deleted. At every
        instant one complete checkpoint is on disk (:func:`_checkpoint_path` finds it).
        """
        tmp = self.out / (CHECKPOINT_DIR + ".tmp")
        old = self.out / (CHECKPOINT_DIR + ".old")
        final = self.out / CHECKPOINT_DIR
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        save_graph(self.engine.graph, tmp / GRAPH_FILE)
        self.dataset.save(tmp / "dataset.npz")
        shutil.copyfile(self.out / METRICS_FILE, tmp / METRICS_FILE)
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "step": self.step,
            "episodes": self.episodes,
            "wall_time": self.wall_time,
            "last_eval": self.last_eval,
            "interval": self.interval,
            "episode": {"seed": self.ep_seed, "actions": self.ep_actions, "return": self.ep_return,
                        "obs": [float(x) for x in self.obs]},
            "rng": {name: self.rng[name].bit_generator.state for name in STREAMS},
            "files": {name: (self.out / name).stat().st_size for name in (EVENTS_FILE, TOPOLOGY_FILE)},
        }
        (tmp / "state.json").write_text(json.dumps(state))
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        if old.exists():
            shutil.rmtree(old)
        return final

    # -- the loop ------------------------------------------------------------------------------

    #: Signals that stop a run gracefully: Ctrl-C and ``kill`` (the default SIGTERM).
    STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def _request_stop(self, signum, frame):
        # first signal: finish the current step, checkpoint, stop; a second one aborts at once
        self._stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def run(self, *, pictures: bool = True) -> dict:
        """Train up to ``cfg.steps`` (or until :meth:`capped`); then :meth:`finish`.

        Ctrl-C or SIGTERM lets the current step finish, then checkpoints and raises
        ``KeyboardInterrupt``; an exception between steps checkpoints and propagates.
        """
        from tqdm.auto import tqdm

        cfg = self.cfg
        handler_installed = threading.current_thread() is threading.main_thread()
        previous = {}
        if handler_installed:
            previous = {sig: signal.signal(sig, self._request_stop) for sig in self.STOP_SIGNALS}
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.progress, unit="step",
                   desc=run_name(cfg.env_id, cfg.variant, cfg.seed), dynamic_ncols=True)
        self._postfix(bar)
        self._clock = time.perf_counter()
        try:
            while self.step < cfg.steps and not self.capped():
                if self._stop_requested:
                    raise KeyboardInterrupt
                t = self.step + 1
                if self.on_step is not None:
                    self.on_step(t)  # test hook, at a step boundary
                self._consistent = False
                events = self.train_step(t)
                self.step = t
                self._write_events(events)
                self._consistent = True
                last = t == cfg.steps or self.capped()
                if t % cfg.frame_every == 0 or last:
                    self._write_snapshot()
                evaluation = None
                if t % cfg.eval_every == 0 or last:
                    evaluation = self.last_eval = self._evaluate()
                if t % cfg.log_every == 0 or evaluation is not None:
                    self._tick()
                    self._log_row(evaluation)
                if t % cfg.checkpoint_every == 0 or last:
                    self._tick()
                    self.write_checkpoint()
                bar.update(1)
                if evaluation is not None or t % cfg.frame_every == 0:
                    self._postfix(bar)
        except BaseException:
            # between steps the in-memory state is whole: save it. Mid-step it may be half
            # updated, so the previous checkpoint stays the one to resume from.
            if self._consistent and _checkpoint_path(self.out) is not None:
                self._tick()
                self.write_checkpoint()
            raise
        finally:
            bar.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()
        return self.finish(pictures=pictures)

    def capped(self) -> bool:
        """Whether the network holds more than ``cfg.max_params`` parameters (never when
        ``max_params`` is None). Counted on the engine's structure, without a sync."""
        if self.cfg.max_params is None:
            return False
        G = self.engine.structure
        # n_params = edges + one bias per non-input node; inputs are never added or removed
        return G.number_of_edges() + G.number_of_nodes() - self.n_inputs > self.cfg.max_params

    def _tick(self) -> None:
        """Add the time since the last tick to ``wall_time``: the training loop's own time
        (steps, evaluations, logs, checkpoints), summed over resumed sessions."""
        now = time.perf_counter()
        self.wall_time += now - self._clock
        self._clock = now

    def _postfix(self, bar) -> None:
        G = self.engine.graph
        ret = f"{self.last_eval['mean']:.1f}" if self.last_eval else "-"
        # an ordered mapping: tqdm would sort keyword arguments alphabetically
        bar.set_postfix({"step": self.step, "eval_return": ret, "hidden": len(hidden_nodes(G)),
                         "edges": G.number_of_edges()}, refresh=False)

    def close(self) -> None:
        for env in [self.env] + (self.eval_envs or []):
            if env is not None:
                env.close()
        self.env, self.eval_envs = None, None

    def finish(self, *, pictures: bool = True) -> dict:
        """Write ``graph.json`` and the pictures; return a summary of the run."""
        from . import viz  # draws on Figure objects: no backend is forced on the caller

        G = self.engine.graph
        save_graph(G, self.out / GRAPH_FILE)
        if pictures:
            viz.plot_training(self.out / METRICS_FILE, self.out / PLOT_FILE,
                              title=f"{self.cfg.env_id} {self.cfg.variant} seed {self.cfg.seed}")
            frames = self.out / FRAMES_DIR
            if frames.exists():
                shutil.rmtree(frames)  # a resumed run re-renders every frame
            viz.animate(self.out, self.out / GIF_FILE, frames_dir=frames)
        ev = self.last_eval or {}
        return {
            "out_dir": str(self.out),
            "step": self.step,
            "eval_return_mean": ev.get("mean"),
            "eval_return_std": ev.get("std"),
            "hidden_nodes": len(hidden_nodes(G)),
            "edges": G.number_of_edges(),
            "params": n_params(G),
            "wall_time": self.wall_time,
            "capped": self.step < self.cfg.steps and self.capped(),  # stopped early by the cap
        }


# --- entry points --------------------------------------------------------------------------


def prepare_out_dir(out_dir, *, force: bool) -> Path:
    """Check that ``out_dir`` may receive a new run; ``ValueError`` otherwise. Changes nothing.

    A missing or empty directory is fine. A directory holding a run is refused unless
    ``force`` (the caller then replaces it). A non-empty directory that holds no run is
    refused even with ``force``: we never delete files we did not write.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not _holds_run(out):
            raise ValueError(f"output directory {out} is not empty and holds no run; choose another --out")
        if not force:
            raise ValueError(f"output directory {out} already holds a run; use --resume to continue it "
                             f"or --force to replace it")
    return out


def train(cfg: TrainConfig, out_dir=None, *, force: bool = False, progress: bool = True, on_step=None,
          pictures: bool = True) -> dict:
    """Run a fresh distillation run into ``out_dir`` (default :func:`default_out_dir`).

    Everything is checked (config, environment, expert, output directory) before anything is
    created or deleted.

    Parameters
    ----------
    cfg : TrainConfig
    out_dir : path, optional
    force : bool
        Replace an existing run in ``out_dir``.
    progress : bool
        Show a tqdm progress bar.
    on_step : callable, optional
        Called as ``on_step(t)`` before step ``t``, at a step boundary (a test hook).
    pictures : bool
        Write ``training.png``, ``frames/`` and ``topology.gif`` at the end.

    Returns
    -------
    dict
        Final step, last evaluation (mean, std), hidden nodes, edges, parameters, wall time.
    """
    out = prepare_out_dir(out_dir if out_dir is not None else default_out_dir(cfg.env_id, cfg.variant, cfg.seed),
                          force=force)
    trainer = Trainer(cfg, out, progress=progress, on_step=on_step)  # checks env and expert
    if cfg.max_params is not None:
        # the step-0 network, built from its own fresh stream as start_fresh will build it
        p0 = n_params(build_graph(cfg, trainer.n_inputs, trainer.n_actions, spawn_streams(cfg.seed)["graph"]))
        if p0 > cfg.max_params:
            raise ValueError(f"TrainConfig.max_params={cfg.max_params} is below the initial network's {p0} "
                             f"parameters: the run would stop before its first step")
    if out.exists() and _holds_run(out):
        shutil.rmtree(out)  # --force, after every check passed
    trainer.start_fresh()
    return trainer.run(pictures=pictures)


def resume(out_dir, *, steps: int | None = None, progress: bool = True, on_step=None,
           pictures: bool = True) -> dict:
    """Continue the run in ``out_dir`` from its last checkpoint, exactly.

    ``steps`` may raise the total number of steps; other settings come from ``config.json``.
    """
    out = Path(out_dir)
    if not (out / CONFIG_FILE).is_file():
        raise ValueError(f"{out} holds no run to resume (no {CONFIG_FILE})")
    if _checkpoint_path(out) is None:
        raise ValueError(f"no checkpoint to resume in {out}")
    cfg = load_config(out / CONFIG_FILE)
    if steps is not None and steps != cfg.steps:
        state = json.loads((_checkpoint_path(out) / "state.json").read_text())
        if steps < state["step"]:
            raise ValueError(f"--steps {steps} is below the checkpoint's step {state['step']}")
        cfg = cfg.replace(steps=steps)
    trainer = Trainer(cfg, out, progress=progress, on_step=on_step)
    trainer.load_checkpoint()
    if steps is not None:
        save_config(cfg, out / CONFIG_FILE)
    return trainer.run(pictures=pictures)


__all__ = [
    "DEFAULT_ENGINE",
    "VARIANTS",
    "STREAMS",
    "METRICS_COLUMNS",
    "TrainConfig",
    "train_config_to_dict",
    "train_config_from_dict",
    "config_for_env",
    "save_config",
    "read_config_dict",
    "load_config",
    "variant_spm",
    "build_graph",
    "mixing_beta",
    "spawn_streams",
    "Dataset",
    "evaluate_student",
    "run_name",
    "default_out_dir",
    "prepare_out_dir",
    "Trainer",
    "train",
    "resume",
]
