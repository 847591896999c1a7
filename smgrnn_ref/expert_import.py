"""Convert a stable-baselines3 model ``.zip`` into this project's numpy expert format.

A researcher's own teacher is often a stable-baselines3 (SB3) model. :func:`import_sb3`
turns its **actor** into the two files of :mod:`smgrnn_ref.experts` (``<name>.npz`` arrays
+ ``<name>.json`` metadata), which then run with numpy only::

    pip install -e '.[experts]'          # torch, for reading the zip's weights
    python -m smgrnn_ref.expert_import MODEL.zip --env Pendulum-v1 --out DIR

Supported: ``MlpPolicy`` of PPO and A2C (``ActorCriticPolicy``) on a ``Discrete`` or a flat
``Box`` action space, of SAC (``SACPolicy``) and of TD3 / DDPG (``TD3Policy``) on a ``Box``;
observations must be a flat ``Box``. What the exported expert computes is what SB3's
``model.predict(obs, deterministic=True)`` returns:

=============================  ===========================================================
policy                         deterministic action from the actor's output ``y``
=============================  ===========================================================
PPO / A2C, ``Discrete``        ``argmax(y)`` (``y`` are the logits)
PPO / A2C, ``Box``             ``clip(y, low, high)`` (``y`` is the Gaussian mean)
PPO / A2C, ``Box``, gSDE with  ``low + (tanh(y) + 1) / 2 * (high - low)``
``squash_output``
SAC                            the same tanh rescale (with gSDE: of ``clip(y, -clip_mean,
                               clip_mean)``)
TD3 / DDPG                     the same tanh rescale (the actor ends in ``tanh``)
=============================  ===========================================================

**Nothing in the zip is unpickled.** SB3's own ``ALGO.load`` unpickles parts of the zip
(cloudpickle), which runs whatever code the file's author put there; this importer instead
reads the readable JSON fields of the zip's ``data`` entry, reads the policy class name from
its pickled reference with :mod:`pickletools` (a parser: it executes nothing), and loads the
weights with ``torch.load(weights_only=True)`` (torch's restricted loader for tensors).

Observation normalisation: SB3 saves ``VecNormalize`` statistics as a pickle of the whole
wrapper. ``vecnormalize=PATH`` does not unpickle it either: :func:`read_vecnormalize`
interprets the pickle's opcodes itself (a small stack machine over :mod:`pickletools`),
rebuilding only plain data and numeric numpy arrays; no module is imported, nothing named
in the file is called, and a file naming anything but the wrapper, its statistics, its
spaces and numpy is refused.

Examples
--------
>>> import zipfile, io, json
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("data", json.dumps({"policy_class": {"__module__": "x"}}))
>>> import_sb3(buf, "CartPole-v1", "/nonexistent/out")
Traceback (most recent call last):
...
ValueError: <in-memory zip>: not a stable-baselines3 model zip (no 'policy.pth' entry)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
from pickletools import genops  # an opcode parser: it executes nothing
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from smgrnn_ref.experts import ActionSpace, export_expert

__all__ = ["SUPPORTED_POLICIES", "import_sb3", "read_vecnormalize", "build_parser", "add_arguments", "run", "main"]

SUPPORTED_POLICIES: dict[str, str] = {
    "stable_baselines3.common.policies.ActorCriticPolicy": "actor-critic",
    "stable_baselines3.sac.policies.SACPolicy": "sac",
    "stable_baselines3.td3.policies.TD3Policy": "td3",
}
"""Policy classes the importer understands (``MlpPolicy`` of PPO/A2C, SAC, TD3/DDPG)."""

_SUPPORTED_TEXT = "PPO/A2C MlpPolicy (ActorCriticPolicy), SAC MlpPolicy (SACPolicy), TD3/DDPG MlpPolicy (TD3Policy)"

# Default hidden activation of each policy family in SB3 (used when policy_kwargs has none).
_DEFAULT_ACTIVATION = {"actor-critic": "tanh", "sac": "relu", "td3": "relu"}
_ACTIVATIONS = {"torch.nn.modules.activation.Tanh": "tanh", "torch.nn.modules.activation.ReLU": "relu"}
# SAC's default bound on the gSDE mean (stable_baselines3.sac.policies.Actor, clip_mean=2.0).
_SAC_CLIP_MEAN = 2.0
# policy_kwargs that do not change the deterministic actor's forward pass or that we read.
_KNOWN_POLICY_KWARGS = {
    "net_arch", "activation_fn", "ortho_init", "log_std_init", "full_std", "use_expln",
    "optimizer_class", "optimizer_kwargs", "n_critics", "share_features_extractor",
    "normalize_images", "use_sde", "squash_output", "clip_mean", "features_extractor_class",
    "features_extractor_kwargs",
}


def _fail(source: str, msg: str):
    raise ValueError(f"{source}: {msg}")


def _read_zip(model_zip) -> tuple[dict[str, Any], bytes, str, str, str]:
    """``(data, policy.pth bytes, sb3 version, sha256 of the zip, a name for messages)``."""
    source = "<in-memory zip>" if hasattr(model_zip, "read") else str(model_zip)
    try:
        if hasattr(model_zip, "read"):
            model_zip.seek(0)
            raw = model_zip.read()
        else:
            raw = Path(model_zip).read_bytes()
    except OSError as exc:
        _fail(source, f"cannot read the file ({exc.strerror or exc})")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = set(z.namelist())
            for entry in ("data", "policy.pth"):
                if entry not in names:
                    _fail(source, f"not a stable-baselines3 model zip (no {entry!r} entry)")
            data_text = z.read("data").decode("utf-8")
            pth = z.read("policy.pth")
            version = z.read("_stable_baselines3_version").decode().strip() if "_stable_baselines3_version" in names else "unknown"
    except zipfile.BadZipFile:
        _fail(source, "not a zip file (a stable-baselines3 model is saved as a .zip)")
    try:
        data = json.loads(data_text)
    except json.JSONDecodeError as exc:
        _fail(source, f"the zip's 'data' entry is not JSON ({exc})")
    if not isinstance(data, dict):
        _fail(source, "the zip's 'data' entry is not a JSON object")
    return data, pth, version, hashlib.sha256(raw).hexdigest(), source


def _pickled_global(b64: str) -> str | None:
    """``module.name`` of a pickle that only references one global (parsed, never executed)."""
    try:
        ops = list(genops(base64.b64decode(b64)))
    except Exception:  # not base64, not a pickle
        return None
    strings, found = [], []
    for op, arg, _ in ops:
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append(f"{strings[-2]}.{strings[-1]}")
        elif op.name == "GLOBAL":
            found.append(str(arg).replace(" ", "."))
        elif op.name not in ("PROTO", "FRAME", "MEMOIZE", "BINPUT", "PUT", "STOP"):
            return None  # anything else builds an object: not a plain class reference
    return found[0] if len(found) == 1 else None


def _policy_family(data: Mapping[str, Any], source: str) -> tuple[str, str]:
    entry = data.get("policy_class")
    qualname = _pickled_global(entry.get(":serialized:", "")) if isinstance(entry, dict) else None
    if qualname is None:
        _fail(source, f"cannot read the policy class (supported: {_SUPPORTED_TEXT})")
    if qualname not in SUPPORTED_POLICIES:
        _fail(source, f"policy class {qualname} is not supported (supported: {_SUPPORTED_TEXT})")
    return SUPPORTED_POLICIES[qualname], qualname


def _algorithm_name(family: str, data: Mapping[str, Any]) -> str:
    """The algorithm, from the fields each one saves (the zip does not name it)."""
    if family == "actor-critic":
        return "PPO" if "clip_range" in data else "A2C"
    if family == "sac":
        return "SAC"
    return "TD3" if "target_policy_noise" in data and data.get("policy_delay", 1) != 1 else "TD3/DDPG"


def _policy_options(data: Mapping[str, Any], family: str, source: str) -> dict[str, Any]:
    """Activation, gSDE, squash and clip_mean settings, from the readable policy_kwargs."""
    kwargs = data.get("policy_kwargs") or {}
    if not isinstance(kwargs, dict):
        _fail(source, "policy_kwargs is not readable")
    unknown = sorted(k for k in kwargs if not k.startswith(":") and k not in _KNOWN_POLICY_KWARGS)
    if unknown:
        _fail(source, f"unsupported policy_kwargs {unknown} (the importer knows {sorted(_KNOWN_POLICY_KWARGS)})")
    extractor = str(kwargs.get("features_extractor_class", "FlattenExtractor"))
    if "FlattenExtractor" not in extractor:
        _fail(source, f"features extractor {extractor} is not supported (only FlattenExtractor, as in MlpPolicy)")
    activation = _DEFAULT_ACTIVATION[family]
    if "activation_fn" in kwargs:
        m = re.fullmatch(r"<class '([\w.]+)'>", str(kwargs["activation_fn"]))
        if m is None or m.group(1) not in _ACTIVATIONS:
            _fail(source, f"activation {kwargs['activation_fn']} is not supported (supported: ReLU, Tanh)")
        activation = _ACTIVATIONS[m.group(1)]
    use_sde = bool(kwargs.get("use_sde", data.get("use_sde", False)))
    return {
        "activation": activation,
        "use_sde": use_sde,
        "squash_output": bool(kwargs.get("squash_output", False)),
        "clip_mean": float(kwargs.get("clip_mean", _SAC_CLIP_MEAN)),
    }


def _repr_floats(text: str) -> np.ndarray | None:
    """Parse a numpy repr such as ``"[-1. -1. -8.]"``; ``None`` if summarised or unreadable."""
    if not isinstance(text, str) or "..." in text:
        return None
    try:
        return np.array([float(t) for t in text.strip().strip("[]").split()], dtype=np.float64)
    except ValueError:
        return None


def _check_spaces(data: Mapping[str, Any], env_id: str, source: str):
    """The env's spaces, after checking that the zip was trained on the same ones."""
    obs_shape, act_space = _env_spaces(env_id)
    zobs, zact = data.get("observation_space"), data.get("action_space")
    if not isinstance(zobs, dict) or not isinstance(zact, dict):
        _fail(source, "the zip has no readable observation_space / action_space")
    if "spaces.box.Box" not in str(zobs.get(":type:")):
        _fail(source, f"the model's observation space is {zobs.get(':type:')}; only a flat Box is supported")
    if list(zobs.get("_shape", [])) != list(obs_shape):
        _fail(source, f"the model was trained on observations of shape {tuple(zobs.get('_shape', []))}, "
                      f"but {env_id} has {obs_shape}")
    ztype = str(zact.get(":type:"))
    if act_space.is_discrete:
        if "spaces.discrete.Discrete" not in ztype or int(zact.get("n", -1)) != act_space.n:
            _fail(source, f"the model's action space ({_describe(zact)}) does not match {env_id}'s Discrete({act_space.n})")
        if int(zact.get("start", 0)) != 0:
            _fail(source, "a Discrete action space with start != 0 is not supported")
    else:
        if "spaces.box.Box" not in ztype or list(zact.get("_shape", [])) != [act_space.n]:
            _fail(source, f"the model's action space ({_describe(zact)}) does not match {env_id}'s Box of shape ({act_space.n},)")
        for key, env_bound in (("low", act_space.low), ("high", act_space.high)):
            zb = _repr_floats(zact.get(key))
            if zb is not None and (zb.shape != env_bound.shape or not np.allclose(zb, env_bound, rtol=1e-6, atol=1e-6)):
                _fail(source, f"the model's action bound {key}={zb.tolist()} differs from {env_id}'s {env_bound.tolist()}")
    return obs_shape, act_space


