"""Decision-boundary frames beside the topology: files, sizes, the shared layout, bad input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

pytest.importorskip("sklearn")
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from smgrnn_ref.datasets import make_playground  # noqa: E402
from smgrnn_ref.estimators import SMGrNNClassifier  # noqa: E402
from smgrnn_ref.viz import snapshot, snapshots_layout  # noqa: E402
from smgrnn_ref.viz_boundary import animate_boundary, plot_boundary, render_boundary_frames  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    X, y = make_playground("xor", 120, noise=0.0, random_state=0)
    model = make_pipeline(StandardScaler(), SMGrNNClassifier(
        max_iter=6, batch_size=16, record_every=8, lambda_edge=0.0, T=8, random_state=0, lr=0.02))
    return model.fit(X, y), X, y


def test_frames_one_per_record_same_size_and_a_gif(fitted, tmp_path):
    model, X, y = fitted
    est = model[-1]
    steps = [r["step"] for r in est.history_]
    assert steps[0] == 0 and steps[-1] == est.n_steps_ == 48 and len(steps) == 7  # 0, 8, ..., 48
    assert est.n_hidden_nodes_ > 0  # the graph grew, so the frames differ on the right too
    layout = snapshots_layout([snapshot(r["graph"], r["step"]) for r in est.history_])
    paths = render_boundary_frames(model, X, y, tmp_path / "f", dpi=40, layout=layout)
    assert [p.name for p in paths] == [f"frame_{i:04d}.png" for i in range(7)]
    sizes = {Image.open(p).size for p in paths}
    assert len(sizes) == 1
    # the shared layout knows every recorded graph: the final graph's nodes are placed
    assert set(est.history_[-1]["graph"].nodes) <= set(layout.positions)
    thin = render_boundary_frames(model, X, y, tmp_path / "g", every=3, dpi=40)
    assert len(thin) == 3  # records 0, 3 and 6 (the last is always kept)
    gif = animate_boundary(model, X, y, tmp_path / "b.gif", dpi=40, every=2)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 4


def test_boundary_panel_matches_the_models_predictions(fitted):
    import matplotlib.pyplot as plt

    model, X, y = fitted
    fig, ax = plt.subplots()
    plot_boundary(model, X, y, ax=ax, resolution=30)
    plot_boundary(model, X, y, ax=ax, record=0, resolution=30)
    plt.close(fig)
    # a recorded step's probabilities are those of its frozen graph: the last record is the model
    est = model[-1]
    Z = model[:-1].transform(X)
    last = list(est.staged_predict_proba(Z))[-1][1]
    np.testing.assert_allclose(last, model.predict_proba(X), atol=1e-12)


def test_bad_input_is_refused(fitted, tmp_path):
    model, X, y = fitted
    with pytest.raises(ValueError, match="2-D inputs"):
        plot_boundary(model, np.c_[X, X], y)
    with pytest.raises(ValueError, match="record 99 is not in history_"):
        plot_boundary(model, X, y, record=99)
    with pytest.raises(ValueError, match="writes a .gif"):
        animate_boundary(model, X, y, tmp_path / "b.mp4")
    with pytest.raises(ValueError, match="every must be a positive integer"):
        render_boundary_frames(model, X, y, tmp_path, every=0)
    plain = SMGrNNClassifier(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="fit it with record_every"):
        render_boundary_frames(plain, X, y, tmp_path)
    with pytest.raises(ValueError, match="fitted SMGrNNClassifier"):
        plot_boundary(StandardScaler().fit(X), X, y)
