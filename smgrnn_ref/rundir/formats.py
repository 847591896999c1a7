"""The flat files of a run directory: ``config.json``, ``metrics.csv``, ``events.jsonl``, ``dataset.npz``.

One writer and one reader per format (the formats are described in :mod:`smgrnn_ref.rundir`).
The readers take any path, so a table or a log can be read from anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..io import read_json

from .names import DATASET_FILE, EVENTS_FILE, METRICS_FILE, REQUIRED_METRICS  # noqa: F401 (doctests)

# --- plain files -----------------------------------------------------------------------------


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through ``path.tmp``, an ``fsync`` and a rename: a reader (or a
    resume after a crash or a power cut) sees the old file or the new one, never half of one. A
    symbolic link at ``path`` is replaced, not followed."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def write_config(path, config: Mapping) -> Path:
    """Write a config dict as indented JSON (``config.json``), atomically.

    Parameters
    ----------
    path : path
        The file to write.
    config : mapping
        A JSON-ready config (:func:`smgrnn_ref.distill.train_config_to_dict`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    write_text_atomic(path, json.dumps(config, indent=2) + "\n")
    return path


def read_config_dict(path) -> dict:
    """The raw JSON object of a config file.

    Parameters
    ----------
    path : path
        A ``config.json`` (or any ``--config`` file).

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If the file is missing, not valid JSON, or not a JSON object.

    Examples
    --------
    >>> read_config_dict("/no/such/config.json")
    Traceback (most recent call last):
    ...
    ValueError: config file not found: /no/such/config.json
    """
    path = Path(path)
    data = read_json(path, what="config file")
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object, got {type(data).__name__}")
    return data


# --- metrics.csv -----------------------------------------------------------------------------


def _csv_value(x) -> str:
    """Exact, portable cell text: ``repr`` round-trips floats; ``None`` is an empty cell."""
    if x is None:
        return ""
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return str(x)


def csv_line(values: Iterable) -> str:
    """One ``metrics.csv`` line: floats as ``repr``, ``None`` as an empty cell, ``\\n`` ended.

    >>> csv_line([3, 0.1, None, "a,b"])
    '3,0.1,,"a,b"\\n'
    """
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_csv_value(v) for v in values])
    return buf.getvalue()


def read_metrics(source) -> dict[str, np.ndarray]:
    """Read a ``metrics.csv`` into ``{column: float array}`` (no pandas).

    Parameters
    ----------
    source : path or mapping
        A CSV file, a run directory holding ``metrics.csv``, or an already loaded mapping of
        columns (returned as float arrays).

    Returns
    -------
    dict of numpy.ndarray
        Empty cells (for example the return on steps without an evaluation) become ``NaN``.
        Non-numeric columns are kept as arrays of strings.

    Raises
    ------
    ValueError
        If the file has no header, a row has the wrong number of cells, or a required
        column (:data:`REQUIRED_METRICS`) is missing.

    Examples
    --------
    >>> m = read_metrics({"step": [0, 10], "eval_return_mean": [1, 2], "eval_return_std": [0, 1],
    ...                   "hidden_nodes": [0, 3], "edges": [4, 9]})
    >>> m["edges"]
    array([4., 9.])
    """
    if isinstance(source, Mapping):
        cols = {}
        for k, v in source.items():
            arr = np.asarray(v)
            cols[k] = arr.astype(float) if arr.dtype.kind in "biuf" else arr
        origin = "metrics table"
    else:
        p = Path(source)
        if p.is_dir():
            p = p / METRICS_FILE
        origin = str(p)
        cols = _read_csv_columns(p)
    missing = [c for c in REQUIRED_METRICS if c not in cols]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}; have {sorted(cols)}")
    return cols


def _read_csv_columns(p: Path) -> dict[str, np.ndarray]:
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{p}: empty file, expected a header row")
        header = [h.strip() for h in header]
        rows = []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{p}: line {lineno}: {len(row)} cells, header has {len(header)}")
            rows.append(row)
    cols = {}
    for j, name in enumerate(header):
        raw = [r[j].strip() for r in rows]
        try:
            cols[name] = np.array([float(x) if x != "" else np.nan for x in raw], dtype=float)
        except ValueError:
            cols[name] = np.array(raw, dtype=object)
    return cols


# --- events.jsonl ----------------------------------------------------------------------------


def append_events(path, events) -> None:
    """Append ``events`` (objects of :mod:`smgrnn_ref.events`) to ``path``, one JSON line each,
    in one write. Nothing is written (the file is not even opened) when there are none."""
    if events:
        with open(path, "a") as fh:
            fh.write("".join(json.dumps(e.to_dict()) + "\n" for e in events))


def read_events(path) -> list:
    """Every event of an ``events.jsonl`` file, validated (:func:`smgrnn_ref.events.event_from_dict`).

    Raises
    ------
    ValueError
        Naming the file and the 1-based line of the first malformed event.

    Examples
    --------
    >>> import tempfile
    >>> from smgrnn_ref.events import EdgeAdded
    >>> with tempfile.TemporaryDirectory() as d:
    ...     append_events(Path(d) / EVENTS_FILE, [EdgeAdded(step=3, edge=(0, 2), weight=0.01)])
    ...     read_events(Path(d) / EVENTS_FILE)
    [EdgeAdded(step=3, edge=(0, 2), weight=0.01)]
    """
    from ..events import event_from_dict

    return read_jsonl(path, event_from_dict, "event")


