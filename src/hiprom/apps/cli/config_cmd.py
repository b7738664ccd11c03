"""``hiprom config``: print the commented default settings."""

from __future__ import annotations

import sys

from hiprom.apps.cli.common import app


@app.command("config")
def config_cmd() -> None:
    """Print the commented default config (save it and edit: hiprom config > hiprom.toml)."""
    from hiprom.config import default_config_text

    sys.stdout.write(default_config_text())
