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