def _describe(space_json: Mapping[str, Any]) -> str:
    kind = str(space_json.get(":type:", "?")).split(".")[-1].rstrip("'>")
    return f"{kind}(n={space_json['n']})" if "n" in space_json else f"{kind} of shape {tuple(space_json.get('_shape', []))}"


def _env_spaces(env_id: str):
    """``(observation shape, ActionSpace)`` of ``env_id`` (a registered id or ``module:EnvClass``);
    ValueError for an unknown env or unsupported spaces (:func:`smgrnn_ref.envs.env_info`)."""
    from .envs import env_info  # lazy: gymnasium, like evaluate_expert

    info = env_info(env_id)
    return info.observation_shape, info.action_space


def _load_state_dict(pth: bytes, source: str) -> dict[str, np.ndarray]:
    try:
        import torch
    except ImportError as exc:
        raise ValueError("importing a stable-baselines3 zip needs torch: pip install -e '.[experts]'") from exc
    try:
        state = torch.load(io.BytesIO(pth), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError on bad input
        _fail(source, f"cannot read the weights in policy.pth ({type(exc).__name__})")
    return {k: v.detach().cpu().numpy().astype(np.float64) for k, v in state.items()}


def _linear_chain(state: Mapping[str, np.ndarray], prefix: str, source: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W, b), ...]`` of the Linear layers ``<prefix>.<i>.weight`` in index order."""
    idx = sorted({int(m.group(1)) for k in state if (m := re.fullmatch(re.escape(prefix) + r"\.(\d+)\.weight", k))})
    layers = []
    for i in idx:
        W, b = state[f"{prefix}.{i}.weight"], state.get(f"{prefix}.{i}.bias")
        if b is None:
            _fail(source, f"layer {prefix}.{i} has no bias; only Linear layers with bias are supported")
        layers.append((W.T.copy(), b.copy()))  # torch stores (fan_out, fan_in)
    return layers


def _one_linear(state, name, source):
    if f"{name}.weight" not in state or f"{name}.bias" not in state:
        _fail(source, f"the weights have no {name} layer; is this really an MlpPolicy?")
    return state[f"{name}.weight"].T.copy(), state[f"{name}.bias"].copy()


def _actor_layers(state, family: str, opts: Mapping[str, Any], source: str):
    """``(layers, output_transform, pre_clip)`` of the deterministic actor."""
    if any(k.startswith(("features_extractor.", "pi_features_extractor.", "actor.features_extractor.")) for k in state):
        _fail(source, "the features extractor has weights; only FlattenExtractor (MlpPolicy) is supported")
    if family == "actor-critic":
        if any(k.startswith("mlp_extractor.shared_net.") for k in state):
            _fail(source, "shared actor-critic layers (old SB3 net_arch) are not supported")
        layers = _linear_chain(state, "mlp_extractor.policy_net", source)
        layers.append(_one_linear(state, "action_net", source))
        squash = opts["use_sde"] and opts["squash_output"]
        return layers, ("tanh_rescale" if squash else "clip"), None
    if family == "sac":
        layers = _linear_chain(state, "actor.latent_pi", source)
        if "actor.mu.0.weight" in state:  # gSDE: mu = Sequential(Linear, Hardtanh(+-clip_mean))
            layers.append(_one_linear(state, "actor.mu.0", source))
            return layers, "tanh_rescale", opts["clip_mean"]
        layers.append(_one_linear(state, "actor.mu", source))
        return layers, "tanh_rescale", None
    layers = _linear_chain(state, "actor.mu", source)  # TD3: Linear/act ... Linear, Tanh
    if not layers:
        _fail(source, "the weights have no actor.mu layers; is this really a TD3 MlpPolicy?")
    return layers, "tanh_rescale", None


def _check_widths(layers, n_inputs: int, space: ActionSpace, env_id: str, source: str):
    if layers[0][0].shape[0] != n_inputs:
        _fail(source, f"the actor takes {layers[0][0].shape[0]} inputs but {env_id} has {n_inputs} observations")
    for i in range(1, len(layers)):
        if layers[i][0].shape[0] != layers[i - 1][0].shape[1]:
            _fail(source, f"actor layer {i} does not chain with layer {i - 1}")
    if layers[-1][0].shape[1] != space.n:
        _fail(source, f"the actor outputs {layers[-1][0].shape[1]} values but {env_id}'s action space needs {space.n}")


class _Call:
    """``callee(*args)`` as a pickle describes it, NOT performed; ``state`` from BUILD."""

    def __init__(self, callee: str, args):
        self.callee, self.args, self.state = callee, args, None


class _Refused(ValueError):
    """A VecNormalize file that parses but is refused (the message says why)."""


class _Global(str):
    """A ``module.name`` reference read from the pickle (never imported)."""


_MARK = object()
_PUSH_ARG = {
    "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG", "BINFLOAT", "FLOAT",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINBYTES",
    "BINBYTES", "BINBYTES8", "BINSTRING", "SHORT_BINSTRING",
}
_PUSH_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_DICT": dict,
               "EMPTY_LIST": list, "EMPTY_TUPLE": tuple}


def _pop_mark(stack):
    i = len(stack) - 1 - stack[::-1].index(_MARK)
    items = stack[i + 1:]
    del stack[i:]
    return items


def _read_pickle(raw: bytes, allowed: tuple[str, ...], source: str):
    """Interpret a pickle's opcodes into plain data and :class:`_Call` records.

    Nothing is imported and nothing is called: a global becomes a :class:`_Global` name,
    ``REDUCE``/``NEWOBJ`` a :class:`_Call`. Globals outside ``allowed`` (prefixes) are refused.
    """
    stack, memo = [], {}
    for op, arg, _ in genops(raw):
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            break
        if name in _PUSH_ARG:
            stack.append(arg)
        elif name in _PUSH_CONST:
            c = _PUSH_CONST[name]
            stack.append(c() if callable(c) else c)
        elif name == "MARK":
            stack.append(_MARK)
        elif name in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[arg])
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name == "TUPLE":
            stack.append(tuple(_pop_mark(stack)))
        elif name == "APPEND":
            v = stack.pop()
            stack[-1].append(v)
        elif name == "APPENDS":
            items = _pop_mark(stack)
            stack[-1].extend(items)
        elif name == "SETITEM":
            v, k = stack.pop(), stack.pop()
            stack[-1][k] = v
        elif name == "SETITEMS":
            items = _pop_mark(stack)
            stack[-1].update(zip(items[::2], items[1::2]))
        elif name in ("STACK_GLOBAL", "GLOBAL"):
            if name == "GLOBAL":
                qualname = str(arg).replace(" ", ".")
            else:
                mod, attr = stack[-2], stack[-1]
                del stack[-2:]
                qualname = f"{mod}.{attr}"
            if not qualname.startswith(allowed):
                raise _Refused(f"{source}: refusing to load {qualname} (not part of a VecNormalize file)")
            stack.append(_Global(qualname))
        elif name in ("REDUCE", "NEWOBJ"):
            args = stack.pop()
            stack.append(_Call(stack.pop(), args))
        elif name == "BUILD":
            state = stack.pop()
            if not isinstance(stack[-1], _Call):
                raise _Refused(f"{source}: unexpected BUILD in the pickle")
            stack[-1].state = state
        else:
            raise _Refused(f"{source}: unsupported pickle opcode {name}")
    if len(stack) != 1:
        raise _Refused(f"{source}: malformed pickle")
    return stack[0]


# What a VecNormalize.save file references: the wrapper, its statistics, its spaces and
# numpy's array, dtype and random-generator constructors (all only read, never called).
_VECNORM_GLOBALS = (
    "stable_baselines3.common.vec_env.vec_normalize.",
    "stable_baselines3.common.running_mean_std.",
    "gymnasium.spaces.",
    "numpy.",
)


def _as_dtype(obj, source) -> np.dtype:
    """``numpy.dtype(code, ...)`` + BUILD state -> a numeric dtype (object dtypes refused)."""
    if not (isinstance(obj, _Call) and obj.callee == "numpy.dtype" and obj.args and isinstance(obj.args[0], str)):
        raise _Refused(f"{source}: an array has an unreadable dtype")
    dt = np.dtype(obj.args[0])
    if dt.kind not in "biuf":
        raise _Refused(f"{source}: arrays of dtype {dt} are not supported")
    order = obj.state[1] if isinstance(obj.state, tuple) and len(obj.state) > 1 else "="
    return dt.newbyteorder(order) if order in "<>" else dt


def _as_array(obj, source):
    """The numpy array (or scalar) a ``_reconstruct`` / ``_frombuffer`` / ``scalar`` call describes."""
    if not isinstance(obj, _Call):
        return obj
    kind = obj.callee.rsplit(".", 1)[-1]
    if kind == "_reconstruct" and isinstance(obj.state, tuple) and len(obj.state) == 5:
        _, shape, dtype, fortran, data = obj.state
        a = np.frombuffer(bytes(data), dtype=_as_dtype(dtype, source))
        return a.reshape(shape, order="F" if fortran else "C").astype(np.float64)
    if kind == "_frombuffer" and len(obj.args) == 4:
        data, dtype, shape, order = obj.args
        a = np.frombuffer(bytes(data), dtype=_as_dtype(dtype, source))
        return a.reshape(shape, order=order).astype(np.float64)
    if kind == "scalar" and len(obj.args) == 2:
        return float(np.frombuffer(bytes(obj.args[1]), dtype=_as_dtype(obj.args[0], source))[0])
    return obj


def read_vecnormalize(path, n_inputs: int | None = None) -> dict[str, Any]:
    """Observation statistics of an SB3 ``VecNormalize.save`` file, without unpickling it.

    SB3 writes the file with :mod:`pickle`; this reads the pickle's opcodes with
    :mod:`pickletools` and rebuilds only plain data and numeric numpy arrays from them. No
    module is imported and nothing the file names is called, and a file naming anything but
    the wrapper, its statistics, its spaces and numpy is refused.

    Parameters
    ----------
    path : str or Path
    n_inputs : int, optional
        Expected observation size.

    Returns
    -------
    dict
        ``{"mean", "var", "epsilon", "clip"}`` as :class:`smgrnn_ref.experts.Expert` takes it.

    Raises
    ------
    ValueError
        For a file that is not a VecNormalize pickle, references any other class, has
        ``norm_obs`` off, or statistics of the wrong shape.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{source}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        obj = _read_pickle(raw, _VECNORM_GLOBALS, source)
    except _Refused:
        raise
    except Exception as exc:  # truncated or not a pickle: pickletools / stack errors
        raise ValueError(f"{source}: not a VecNormalize file ({type(exc).__name__}: {exc})") from exc
    if not (isinstance(obj, _Call) and obj.callee.endswith("vec_normalize.VecNormalize")
            and isinstance(obj.state, dict)):
        raise ValueError(f"{source}: not a VecNormalize file")
    state = obj.state
    if state.get("norm_obs") is not True:
        raise ValueError(f"{source}: VecNormalize has norm_obs off: no observation statistics to import")
    rms = state.get("obs_rms")
    rms_state = rms.state if isinstance(rms, _Call) and rms.callee.endswith("RunningMeanStd") else None
    if not isinstance(rms_state, dict):
        raise ValueError(f"{source}: observation statistics are not a single RunningMeanStd (Dict observations are not supported)")
    mean, var = (_as_array(rms_state.get(k), source) for k in ("mean", "var"))
    if not (isinstance(mean, np.ndarray) and isinstance(var, np.ndarray)):
        raise ValueError(f"{source}: observation mean / var are not arrays")
    if n_inputs is not None and (mean.shape != (n_inputs,) or var.shape != (n_inputs,)):
        raise ValueError(f"{source}: statistics of shape {mean.shape}, the env has {n_inputs} observations")
    eps, clip = _as_array(state.get("epsilon"), source), _as_array(state.get("clip_obs"), source)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (eps, clip)):
        raise ValueError(f"{source}: epsilon / clip_obs are not numbers")
    return {"mean": mean, "var": var, "epsilon": float(eps), "clip": float(clip)}


