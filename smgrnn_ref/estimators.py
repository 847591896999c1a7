"""scikit-learn estimators that grow an SMGrNN graph on your own data.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via Local
Structural Plasticity", arXiv 2512.12713) trains the weights of a directed graph with a gradient
optimizer while its Structural Plasticity Module (SPM) grows and prunes the structure.
:class:`SMGrNNClassifier` and :class:`SMGrNNRegressor` run that loop on a labelled table
``(X, y)`` behind scikit-learn's estimator API (``fit``, ``partial_fit``, ``predict``,
``score``, ``get_params`` / ``set_params``, pipelines, cross-validation):

1. the model starts from the paper's initial graph: the input and output nodes only, each
   input -> output edge present with probability ``density`` (:func:`smgrnn_ref.graph.initial_graph`);
2. every epoch visits the training rows once in minibatches of ``batch_size`` (shuffled when
   ``shuffle``); each minibatch is **one optimizer step** (Adam) followed by **one SPM step**
   ``spm_step(t)``, with one global step counter ``t = 1, 2, ...`` that continues across
   epochs, ``partial_fit`` calls and warm starts (``n_steps_``), so the SPM's schedule
   (pruning when ``t mod s == 0``) never restarts;
3. the classifier minimises the cross-entropy to the labels (loss ``"ce"``, one-hot targets);
   the regressor the mean squared error to targets standardised with the training mean and
   standard deviation (undone by ``predict``).

Nothing else is done to the data: like :class:`sklearn.neural_network.MLPClassifier`, the
network sees ``X`` as given, so put a :class:`sklearn.preprocessing.StandardScaler` in a
:class:`sklearn.pipeline.Pipeline` in front of it (the variance test of the SPM and the step
size of Adam are not scale-free).

Every :class:`smgrnn_ref.config.SPMConfig` and :class:`smgrnn_ref.config.OptimizerConfig` field
is a constructor parameter of the same name and default (``OptimizerConfig.name`` is called
``optimizer``); ``variant`` switches rules off as the
project's ablations do (:func:`smgrnn_ref.distill.variant_spm`): ``full``, ``static`` (the SPM
off: a linear model on the initial graph), ``growth-only`` (no pruning), ``no-random``
(``p_rand = 0``). Values are checked at ``fit`` (a ``ValueError`` naming the field), never in
``__init__`` (scikit-learn's convention).

Random streams (our choice, as in :mod:`smgrnn_ref.distill`): ``random_state`` seeds one
``numpy.random.SeedSequence`` spawning independent generators ``graph`` (initial weights),
``batch`` (shuffling), ``spm`` (the SPM's draws) and ``split`` (the early-stopping hold-out).

scikit-learn is an optional dependency: ``pip install "smgrnn_ref[sklearn]"``.

Examples
--------
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from smgrnn_ref.datasets import make_playground
>>> X, y = make_playground("gauss", 200, noise=0.0, random_state=0)
>>> clf = make_pipeline(StandardScaler(), SMGrNNClassifier(max_iter=20, random_state=0)).fit(X, y)
>>> float(clf.score(X, y))
1.0
>>> est = clf[-1]
>>> est.n_iter_, est.n_steps_, est.n_features_in_, est.classes_.tolist()
(20, 140, 2, [0, 1])
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import deque
from dataclasses import fields

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as err:  # the core install has no scikit-learn
    raise ImportError(
        "smgrnn_ref.estimators needs scikit-learn: pip install 'smgrnn_ref[sklearn]'"
    ) from err

from .config import AdamConfig, GraphConfig, OptimizerConfig, SPMConfig
from .engine import ENGINES, make_engine
from .evaluate import forward
from .graph import hidden_nodes, initial_graph, n_params
from .losses import softmax_parts

#: Variants an estimator trains (the project's, without ``mlp``: an estimator always starts
#: from the paper's initial graph; use MLPClassifier for a fixed network).
VARIANTS = ("full", "static", "growth-only", "no-random")

#: Independent random streams of a fit, spawned from ``SeedSequence(seed)`` in this order
#: (the order fixes each stream's child seed: never reorder, only append).
STREAMS = ("graph", "batch", "spm", "split")

#: Constructor parameters that are SPMConfig fields / optimizer fields, by name.
SPM_PARAMS = tuple(f.name for f in fields(SPMConfig))
#: Constructor parameter -> OptimizerConfig field: every field keeps its name except ``name``,
#: which is the parameter ``optimizer`` (``"adam"`` or ``"sgd"``; a parameter called ``name``
#: would say nothing). :meth:`_SMGrNNBase._optimizer_config` is the one place that builds it.
OPTIMIZER_FIELDS = {("optimizer" if f.name == "name" else f.name): f.name for f in fields(OptimizerConfig)}
#: The optimizer's constructor parameters.
OPTIMIZER_PARAMS = tuple(OPTIMIZER_FIELDS)

#: Default ``n_iter_no_change`` with ``early_stopping=True`` when none is given
#: (MLPClassifier's default).
EARLY_STOPPING_PATIENCE = 10


def expected_failed_checks(estimator) -> dict:
    """The scikit-learn estimator checks these estimators are expected to fail, with reasons.

    For ``sklearn.utils.estimator_checks.check_estimator(est,
    expected_failed_checks=expected_failed_checks(est))`` and ``parametrize_with_checks``.
    Empty: both estimators pass every check of scikit-learn's suite (docs/estimators.md).

    >>> expected_failed_checks(SMGrNNClassifier())
    {}
    """
    return {}


def _seed_sequence(random_state) -> np.random.SeedSequence:
    """The root SeedSequence of a fit from scikit-learn's ``random_state`` conventions.

    An int seeds it; ``None`` draws fresh entropy; a ``numpy.random.RandomState`` or
    ``Generator`` instance gives one integer draw (so repeated fits differ, as in scikit-learn).
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"random_state must be None, an int >= 0 or a numpy random generator, got {random_state!r}")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(np.iinfo(np.int32).max)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63 - 1)))
    raise ValueError(f"random_state must be None, an int >= 0 or a numpy random generator, got {random_state!r}")


