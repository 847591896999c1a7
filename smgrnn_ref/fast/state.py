"""The numeric state of the fast engine: parameters, optimizer state, recorded windows.

Invariant kept: **a carried element's state is never re-read from the graph**. The state of a
node or edge is read from its graph attributes once, when it becomes new to the arrays (at
construction, :meth:`FastEngine.invalidate`, or when the SPM creates it); from then on the
arrays are ahead of the graph, which receives every value back on :meth:`NumericState.write_back`
(the engine's lazy synchronisation). Across a compile the state moves with its key (node id
or edge ``(u, v)``), whatever position or column the element gets.

The arrays, for a layout with ``nb`` biases and ``E`` edges:

* ``theta`` (``nb + E``): the biases in position order, then the weights in the layout's edge
  order, with the optimizer state alongside -- ``m``, ``v`` and per-parameter step counts
  ``t``, the graph's ``adam_m``, ``adam_v``, ``adam_t`` (Adam's moments; SGD's momentum buffer
  in ``m``, see :mod:`smgrnn_ref.optim`) -- so one optimizer step is a handful of vectorised
  operations (:meth:`NumericState.optimizer_step`);
* ring buffers ``updates`` (``T x E``) of the last ``T`` applied weight changes of every edge
  and ``activations`` (``T x nb``) of the recorded batch-mean activations, one row per
  training step for every column at once (the next rows to write: ``update_row``,
  ``activation_row``), with a per-column fill count (``update_count``, ``activation_count``:
  how many of the rows are the column's own; a relay's refractory clear sets it to zero).
"""

from __future__ import annotations

import numpy as np

from ..optim import bias_correction
from .decisions import ring_rows

#: Smallest length of the ``1 - beta^t`` tables (they double when a step count outgrows them).
MIN_BIAS_TABLE = 1024


