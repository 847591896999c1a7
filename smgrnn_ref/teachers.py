"""Teachers: the policy a student is distilled from, and the targets it is trained on.

A teacher maps a batch of **raw** observations, a float64 array of shape ``(batch,
n_inputs)``, to one of three kinds of output (:data:`OUTPUT_KINDS`):

=========== ===================== ======================================== ==================
kind        action space          the teacher returns                      distilled with
=========== ===================== ======================================== ==================
``logits``  ``Discrete(n)``       floats ``(batch, n)``                    ``kl`` (or ``mse``)
``probs``   ``Discrete(n)``       floats ``(batch, n)``, rows >= 0 summing ``ce`` to them
                                  to 1 (within :data:`PROBS_TOL`)
``actions`` ``Discrete(n)``       integers ``(batch,)`` in ``[0, n)``      ``ce`` to one-hot
                                                                           rows (hard labels)
``actions`` ``Box(low, high)``    floats ``(batch, d)``                    ``mse`` to them
=========== ===================== ======================================== ==================

The **target** a dataset stores (:meth:`Teacher.targets`) is the output as the loss takes it:
logits and probabilities as given, discrete actions as one-hot rows, continuous actions
clipped to the bounds (the environment clips them too, so the clipped action is what the
teacher really does).

Where a teacher comes from (``TrainConfig.expert``, ``smgrnn-ref train --expert``):

* ``None``: the expert shipped for the environment (:data:`smgrnn_ref.experts.SHIPPED_EXPERTS`;
  discrete ones give logits, continuous ones actions);
* a path: an expert in this project's format (``<stem>.npz`` + ``<stem>.json``,
  :mod:`smgrnn_ref.experts`), given as the stem, either file, or a directory holding
  ``<env id>.json``; e.g. what ``smgrnn-ref expert import`` wrote;
* ``"module:function"``: a Python callable (any attribute path after the colon), imported with
  the current directory importable.

**How a callable declares what it returns.** A function attribute ``output`` (``"logits"``,
``"probs"`` or ``"actions"``), or ``TrainConfig.expert_output`` (``--expert-output``); both
given must agree. Undeclared, the kind is read off the return value on a few real states:
on a ``Box`` env it can only be actions; on a discrete env an integer array of shape
``(batch,)`` is actions, and a float array of shape ``(batch, n)`` is **refused as
ambiguous** (logits and probabilities look alike: a row of logits can be a row of
probabilities), asking for a declaration.

Every teacher is checked before a run starts (:func:`load_teacher` calls it on the reset
states of :data:`PROBE_EPISODES` episodes) and every later call is checked again: a wrong
shape or dtype, a value outside the action space, a NaN or infinity, or an exception raised by
the teacher is a one-line ``ValueError`` naming the teacher.

Examples
--------
A teacher that always pushes right (``_doc_push_right`` returns ``np.ones(len(obs), int)``):

>>> import numpy as np
>>> t = load_teacher("CartPole-v1", "smgrnn_ref.teachers:_doc_push_right")
>>> t.kind, t.default_loss, t.targets(np.zeros((2, 4))).tolist()
('actions', 'ce', [[0.0, 1.0], [0.0, 1.0]])
>>> load_teacher("Pendulum-v1").kind
'actions'
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from .action_space import ActionSpace
from .envs import EnvInfo, env_info, import_module, probe_observations

#: What a teacher can output (module docstring).
OUTPUT_KINDS = ("logits", "probs", "actions")

#: The losses that fit each (action space kind, output kind); the first is the default.
#: ``kl`` and ``mse`` take logits (``mse`` also continuous actions), ``ce`` class
#: probabilities (:mod:`smgrnn_ref.losses`).
LOSSES_FOR = {
    ("discrete", "logits"): ("kl", "mse"),
    ("discrete", "probs"): ("ce",),
    ("discrete", "actions"): ("ce",),
    ("box", "actions"): ("mse",),
}

#: How far a row of ``probs`` may sum from 1 (float32 softmax outputs sum to 1 within ~1e-7).
#: **Our choice.**
PROBS_TOL = 1e-6

#: A teacher is first called on the reset states of this many episodes (seeds 0, 1, ...),
#: before the run starts. **Our choice**: a few real states, cheap on every env.
PROBE_EPISODES = 8

_CALLABLE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _doc_push_right(obs):  # the module docstring's example teacher: always action 1
    return np.ones(len(obs), dtype=int)


def sha256_file(path) -> str:
    """The sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_expert(expert: str | None) -> str:
    """Which source ``expert`` names: ``"shipped"``, ``"file"`` or ``"callable"``.

    An existing path is a file; otherwise ``module:function`` (dotted identifiers on both
    sides of one colon) is a callable, and anything else a (missing) file.

    >>> parse_expert(None), parse_expert("my_teachers:pd_controller"), parse_expert("runs/x/Pendulum-v1")
    ('shipped', 'callable', 'file')
    """
    if expert is None:
        return "shipped"
    if not isinstance(expert, str) or not expert:
        raise ValueError(f"expert must be None, a path or 'module:function', got {expert!r}")
    if not Path(expert).exists() and _CALLABLE.fullmatch(expert):
        return "callable"
    return "file"


