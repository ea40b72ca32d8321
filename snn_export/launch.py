"""The console commands' entry points. They take over Ctrl-C and SIGTERM before importing
the command (torch and Lava take seconds to import), so an interrupt from the moment this
module runs ends with one line and exit status 130 or 143, not a traceback (before it, in
Python's own start-up, the interpreter's default still applies)."""
from __future__ import annotations

import importlib
import sys

from .errors import SnnExportError
from .interrupts import Interrupted, interruptible


def _run(prog: str, module: str) -> int:
    try:
        with interruptible():
            return importlib.import_module(module).main()
    except Interrupted as stop:
        print(f"{prog}: stopped by {stop}; nothing written", file=sys.stderr)
        return stop.exit_code


def guarded(prog: str, command) -> int:
    """``command()`` with Ctrl-C and SIGTERM taken over; the project's errors and interrupts
    become one line on stderr (an interrupt's ``kept`` attribute, if any, says what it left)
    and their exit status."""
    try:
        with interruptible():
            return command()
    except SnnExportError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as stop:
        print(f"{prog}: stopped by {stop}; {getattr(stop, 'kept', 'nothing written')}",
              file=sys.stderr)
        return stop.exit_code


def snn_export() -> None:
    sys.exit(_run("snn-export", "snn_export.cli"))


def snn_train() -> None:
    sys.exit(_run("snn-train", "snn_export.train.cli"))