def _spawn_streams(random_state) -> dict:
    """One ``numpy.random.Generator`` per name in :data:`STREAMS`."""
    children = _seed_sequence(random_state).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children)}


def _plain(value):
    """numpy scalars as Python ones (the configs check ``int`` / ``float`` strictly)."""
    return value.item() if isinstance(value, np.generic) else value


def _frozen_copy(G):
    """A copy of ``G`` with its weights, biases and Adam state but empty SPM windows: a light,
    valid graph that :func:`smgrnn_ref.evaluate.forward` can run (a recorded training step)."""
    H = G.copy()  # new attribute dicts; the deques below are replaced, not shared
    T = G.graph["T"]
    for _, d in H.nodes(data=True):
        if "activations" in d:
            d["activations"] = deque(maxlen=T)
    for _, _, d in H.edges(data=True):
        d["updates"] = deque(maxlen=T)
    return H


def _is_kind(value, kind) -> bool:
    """Whether ``value`` is a bool / an integer / a finite number (a bool is only a bool)."""
    is_bool = isinstance(value, (bool, np.bool_))
    if kind is bool:
        return is_bool
    if is_bool:
        return False
    if kind is int:
        return isinstance(value, (int, np.integer))
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def _check(owner, name, value, *, kind, lo=None, hi=None, none=False, open_lo=False, open_hi=False):
    """``ValueError`` naming ``owner.name`` unless ``value`` is of ``kind`` within the bounds
    (``[lo, hi]``, or open at an end with ``open_lo`` / ``open_hi``; ``None`` allowed with ``none``)."""
    if none and value is None:
        return
    ok = _is_kind(value, kind)
    if ok and lo is not None:
        ok = value > lo if open_lo else value >= lo
    if ok and hi is not None:
        ok = value < hi if open_hi else value <= hi
    if ok:
        return
    what = {bool: "a bool", int: "an integer", float: "a finite number"}[kind]
    bounds = ""
    if lo is not None or hi is not None:
        left, right = "(" if open_lo else "[", ")" if open_hi else "]"
        bounds = f" in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
    raise ValueError(f"{owner}.{name} must be {what}{bounds}{' or None' if none else ''}, got {value!r}")


