"""User-facing errors: the CLI prints their message (no traceback) and exits non-zero."""


class SnnExportError(Exception):
    """A problem the user can fix; the message names the file, layer or field and what to do."""

    exit_code = 1


class NotCompliant(SnnExportError):
    """The network breaks spike-only compliance rules the user did not allow. violations:
    the :class:`~snn_export.deploy.compliance.Violation` list."""

    exit_code = 2

    def __init__(self, violations: list):
        self.violations = list(violations)
        super().__init__(f"{len(self.violations)} compliance violation(s): "
                         + "; ".join(v.line() for v in self.violations[:3]))


class VerificationMismatch(SnnExportError):
    """The emulator and Lava disagreed on at least one spike."""

    exit_code = 3
