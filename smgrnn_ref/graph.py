"""The SMGrNN graph ``G_t = (V_t, E_t)``: a ``networkx.DiGraph`` and its conventions.

The graph is the **single source of truth** of the model (Jia & Zhou, arXiv 2512.12713,
"Method": a directed, weighted graph whose input and output nodes are fixed while the
Structural Plasticity Module adds and removes hidden nodes and edges). Every faster
representation in this package is derived from it.

Conventions (users, notebooks and tests rely on these names):

* node ids are integers, **never reused**: ``G.graph["next_id"]`` is the counter;
* node attribute ``kind`` in ``{"input", "hidden", "output"}``; input and output nodes
  carry ``index`` (their column in the input batch / position in the output vector);
* hidden and output nodes carry ``bias`` (float), ``activation`` (a name in
  :data:`ACTIVATIONS`), ``activations`` (a ``collections.deque`` with ``maxlen = T`` of
  recent activation values) and Adam state ``adam_m``, ``adam_v``, ``adam_t``;
* every edge carries ``weight`` (float), ``updates`` (a deque, ``maxlen = T``, of the
  weight changes the optimizer applied) and Adam state ``adam_m``, ``adam_v``, ``adam_t``;
* ``G.graph["T"]`` is the window length shared by all deques.

Examples
--------
>>> import numpy as np
>>> G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0))
>>> sorted(G.nodes), sorted(G.edges)
([0, 1, 2], [(0, 2), (1, 2)])
>>> G.nodes[2]["kind"], G.nodes[2]["index"], G.nodes[2]["activation"]
('output', 0, 'identity')
>>> h = add_hidden_node(G)
>>> h, G.graph["next_id"]
(3, 4)
"""

from __future__ import annotations

from collections import deque

import autograd.numpy as anp
import networkx as nx
import numpy as np

from . import numerics
from .config import GraphConfig, SPMConfig

#: Default window length ``T`` of a new graph's deques: the SPM's (``SPMConfig.T``, the paper's
#: 100), so a default graph and a default configuration agree.
DEFAULT_T = SPMConfig.T

#: Node kinds. Inputs hold no parameters; hidden and output nodes carry a bias.
KINDS = ("input", "hidden", "output")

#: Activation functions by name, differentiable by ``autograd``. ``tanh`` is
#: :func:`smgrnn_ref.numerics.tanh`, not numpy's: numpy picks a ``tanh`` by the CPU's vector
#: extensions, whose last bits differ between machines (and the SPM's decisions amplify a
#: last-bit difference into a different graph).
ACTIVATIONS = {
    # tanh(z): hidden nodes (our choice: docs/paper.md, section "What the paper leaves open")
    "tanh": numerics.tanh,
    # z: output nodes are logits
    "identity": lambda z: z,
    # max(z, 0): offered for the fixed MLP baseline experiments
    "relu": lambda z: anp.maximum(z, 0.0),
}


def _new_state() -> dict:
    """The Adam state of a fresh parameter (edge weight or bias): zero moments, no step yet.
    (The windows are deques added by the callers: ``activations`` on nodes, ``updates`` on
    edges.)"""
    return {"adam_m": 0.0, "adam_v": 0.0, "adam_t": 0}


def require_generator(rng) -> None:
    """Explicit seeding: every random draw of the package comes from a ``numpy.random.Generator``
    passed in.

    Parameters
    ----------
    rng : object

    Raises
    ------
    ValueError
        When ``rng`` is anything else (a seed, the legacy ``RandomState``, ``None``).

    Examples
    --------
    >>> require_generator(np.random.RandomState(0))
    Traceback (most recent call last):
    ...
    ValueError: rng must be a numpy.random.Generator (explicit seeding)
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator (explicit seeding)")


def check_window(G: nx.DiGraph, cfg: SPMConfig) -> None:
    """The SPM judges windows of ``cfg.T`` updates; the graph's deques must hold that many.

    Parameters
    ----------
    G : networkx.DiGraph
    cfg : SPMConfig

    Raises
    ------
    ValueError
        When ``G.graph["T"]`` differs from ``cfg.T`` (the engines check it at construction,
        every SPM rule again).

    Examples
    --------
    >>> check_window(empty_graph(1, 1, T=4), SPMConfig(T=5))
    Traceback (most recent call last):
    ...
    ValueError: graph window T=4 differs from SPMConfig.T=5
    """
    if G.graph["T"] != cfg.T:
        raise ValueError(f"graph window T={G.graph['T']} differs from SPMConfig.T={cfg.T}")


def new_node_id(G: nx.DiGraph) -> int:
    """Return a node id never used before in ``G`` and advance the counter.

    Parameters
    ----------
    G : networkx.DiGraph
        Its ``G.graph["next_id"]`` is advanced by one.

    Returns
    -------
    int

    Examples
    --------
    >>> G = nx.DiGraph(next_id=5, T=3)
    >>> new_node_id(G), new_node_id(G)
    (5, 6)
    """
    nid = int(G.graph["next_id"])
    G.graph["next_id"] = nid + 1
    return nid


def _add_parametric_node(G, nid, kind, bias, activation, **extra):
    """A hidden or output node with its bias, activation, window and fresh Adam state."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    G.add_node(
        nid,
        kind=kind,
        bias=float(bias),
        activation=activation,
        activations=deque(maxlen=G.graph["T"]),
        **_new_state(),
        **extra,
    )