class _SMGrNNBase(BaseEstimator):
    """Shared training loop of :class:`SMGrNNClassifier` and :class:`SMGrNNRegressor`.

    The parameters are documented on the two estimators (and in docs/estimators.md).
    """

    #: The engine loss; set by the subclass.
    _loss = None

    def __init__(
        self,
        *,
        variant="full",
        engine="fast",
        max_iter=200,
        batch_size=32,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        n_iter_no_change=None,
        early_stopping=False,
        validation_fraction=0.1,
        warm_start=False,
        record_every=None,
        max_params=None,
        verbose=False,
        density=GraphConfig.density,
        graph_weight_scale=GraphConfig.init_weight_scale,
        # OptimizerConfig (OPTIMIZER_PARAMS)
        optimizer=OptimizerConfig.name,
        lr=OptimizerConfig.lr,
        beta1=OptimizerConfig.beta1,
        beta2=OptimizerConfig.beta2,
        eps=OptimizerConfig.eps,
        momentum=OptimizerConfig.momentum,
        # SPMConfig (SPM_PARAMS)
        T=SPMConfig.T,
        s=SPMConfig.s,
        lambda_edge=SPMConfig.lambda_edge,
        variance_test=SPMConfig.variance_test,
        window_signal=SPMConfig.window_signal,
        tau_w=SPMConfig.tau_w,
        tau_delta=SPMConfig.tau_delta,
        eta_prune=SPMConfig.eta_prune,
        p_rand=SPMConfig.p_rand,
        rho_rand=SPMConfig.rho_rand,
        init_weight_scale=SPMConfig.init_weight_scale,
        allow_cycles=SPMConfig.allow_cycles,
        sweeps=SPMConfig.sweeps,
        enable_edge_growth=SPMConfig.enable_edge_growth,
        enable_random_growth=SPMConfig.enable_random_growth,
        enable_pruning=SPMConfig.enable_pruning,
    ):
        self.variant = variant
        self.engine = engine
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.warm_start = warm_start
        self.record_every = record_every
        self.max_params = max_params
        self.verbose = verbose
        self.density = density
        self.graph_weight_scale = graph_weight_scale
        self.optimizer = optimizer
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.momentum = momentum
        self.T = T
        self.s = s
        self.lambda_edge = lambda_edge
        self.variance_test = variance_test
        self.window_signal = window_signal
        self.tau_w = tau_w
        self.tau_delta = tau_delta
        self.eta_prune = eta_prune
        self.p_rand = p_rand
        self.rho_rand = rho_rand
        self.init_weight_scale = init_weight_scale
        self.allow_cycles = allow_cycles
        self.sweeps = sweeps
        self.enable_edge_growth = enable_edge_growth
        self.enable_random_growth = enable_random_growth
        self.enable_pruning = enable_pruning

    # --- configuration ------------------------------------------------------------------------

    def _owner(self) -> str:
        return type(self).__name__

    def _optimizer_config(self) -> OptimizerConfig:
        """The optimizer's configuration from the constructor parameters."""
        try:
            return OptimizerConfig(**{field: _plain(getattr(self, p)) for p, field in OPTIMIZER_FIELDS.items()})
        except (ValueError, TypeError) as err:
            raise ValueError(f"{self._owner()}: {err}") from None

    def _spm_config(self) -> SPMConfig:
        """The SPMConfig of the ``full`` variant from the parameters, then ``variant``'s switches."""
        from .distill import variant_spm  # the project's variant semantics

        try:
            spm = SPMConfig(**{f: _plain(getattr(self, f)) for f in SPM_PARAMS})
        except (ValueError, TypeError) as err:
            raise ValueError(f"{self._owner()}: {err}") from None
        return variant_spm(self.variant, spm)

    def _validate_hyperparameters(self):
        """Check every parameter; return ``(spm, optimizer)`` configs. ``ValueError`` otherwise."""
        o = self._owner()
        if self.variant not in VARIANTS:
            raise ValueError(f"{o}.variant must be one of {list(VARIANTS)}, got {self.variant!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"{o}.engine must be one of {list(ENGINES)}, got {self.engine!r}")
        _check(o, "max_iter", self.max_iter, kind=int, lo=1)
        _check(o, "batch_size", self.batch_size, kind=int, lo=1)
        _check(o, "tol", self.tol, kind=float, lo=0.0)
        _check(o, "n_iter_no_change", self.n_iter_no_change, kind=int, lo=1, none=True)
        _check(o, "validation_fraction", self.validation_fraction, kind=float, lo=0.0, hi=1.0,
               open_lo=True, open_hi=True)
        _check(o, "record_every", self.record_every, kind=int, lo=1, none=True)
        _check(o, "max_params", self.max_params, kind=int, lo=1, none=True)
        _check(o, "density", self.density, kind=float, lo=0.0, hi=1.0)
        _check(o, "graph_weight_scale", self.graph_weight_scale, kind=float, lo=0.0)
        for name in ("shuffle", "early_stopping", "warm_start"):
            _check(o, name, getattr(self, name), kind=bool)
        if not isinstance(self.verbose, (bool, np.bool_)):
            _check(o, "verbose", self.verbose, kind=int, lo=0)
        if self.random_state is not None:
            _seed_sequence(copy.deepcopy(self.random_state))  # its type and range, drawing nothing
        return self._spm_config(), self._optimizer_config()

    # --- state --------------------------------------------------------------------------------

    def _new_state(self, n_in: int, n_out: int, spm: SPMConfig, opt) -> None:
        """A fresh initial graph, engine, counters, curves and random streams."""
        self._rng = _spawn_streams(self.random_state)
        G = initial_graph(n_in, n_out, density=float(self.density), rng=self._rng["graph"],
                          weight_scale=float(self.graph_weight_scale), T=spm.T)
        self._engine = make_engine(self.engine, G, adam=opt, spm=spm, loss=self._loss)
        self.graph_ = G  # the live graph (its numbers are current once _set_fitted_attributes ran)
        self.n_steps_ = 0
        self.t_ = 0
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.events_ = []
        self.history_ = []
        self.capped_ = False
        self._no_improvement = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self._record(0)

    def _engine_for(self, spm: SPMConfig, opt):
        """The engine of the fitted graph with the current configs (rebuilt from ``graph_``, which
        holds all the training state, when the configs changed or after unpickling)."""
        eng = getattr(self, "_engine", None)
        if eng is None or eng.spm != spm or eng.adam != opt or eng.name != self.engine:
            eng = make_engine(self.engine, self.graph_, adam=opt, spm=spm, loss=self._loss)
            self._engine = eng
        return eng

    def _predict_engine(self):
        check_is_fitted(self, "graph_")
        eng = getattr(self, "_engine", None)
        if eng is None:  # unpickled: any configs give the same forward pass but sweeps
            spm = SPMConfig(T=self.graph_.graph["T"], sweeps=int(self._sweeps))
            eng = self._engine = make_engine(self.engine, self.graph_, adam=AdamConfig(), spm=spm,
                                             loss=self._loss)
        return eng

    def __getstate__(self):
        state = super().__getstate__()
        # the engine is derived from graph_ (which holds every weight, Adam moment and window);
        # it is rebuilt on first use after unpickling
        state.pop("_engine", None)
        return state

    def _record(self, t: int) -> None:
        """Keep a frozen copy of the graph at step ``t`` when ``record_every`` asks for it."""
        if self.record_every is None:
            return
        if self.history_ and self.history_[-1]["step"] == t:
            self.history_[-1]["epoch"] = int(self.n_iter_)  # recorded mid-epoch, now complete
            return
        self.history_.append({"step": int(t), "epoch": int(self.n_iter_),
                              "graph": _frozen_copy(self._engine.graph)})

    # --- training -----------------------------------------------------------------------------

    def _fit(self, X, y, *, incremental: bool, classes=None):
        spm, opt = self._validate_hyperparameters()
        first = not hasattr(self, "graph_") or not (self.warm_start or incremental)
        X, Y = self._validate_training_data(X, y, first=first, classes=classes)
        if first:
            self._new_state(X.shape[1], Y.shape[1], spm, opt)
        else:
            self._engine_for(spm, opt)
        self._sweeps = spm.sweeps
        early = self.early_stopping and not incremental
        X_val = y_val = None
        if early:
            X, Y, X_val, y_val = self._split_validation(X, Y, y)
        patience = self.n_iter_no_change
        if early and patience is None:
            patience = EARLY_STOPPING_PATIENCE
        best_graph = None
        for _ in range(1 if incremental else self.max_iter):
            epoch_loss = self._run_epoch(X, Y)
            self.n_iter_ += 1
            self.t_ += X.shape[0]
            self.loss_curve_.append(epoch_loss)
            stop = self.capped_
            if early:
                improved = self._update_validation(X_val, y_val)
                if improved:
                    best_graph = copy.deepcopy(self._engine.graph)
            else:
                self._update_no_improvement(epoch_loss)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {epoch_loss:.8f}, "
                      f"hidden nodes = {len(hidden_nodes(self._engine.structure))}")
            if patience is not None and self._no_improvement >= patience and not incremental:
                break
            if stop:
                break
        else:
            if patience is not None and not incremental:
                warnings.warn(f"{self._owner()}: maximum iterations ({self.max_iter}) reached and the "
                              "optimization hasn't converged yet.", ConvergenceWarning)
        self._record(self.n_steps_)
        if best_graph is not None:
            self._engine = make_engine(self.engine, best_graph, adam=opt, spm=spm, loss=self._loss)
        self._set_fitted_attributes()
        return self

    def _run_epoch(self, X, Y) -> float:
        """One pass over the rows: per minibatch one optimizer step, then one SPM step."""
        n, bs = X.shape[0], int(self.batch_size)
        order = self._rng["batch"].permutation(n) if self.shuffle else np.arange(n)
        eng, total = self._engine, 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            t = self.n_steps_ + 1
            try:
                total += eng.train_step(X[idx], Y[idx]) * len(idx)
            except ValueError as err:  # NaN or inf gradients: the step size is too large
                raise ValueError(f"{self._owner()}: training diverged at step {t} ({err}); "
                                 "try a smaller lr") from None
            # the SPM step t, after the optimizer step t (the paper's order)
            self.events_.extend(eng.spm_step(t, self._rng["spm"]))
            self.n_steps_ = t
            if self.record_every is not None and t % self.record_every == 0:
                self._record(t)
            if self.max_params is not None and n_params(eng.structure) > self.max_params:
                self.capped_ = True
                warnings.warn(f"{self._owner()}: the network holds {n_params(eng.structure)} parameters, "
                              f"more than max_params={self.max_params}; training stopped at step {t}")
                n = min(n, start + bs)  # the loss of the rows visited so far
                break
        return total / n

    def _update_no_improvement(self, loss: float) -> None:
        # MLPClassifier's rule: no improvement unless the loss beats the best by more than tol
        if loss > self.best_loss_ - self.tol:
            self._no_improvement += 1
        else:
            self._no_improvement = 0
        self.best_loss_ = min(self.best_loss_, loss)

    def _update_validation(self, X_val, y_val) -> bool:
        score = float(self.score(X_val, y_val))  # accuracy / R^2, as MLPClassifier / MLPRegressor
        self.validation_scores_.append(score)
        improved = score > self.best_validation_score_
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement += 1
        else:
            self._no_improvement = 0
        self.best_validation_score_ = max(self.best_validation_score_, score)
        self.best_loss_ = None
        return improved

    def _split_validation(self, X, Y, y):
        from sklearn.model_selection import train_test_split

        seed = int(self._rng["split"].integers(np.iinfo(np.int32).max))
        stratify = y if self._stratify else None
        try:
            idx_tr, idx_val = train_test_split(np.arange(X.shape[0]), test_size=self.validation_fraction,
                                               random_state=seed, stratify=stratify)
        except ValueError as err:
            raise ValueError(f"{self._owner()}: early_stopping cannot hold out validation_fraction="
                             f"{self.validation_fraction} of {X.shape[0]} rows: {err}") from None
        return X[idx_tr], Y[idx_tr], X[idx_val], y[idx_val]

    def _set_fitted_attributes(self) -> None:
        G = self._engine.graph  # written back from the engine's arrays
        self.graph_ = G
        self.n_hidden_nodes_ = len(hidden_nodes(G))
        self.n_params_ = n_params(G)

    def _outputs(self, X) -> np.ndarray:
        eng = self._predict_engine()
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return eng.forward(X)

    def _staged_outputs(self, X):
        check_is_fitted(self, "graph_")
        if not self.history_:
            raise ValueError(f"{self._owner()} recorded no training steps: fit with record_every set")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        for rec in self.history_:
            yield rec["step"], forward(rec["graph"], X, sweeps=int(self._sweeps))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


