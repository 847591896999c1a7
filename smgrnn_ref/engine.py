"""The reference engine: one training step and one SPM step on the NetworkX graph.

This is the code to read. Each training step (Jia & Zhou, arXiv 2512.12713, "Method"):

1. forward the minibatch through the graph and compute the distillation loss ``L_t(theta)``;
2. backpropagate (``autograd``) and apply one optimizer step (Adam, the paper's, or SGD:
   :mod:`smgrnn_ref.optim`); every edge records in ``updates`` its applied change
   ``Delta w_{k,t}`` (the paper's window, ``SPMConfig.window_signal = "update"``) or, by
   default (``"gradient"``, our choice), its negative gradient ``-dL/dw_k``, and every hidden /
   output node records the **batch mean**
   of its activation (from the same forward pass, before the update) in ``activations``;
3. the Structural Plasticity Module edits the structure (:func:`smgrnn_ref.spm.spm_step`).

The fast engine (:mod:`smgrnn_ref.fast`) offers the same interface and is checked against this
one.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph
>>> from smgrnn_ref.config import OptimizerConfig, SPMConfig
>>> rng = np.random.default_rng(0)
>>> eng = ReferenceEngine(initial_graph(3, 2, rng=rng), optimizer=OptimizerConfig(lr=0.05), spm=SPMConfig())
>>> X = rng.normal(size=(16, 3)); target = X @ np.array([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0]])
>>> first = eng.train_step(X, target)
>>> last = [eng.train_step(X, target) for _ in range(100)][-1]
>>> bool(last < first)
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import networkx as nx
import numpy as np

from .config import OptimizerConfig, SPMConfig
from .evaluate import check_inputs, compile_plan, forward_params, node_values_params
from .events import Event
from .graph import check_window, validate_graph
from .losses import get_loss, loss_and_grad
from .optim import optimizer_step, resolve_optimizer
from .params import get_params
from .spm import spm_step


@runtime_checkable
class Engine(Protocol):
    """What every engine offers: train one SMGrNN graph, step by step.

    :class:`ReferenceEngine` and :class:`smgrnn_ref.fast.FastEngine` satisfy it (checked by
    ``tests/test_engine.py``, signatures included); :func:`make_engine` builds either, and the
    distillation loop uses nothing else. For the same graph, configuration and random
    generators, both give the same losses, outputs, events and graphs, bit for bit
    (``tests/test_fast.py``).

    Attributes
    ----------
    name : str
        The engine's name in :data:`ENGINES`.
    graph : networkx.DiGraph
        The model with every attribute current (an engine may have to write numbers back on
        read). Edit it by hand only between steps, then call :meth:`invalidate`.
    structure : networkx.DiGraph
        The same graph object, whose nodes and edges are current; its numeric attributes may
        be stale (free to read: for counting nodes and edges).

    Examples
    --------
    >>> from smgrnn_ref.graph import initial_graph
    >>> eng = make_engine("reference", initial_graph(2, 1, rng=np.random.default_rng(0)),
    ...                   optimizer=OptimizerConfig(), spm=SPMConfig())
    >>> isinstance(eng, Engine)
    True
    """

    name: str

    @property
    def graph(self) -> nx.DiGraph: ...

    @property
    def structure(self) -> nx.DiGraph: ...

    def invalidate(self) -> None:
        """Derive any cached state from the graph again (after a hand edit)."""

    def forward(self, X) -> np.ndarray:
        """Outputs ``(batch, n_outputs)`` (the logits) for inputs ``X`` ``(batch, n_inputs)``;
        ``ValueError`` for a bad batch."""

    def train_step(self, X, expert_logits) -> float:
        """One optimizer step on the distillation loss of the minibatch; the windows record the
        batch-mean activations and the applied weight changes. Returns the loss before the
        step; ``ValueError`` for bad input or a non-finite gradient."""

    def spm_step(self, t: int, rng: np.random.Generator, *, on_candidates=None) -> list[Event]:
        """One Structural Plasticity Module step at training step ``t``
        (:func:`smgrnn_ref.spm.spm_step`); returns the events. ``on_candidates``, when given,
        receives a pruning step's candidate set (a :class:`~smgrnn_ref.events.PruneCandidates`)."""


