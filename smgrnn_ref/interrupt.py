"""Stopping long work cleanly on Ctrl-C and ``kill``: the signal handling of training and grids.

A training run must not die mid-step: the state would be half updated and the step lost. So
while it trains, :class:`StopRequest` turns the first SIGINT (Ctrl-C) or SIGTERM (``kill``, a
job scheduler) into a request that the training loop honours at the next step boundary (it
checkpoints, then raises ``KeyboardInterrupt``), also when it arrives during the last step; a
second signal aborts at once, as without a handler. A signal the process was started with
ignored stays ignored. A grid of runs (:mod:`smgrnn_ref.experiment`) instead wants SIGTERM to
unwind like Ctrl-C in the parent, which then stops each worker with one SIGTERM (the workers
ignore SIGINT, so a Ctrl-C reaching the whole process group is the parent's alone to act on):
:func:`sigterm_raises_interrupt`.

Handlers can only be installed from the main thread; elsewhere (a notebook's worker thread,
a Ray task) both are no-ops and signals keep their default effect.

Examples
--------
>>> import signal
>>> before = signal.getsignal(signal.SIGTERM)
>>> with StopRequest() as stop:
...     signal.raise_signal(signal.SIGTERM)  # delivered to the handler, which only records it
...     stop.requested
True
>>> signal.getsignal(signal.SIGTERM) is before  # the handler found on entry is back
True
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

#: Signals that stop a run gracefully: Ctrl-C and ``kill`` (the default SIGTERM).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class StopRequest:
    """A context that records a stop signal instead of acting on it (the first one only).

    Inside the ``with`` block the first SIGINT or SIGTERM sets :attr:`requested` and restores
    the default handlers, so a second signal interrupts (SIGINT: ``KeyboardInterrupt``) or
    kills (SIGTERM) at once. A signal ignored on entry (``SIG_IGN``) stays ignored. On exit the
    handlers found on entry are put back.
    """

    #: Whether a second stop signal aborts at once (restores the default handlers). A grid
    #: worker turns it off: its parent forwards one SIGTERM, which can come on top of one a job
    #: scheduler sent the whole process group, and the parent escalates by itself (SIGKILL).
    second_signal_aborts = True

    def __init__(self) -> None:
        self.requested = False
        """Whether a stop signal arrived."""
        self._previous: dict = {}

    def __enter__(self) -> "StopRequest":
        if _in_main_thread():
            # an ignored signal stays ignored: a process started with SIGINT ignored (a background
            # job, a grid worker, whose parent stops it with SIGTERM) must not be stopped by it
            self._previous = {sig: signal.signal(sig, self._record) for sig in STOP_SIGNALS
                              if signal.getsignal(sig) is not signal.SIG_IGN}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _record(self, signum, frame) -> None:
        # first signal: let the current step finish; a second one aborts at once
        self.requested = True
        if not self.second_signal_aborts:
            return
        for sig in self._previous:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)

    def raise_if_requested(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop signal arrived (call it at a step boundary)."""
        if self.requested:
            raise KeyboardInterrupt


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def sigterm_raises_interrupt():
    """Within the block SIGTERM raises ``KeyboardInterrupt``, as Ctrl-C does (main thread only).

    Examples
    --------
    >>> import signal
    >>> try:
    ...     with sigterm_raises_interrupt():
    ...         signal.raise_signal(signal.SIGTERM)
    ... except KeyboardInterrupt:
    ...     print("interrupted")
    interrupted
    """
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _in_main_thread() else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


__all__ = ["STOP_SIGNALS", "StopRequest", "sigterm_raises_interrupt"]
