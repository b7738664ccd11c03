"""``python -m hiprom`` and the ``hiprom`` command (both call :func:`run`)."""

from __future__ import annotations

import os
import signal
import sys


def _quit_on_ctrl_c(signum: int, frame: object) -> None:
    """Ctrl-C while the command line is still loading: nothing has been written yet, so end at
    once with the usual code (130) and no traceback. Each command installs its own handler."""
    os.write(2, b"interrupted (Ctrl-C)\n")
    os._exit(130)


def run() -> None:
    """Run the command line; Ctrl-C at any moment ends it with exit code 130, no traceback.

    When the command has ended, Ctrl-C is ignored and the process ends at once with the
    command's exit code (``os._exit`` once stdout and stderr are flushed; every file was
    already closed and synced). Python's own shutdown is skipped because it has two ways to
    turn a Ctrl-C into exit status -2 (killed by SIGINT): it restores the default SIGINT action
    while it tears down the modules, and it re-raises SIGINT at exit when a KeyboardInterrupt
    passed through code run by a C extension, even though hiprom handled it.
    """
    signal.signal(signal.SIGINT, _quit_on_ctrl_c)
    from hiprom.apps.cli import main

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
    except KeyboardInterrupt:          # after the command's own handling, before the exit
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not isinstance(code, int):
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1           # e.g. stdout was a closed pipe: the output did not get out
    os._exit(code)


if __name__ == "__main__":
    run()
