"""Ctrl-C and SIGTERM: stop, clean up as for any error, print one line, exit 130 or 143
(the shell's 128 + the signal's number)."""
from __future__ import annotations

import contextlib
import signal


class Interrupted(BaseException):
    """Raised in the main thread on SIGINT or SIGTERM. A ``BaseException`` like
    ``KeyboardInterrupt``: ``except Exception`` does not swallow it, ``finally`` blocks run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


@contextlib.contextmanager
def interruptible():
    """Within the block SIGINT and SIGTERM raise :class:`Interrupted`; the previous handlers
    come back after it."""
    def stop(signum, frame):
        raise Interrupted(signum)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def deferred():
    """Within the block SIGINT and SIGTERM are only noted; one that came is raised as
    :class:`Interrupted` when the block ends. Processes forked within it (Lava's) inherit
    the noting handler: a Ctrl-C sent to the whole process group leaves them running, with
    no traceback, until their parent stops them cleanly."""
    caught = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        raise Interrupted(caught[0])
