"""Debian tools the output tests drive: headless Chromium (render, print, play) and pdftoppm.

Missing outside CI: the test is skipped with how to install; in CI (``CI=true``, where .ci/run
installs them): a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["chromium", "pdftoppm"]


def _need(names: tuple[str, ...], package: str) -> str:
    exe = next((p for p in map(shutil.which, names) if p), None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{names[0]} not found on PATH (CI=true: install {package}, see .ci/run)", pytrace=False)
        pytest.skip(f"{names[0]} not found on PATH (apt-get install {package})")
    return exe


def chromium() -> str:
    """Chromium's path."""
    return _need(("chromium", "chromium-browser"), "chromium")


def pdftoppm() -> str:
    """pdftoppm's path (poppler-utils)."""
    return _need(("pdftoppm",), "poppler-utils")