def _softmax(Z: np.ndarray) -> np.ndarray:
    # the losses' softmax: numerics.exp / log, the same bits on every machine
    return softmax_parts(Z)[1]


_PARAMETERS_DOC = """
    Parameters
    ----------
    variant : {"full", "static", "growth-only", "no-random"}, default="full"
        Which SPM rules run (the project's ablations): ``full`` all of them; ``static`` none
        (the initial graph, trained: a linear model); ``growth-only`` no pruning;
        ``no-random`` no random exploratory growth (``p_rand = 0``).
    engine : {"fast", "reference"}, default="fast"
        The training engine: the fast array engine or the readable NetworkX one (same results
        up to rounding).
    max_iter : int, default=200
        Epochs (passes over the training rows) of ``fit``; ``partial_fit`` runs one.
    batch_size : int, default=32
        Rows per minibatch (the last one of an epoch may be smaller). Each minibatch is one
        optimizer step and one SPM step.
    shuffle : bool, default=True
        Shuffle the rows every epoch (``batch`` stream).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        Seeds the fit's random streams (module docstring); an int makes ``fit`` reproducible.
    tol : float, default=1e-4
        Improvement below which an epoch counts as "no improvement" (training loss, or
        validation score with ``early_stopping``), as in MLPClassifier.
    n_iter_no_change : int or None, default=None
        Stop after this many epochs without improvement. ``None`` trains all ``max_iter``
        epochs (the SPM grows when the loss plateaus, so stopping at the first plateau would
        stop it from growing); with ``early_stopping`` ``None`` means 10.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for the classifier), score
        them after every epoch, stop after ``n_iter_no_change`` epochs without improvement and
        keep the graph of the best epoch. Not used by ``partial_fit``.
    validation_fraction : float, default=0.1
        Share of the rows held out by ``early_stopping``.
    warm_start : bool, default=False
        ``fit`` continues from the fitted graph (weights, Adam state, windows, step counter,
        random streams) instead of starting again from an initial graph.
    record_every : int or None, default=None
        Keep a frozen copy of the graph (weights, no windows) at step 0, every
        ``record_every`` steps and at the end of each fit, in ``history_``, for
        ``staged_*`` predictions and :mod:`smgrnn_ref.viz_boundary` pictures. ``None`` (the
        default) records nothing, so a normal fit stays fast.
    max_params : int or None, default=None
        Stop training (with a warning, ``capped_ = True``) after the first step at which the
        network holds more parameters than this: a guard for settings that grow without
        bound. ``None`` never stops.
    verbose : bool or int, default=False
        Print the loss and the number of hidden nodes after every epoch.
    density : float, default=0.8
        Probability of each input -> output edge of the initial graph (the paper's 0.8;
        ``GraphConfig.density``).
    graph_weight_scale : float, default=0.1
        Initial input -> output weights are uniform in ``[-graph_weight_scale,
        graph_weight_scale]`` (``GraphConfig.init_weight_scale``).
    optimizer : {"adam", "sgd"}, default="adam"
        The weight optimizer (``OptimizerConfig.name``): Adam, the paper's, or plain SGD with
        optional momentum (ours, for studying what drives growth).
    lr, beta1, beta2, eps, momentum : float
        Step size; Adam's moment decays and epsilon; SGD's momentum (``OptimizerConfig``;
        defaults 0.003, 0.9, 0.999, 1e-8, 0.0). Fields of the other optimizer are ignored.
    T, s, lambda_edge, variance_test, window_signal, tau_w, tau_delta, eta_prune, p_rand, rho_rand, init_weight_scale, \
allow_cycles, sweeps, enable_edge_growth, enable_random_growth, enable_pruning
        The Structural Plasticity Module's fields (``SPMConfig``, same defaults: window
        ``T=100``, pruning period ``s=30``, instability threshold ``lambda_edge=10.0`` with the
        paper's test ``variance_test="paper"`` (``"scale_free"``: our option) on windows of the
        negative loss gradient ``window_signal="gradient"`` (our choice; the paper's rule, the
        applied updates, is ``window_signal="update", lambda_edge=3.0``), pruning
        thresholds ``tau_w=0.03`` and ``tau_delta=1e-3``, ``eta_prune=0.8``, random growth
        ``p_rand=0.25`` and ``rho_rand=0.05``, new-edge weights ``init_weight_scale=0.01``,
        ``allow_cycles=False``, ``sweeps=3``, all three rules on). ``variant`` switches rules
        off on top of these.
"""

