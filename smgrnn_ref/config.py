"""Configuration dataclasses: every number the model and the SPM use lives here.

The Structural Plasticity Module (SPM) of SMGrNN (Jia & Zhou, "Self-Motivated Growing
Neural Network for Adaptive Architecture via Local Structural Plasticity",
arXiv 2512.12713) fixes some of its constants; others are left open by the paper and are
**our choices** (see ``docs/paper.md`` and ``docs/choices.md``). Each field's
docstring says which.

Examples
--------
>>> cfg = SPMConfig(lambda_edge=0.5)
>>> cfg.T, cfg.s, cfg.eta_prune, cfg.p_rand  # the paper's values
(100, 30, 0.8, 0.25)
>>> SPMConfig(p_rand=1.5)
Traceback (most recent call last):
...
ValueError: SPMConfig.p_rand must be in [0.0, 1.0], got 1.5
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_range(owner: str, name: str, value, lo=None, hi=None, integer=False):
    """Raise ``ValueError`` naming ``owner.name`` when ``value`` is outside [lo, hi]."""
    if integer and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    if not integer and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    if value != value:  # NaN
        raise ValueError(f"{owner}.{name} must not be NaN")
    if not integer and not _finite(value):  # inf, or an integer too large for a float (10**400)
        raise ValueError(f"{owner}.{name} must be a finite number, got {value!r:.40}")
    if lo is not None and hi is not None and not (lo <= value <= hi):
        raise ValueError(f"{owner}.{name} must be in [{lo}, {hi}], got {value}")
    if lo is not None and hi is None and value < lo:
        raise ValueError(f"{owner}.{name} must be >= {lo}, got {value}")


#: Largest window length ``T`` accepted (a config's or a graph file's): 100 times the paper's
#: value. The fast engine holds ``T x edges`` doubles (80 MB per 1,000 edges at the limit), so a
#: typo such as ``T = 1e12`` is refused here instead of failing mid-run.
MAX_T = 10_000

#: The second test of edge-driven growth (:attr:`SPMConfig.variance_test`): the paper's
#: ``sigma^2 > lambda_edge |mu|``, or our scale-free reading ``sigma > lambda_edge |mu|``.
VARIANCE_TESTS = ("paper", "scale_free")

#: What an edge's window records each step (:attr:`SPMConfig.window_signal`): the applied
#: update ``Delta w`` (the paper's) or the negative loss gradient (ours).
WINDOW_SIGNALS = ("update", "gradient")


@dataclass(frozen=True)
class SPMConfig:
    """Hyper-parameters of the Structural Plasticity Module and of graph evaluation.

    Every field below, with its docstring (paper value or our choice).

    Raises
    ------
    ValueError
        Naming the field, for a value of the wrong type or out of range.
    """

    T: int = 100
    """Window length: each edge keeps its last ``T`` weight updates and each node its last
    ``T`` activations (deque ``maxlen``). **Paper value** (T = 100)."""

    s: int = 30
    """Pruning period: step ``t`` is a pruning step when ``t mod s == 0``, otherwise a
    growth step. **Paper value** (s = 30)."""

    lambda_edge: float = 10.0
    """Instability threshold of edge-driven growth: edge ``k`` is unstable when
    ``|mu_k| < 0.5 sigma_k`` and ``sigma_k^2 > lambda_edge |mu_k|``. **Our choice**, calibrated
    for the default window (``window_signal = "gradient"``) on the random-teacher ladder's
    calibration seeds: docs/growth.md, section "The options' results" (the paper does not give
    it). It has the units of the windowed signal: of a gradient by default (independent of the
    learning rate); of a weight update under ``window_signal = "update"``, where its useful
    scale is tied to ``OptimizerConfig.lr`` with Adam (docs/scales.md; 3.0 was our calibrated
    value for that window, docs/calibration.md)."""

    variance_test: str = "paper"
    """Which second test of edge-driven growth judges a window: ``"paper"``, the paper's
    ``sigma_k^2 > lambda_edge |mu_k|``, or ``"scale_free"``, **our option, not the paper's**:
    ``sigma_k > lambda_edge |mu_k|`` (both sides in the update's units, so ``lambda_edge`` is a
    pure number and the test reads ``|mu_k| / sigma_k < 1 / lambda_edge``: the same at any
    learning rate, and under plain SGD without momentum the same on the gradients as on the
    applied updates). Added to study what drives growth: docs/growth.md, section "A scale-free
    reading of the variance test"."""

    window_signal: str = "gradient"
    """What each edge's window of the last ``T`` values records at every step: ``"gradient"``
    (the default), **our choice, not the paper's**: the negative loss gradient ``-dL/dw_k`` of
    that step, the update plain SGD would apply at learning rate 1, whatever the optimizer
    really applies; or ``"update"``, the applied weight update ``Delta w_{k,t}``, **the paper's
    rule**. Both rules read the window (growth's tests and pruning's ``|mu_k| <= tau_delta``).
    The default since the growth study: under Adam the gradient window makes the grown size
    track the task's difficulty where the paper's does not (docs/growth.md, sections "The tests
    on the gradient under Adam" and "The options' results"). For the paper's rule as the paper
    states it, set ``window_signal="update", lambda_edge=3.0``."""

    tau_w: float = 0.03
    """Pruning magnitude threshold: candidate when ``|w_k| <= tau_w``. **Our choice**,
    calibrated: docs/calibration.md (0.03 keeps more grown relays than 0.1 and improved
    Acrobot-v1 on both the calibration seeds and held-out seeds)."""

    tau_delta: float = 1e-3
    """Pruning stagnation threshold: candidate when ``|mu_k| <= tau_delta``. **Our choice**,
    calibrated: docs/calibration.md."""

    eta_prune: float = 0.8
    """Fraction of the pruning candidates ``W_t`` deleted at a pruning step.
    **Paper value** (0.8)."""

    p_rand: float = 0.25
    """Probability of the Bernoulli trigger ``G_t`` of random exploratory growth.
    **Paper value** (0.25)."""

    rho_rand: float = 0.05
    """Random growth proposes ``m_t = max(floor(rho_rand N_t), 1)`` edges, ``N_t`` the
    number of nodes. **Our choice**, calibrated: docs/calibration.md."""

    init_weight_scale: float = 0.01
    """New edges (relay and random) get weights drawn uniformly from
    ``[-init_weight_scale, init_weight_scale]``; the paper only says ``|w_init| << 1``.
    **Our choice**, calibrated: docs/calibration.md."""

    allow_cycles: bool = False
    """Whether random growth may create directed cycles. **Our choice**, calibrated:
    docs/calibration.md (off: cycles changed no return on CartPole and made growth-only runs several
    times slower; the paper's graph is a general directed graph, evaluation of cycles is ours,
    see ``sweeps``)."""

    sweeps: int = 3
    """``K``: synchronous relaxation sweeps, from zero, inside a cyclic strongly connected
    component during evaluation. **Our choice**."""

    enable_edge_growth: bool = True
    """Edge-driven (relay) growth on/off; off in the ``static`` ablation."""

    enable_random_growth: bool = True
    """Random exploratory growth on/off; off in ``static``."""

    enable_pruning: bool = True
    """Pruning and orphan removal on/off; off in ``growth-only`` and ``static``."""

    def __post_init__(self):
        name = type(self).__name__
        _check_range(name, "T", self.T, 2, MAX_T, integer=True)
        _check_range(name, "s", self.s, 1, None, integer=True)
        _check_range(name, "sweeps", self.sweeps, 1, None, integer=True)
        for f in ("lambda_edge", "tau_w", "tau_delta", "init_weight_scale"):
            _check_range(name, f, getattr(self, f), 0.0, None)
        for f in ("eta_prune", "p_rand", "rho_rand"):
            _check_range(name, f, getattr(self, f), 0.0, 1.0)
        if self.window_signal not in WINDOW_SIGNALS:
            raise ValueError(f"{name}.window_signal must be one of {list(WINDOW_SIGNALS)}, got {self.window_signal!r}")
        if self.variance_test not in VARIANCE_TESTS:
            raise ValueError(f"{name}.variance_test must be one of {list(VARIANCE_TESTS)}, got {self.variance_test!r}")
        for f in ("allow_cycles", "enable_edge_growth", "enable_random_growth", "enable_pruning"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"{name}.{f} must be a bool, got {getattr(self, f)!r}")

    def replace(self, **changes) -> "SPMConfig":
        """A copy with ``changes`` applied (validated again).

        Parameters
        ----------
        **changes
            Field values.

        Returns
        -------
        SPMConfig

        Raises
        ------
        ValueError
            For an invalid value; ``TypeError`` for an unknown field.

        Examples
        --------
        >>> SPMConfig().replace(T=20).T
        20
        """
        return dataclasses.replace(self, **changes)


