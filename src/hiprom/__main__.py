"""``python -m hiprom``: the command line."""

import os
import signal


def _quit_on_ctrl_c(signum: int, frame: object) -> None:
    """Ctrl-C while the command line is still loading: nothing has been written yet, so end at
    once with the usual code (130) and no traceback. Each command installs its own handler."""
    os.write(2, b"interrupted (Ctrl-C)\n")
    os._exit(130)


signal.signal(signal.SIGINT, _quit_on_ctrl_c)

from hiprom.apps.cli import main  # noqa: E402  (after the handler: the imports take a moment)

main()
