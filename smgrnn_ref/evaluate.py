"""The topological / iterative evaluator: compile a plan once, run it many times.

SMGrNN's graph ``G_t = (V_t, E_t)`` (Jia & Zhou, arXiv 2512.12713) is a general directed graph:
skip connections and, when the configuration allows, cycles may emerge. Evaluation (our
choice: docs/paper.md, section "What the paper leaves open") follows the strongly connected
components (SCCs) of ``G`` in topological order:

* an **acyclic component** is a single node, evaluated once::

      a_j = f_j( b_j + sum_{i -> j} w_ij a_i )

* a **cyclic component** ``C`` is relaxed by ``K`` synchronous sweeps from zero::

      a_j^(0) = 0                                   for j in C
      a_j^(k) = f_j( b_j + sum_{i -> j} w_ij a_i^(k-1) )   k = 1..K

  where ``a_i^(k-1)`` is the previous sweep's value for ``i`` in ``C`` and the final value for
  ``i`` in an earlier component.

Hidden nodes use ``tanh`` and output nodes are linear (logits) by default; each node's
``activation`` attribute names its function in :data:`smgrnn_ref.graph.ACTIVATIONS`.

The plan (the order and, per node, the indices of its bias and weights in the parameter
vector of :mod:`smgrnn_ref.params`) is compiled once per topology; :func:`forward_params` is
then a pure function of ``theta`` that ``autograd`` differentiates.

Examples
--------
A single output node with two weighted inputs and a bias:

>>> import numpy as np
>>> from smgrnn_ref.graph import empty_graph, add_edge
>>> G = empty_graph(2, 1)
>>> add_edge(G, 0, 2, 0.5); add_edge(G, 1, 2, -2.0); G.nodes[2]["bias"] = 0.25
>>> forward(G, np.array([[1.0, 1.0], [2.0, 0.0]]))  # 0.25 + 0.5 x0 - 2 x1
array([[-1.25],
       [ 1.25]])
"""

from __future__ import annotations

from dataclasses import dataclass

import autograd.numpy as anp
import networkx as nx
import numpy as np

from .config import SPMConfig
from .graph import ACTIVATIONS, input_nodes, output_nodes, validate_graph
from .params import get_params, param_keys

#: Default number of relaxation sweeps ``K`` inside a cyclic component (from the config).
DEFAULT_SWEEPS = SPMConfig.sweeps


@dataclass(frozen=True)
class NodeStep:
    """How to compute one node: ``f(theta[bias_index] + sum theta[w] * a[src])``."""

    node: int
    activation: str
    bias_index: int
    sources: tuple[int, ...]
    weight_indices: tuple[int, ...]


@dataclass(frozen=True)
class Component:
    """One strongly connected component, its nodes ascending by id."""

    steps: tuple[NodeStep, ...]
    cyclic: bool


