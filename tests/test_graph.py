"""Graph conventions: initial graph, id counter, edge rules."""

from collections import deque

import numpy as np
import pytest

from smgrnn_ref.graph import (
    add_edge,
    add_hidden_node,
    empty_graph,
    hidden_nodes,
    initial_graph,
    input_nodes,
    n_params,
    output_nodes,
    validate_graph,
)


def test_initial_graph_has_only_inputs_and_outputs_and_density_edges():
    G = initial_graph(6, 3, density=0.8, rng=np.random.default_rng(7), weight_scale=0.1)
    assert input_nodes(G) == [0, 1, 2, 3, 4, 5] and output_nodes(G) == [6, 7, 8]
    assert hidden_nodes(G) == []
    # the same draws, made here: one uniform per (input, output) pair, kept if < density
    rng = np.random.default_rng(7)
    expected = [(u, v) for u in range(6) for v in range(6, 9) if rng.random() < 0.8]
    assert sorted(G.edges) == expected
    for u, v, d in G.edges(data=True):
        assert abs(d["weight"]) <= 0.1
        assert isinstance(d["updates"], deque) and d["updates"].maxlen == 100
        assert (d["adam_m"], d["adam_v"], d["adam_t"]) == (0.0, 0.0, 0)
    for n in output_nodes(G):
        assert G.nodes[n]["bias"] == 0.0 and G.nodes[n]["activations"].maxlen == 100
    validate_graph(G)


def test_density_extremes():
    rng = np.random.default_rng(0)
    assert initial_graph(3, 2, density=1.0, rng=rng).number_of_edges() == 6
    assert initial_graph(3, 2, density=0.0, rng=rng).number_of_edges() == 0


def test_node_ids_are_never_reused():
    G = empty_graph(2, 2)
    a = add_hidden_node(G)
    G.remove_node(a)
    b = add_hidden_node(G)
    assert (a, b) == (4, 5)


def test_edge_rules():
    G = empty_graph(1, 1)
    h = add_hidden_node(G)
    add_edge(G, 0, h, 0.1)
    with pytest.raises(ValueError, match="already exists"):
        add_edge(G, 0, h, 0.2)
    with pytest.raises(ValueError, match="self-loop"):
        add_edge(G, h, h, 0.2)
    with pytest.raises(ValueError, match="enter input"):
        add_edge(G, h, 0, 0.2)
    with pytest.raises(ValueError, match="not in the graph"):
        add_edge(G, 0, 99, 0.2)


def test_n_params_counts_weights_and_biases():
    G = empty_graph(2, 1)
    h = add_hidden_node(G)
    add_edge(G, 0, h, 1.0)
    add_edge(G, h, 2, 1.0)
    assert n_params(G) == 2 + 2  # two edges, biases of h and of the output


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_inputs"):
        empty_graph(0, 1)
    with pytest.raises(ValueError, match="Generator"):
        initial_graph(2, 1, rng=0)
    with pytest.raises(ValueError, match="density"):
        initial_graph(2, 1, rng=np.random.default_rng(0), density=1.5)
    with pytest.raises(ValueError, match="unknown activation"):
        add_hidden_node(empty_graph(1, 1), activation="gelu")
