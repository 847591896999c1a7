"""Shipped expert policies (teachers for distillation), as plain numpy arrays.

SMGrNN students are trained by distilling an expert policy (Jia & Zhou, "Self-Motivated
Growing Neural Network for Adaptive Architecture via Local Structural Plasticity",
arXiv 2512.12713: the student imitates an expert through a supervised loss ``L_t``).
The paper does not ship its experts and nothing can be downloaded at run time, so this
project trains its own experts once (PPO from stable-baselines3 with the hyperparameters
of rl-baselines3-zoo, see :mod:`smgrnn_ref.expert_training` and ``docs/experts.md``) and
ships each one as two files in ``smgrnn_ref/data/experts/``:

``<EnvId>.npz``
    Arrays only (loaded with ``allow_pickle=False``): ``W0, b0, ..., W{L-1}, b{L-1}``
    with ``W_l`` of shape ``(fan_in, fan_out)`` so that a layer is ``x @ W_l + b_l``, and,
    when the expert normalises its observations, ``obs_mean`` and ``obs_var``.
``<EnvId>.json``
    Metadata: env id, layer sizes, activation, observation normalisation, the meaning of
    the output, training algorithm and hyperparameters, seed, library versions, measured
    return, and the sha256 of the ``.npz`` file (checked on load, so a corrupted file is
    detected).

The forward pass is ``x = clip((obs - obs_mean) / sqrt(obs_var + epsilon), -clip, clip)``
(only when normalisation is enabled), then ``x = act(x @ W_l + b_l)`` for every hidden
layer and ``logits = x @ W_{L-1} + b_{L-1}`` for the last one.  The outputs are the
**logits of a categorical action distribution**.  Callers always pass **raw**
environment observations: the expert applies its own normalisation, so a student that
imitates it sees the same raw observations as the environment produces.

This module needs numpy only (gymnasium is imported lazily by :func:`evaluate_expert`).

Examples
--------
>>> expert = load_expert("CartPole-v1")
>>> expert.n_inputs, expert.n_actions
(4, 2)
>>> expert.act([0.0, 0.0, 0.05, 0.0]) in (0, 1)
True
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import numerics

__all__ = [
    "SUPPORTED_ENVS",
    "EXPERT_DIR",
    "ACTIVATIONS",
    "Expert",
    "load_expert",
    "load_expert_file",
    "export_expert",
    "evaluate_expert",
]

SUPPORTED_ENVS: tuple[str, ...] = ("CartPole-v1", "Acrobot-v1", "LunarLander-v3")
"""Environment ids for which an expert is shipped with the package."""

EXPERT_DIR: Path = Path(__file__).resolve().parent / "data" / "experts"
"""Folder holding the shipped ``<EnvId>.npz`` / ``<EnvId>.json`` pairs."""

ACTIVATIONS: dict[str, Any] = {
    # numerics.tanh, not numpy's: the same bits on every machine (numpy's depends on the CPU)
    "tanh": numerics.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "identity": lambda x: x,
}
"""Hidden-layer activations understood by the loader (the output layer is linear)."""

FORMAT_VERSION = 1
OUTPUT_MEANING = "logits of a categorical action distribution"


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
    """A fixed MLP policy over raw observations that outputs action logits.

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

    Attributes
    ----------
    env_id : str or None
    metadata : dict
    n_inputs : int
        Observation size.
    n_actions : int
        Number of discrete actions (size of the logits).

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
    """

    def __init__(
        self,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: str,
        obs_norm: Mapping[str, Any] | None,
        metadata: Mapping[str, Any],
    ):
        self.metadata = dict(metadata)
        self.env_id = self.metadata.get("env_id")
        self._layers, self._act, self._norm = _validate_parts(layers, activation, obs_norm)
        self.activation = activation
        self.n_inputs = int(self._layers[0][0].shape[0])
        self.n_actions = int(self._layers[-1][0].shape[1])

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
        """
        x = self._check_batch(obs_batch)
        if self._norm is None:
            return x
        mean, var, eps, clip = self._norm
        return np.clip((x - mean) / np.sqrt(var + eps), -clip, clip)

    def logits(self, obs_batch) -> np.ndarray:
        """Action logits for a batch of raw observations.

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
            When ``obs_batch`` is not of shape ``(batch, n_inputs)``.

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
        x = self.normalize(obs_batch)
        last = len(self._layers) - 1
        for i, (W, b) in enumerate(self._layers):
            # numerics.matmul sums in a fixed order (BLAS's order depends on the CPU)
            x = numerics.matmul(x, W) + b
            if i < last:
                x = self._act(x)
        return x

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

    def act(self, obs) -> int:
        """Greedy action (argmax of the logits) for ONE raw observation.

        Parameters
        ----------
        obs : array_like, shape (n_inputs,)

        Returns
        -------
        int

        Raises
        ------
        ValueError
            When ``obs`` is not of shape ``(n_inputs,)``.
        """
        x = np.asarray(obs, dtype=np.float64)
        if x.shape != (self.n_inputs,):
            raise ValueError(
                f"expert for {self.env_id!r} expects one observation of shape "
                f"({self.n_inputs},), got shape {x.shape}"
            )
        return int(np.argmax(self.logits(x[None, :])[0]))

    def __repr__(self) -> str:
        return (
            f"Expert(env_id={self.env_id!r}, layer_sizes={self.layer_sizes}, "
            f"activation={self.activation!r}, obs_norm={self._norm is not None})"
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
) -> dict[str, Any]:
    """Write an expert as ``<path_stem>.npz`` (arrays) + ``<path_stem>.json`` (metadata).

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
        ``output``, ``npz_sha256``, ...) are filled in by this function.

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
    >>> meta["layer_sizes"]
    [3, 5, 2]
    >>> e = load_expert_file(os.path.join(d, "Toy-v0"))
    >>> e.env_id, e.n_inputs, e.n_actions
    ('Toy-v0', 3, 2)
    """
    checked, _, norm = _validate_parts(layers, activation, obs_norm)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for i, (W, b) in enumerate(checked):
        arrays[f"W{i}"] = np.ascontiguousarray(W, dtype=np.float64)
        arrays[f"b{i}"] = np.ascontiguousarray(b, dtype=np.float64)
    if norm is not None:
        arrays["obs_mean"] = norm[0]
        arrays["obs_var"] = norm[1]
    npz_path = stem.with_name(stem.name + ".npz")
    json_path = stem.with_name(stem.name + ".json")
    with open(npz_path, "wb") as f:
        np.savez(f, **arrays)
    meta = dict(metadata)
    meta.update(
        {
            "format_version": FORMAT_VERSION,
            "layer_sizes": [int(checked[0][0].shape[0])] + [int(W.shape[1]) for W, _ in checked],
            "activation": activation,
            "output_activation": "identity",
            "output": OUTPUT_MEANING,
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
            "npz_file": npz_path.name,
            "npz_sha256": _sha256_file(npz_path),
        }
    )
    with open(json_path, "w") as f:
        json.dump(meta, f, indent=2, sort_keys=False)
        f.write("\n")
    return meta


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
        ``.npz`` does not match the metadata, an array is missing, shapes do not agree
        with ``layer_sizes``, or a value is non-finite.
    """
    stem = Path(path_stem)
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
    sizes = meta["layer_sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(s, int) and s > 0 for s in sizes)
    ):
        raise ValueError(f"expert metadata {json_path}: bad layer_sizes {sizes!r}")
    try:
        with np.load(npz_path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError (pickled data), OSError
        raise ValueError(f"expert array file {npz_path} cannot be read: {exc}") from exc
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
            if not np.issubdtype(arrays[name].dtype, np.floating):
                raise ValueError(f"expert array {name!r} in {npz_path} is not floating point")
        layers.append((arrays[f"W{i}"], arrays[f"b{i}"]))
    norm_meta = meta["obs_normalization"]
    obs_norm = None
    if isinstance(norm_meta, dict) and norm_meta.get("enabled"):
        for name in ("obs_mean", "obs_var"):
            if name not in arrays:
                raise ValueError(f"expert array file {npz_path} is missing array {name!r}")
        if "epsilon" not in norm_meta or "clip" not in norm_meta:
            raise ValueError(f"expert metadata {json_path}: obs_normalization needs epsilon and clip")
        obs_norm = {
            "mean": arrays["obs_mean"],
            "var": arrays["obs_var"],
            "epsilon": norm_meta["epsilon"],
            "clip": norm_meta["clip"],
        }
    try:
        expert = Expert(layers, meta["activation"], obs_norm, meta)
    except ValueError as exc:
        raise ValueError(f"expert {stem}: {exc}") from exc
    return expert


def load_expert(env_id: str) -> Expert:
    """Load the expert shipped with the package for ``env_id``.

    Parameters
    ----------
    env_id : str
        One of :data:`SUPPORTED_ENVS`.

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
    ValueError: no shipped expert for 'Pong-v5'; supported env ids: CartPole-v1, Acrobot-v1, LunarLander-v3
    """
    if env_id not in SUPPORTED_ENVS:
        raise ValueError(
            f"no shipped expert for {env_id!r}; supported env ids: {', '.join(SUPPORTED_ENVS)}"
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