@dataclass(frozen=True)
class Plan:
    """A compiled evaluation plan: derived from the graph, never edited by hand."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    components: tuple[Component, ...]
    keys: tuple[tuple, ...]
    sweeps: int


def component_order(G: nx.DiGraph) -> list[list[int]]:
    """Strongly connected components of the non-input nodes in a deterministic topological
    order (ties broken by the smallest node id); each component's nodes ascending.

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    list of list of int

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge, add_hidden_node
    >>> G = empty_graph(1, 1)
    >>> a, b = add_hidden_node(G), add_hidden_node(G)
    >>> for u, v in [(0, a), (a, b), (b, a), (b, 1)]: add_edge(G, u, v, 1.0)
    >>> component_order(G)
    [[2, 3], [1]]
    """
    cond = nx.condensation(G)
    members = {c: sorted(cond.nodes[c]["members"]) for c in cond}
    order = nx.lexicographical_topological_sort(cond, key=lambda c: members[c][0])
    return [members[c] for c in order if G.nodes[members[c][0]]["kind"] != "input"]


def compile_plan(G: nx.DiGraph, *, sweeps: int = DEFAULT_SWEEPS) -> Plan:
    """Compile the evaluation plan of ``G`` (call again after any structural edit).

    Parameters
    ----------
    G : networkx.DiGraph
    sweeps : int
        ``K``, the synchronous sweeps of a cyclic component (``>= 1``).

    Returns
    -------
    Plan
        The components in :func:`component_order`, each node with the indices of its bias
        and weights in :func:`smgrnn_ref.params.param_keys` order.

    Raises
    ------
    ValueError
        For ``sweeps`` that is not an integer ``>= 1`` or a node with an unknown activation.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge
    >>> G = empty_graph(2, 1); add_edge(G, 1, 2, 0.5)
    >>> plan = compile_plan(G)
    >>> plan.keys, plan.components[0].steps[0].weight_indices
    ((('bias', 2), ('weight', 1, 2)), (1,))
    """
    if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)) or sweeps < 1:
        raise ValueError(f"sweeps must be an integer >= 1, got {sweeps!r}")
    keys = param_keys(G)
    index = {k: i for i, k in enumerate(keys)}
    components = []
    for nodes in component_order(G):
        steps = []
        for n in nodes:
            activation = G.nodes[n]["activation"]
            if activation not in ACTIVATIONS:
                raise ValueError(f"node {n}: unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
            sources = tuple(sorted(G.predecessors(n)))
            steps.append(
                NodeStep(
                    node=n,
                    activation=activation,
                    bias_index=index[("bias", n)],
                    sources=sources,
                    weight_indices=tuple(index[("weight", u, n)] for u in sources),
                )
            )
        # a component is cyclic when it has several nodes (self-loops are never allowed)
        components.append(Component(steps=tuple(steps), cyclic=len(nodes) > 1))
    return Plan(
        inputs=tuple(input_nodes(G)),
        outputs=tuple(output_nodes(G)),
        components=tuple(components),
        keys=tuple(keys),
        sweeps=int(sweeps),
    )


def _node_value(step: NodeStep, theta, values: dict, batch: int):
    """``f( b_j + sum_i w_ij a_i )`` for one node, over the whole batch."""
    # b_j, broadcast over the batch (a node may have no incoming edge yet)
    z = theta[step.bias_index] + anp.zeros(batch)
    # + sum_{i -> j} w_ij a_i
    for src, w in zip(step.sources, step.weight_indices):
        z = z + theta[w] * values[src]
    # a_j = f_j(z_j)
    return ACTIVATIONS[step.activation](z)


def node_values_params(theta, plan: Plan, X) -> dict:
    """Every node's activation over the batch, as a dict ``node -> array (batch,)``.

    Pure in ``theta``: ``autograd`` can differentiate anything computed from it.

    Parameters
    ----------
    theta : array_like
        The parameter vector in ``plan.keys`` order.
    plan : Plan
    X : numpy.ndarray, shape (batch, n_inputs)
        Already checked (:func:`check_inputs`).

    Returns
    -------
    dict
        Node id -> values over the batch (inputs included).
    """
    batch = X.shape[0]
    # input nodes take their column of X
    values = {n: X[:, i] for i, n in enumerate(plan.inputs)}
    for comp in plan.components:
        if not comp.cyclic:
            step = comp.steps[0]
            values[step.node] = _node_value(step, theta, values, batch)
            continue
        # a^(0) = 0 for every node of the cyclic component
        for step in comp.steps:
            values[step.node] = anp.zeros(batch)
        # K synchronous sweeps: every node reads the previous sweep's values
        for _ in range(plan.sweeps):
            new = {step.node: _node_value(step, theta, values, batch) for step in comp.steps}
            values.update(new)
    return values


def forward_params(theta, plan: Plan, X):
    """Network outputs ``(batch, n_outputs)`` as a pure function of ``theta``.

    Parameters
    ----------
    theta : array_like
        The parameter vector in ``plan.keys`` order (an ``autograd`` box while
        differentiating).
    plan : Plan
    X : numpy.ndarray, shape (batch, n_inputs)

    Returns
    -------
    array, shape (batch, n_outputs)
        The output nodes' values in output ``index`` order.
    """
    values = node_values_params(theta, plan, X)
    return anp.stack([values[n] for n in plan.outputs], axis=1)


def check_inputs(G: nx.DiGraph, X) -> np.ndarray:
    """``X`` as a float array of shape ``(batch, n_inputs)`` of ``G``.

    Parameters
    ----------
    G : networkx.DiGraph
    X : array_like

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        As :func:`check_batch`.
    """
    return check_batch(X, len(input_nodes(G)))


def check_batch(X, n_in: int) -> np.ndarray:
    """:func:`check_inputs` for a known number of inputs ``n_in`` (no graph walk: hot paths).

    Parameters
    ----------
    X : array_like
    n_in : int

    Returns
    -------
    numpy.ndarray
        ``X`` as floats, shape ``(batch, n_in)``.

    Raises
    ------
    ValueError
        For another shape, an empty batch, or a NaN or infinite value.

    Examples
    --------
    >>> check_batch([[1, 2]], 2)
    array([[1., 2.]])
    >>> check_batch([[1, 2]], 3)
    Traceback (most recent call last):
    ...
    ValueError: X must have shape (batch, 3), got (1, 2)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"X must have shape (batch, {n_in}), got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X has an empty batch")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    return X