def read_jsonl(path, parse, what: str) -> list:
    """``parse(record)`` of every record of a JSON-lines file, in order (blank lines skipped).

    Parameters
    ----------
    path : path
    parse : callable
        Checks one decoded record and returns what to keep; raises ``ValueError`` if malformed.
    what : str
        What a record is, for the error message.

    Raises
    ------
    ValueError
        ``"{path}: line {n}: malformed {what}: ..."`` at the first line that is not JSON or that
        ``parse`` refuses (for example the truncated last line of a run killed mid-write).
    """
    path = Path(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                out.append(parse(json.loads(line)))
            except RecursionError:
                raise ValueError(f"{path}: line {lineno}: malformed {what}: nested too deeply") from None
            except ValueError as err:  # json.JSONDecodeError is a ValueError
                raise ValueError(f"{path}: line {lineno}: malformed {what}: {err}") from None
    return out


# --- dataset.npz -----------------------------------------------------------------------------

#: Arrays of ``dataset.npz``: the stored pairs, the ring's write position and its capacity.
DATASET_ARRAYS = ("obs", "logits", "next", "capacity")


def write_dataset(path, *, obs, logits, next: int, capacity: int) -> None:
    """Write a labelled dataset as ``.npz`` of plain arrays (loadable without pickle).

    Parameters
    ----------
    path : path or binary file
    obs, logits : numpy.ndarray
        The stored pairs, shapes ``(size, n_inputs)`` and ``(size, n_outputs)``.
    next, capacity : int
        The ring's write position and capacity.
    """
    if hasattr(path, "write"):
        np.savez(path, obs=obs, logits=logits, next=np.array(next), capacity=np.array(capacity))
        return
    with open(path, "wb") as fh:
        np.savez(fh, obs=obs, logits=logits, next=np.array(next), capacity=np.array(capacity))


def read_dataset(path, *, max_rows: int | None = None) -> dict:
    """Read a file written by :func:`write_dataset`, checked: a damaged or crafted file gets a
    one-line error, never a pickle load nor a huge allocation.

    Each array's ``.npy`` header is read first: its dtype must be plain numbers (no Python
    objects), its declared size must fit in the archive member, and ``obs`` may hold at most
    ``max_rows`` rows; only then is the array read.

    Parameters
    ----------
    path : path
    max_rows : int, optional
        Refuse more stored pairs (a resume passes the run's ``dataset_capacity``).

    Returns
    -------
    dict
        ``obs`` and ``logits`` (float arrays), ``next`` and ``capacity`` (ints).

    Raises
    ------
    ValueError
        Naming the file (and the array): missing, not a zip archive, an array missing, a
        damaged header or data, wrong dtypes or shapes, non-finite values, more than
        ``max_rows`` rows, or a write position and capacity the stored pairs contradict.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_dataset(Path(d) / DATASET_FILE, obs=np.ones((2, 3)), logits=np.zeros((2, 1)),
    ...                   next=2, capacity=5)
    ...     z = read_dataset(Path(d) / DATASET_FILE)
    >>> z["obs"].shape, z["next"], z["capacity"]
    ((2, 3), 2, 5)
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            arrays = {name: _read_npy(zf, name, path, max_rows) for name in DATASET_ARRAYS}
    except FileNotFoundError:
        raise ValueError(f"dataset file not found: {path}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is not a readable dataset file (an .npz zip archive): {err}") from None
    obs, logits, next_, capacity = (arrays[name] for name in DATASET_ARRAYS)
    for name, a in (("obs", obs), ("logits", logits)):
        if a.dtype.kind != "f" or a.ndim != 2:
            raise ValueError(f"{path}: array {name!r} must be a 2-d float array, got {a.dtype} of shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{path}: array {name!r} holds NaN or infinite values")
    if logits.shape[0] != obs.shape[0]:
        raise ValueError(f"{path}: 'obs' holds {obs.shape[0]} rows but 'logits' {logits.shape[0]}")
    for name, a in (("next", next_), ("capacity", capacity)):
        if a.dtype.kind not in "iu" or a.shape != ():
            raise ValueError(f"{path}: array {name!r} must be one integer, got {a.dtype} of shape {a.shape}")
    size, next_, capacity = obs.shape[0], int(next_), int(capacity)
    # a ring buffer: filling, the write position is the size; full, anywhere below the capacity
    if not (1 <= capacity and size <= capacity and 0 <= next_ < capacity and (size == capacity or next_ == size)):
        raise ValueError(f"{path}: write position {next_} and capacity {capacity} do not fit {size} stored pairs")
    return {"obs": obs, "logits": logits, "next": next_, "capacity": capacity}


def _read_npy(zf: zipfile.ZipFile, name: str, path: Path, max_rows: int | None) -> np.ndarray:
    """One array of a ``.npz``, its header checked before its data is read."""
    fmt = np.lib.format
    try:
        info = zf.getinfo(name + ".npy")
    except KeyError:
        raise ValueError(f"{path}: the array {name!r} is missing") from None
    try:
        with zf.open(info) as fh:
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            if dtype.hasobject:
                raise ValueError("it holds Python objects (refused: loading them would need pickle)")
            if math.prod(shape) * dtype.itemsize > info.file_size:
                raise ValueError(f"its header declares {shape} {dtype} values, more than the member holds")
            if max_rows is not None and shape and shape[0] > max_rows:
                raise ValueError(f"it holds {shape[0]} rows, more than the run's {max_rows}")
        with zf.open(info) as fh:
            return fmt.read_array(fh, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - numpy parses a damaged header with ast (SyntaxError...)
        raise ValueError(f"{path}: array {name!r} is damaged: {type(err).__name__}: {str(err)[:200]}") from None