class ReferenceEngine:
    """Trains one SMGrNN graph in place: the graph stays the single source of truth.

    Parameters
    ----------
    G : networkx.DiGraph
        The model (conventions of :mod:`smgrnn_ref.graph`); edited in place.
    optimizer : OptimizerConfig, optional
        The optimizer and its hyper-parameters (default ``OptimizerConfig()``: Adam).
    spm : SPMConfig
        Structural Plasticity Module hyper-parameters (also ``sweeps`` K for cycles).
    loss : {"kl", "mse", "ce"}
        Distillation loss against the expert's logits, or ``"ce"`` against class probabilities.
    adam : OptimizerConfig, optional
        The former name of ``optimizer``, still accepted (give one of the two).

    Raises
    ------
    ValueError
        For an invalid graph, an unknown loss, a graph window ``T`` other than ``spm.T``, or
        ``optimizer`` and ``adam`` both given and different.

    Attributes
    ----------
    optimizer : OptimizerConfig
        Also readable as ``adam`` (the former name).
    """

    name = "reference"

    def __init__(self, G: nx.DiGraph, *, optimizer: OptimizerConfig | None = None, spm: SPMConfig,
                 loss: str = "kl", adam: OptimizerConfig | None = None):
        validate_graph(G)
        get_loss(loss)  # fail early on an unknown loss name
        check_window(G, spm)
        self.optimizer = resolve_optimizer(optimizer, adam)
        self.G, self.spm, self.loss = G, spm, loss
        self._plan = None

    @property
    def adam(self) -> OptimizerConfig:
        """The former name of :attr:`optimizer`."""
        return self.optimizer

    @property
    def graph(self) -> nx.DiGraph:
        """The graph, current after every step."""
        return self.G

    @property
    def structure(self) -> nx.DiGraph:
        """The graph (as :attr:`graph`; the fast engine's ``structure`` skips a sync)."""
        return self.G

    def plan(self):
        """The compiled evaluation plan (:func:`smgrnn_ref.evaluate.compile_plan`), cached
        until the next structural edit.

        Returns
        -------
        smgrnn_ref.evaluate.Plan
        """
        if self._plan is None:
            self._plan = compile_plan(self.G, sweeps=self.spm.sweeps)
        return self._plan

    def invalidate(self) -> None:
        """Forget the compiled plan (call after editing the graph's structure by hand)."""
        self._plan = None

    def forward(self, X) -> np.ndarray:
        """Outputs (the logits) for a batch of inputs.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)

        Returns
        -------
        numpy.ndarray, shape (batch, n_outputs)

        Raises
        ------
        ValueError
            For a batch of the wrong shape, an empty batch or a non-finite value.
        """
        X = check_inputs(self.G, X)
        plan = self.plan()
        return forward_params(get_params(self.G, list(plan.keys)), plan, X)

    def train_step(self, X, expert_logits) -> float:
        """One optimizer step on the minibatch; return the loss before the step.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)
        expert_logits : array_like, shape (batch, n_outputs)
            The expert's logits for ``X`` (the distillation target).

        Returns
        -------
        float
            ``L_t(theta)`` before the update.

        Raises
        ------
        ValueError
            For bad inputs (as :meth:`forward`), targets of the wrong shape, or a non-finite
            gradient (then only the activations are recorded).
        """
        X = check_inputs(self.G, X)
        expert_logits = np.asarray(expert_logits, dtype=float)
        plan = self.plan()
        if expert_logits.shape != (X.shape[0], len(plan.outputs)):
            raise ValueError(f"expert_logits must have shape {(X.shape[0], len(plan.outputs))}, got {expert_logits.shape}")
        keys = list(plan.keys)
        theta = get_params(self.G, keys)
        # L_t(theta) and its gradient by reverse-mode autodiff
        loss, grad = loss_and_grad(theta, plan, X, expert_logits, self.loss)
        # activations of this batch, before the update: the batch mean per node
        values = node_values_params(theta, plan, X)
        for comp in plan.components:
            for step in comp.steps:
                self.G.nodes[step.node]["activations"].append(float(np.mean(values[step.node])))
        # the optimizer step; every edge records Delta w_{k,t} (or -g: SPMConfig.window_signal)
        optimizer_step(self.G, keys, grad, self.optimizer, record=self.spm.window_signal)
        return float(loss)

    def spm_step(self, t: int, rng: np.random.Generator, *, on_candidates=None) -> list[Event]:
        """One Structural Plasticity Module step (pruning when ``t mod s == 0``).

        Parameters
        ----------
        t : int
            The training step (``>= 0``).
        rng : numpy.random.Generator
            Every random decision of the step.
        on_candidates : callable, optional
            Receives a pruning step's candidate set ``W_t`` (:func:`smgrnn_ref.spm.prune`).

        Returns
        -------
        list of events
            What :func:`smgrnn_ref.spm.spm_step` did to the graph.

        Raises
        ------
        ValueError
            As :func:`smgrnn_ref.spm.spm_step`.
        """
        events = spm_step(self.G, t, self.spm, rng, on_candidates=on_candidates)
        if events:
            self.invalidate()
        return events


