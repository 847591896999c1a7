"""Forward pass: hand computations, a dense-matrix MLP, a hand-unrolled cyclic component."""

import math

import networkx as nx
import numpy as np
import pytest

from smgrnn_ref.evaluate import component_order, forward, node_values
from smgrnn_ref.graph import add_edge, add_hidden_node, empty_graph, layered_graph, initial_graph


def test_hand_built_graph_with_hidden_node_and_skip_connection():
    G = empty_graph(2, 1)  # inputs 0, 1; output 2
    h = add_hidden_node(G, bias=0.1)  # node 3
    add_edge(G, 0, h, 0.5)
    add_edge(G, 1, h, -0.25)
    add_edge(G, h, 2, 2.0)
    add_edge(G, 0, 2, 1.0)  # skip connection
    G.nodes[2]["bias"] = -0.3
    X = np.array([[1.0, 2.0], [0.0, -4.0]])
    # by hand: a_h = tanh(0.1 + 0.5 x0 - 0.25 x1); y = -0.3 + 2 a_h + x0
    expected = [
        -0.3 + 2 * math.tanh(0.1 + 0.5 * 1.0 - 0.25 * 2.0) + 1.0,
        -0.3 + 2 * math.tanh(0.1 + 0.0 + 1.0) + 0.0,
    ]
    out = forward(G, X)
    assert out.shape == (2, 1)
    assert out[:, 0] == pytest.approx(expected, abs=1e-15)


def test_output_without_incoming_edges_is_its_bias():
    G = empty_graph(3, 2)
    G.nodes[4]["bias"] = 0.7
    out = forward(G, np.ones((5, 3)))
    assert np.all(out[:, 0] == 0.0) and np.all(out[:, 1] == 0.7)


def test_random_layered_graph_equals_dense_mlp():
    rng = np.random.default_rng(42)
    sizes = [5, 7, 4, 3]
    G = layered_graph(sizes[0], sizes[1:-1], sizes[-1], rng=rng)
    for n in G:
        if G.nodes[n]["kind"] != "input":
            G.nodes[n]["bias"] = float(rng.normal())
    # the layers' node ids: inputs, hidden layers in creation order, outputs
    ins = sorted(n for n in G if G.nodes[n]["kind"] == "input")
    outs = sorted(n for n in G if G.nodes[n]["kind"] == "output")
    hidden = sorted(n for n in G if G.nodes[n]["kind"] == "hidden")
    layers = [ins, hidden[:7], hidden[7:], outs]
    X = rng.normal(size=(11, 5))
    a = X
    for li in range(1, len(layers)):
        W = np.array([[G.edges[u, v]["weight"] for v in layers[li]] for u in layers[li - 1]])
        b = np.array([G.nodes[v]["bias"] for v in layers[li]])
        z = a @ W + b
        a = z if li == len(layers) - 1 else np.tanh(z)
    np.testing.assert_allclose(forward(G, X), a, rtol=0, atol=1e-12)


def _cyclic_graph():
    """inputs 0, 1 -> hidden a <-> b (a 2-cycle) -> output; plus a -> output."""
    G = empty_graph(2, 1)  # output 2
    a, b = add_hidden_node(G, bias=0.2), add_hidden_node(G, bias=-0.1)  # 3, 4
    add_edge(G, 0, a, 0.9)
    add_edge(G, 1, b, -0.6)
    add_edge(G, a, b, 1.3)
    add_edge(G, b, a, -0.7)
    add_edge(G, b, 2, 0.8)
    add_edge(G, a, 2, 0.4)
    G.nodes[2]["bias"] = 0.05
    return G, a, b


@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_cyclic_component_equals_hand_unrolled_sweeps(K):
    G, a, b = _cyclic_graph()
    X = np.array([[0.5, -1.0], [2.0, 0.25], [0.0, 0.0]])
    for row, (x0, x1) in enumerate(X):
        # synchronous sweeps from zero, unrolled by hand
        va, vb = 0.0, 0.0
        for _ in range(K):
            va, vb = math.tanh(0.2 + 0.9 * x0 - 0.7 * vb), math.tanh(-0.1 - 0.6 * x1 + 1.3 * va)
        y = 0.05 + 0.8 * vb + 0.4 * va
        assert forward(G, X, sweeps=K)[row, 0] == pytest.approx(y, abs=1e-15)


def test_component_order_is_topological_and_groups_cycles():
    G, a, b = _cyclic_graph()
    assert component_order(G) == [[a, b], [2]]


def test_node_values_include_inputs_and_hidden():
    G, a, b = _cyclic_graph()
    X = np.array([[1.0, 2.0]])
    vals = node_values(G, X, sweeps=1)
    # one sweep from zero: each node sees the other's zero
    assert vals[0][0] == 1.0 and vals[1][0] == 2.0
    assert vals[a][0] == pytest.approx(math.tanh(0.2 + 0.9))
    assert vals[b][0] == pytest.approx(math.tanh(-0.1 - 1.2))


@pytest.mark.parametrize(
    "X, message",
    [
        (np.ones((4, 3)), "shape"),
        (np.ones(2), "shape"),
        (np.ones((0, 2)), "empty"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[np.inf, 1.0]]), "inf"),
    ],
)
def test_bad_input_raises(X, message):
    G = initial_graph(2, 1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        forward(G, X)


def test_bad_graphs_raise():
    rng = np.random.default_rng(0)
    G = initial_graph(2, 1, rng=rng)
    G.add_edge(2, 0, weight=1.0, updates=None)  # bypasses add_edge: an edge into an input
    with pytest.raises(ValueError, match="input node 0 has an incoming edge"):
        forward(G, np.ones((1, 2)))
    G = initial_graph(2, 1, rng=rng)
    G.nodes[2]["activation"] = "softsign"
    with pytest.raises(ValueError, match="unknown activation"):
        forward(G, np.ones((1, 2)))
    G = initial_graph(2, 1, rng=rng)
    G.nodes[2]["kind"] = "bias-unit"
    with pytest.raises(ValueError, match="unknown kind"):
        forward(G, np.ones((1, 2)))
    with pytest.raises(ValueError, match="DiGraph"):
        forward(nx.Graph(), np.ones((1, 2)))
