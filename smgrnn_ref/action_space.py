"""The action space of an expert (or a student) and how a network output becomes an action.

An expert in this project's format (:mod:`smgrnn_ref.experts`) acts in ``Discrete(n)`` (its
output ``y`` is logits; the greedy action is ``argmax(y)``) or in a flat ``Box(low, high,
(n,))``, where ``y`` becomes a deterministic action by an **output transform**:

* ``"tanh_rescale"``: ``a = low + (tanh(y) + 1) / 2 * (high - low)``, optionally after
  ``y = clip(y, -pre_clip, pre_clip)`` (SAC's squashed Gaussian, TD3's tanh actor; SAC with
  gSDE clips its mean first);
* ``"clip"``: ``a = clip(y, low, high)`` (the Gaussian mean of PPO and A2C, clipped as
  stable-baselines3 clips it before stepping the environment).

numpy only.

Examples
--------
>>> box = ActionSpace("box", 1, np.array([-2.0]), np.array([2.0]))
>>> apply_transform(np.array([[0.0], [100.0]]), box, "tanh_rescale")
array([[0.],
       [2.]])
>>> apply_transform(np.array([[-3.0], [1.5]]), box, "clip")
array([[-2. ],
       [ 1.5]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from . import numerics

__all__ = ["OUTPUT_TRANSFORMS", "ActionSpace", "apply_transform", "greedy_actions", "validate_head"]

OUTPUT_TRANSFORMS: dict[str, str] = {
    "tanh_rescale": "a = low + (tanh(y) + 1) / 2 * (high - low), after y = clip(y, -pre_clip, pre_clip) when pre_clip is set",
    "clip": "a = clip(y, low, high)",
}
"""How a continuous expert's raw output ``y`` becomes an action (``Box`` spaces only)."""


@dataclass(frozen=True, eq=False)
class ActionSpace:
    """The action space an expert acts in: ``Discrete(n)`` or a flat ``Box(low, high, (n,))``.

    Parameters
    ----------
    kind : {"discrete", "box"}
    n : int
        Number of actions (discrete) or action dimension (box).
    low, high : ndarray of shape (n,) or None
        Finite bounds with ``low < high`` (box only; ``None`` for discrete).

    Examples
    --------
    >>> ActionSpace("box", 2, np.array([-1.0, 0.0]), np.array([1.0, 5.0]))
    ActionSpace(kind='box', n=2, low=[-1.0, 0.0], high=[1.0, 5.0])
    >>> ActionSpace.from_json({"type": "discrete", "n": 3})
    ActionSpace(kind='discrete', n=3)
    >>> ActionSpace("box", 1, np.array([1.0]), np.array([-1.0]))
    Traceback (most recent call last):
    ...
    ValueError: action space bounds need low < high in every dimension, got low [1.0], high [-1.0]
    """

    kind: str
    n: int
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def __post_init__(self):
        if self.kind not in ("discrete", "box"):
            raise ValueError(f"action space kind must be 'discrete' or 'box', got {self.kind!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 1:
            raise ValueError(f"action space size n must be a positive int, got {self.n!r}")
        object.__setattr__(self, "n", int(self.n))
        if self.kind == "discrete":
            if self.low is not None or self.high is not None:
                raise ValueError("a discrete action space has no bounds (low/high must be None)")
            return
        if self.low is None or self.high is None:
            raise ValueError("a box action space needs low and high bounds")
        low = np.array(self.low, dtype=np.float64)
        high = np.array(self.high, dtype=np.float64)
        if low.shape != (self.n,) or high.shape != (self.n,):
            raise ValueError(
                f"action space bounds must have shape ({self.n},), got {low.shape} / {high.shape}"
            )
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(
                f"action space bounds must be finite (unbounded Box action spaces are not "
                f"supported), got low {low.tolist()}, high {high.tolist()}"
            )
        if not np.all(low < high):
            raise ValueError(
                f"action space bounds need low < high in every dimension, got low "
                f"{low.tolist()}, high {high.tolist()}"
            )
        low.flags.writeable = False
        high.flags.writeable = False
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def is_discrete(self) -> bool:
        return self.kind == "discrete"

    def to_json(self) -> dict[str, Any]:
        """The metadata form: ``{"type": "discrete", "n"}`` or ``{"type": "box", "shape", "low", "high"}``."""
        if self.is_discrete:
            return {"type": "discrete", "n": self.n}
        return {
            "type": "box",
            "shape": [self.n],
            "low": [float(v) for v in self.low],
            "high": [float(v) for v in self.high],
        }

    @classmethod
    def from_json(cls, d) -> "ActionSpace":
        """Inverse of :meth:`to_json`; ``ValueError`` naming the bad field."""
        if not isinstance(d, Mapping) or d.get("type") not in ("discrete", "box"):
            raise ValueError(f"action_space must be an object with type 'discrete' or 'box', got {d!r}")
        if d["type"] == "discrete":
            return cls("discrete", d.get("n"))
        shape = d.get("shape")
        if not (isinstance(shape, list) and len(shape) == 1 and isinstance(shape[0], int)):
            raise ValueError(f"a box action_space needs a flat shape [d], got {shape!r}")
        for key in ("low", "high"):
            v = d.get(key)
            if not (isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)):
                raise ValueError(f"a box action_space needs {key!r} as a list of numbers, got {v!r}")
        return cls("box", shape[0], np.asarray(d["low"], float), np.asarray(d["high"], float))

    def __repr__(self) -> str:
        if self.is_discrete:
            return f"ActionSpace(kind='discrete', n={self.n})"
        return (
            f"ActionSpace(kind='box', n={self.n}, low={[float(v) for v in self.low]}, "
            f"high={[float(v) for v in self.high]})"
        )