def add_hidden_node(G: nx.DiGraph, *, bias: float = 0.0,
                    activation: str = GraphConfig.hidden_activation) -> int:
    """Add a hidden node with a fresh id (no edges yet); return the id.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    bias : float
    activation : str
        A name in :data:`ACTIVATIONS` (default ``GraphConfig.hidden_activation``).

    Returns
    -------
    int
        The new node's id.

    Raises
    ------
    ValueError
        For an unknown activation.

    Examples
    --------
    >>> G = empty_graph(1, 1)
    >>> n = add_hidden_node(G, bias=0.5)
    >>> G.nodes[n]["kind"], G.nodes[n]["bias"], G.nodes[n]["activations"].maxlen
    ('hidden', 0.5, 100)
    """
    nid = new_node_id(G)
    _add_parametric_node(G, nid, "hidden", bias, activation)
    return nid


def add_edge(G: nx.DiGraph, u: int, v: int, weight: float) -> None:
    """Add the edge ``u -> v`` with ``weight``, an empty ``updates`` deque and zero Adam state.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    u, v : int
        Existing nodes; ``v`` not an input.
    weight : float

    Raises
    ------
    ValueError
        For an unknown endpoint, an edge into an input node, a self-loop or an edge that
        already exists (the SPM never duplicates an edge).

    Examples
    --------
    >>> G = empty_graph(1, 1)
    >>> add_edge(G, 0, 1, 0.3)
    >>> G.edges[0, 1]["weight"], list(G.edges[0, 1]["updates"])
    (0.3, [])
    >>> add_edge(G, 1, 0, 0.1)
    Traceback (most recent call last):
    ...
    ValueError: edge 1 -> 0 would enter input node 0
    """
    for n in (u, v):
        if n not in G:
            raise ValueError(f"edge {u} -> {v}: node {n} is not in the graph")
    if G.nodes[v]["kind"] == "input":
        raise ValueError(f"edge {u} -> {v} would enter input node {v}")
    if u == v:
        raise ValueError(f"edge {u} -> {v} is a self-loop")
    if G.has_edge(u, v):
        raise ValueError(f"edge {u} -> {v} already exists")
    G.add_edge(u, v, weight=float(weight), updates=deque(maxlen=G.graph["T"]), **_new_state())


