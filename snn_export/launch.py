"""The console commands' entry points. They take over Ctrl-C and SIGTERM before importing
the command (torch and Lava take seconds to import), so an interrupt at any moment ends
with one line and exit status 130 or 143, never a traceback."""
from __future__ import annotations

import importlib
import sys

from .interrupts import Interrupted, interruptible


def _run(prog: str, module: str) -> int:
    try:
        with interruptible():
            main = importlib.import_module(module).main
    except Interrupted as stop:
        print(f"{prog}: stopped by {stop}; nothing written", file=sys.stderr)
        return stop.exit_code
    return main()


def snn_export() -> None:
    sys.exit(_run("snn-export", "snn_export.cli"))


def snn_train() -> None:
    sys.exit(_run("snn-train", "snn_export.train.cli"))
