"""No network traffic: ``analyze`` under ``strace`` makes no internet connection (before, each run
sent a DNS query for play.googleapis.com; the settings that block it: tests/unit/vision/test_offline.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SAMPLES

SAMPLE = SAMPLES / "seated_ir_right.mp4"


def _strace_missing() -> None:
    reason = "strace is not installed (Debian: apt-get install strace; .ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def inet_traffic(trace: str) -> list[str]:
    """strace lines that open or send to an internet (IPv4/IPv6) address."""
    return [line for line in trace.splitlines()
            if re.search(r"\b(connect|sendto|sendmsg|sendmmsg)\(", line) and re.search(r"AF_INET6?\b", line)]


@pytest.mark.model
def test_analyze_makes_no_network_connection(tmp_path: Path, shared_model_path: Path) -> None:
    if shutil.which("strace") is None:
        _strace_missing()
    clip = Path(shutil.copy(SAMPLE, tmp_path / "clip.mp4"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    env.update(HIPROM_MODEL=str(shared_model_path), MPLBACKEND="Agg")
    trace = tmp_path / "trace.txt"
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(trace),
                           sys.executable, "-m", "hiprom", "analyze", str(clip), "--quiet"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "clip_hiprom" / "result.json").is_file()
    assert inet_traffic(trace.read_text()) == []
