"""The ``hiprom`` command line: a thin layer over the Python API.

Commands live one per module in this package (:mod:`.analyze`, :mod:`.config_cmd`, ...)
and register themselves on the shared :data:`app`. Importing this package stays light:
heavy modules are imported inside the commands, so ``hiprom --help`` is instant.
"""

from __future__ import annotations

from hiprom.apps.cli import (  # noqa: F401  (register the commands)
    analyze,
    batch,  # noqa: F401  (hiprom batch)
    config_cmd,
    history,  # noqa: F401  (hiprom history)
    live,  # noqa: F401  (hiprom live)
    norms,  # noqa: F401  (hiprom norms)
    report,  # noqa: F401  (hiprom report)
    serve,  # noqa: F401  (hiprom serve)
)
from hiprom.apps.cli.common import EXIT_INTERNAL, app, err_console, fail, run_guarded

__all__ = ["app", "main", "fail", "run_guarded", "err_console", "EXIT_INTERNAL"]


def main() -> None:
    """Console-script entry point."""
    app()
