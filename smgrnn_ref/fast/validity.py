"""The new-edge validity test of random growth, with the fast engine's topological shortcut.

Invariant kept: **every answer is** :func:`smgrnn_ref.spm.is_valid_new_edge`'s. Random growth
must not close a cycle (unless cycles are allowed), so for a candidate ``u -> v`` it asks
whether ``v`` reaches ``u``: a path search. The engine's node positions are a topological
order of the graph when no block is cyclic (and stay one for the nodes they hold after the
step's relays: a relay ``i -> r -> j`` keeps ``i -> j``, so it adds no reachability). A path
only climbs in such a rank, so when ``rank[u] < rank[v]``, ``v`` cannot reach ``u`` and only
the local tests remain.

The object is stateful: :func:`smgrnn_ref.spm.random_growth` adds every pair it approves (it
checks the pairs it draws from the exact pool too), so the moment it approves a pair the rank
does not settle (against the rank, or touching a node the rank does not hold), that edge is
about to be added and may break the order: the rank is dropped and every later call searches.
"""

from __future__ import annotations

from ..spm import is_valid_new_edge


class RankedValidity:
    """:func:`smgrnn_ref.spm.is_valid_new_edge` that skips the path search for pairs a
    topological ``rank`` settles; one object per SPM step.

    Parameters
    ----------
    rank : mapping or None
        Node -> number with ``rank[a] < rank[b]`` for every edge ``a -> b`` between ranked
        nodes; ``None``: always search.

    Examples
    --------
    >>> from smgrnn_ref.graph import empty_graph, add_edge, add_hidden_node
    >>> G = empty_graph(1, 1); h = add_hidden_node(G); add_edge(G, 0, h, 0.1)
    >>> valid = RankedValidity({0: 0, h: 1, 1: 2})
    >>> valid(G, h, 1, False), valid.rank is None    # settled by the rank: kept
    (True, False)
    >>> valid(G, 1, h, False), valid.rank is None    # against the rank, approved: dropped
    (True, True)
    """

    def __init__(self, rank=None):
        self.rank = rank

    def __call__(self, G, u: int, v: int, allow_cycles: bool) -> bool:
        rank = self.rank
        if rank is not None and u in rank and v in rank and rank[u] < rank[v]:
            # v -> ... -> u would have to descend in rank: only the local tests remain
            return is_valid_new_edge(G, u, v, allow_cycles=True)
        valid = is_valid_new_edge(G, u, v, allow_cycles)
        if valid:
            self.rank = None  # approved against the rank: added next, the order may break
        return valid


__all__ = ["RankedValidity"]
