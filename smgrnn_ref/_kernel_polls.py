"""Kernel-channel waits in short polls, for executing notebooks (the notebook tests and the
documentation build, ``docs/hooks.py``). Development support, not part of the method.
"""

from __future__ import annotations

import time

#: Longest single wait on a kernel channel, seconds.
POLL_SLICE = 0.5


async def get_msg_in_slices(self, timeout=None):
    """``AsyncZMQSocketChannel.get_msg``, waiting in polls of at most :data:`POLL_SLICE`.

    Why: a reply can sit on the client's socket while the asyncio poll waiting for it is never
    woken (zmq's file descriptor is edge-triggered, and pyzmq's asyncio poll misses an edge now
    and then). pyzmq checks the socket once more when the poll's timeout fires, so the reply is
    found exactly ``timeout`` seconds late; ``nbclient`` waits for ``execute_reply`` with the
    cell timeout, so notebook 03 "hung" for the whole cell timeout, then passed, always in its
    ``ipywidgets.interact`` cell. Measured here (ipykernel 7.4, jupyter_client 8.10, nbclient
    0.11, pyzmq 27.3): the kernel stamps ``execute_reply`` 10-40 ms after the cell starts and the
    client receives it exactly one timeout later; a bare notebook of 400 ``interact`` cells (no
    code of ours) had 7 such cells, 800 plain ``display`` cells none, and with these
    short polls 800 ``interact`` cells had none. Short polls bound the delay to one slice.
    """
    from queue import Empty

    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        wait = POLL_SLICE if left is None else max(0.0, min(POLL_SLICE, left))
        if await self.socket.poll(int(wait * 1000)):
            return await self._recv()
        if left is not None and left <= POLL_SLICE:
            raise Empty


__all__ = ["POLL_SLICE", "get_msg_in_slices"]
