"""Offline distillation of a random teacher: the teacher-width ladder's training loop.

No environment: a student (an SMGrNN graph, or a fixed MLP) learns a random tanh teacher's
logits (:mod:`smgrnn_ref.growth.teachers`) on inputs drawn fresh at every step. The engines and
the SPM are the project's own (:func:`smgrnn_ref.engine.make_engine`, ``engine.spm_step``), so
a run here trains exactly as a distillation run does, with a data stream instead of an
environment. The protocol (every value **our choice**, docs/growth.md):

* at every step ``t = 1..steps``: ``batch_size`` fresh inputs ``x ~ N(0, I_d)`` from the run's
  ``data`` stream, labelled by the teacher; one optimizer step on the distillation loss
  (``loss``, default ``"kl"``, as the Gym runs), then one SPM step ``spm_step(t)``; the loss of
  every step (before its update) is kept;
* every ``eval_every`` steps and at the end: the loss on a fixed test set of ``test_size``
  inputs (the ``test`` stream, never trained on) and the network's size;
* ``growth-only`` stops after the first step over ``max_params`` parameters (a capped run);
* variants as in the project (:func:`smgrnn_ref.distill.variant_spm`): ``full``, ``static``
  (SPM off), ``growth-only`` (no pruning), ``no-random``, and ``mlp`` (a fixed layered tanh
  graph of ``mlp_hidden``, SPM off: also the capacity probe, :func:`capacity_needed`).

Streams (spawned from ``SeedSequence(seed)`` in :data:`STREAMS` order): the inputs and the
initial graph of seed ``s`` are the same on every rung and for every variant (common random
numbers: variants and rungs are compared on the same data); only the teacher differs by rung.

Relay births are recorded with the window of the parent edge as the SPM judged it
(:func:`smgrnn_ref.growth.births.birth_record`), and up to ``controls`` births per run get a
**matched control**: the run is forked just after the birth into two copies, one without the
new relay, both trained for ``control_steps`` further steps on the same batches with the
structure frozen (SPM off), and their test losses compared (:func:`relay_control`).

Examples
--------
>>> cfg = OfflineConfig(width=2, seed=0, variant="static", steps=20, eval_every=10, test_size=64)
>>> r = run_offline(cfg)
>>> r["final"]["hidden_nodes"], r["final"]["steps_run"], len(r["curve"])
(0, 20, 3)
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..config import GraphConfig, OptimizerConfig, SPMConfig, check_fields, config_from_dict, config_to_dict
from ..distill.variants import variant_spm
from ..engine import ENGINES, make_engine
from ..events import RelayInserted
from ..graph import hidden_nodes, initial_graph, layered_graph, n_params
from ..losses import LOSSES, get_loss
from .births import birth_record, final_fates, finish_birth_records, track_fate
from .teachers import TeacherSpec, make_teacher

#: Independent random streams of a run, spawned from ``SeedSequence(seed)`` in this order
#: (never reorder, only append).
STREAMS = ("graph", "data", "spm", "test")

#: Variants of an offline run (the project's, :data:`smgrnn_ref.distill.VARIANTS`).
VARIANTS = ("full", "static", "growth-only", "no-random", "mlp")

#: First word of the SeedSequence of a control fork's batches (with the seed and the step).
CONTROL_KEY = 14_002


@dataclass(frozen=True)
class OfflineConfig:
    """One offline run: the teacher rung, the student and the protocol (all **our choices**)."""

    width: int
    """Teacher width: the rung of the ladder (0: a linear teacher)."""

    seed: int = 0
    """Root seed of the student's streams and index of the teacher drawn for the rung."""

    variant: str = "full"
    """One of :data:`VARIANTS`."""

    steps: int = 6000
    """Optimizer (and SPM) steps."""

    batch_size: int = 64
    """Fresh inputs per step."""

    test_size: int = 4096
    """Fixed test inputs (never trained on)."""

    eval_every: int = 250
    """Test loss and size every ``eval_every`` steps (and at the last step)."""

    loss: str = "kl"
    """Distillation loss on the teacher's logits (``"kl"`` or ``"mse"``)."""

    engine: str = "fast"
    """``"fast"`` or ``"reference"``."""

    mlp_hidden: tuple[int, ...] = (16, 16)
    """Hidden layers of the ``mlp`` variant (one layer ``(w,)`` for the capacity probe)."""

    max_params: int | None = 20_000
    """Stop after the first step over this many parameters (``None``: never)."""

    controls: int = 0
    """Births per run that get a matched control fork (:func:`relay_control`)."""

    control_steps: int = 500
    """Steps each control fork trains, and the least spacing of controlled births."""

    teacher: dict = field(default_factory=dict)
    """Other :class:`~smgrnn_ref.growth.teachers.TeacherSpec` fields (``n_inputs``, ``gain``...)."""

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    """The optimizer of the weights (:class:`smgrnn_ref.config.OptimizerConfig`: Adam or SGD)."""

    spm: SPMConfig = field(default_factory=SPMConfig)
    """The ``full`` variant's SPM; the others derive theirs (:func:`~smgrnn_ref.distill.variant_spm`)."""

    graph: GraphConfig = field(default_factory=GraphConfig)
    """How the initial input/output graph is drawn."""

    def __post_init__(self):
        name = type(self).__name__
        TeacherSpec(width=self.width, **self.teacher)  # the teacher's own checks
        if self.variant not in VARIANTS:
            raise ValueError(f"{name}.variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        for f in ("seed", "steps", "batch_size", "test_size", "eval_every", "controls", "control_steps"):
            v = getattr(self, f)
            lo = 0 if f in ("seed", "controls") else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name}.{f} must be an integer >= {lo}, got {v!r}")
        if self.loss not in LOSSES or self.loss == "ce":
            raise ValueError(f"{name}.loss must be 'kl' or 'mse', got {self.loss!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"{name}.engine must be one of {list(ENGINES)}, got {self.engine!r}")
        if self.max_params is not None and (isinstance(self.max_params, bool) or not isinstance(self.max_params, int)
                                            or self.max_params < 1):
            raise ValueError(f"{name}.max_params must be an integer >= 1 or None, got {self.max_params!r}")
        object.__setattr__(self, "mlp_hidden", tuple(self.mlp_hidden))
        if not self.mlp_hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.mlp_hidden):
            raise ValueError(f"{name}.mlp_hidden must be a non-empty sequence of integers >= 1, got {self.mlp_hidden!r}")

    def replace(self, **changes) -> "OfflineConfig":
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