def import_sb3(
    model_zip,
    env_id: str,
    out_dir,
    vecnormalize=None,
    name: str | None = None,
    obs_norm: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Convert an SB3 model zip into ``<out_dir>/<name>.npz`` + ``.json`` (numpy expert format).

    Every check runs before anything is written: an unsupported algorithm or policy, a model
    trained on other spaces than ``env_id``'s, or unreadable files leave ``out_dir`` untouched.

    Parameters
    ----------
    model_zip : str, Path or binary file
        What ``model.save(...)`` wrote.
    env_id : str
        The gymnasium env the model acts in; its spaces are checked against the zip's.
    out_dir : str or Path
        Created if missing.
    vecnormalize : str or Path, optional
        A ``VecNormalize.save`` file: its observation statistics become the expert's
        ``obs_normalization`` (see :func:`read_vecnormalize`).
    name : str, optional
        File stem (default: ``env_id``).
    obs_norm : dict, optional
        ``{"mean", "var", "epsilon", "clip"}`` given directly (excludes ``vecnormalize``).
    metadata : dict, optional
        Extra JSON metadata (training details); ``env_id`` and the import record are added.

    Returns
    -------
    dict
        The metadata written.

    Raises
    ------
    ValueError
        One line naming the problem (see above).
    """
    if vecnormalize is not None and obs_norm is not None:
        raise ValueError("give either vecnormalize or obs_norm, not both")
    data, pth, version, digest, source = _read_zip(model_zip)
    family, qualname = _policy_family(data, source)
    opts = _policy_options(data, family, source)
    obs_shape, space = _check_spaces(data, env_id, source)
    if family != "actor-critic" and space.is_discrete:
        _fail(source, f"{family.upper()} needs a Box action space")
    state = _load_state_dict(pth, source)
    layers, transform, pre_clip = _actor_layers(state, family, opts, source)
    _check_widths(layers, int(obs_shape[0]), space, env_id, source)
    if vecnormalize is not None:
        obs_norm = read_vecnormalize(vecnormalize, int(obs_shape[0]))
    meta = dict(metadata or {})
    meta["env_id"] = env_id
    meta["imported_from"] = {
        "format": "stable-baselines3 zip",
        "file": Path(source).name,
        "sha256": digest,
        "stable_baselines3_version": version,
        "policy_class": qualname,
        "algorithm": _algorithm_name(family, data),
        "num_timesteps": data.get("num_timesteps"),
        "exported_part": _EXPORTED_PART[family],
        "vecnormalize": None if vecnormalize is None else Path(vecnormalize).name,
    }
    if space.is_discrete:
        transform, pre_clip = None, None
    stem = Path(out_dir) / (name or env_id)
    return export_expert(stem, layers, opts["activation"], obs_norm, meta, space, transform, pre_clip)


_EXPORTED_PART = {
    "actor-critic": "actor only: mlp_extractor.policy_net + action_net",
    "sac": "actor only: actor.latent_pi + actor.mu",
    "td3": "actor only: actor.mu",
}


def build_parser(prog: str = "smgrnn-ref expert import") -> argparse.ArgumentParser:
    """The command line of :func:`main` (also usable as a sub-command's parser)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Convert a stable-baselines3 model zip (PPO/A2C, SAC, TD3 MlpPolicy) into a "
        "numpy expert (<out>/<name>.npz + .json). Needs torch to read the weights; the result "
        "runs with numpy only.",
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the import options to ``p`` (for the ``smgrnn-ref expert import`` sub-command)."""
    p.add_argument("model_zip", metavar="MODEL.zip", help="what model.save(...) wrote")
    p.add_argument("--env", required=True, help="gymnasium env id the model acts in")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--name", default=None, help="file stem (default: the env id)")
    p.add_argument("--vecnormalize", default=None, metavar="PATH",
                   help="VecNormalize.save file with the observation statistics")


def run(args: argparse.Namespace) -> int:
    """Run the import for parsed ``args``; raises ValueError on bad input."""
    meta = import_sb3(args.model_zip, args.env, args.out, vecnormalize=args.vecnormalize, name=args.name)
    stem = Path(args.out) / (args.name or args.env)
    print(f"wrote {stem}.npz and {stem}.json ({meta['imported_from']['algorithm']}, "
          f"layers {meta['layer_sizes']}, output {meta['output']})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smgrnn_ref.expert_import MODEL.zip --env ID --out DIR``; exit 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ValueError as err:
        print(f"smgrnn-ref: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
