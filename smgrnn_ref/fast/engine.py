"""The fast engine: the public surface, the training and SPM steps, the lazy sync to the graph.

Invariant kept: **the graph is the source of truth of the structure, the arrays of the
numbers**. Every structural edit happens on the graph (by the reference SPM rules) and the
layout then follows it (:meth:`FastEngine._absorb`); between syncs the arrays are ahead of
the graph's numeric attributes, and reading :attr:`FastEngine.graph` writes them back, so the
graph then equals the one the reference engine would hold after the same steps.

Where the rest lives: :mod:`~smgrnn_ref.fast.compiler` (node order, blocks, parameter index),
:mod:`~smgrnn_ref.fast.edits` (in-place structure edits), :mod:`~smgrnn_ref.fast.state`
(parameters, optimizer state, windows), :mod:`~smgrnn_ref.fast.kernel_numba` /
:mod:`~smgrnn_ref.fast.kernel_numpy` (the passes), :mod:`~smgrnn_ref.fast.loss`,
:mod:`~smgrnn_ref.fast.decisions` and :mod:`~smgrnn_ref.fast.validity` (the SPM's decisions).
"""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np

from .. import spm as reference_spm
from ..config import OptimizerConfig, SPMConfig
from ..evaluate import check_batch
from ..events import EdgeAdded, EdgePruned, NodeRemoved, RelayInserted
from ..graph import check_window, validate_graph
from ..losses import get_loss
from ..optim import resolve_optimizer
from . import edits
from .compiler import compile_layout
from .decisions import prune_candidate_columns, unstable_columns, window
from .kernel import make_kernel
from .loss import loss_and_logit_grad
from .state import NumericState
from .validity import RankedValidity


