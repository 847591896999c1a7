"""What a kernel of the fast engine is: the forward and backward passes over a layout.

Invariant kept: **a kernel's derived arrays always follow the engine's current layout**. The
engine tells it about every change: :meth:`Kernel.compile` after a new node order (a compile or
a relay splice), :meth:`Kernel.reindex` after the parameter list changed with the node order
kept (edges appended or deleted in place). The parameters themselves are read from ``theta`` at
every pass.

Two kernels implement it, both running the program of :mod:`smgrnn_ref.fast.tape` (the
reference engine's arithmetic in the reference's order):
:mod:`smgrnn_ref.fast.kernel_numba` (a compiled loop over the instances, the default when
numba can be imported) and :mod:`smgrnn_ref.fast.kernel_numpy` (numpy element-wise operations,
one stage and source rank at a time). They give the same bits as each other and as the
reference engine (``tests/test_fast.py``, ``tests/test_fast_exact.py``).
"""

from __future__ import annotations

import numpy as np

#: Work-array sets kept per kernel, one per batch size: acting (batch 1), training and
#: evaluation use a few sizes; more than this and the cache starts again (memory, not speed).
MAX_BATCH_SIZES = 4

#: Names accepted by :func:`make_kernel` (``FastEngine(kernel=...)``).
KERNEL_NAMES = ("auto", "numba", "numpy")


class Kernel:
    """The interface (and the per-batch-size work-array cache) of a kernel.

    Parameters
    ----------
    sweeps : int
        ``K``: synchronous sweeps inside a cyclic block (``SPMConfig.sweeps``).
    """

    #: ``"numba"`` or ``"numpy"``.
    name = ""

    def __init__(self, sweeps: int):
        self.sweeps = int(sweeps)
        self.layout = None
        self._buffers = {}

    def buffers(self, batch: int):
        """The work arrays for ``batch`` rows (built on first use for this layout)."""
        bf = self._buffers.get(batch)
        if bf is None:
            if len(self._buffers) >= MAX_BATCH_SIZES:
                self._buffers.clear()
            bf = self._buffers[batch] = self._new_buffers(batch)
        return bf

    def compile(self, layout, theta: np.ndarray) -> None:
        """A new node order: forget the work arrays, derive everything from ``layout``."""
        self._buffers = {}
        self.reindex(layout, theta)

    def reindex(self, layout, theta: np.ndarray) -> None:
        """The parameter list changed, the node order did not."""
        raise NotImplementedError

    def forward(self, X: np.ndarray, theta: np.ndarray):
        """Evaluate every node for the batch ``X`` (``batch x n_inputs``); return the work
        arrays, whose ``A`` (``rows x batch``) holds the values, rows ``0..N-1`` by position
        (each node's last instance, :mod:`smgrnn_ref.fast.tape`)."""
        raise NotImplementedError

    def backward(self, bf, dout: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """The gradient w.r.t. ``theta`` given ``dL/dlogits`` ``dout`` (``n_out x batch``,
        output index order) and the work arrays of the forward pass just run."""
        raise NotImplementedError

    def _new_buffers(self, batch: int):
        raise NotImplementedError


def make_kernel(name: str, sweeps: int) -> Kernel:
    """The kernel called ``name``.

    Parameters
    ----------
    name : {"auto", "numba", "numpy"}
        ``"auto"``: numba when it can be imported, else numpy.
    sweeps : int
        ``K`` for cyclic blocks.

    Returns
    -------
    Kernel

    Raises
    ------
    ValueError
        For an unknown name.
    ImportError
        For ``"numba"`` when numba cannot be imported.
    """
    from .kernel_numba import NumbaKernel, compiled_kernels
    from .kernel_numpy import NumpyKernel

    if name not in KERNEL_NAMES:
        raise ValueError(f"unknown kernel {name!r}; known: {list(KERNEL_NAMES)}")
    if name != "numpy" and compiled_kernels() is not None:
        return NumbaKernel(sweeps)
    if name == "numba":
        raise ImportError("kernel='numba' needs numba (pip install numba)")
    return NumpyKernel(sweeps)


def available_kernels() -> tuple[str, ...]:
    """The kernels that can run here: ``("numba", "numpy")``, or ``("numpy",)`` without numba.

    >>> "numpy" in available_kernels()
    True
    """
    from .kernel_numba import compiled_kernels

    return ("numba", "numpy") if compiled_kernels() is not None else ("numpy",)


__all__ = ["MAX_BATCH_SIZES", "KERNEL_NAMES", "Kernel", "make_kernel", "available_kernels"]
