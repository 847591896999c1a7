"""The flat files of a run directory: ``config.json``, ``metrics.csv``, ``events.jsonl``, ``dataset.npz``.

One writer and one reader per format (the formats are described in :mod:`smgrnn_ref.rundir`).
The readers take any path, so a table or a log can be read from anywhere.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .names import DATASET_FILE, EVENTS_FILE, METRICS_FILE, REQUIRED_METRICS  # noqa: F401 (doctests)

# --- plain files -----------------------------------------------------------------------------


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through ``path.tmp`` and a rename: a reader sees the old
    file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
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
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"config file {path} is not valid JSON: {err}") from None
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
    path : path
    obs, logits : numpy.ndarray
        The stored pairs, shapes ``(size, n_inputs)`` and ``(size, n_outputs)``.
    next, capacity : int
        The ring's write position and capacity.
    """
    with open(path, "wb") as fh:
        np.savez(fh, obs=obs, logits=logits, next=np.array(next), capacity=np.array(capacity))


def read_dataset(path) -> dict:
    """Read a file written by :func:`write_dataset` (``allow_pickle=False``).

    Returns
    -------
    dict
        ``obs`` and ``logits`` (arrays), ``next`` and ``capacity`` (ints).

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
    with np.load(path, allow_pickle=False) as z:
        return {"obs": z["obs"], "logits": z["logits"], "next": int(z["next"]),
                "capacity": int(z["capacity"])}
