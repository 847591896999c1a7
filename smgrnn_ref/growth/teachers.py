"""Random tanh teacher networks: a ladder of tasks whose difficulty is set by one number.

The question of docs/growth.md is whether SMGrNN's growth (Jia & Zhou, arXiv 2512.12713) makes
the network's size follow the task's difficulty. A Gymnasium task's difficulty cannot be dialled;
a teacher's can. A teacher here is a fixed random one-hidden-layer tanh network (**our
construction**, not the paper's)::

    width 0 (linear):  z(x) = s (x W)
    width h >= 1:      z(x) = s (tanh(x W1 + b1) W2)

    W ~ N(0, 1/d),  W1 ~ N(0, gain^2/d),  b1 ~ N(0, bias_std^2),  W2 ~ N(0, 1/h)

on inputs ``x ~ N(0, I_d)``, with ``s`` chosen so that the logits' standard deviation over a
reference sample of the input distribution is ``logit_std`` (every rung then has logits of the
same size, so the softmax targets are equally sharp). A student distils the teacher's logits
(:mod:`smgrnn_ref.growth.offline`). Width 0 is solved by the initial input/output graph (a
linear student); a wider teacher has more tanh units for a student to reproduce.

What the width does and does not order (measured, docs/growth.md): the residual of the best
*linear* fit is about the same for every width >= 2 (the teacher's nonlinear part is a sum of
many random units, whose share of the variance does not depend on how many there are), while
the hidden width a student needs to get close to the teacher grows with it. The capacity probe
(:func:`smgrnn_ref.growth.offline.capacity_needed`) measures the latter.

Seeding: the teacher of ``(width, seed)`` draws from ``SeedSequence([TEACHER_KEY, width,
seed])``, so every rung and seed has its own teacher, and the same one for every variant,
optimizer and setting trained on it.

Examples
--------
>>> import numpy as np
>>> t = make_teacher(8, seed=0)
>>> X = np.random.default_rng(1).normal(size=(5, 8))
>>> t(X).shape
(5, 4)
>>> float(np.round(make_teacher(0, seed=0).reference_std(), 6))   # normalised logits
2.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: First word of a teacher's SeedSequence entropy (so no other stream of the package shares it).
TEACHER_KEY = 14_001

#: Inputs drawn to normalise a teacher's logit scale. **Our choice**: enough that the scale is
#: fixed to about 1% (the sample standard deviation of 16,384 x 4 values).
REFERENCE_SAMPLES = 16_384


@dataclass(frozen=True)
class TeacherSpec:
    """The family a teacher is drawn from (every field **our choice**).

    Raises
    ------
    ValueError
        For a negative width, fewer than one input or output, or a non-positive scale.
    """

    width: int
    """Hidden tanh units of the teacher; 0 is a linear teacher."""

    n_inputs: int = 8
    """Input dimension ``d``; inputs are standard normal."""

    n_outputs: int = 4
    """Logits (classes) of the teacher."""

    gain: float = 2.0
    """Standard deviation of ``x W1`` per unit: 2 drives tanh well into its curved part."""

    bias_std: float = 0.5
    """Standard deviation of the teacher's hidden biases (units not all centred at 0)."""

    logit_std: float = 2.0
    """Standard deviation of the logits over the input distribution (the softmax's sharpness)."""

    def __post_init__(self):
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 0:
            raise ValueError(f"TeacherSpec.width must be an integer >= 0, got {self.width!r}")
        for name in ("n_inputs", "n_outputs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TeacherSpec.{name} must be an integer >= 1, got {value!r}")
        for name in ("gain", "logit_std"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TeacherSpec.{name} must be > 0, got {getattr(self, name)!r}")
        if not self.bias_std >= 0:
            raise ValueError(f"TeacherSpec.bias_std must be >= 0, got {self.bias_std!r}")


class Teacher:
    """A fixed random teacher: ``teacher(X)`` returns its logits ``(batch, n_outputs)``.

    Build one with :func:`make_teacher`. Attributes ``W1``, ``b1``, ``W2`` (``W1`` alone for a
    linear teacher: ``b1`` and ``W2`` are ``None``) and ``scale`` ``s``.
    """

    def __init__(self, spec: TeacherSpec, rng: np.random.Generator):
        self.spec = spec
        d, k, h = spec.n_inputs, spec.n_outputs, spec.width
        if h == 0:
            self.W1, self.b1, self.W2 = rng.normal(size=(d, k)) / np.sqrt(d), None, None
        else:
            self.W1 = rng.normal(size=(d, h)) * (spec.gain / np.sqrt(d))
            self.b1 = rng.normal(size=h) * spec.bias_std
            self.W2 = rng.normal(size=(h, k)) / np.sqrt(h)
        self.scale = 1.0
        # s: logits of standard deviation logit_std over a reference sample of the inputs
        self._reference = rng.normal(size=(REFERENCE_SAMPLES, d))
        self.scale = spec.logit_std / float(self(self._reference).std())

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.spec.n_inputs:
            raise ValueError(f"teacher inputs must have shape (batch, {self.spec.n_inputs}), got {X.shape}")
        if self.W2 is None:
            return self.scale * (X @ self.W1)
        return self.scale * (np.tanh(X @ self.W1 + self.b1) @ self.W2)

    def reference_std(self) -> float:
        """The logits' standard deviation over the reference sample (``logit_std`` by construction)."""
        return float(self(self._reference).std())


def teacher_rng(width: int, seed: int) -> np.random.Generator:
    """The generator of the teacher of ``(width, seed)``: ``SeedSequence([TEACHER_KEY, width, seed])``."""
    return np.random.default_rng(np.random.SeedSequence([TEACHER_KEY, int(width), int(seed)]))


def make_teacher(width: int, seed: int, **spec) -> Teacher:
    """The teacher of rung ``width`` and seed ``seed``.

    Parameters
    ----------
    width : int
        Hidden units (0: linear).
    seed : int
        Which teacher of the family (``>= 0``).
    **spec
        Other :class:`TeacherSpec` fields.

    Returns
    -------
    Teacher

    Raises
    ------
    ValueError
        As :class:`TeacherSpec`, or for a negative seed.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = make_teacher(4, 0), make_teacher(4, 0)
    >>> bool(np.array_equal(a.W1, b.W1)), a.W1.shape, make_teacher(0, 0).W2 is None
    (True, (8, 4), True)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return Teacher(TeacherSpec(width=width, **spec), teacher_rng(width, seed))


__all__ = ["TEACHER_KEY", "REFERENCE_SAMPLES", "TeacherSpec", "Teacher", "teacher_rng", "make_teacher"]