#: Engine names accepted by :func:`make_engine` (``--engine`` on the command line).
ENGINES = ("reference", "fast")


def make_engine(name: str, G: nx.DiGraph, *, optimizer: OptimizerConfig | None = None, spm: SPMConfig,
                loss: str = "kl", kernel: str | None = None, adam: OptimizerConfig | None = None) -> Engine:
    """Build the engine called ``name`` around ``G``.

    Parameters
    ----------
    name : {"reference", "fast"}
        One of :data:`ENGINES`.
    G : networkx.DiGraph
        The model, trained in place.
    optimizer : OptimizerConfig, optional
        Default ``OptimizerConfig()`` (Adam).
    spm : SPMConfig
    loss : {"kl", "mse"}
    kernel : {None, "auto", "numba", "numpy"}
        The fast engine's kernel (``None``: its default, ``"auto"``). The reference engine has
        none: only ``None`` and ``"auto"`` are accepted with it.
    adam : OptimizerConfig, optional
        The former name of ``optimizer`` (still accepted; give one of the two).

    Returns
    -------
    Engine

    Raises
    ------
    ValueError
        For an unknown engine name, a kernel given to the reference engine, or anything the
        engine's constructor rejects (an invalid graph, an unknown loss or kernel, a window
        length other than ``spm.T``).

    Examples
    --------
    >>> from smgrnn_ref.graph import initial_graph
    >>> G = initial_graph(2, 1, rng=np.random.default_rng(0))
    >>> make_engine("fast", G, optimizer=OptimizerConfig(), spm=SPMConfig(), kernel="numpy").kernel
    'numpy'
    >>> make_engine("reference", G, adam=OptimizerConfig(), spm=SPMConfig(), kernel="numba")
    Traceback (most recent call last):
    ...
    ValueError: kernel='numba' applies to the fast engine only (the reference engine has no kernel)
    """
    if name == "reference":
        if kernel not in (None, "auto"):
            raise ValueError(f"kernel={kernel!r} applies to the fast engine only (the reference engine has no kernel)")
        return ReferenceEngine(G, optimizer=resolve_optimizer(optimizer, adam), spm=spm, loss=loss)
    if name == "fast":
        from .fast import FastEngine

        # no kernel given: the constructor's own default
        options = {} if kernel is None else {"kernel": kernel}
        return FastEngine(G, optimizer=resolve_optimizer(optimizer, adam), spm=spm, loss=loss, **options)
    raise ValueError(f"unknown engine {name!r}; known: {list(ENGINES)}")


__all__ = ["Engine", "ReferenceEngine", "ENGINES", "make_engine"]
