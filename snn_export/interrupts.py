"""Ctrl-C and SIGTERM: stop, clean up as for any error, print one line, exit 130 or 143
(the shell's 128 + the signal's number)."""
from __future__ import annotations

import contextlib
import signal
import sys


class Interrupted(BaseException):
    """Raised in the main thread on SIGINT or SIGTERM. A ``BaseException`` like
    ``KeyboardInterrupt``: ``except Exception`` does not swallow it, ``finally`` blocks run."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


_pending: list[int] = []  # the signals interruptible() took, until its block ends


@contextlib.contextmanager
def interruptible():
    """Within the block SIGINT and SIGTERM raise :class:`Interrupted` and are kept for
    :func:`check`: where the handler runs inside a finaliser or a weakref callback, Python
    drops the exception (the report of it is dropped too). One kept but dropped is raised
    when the block ends, in place of any error that followed it (code that caught the
    signal's exception, in an import say, may fail otherwise). The previous handlers come
    back after the block."""
    def stop(signum, frame):
        _pending.append(signum)
        raise Interrupted(signum)

    def unraisable(report):
        if not isinstance(report.exc_value, Interrupted):
            hook(report)
    kept, previous, hook = len(_pending), {}, sys.unraisablehook
    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            previous[s] = signal.signal(s, stop)
        sys.unraisablehook = unraisable
        yield
    except Exception:  # after a signal, the signal's doing (code caught its raise and failed)
        if len(_pending) > kept:
            raise Interrupted(_pending[kept]) from None
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.unraisablehook = hook
        caught = _pending[kept:]
        del _pending[kept:]
    if caught:
        raise Interrupted(caught[0])


def check() -> None:
    """Raise :class:`Interrupted` if a signal came within :func:`interruptible` (again, if
    its first raise was dropped): long loops call it between steps."""
    if _pending:
        raise Interrupted(_pending[0])


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
