"""The argument parser both command lines use (``snn-export``, ``snn-train``)."""
from __future__ import annotations

import argparse
import sys


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors exiting 1 like every other error (2 and 3 have their
    own meanings: not compliant, verification mismatch)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")
