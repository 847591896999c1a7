"""``prune_candidates.jsonl``: the candidate set ``W_t`` of every pruning step, a writer and a reader.

One line per pruning step of a run with pruning enabled, also when ``W_t`` is empty (so "no
candidate" differs from "not recorded"): ``PruneCandidates.to_dict()`` of
:mod:`smgrnn_ref.events`, ``{"step": t, "candidates": [[u, v, w_k, mu_k], ...]}`` in sorted
``(u, v)`` order. The edges drawn, ``D_t``, are the ``edge_pruned`` events of the same step in
``events.jsonl``; the candidate set is kept apart because it is not an edit.
"""

from __future__ import annotations

import json

from .formats import read_jsonl


def append_prune_candidates(path, records) -> None:
    """Append candidate sets (:class:`smgrnn_ref.events.PruneCandidates`) to ``path``, one JSON
    line each, in one write; nothing is written when there are none."""
    if records:
        with open(path, "a") as fh:
            fh.write("".join(json.dumps(r.to_dict()) + "\n" for r in records))


def read_prune_candidates(path) -> list:
    """Every record of a ``prune_candidates.jsonl``, validated, in order.

    Raises
    ------
    ValueError
        Naming the file and the 1-based line of the first malformed record, or of a step
        that is not after the previous record's.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from smgrnn_ref.events import PruneCandidates
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "prune_candidates.jsonl"
    ...     append_prune_candidates(p, [PruneCandidates(30, [(0, 4, 0.01, 0.0)]), PruneCandidates(60, [])])
    ...     [(r.step, len(r.candidates)) for r in read_prune_candidates(p)]
    [(30, 1), (60, 0)]
    """
    from ..events import prune_candidates_from_dict

    records = read_jsonl(path, prune_candidates_from_dict, "candidate set")
    for lineno, (a, b) in enumerate(zip(records, records[1:]), start=2):
        if b.step <= a.step:
            raise ValueError(f"{path}: line {lineno}: step {b.step} is not after step {a.step}")
    return records


__all__ = ["append_prune_candidates", "read_prune_candidates"]