_NESTED = {"optimizer": OptimizerConfig, "spm": SPMConfig, "graph": GraphConfig}


def offline_config_to_dict(cfg: OfflineConfig) -> dict:
    """A JSON-ready dict of ``cfg``.

    >>> d = offline_config_to_dict(OfflineConfig(width=4))
    >>> d["width"], d["mlp_hidden"], d["spm"]["T"]
    (4, [16, 16], 100)
    """
    d = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    for key in _NESTED:
        d[key] = config_to_dict(d[key])
    d["mlp_hidden"], d["teacher"] = list(cfg.mlp_hidden), dict(cfg.teacher)
    return d


def offline_config_from_dict(data: dict) -> OfflineConfig:
    """The inverse of :func:`offline_config_to_dict`; nested configs may be partial.

    Raises
    ------
    ValueError
        For an unknown field or an invalid value.

    >>> offline_config_from_dict({"width": 2, "spm": {"lambda_edge": 1.0}}).spm.lambda_edge
    1.0
    """
    check_fields(OfflineConfig, data)
    kw = dict(data)
    for key, cls in _NESTED.items():
        if key in kw:
            kw[key] = config_from_dict(cls, dict(kw[key]))
    return OfflineConfig(**kw)


def spawn_streams(seed: int) -> dict:
    """One ``numpy.random.Generator`` per name of :data:`STREAMS`."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, children)}


def build_student(cfg: OfflineConfig, rng: np.random.Generator):
    """The starting graph: the paper's input/output graph, or the layered MLP (``mlp``)."""
    spec = TeacherSpec(width=cfg.width, **cfg.teacher)
    if cfg.variant == "mlp":
        return layered_graph(spec.n_inputs, list(cfg.mlp_hidden), spec.n_outputs, rng=rng, T=cfg.spm.T,
                             hidden_activation=cfg.graph.hidden_activation)
    return initial_graph(spec.n_inputs, spec.n_outputs, density=cfg.graph.density, rng=rng,
                         weight_scale=cfg.graph.init_weight_scale, T=cfg.spm.T,
                         output_activation=cfg.graph.output_activation)


def new_engine(cfg: OfflineConfig, G, spm: SPMConfig):
    """An engine of ``cfg.engine`` around ``G`` with ``cfg``'s optimizer and loss."""
    return make_engine(cfg.engine, G, optimizer=cfg.optimizer, spm=spm, loss=cfg.loss)


def test_loss(engine, X, Y, loss: str) -> float:
    """The loss of the student on ``(X, Y)`` (no update)."""
    return float(get_loss(loss)(engine.forward(X), Y))


def _size(G) -> dict:
    return {"hidden_nodes": len(hidden_nodes(G)), "edges": G.number_of_edges(), "params": n_params(G)}