def empty_graph(
    n_inputs: int,
    n_outputs: int,
    *,
    T: int = DEFAULT_T,
    output_activation: str = GraphConfig.output_activation,
) -> nx.DiGraph:
    """Input and output nodes only, no edges. Inputs get ids ``0..n_inputs-1``, outputs the next
    ``n_outputs`` ids; output biases start at zero.

    Parameters
    ----------
    n_inputs, n_outputs : int
        At least 1 each.
    T : int
        Window length of every deque (``>= 2``; default :data:`DEFAULT_T`).
    output_activation : str
        A name in :data:`ACTIVATIONS` (default ``GraphConfig.output_activation``: logits).

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    ValueError
        For a count or window length that is not an integer in range, or an unknown
        activation.

    Examples
    --------
    >>> G = empty_graph(3, 2, T=10)
    >>> [G.nodes[n]["kind"] for n in sorted(G)], G.number_of_edges(), G.graph["T"]
    (['input', 'input', 'input', 'output', 'output'], 0, 10)
    """
    for name, val, lo in (("n_inputs", n_inputs, 1), ("n_outputs", n_outputs, 1), ("T", T, 2)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {val!r}")
    G = nx.DiGraph(next_id=0, T=int(T))
    for i in range(n_inputs):
        G.add_node(new_node_id(G), kind="input", index=i)
    for j in range(n_outputs):
        _add_parametric_node(G, new_node_id(G), "output", 0.0, output_activation, index=j)
    return G


def initial_graph(
    n_inputs: int,
    n_outputs: int,
    *,
    density: float = GraphConfig.density,
    rng: np.random.Generator,
    weight_scale: float = GraphConfig.init_weight_scale,
    T: int = DEFAULT_T,
    output_activation: str = GraphConfig.output_activation,
) -> nx.DiGraph:
    """The paper's starting graph: input and output nodes only, zero hidden nodes, each
    input -> output edge present with probability ``density`` (paper: 0.8), weights uniform in
    ``[-weight_scale, weight_scale]`` (our choice).

    Edges are drawn in the order (input index, output index), one ``rng.random()`` per pair and
    then one ``rng.uniform`` per kept edge, so a seed fixes the graph.

    Parameters
    ----------
    n_inputs, n_outputs : int
    density : float
        In ``[0, 1]`` (default ``GraphConfig.density``).
    rng : numpy.random.Generator
    weight_scale : float
        Default ``GraphConfig.init_weight_scale``.
    T : int
        Window length (default :data:`DEFAULT_T`).
    output_activation : str

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    ValueError
        For a ``rng`` that is not a ``numpy.random.Generator``, a density outside ``[0, 1]``,
        or what :func:`empty_graph` rejects.

    Examples
    --------
    >>> G = initial_graph(4, 2, density=0.0, rng=np.random.default_rng(1))
    >>> G.number_of_nodes(), G.number_of_edges()
    (6, 0)
    """
    require_generator(rng)
    if not (0.0 <= density <= 1.0):
        raise ValueError(f"density must be in [0, 1], got {density}")
    G = empty_graph(n_inputs, n_outputs, T=T, output_activation=output_activation)
    ins, outs = input_nodes(G), output_nodes(G)
    keep = [(u, v) for u in ins for v in outs if rng.random() < density]
    for u, v in keep:
        add_edge(G, u, v, rng.uniform(-weight_scale, weight_scale))
    return G


def layered_graph(
    n_inputs: int,
    hidden_sizes: list[int],
    n_outputs: int,
    *,
    rng: np.random.Generator,
    T: int = DEFAULT_T,
    hidden_activation: str = GraphConfig.hidden_activation,
) -> nx.DiGraph:
    """A fully connected layered graph: the fixed-size MLP baseline as an SMGrNN graph.

    Weights use Glorot-uniform limits ``sqrt(6 / (fan_in + fan_out))``; biases start at zero.
    Hidden nodes are added layer by layer, so their ids increase with depth.

    Parameters
    ----------
    n_inputs : int
    hidden_sizes : list of int
        Nodes per hidden layer.
    n_outputs : int
    rng : numpy.random.Generator
        One ``rng.uniform`` per edge, layer by layer, source-major.
    T : int
        Window length (default :data:`DEFAULT_T`).
    hidden_activation : str

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    ValueError
        For a ``rng`` that is not a ``numpy.random.Generator`` or what :func:`empty_graph`
        rejects.

    Examples
    --------
    >>> G = layered_graph(4, [8, 8], 2, rng=np.random.default_rng(0))
    >>> len(hidden_nodes(G)), G.number_of_edges(), n_params(G)
    (16, 112, 130)
    """
    require_generator(rng)
    G = empty_graph(n_inputs, n_outputs, T=T)
    prev = input_nodes(G)
    layers = [[add_hidden_node(G, activation=hidden_activation) for _ in range(h)] for h in hidden_sizes]
    for layer in layers + [output_nodes(G)]:
        limit = np.sqrt(6.0 / (len(prev) + len(layer)))
        for u in prev:
            for v in layer:
                add_edge(G, u, v, rng.uniform(-limit, limit))
        prev = layer
    return G


def _of_kind(G: nx.DiGraph, kind: str) -> list[int]:
    return [n for n, k in G.nodes(data="kind") if k == kind]


def input_nodes(G: nx.DiGraph) -> list[int]:
    """Input node ids ordered by their ``index`` (the column of the input batch).

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    list of int

    Examples
    --------
    >>> input_nodes(empty_graph(2, 1))
    [0, 1]
    """
    return sorted(_of_kind(G, "input"), key=lambda n: G.nodes[n]["index"])


def output_nodes(G: nx.DiGraph) -> list[int]:
    """Output node ids ordered by their ``index`` (the position in the output vector).

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    list of int

    Examples
    --------
    >>> output_nodes(empty_graph(2, 1))
    [2]
    """
    return sorted(_of_kind(G, "output"), key=lambda n: G.nodes[n]["index"])


def hidden_nodes(G: nx.DiGraph) -> list[int]:
    """Hidden node ids in ascending order.

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    list of int

    Examples
    --------
    >>> G = empty_graph(1, 1); a = add_hidden_node(G); b = add_hidden_node(G)
    >>> hidden_nodes(G)
    [2, 3]
    """
    return sorted(_of_kind(G, "hidden"))


def n_params(G: nx.DiGraph) -> int:
    """Trainable parameters: one weight per edge plus one bias per hidden or output node.

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    int

    Examples
    --------
    >>> G = empty_graph(2, 1); add_edge(G, 0, 2, 0.5)
    >>> n_params(G)   # one weight, one output bias
    2
    """
    return G.number_of_edges() + sum(1 for _, k in G.nodes(data="kind") if k != "input")


_PARAM_NODE_KEYS = {"kind", "bias", "activation", "activations", "adam_m", "adam_v", "adam_t"}
_EDGE_KEYS = {"weight", "updates", "adam_m", "adam_v", "adam_t"}


def validate_graph(G: nx.DiGraph) -> None:
    """Check every convention above.

    Parameters
    ----------
    G : networkx.DiGraph

    Raises
    ------
    ValueError
        Naming the first problem found (the graph type, a missing graph attribute, a node id,
        kind, index, attribute, activation or bias, an edge into an input, a self-loop, an
        edge attribute or weight, a deque's ``maxlen``).

    Examples
    --------
    >>> G = empty_graph(1, 1)
    >>> G.nodes[1]["activation"] = "swish"
    >>> validate_graph(G)
    Traceback (most recent call last):
    ...
    ValueError: node 1: unknown activation 'swish'; known: ['identity', 'relu', 'tanh']
    """
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise ValueError("the model must be a networkx.DiGraph")
    for key in ("next_id", "T"):
        if key not in G.graph:
            raise ValueError(f"graph attribute {key!r} is missing")
    T = G.graph["T"]
    for n, data in G.nodes(data=True):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise ValueError(f"node id {n!r} is not an integer")
        if n >= G.graph["next_id"]:
            raise ValueError(f"node id {n} is not below the id counter {G.graph['next_id']}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"node {n}: unknown kind {kind!r}; known: {list(KINDS)}")
        need = {"kind", "index"} if kind == "input" else set(_PARAM_NODE_KEYS)
        if kind == "output":
            need.add("index")
        missing = sorted(need - set(data))
        if missing:
            raise ValueError(f"node {n} ({kind}): missing attribute(s) {missing}")
        if kind != "input":
            if data["activation"] not in ACTIVATIONS:
                raise ValueError(
                    f"node {n}: unknown activation {data['activation']!r}; known: {sorted(ACTIVATIONS)}"
                )
            if not np.isfinite(data["bias"]):
                raise ValueError(f"node {n}: bias is not finite")
            if not isinstance(data["activations"], deque) or data["activations"].maxlen != T:
                raise ValueError(f"node {n}: 'activations' must be a deque with maxlen T={T}")
    for kind in ("input", "output"):
        idx = sorted(G.nodes[n]["index"] for n in _of_kind(G, kind))
        if idx != list(range(len(idx))):
            raise ValueError(f"{kind} node indices must be 0..{len(idx) - 1}, got {idx}")
    for u, v, data in G.edges(data=True):
        if G.nodes[v]["kind"] == "input":
            raise ValueError(f"input node {v} has an incoming edge from {u}")
        if u == v:
            raise ValueError(f"self-loop on node {u}")
        missing = sorted(_EDGE_KEYS - set(data))
        if missing:
            raise ValueError(f"edge {u} -> {v}: missing attribute(s) {missing}")
        if not np.isfinite(data["weight"]):
            raise ValueError(f"edge {u} -> {v}: weight is not finite")
        if not isinstance(data["updates"], deque) or data["updates"].maxlen != T:
            raise ValueError(f"edge {u} -> {v}: 'updates' must be a deque with maxlen T={T}")


__all__ = [
    "DEFAULT_T",
    "KINDS",
    "ACTIVATIONS",
    "require_generator",
    "check_window",
    "new_node_id",
    "add_hidden_node",
    "add_edge",
    "empty_graph",
    "initial_graph",
    "layered_graph",
    "input_nodes",
    "output_nodes",
    "hidden_nodes",
    "n_params",
    "validate_graph",
]
