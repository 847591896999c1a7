"""The configuration of a distillation run: :class:`TrainConfig`, its JSON form and its layers.

A run's ``config.json`` (:mod:`smgrnn_ref.rundir`) holds one :class:`TrainConfig`, fully
resolved. ``smgrnn-ref train`` builds it in layers (:func:`config_for_env`): the
``TrainConfig`` defaults < the environment's :data:`smgrnn_ref.envs.ENV_DEFAULTS` < a
``--config`` file < the command-line options. Every field is checked when the config is
built, and a bad value raises a one-line ``ValueError`` naming the field.

Examples
--------
>>> cfg = TrainConfig(env_id="CartPole-v1", variant="static", steps=50)
>>> train_config_from_dict(train_config_to_dict(cfg)) == cfg
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..config import (
    AdamConfig,
    GraphConfig,
    SPMConfig,
    _check_range,
    check_fields,
    config_from_dict,
    config_to_dict,
)
from ..engine import ENGINES
from ..envs import DEFAULT_STEPS, ENV_DEFAULTS, check_env, default_steps
from ..losses import LOSSES
from ..rundir import read_config_dict, write_config
from .variants import VARIANTS

#: Engine used when neither ``--engine`` nor the config says otherwise: the fast engine
#: (:mod:`smgrnn_ref.fast`, same results as the reference engine up to rounding, about 20x
#: faster on a grown CartPole graph). ``"reference"`` is the readable one.
DEFAULT_ENGINE = "fast"


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
    """A JSON-ready dict of ``cfg`` (nested configs as dicts, tuples as lists).

    >>> train_config_to_dict(TrainConfig(steps=10, mlp_hidden=(4,)))["mlp_hidden"]
    [4]
    """
    d = config_to_dict(cfg)
    d["mlp_hidden"] = list(cfg.mlp_hidden)
    return d


def train_config_from_dict(data: dict, base: TrainConfig | None = None) -> TrainConfig:
    """Build a :class:`TrainConfig` from a (possibly partial) dict over ``base``'s values.

    Parameters
    ----------
    data : dict
        Any subset of the fields; the nested ``adam`` / ``spm`` / ``graph`` may be partial.
    base : TrainConfig, optional
        The values of the fields ``data`` leaves out (the defaults when ``None``).

    Returns
    -------
    TrainConfig

    Raises
    ------
    ValueError
        For an unknown key (top level or nested), naming it, or an invalid value.

    Examples
    --------
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

    Parameters
    ----------
    data : dict, optional
        A possibly partial config dict; its ``env_id`` (default ``CartPole-v1``) picks the
        per-env layer.

    Returns
    -------
    TrainConfig

    Raises
    ------
    ValueError
        For an unsupported environment or an unknown or invalid field.

    Examples
    --------
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
    """Write ``cfg`` as indented JSON, atomically (the ``config.json`` format of
    :mod:`smgrnn_ref.rundir`).

    Parameters
    ----------
    cfg : TrainConfig
    path : path

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_config(path, train_config_to_dict(cfg))


def load_config(path) -> TrainConfig:
    """Read a config file written by :func:`save_config` (or a partial one by hand).

    Raises
    ------
    ValueError
        If the file is missing or malformed (:func:`smgrnn_ref.rundir.read_config_dict`), or a
        field is unknown or invalid.
    """
    return train_config_from_dict(read_config_dict(path))


__all__ = [
    "DEFAULT_ENGINE",
    "TrainConfig",
    "train_config_to_dict",
    "train_config_from_dict",
    "config_for_env",
    "save_config",
    "read_config_dict",
    "load_config",
]