class NumericState:
    """Parameters, optimizer state and ring buffers (see the module docstring).

    Parameters
    ----------
    T : int
        Window length.
    optimizer : OptimizerConfig
    """

    def __init__(self, T: int, optimizer):
        self.T, self.optimizer = int(T), optimizer
        # tables of Adam's 1 - beta^t, each entry optim.bias_correction itself (repeated
        # multiplication would drift from beta^t in the last bits)
        self.bias_correction1 = np.ones(1)
        self.bias_correction2 = np.ones(1)
        self.t_max = 0  # the largest step count (indexes the tables)
        self.activation_row = self.update_row = 0
        self.theta = self.m = self.v = np.empty(0)
        self.t = np.empty(0, dtype=np.int64)
        self.updates, self.update_count = np.zeros((self.T, 0)), np.zeros(0, dtype=np.int64)
        self.activations, self.activation_count = np.zeros((self.T, 0)), np.zeros(0, dtype=np.int64)

    @property
    def n_biases(self) -> int:
        """Biases at the front of ``theta``: one per column of ``activations``."""
        return self.activation_count.shape[0]

    # --- reading elements new to the arrays ---------------------------------------------

    def _read(self, attrs: list, value: str, window: str, ptr: int):
        """The state of elements new to the arrays, from their graph attribute dicts ``attrs``:
        ``value`` (``"bias"`` or ``"weight"``), Adam ``m``, ``v``, ``t``, the ``window`` deque
        (``"activations"`` or ``"updates"``) as ``T x n`` ring-buffer columns ending before
        row ``ptr``, and the windows' fill counts."""
        n = len(attrs)
        x, m, v = np.empty(n), np.empty(n), np.empty(n)
        t = np.empty(n, dtype=np.int64)
        cols, counts = np.zeros((self.T, n)), np.zeros(n, dtype=np.int64)
        for c, d in enumerate(attrs):
            x[c], m[c], v[c], t[c] = d[value], d["adam_m"], d["adam_v"], d["adam_t"]
            hist = list(d[window])
            counts[c] = len(hist)
            if hist:
                cols[ring_rows(len(hist), ptr, self.T), c] = hist
        return x, m, v, t, cols, counts

    def read_nodes(self, G, ids):
        """:meth:`_read` of nodes ``ids``: bias and activation window."""
        return self._read([G.nodes[n] for n in ids], "bias", "activations", self.activation_row)

    def read_edges(self, G, edges):
        """:meth:`_read` of ``edges``: weight and update window."""
        return self._read([G.edges[a, b] for a, b in edges], "weight", "updates", self.update_row)

    # --- after a compile: carry over by key, read the rest ------------------------------

    def rebuild(self, G, layout, node_src: np.ndarray, edge_src: np.ndarray) -> None:
        """New arrays for ``layout``: bias ``i`` continues old bias ``node_src[i]`` and column
        ``k`` old column ``edge_src[k]`` (carried columns first); ``-1`` is read from ``G``."""
        nb, E = layout.n_biases, layout.n_edges
        P = nb + E
        theta, m, v = np.empty(P), np.empty(P), np.empty(P)
        t = np.empty(P, dtype=np.int64)
        U, ucount = np.zeros((self.T, E)), np.zeros(E, dtype=np.int64)
        Act, acount = np.zeros((self.T, nb)), np.zeros(nb, dtype=np.int64)
        old_nb = self.n_biases
        # kept nodes: their bias, optimizer state and activation window
        keep = np.nonzero(node_src >= 0)[0]
        if keep.size:
            old = node_src[keep]
            for new_a, old_a in ((theta, self.theta), (m, self.m), (v, self.v), (t, self.t)):
                new_a[keep] = old_a[old]
            Act[:, keep] = self.activations[:, old]
            acount[keep] = self.activation_count[old]
        new = np.nonzero(node_src < 0)[0]
        if new.size:
            theta[new], m[new], v[new], t[new], Act[:, new], acount[new] = \
                self.read_nodes(G, [layout.nodes[layout.n_fixed + i] for i in new.tolist()])
        # kept edges: weight, optimizer state and update window
        n = int((edge_src >= 0).sum())  # carried edges are the first n (the layout's edge order)
        if n:
            old = edge_src[:n]
            for new_a, old_a in ((theta, self.theta), (m, self.m), (v, self.v), (t, self.t)):
                new_a[nb:nb + n] = old_a[old_nb + old]
            # no edge removed since the last compile (e.g. a relay step): one slice copy
            same = n == self.updates.shape[1] and bool((old == np.arange(n)).all())
            U[:, :n] = self.updates if same else self.updates[:, old]
            ucount[:n] = self.update_count[old]
        new = np.nonzero(edge_src < 0)[0]
        if new.size:
            j = nb + new
            theta[j], m[j], v[j], t[j], U[:, new], ucount[new] = \
                self.read_edges(G, [layout.edges[k] for k in new.tolist()])
        self.theta, self.m, self.v, self.t = theta, m, v, t
        self.updates, self.update_count, self.activations, self.activation_count = U, ucount, Act, acount
        self.t_max = int(t.max(initial=0))
        self.ensure_bias_tables(self.t_max + 1)

    # --- in-place edits ---------------------------------------------------------------------

    def append_edges(self, G, edges) -> None:
        """Columns for new ``edges`` at the end (weights and state read from the graph)."""
        w, m, v, t, cols, counts = self.read_edges(G, edges)
        self.theta = np.concatenate((self.theta, w))
        self.m = np.concatenate((self.m, m))
        self.v = np.concatenate((self.v, v))
        self.t = np.concatenate((self.t, t))
        self.updates = np.concatenate((self.updates, cols), axis=1)
        self.update_count = np.concatenate((self.update_count, counts))
        self.t_max = max(self.t_max, int(t.max(initial=0)))
        self.ensure_bias_tables(self.t_max + 1)

    def insert_nodes(self, G, ids, at: np.ndarray) -> None:
        """Biases for new nodes ``ids``, inserted before bias indices ``at`` (ascending, as
        :func:`numpy.insert` takes them); state read from the graph."""
        old_nb = self.n_biases

        def spliced(a, values):
            return np.concatenate((np.insert(a[:old_nb], at, values), a[old_nb:]))

        bias, m, v, t, cols, counts = self.read_nodes(G, ids)
        self.theta, self.m, self.v, self.t = (spliced(a, x) for a, x in
                                              ((self.theta, bias), (self.m, m), (self.v, v), (self.t, t)))
        self.activations = np.insert(self.activations, at, cols, axis=1)
        self.activation_count = np.insert(self.activation_count, at, counts)
        self.t_max = max(self.t_max, int(t.max(initial=0)))
        self.ensure_bias_tables(self.t_max + 1)

    def keep_params(self, keep: np.ndarray) -> None:
        """Delete the parameters (and, for weights, their windows) where ``keep`` is False."""
        keep_edges = keep[self.n_biases:]
        self.theta, self.m, self.v, self.t = (a[keep] for a in (self.theta, self.m, self.v, self.t))
        self.updates, self.update_count = self.updates[:, keep_edges], self.update_count[keep_edges]

    # --- training ---------------------------------------------------------------------------

    def record_activations(self, values: np.ndarray, batch: int) -> None:
        """Append every node's batch-mean activation (``values``: ``nb x batch``) to its window."""
        # sum / batch, as np.mean computes it
        np.divide(values.sum(axis=1), batch, out=self.activations[self.activation_row])
        np.minimum(self.activation_count + 1, self.T, out=self.activation_count)
        self.activation_row = (self.activation_row + 1) % self.T

    def optimizer_step(self, g: np.ndarray, record: str = "update") -> None:
        """One optimizer step on every parameter with gradient ``g``; every edge's window
        records its applied change ``Delta w`` (``record="gradient"``: ``-g``, as
        :func:`smgrnn_ref.optim.optimizer_step`).

        The same floating-point operations in the same order as
        :func:`smgrnn_ref.optim.adam_update` / :func:`smgrnn_ref.optim.sgd_update`, so the
        results are bit-for-bit the reference's.
        """
        self.t += 1
        self.t_max += 1  # the largest step count: every count grew by one
        delta = self._adam_delta(g) if self.optimizer.name == "adam" else self._sgd_delta(g)
        self.theta += delta
        # Delta w_{k,t}: every edge's window gets this step's change (or -g: SPMConfig.window_signal)
        self.updates[self.update_row] = delta[self.n_biases:] if record == "update" else -g[self.n_biases:]
        np.minimum(self.update_count + 1, self.T, out=self.update_count)
        self.update_row = (self.update_row + 1) % self.T

    def _sgd_delta(self, g: np.ndarray) -> np.ndarray:
        """SGD's ``Delta`` (:func:`smgrnn_ref.optim.sgd_update`); the buffer lives in ``m``."""
        a, buf = self.optimizer, self.m
        # buf <- mu buf + g
        buf *= a.momentum
        buf += g
        # Delta = -lr buf
        return -a.lr * buf

    def _adam_delta(self, g: np.ndarray) -> np.ndarray:
        """Adam's ``Delta`` (:func:`smgrnn_ref.optim.adam_update`), the moments updated."""
        a, m, v, t = self.optimizer, self.m, self.v, self.t
        if self.t_max >= len(self.bias_correction1):
            self.ensure_bias_tables(self.t_max)
        # m <- beta1 m + (1 - beta1) g
        m *= a.beta1
        m += (1.0 - a.beta1) * g
        # v <- beta2 v + (1 - beta2) g g
        v *= a.beta2
        v += (1.0 - a.beta2) * g * g
        # Delta = -lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - beta1^t),  v_hat likewise
        delta = m / self.bias_correction1[t]
        delta *= -a.lr
        den = v / self.bias_correction2[t]
        np.sqrt(den, out=den)
        den += a.eps
        delta /= den
        return delta

    def ensure_bias_tables(self, t_max: int) -> None:
        """Extend the ``1 - beta^t`` tables to cover step counts up to ``t_max`` (Adam only)."""
        n = len(self.bias_correction1)
        if t_max < n or self.optimizer.name != "adam":
            return
        n_new = max(2 * n, t_max + 1, MIN_BIAS_TABLE)
        b1, b2 = self.optimizer.beta1, self.optimizer.beta2
        # the very function optim.adam_update calls
        self.bias_correction1 = np.array([bias_correction(b1, k) for k in range(n_new)])
        self.bias_correction2 = np.array([bias_correction(b2, k) for k in range(n_new)])

    # --- writing back ---------------------------------------------------------------------

    def _chronological(self, buf: np.ndarray, counts: np.ndarray, ptr: int) -> list:
        """Per column, the list of its last ``count`` entries, oldest first."""
        T = self.T
        ordered = buf[ring_rows(T, ptr, T)].T.tolist()  # (columns, T), oldest first
        return [row[T - c:] if c else [] for row, c in zip(ordered, counts.tolist())]

    def write_back(self, G, layout) -> None:
        """Write every numeric attribute into the graph's node and edge dicts (the deques are
        refilled in place)."""
        nb = self.n_biases
        theta, m, v, t = (a.tolist() for a in (self.theta, self.m, self.v, self.t))
        acts = self._chronological(self.activations, self.activation_count, self.activation_row)
        for i, n in enumerate(layout.nodes[layout.n_fixed:]):
            d = G.nodes[n]
            d["bias"], d["adam_m"], d["adam_v"], d["adam_t"] = theta[i], m[i], v[i], t[i]
            d["activations"].clear()
            d["activations"].extend(acts[i])
        ups = self._chronological(self.updates, self.update_count, self.update_row)
        for k, (a, b) in enumerate(layout.edges):
            d = G.edges[a, b]
            j = nb + k
            d["weight"], d["adam_m"], d["adam_v"], d["adam_t"] = theta[j], m[j], v[j], t[j]
            d["updates"].clear()
            d["updates"].extend(ups[k])


__all__ = ["MIN_BIAS_TABLE", "NumericState"]