_ATTRIBUTES_DOC = """
    graph_ : networkx.DiGraph
        The trained SMGrNN graph (conventions of :mod:`smgrnn_ref.graph`); read-only (save it
        with :func:`smgrnn_ref.io.save_graph`).
    n_hidden_nodes_ : int
        Hidden nodes of ``graph_``.
    n_params_ : int
        Trainable parameters of ``graph_`` (edge weights and node biases).
    loss_curve_ : list of float
        Mean training loss of every epoch (over its minibatches, weighted by their rows).
    best_loss_ : float or None
        Lowest ``loss_curve_`` value (``None`` with early stopping, as MLPClassifier).
    validation_scores_ : list of float or None
        Validation score after every epoch with early stopping, else ``None``.
    best_validation_score_ : float or None
        Best of ``validation_scores_`` (its graph is the one kept), else ``None``.
    events_ : list of smgrnn_ref.events.Event
        Every structural edit of the SPM, in order (each carries its step).
    n_iter_ : int
        Epochs run (over all fits of a warm start and all ``partial_fit`` calls).
    n_steps_ : int
        The global step counter ``t``: optimizer steps = SPM steps run so far.
    t_ : int
        Training rows seen (MLPClassifier's ``t_``).
    history_ : list of dict
        With ``record_every``: ``{"step", "epoch", "graph"}`` records (the graph after step
        ``step``, frozen: weights, no windows; ``epoch`` counts the epochs completed by then),
        else empty.
    capped_ : bool
        Whether ``max_params`` stopped training.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : numpy.ndarray of str
        Column names, when ``X`` had string column names (a pandas DataFrame).
"""