def relay_control(cfg: OfflineConfig, engine, teacher, event: RelayInserted, X_test, Y_test) -> dict:
    """The matched control of one relay birth: the same network with and without the relay.

    Just after the SPM step that inserted ``event.node``, the graph is copied twice; the
    relay (its node and two edges) is removed from one copy. Both copies are trained for
    ``control_steps`` steps on the same batches (``SeedSequence([CONTROL_KEY, seed, step])``)
    with the structure frozen (every SPM rule off), and their test losses compared::

        effect = L_test(with relay) - L_test(without relay)     (< 0: the relay helped)

    Returns
    -------
    dict
        ``step``, ``node``, ``test_loss_at_birth``, ``with_relay``, ``without_relay``, ``effect``.
    """
    frozen = variant_spm("static", cfg.spm)
    G_with = copy.deepcopy(engine.graph)
    G_without = copy.deepcopy(G_with)
    G_without.remove_node(event.node)
    arms = {"with_relay": new_engine(cfg, G_with, frozen), "without_relay": new_engine(cfg, G_without, frozen)}
    start = test_loss(arms["with_relay"], X_test, Y_test, cfg.loss)
    out = {"step": event.step, "node": event.node, "test_loss_at_birth": start}
    d = TeacherSpec(width=cfg.width, **cfg.teacher).n_inputs
    for name, eng in arms.items():
        rng = np.random.default_rng(np.random.SeedSequence([CONTROL_KEY, cfg.seed, event.step]))
        for _ in range(cfg.control_steps):
            X = rng.normal(size=(cfg.batch_size, d))
            eng.train_step(X, teacher(X))
        out[name] = test_loss(eng, X_test, Y_test, cfg.loss)
    out["effect"] = out["with_relay"] - out["without_relay"]
    return out


def run_offline(cfg: OfflineConfig, *, keep_losses: bool = False) -> dict:
    """Train one student on one teacher (the protocol of the module docstring).

    Parameters
    ----------
    cfg : OfflineConfig
    keep_losses : bool
        Also return every step's training loss (``"losses"``, a float list).

    Returns
    -------
    dict
        ``config``; ``final`` (size, test loss, mean training loss of the last 10% of steps,
        ``steps_run``, ``capped``, ``wall_time``); ``curve`` (test loss and size at every
        evaluation); ``births`` (one record per relay with its fate, :mod:`smgrnn_ref.growth.births`);
        ``controls`` (:func:`relay_control`); ``events`` (counts by kind).
    """
    t0 = time.perf_counter()
    teacher = make_teacher(cfg.width, cfg.seed, **cfg.teacher)
    rng = spawn_streams(cfg.seed)
    d = teacher.spec.n_inputs
    X_test = rng["test"].normal(size=(cfg.test_size, d))
    Y_test = teacher(X_test)
    spm = variant_spm("mlp" if cfg.variant == "mlp" else cfg.variant, cfg.spm)
    engine = new_engine(cfg, build_student(cfg, rng["graph"]), spm)
    losses = np.full(cfg.steps, np.nan)
    curve, births, controls, counts, by_node = [], [], [], {}, {}
    curve.append({"step": 0, "test_loss": test_loss(engine, X_test, Y_test, cfg.loss), **_size(engine.structure)})
    last_control, capped, t = -cfg.control_steps, False, 0
    for t in range(1, cfg.steps + 1):
        X = rng["data"].normal(size=(cfg.batch_size, d))
        losses[t - 1] = engine.train_step(X, teacher(X))
        events = engine.spm_step(t, rng["spm"])
        for ev in events:
            counts[ev.kind] = counts.get(ev.kind, 0) + 1
            track_fate(by_node, ev)
            if isinstance(ev, RelayInserted):
                # the event carries the parent edge's window as the SPM judged it
                births.append(birth_record(ev, ev.window, spm.lambda_edge, spm.variance_test))
                by_node[ev.node] = births[-1]
                if (len(controls) < cfg.controls and t - last_control >= cfg.control_steps
                        and t + cfg.control_steps <= cfg.steps):
                    controls.append(relay_control(cfg, engine, teacher, ev, X_test, Y_test))
                    last_control = t
        capped = cfg.max_params is not None and n_params(engine.structure) > cfg.max_params
        if t % cfg.eval_every == 0 or t == cfg.steps or capped:
            curve.append({"step": t, "test_loss": test_loss(engine, X_test, Y_test, cfg.loss), **_size(engine.structure)})
        if capped:
            break
    ran = losses[:t]
    late = ran[int(0.9 * t):]
    finish_birth_records(births, ran)
    final_fates(by_node, engine.graph)
    out = {
        "config": offline_config_to_dict(cfg),
        "final": {**_size(engine.structure), "test_loss": curve[-1]["test_loss"],
                  "train_loss_late": float(np.mean(late)) if late.size else float("nan"),
                  "steps_run": t, "capped": bool(capped), "wall_time": round(time.perf_counter() - t0, 3)},
        "curve": curve, "births": births, "controls": controls, "events": counts,
    }
    if keep_losses:
        out["losses"] = ran.tolist()
    return out


__all__ = ["STREAMS", "VARIANTS", "CONTROL_KEY", "OfflineConfig", "offline_config_to_dict",
           "offline_config_from_dict", "spawn_streams", "build_student", "new_engine", "test_loss", "relay_control", "run_offline"]
