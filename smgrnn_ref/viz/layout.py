"""Node positions that never change while a node lives: :class:`StableLayout`.

An animation of a growing network must show it growing, not re-shuffling: a node is placed
once, the first time the layout sees it, and keeps that place until it dies (the rules are in
the class docstring). Deterministic: no random state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np

from ..rundir import snapshot_to_graph

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...: consecutive ids give well-spread values
_SQRT2 = math.sqrt(2.0) - 1.0


def _frac(x: float) -> float:
    return x - math.floor(x)


def as_graph(G) -> nx.DiGraph:
    """``G`` itself, or the drawable graph of a snapshot (:func:`smgrnn_ref.rundir.snapshot_to_graph`)."""
    return snapshot_to_graph(G) if isinstance(G, Mapping) else G


class StableLayout:
    """Node positions that never change while a node lives.

    A force-directed layout recomputed per frame would move every node whenever one edge
    changes; an animation of a growing network would then show only jitter. Here a node is
    placed once, the first time :meth:`update` sees it, and keeps that position until it dies.

    Placement rules (all deterministic, no random state):

    * input nodes at ``x = 0`` and output nodes at ``x = 1``, spread in ``y`` by ``index``
      (index 0 at the top): ``y = 1 - (index + 0.5) / count``;
    * new hidden nodes are visited in id order (ids are never reused, so this is birth
      order). A node whose *older* neighbours (fixed nodes and hidden nodes with a smaller
      id) include at least one predecessor and one successor, all already placed (the typical
      relay ``i -> r -> j`` inserted by edge-driven growth), goes between them: at the
      midpoint of the mean predecessor position and the mean successor position, shifted by
      a small offset derived from its id. The ``x`` shift is a fraction (at most 20 %) of the
      predecessor-to-successor distance, so a relay stays strictly between its endpoints in
      ``x``; the ``y`` shift is at most 0.07. Several relays on the same edge therefore do not
      coincide;
    * any other new hidden node (no placed older neighbour on one side, for example the nodes
      of an MLP-like layered graph first seen all at once) gets ``x`` from its depth (longest
      path from the inputs, on the condensation if there are cycles, normalised to
      ``(0, 1)``) and ``y`` from its id (a golden-ratio sequence, which spreads consecutive
      ids evenly).

    Because only older neighbours count, a layout made in one go from a grown graph equals
    the one built frame by frame, provided no edge to an older node was added, or removed,
    after a node's birth.

    Dead nodes are dropped from :attr:`positions` but their last position is kept in
    :attr:`retired`, so a pruned node or edge can still be drawn as a ghost (ids are never
    reused, so this is unambiguous).

    Examples
    --------
    >>> import numpy as np
    >>> from smgrnn_ref.graph import initial_graph, add_hidden_node, add_edge
    >>> G = initial_graph(2, 1, density=1.0, rng=np.random.default_rng(0))
    >>> lay = StableLayout()
    >>> pos = lay.update(G)
    >>> pos[0], pos[1], pos[2]
    ((0.0, 0.75), (0.0, 0.25), (1.0, 0.5))
    >>> r = add_hidden_node(G); add_edge(G, 0, r, 0.01); add_edge(G, r, 2, 0.01)
    >>> 0.0 < lay.update(G)[r][0] < 1.0
    True
    >>> G.remove_node(r)
    >>> r in lay.update(G), r in lay.retired
    (False, True)
    """

    #: Largest relative ``x`` shift of a relay (fraction of the endpoint distance).
    X_JITTER = 0.2
    #: Largest absolute ``y`` shift of a relay.
    Y_JITTER = 0.07

    def __init__(self) -> None:
        self._pos: dict[int, tuple[float, float]] = {}
        self._retired: dict[int, tuple[float, float]] = {}

    @property
    def positions(self) -> dict[int, tuple[float, float]]:
        """Positions of the living nodes seen by the last :meth:`update` (a copy)."""
        return dict(self._pos)

    @property
    def retired(self) -> dict[int, tuple[float, float]]:
        """Last positions of nodes that have died (a copy), for drawing pruned ghosts."""
        return dict(self._retired)

    def position(self, n: int) -> tuple[float, float]:
        """Position of a living or retired node; ``KeyError`` if it was never placed."""
        if n in self._pos:
            return self._pos[n]
        return self._retired[n]

    @classmethod
    def _offset(cls, n: int) -> tuple[float, float]:
        # Two different irrational multipliers so the x and y shifts are unrelated; both lie
        # in the open interval (-1, 1) times the jitter.
        ox = cls.X_JITTER * (2.0 * _frac(n * _SQRT2 + 0.5) - 1.0)
        oy = cls.Y_JITTER * (2.0 * _frac(n * _GOLDEN + 0.5) - 1.0)
        return ox, oy

    @staticmethod
    def _depths(G: nx.DiGraph) -> dict:
        """Longest-path depth from the sources, computed on the condensation (cycle-safe)."""
        C = nx.condensation(G)
        depth_c: dict[int, int] = {}
        for c in nx.topological_sort(C):
            preds = list(C.predecessors(c))
            depth_c[c] = 1 + max(depth_c[p] for p in preds) if preds else 0
        return {n: depth_c[C.graph["mapping"][n]] for n in G.nodes}

    def update(self, G) -> dict[int, tuple[float, float]]:
        """Place the nodes of ``G`` not seen before, forget the dead ones, return positions.

        A node already placed and still in ``G`` is never moved.

        Parameters
        ----------
        G : networkx.DiGraph or dict
            The current graph (or its snapshot).

        Returns
        -------
        dict
            ``{node: (x, y)}`` for every node of ``G`` (a copy).
        """
        G = as_graph(G)
        alive = set(G.nodes)
        for n in [n for n in self._pos if n not in alive]:
            self._retired[n] = self._pos.pop(n)

        new = sorted(n for n in G.nodes if n not in self._pos)
        if not new:
            return self.positions
        kinds = dict(G.nodes(data="kind"))
        for kind, x in (("input", 0.0), ("output", 1.0)):
            members = [n for n in G.nodes if kinds[n] == kind]
            for n in members:
                if n not in self._pos:
                    y = 1.0 - (G.nodes[n]["index"] + 0.5) / len(members)
                    self._pos[n] = (x, y)

        pending = [n for n in new if n not in self._pos]
        # Relays, in id order (= order of birth): a node is placed from its *older*
        # neighbours (fixed nodes, or hidden nodes with a smaller id). At birth a relay's only
        # neighbours are its two endpoints, which are older, so this is the relay rule; and
        # since it ignores edges to nodes born later, a layout made fresh from a grown graph
        # matches the one built frame by frame (as long as no edge was added to an older node
        # or removed later), so a plain ``draw(G)`` looks like the last frame of the movie.
        deferred = []
        for n in pending:
            preds = [p for p in G.predecessors(n) if p != n and (kinds[p] != "hidden" or p < n)]
            succs = [s for s in G.successors(n) if s != n and (kinds[s] != "hidden" or s < n)]
            if not preds or not succs or not all(m in self._pos for m in preds + succs):
                deferred.append(n)
                continue
            xp, yp = np.mean([self._pos[p] for p in preds], axis=0)
            xs, ys = np.mean([self._pos[s] for s in succs], axis=0)
            ox, oy = self._offset(n)
            x = xp + (0.5 + ox) * (xs - xp)
            y = 0.5 * (yp + ys) + oy
            self._pos[n] = (float(x), float(min(max(y, 0.0), 1.0)))
        pending = deferred
        if pending:
            # Everything left is placed at once by depth. Placing the deferred nodes one by one
            # and resuming the relay rule would collapse, e.g., the second layer of an MLP onto
            # one midpoint; placed together they form columns. A node whose older neighbour
            # is deferred is deferred too, so such a subgraph is drawn consistently layered.
            depth = self._depths(G)
            out_depth = [depth[n] for n in G.nodes if kinds[n] == "output"]
            hid_depth = [depth[n] + 1 for n in G.nodes if kinds[n] == "hidden"]
            D = max(out_depth + hid_depth + [1])
            for n in pending:
                x = min(max(depth[n] / D, 0.05), 0.95)
                y = 0.05 + 0.9 * _frac(n * _GOLDEN)
                self._pos[n] = (float(x), float(y))
        return self.positions


__all__ = ["StableLayout", "as_graph"]
