"""The configuration of a distillation run: :class:`TrainConfig`, its JSON form and its layers.

A run's ``config.json`` (:mod:`smgrnn_ref.rundir`) holds one :class:`TrainConfig`, fully
resolved. ``smgrnn-ref train`` builds it in layers (:func:`config_for_env`): the
``TrainConfig`` defaults < the environment's :data:`smgrnn_ref.envs.ENV_DEFAULTS` < a
``--config`` file < the command-line options. Every field is checked when the config is
built, and a bad value raises a one-line ``ValueError`` naming the field.

The teacher fields (``expert``, ``expert_output``, ``expert_sha256``) and ``loss`` are
**resolved** before a run starts (:func:`resolve_teacher`): the teacher is loaded and checked,
and the run's ``config.json`` records what it resolved to (the expert file's absolute path and
sha256, or the callable's name; what it outputs; the loss that fits it), so the run can be
reproduced, and a resume refuses a teacher file that changed.

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
    OptimizerConfig,
    GraphConfig,
    SPMConfig,
    _check_range,
    check_fields,
    config_from_dict,
    config_to_dict,
)
from ..engine import ENGINES
from ..envs import DEFAULT_STEPS, ENV_DEFAULTS, check_env, default_steps, env_info
from ..losses import LOSSES
from ..rundir import read_config_dict, write_config
from ..teachers import OUTPUT_KINDS, Teacher, load_teacher
from .variants import VARIANTS

#: Engine used when neither ``--engine`` nor the config says otherwise: the fast engine
#: (:mod:`smgrnn_ref.fast`, same results as the reference engine up to rounding, about 20x
#: faster on a grown CartPole graph). ``"reference"`` is the readable one.
DEFAULT_ENGINE = "fast"


@dataclass(frozen=True)
class TrainConfig:
    """Everything a distillation run needs; ``config.json`` of a run holds one of these."""

    env_id: str = "CartPole-v1"
    """Gymnasium environment: a registered id or ``module:EnvClass`` (:mod:`smgrnn_ref.envs`),
    with flat ``Box`` observations and ``Discrete`` or flat ``Box`` actions."""

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

    expert: str | None = None
    """The teacher (:mod:`smgrnn_ref.teachers`): ``None``, the expert shipped for ``env_id``;
    a path to an expert file pair (``<stem>.npz`` + ``<stem>.json``: the stem, either file, or
    a directory holding ``<env_id>.json``), stored as the absolute stem; or
    ``"module:function"``, a Python callable from a batch of observations to actions, logits or
    probabilities."""

    expert_output: str | None = None
    """What the teacher outputs: ``"logits"``, ``"probs"`` or ``"actions"``. ``None``: read
    from the expert file, or from the callable's ``output`` attribute or its return value
    (:mod:`smgrnn_ref.teachers`); the stored ``config.json`` holds the resolved kind."""

    expert_sha256: str | None = None
    """sha256 of the teacher's ``.json`` file (shipped or file experts; ``None`` for a
    callable), which itself holds the sha256 of the ``.npz``. Filled in when the run starts;
    a run started or resumed with a value refuses a file that does not match it."""

    loss: str | None = None
    """Distillation loss; ``None``: the one that fits the teacher's output
    (:data:`smgrnn_ref.teachers.LOSSES_FOR`): ``"kl"`` to logits (KL of expert to student
    softmax, the cross-entropy gradient; ``"mse"`` on the logits is the alternative),
    ``"ce"`` to probabilities or to one-hot rows of discrete actions (hard labels), ``"mse"``
    to continuous actions. The paper names MSE or cross-entropy; the defaults are ours."""

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    """The weight optimizer and its hyper-parameters (:class:`smgrnn_ref.config.OptimizerConfig`:
    Adam, the paper's, by default; ``{"name": "sgd", "momentum": ...}`` for SGD, ours). Config
    files may still call this field ``adam``, its former name."""

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
    (weights + biases); ``None`` (the default here) never stops. Every shipped environment sets
    20,000 in its per-env layer (:data:`smgrnn_ref.envs.ENV_DEFAULTS`, applied by
    :func:`config_for_env`): without pruning the graph grows explosively under the default
    gradient window. The step that crosses the cap is
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
        if self.loss is not None and self.loss not in LOSSES:
            raise ValueError(f"{name}.loss must be None or one of {sorted(LOSSES)}, got {self.loss!r}")
        if self.expert is not None and (not isinstance(self.expert, str) or not self.expert):
            raise ValueError(f"{name}.expert must be None, a path or 'module:function', got {self.expert!r}")
        if self.expert_output is not None and self.expert_output not in OUTPUT_KINDS:
            raise ValueError(f"{name}.expert_output must be None or one of {list(OUTPUT_KINDS)}, "
                             f"got {self.expert_output!r}")
        sha = self.expert_sha256
        if sha is not None and not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
            raise ValueError(f"{name}.expert_sha256 must be None or 64 lowercase hex digits, got {sha!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"{name}.engine must be one of {list(ENGINES)}, got {self.engine!r}")
        for f, cls in (("optimizer", OptimizerConfig), ("spm", SPMConfig), ("graph", GraphConfig)):
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


_NESTED = {"optimizer": OptimizerConfig, "spm": SPMConfig, "graph": GraphConfig}

#: Former field names still read from config files and grids -> today's names.
FORMER_NAMES = {"adam": "optimizer"}


def _today_names(data: dict) -> dict:
    """``data`` with former field names (``adam``) renamed to today's (``optimizer``).

    >>> _today_names({"adam": {"lr": 0.1}, "seed": 2})
    {'optimizer': {'lr': 0.1}, 'seed': 2}
    >>> _today_names({"adam": {}, "optimizer": {}})
    Traceback (most recent call last):
    ...
    ValueError: TrainConfig: give 'optimizer' or its former name 'adam', not both
    """
    out = {}
    for key, value in data.items():
        new = FORMER_NAMES.get(key, key)
        if new in out or (new != key and new in data):
            raise ValueError(f"TrainConfig: give {new!r} or its former name {key!r}, not both")
        out[new] = value
    return out


def train_config_to_dict(cfg: TrainConfig) -> dict:
    """A JSON-ready dict of ``cfg`` (nested configs as dicts, tuples as lists).

    Examples
    --------
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
        Any subset of the fields; the nested ``optimizer`` (or ``adam``, its former name) /
        ``spm`` / ``graph`` may be partial.
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
    >>> train_config_from_dict({"seed": 3, "optimizer": {"name": "sgd", "lr": 0.02}}).optimizer.name
    'sgd'
    >>> train_config_from_dict({"adam": {"lr": 0.02}}).optimizer.lr  # the former name
    0.02
    >>> train_config_from_dict({"sed": 3})
    Traceback (most recent call last):
    ...
    ValueError: TrainConfig: unknown field(s) ['sed']; known: ['batch_size', 'beta0', 'checkpoint_every', 'dataset_capacity', 'engine', 'env_id', 'eval_episodes', 'eval_every', 'eval_seed', 'expert', 'expert_output', 'expert_sha256', 'frame_every', 'graph', 'log_every', 'loss', 'max_params', 'mix_steps', 'mlp_hidden', 'optimizer', 'seed', 'spm', 'steps', 'variant']
    """
    data = _today_names(data)
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


def deep_merge(base: dict, over: dict) -> dict:
    """``base`` updated by ``over``; nested dicts are merged key by key, not replaced.

    >>> deep_merge({"spm": {"T": 5, "s": 3}, "seed": 1}, {"spm": {"s": 4}})
    {'spm': {'T': 5, 's': 4}, 'seed': 1}
    """
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_teacher(cfg: TrainConfig) -> tuple[TrainConfig, Teacher]:
    """Load and check ``cfg``'s environment and teacher; return ``cfg`` with the teacher
    fields and ``loss`` resolved (what a run's ``config.json`` stores), and the teacher.

    Parameters
    ----------
    cfg : TrainConfig

    Returns
    -------
    (TrainConfig, smgrnn_ref.teachers.Teacher)
        The config's ``expert`` is the absolute stem of an expert file (``None`` for the
        shipped expert, the name of a callable), ``expert_output`` the teacher's output kind,
        ``expert_sha256`` its file's sha256, ``loss`` the loss (the teacher's default when
        ``None``). Resolving a resolved config returns it unchanged.

    Raises
    ------
    ValueError
        For an unsupported environment, a teacher that cannot be loaded or does not fit
        (:func:`smgrnn_ref.teachers.load_teacher`), a teacher file whose sha256 differs from
        ``cfg.expert_sha256`` (it changed since the run started), or a loss that does not fit.

    Examples
    --------
    >>> cfg, teacher = resolve_teacher(TrainConfig(env_id="Pendulum-v1", steps=10))
    >>> cfg.expert, cfg.expert_output, cfg.loss, len(cfg.expert_sha256)
    (None, 'actions', 'mse', 64)
    >>> resolve_teacher(cfg.replace(loss="kl"))
    Traceback (most recent call last):
    ...
    ValueError: loss 'kl' does not fit teacher Pendulum-v1 (shipped expert), which gives actions for ActionSpace(kind='box', n=1, low=[-2.0], high=[2.0]): use 'mse'
    """
    teacher = load_teacher(cfg.env_id, cfg.expert, cfg.expert_output, info=env_info(cfg.env_id))
    if cfg.expert_sha256 is not None and teacher.sha256 != cfg.expert_sha256:
        raise ValueError(f"teacher {teacher.name} has changed: its sha256 is {teacher.sha256}, the run "
                         f"was configured with {cfg.expert_sha256}")
    return cfg.replace(**teacher.record(), loss=teacher.check_loss(cfg.loss)), teacher


def config_for_env(data: dict | None = None) -> TrainConfig:
    """The config of a run: ``TrainConfig`` defaults < the environment's
    :data:`smgrnn_ref.envs.ENV_DEFAULTS` (none for an environment without a row) < ``data``
    (a possibly partial config dict: a ``--config`` file with the command-line options on
    top), its teacher resolved (:func:`resolve_teacher`). This is what ``smgrnn-ref train``
    and the grids run; a bare ``TrainConfig(env_id=...)`` skips the per-env layer.

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
        For an unsupported environment, an unknown or invalid field, a missing ``steps``
        where the environment has no default, or a teacher that does not fit.

    Examples
    --------
    >>> cfg = config_for_env({"seed": 3, "spm": {"T": 50}})
    >>> cfg.env_id, cfg.seed, cfg.spm.T, cfg.steps == ENV_DEFAULTS["CartPole-v1"]["steps"]
    ('CartPole-v1', 3, 50, True)
    >>> cfg.loss, cfg.expert_output
    ('kl', 'logits')
    """
    data = dict(data or {})
    env_id = data.get("env_id", TrainConfig.env_id)
    if not isinstance(env_id, str) or env_id not in ENV_DEFAULTS:
        check_env(env_id)  # the clear message for an unknown env or unsupported spaces
    cfg = train_config_from_dict(deep_merge(_today_names(ENV_DEFAULTS.get(env_id, {})), _today_names(data)))
    return resolve_teacher(cfg)[0]


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


#: ``SPMConfig`` fields added after run directories were first written, with the value every
#: run written before them had. A file whose ``spm`` section holds every other ``SPMConfig``
#: field was written by :func:`save_config` before these fields existed, so it gets these values,
#: not today's defaults: an old run resumes, or is compared, as it trained (the default window
#: became the gradient's with the growth study, docs/growth.md).
FIELDS_ADDED_LATER = {"variance_test": "paper", "window_signal": "update"}


def _with_fields_added_later(data: dict) -> dict:
    """``data`` with :data:`FIELDS_ADDED_LATER` filled in when its ``spm`` section is a complete
    one from before them (a partial file, written by hand, is left to today's defaults).

    >>> old = {f.name: f.default for f in dataclasses.fields(SPMConfig) if f.name not in FIELDS_ADDED_LATER}
    >>> _with_fields_added_later({"spm": old})["spm"]["window_signal"]
    'update'
    >>> _with_fields_added_later({"spm": {"lambda_edge": 3.0}})
    {'spm': {'lambda_edge': 3.0}}
    """
    spm = data.get("spm")
    earlier = {f.name for f in dataclasses.fields(SPMConfig)} - set(FIELDS_ADDED_LATER)
    if not isinstance(spm, dict) or not earlier <= set(spm):
        return data
    return {**data, "spm": {**FIELDS_ADDED_LATER, **spm}}


def load_config(path) -> TrainConfig:
    """Read a config file written by :func:`save_config` (or a partial one by hand).

    A complete file from before the fields of :data:`FIELDS_ADDED_LATER` gets their values of
    that time (an old run directory keeps training with the paper's update window).

    Raises
    ------
    ValueError
        If the file is missing or malformed (:func:`smgrnn_ref.rundir.read_config_dict`), or a
        field is unknown or invalid.
    """
    return train_config_from_dict(_with_fields_added_later(read_config_dict(path)))


__all__ = [
    "DEFAULT_ENGINE",
    "TrainConfig",
    "train_config_to_dict",
    "train_config_from_dict",
    "config_for_env",
    "resolve_teacher",
    "save_config",
    "read_config_dict",
    "load_config",
]