class FastEngine:
    """Trains one SMGrNN graph with array arithmetic; same interface and results as
    :class:`smgrnn_ref.engine.ReferenceEngine`.

    Parameters
    ----------
    G : networkx.DiGraph
        The model (conventions of :mod:`smgrnn_ref.graph`); its structure is edited in place,
        its numeric attributes are written back lazily (see :attr:`graph`).
    optimizer : OptimizerConfig, optional
        The optimizer and its hyper-parameters (default ``OptimizerConfig()``: Adam).
    spm : SPMConfig
        Structural Plasticity Module hyper-parameters (also ``sweeps`` K for cycles).
    loss : {"kl", "ce", "mse"}
        Distillation loss against the expert's logits.
    kernel : {"auto", "numba", "numpy"}
        How the forward and backward passes run: ``"numba"`` a compiled loop over the nodes
        (cost independent of the graph's depth; needs numba), ``"numpy"`` numpy element-wise
        operations one level and source rank at a time, ``"auto"`` (default) numba when it
        can be imported, else numpy. Both give the same bits (the reference engine's). The
        resolved name is :attr:`kernel`.
    adam : OptimizerConfig, optional
        The former name of ``optimizer``, still accepted so that code written before SGD
        existed keeps working (give one of the two).

    Raises
    ------
    ValueError
        For an invalid graph, an unknown loss, or a graph window ``T`` that differs from
        ``spm.T`` (the reference engine's checks and messages), an unknown ``kernel``, or
        ``optimizer`` and ``adam`` both given and different.
    ImportError
        For ``kernel="numba"`` when numba cannot be imported.

    Attributes
    ----------
    optimizer : OptimizerConfig
        Also readable as ``adam`` (the former name).
    kernel : str
        The kernel in use: ``"numba"`` or ``"numpy"``.
    layout : smgrnn_ref.fast.compiler.Layout
        Where every node and parameter lives in the arrays (read-only; for tests and tools).
    state : smgrnn_ref.fast.state.NumericState
        The parameters, optimizer state and windows (read-only; for tests and tools).
    passes : smgrnn_ref.fast.kernel.Kernel
        The kernel object (``passes.forward`` / ``passes.backward``: for benchmarks).
    edit_counts : collections.Counter
        How the SPM's edits were absorbed: ``"compile"`` (full re-derivations), ``"splice"``
        (relays spliced in), ``"splice declined"``, ``"append"``, ``"delete"``.
    """

    name = "fast"

    #: Splice relay nodes into the node order when that gives exactly what a full compile
    #: would (:func:`smgrnn_ref.fast.edits.splice_relays`); ``False`` always compiles (a test
    #: switch: the two must train identically).
    incremental_relays = True

    def __init__(self, G: nx.DiGraph, *, optimizer: OptimizerConfig | None = None, spm: SPMConfig,
                 loss: str = "kl", kernel: str = "auto", adam: OptimizerConfig | None = None):
        validate_graph(G)
        get_loss(loss)  # fail early on an unknown loss name
        self.optimizer = resolve_optimizer(optimizer, adam)
        self.passes = make_kernel(kernel, spm.sweeps)
        self.kernel = self.passes.name
        check_window(G, spm)
        self._G, self.spm, self.loss = G, spm, loss
        self.edit_counts = Counter()
        self.state = NumericState(spm.T, self.optimizer)
        self.layout = None
        self._load_from_graph()

    @property
    def adam(self) -> OptimizerConfig:
        """The former name of :attr:`optimizer`."""
        return self.optimizer

    # --- the graph ------------------------------------------------------------------------

    @property
    def graph(self) -> nx.DiGraph:
        """The graph with every attribute current (written back from the arrays on read).

        The first read after training steps costs ``O(T (N + E))``; later reads are free until
        the next step. Call :meth:`invalidate` after editing the returned graph by hand.
        """
        if self._dirty:
            self.state.write_back(self._G, self.layout)
            self._dirty = False
        return self._G

    #: Alias of :attr:`graph`, for code written against ``ReferenceEngine.G``.
    G = graph

    @property
    def structure(self) -> nx.DiGraph:
        """The graph **without** writing numeric attributes back: its nodes and edges are
        current, its weights, biases, optimizer states and windows may be stale. Free."""
        return self._G

    def invalidate(self) -> None:
        """Derive every array from the graph again (call after editing the graph by hand)."""
        if self._dirty:
            # the hand edit was made on a synced graph (reading .graph synced it); keep the
            # arrays' state for anything not edited by writing it back first
            self.state.write_back(self._G, self.layout)
        self._load_from_graph()

    def _load_from_graph(self) -> None:
        """Build all arrays from the graph's attributes (construction, :meth:`invalidate`)."""
        self._compile(carry=False)
        self._dirty = False

    def _compile(self, carry: bool) -> None:
        """Derive the layout from the graph's structure; with ``carry`` the numeric state of
        nodes and edges the arrays already hold moves with its key, everything else (all of
        it without ``carry``) is read from the graph."""
        layout, node_src, edge_src = compile_layout(self._G, self.layout if carry else None)
        self.state.rebuild(self._G, layout, node_src, edge_src)
        self.layout = layout
        self.passes.compile(layout, self.state.theta)

    # --- forward / backward -----------------------------------------------------------------

    def _check_target(self, X, expert_logits) -> np.ndarray:
        expert_logits = np.asarray(expert_logits, dtype=float)
        shape = (X.shape[0], len(self.layout.outputs))
        if expert_logits.shape != shape:
            raise ValueError(f"expert_logits must have shape {shape}, got {expert_logits.shape}")
        return expert_logits

    def forward(self, X) -> np.ndarray:
        """Outputs ``(batch, n_outputs)`` for inputs ``X``.

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
        X = check_batch(X, self.layout.n_inputs)
        return self.passes.forward(X, self.state.theta).A[self.layout.out_positions].T

    def loss_and_grad(self, X, expert_logits) -> tuple[float, np.ndarray]:
        """The loss and its gradient in the reference parameter order
        (:func:`smgrnn_ref.params.param_keys`: biases by node id, then weights by ``(u, v)``).

        For tests and tools; :meth:`train_step` uses the engine's internal order.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)
        expert_logits : array_like, shape (batch, n_outputs)

        Returns
        -------
        (float, numpy.ndarray)
        """
        lay, theta = self.layout, self.state.theta
        X = check_batch(X, lay.n_inputs)
        target = self._check_target(X, expert_logits)
        bf = self.passes.forward(X, theta)
        loss, dout = loss_and_logit_grad(self.loss, bf.A[lay.out_positions], target)
        grad = self.passes.backward(bf, dout, theta)
        nb = lay.n_biases
        order = np.argsort(np.asarray(lay.nodes[lay.n_fixed:], dtype=np.int64), kind="stable")
        worder = sorted(range(lay.n_edges), key=lay.edges.__getitem__)
        return loss, np.concatenate([grad[:nb][order], grad[nb:][worder]])

    def train_step(self, X, expert_logits) -> float:
        """One optimizer step on the minibatch; return the loss before the step.

        Records the batch mean activation of every hidden / output node (from this forward
        pass, before the update) and every edge's window value (its applied change ``Delta w``,
        or ``-dL/dw`` under the default ``window_signal = "gradient"``) in the ring buffers, as
        the reference engine does in the graph's deques.

        Parameters
        ----------
        X : array_like, shape (batch, n_inputs)
        expert_logits : array_like, shape (batch, n_outputs)

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For bad inputs (as :meth:`forward`), targets of the wrong shape, or a non-finite
            gradient (then only the activations are recorded, as the reference engine does).
        """
        lay, st = self.layout, self.state
        X = check_batch(X, lay.n_inputs)
        target = self._check_target(X, expert_logits)
        bf = self.passes.forward(X, st.theta)
        A = bf.A
        loss, dout = loss_and_logit_grad(self.loss, A[lay.out_positions], target)
        g = self.passes.backward(bf, dout, st.theta)
        # the activations window: batch means before the update
        st.record_activations(A[lay.n_fixed:lay.n_positions], X.shape[0])
        self._dirty = True
        if not np.isfinite(g).all():
            # as optim.optimizer_step: the activations are recorded, nothing is updated
            raise ValueError("gradient contains NaN or inf")
        st.optimizer_step(g, self.spm.window_signal)
        return loss

    # --- the Structural Plasticity Module -------------------------------------------------

    def _by_key(self, columns: np.ndarray) -> list:
        """The edges of weight ``columns`` in sorted ``(u, v)`` order."""
        return sorted(self.layout.edges[k] for k in columns.tolist())

    def unstable_edges(self, cfg: SPMConfig | None = None) -> list[tuple[int, int]]:
        """Edges meeting the instability criterion now (full windows only).

        Vectorised over the update ring buffer; borderline windows are re-judged by
        :func:`smgrnn_ref.spm.is_unstable`, so the result equals
        :func:`smgrnn_ref.spm.unstable_edges` on the synchronised graph.

        Parameters
        ----------
        cfg : SPMConfig, optional
            Thresholds (default: the engine's).

        Returns
        -------
        list of (int, int)
            In sorted ``(u, v)`` order, the order edge-driven growth visits them.
        """
        return [e for e, _ in self._judged_unstable(cfg or self.spm)]

    def _judged_unstable(self, cfg: SPMConfig) -> list:
        """``U_t`` as :func:`smgrnn_ref.spm.unstable_edges` gives it: ``(edge, window)``, the
        window read from the ring buffer, oldest first (the graph's may be stale)."""
        st = self.state
        ks = unstable_columns(st.updates, st.update_count, st.update_row, cfg.lambda_edge, cfg.variance_test)
        return sorted((self.layout.edges[k], self._window(k)) for k in ks.tolist())

    def _window(self, k: int) -> list:
        """Column ``k``'s update window, oldest first: the edge's ``updates`` deque."""
        st = self.state
        return window(st.updates, st.update_count, st.update_row, k)

    def prune_candidates(self, cfg: SPMConfig | None = None) -> list[tuple[int, int]]:
        """The pruning candidate set ``W_t`` now (full windows only).

        Vectorised; borderline windows are re-judged by
        :func:`smgrnn_ref.spm.is_prune_candidate`.

        Parameters
        ----------
        cfg : SPMConfig, optional
            Thresholds (default: the engine's).

        Returns
        -------
        list of (int, int)
            In sorted ``(u, v)`` order, the order :func:`smgrnn_ref.spm.prune` lists them.
        """
        return [e for e, _, _ in self._weighted_candidates(cfg or self.spm)]

    def _weighted_candidates(self, cfg: SPMConfig) -> list:
        """``W_t`` as :func:`smgrnn_ref.spm.pruning_candidates` gives it: ``(edge, w, window)``
        with the trained weight and the window from the arrays (the graph's may be stale)."""
        st, nb = self.state, self.layout.n_biases
        w = st.theta[nb:]
        ks = prune_candidate_columns(st.updates, st.update_count, st.update_row, w, cfg.tau_w, cfg.tau_delta)
        edges = self.layout.edges
        return sorted((edges[k], float(w[k]), self._window(k)) for k in ks.tolist())

    def spm_step(self, t: int, rng: np.random.Generator, *, on_candidates=None) -> list:
        """One Structural Plasticity Module step (pruning when ``t mod s == 0``).

        :func:`smgrnn_ref.spm.spm_step` itself (its schedule, ablation switches, random draws,
        checks and events), called with the engine's decisions, vectorised over the ring
        buffers (:meth:`unstable_edges`, :meth:`prune_candidates`; the windows, weights and
        window means recorded come from the arrays, so they equal the reference engine's
        without a sync), and its validity test (:class:`~smgrnn_ref.fast.validity.RankedValidity`
        on the node positions when no block is cyclic); the arrays then absorb the events.

        Parameters
        ----------
        t : int
            The training step (``>= 0``).
        rng : numpy.random.Generator
        on_candidates : callable, optional
            Receives a pruning step's candidate set (:func:`smgrnn_ref.spm.spm_step`).

        Returns
        -------
        list of events

        Raises
        ------
        ValueError
            As :func:`smgrnn_ref.spm.spm_step`.
        """
        lay = self.layout
        events = reference_spm.spm_step(
            self._G, t, self.spm, rng,
            unstable=lambda G, cfg: self._judged_unstable(cfg),
            candidates=lambda G, cfg: self._weighted_candidates(cfg),
            is_valid=RankedValidity(None if lay.any_cyclic else lay.position), on_candidates=on_candidates)
        self._absorb(events)
        return events

    def _absorb(self, events) -> None:
        """Bring the arrays up to date with the structural edits ``events`` (already in the
        graph), rebuilding only what is needed: new or removed nodes, or an edge that changes
        the block schedule, derive everything again; other edge edits append or delete
        columns; relays are spliced in when the levels allow."""
        lay = self.layout
        relays, added, pruned, full_compile = [], [], [], False
        for ev in events:
            if isinstance(ev, RelayInserted):
                relays.append((*ev.edge, ev.node))
                # the refractory clear, mirrored in the ring buffer
                self.state.update_count[lay.edge_index[ev.edge]] = 0
            elif isinstance(ev, EdgeAdded):
                added.append(ev.edge)
            elif isinstance(ev, EdgePruned):
                pruned.append(lay.edge_index[ev.edge])
                full_compile |= not edits.can_remove_in_place(lay, *ev.edge)
            elif isinstance(ev, NodeRemoved):
                full_compile = True
        if relays:
            # new nodes need positions: spliced in when the levels allow, else a full compile
            if self.incremental_relays and edits.splice_relays(lay, self.state, self._G, relays):
                self.edit_counts["splice"] += 1
                self.passes.compile(lay, self.state.theta)
            else:
                if self.incremental_relays:
                    self.edit_counts["splice declined"] += 1
                full_compile = True
        if not full_compile:
            full_compile = not all(edits.can_add_in_place(lay, u, v) for u, v in added)
        if full_compile:
            self.edit_counts["compile"] += 1
            self._compile(carry=True)
        elif pruned:
            self.edit_counts["delete"] += 1
            edits.delete_edges(lay, self.state, pruned)
            self.passes.reindex(lay, self.state.theta)
        elif added:
            self.edit_counts["append"] += 1
            edits.append_edges(lay, self.state, self._G, added)
            self.passes.reindex(lay, self.state.theta)


__all__ = ["FastEngine"]