def expert_stem(path, env_id: str) -> Path:
    """The absolute ``<stem>`` of an expert file pair named by ``path``: the stem itself,
    ``<stem>.npz``, ``<stem>.json``, or a directory holding ``<env_id>.json``.

    >>> expert_stem("/data/Pendulum-v1.npz", "Pendulum-v1").as_posix()
    '/data/Pendulum-v1'
    """
    p = Path(path).expanduser().absolute()
    if p.is_dir():
        p = p / env_id
    elif p.suffix in (".npz", ".json"):
        p = p.with_suffix("")
    return p


def load_callable(spec: str):
    """The callable named ``"module:attr.path"`` (the module imported as a user's module).

    Raises
    ------
    ValueError
        If the module cannot be imported, lacks the attribute, or it is not callable.
    """
    module, _, attr = spec.partition(":")
    obj = import_module(module, f"teacher {spec!r}")
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"teacher {spec!r}: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"teacher {spec!r} is not callable (it is a {type(obj).__name__})")
    return obj


def check_targets(y, kind: str, space: ActionSpace, batch: int, name: str) -> np.ndarray:
    """Check a teacher's output for a batch of ``batch`` observations; return its targets.

    Parameters
    ----------
    y : array_like
        What the teacher returned.
    kind : {"logits", "probs", "actions"}
    space : ActionSpace
    batch : int
    name : str
        The teacher, for messages.

    Returns
    -------
    ndarray, float64, shape (batch, space.n)
        Logits or probabilities as given, discrete actions as one-hot rows, continuous
        actions clipped to the bounds.

    Raises
    ------
    ValueError
        One line: wrong shape or dtype, NaN or infinity, discrete actions out of range,
        probabilities that are negative or do not sum to 1.

    Examples
    --------
    >>> d = ActionSpace("discrete", 3)
    >>> check_targets([2, 0], "actions", d, 2, "t").tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    >>> check_targets([[0.5, 0.5, 0.5]], "probs", d, 1, "t")
    Traceback (most recent call last):
    ...
    ValueError: teacher t returned probabilities whose row 0 sums to 1.5, not 1: [0.5, 0.5, 0.5]
    >>> box = ActionSpace("box", 1, np.array([-2.0]), np.array([2.0]))
    >>> check_targets(np.array([[3.0], [-1.0]]), "actions", box, 2, "t").tolist()
    [[2.0], [-1.0]]
    """
    try:
        a = np.asarray(y)
    except Exception as exc:  # ragged lists and other non-arrays
        raise ValueError(f"teacher {name} returned something that is not an array ({type(exc).__name__})") from None
    hard = kind == "actions" and space.is_discrete
    want = (batch,) if hard else (batch, space.n)
    what = {"logits": "logits", "probs": "probabilities", "actions": "actions"}[kind]
    if a.shape != want:
        raise ValueError(f"teacher {name} returned {what} of shape {a.shape} for a batch of {batch} "
                         f"observations; {space} needs shape {want}")
    if hard:
        if a.dtype.kind not in "iu":
            raise ValueError(f"teacher {name} returned discrete actions of dtype {a.dtype}; they must be "
                             f"integers in [0, {space.n})")
        bad = (a < 0) | (a >= space.n)
        if bad.any():
            raise ValueError(f"teacher {name} returned action {int(a[np.argmax(bad)])}, outside "
                             f"[0, {space.n}) of Discrete({space.n})")
        return np.eye(space.n)[a]
    if a.dtype.kind != "f":
        raise ValueError(f"teacher {name} returned {what} of dtype {a.dtype}; they must be floating point")
    a = a.astype(np.float64)
    finite = np.isfinite(a).all(axis=1)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(f"teacher {name} returned a non-finite value (NaN or inf) in row {i}: {a[i].tolist()}")
    if kind == "probs":
        sums = a.sum(axis=1)
        negative = (a < 0).any(axis=1)
        if negative.any():
            i = int(np.argmax(negative))
            raise ValueError(f"teacher {name} returned probabilities with a negative entry in row {i}: {a[i].tolist()}")
        off = np.abs(sums - 1.0) > PROBS_TOL
        if off.any():
            i = int(np.argmax(off))
            raise ValueError(f"teacher {name} returned probabilities whose row {i} sums to {sums[i]:.6g}, "
                             f"not 1: {a[i].tolist()}")
    if not space.is_discrete:
        a = np.clip(a, space.low, space.high)
    return a


