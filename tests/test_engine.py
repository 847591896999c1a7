"""The engine interface: both engines satisfy the ``Engine`` protocol, signatures included, and
``make_engine`` builds either (its ``kernel`` option reaches the fast engine only)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from smgrnn_ref.config import AdamConfig, SPMConfig
from smgrnn_ref.engine import ENGINES, Engine, ReferenceEngine, make_engine
from smgrnn_ref.fast import FastEngine, available_kernels
from smgrnn_ref.graph import initial_graph

#: The protocol's members as documented (name, graph, structure, invalidate, forward,
#: train_step, spm_step), written out here so that a member dropped from the protocol fails.
PROPERTIES = ("graph", "structure")
METHODS = {
    "invalidate": ["self"],
    "forward": ["self", "X"],
    "train_step": ["self", "X", "expert_logits"],
    "spm_step": ["self", "t", "rng", "on_candidates"],
}


def _graph():
    return initial_graph(3, 2, rng=np.random.default_rng(0))


def _signature(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_the_protocol_declares_the_documented_members():
    assert "name" in Engine.__annotations__
    for name in PROPERTIES:
        assert isinstance(inspect.getattr_static(Engine, name), property), name
    for name, params in METHODS.items():
        assert [p for p, _, _ in _signature(getattr(Engine, name))] == params, name


@pytest.mark.parametrize("cls", [ReferenceEngine, FastEngine])
def test_both_engines_satisfy_the_protocol_with_its_signatures(cls):
    G = _graph()
    eng = cls(G, adam=AdamConfig(), spm=SPMConfig())
    assert isinstance(eng, Engine)
    assert isinstance(eng.name, str) and eng.name in ENGINES
    for name in PROPERTIES:
        assert isinstance(inspect.getattr_static(cls, name), property), name
        assert getattr(eng, name) is G
    for name in METHODS:
        assert _signature(getattr(cls, name)) == _signature(getattr(Engine, name)), name
    # and they do what the protocol says, the same way
    X, Y = np.random.default_rng(1).normal(size=(4, 3)), np.zeros((4, 2))
    assert eng.forward(X).shape == (4, 2)
    assert isinstance(eng.train_step(X, Y), float)
    assert isinstance(eng.spm_step(1, np.random.default_rng(2)), list)
    eng.invalidate()


def test_an_object_missing_a_member_is_not_an_engine():
    class NoSPM:
        name = "partial"
        graph = structure = None

        def invalidate(self): ...

        def forward(self, X): ...

        def train_step(self, X, expert_logits): ...

    assert not isinstance(NoSPM(), Engine)
    NoSPM.spm_step = lambda self, t, rng: []
    assert isinstance(NoSPM(), Engine)  # presence only: hence the signature checks above


def test_make_engine_builds_both_and_passes_the_kernel_to_the_fast_engine():
    adam, spm = AdamConfig(), SPMConfig()
    assert isinstance(make_engine("reference", _graph(), adam=adam, spm=spm), ReferenceEngine)
    assert isinstance(make_engine("reference", _graph(), adam=adam, spm=spm, kernel="auto"), ReferenceEngine)
    assert make_engine("fast", _graph(), adam=adam, spm=spm).kernel == available_kernels()[0]
    for kernel in available_kernels():
        assert make_engine("fast", _graph(), adam=adam, spm=spm, kernel=kernel).kernel == kernel
    with pytest.raises(ValueError, match="unknown kernel 'cuda'"):
        make_engine("fast", _graph(), adam=adam, spm=spm, kernel="cuda")
    for kernel in ("numba", "numpy", "cuda"):
        with pytest.raises(ValueError, match=f"kernel='{kernel}' applies to the fast engine only"):
            make_engine("reference", _graph(), adam=adam, spm=spm, kernel=kernel)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("turbo", _graph(), adam=adam, spm=spm)
