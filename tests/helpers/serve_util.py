"""Helpers of the ``hiprom serve`` tests: a free port, a server in a subprocess, Debian's chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from helpers import SAMPLES

SAMPLE = SAMPLES / "seated_ir_right.mp4"
#: Launch flags for Debian's chromium: headless, and no traffic of its own (updates, sync, QUIC).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ServerProcess:
    """``python -m hiprom serve`` on a free 127.0.0.1 port, stopped with Ctrl-C (SIGINT)."""

    def __init__(self, data: Path, model: Path, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = data.parent / f"serve-{self.port}.log"
        cmd = [sys.executable, "-m", "hiprom", "serve", "--port", str(self.port), "--data", str(data),
               "--model", str(model), *extra]
        self.fh = open(self.log, "w")  # noqa: SIM115 - the server's log, closed by stop()
        self.proc = subprocess.Popen(cmd, stdout=self.fh, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hiprom serve exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "new", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise TimeoutError(f"hiprom serve did not answer within {timeout_s} s: {self.log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.fh.close()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