def _call(fn, obs: np.ndarray, name: str):
    """``fn(obs)``, an exception it raises turned into a one-line ``ValueError``."""
    try:
        return fn(obs)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ValueError(f"teacher {name} raised {type(exc).__name__}" + (f": {text[0]}" if text else "")) from None


def _declared_kind(fn, output: str | None, name: str) -> str | None:
    """The kind declared by ``output`` and / or the callable's ``output`` attribute."""
    attr = getattr(fn, "output", None)
    for value, where in ((output, "expert_output"), (attr, f"{name}.output")):
        if value is not None and value not in OUTPUT_KINDS:
            raise ValueError(f"{where} must be one of {list(OUTPUT_KINDS)}, got {value!r}")
    if output is not None and attr is not None and output != attr:
        raise ValueError(f"teacher {name} declares output {attr!r}, but expert_output says {output!r}")
    return output if output is not None else attr


def _detect_kind(y, space: ActionSpace, name: str) -> str:
    """The kind of an undeclared callable's output ``y`` (refusing the ambiguous case)."""
    if not space.is_discrete:
        return "actions"
    a = np.asarray(y)
    if a.ndim == 1 and a.dtype.kind in "iu":
        return "actions"
    if a.ndim == 2 and a.dtype.kind == "f":
        raise ValueError(
            f"teacher {name} returns floats of shape {a.shape} for a discrete env: logits or "
            f"probabilities? Declare it: set {name.split(':')[-1]}.output = 'logits' (or 'probs'), or "
            f"give --expert-output logits|probs")
    raise ValueError(f"teacher {name} returned an array of shape {a.shape} and dtype {a.dtype}: a discrete "
                     f"teacher returns integer actions of shape (batch,), or logits / probabilities of "
                     f"shape (batch, {space.n})")


class Teacher:
    """A teacher bound to an environment's spaces: :meth:`targets` for a batch of observations.

    Build one with :func:`load_teacher`.

    Attributes
    ----------
    source : {"shipped", "file", "callable"}
    spec : str or None
        ``TrainConfig.expert`` as a run stores it: ``None`` (shipped), the absolute stem of the
        expert files, or ``"module:function"``.
    name : str
        For messages.
    kind : {"logits", "probs", "actions"}
    action_space : ActionSpace
    n_inputs : int
    sha256 : str or None
        The sha256 of the expert's ``.json`` file (which holds the sha256 of its ``.npz``,
        checked on every load), so the pair is pinned; ``None`` for a callable.
    """

    def __init__(self, fn, *, kind: str, info: EnvInfo, source: str, spec, name: str, sha256=None):
        self._fn = fn
        self.kind, self.source, self.spec, self.name, self.sha256 = kind, source, spec, name, sha256
        self.action_space, self.n_inputs = info.action_space, info.n_inputs

    @property
    def n_outputs(self) -> int:
        """Width of a target row (and of the student's output)."""
        return self.action_space.n

    @property
    def losses(self) -> tuple[str, ...]:
        """The losses that fit this teacher (:data:`LOSSES_FOR`); the first is the default."""
        return LOSSES_FOR[(self.action_space.kind, self.kind)]

    @property
    def default_loss(self) -> str:
        return self.losses[0]

    def check_loss(self, loss: str | None) -> str:
        """``loss``, or the default when ``None``; ``ValueError`` if it does not fit."""
        if loss is None:
            return self.default_loss
        if loss not in self.losses:
            raise ValueError(f"loss {loss!r} does not fit teacher {self.name}, which gives {self.kind} for "
                             f"{self.action_space}: use {' or '.join(map(repr, self.losses))}")
        return loss

    def targets(self, obs_batch) -> np.ndarray:
        """The training targets for a batch of raw observations (:func:`check_targets`).

        Raises
        ------
        ValueError
            If the teacher raises or returns something that does not fit (one line).
        """
        obs = np.array(obs_batch, dtype=np.float64)  # a copy: the teacher may not edit our states
        return check_targets(_call(self._fn, obs, self.name), self.kind, self.action_space, len(obs), self.name)

    def record(self) -> dict:
        """The ``TrainConfig`` fields that pin this teacher in a run's ``config.json``."""
        return {"expert": self.spec, "expert_output": self.kind, "expert_sha256": self.sha256}


