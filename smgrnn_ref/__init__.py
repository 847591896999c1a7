"""smgrnn_ref: reference implementation of the Self-Motivated Growing Neural Network.

SMGrNN (Jia & Zhou, "Self-Motivated Growing Neural Network for Adaptive Architecture via Local
Structural Plasticity", arXiv 2512.12713) is a neural controller whose topology grows and
shrinks while it learns, driven by a local Structural Plasticity Module (SPM).

The model is a ``networkx.DiGraph`` (:mod:`smgrnn_ref.graph`), evaluated in topological /
iterative order (:mod:`smgrnn_ref.evaluate`), trained with autograd gradients and an edge-local
optimizer (Adam, or SGD) (:mod:`smgrnn_ref.losses`, :mod:`smgrnn_ref.optim`, :mod:`smgrnn_ref.engine`).
"""

from .config import AdamConfig, GraphConfig, OptimizerConfig, SPMConfig
from .engine import ReferenceEngine
from .evaluate import compile_plan, forward, forward_params, node_values
from .graph import (
    add_edge,
    add_hidden_node,
    hidden_nodes,
    initial_graph,
    input_nodes,
    layered_graph,
    n_params,
    output_nodes,
    validate_graph,
)
from .io import load_graph, save_graph
from .params import get_params, param_keys, set_params

__version__ = "0.1.0"

#: Names served lazily by :func:`__getattr__`: the estimators need scikit-learn, an optional
#: extra (``pip install "smgrnn_ref[sklearn]"``), so importing the package must not import it.
_LAZY = {"SMGrNNClassifier": "estimators", "SMGrNNRegressor": "estimators"}


def __getattr__(name):
    """``from smgrnn_ref import SMGrNNClassifier`` imports :mod:`smgrnn_ref.estimators` on demand."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdamConfig",
    "OptimizerConfig",
    "GraphConfig",
    "SPMConfig",
    "ReferenceEngine",
    "compile_plan",
    "forward",
    "forward_params",
    "node_values",
    "add_edge",
    "add_hidden_node",
    "hidden_nodes",
    "initial_graph",
    "input_nodes",
    "layered_graph",
    "n_params",
    "output_nodes",
    "validate_graph",
    "load_graph",
    "save_graph",
    "get_params",
    "param_keys",
    "set_params",
]  # not the lazy estimators: ``import *`` must work without scikit-learn