#: Optimizer names accepted by :class:`OptimizerConfig`.
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class OptimizerConfig:
    """The optimizer of the weights and biases, and its hyper-parameters.

    The paper trains the weights with Adam (``name="adam"``, the default); plain stochastic
    gradient descent with optional momentum (``name="sgd"``) is **our addition**, to study what
    drives growth under an optimizer whose update sizes follow the gradient. Each optimizer
    reads only its own fields (Adam: ``lr``, ``beta1``, ``beta2``, ``eps``; SGD: ``lr``,
    ``momentum``); the others are kept, validated and ignored. The update rules are in
    :mod:`smgrnn_ref.optim`; the per-parameter state lives on the graph's nodes and edges
    (``adam_m``, ``adam_v``, ``adam_t``, whatever the optimizer; see :mod:`smgrnn_ref.optim`
    for what they hold under each).

    ``AdamConfig`` is the former name of this class, kept so that ``AdamConfig(lr=...)`` still
    works (and means Adam).

    Raises
    ------
    ValueError
        Naming the field, for a value of the wrong type or out of range (``beta1``, ``beta2``
        and ``momentum`` must be below 1), or an unknown ``name``.

    Examples
    --------
    >>> OptimizerConfig().name, OptimizerConfig(name="sgd", lr=0.05, momentum=0.9).momentum
    ('adam', 0.9)
    >>> AdamConfig(lr=0.01) == OptimizerConfig(name="adam", lr=0.01)
    True
    >>> OptimizerConfig(name="rmsprop")
    Traceback (most recent call last):
    ...
    ValueError: OptimizerConfig.name must be one of ['adam', 'sgd'], got 'rmsprop'
    """

    name: str = "adam"
    """``"adam"`` (Kingma & Ba, 2015; **the paper's optimizer**) or ``"sgd"`` (plain SGD with
    optional momentum; **our addition**)."""

    lr: float = 0.003
    """Step size (Adam's alpha, SGD's learning rate). **Our choice**, calibrated for Adam:
    docs/calibration.md. Its useful scale depends on the optimizer: an Adam step is about ``lr``
    whatever the gradient, an SGD step is ``lr`` times the gradient."""

    beta1: float = 0.9
    """Adam: decay of the first moment. Textbook Adam value."""

    beta2: float = 0.999
    """Adam: decay of the second moment. Textbook Adam value."""

    eps: float = 1e-8
    """Adam: added to the square root of the second moment. Textbook Adam value."""

    momentum: float = 0.0
    """SGD: momentum ``mu`` in PyTorch's convention (``buf <- mu buf + g``,
    ``Delta = -lr buf``; no dampening, no Nesterov). 0 (PyTorch's default) is plain SGD.
    **Our choice** of convention; must be in ``[0, 1)``."""

    def __post_init__(self):
        name = type(self).__name__
        if self.name not in OPTIMIZERS:
            raise ValueError(f"{name}.name must be one of {list(OPTIMIZERS)}, got {self.name!r}")
        _check_range(name, "lr", self.lr, 0.0, None)
        _check_range(name, "beta1", self.beta1, 0.0, 1.0)
        _check_range(name, "beta2", self.beta2, 0.0, 1.0)
        _check_range(name, "eps", self.eps, 0.0, None)
        _check_range(name, "momentum", self.momentum, 0.0, 1.0)
        if self.beta1 == 1.0 or self.beta2 == 1.0:
            raise ValueError(f"{name}.beta1 and beta2 must be < 1")
        if self.momentum == 1.0:
            raise ValueError(f"{name}.momentum must be < 1")