def apply_transform(y, space: ActionSpace, transform: str, pre_clip: float | None = None) -> np.ndarray:
    """Map raw outputs ``y`` (batch, n) to actions of the box ``space`` (see the module docstring).

    Parameters
    ----------
    y : ndarray, shape (batch, n)
    space : ActionSpace
        A box.
    transform : {"tanh_rescale", "clip"}
    pre_clip : float, optional
        ``tanh_rescale`` only.

    Returns
    -------
    ndarray, shape (batch, n)
        Inside ``[low, high]``.
    """
    low, high = space.low, space.high
    if transform == "clip":
        return np.clip(y, low, high)
    if pre_clip is not None:
        y = np.clip(y, -pre_clip, pre_clip)
    # numerics.tanh: the same bits on every machine (numpy's tanh depends on the CPU)
    return low + 0.5 * (numerics.tanh(y) + 1.0) * (high - low)


def greedy_actions(y, space: ActionSpace) -> np.ndarray:
    """The greedy actions of a student (or of a teacher's targets) with outputs ``y``.

    ``Discrete(n)``: ``argmax`` of each row (logits, probabilities or one-hot rows alike).
    ``Box``: the row itself, **clipped** to ``[low, high]``: a student's outputs are the
    action mean, linear, so nothing else keeps them inside the bounds (why clipping and not a
    squashing ``tanh``: docs/distillation.md, "Continuous actions").

    Parameters
    ----------
    y : ndarray, shape (batch, n)
    space : ActionSpace

    Returns
    -------
    ndarray
        int64 of shape ``(batch,)`` (discrete) or float64 of shape ``(batch, n)`` (box).

    Examples
    --------
    >>> greedy_actions(np.array([[0.1, 2.0], [3.0, -1.0]]), ActionSpace("discrete", 2))
    array([1, 0])
    >>> greedy_actions(np.array([[3.5], [-0.5]]), ActionSpace("box", 1, np.array([-2.0]), np.array([2.0])))
    array([[ 2. ],
           [-0.5]])
    """
    y = np.asarray(y, dtype=np.float64)
    if space.is_discrete:
        return np.argmax(y, axis=1).astype(np.int64)
    return np.clip(y, space.low, space.high)


def validate_head(action_space, output_transform, pre_clip, n_out):
    """Check that ``action_space`` fits ``n_out`` outputs and the transform fits the space.

    Returns
    -------
    (output_transform, pre_clip)
        ``(None, None)`` for a discrete space; ``pre_clip`` as a float or ``None``.

    Raises
    ------
    ValueError
        Naming the mismatch.
    """
    if not isinstance(action_space, ActionSpace):
        raise ValueError(f"action_space must be an ActionSpace, got {type(action_space).__name__}")
    if action_space.n != n_out:
        raise ValueError(
            f"the network outputs {n_out} values but the action space has n={action_space.n}"
        )
    if action_space.is_discrete:
        if output_transform is not None or pre_clip is not None:
            raise ValueError("a discrete expert outputs logits: output_transform and pre_clip must be None")
        return None, None
    if output_transform not in OUTPUT_TRANSFORMS:
        raise ValueError(
            f"a box expert needs output_transform in {sorted(OUTPUT_TRANSFORMS)}, got {output_transform!r}"
        )
    if pre_clip is not None:
        if output_transform != "tanh_rescale":
            raise ValueError("pre_clip is only defined for output_transform 'tanh_rescale'")
        if isinstance(pre_clip, bool) or not isinstance(pre_clip, (int, float)) or not (
            math.isfinite(pre_clip) and pre_clip > 0
        ):
            raise ValueError(f"pre_clip must be a finite number > 0, got {pre_clip!r}")
        pre_clip = float(pre_clip)
    return output_transform, pre_clip
