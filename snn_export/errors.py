"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""


class SnnExportError(Exception):
    """A problem the user can fix; the message names the file, layer or field and what to do."""

    exit_code = 1


class VerificationMismatch(SnnExportError):
    """The emulator and Lava disagreed on at least one spike."""

    exit_code = 3