#: The former name of :class:`OptimizerConfig` (``AdamConfig(lr=...)`` is Adam: ``name``
#: defaults to ``"adam"``).
AdamConfig = OptimizerConfig


@dataclass(frozen=True)
class GraphConfig:
    """How a fresh graph is built and which activations its nodes use.

    Raises
    ------
    ValueError
        Naming the field, for a value of the wrong type or out of range.
    """

    density: float = 0.8
    """Probability of each input -> output edge in the initial graph. **Paper value** (0.8)."""

    init_weight_scale: float = 0.1
    """Initial input -> output weights are uniform in ``[-scale, scale]``. **Our choice**."""

    hidden_activation: str = "tanh"
    """Activation of hidden nodes. **Our choice** (docs/paper.md, section "What the paper leaves
    open")."""

    output_activation: str = "identity"
    """Output nodes are linear: they are logits. **Our choice** (docs/paper.md, section "What the
    paper leaves open")."""

    def __post_init__(self):
        name = type(self).__name__
        _check_range(name, "density", self.density, 0.0, 1.0)
        _check_range(name, "init_weight_scale", self.init_weight_scale, 0.0, None)


def config_to_dict(cfg) -> dict:
    """A plain, JSON-ready dict of a (possibly nested) config dataclass.

    Parameters
    ----------
    cfg : dataclass instance

    Returns
    -------
    dict

    Examples
    --------
    >>> config_to_dict(OptimizerConfig())
    {'name': 'adam', 'lr': 0.003, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08, 'momentum': 0.0}
    """
    return dataclasses.asdict(cfg)


def check_fields(cls, data: dict) -> None:
    """Check that ``data`` is a mapping whose keys are all fields of ``cls``.

    Parameters
    ----------
    cls : dataclass type
    data : dict

    Raises
    ------
    ValueError
        For a non-mapping or an unknown key (listing the known fields).

    Examples
    --------
    >>> check_fields(GraphConfig, {"density": 0.5, "dens": 1})
    Traceback (most recent call last):
    ...
    ValueError: GraphConfig: unknown field(s) ['dens']; known: ['density', 'hidden_activation', 'init_weight_scale', 'output_activation']
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(known)}")


def config_from_dict(cls, data: dict):
    """Build ``cls`` from ``data`` (the inverse of :func:`config_to_dict` for a flat config).

    Parameters
    ----------
    cls : dataclass type
    data : dict

    Returns
    -------
    cls instance

    Raises
    ------
    ValueError
        For an unknown key or an invalid value.

    Examples
    --------
    >>> config_from_dict(OptimizerConfig, {"lr": 0.01}).lr
    0.01
    """
    check_fields(cls, data)
    return cls(**data)


__all__ = ["MAX_T", "VARIANCE_TESTS", "WINDOW_SIGNALS", "SPMConfig", "OPTIMIZERS", "OptimizerConfig", "AdamConfig", "GraphConfig", "config_to_dict",
           "config_from_dict", "check_fields"]