class SMGrNNClassifier(ClassifierMixin, _SMGrNNBase):
    __doc__ = """A growing SMGrNN network as a scikit-learn classifier (cross-entropy to the labels).

    One output node (a logit) per class; ``predict_proba`` is their softmax.
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    classes_ : numpy.ndarray
        The class labels (sorted; from the first ``fit`` or ``partial_fit``'s ``classes``).
    n_outputs_ : int
        Output nodes: one per class.""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-2.0, 0.0], [-1.0, 0.5], [1.0, -0.5], [2.0, 0.0]])
    >>> y = np.array(["no", "no", "yes", "yes"])
    >>> clf = SMGrNNClassifier(max_iter=300, lr=0.05, random_state=0).fit(X, y)
    >>> clf.predict([[-3.0, 0.0], [3.0, 0.0]]).tolist()
    ['no', 'yes']
    >>> clf.predict_proba([[0.0, 0.0]]).shape, clf.decision_function([[0.0, 0.0]]).shape
    ((1, 2), (1,))
    """

    _loss = "ce"
    _stratify = True

    def _validate_training_data(self, X, y, *, first, classes=None):
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            found = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(found) < 2:
                raise ValueError(f"{self._owner()} needs at least 2 classes in y; got {len(found)} class "
                                 f"({found.tolist()})")
            self.classes_ = found
            self.n_outputs_ = len(found)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"{self._owner()}: y holds labels {unknown.tolist()} not in classes_ "
                             f"{self.classes_.tolist()} (warm_start and partial_fit keep the first classes)")
        # one-hot rows: the "ce" loss's class probabilities
        Y = np.zeros((len(y), len(self.classes_)))
        Y[np.arange(len(y)), np.searchsorted(self.classes_, y)] = 1.0
        return X, Y

    def fit(self, X, y):
        """Train on ``(X, y)`` for ``max_iter`` epochs (from scratch unless ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dense, finite numbers (sparse matrices are refused).
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For bad hyper-parameters, NaN / inf / sparse / mis-shaped ``X``, a single class,
            or a diverging run.
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)``, continuing the fitted model (the step counter goes on).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like, optional
            All the labels the model will see; required on the first call.

        Returns
        -------
        self
        """
        if not hasattr(self, "graph_") and classes is None:
            raise ValueError(f"{self._owner()}.partial_fit needs classes on its first call")
        if hasattr(self, "graph_") and classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"{self._owner()}.partial_fit: classes {list(classes)} differ from the "
                             f"first call's {self.classes_.tolist()}")
        return self._fit(X, y, incremental=True, classes=classes)

    def decision_function(self, X):
        """The logits, shape (n_samples, n_classes); for two classes the log-odds of
        ``classes_[1]``, shape (n_samples,)."""
        Z = self._outputs(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X):
        """Class probabilities, the softmax of the logits, shape (n_samples, n_classes)."""
        return _softmax(self._outputs(X))

    def predict_log_proba(self, X):
        """``log predict_proba(X)``."""
        return softmax_parts(self._outputs(X))[0]

    def predict(self, X):
        """The most probable class of every row."""
        Z = self._outputs(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(Z, axis=1)]

    def staged_predict_proba(self, X):
        """Yield ``(step, predict_proba(X))`` for every graph recorded in ``history_``."""
        for step, Z in self._staged_outputs(X):
            yield step, _softmax(Z)

    def staged_predict(self, X):
        """Yield ``(step, predict(X))`` for every graph recorded in ``history_``."""
        for step, Z in self._staged_outputs(X):
            yield step, self.classes_[np.argmax(Z, axis=1)]


