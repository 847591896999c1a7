"""The labelled dataset of a distillation run: a bounded ring buffer of ``(state, target)``.

Step 1 of every training step (:mod:`smgrnn_ref.distill`) adds the visited state and the
teacher's target for it (:meth:`smgrnn_ref.teachers.Teacher.targets`: logits, probabilities,
a one-hot discrete action or a continuous action); step 3 draws the optimizer's minibatch from
it. The file format of a saved dataset (``checkpoint/dataset.npz``) is
:func:`smgrnn_ref.rundir.write_dataset`'s, whose array ``logits`` holds the targets (the name
dates from when every target was a row of logits).
"""

from __future__ import annotations

import numpy as np

from ..rundir import read_dataset, write_dataset


class Dataset:
    """A bounded set of labelled states: a ring buffer of ``(obs, target)`` pairs.

    Parameters
    ----------
    capacity : int
        Maximum number of pairs; when full the oldest pair is overwritten.
    n_inputs, n_outputs : int
        Observation size and target width (number of actions, or action dimension).

    Attributes
    ----------
    obs, targets : numpy.ndarray
        The stored pairs, in storage order (views).

    Examples
    --------
    >>> d = Dataset(2, 1, 1)
    >>> for x in (1.0, 2.0, 3.0): d.add([x], [-x])
    >>> len(d), d.obs[:, 0].tolist(), d.next
    (2, [3.0, 2.0], 1)
    """

    def __init__(self, capacity: int, n_inputs: int, n_outputs: int):
        self.capacity = int(capacity)
        self.obs = np.zeros((0, n_inputs))
        self.targets = np.zeros((0, n_outputs))
        self._obs = np.zeros((self.capacity, n_inputs))
        self._targets = np.zeros((self.capacity, n_outputs))
        self.size = 0
        self.next = 0

    def __len__(self) -> int:
        return self.size

    def _refresh_views(self):
        self.obs, self.targets = self._obs[: self.size], self._targets[: self.size]

    def add(self, obs, target) -> None:
        """Store one labelled state at the write position (overwriting the oldest when full)."""
        self._obs[self.next] = obs
        self._targets[self.next] = target
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self._refresh_views()

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A minibatch drawn uniformly with replacement (one ``rng.integers`` call); the whole
        dataset, in storage order and without drawing, while it holds fewer than
        ``batch_size`` pairs."""
        if self.size == 0:
            raise ValueError("the dataset is empty")
        if self.size < batch_size:
            return self.obs.copy(), self.targets.copy()
        idx = rng.integers(0, self.size, size=batch_size)
        return self._obs[idx], self._targets[idx]

    def arrays(self) -> dict:
        """The dataset as the arrays of ``dataset.npz``
        (:func:`smgrnn_ref.rundir.write_dataset`'s arguments)."""
        return {"obs": self.obs, "logits": self.targets, "next": self.next, "capacity": self.capacity}

    @classmethod
    def from_arrays(cls, arrays: dict, n_inputs: int, n_outputs: int, *, origin="dataset") -> "Dataset":
        """A dataset holding ``arrays`` (:meth:`arrays`, :func:`smgrnn_ref.rundir.read_dataset`).

        Raises
        ------
        ValueError
            If the arrays' shapes do not fit ``n_inputs`` / ``n_outputs`` (``origin`` names
            where they came from in the message).
        """
        obs, targets = arrays["obs"], arrays["logits"]
        if obs.shape[1:] != (n_inputs,) or targets.shape != (obs.shape[0], n_outputs):
            raise ValueError(f"dataset {origin}: shapes {obs.shape} / {targets.shape} do not fit the run")
        d = cls(arrays["capacity"], n_inputs, n_outputs)
        d.size = obs.shape[0]
        d._obs[: d.size], d._targets[: d.size] = obs, targets
        d.next = arrays["next"]
        d._refresh_views()
        return d

    def save(self, path) -> None:
        """Write the stored pairs to ``path`` (``.npz``, plain arrays: loadable without pickle)."""
        write_dataset(path, **self.arrays())

    @classmethod
    def load(cls, path, n_inputs: int, n_outputs: int) -> "Dataset":
        """Read a dataset written by :meth:`save` (``allow_pickle=False``)."""
        return cls.from_arrays(read_dataset(path), n_inputs, n_outputs, origin=path)


__all__ = ["Dataset"]
