"""The reference engine: one training step and one SPM step on the NetworkX graph.

This is the code to read. Each training step (Jia & Zhou, arXiv 2512.12713, "Method"):

1. forward the minibatch through the graph and compute the distillation loss ``L_t(theta)``;
2. backpropagate (``autograd``) and apply one Adam step; every edge records its applied change
   ``Delta w_{k,t}`` in ``updates`` and every hidden / output node records the **batch mean**
   of its activation (from the same forward pass, before the update) in ``activations``;
3. the Structural Plasticity Module edits the structure (:func:`smgrnn_ref.spm.spm_step`).

The fast engine (:mod:`smgrnn_ref.fast`) offers the same interface and is checked against this
one.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph
>>> from smgrnn_ref.config import AdamConfig, SPMConfig
>>> rng = np.random.default_rng(0)
>>> eng = ReferenceEngine(initial_graph(3, 2, rng=rng), adam=AdamConfig(lr=0.05), spm=SPMConfig())
>>> X = rng.normal(size=(16, 3)); target = X @ np.array([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0]])
>>> first = eng.train_step(X, target)
>>> last = [eng.train_step(X, target) for _ in range(100)][-1]
>>> bool(last < first)
True
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .config import AdamConfig, SPMConfig
from .evaluate import check_inputs, compile_plan, forward_params, node_values_params
from .graph import validate_graph
from .losses import get_loss, loss_and_grad
from .optim import adam_step
from .params import get_params
from .spm import spm_step


class ReferenceEngine:
    """Trains one SMGrNN graph in place: the graph stays the single source of truth.

    Parameters
    ----------
    G : networkx.DiGraph
        The model (conventions of :mod:`smgrnn_ref.graph`); edited in place.
    adam : AdamConfig
        Optimizer hyper-parameters.
    spm : SPMConfig
        Structural Plasticity Module hyper-parameters (also ``sweeps`` K for cycles).
    loss : {"kl", "mse", "ce"}
        Distillation loss against the expert's logits, or ``"ce"`` against class probabilities.
    """

    name = "reference"

    def __init__(self, G: nx.DiGraph, *, adam: AdamConfig, spm: SPMConfig, loss: str = "kl"):
        validate_graph(G)
        get_loss(loss)  # fail early on an unknown loss name
        if G.graph["T"] != spm.T:
            raise ValueError(f"graph window T={G.graph['T']} differs from SPMConfig.T={spm.T}")
        self.G, self.adam, self.spm, self.loss = G, adam, spm, loss
        self._plan = None

    @property
    def graph(self) -> nx.DiGraph:
        """The graph, current after every step."""
        return self.G

    @property
    def structure(self) -> nx.DiGraph:
        """The graph (as :attr:`graph`; the fast engine's ``structure`` skips a sync)."""
        return self.G

    def plan(self):
        """The compiled evaluation plan, recompiled after each structural edit."""
        if self._plan is None:
            self._plan = compile_plan(self.G, sweeps=self.spm.sweeps)
        return self._plan

    def invalidate(self) -> None:
        """Forget the compiled plan (call after editing the graph's structure by hand)."""
        self._plan = None

    def forward(self, X) -> np.ndarray:
        """Outputs ``(batch, n_outputs)`` for inputs ``X``."""
        X = check_inputs(self.G, X)
        plan = self.plan()
        return forward_params(get_params(self.G, list(plan.keys)), plan, X)

    def train_step(self, X, expert_logits) -> float:
        """One optimizer step on the minibatch; return the loss before the step."""
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
        # Adam; every edge records Delta w_{k,t}
        adam_step(self.G, keys, grad, self.adam)
        return float(loss)

    def spm_step(self, t: int, rng: np.random.Generator) -> list:
        """One Structural Plasticity Module step (pruning when ``t mod s == 0``)."""
        events = spm_step(self.G, t, self.spm, rng)
        if events:
            self.invalidate()
        return events


#: Engine names accepted by :func:`make_engine` (``--engine`` on the command line).
ENGINES = ("reference", "fast")


def make_engine(name: str, G: nx.DiGraph, *, adam: AdamConfig, spm: SPMConfig, loss: str = "kl"):
    """Build the engine called ``name`` around ``G`` (``ValueError`` for an unknown name)."""
    if name == "reference":
        return ReferenceEngine(G, adam=adam, spm=spm, loss=loss)
    if name == "fast":
        from .fast import FastEngine

        return FastEngine(G, adam=adam, spm=spm, loss=loss)
    raise ValueError(f"unknown engine {name!r}; known: {list(ENGINES)}")


__all__ = ["ReferenceEngine", "ENGINES", "make_engine"]