def _expert_teacher(env_id: str, expert: str | None, info: EnvInfo):
    """``(fn, kind, source, spec, name, sha256)`` of a shipped or file expert."""
    from .experts import EXPERT_DIR, SHIPPED_EXPERTS, load_expert_file

    if expert is None:
        if env_id not in SHIPPED_EXPERTS:
            raise ValueError(f"no expert is shipped for env {env_id!r} (shipped: {', '.join(SHIPPED_EXPERTS)}); "
                             f"give a teacher: --expert PATH (an expert file) or --expert module:function")
        stem, source, spec = EXPERT_DIR / env_id, "shipped", None
    else:
        stem = expert_stem(expert, env_id)
        source, spec = "file", str(stem)
    e = load_expert_file(stem)  # checks the .npz against its sha256
    name = f"{stem.name} ({source} expert)"
    if e.env_id is not None and e.env_id != env_id:
        raise ValueError(f"expert {stem} was made for env {e.env_id!r}, not {env_id!r}")
    space = info.action_space
    same = e.action_space.kind == space.kind and e.action_space.n == space.n and (
        space.is_discrete or (np.allclose(e.action_space.low, space.low, rtol=0, atol=1e-6)
                              and np.allclose(e.action_space.high, space.high, rtol=0, atol=1e-6)))
    if e.n_inputs != info.n_inputs or not same:
        raise ValueError(f"expert {stem} maps {e.n_inputs} inputs to {e.action_space}; env {env_id} has "
                         f"{info.n_inputs} inputs and {space}")
    fn = e.logits if e.is_discrete else e.action
    sha = sha256_file(stem.with_name(stem.name + ".json"))
    return fn, ("logits" if e.is_discrete else "actions"), source, spec, name, sha


def load_teacher(env_id: str, expert: str | None = None, output: str | None = None, *,
                 info: EnvInfo | None = None) -> Teacher:
    """The teacher ``expert`` names for ``env_id``, checked on real states of the env.

    Parameters
    ----------
    env_id : str
    expert : str, optional
        ``None`` (the shipped expert), a path, or ``"module:function"`` (module docstring).
    output : {"logits", "probs", "actions"}, optional
        What the teacher outputs; for an expert file it must be what the file gives.
    info : EnvInfo, optional
        ``env_info(env_id)``, when the caller has it.

    Returns
    -------
    Teacher

    Raises
    ------
    ValueError
        One line: no shipped expert, a missing or corrupted file (sha256), an expert for other
        spaces or another env, a callable that cannot be imported, raises, returns NaN or does
        not fit the action space, an ambiguous or contradictory output kind.
    """
    info = info if info is not None else env_info(env_id)
    source = parse_expert(expert)
    if source == "callable":
        fn = load_callable(expert)
        name, sha, spec = expert, None, expert
        kind = _declared_kind(fn, output, name)
    else:
        fn, kind_file, source, spec, name, sha = _expert_teacher(env_id, expert, info)
        if output is not None and output != kind_file:
            raise ValueError(f"expert_output {output!r} does not fit expert {name}, which gives {kind_file}")
        kind = kind_file
    if kind is not None and (info.action_space.kind, kind) not in LOSSES_FOR:
        raise ValueError(f"teacher {name} declares {kind} output, which a {info.action_space} env cannot use "
                         f"(continuous teachers give actions)")
    probe = probe_observations(env_id, PROBE_EPISODES)
    if kind is None:
        kind = _detect_kind(_call(fn, probe.copy(), name), info.action_space, name)
    teacher = Teacher(fn, kind=kind, info=info, source=source, spec=spec, name=name, sha256=sha)
    teacher.targets(probe)  # a batch, and one state as training calls it
    teacher.targets(probe[:1])
    return teacher


__all__ = ["OUTPUT_KINDS", "LOSSES_FOR", "PROBS_TOL", "PROBE_EPISODES", "sha256_file", "parse_expert",
           "expert_stem", "load_callable", "check_targets", "Teacher", "load_teacher"]
