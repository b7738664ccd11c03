"""Errors a user can act on.

Every error hiprom raises on purpose is a :class:`HipromError`. Its text names the file
concerned, says what was expected and what was found, and says how to fix it. The CLI
prints that text (no traceback) and exits with :attr:`HipromError.exit_code`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "HipromError",
    "InputError",
    "ModelError",
    "AnalysisError",
    "NoTestError",
    "OutputExistsError",
    "UnsafeOutputError",
    "OutputWriteError",
    "ConfigError",
    "UsageError",
]


class HipromError(Exception):
    """A problem with the user's input, model, settings or output folder.

    Parameters
    ----------
    what
        What went wrong, as one sentence (expected / got).
    path
        The file or folder concerned, if any; it leads the message.
    fix
        What the user can do about it.
    """

    exit_code: int = 1

    def __init__(self, what: str, *, path: str | Path | None = None, fix: str | None = None):
        self.what = what
        self.path = None if path is None else Path(path)
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.path}: {self.what}" if self.path is not None else self.what
        if self.fix:
            text += f"\n  How to fix: {self.fix}"
        return text

    def __str__(self) -> str:
        return self.message


class InputError(HipromError):
    """The input file or folder cannot be used (missing, empty, not a video, damaged...)."""


class ModelError(HipromError):
    """The pose model cannot be found, downloaded or loaded."""


class AnalysisError(HipromError):
    """The input was read but no trustworthy measurement can be made from it."""


class NoTestError(AnalysisError):
    """The clip holds no seated test: nobody sits still, or no leg is turned about a still knee.

    ``verdicts`` gives each side's verdict (``"not_tested"`` or ``"not_a_seated_test"``).
    """

    def __init__(self, what: str, *, path: str | Path | None = None, fix: str | None = None,
                 verdicts: dict[str, str] | None = None):
        super().__init__(what, path=path, fix=fix)
        self.verdicts = dict(verdicts or {})


class OutputExistsError(HipromError):
    """The output folder or file exists and ``--force`` was not given (or the output place
    cannot be used): a usage error, exit 2 (exit 1 is kept for input that cannot be measured)."""

    exit_code = 2


class UnsafeOutputError(OutputExistsError):
    """The output folder must not be written or replaced, whatever ``--force`` says: it holds
    the input, lies above it, or holds files hiprom did not write (a usage error, exit code 2)."""

    exit_code = 2


class OutputWriteError(HipromError):
    """An output could not be written (disk full, read-only disk, no permission); nothing
    half-written was left behind."""


class ConfigError(HipromError):
    """A setting is unknown or out of range."""

    exit_code = 2


class UsageError(HipromError):
    """A command-line argument or option is unusable (out of range, an output place that
    cannot be written...); found before any work is done."""

    exit_code = 2