class SMGrNNRegressor(RegressorMixin, _SMGrNNBase):
    __doc__ = """A growing SMGrNN network as a scikit-learn regressor (MSE on standardised targets).

    One linear output node per target column. The targets are standardised with the mean and
    standard deviation of the first fit's ``y`` (a constant column is divided by 1) and
    ``predict`` undoes it.
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    n_outputs_ : int
        Output nodes: one per target column.""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 40)[:, None]

    With one input and one output, the initial graph's only edge is missing with probability
    ``1 - density``; ``density=1.0`` keeps it:

    >>> reg = SMGrNNRegressor(max_iter=200, lr=0.02, variant="static", density=1.0, random_state=0)
    >>> reg = reg.fit(X, 3 * X[:, 0] + 1)
    >>> bool(reg.score(X, 3 * X[:, 0] + 1) > 0.99), reg.predict([[0.0]]).shape
    (True, (1,))
    """

    _loss = "mse"
    _stratify = False

    def _validate_training_data(self, X, y, *, first, classes=None):
        X, y = validate_data(self, X, y, reset=first, dtype=np.float64, multi_output=True, y_numeric=True)
        Y = y.reshape(len(y), -1)
        if first:
            self.n_outputs_ = Y.shape[1]
            self._y_1d = y.ndim == 1
            self._y_mean = Y.mean(axis=0)
            scale = Y.std(axis=0)
            self._y_scale = np.where(scale > 0, scale, 1.0)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"{self._owner()}: y has {Y.shape[1]} target column(s), the fitted model "
                             f"{self.n_outputs_}")
        return X, (Y - self._y_mean) / self._y_scale

    def fit(self, X, y):
        """Train on ``(X, y)`` for ``max_iter`` epochs (from scratch unless ``warm_start``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One epoch over ``(X, y)``, continuing the fitted model (the step counter goes on)."""
        return self._fit(X, y, incremental=True)

    def _unscale(self, Z):
        Y = Z * self._y_scale + self._y_mean
        return Y[:, 0] if self._y_1d else Y

    def predict(self, X):
        """Predicted targets, in the units of ``y``."""
        return self._unscale(self._outputs(X))

    def staged_predict(self, X):
        """Yield ``(step, predict(X))`` for every graph recorded in ``history_``."""
        for step, Z in self._staged_outputs(X):
            yield step, self._unscale(Z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["SMGrNNClassifier", "SMGrNNRegressor", "VARIANTS", "STREAMS", "SPM_PARAMS",
           "OPTIMIZER_PARAMS", "OPTIMIZER_FIELDS", "expected_failed_checks"]