def forward(G: nx.DiGraph, X, *, sweeps: int = DEFAULT_SWEEPS) -> np.ndarray:
    """Evaluate the network on a batch: ``X (batch, n_inputs) -> (batch, n_outputs)``.

    Validates the graph and the input, compiles the plan and runs it with the graph's current
    parameters.

    Parameters
    ----------
    G : networkx.DiGraph
    X : array_like, shape (batch, n_inputs)
    sweeps : int
        ``K`` for cyclic components.

    Returns
    -------
    numpy.ndarray, shape (batch, n_outputs)

    Raises
    ------
    ValueError
        Naming the problem with the graph (:func:`smgrnn_ref.graph.validate_graph`), the
        input (:func:`check_batch`) or ``sweeps``.
    """
    validate_graph(G)
    X = check_inputs(G, X)
    plan = compile_plan(G, sweeps=sweeps)
    return forward_params(get_params(G, list(plan.keys)), plan, X)


def node_values(G: nx.DiGraph, X, *, sweeps: int = DEFAULT_SWEEPS) -> dict:
    """Every node's activation over the batch (inputs included), as plain arrays.

    Parameters
    ----------
    G : networkx.DiGraph
    X : array_like, shape (batch, n_inputs)
    sweeps : int

    Returns
    -------
    dict
        Node id -> array of shape ``(batch,)``.

    Raises
    ------
    ValueError
        As :func:`forward`.

    Examples
    --------
    >>> import numpy as np
    >>> from smgrnn_ref.graph import empty_graph, add_edge, add_hidden_node
    >>> G = empty_graph(1, 1); h = add_hidden_node(G); add_edge(G, 0, h, 1.0); add_edge(G, h, 1, 2.0)
    >>> v = node_values(G, np.array([[0.5]]))
    >>> bool(np.isclose(v[h][0], np.tanh(0.5))), bool(np.isclose(v[1][0], 2 * np.tanh(0.5)))
    (True, True)
    """
    validate_graph(G)
    X = check_inputs(G, X)
    plan = compile_plan(G, sweeps=sweeps)
    return node_values_params(get_params(G, list(plan.keys)), plan, X)


__all__ = [
    "DEFAULT_SWEEPS",
    "NodeStep",
    "Component",
    "Plan",
    "component_order",
    "compile_plan",
    "node_values_params",
    "forward_params",
    "check_inputs",
    "check_batch",
    "forward",
    "node_values",
]
