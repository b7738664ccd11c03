"""Checks shared by the frame-source tests (tests/unit/io and tests/e2e/test_frames.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from helpers import REPO


def reader_threads() -> list[threading.Thread]:
    """hiprom's frame-reader threads still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("hiprom-frame-reader")]


def assert_input_error(excinfo, path: Path, *substrings: str) -> None:
    """The InputError names ``path``, contains every substring and says how to fix it."""
    text = str(excinfo.value)
    assert str(path) in text
    for s in substrings:
        assert s in text, f"{s!r} not in {text!r}"
    assert excinfo.value.fix, "every InputError says how to fix it"


def run_python(code: str, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    """``python -c code args`` on this checkout's source, without the OpenCV/FFmpeg log settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_FFMPEG_DEBUG", "OPENCV_LOG_LEVEL")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=120)
