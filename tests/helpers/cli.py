"""Run the ``hiprom`` command as a user runs it (a subprocess, or in-process with typer's
CliRunner: :func:`invoke`) and check how it fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str | Path, env: dict[str, str], cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m hiprom ARGS`` with exactly the HIPROM_* variables in ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    full.update(env)
    full.setdefault("MPLBACKEND", "Agg")
    return subprocess.run([sys.executable, "-m", "hiprom", *map(str, args)], env=full, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(proc: subprocess.CompletedProcess, *, code: int | None = None) -> str:
    """Non-zero exit (``code`` if given), no traceback, no bug report; returns stderr."""
    both = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"expected a failure, got exit 0\n{both}"
    if code is not None:
        assert proc.returncode == code, f"exit code {proc.returncode}, expected {code}\n{both}"
    assert "Traceback" not in both, both
    assert "internal error" not in both, both
    assert proc.stderr.strip().startswith("error:"), both
    return proc.stderr


def listing(folder: Path) -> set[str]:
    """Everything in ``folder`` (hidden temp folders included)."""
    return {p.name for p in folder.iterdir()}


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_live_cli(*args: str | Path, model: Path | None, cwd: Path,
                 timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m hiprom live ARGS`` with no display and ``model`` (None: a file that does not exist)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HIPROM_") and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["HIPROM_MODEL"] = str(model) if model else str(cwd / "no-such-model.task")
    env["HIPROM_CACHE_DIR"] = str(cwd / "cache")
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run([sys.executable, "-m", "hiprom", "live", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean(proc: subprocess.CompletedProcess) -> None:
    """No traceback and no bug report, whatever the exit code."""
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both and "internal error" not in both, both


def invoke(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    """``hiprom ARGS`` in-process, with no usable pose model (any model lookup fails)."""
    full = {"HIPROM_MODEL": "/nonexistent/no-model.task", "HIPROM_CACHE_DIR": "/nonexistent/cache",
            "HIPROM_HISTORY": "/nonexistent/history.sqlite", **(env or {})}
    from typer.testing import CliRunner

    from hiprom.apps.cli import app

    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(app, [str(a) for a in args], env=full)
    finally:
        os.chdir(old)
