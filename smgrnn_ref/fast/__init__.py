"""The fast engine: the reference engine's arithmetic on arrays derived from the graph.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via
Local Structural Plasticity", arXiv 2512.12713) trains the weights of a growing directed graph
``G_t = (V_t, E_t)`` with Adam on a distillation loss while the Structural Plasticity Module
(SPM) edits the structure from windowed statistics of the weight updates ``Delta w_{k,t}`` (or,
by default here, of the negative gradients: ``SPMConfig.window_signal``, our choice).
:class:`smgrnn_ref.engine.ReferenceEngine` does this one node and one parameter at a time
(autograd, Python dicts, deques) and is the code to read; :class:`FastEngine` has the same
interface and produces the same losses, gradients, optimizer states, recorded windows and SPM
events **bit for bit**, many times faster: every sum is taken in the reference's order (the
order ``autograd`` accumulates the reverse pass in included, :mod:`~smgrnn_ref.fast.tape`), so
every number is a function of the graph and the step's inputs alone -- never of the arrays'
history (node positions kept by in-place edits, block layout, edge order), which is what
makes a resumed run (an engine built afresh from the saved graph) continue exactly.

What lives where (each module's docstring states the invariant it keeps):

=====================  ==========================================================================
module                 concern
=====================  ==========================================================================
``engine``             :class:`FastEngine`: the public surface, ``train_step``, ``spm_step``, the
                       lazy sync of the numbers back to the graph
``compiler``           the layout: node order (a constant-1 row, inputs, then blocks by level),
                       blocks, the parameter index arrays
``edits``              structure edits made in place: edges appended or deleted, relays spliced in
``state``              parameters, Adam moments and step counts, the ring buffers of the windows;
                       carry-over by key, reading new elements from the graph, writing back
``tape``               the kernels' program: instances, their sources in the reference's order,
                       and autograd's order of the reverse pass (simulated)
``kernel``             what a kernel is, and choosing one (``kernel="auto" | "numba" | "numpy"``)
``kernel_numba``       the compiled passes: one loop per instance over its sources
``kernel_numpy``       the numpy passes: one stage and source rank at a time, no BLAS
``loss``               the loss and ``dL/dlogits`` on the kernels' layout
``decisions``          the SPM's decisions (unstable edges, pruning candidates) vectorised over
                       the ring buffer, re-judged by the reference rules near a threshold
``validity``           the new-edge validity test with a topological-rank shortcut
=====================  ==========================================================================

How the arrays follow the graph
-------------------------------
The NetworkX graph stays the source of truth of the **structure**. At construction, after
:meth:`FastEngine.invalidate` and after a structural edit that needs it, the compiler derives
the layout, and the numeric state of every node and edge that survives moves with its key
(node id or ``(u, v)``), never re-read from the graph; new elements are read from the graph
(fresh Adam state, empty windows, the weights the SPM drew). Only what is needed is rebuilt:
random edges that run from an earlier block into a later one append parameter columns,
pruning outside cyclic blocks deletes columns, and a relay whose ends are at least two levels
apart is spliced into the node order where a full compile would put it; any other new or
removed node, or an edge that would break the schedule, derives the layout again.

The SPM step is :func:`smgrnn_ref.spm.spm_step` itself: the schedule, the random draws, the
argument checks and the edits are the reference's; the engine passes its vectorised decisions
and validity test (same answers) and then absorbs the returned events, so random draws, node
ids and events are identical.

Lazy synchronisation
--------------------
Training steps update the arrays only. Reading :attr:`FastEngine.graph` (or ``.G``) writes
every weight, bias, Adam moment and count, ``updates`` and ``activations`` window back into
the graph's attributes (the deque objects are refilled in place), so the graph then equals
the one the reference engine would hold after the same steps. This costs ``O(T (N + E))``;
read :attr:`FastEngine.structure` instead when only the structure is needed. After editing
the graph by hand (structure *or* attributes), call :meth:`FastEngine.invalidate` so the
arrays are derived again.

Examples
--------
>>> import numpy as np
>>> from smgrnn_ref.graph import initial_graph
>>> from smgrnn_ref.config import OptimizerConfig, SPMConfig
>>> from smgrnn_ref.engine import ReferenceEngine
>>> G = initial_graph(3, 2, rng=np.random.default_rng(0))
>>> ref = ReferenceEngine(G.copy(), optimizer=OptimizerConfig(), spm=SPMConfig())
>>> fast = FastEngine(G.copy(), optimizer=OptimizerConfig(), spm=SPMConfig())
>>> rng = np.random.default_rng(1)
>>> X, target = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
>>> ref.train_step(X, target) == fast.train_step(X, target)
True
>>> bool(np.array_equal(ref.forward(X), fast.forward(X)))
True
"""

from .decisions import DECISION_MARGIN
from .engine import FastEngine
from .kernel import available_kernels
from .validity import RankedValidity

__all__ = ["FastEngine", "RankedValidity", "DECISION_MARGIN", "available_kernels"]
