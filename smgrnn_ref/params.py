"""The pure mapping graph <-> parameter vector.

Gradients come from ``autograd`` (the approach of autograd's ``examples/neural_net.py``): the
loss is a pure function of one flat vector ``theta``, so the graph's trainable numbers must be
laid out in a documented, deterministic order:

1. the **bias** of every hidden and output node, by ascending node id;
2. the **weight** of every edge, by ascending ``(source, target)``.

A key names each entry: ``("bias", n)`` or ``("weight", u, v)``.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import empty_graph, add_edge
>>> G = empty_graph(2, 1)
>>> add_edge(G, 1, 2, 0.5); add_edge(G, 0, 2, -0.25)
>>> param_keys(G)
[('bias', 2), ('weight', 0, 2), ('weight', 1, 2)]
>>> get_params(G)
array([ 0.  , -0.25,  0.5 ])
>>> set_params(G, np.array([1.0, 2.0, 3.0])); G.edges[1, 2]["weight"]
3.0
"""

from __future__ import annotations

import networkx as nx
import numpy as np


def param_keys(G: nx.DiGraph) -> list[tuple]:
    """Keys of the parameter vector in its documented order (biases, then weights).

    Parameters
    ----------
    G : networkx.DiGraph

    Returns
    -------
    list of tuple
        ``("bias", n)`` by ascending ``n``, then ``("weight", u, v)`` by ascending ``(u, v)``.
    """
    biases = [("bias", n) for n in sorted(G) if G.nodes[n]["kind"] != "input"]
    weights = [("weight", u, v) for u, v in sorted(G.edges)]
    return biases + weights


def param_attrs(G: nx.DiGraph, key: tuple) -> dict:
    """The attribute dict that owns parameter ``key`` (a node's or an edge's).

    Parameters
    ----------
    G : networkx.DiGraph
    key : tuple
        ``("bias", n)`` or ``("weight", u, v)``.

    Returns
    -------
    dict
        The graph's own dict (edits go into the graph).

    Raises
    ------
    KeyError
        For a node or edge not in ``G``.
    """
    return G.nodes[key[1]] if key[0] == "bias" else G.edges[key[1], key[2]]


def _field(key: tuple) -> str:
    """The attribute holding parameter ``key``'s value."""
    return "bias" if key[0] == "bias" else "weight"


def get_params(G: nx.DiGraph, keys: list[tuple] | None = None) -> np.ndarray:
    """The flat parameter vector ``theta`` (float64) in the order of ``keys``.

    Parameters
    ----------
    G : networkx.DiGraph
    keys : list of tuple, optional
        Default :func:`param_keys`.

    Returns
    -------
    numpy.ndarray
    """
    keys = param_keys(G) if keys is None else keys
    return np.array([param_attrs(G, k)[_field(k)] for k in keys], dtype=float)


def set_params(G: nx.DiGraph, theta: np.ndarray, keys: list[tuple] | None = None) -> None:
    """Write ``theta`` back into the graph's node biases and edge weights.

    Parameters
    ----------
    G : networkx.DiGraph
        Edited in place.
    theta : array_like
        One value per key.
    keys : list of tuple, optional
        Default :func:`param_keys`.

    Raises
    ------
    ValueError
        When ``theta`` has another length than ``keys``.
    """
    keys = param_keys(G) if keys is None else keys
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (len(keys),):
        raise ValueError(f"theta has shape {theta.shape}, expected ({len(keys)},)")
    for k, value in zip(keys, theta):
        param_attrs(G, k)[_field(k)] = float(value)


__all__ = ["param_keys", "param_attrs", "get_params", "set_params"]
