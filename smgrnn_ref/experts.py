"""Expert policies (teachers for distillation) as plain numpy arrays.

SMGrNN students are trained by distilling an expert policy (Jia & Zhou, "Self-Motivated
Growing Neural Network for Adaptive Architecture via Local Structural Plasticity",
arXiv 2512.12713: the student imitates an expert through a supervised loss ``L_t``).
The paper does not ship its experts and nothing can be downloaded at run time, so this
project trains its own experts once (stable-baselines3 with the hyperparameters of
rl-baselines3-zoo, see :mod:`smgrnn_ref.expert_training` and ``docs/experts.md``) and
ships each one as two files in ``smgrnn_ref/data/experts/`` (a user's own model is
converted to the same two files by :mod:`smgrnn_ref.expert_import`):

``<EnvId>.npz``
    Arrays only (loaded with ``allow_pickle=False``): ``W0, b0, ..., W{L-1}, b{L-1}``
    with ``W_l`` of shape ``(fan_in, fan_out)`` so that a layer is ``x @ W_l + b_l``;
    ``obs_mean`` and ``obs_var`` when the expert normalises its observations;
    ``action_low`` and ``action_high`` for a continuous (``Box``) action space.
``<EnvId>.json``
    Metadata: env id, layer sizes, activation, observation normalisation, the action
    space, what the output is and how it maps to an action, training details, measured
    return, and the sha256 of the ``.npz`` file (checked on load, so a corrupted file is
    detected).

The forward pass is ``x = clip((obs - obs_mean) / sqrt(obs_var + epsilon), -clip, clip)``
(only when normalisation is enabled), then ``x = act(x @ W_l + b_l)`` for every hidden
layer and ``y = x @ W_{L-1} + b_{L-1}`` for the last one. What ``y`` means depends on the
action space:

* ``Discrete(n)``: ``y`` are the **logits of a categorical action distribution**
  (:meth:`Expert.logits`, :meth:`Expert.probs`); the greedy action is ``argmax(y)``.
* ``Box(low, high, (d,))``: ``y`` is mapped to a **deterministic action** by the output
  transform named in the metadata (:meth:`Expert.action`):

  - ``"tanh_rescale"`` (the squashed Gaussian of SAC, the tanh output of TD3):
    ``a = low + (tanh(y) + 1) / 2 * (high - low)``, optionally after ``y = clip(y, -c, c)``
    (SAC with gSDE clips its mean to ``c``);
  - ``"clip"`` (the Gaussian mean of PPO and A2C): ``a = clip(y, low, high)``.

Callers always pass **raw** environment observations: the expert applies its own
normalisation, so a student that imitates it sees the same raw observations as the
environment produces. A NaN or infinite observation is refused with a ``ValueError``.

This module needs numpy only (gymnasium is imported lazily by :func:`evaluate_expert`).

Examples
--------
>>> expert = load_expert("CartPole-v1")
>>> expert.n_inputs, expert.n_actions, expert.action_space.kind
(4, 2, 'discrete')
>>> expert.act([0.0, 0.0, 0.05, 0.0]) in (0, 1)
True
>>> pendulum = load_expert("Pendulum-v1")
>>> pendulum.action_space
ActionSpace(kind='box', n=1, low=[-2.0], high=[2.0])
>>> a = pendulum.act([1.0, 0.0, 0.0])
>>> a.shape, bool(-2.0 <= a[0] <= 2.0)
((1,), True)
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import numerics
from smgrnn_ref.action_space import OUTPUT_TRANSFORMS, ActionSpace, apply_transform, validate_head

__all__ = [
    "SHIPPED_EXPERTS",
    "SUPPORTED_ENVS",
    "EXPERT_DIR",
    "ACTIVATIONS",
    "OUTPUT_TRANSFORMS",
    "ActionSpace",
    "Expert",
    "load_expert",
    "load_expert_file",
    "export_expert",
    "evaluate_expert",
]

SHIPPED_EXPERTS: tuple[str, ...] = (
    "CartPole-v1",
    "Acrobot-v1",
    "LunarLander-v3",
    "Pendulum-v1",
    "LunarLanderContinuous-v3",
)
"""Environment ids for which an expert is shipped with the package (:func:`load_expert`)."""

SUPPORTED_ENVS: tuple[str, ...] = ("CartPole-v1", "Acrobot-v1", "LunarLander-v3")
"""The shipped experts with a discrete action space (once the env ids distillation accepted;
it now takes any env and teacher: :mod:`smgrnn_ref.teachers`)."""

EXPERT_DIR: Path = Path(__file__).resolve().parent / "data" / "experts"
"""Folder holding the shipped ``<EnvId>.npz`` / ``<EnvId>.json`` pairs."""

ACTIVATIONS: dict[str, Any] = {
    # numerics.tanh, not numpy's: the same bits on every machine (numpy's depends on the CPU)
    "tanh": numerics.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "identity": lambda x: x,
}
"""Hidden-layer activations understood by the loader (the output layer is linear)."""

FORMAT_VERSION = 2
"""Version written by :func:`export_expert`. Version 1 (discrete experts only, no
``action_space`` in the metadata) is still read: its output is logits."""

OUTPUT_MEANING = {
    "discrete": "logits of a categorical action distribution",
    "box": "deterministic action, after output_transform",
}
V1_OUTPUT = OUTPUT_MEANING["discrete"]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name).

    Independent of the zip container (whose timestamps change at every export), so two
    exports of identical weights have the same digest: used to check reproducibility.
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Expert:
    """A fixed MLP policy over raw observations: action logits, or a deterministic action.

    Build one with :func:`load_expert` (shipped experts) or :func:`load_expert_file`.

    Parameters
    ----------
    layers : sequence of (W, b)
        ``W`` of shape ``(fan_in, fan_out)``, ``b`` of shape ``(fan_out,)``.
    activation : str
        Hidden activation, a key of :data:`ACTIVATIONS`; the last layer is linear.
    obs_norm : dict or None
        ``{"mean", "var", "epsilon", "clip"}`` applied to raw observations as
        ``clip((obs - mean) / sqrt(var + epsilon), -clip, clip)``; ``None`` for none.
    metadata : dict
        The JSON metadata (``env_id`` etc.).
    action_space : ActionSpace, optional
        Default: ``Discrete(fan_out of the last layer)`` (the output is logits).
    output_transform : {"tanh_rescale", "clip"}, optional
        Required for a box action space, refused for a discrete one (see
        :data:`OUTPUT_TRANSFORMS`).
    pre_clip : float, optional
        ``tanh_rescale`` only: clip the raw output to ``[-pre_clip, pre_clip]`` first.

    Attributes
    ----------
    env_id : str or None
    metadata : dict
    action_space : ActionSpace
    output_transform : str or None
    n_inputs : int
        Observation size.
    n_actions : int
        Width of the output: number of discrete actions, or the action dimension of a box.

    Examples
    --------
    >>> W0 = np.array([[1.0], [0.0]]); b0 = np.zeros(1)
    >>> W1 = np.array([[1.0, -1.0]]); b1 = np.zeros(2)
    >>> e = Expert([(W0, b0), (W1, b1)], "tanh", None, {"env_id": "Toy-v0"})
    >>> e.n_inputs, e.n_actions
    (2, 2)
    >>> np.round(e.logits(np.array([[0.5, 3.0]])), 4)
    array([[ 0.4621, -0.4621]])
    >>> e.act([0.5, 3.0])
    0

    The same network as a continuous expert on ``Box([-2, 0], [2, 1])``:

    >>> box = ActionSpace("box", 2, np.array([-2.0, 0.0]), np.array([2.0, 1.0]))
    >>> c = Expert([(W0, b0), (W1, b1)], "tanh", None, {"env_id": "Toy-v0"}, box, "clip")
    >>> np.round(c.action(np.array([[0.5, 3.0]])), 4)
    array([[0.4621, 0.    ]])
    >>> c.act([float("nan"), 0.0])
    Traceback (most recent call last):
    ...
    ValueError: expert for 'Toy-v0' got a non-finite observation (NaN or inf): [nan, 0.0]
    """

    def __init__(
        self,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: str,
        obs_norm: Mapping[str, Any] | None,
        metadata: Mapping[str, Any],
        action_space: ActionSpace | None = None,
        output_transform: str | None = None,
        pre_clip: float | None = None,
    ):
        self.metadata = dict(metadata)
        self.env_id = self.metadata.get("env_id")
        self._layers, self._act, self._norm = _validate_parts(layers, activation, obs_norm)
        self.activation = activation
        self.n_inputs = int(self._layers[0][0].shape[0])
        self.n_actions = int(self._layers[-1][0].shape[1])
        if action_space is None:
            action_space = ActionSpace("discrete", self.n_actions)
        self.action_space = action_space
        self.output_transform, self.pre_clip = validate_head(
            action_space, output_transform, pre_clip, self.n_actions
        )

    @property
    def is_discrete(self) -> bool:
        """True when the output is logits over ``Discrete(n)`` actions."""
        return self.action_space.is_discrete

    @property
    def layer_sizes(self) -> list[int]:
        """``[n_inputs, hidden..., n_actions]``."""
        return [self.n_inputs] + [int(W.shape[1]) for W, _ in self._layers]

    @property
    def obs_norm(self) -> dict[str, Any] | None:
        """Copy of the observation normalisation (``None`` when not used)."""
        if self._norm is None:
            return None
        mean, var, eps, clip = self._norm
        return {"mean": mean.copy(), "var": var.copy(), "epsilon": eps, "clip": clip}

    def _check_batch(self, obs_batch) -> np.ndarray:
        x = np.asarray(obs_batch, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(
                f"expert for {self.env_id!r} expects a batch of observations of shape "
                f"(batch, {self.n_inputs}), got shape {x.shape}"
            )
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"expert for {self.env_id!r} got a non-finite observation (NaN or inf) in row "
                f"{i} of the batch: {x[i].tolist()}"
            )
        return x

    def normalize(self, obs_batch) -> np.ndarray:
        """The expert's input: raw observations after its own normalisation.

        Parameters
        ----------
        obs_batch : array_like, shape (batch, n_inputs)
            Raw observations.

        Returns
        -------
        ndarray, shape (batch, n_inputs)
            Identical to the input (as float64) when the expert uses no normalisation.

        Raises
        ------
        ValueError
            For a wrong shape or a NaN / infinite observation.
        """
        x = self._check_batch(obs_batch)
        if self._norm is None:
            return x
        mean, var, eps, clip = self._norm
        return np.clip((x - mean) / np.sqrt(var + eps), -clip, clip)

    def forward(self, obs_batch) -> np.ndarray:
        """The network's raw output ``y`` (logits, or the action before its output transform).

        Parameters
        ----------
        obs_batch : array_like, shape (batch, n_inputs)
            Raw environment observations.

        Returns
        -------
        ndarray, shape (batch, n_actions)

        Raises
        ------
        ValueError
            For a wrong shape, a NaN / infinite observation, or a non-finite output.
        """
        x = self.normalize(obs_batch)
        last = len(self._layers) - 1
        for i, (W, b) in enumerate(self._layers):
            # numerics.matmul sums in a fixed order (BLAS's order depends on the CPU)
            x = numerics.matmul(x, W) + b
            if i < last:
                x = self._act(x)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"expert for {self.env_id!r} produced a non-finite output")
        return x

    def _require(self, discrete: bool, method: str):
        if self.is_discrete != discrete:
            kind = "a discrete" if self.is_discrete else "a continuous (Box)"
            use = "logits, probs, action or act" if self.is_discrete else "action or act"
            raise ValueError(
                f"expert for {self.env_id!r} has {kind} action space: {method} is not "
                f"defined; use {use}"
            )

    def logits(self, obs_batch) -> np.ndarray:
        """Action logits for a batch of raw observations (discrete experts only).

        Parameters
        ----------
        obs_batch : array_like, shape (batch, n_inputs)
            Raw environment observations.

        Returns
        -------
        ndarray, shape (batch, n_actions)
            Logits of a categorical action distribution (float64).

        Raises
        ------
        ValueError
            When ``obs_batch`` is not of shape ``(batch, n_inputs)``, holds a NaN, or the
            expert is continuous.

        Examples
        --------
        >>> e = load_expert("CartPole-v1")
        >>> e.logits(np.zeros((3, 4))).shape
        (3, 2)
        >>> e.logits(np.zeros(4))
        Traceback (most recent call last):
        ...
        ValueError: expert for 'CartPole-v1' expects a batch of observations of shape (batch, 4), got shape (4,)
        """
        self._require(True, "logits")
        return self.forward(obs_batch)

    def probs(self, obs_batch) -> np.ndarray:
        """Softmax of :meth:`logits`: action probabilities, rows sum to 1.

        Examples
        --------
        >>> p = load_expert("CartPole-v1").probs(np.zeros((2, 4)))
        >>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
        ((2, 2), True)
        """
        z = self.logits(obs_batch)
        z = z - z.max(axis=1, keepdims=True)
        e = numerics.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def action(self, obs_batch) -> np.ndarray:
        """Deterministic (greedy) actions for a batch of raw observations.

        Parameters
        ----------
        obs_batch : array_like, shape (batch, n_inputs)

        Returns
        -------
        ndarray
            Discrete: ``argmax`` of the logits, int64 of shape ``(batch,)``. Box: float64
            of shape ``(batch, n_actions)``, the output transform applied, inside the bounds.

        Raises
        ------
        ValueError
            For a wrong shape or a NaN / infinite observation.

        Examples
        --------
        >>> load_expert("CartPole-v1").action(np.zeros((2, 4))).dtype
        dtype('int64')
        >>> a = load_expert("Pendulum-v1").action(np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 8.0]]))
        >>> a.shape, bool(np.all(np.abs(a) <= 2.0))
        ((2, 1), True)
        """
        y = self.forward(obs_batch)
        if self.is_discrete:
            return np.argmax(y, axis=1).astype(np.int64)
        return apply_transform(y, self.action_space, self.output_transform, self.pre_clip)

    def act(self, obs):
        """Greedy action for ONE raw observation.

        Parameters
        ----------
        obs : array_like, shape (n_inputs,)

        Returns
        -------
        int or ndarray
            ``int`` for a discrete expert; a float64 array of shape ``(n_actions,)`` for a box.

        Raises
        ------
        ValueError
            When ``obs`` is not of shape ``(n_inputs,)`` or holds a NaN / infinite value.
        """
        x = np.asarray(obs, dtype=np.float64)
        if x.shape != (self.n_inputs,):
            raise ValueError(
                f"expert for {self.env_id!r} expects one observation of shape "
                f"({self.n_inputs},), got shape {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise ValueError(
                f"expert for {self.env_id!r} got a non-finite observation (NaN or inf): {x.tolist()}"
            )
        a = self.action(x[None, :])[0]
        return int(a) if self.is_discrete else a

    def __repr__(self) -> str:
        return (
            f"Expert(env_id={self.env_id!r}, layer_sizes={self.layer_sizes}, "
            f"activation={self.activation!r}, obs_norm={self._norm is not None}, "
            f"action_space={self.action_space!r}, output_transform={self.output_transform!r})"
        )


def _validate_parts(layers, activation, obs_norm):
    """Check shapes / finiteness; return float64 layers, activation fn, norm tuple."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    layers = list(layers)
    if not layers:
        raise ValueError("an expert needs at least one layer")
    out = []
    prev = None
    for i, pair in enumerate(layers):
        if len(pair) != 2:
            raise ValueError(f"layer {i} must be a (W, b) pair")
        W = np.asarray(pair[0], dtype=np.float64)
        b = np.asarray(pair[1], dtype=np.float64)
        if W.ndim != 2:
            raise ValueError(f"W{i} must be 2-D (fan_in, fan_out), got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"b{i} must have shape ({W.shape[1]},), got shape {b.shape}")
        if prev is not None and W.shape[0] != prev:
            raise ValueError(
                f"W{i} has fan_in {W.shape[0]} but the previous layer outputs {prev}"
            )
        if W.size == 0:
            raise ValueError(f"W{i} is empty (shape {W.shape})")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise ValueError(f"layer {i} (W{i}/b{i}) contains non-finite values")
        out.append((W, b))
        prev = W.shape[1]
    n_in = out[0][0].shape[0]
    norm = None
    if obs_norm is not None:
        for key in ("mean", "var", "epsilon", "clip"):
            if key not in obs_norm:
                raise ValueError(f"obs_norm is missing {key!r}")
        mean = np.asarray(obs_norm["mean"], dtype=np.float64)
        var = np.asarray(obs_norm["var"], dtype=np.float64)
        eps = float(obs_norm["epsilon"])
        clip = float(obs_norm["clip"])
        if mean.shape != (n_in,) or var.shape != (n_in,):
            raise ValueError(
                f"obs_norm mean/var must have shape ({n_in},), got {mean.shape} / {var.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
            raise ValueError("obs_norm mean/var contain non-finite values")
        if np.any(var < 0):
            raise ValueError("obs_norm var must be >= 0")
        if not (math.isfinite(eps) and eps >= 0 and math.isfinite(clip) and clip > 0):
            raise ValueError(f"obs_norm needs epsilon >= 0 and clip > 0, got {eps}, {clip}")
        if np.any(var + eps <= 0):
            raise ValueError("obs_norm var + epsilon must be > 0")
        norm = (mean, var, eps, clip)
    return out, ACTIVATIONS[activation], norm


def export_expert(
    path_stem,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    activation: str,
    obs_norm: Mapping[str, Any] | None,
    metadata: Mapping[str, Any],
    action_space: ActionSpace | None = None,
    output_transform: str | None = None,
    pre_clip: float | None = None,
) -> dict[str, Any]:
    """Write an expert as ``<path_stem>.npz`` (arrays) + ``<path_stem>.json`` (metadata).

    Every part is validated (by building the :class:`Expert`) before anything is written.

    Parameters
    ----------
    path_stem : str or Path
        Path without extension; parent folders are created.
    layers : sequence of (W, b)
        ``W`` of shape ``(fan_in, fan_out)`` (so a layer is ``x @ W + b``).
    activation : str
        Hidden activation (``"tanh"``, ``"relu"`` or ``"identity"``); output is linear.
    obs_norm : dict or None
        ``{"mean", "var", "epsilon", "clip"}`` (see :class:`Expert`), or ``None``.
    metadata : dict
        Extra JSON-serialisable information (``env_id``, training details, ...). The
        structural keys (``layer_sizes``, ``activation``, ``obs_normalization``,
        ``action_space``, ``output``, ``output_transform``, ``npz_sha256``, ...) are
        filled in by this function.
    action_space, output_transform, pre_clip
        As for :class:`Expert` (default: discrete, logits).

    Returns
    -------
    dict
        The metadata written to the ``.json`` file.

    Examples
    --------
    >>> import tempfile, os
    >>> rng = np.random.default_rng(0)
    >>> layers = [(rng.normal(size=(3, 5)), np.zeros(5)), (rng.normal(size=(5, 2)), np.ones(2))]
    >>> d = tempfile.mkdtemp()
    >>> meta = export_expert(os.path.join(d, "Toy-v0"), layers, "tanh", None, {"env_id": "Toy-v0"})
    >>> meta["layer_sizes"], meta["action_space"], meta["output"]
    ([3, 5, 2], {'type': 'discrete', 'n': 2}, 'logits')
    >>> e = load_expert_file(os.path.join(d, "Toy-v0"))
    >>> e.env_id, e.n_inputs, e.n_actions
    ('Toy-v0', 3, 2)
    >>> box = ActionSpace("box", 2, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    >>> meta = export_expert(os.path.join(d, "Box-v0"), layers, "tanh", None,
    ...                      {"env_id": "Box-v0"}, box, "tanh_rescale")
    >>> meta["output"], meta["output_transform"]["name"]
    ('action', 'tanh_rescale')
    >>> load_expert_file(os.path.join(d, "Box-v0")).action(np.zeros((1, 3))).shape
    (1, 2)
    """
    expert = Expert(layers, activation, obs_norm, metadata, action_space, output_transform, pre_clip)
    stem = Path(path_stem)
    arrays: dict[str, np.ndarray] = {}
    for i, (W, b) in enumerate(expert._layers):
        arrays[f"W{i}"] = np.ascontiguousarray(W, dtype=np.float64)
        arrays[f"b{i}"] = np.ascontiguousarray(b, dtype=np.float64)
    norm = expert._norm
    if norm is not None:
        arrays["obs_mean"] = norm[0]
        arrays["obs_var"] = norm[1]
    space = expert.action_space
    if not space.is_discrete:
        arrays["action_low"] = np.array(space.low)
        arrays["action_high"] = np.array(space.high)
    stem.parent.mkdir(parents=True, exist_ok=True)
    npz_path = stem.with_name(stem.name + ".npz")
    json_path = stem.with_name(stem.name + ".json")
    with open(npz_path, "wb") as f:
        np.savez(f, **arrays)
    meta = dict(metadata)
    meta.update(_structural_metadata(expert, arrays))
    meta["npz_file"] = npz_path.name
    meta["npz_sha256"] = _sha256_file(npz_path)
    with open(json_path, "w") as f:
        json.dump(meta, f, indent=2, sort_keys=False)
        f.write("\n")
    return meta


def _structural_metadata(expert: Expert, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The metadata keys that describe the arrays and the forward pass."""
    norm = expert._norm
    space = expert.action_space
    transform = None
    if not space.is_discrete:
        transform = {
            "name": expert.output_transform,
            "formula": OUTPUT_TRANSFORMS[expert.output_transform],
            "pre_clip": expert.pre_clip,
        }
    return {
        "format_version": FORMAT_VERSION,
        "layer_sizes": expert.layer_sizes,
        "activation": expert.activation,
        "output_activation": "identity",
        "action_space": space.to_json(),
        "output": "logits" if space.is_discrete else "action",
        "output_meaning": OUTPUT_MEANING[space.kind],
        "output_transform": transform,
        "weight_layout": "W_l has shape (fan_in, fan_out); layer output = x @ W_l + b_l",
        "input": "raw environment observations; the expert applies obs_normalization itself",
        "obs_normalization": (
            {"enabled": False}
            if norm is None
            else {
                "enabled": True,
                "formula": "clip((obs - mean) / sqrt(var + epsilon), -clip, clip)",
                "mean": [float(v) for v in norm[0]],
                "var": [float(v) for v in norm[1]],
                "epsilon": norm[2],
                "clip": norm[3],
                "arrays": ["obs_mean", "obs_var"],
            }
        ),
        "arrays": sorted(arrays),
        "arrays_sha256": _arrays_digest(arrays),
    }


def _read_files(stem: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], Path, Path]:
    """Read and checksum ``<stem>.json`` / ``<stem>.npz``; ValueError naming the problem."""
    json_path = stem.with_name(stem.name + ".json")
    npz_path = stem.with_name(stem.name + ".npz")
    if not json_path.is_file():
        raise ValueError(f"expert metadata file not found: {json_path}")
    if not npz_path.is_file():
        raise ValueError(f"expert array file not found: {npz_path}")
    try:
        with open(json_path) as f:
            meta = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"expert metadata {json_path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"expert metadata {json_path} must be a JSON object")
    for key in ("npz_sha256", "layer_sizes", "activation", "obs_normalization"):
        if key not in meta:
            raise ValueError(f"expert metadata {json_path} is missing {key!r}")
    digest = _sha256_file(npz_path)
    if digest != meta["npz_sha256"]:
        raise ValueError(
            f"expert array file {npz_path} is corrupted: sha256 {digest} does not match "
            f"the metadata's {meta['npz_sha256']}"
        )
    try:
        with np.load(npz_path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError (pickled data), OSError
        raise ValueError(f"expert array file {npz_path} cannot be read: {exc}") from exc
    for name, arr in arrays.items():
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"expert array {name!r} in {npz_path} is not floating point")
    return meta, arrays, json_path, npz_path


def _read_layers(meta, arrays, json_path, npz_path) -> list[tuple[np.ndarray, np.ndarray]]:
    sizes = meta["layer_sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
    ):
        raise ValueError(f"expert metadata {json_path}: bad layer_sizes {sizes!r}")
    layers = []
    for i in range(len(sizes) - 1):
        for name, shape in ((f"W{i}", (sizes[i], sizes[i + 1])), (f"b{i}", (sizes[i + 1],))):
            if name not in arrays:
                raise ValueError(f"expert array file {npz_path} is missing array {name!r}")
            if arrays[name].shape != shape:
                raise ValueError(
                    f"expert array {name!r} in {npz_path} has shape {arrays[name].shape}, "
                    f"expected {shape} from layer_sizes {sizes}"
                )
        layers.append((arrays[f"W{i}"], arrays[f"b{i}"]))
    return layers


def _read_obs_norm(meta, arrays, json_path, npz_path) -> dict[str, Any] | None:
    norm_meta = meta["obs_normalization"]
    if not isinstance(norm_meta, dict) or not isinstance(norm_meta.get("enabled"), bool):
        raise ValueError(f"expert metadata {json_path}: obs_normalization needs enabled: true/false")
    if not norm_meta["enabled"]:
        return None
    for name in ("obs_mean", "obs_var"):
        if name not in arrays:
            raise ValueError(f"expert array file {npz_path} is missing array {name!r}")
    if "epsilon" not in norm_meta or "clip" not in norm_meta:
        raise ValueError(f"expert metadata {json_path}: obs_normalization needs epsilon and clip")
    return {
        "mean": arrays["obs_mean"],
        "var": arrays["obs_var"],
        "epsilon": norm_meta["epsilon"],
        "clip": norm_meta["clip"],
    }


def _read_head(meta, arrays, json_path, npz_path):
    """The action space, output transform and pre_clip declared by the metadata."""
    version = meta.get("format_version", 1)
    if version not in (1, FORMAT_VERSION):
        raise ValueError(
            f"expert metadata {json_path}: format_version {version!r} is not understood "
            f"(this library reads 1 and {FORMAT_VERSION})"
        )
    if version == 1:  # discrete only; the output is logits
        if meta.get("output", V1_OUTPUT) != V1_OUTPUT:
            raise ValueError(f"expert metadata {json_path}: unknown output {meta['output']!r}")
        return ActionSpace("discrete", meta["layer_sizes"][-1]), None, None
    for key in ("action_space", "output", "output_transform"):
        if key not in meta:
            raise ValueError(f"expert metadata {json_path} is missing {key!r}")
    try:
        space = ActionSpace.from_json(meta["action_space"])
    except ValueError as exc:
        raise ValueError(f"expert metadata {json_path}: {exc}") from exc
    expected = "logits" if space.is_discrete else "action"
    if meta["output"] != expected:
        raise ValueError(
            f"expert metadata {json_path}: output must be {expected!r} for a {space.kind} "
            f"action space, got {meta['output']!r}"
        )
    if space.is_discrete:
        if meta["output_transform"] is not None:
            raise ValueError(f"expert metadata {json_path}: a discrete expert has output_transform null")
        return space, None, None
    for name, bound in (("action_low", space.low), ("action_high", space.high)):
        if name not in arrays:
            raise ValueError(f"expert array file {npz_path} is missing array {name!r}")
        if arrays[name].shape != bound.shape or not np.array_equal(arrays[name], bound):
            raise ValueError(
                f"expert {json_path}: array {name!r} does not match the metadata's action_space"
            )
    transform = meta["output_transform"]
    if not isinstance(transform, dict) or "name" not in transform:
        raise ValueError(
            f"expert metadata {json_path}: a box expert needs output_transform "
            f"{{'name': one of {sorted(OUTPUT_TRANSFORMS)}, 'pre_clip': number or null}}"
        )
    return space, transform["name"], transform.get("pre_clip")


def load_expert_file(path_stem) -> Expert:
    """Load and validate ``<path_stem>.npz`` + ``<path_stem>.json``.

    Parameters
    ----------
    path_stem : str or Path
        Path without extension.

    Returns
    -------
    Expert

    Raises
    ------
    ValueError
        Naming the problem when a file is missing or unreadable, the sha256 of the
        ``.npz`` does not match the metadata, an array or a metadata field is missing or
        malformed, shapes do not agree with ``layer_sizes`` or the action space, or a
        value is non-finite.
    """
    stem = Path(path_stem)
    meta, arrays, json_path, npz_path = _read_files(stem)
    layers = _read_layers(meta, arrays, json_path, npz_path)
    obs_norm = _read_obs_norm(meta, arrays, json_path, npz_path)
    space, transform, pre_clip = _read_head(meta, arrays, json_path, npz_path)
    try:
        return Expert(layers, meta["activation"], obs_norm, meta, space, transform, pre_clip)
    except ValueError as exc:
        raise ValueError(f"expert {stem}: {exc}") from exc


def load_expert(env_id: str) -> Expert:
    """Load the expert shipped with the package for ``env_id``.

    Parameters
    ----------
    env_id : str
        One of :data:`SHIPPED_EXPERTS`.

    Returns
    -------
    Expert

    Raises
    ------
    ValueError
        For an unknown ``env_id`` (the message lists the supported ids), or a
        missing / corrupted / mismatched shipped file.

    Examples
    --------
    >>> load_expert("CartPole-v1").layer_sizes
    [4, 64, 64, 2]
    >>> load_expert("Pong-v5")
    Traceback (most recent call last):
    ...
    ValueError: no shipped expert for 'Pong-v5'; shipped experts: CartPole-v1, Acrobot-v1, LunarLander-v3, Pendulum-v1, LunarLanderContinuous-v3
    """
    if env_id not in SHIPPED_EXPERTS:
        raise ValueError(
            f"no shipped expert for {env_id!r}; shipped experts: {', '.join(SHIPPED_EXPERTS)}"
        )
    expert = load_expert_file(EXPERT_DIR / env_id)
    if expert.env_id != env_id:
        raise ValueError(
            f"shipped expert file for {env_id!r} declares env_id {expert.env_id!r}"
        )
    return expert


def evaluate_expert(expert: Expert, n_episodes: int = 20, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of the return of greedy episodes.

    Episode ``i`` (``0 <= i < n_episodes``) is reset with ``seed + i``; the expert acts
    greedily (:meth:`Expert.act`) on the raw observations until the episode terminates
    or is truncated (gymnasium's default time limit).

    Parameters
    ----------
    expert : Expert
    n_episodes : int
    seed : int

    Returns
    -------
    (mean, std) : tuple of float
        ``std`` is the population standard deviation (``numpy.std``, ``ddof=0``).

    Examples
    --------
    >>> mean, std = evaluate_expert(load_expert("CartPole-v1"), n_episodes=2)
    >>> mean >= 490
    True
    """
    import gymnasium as gym  # lazy: the rest of the module needs numpy only

    if expert.env_id is None:
        raise ValueError("the expert has no env_id; cannot build its environment")
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    env = gym.make(expert.env_id)
    try:
        returns = []
        for i in range(n_episodes):
            obs, _ = env.reset(seed=seed + i)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(expert.act(obs))
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    r = np.asarray(returns)
    return float(r.mean()), float(r.std())
