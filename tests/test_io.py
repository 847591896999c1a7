"""Save / load: exact round trip and clear errors on malformed files."""

import json

import numpy as np
import pytest

from smgrnn_ref.config import AdamConfig, SPMConfig
from smgrnn_ref.engine import ReferenceEngine
from smgrnn_ref.evaluate import forward
from smgrnn_ref.graph import add_edge, add_hidden_node, initial_graph
from smgrnn_ref.io import graph_to_dict, load_graph, save_graph


def _trained_graph():
    rng = np.random.default_rng(3)
    G = initial_graph(3, 2, rng=rng, T=5)
    h = add_hidden_node(G, bias=0.1)
    add_edge(G, 0, h, 0.2)
    add_edge(G, h, 3, -0.4)
    dead = add_hidden_node(G)
    G.remove_node(dead)  # the id counter must remember it
    eng = ReferenceEngine(G, adam=AdamConfig(lr=0.03), spm=SPMConfig(T=5))
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    for _ in range(7):  # more steps than T: the deques are full and have rolled
        eng.train_step(X, Y)
    return G


def test_round_trip_is_exact(tmp_path):
    G = _trained_graph()
    H = load_graph(save_graph(G, tmp_path / "g.json"))
    assert H.graph == G.graph
    assert list(H.nodes) == list(G.nodes) and list(H.edges) == list(G.edges)
    for n in G:
        assert H.nodes[n].keys() == G.nodes[n].keys()
        for k, v in G.nodes[n].items():
            if k == "activations":
                assert list(H.nodes[n][k]) == list(v) and H.nodes[n][k].maxlen == v.maxlen
            else:
                assert H.nodes[n][k] == v and type(H.nodes[n][k]) is type(v)
    for u, v in G.edges:
        for k, x in G.edges[u, v].items():
            if k == "updates":
                assert list(H.edges[u, v][k]) == list(x) and H.edges[u, v][k].maxlen == x.maxlen
            else:
                assert H.edges[u, v][k] == x
    X = np.random.default_rng(0).normal(size=(10, 3))
    assert np.array_equal(forward(H, X), forward(G, X))


def test_loaded_graph_continues_training_identically(tmp_path):
    G = _trained_graph()
    H = load_graph(save_graph(G, tmp_path / "g.json"))
    X, Y = np.ones((2, 3)), np.zeros((2, 2))
    for g in (G, H):
        ReferenceEngine(g, adam=AdamConfig(lr=0.03), spm=SPMConfig(T=5)).train_step(X, Y)
    assert [G.edges[e]["weight"] for e in G.edges] == [H.edges[e]["weight"] for e in G.edges]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d.update(version=99), "version"),
        (lambda d: d["nodes"][0].pop("kind"), "lacks 'kind'"),
        (lambda d: d["nodes"][-1].update(kind="ghost"), "unknown kind"),
        (lambda d: d["edges"][0].update(target=12345), "unknown node"),
        (lambda d: d["edges"][0].update(weight="heavy"), "weight"),
        (lambda d: d["edges"][0].update(updates=[1.0, "x"]), "non-number"),
        (lambda d: d["nodes"].append(dict(d["nodes"][0])), "twice"),
        (lambda d: d["graph"].pop("T"), "lacks 'T'"),
    ],
)
def test_malformed_files_raise_clear_errors(tmp_path, mutate, message):
    data = graph_to_dict(_trained_graph())
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        load_graph(path)


def test_not_json_raises(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "smgrnn_ref.graph", "nodes": [')
    with pytest.raises(ValueError, match="not valid JSON"):
        load_graph(path)


def test_no_pickle_in_the_package():
    import pathlib

    import smgrnn_ref

    for py in pathlib.Path(smgrnn_ref.__file__).parent.glob("*.py"):
        text = py.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, py


# ------------------------------------------------------------------ hostile graph files (issue 19)


def _first_param_node(d):
    return next(n for n in d["nodes"] if n["kind"] != "input")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["edges"][0].update(weight=10**400), "not a finite number"),
        (lambda d: _first_param_node(d).update(bias=-(10**400)), "not a finite number"),
        (lambda d: d["edges"][0].update(updates=[0.1, 10**400]), "not a finite number"),
        (lambda d: d["edges"][0].update(adam_m=float("nan")), "not a finite number"),
        (lambda d: d["edges"][0].update(adam_v=-1e-3), "'adam_v' must be >= 0"),
        (lambda d: _first_param_node(d).update(adam_v=float("inf")), "not a finite number"),
        (lambda d: d["edges"][0].update(adam_t=-1), "'adam_t' must be in"),
        (lambda d: d["edges"][0].update(adam_t=10**30), "'adam_t' must be in"),
        (lambda d: d["nodes"][0].update(id=-1), "'id' must be in"),
        (lambda d: d["graph"].update(next_id=10**30), "'next_id' must be in"),
        (lambda d: d["graph"].update(T=10**12), "'T' must be in \\[2, 10000\\]"),
        (lambda d: d["graph"].update(T=1), "'T' must be in"),
        (lambda d: d["edges"][0].update(updates=[0.0] * 6), "more than T=5"),
        (lambda d: d["nodes"][0].update(index=-2), "'index' must be in"),
    ],
)
def test_hostile_numbers_raise_clear_errors(tmp_path, mutate, message):
    data = graph_to_dict(_trained_graph())
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message) as err:
        load_graph(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_window_longer_than_the_engines_allow_is_refused_in_a_config():
    from smgrnn_ref.config import MAX_T

    assert SPMConfig(T=MAX_T).T == MAX_T
    with pytest.raises(ValueError, match="SPMConfig.T must be in \\[2, 10000\\], got 1000000000000"):
        SPMConfig(T=10**12)
