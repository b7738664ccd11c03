"""No network traffic: MediaPipe's built-in usage logging is blocked, the model download still
uses the user's own proxy settings, and ``analyze`` under ``strace`` makes no internet
connection (before, each run sent a DNS query for play.googleapis.com)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hiprom.vision import offline

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "seated_ir_right.mp4"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private copy of the environment for the functions under test."""
    fake = {"HOME": "/home/u", "https_proxy": "http://corp:3128", "no_proxy": "localhost,.internal"}
    monkeypatch.setattr(os, "environ", fake)
    return fake


def test_block_usage_logging_points_libcurl_at_an_unusable_proxy(env: dict[str, str]) -> None:
    offline.block_usage_logging()
    offline.block_usage_logging()                      # idempotent: the user's settings stay saved
    assert env["https_proxy"] == env["HTTPS_PROXY"] == offline.BLOCKED_PROXY
    assert "no_proxy" not in env and "NO_PROXY" not in env
    assert offline.user_proxy_env() == {"https_proxy": "http://corp:3128", "no_proxy": "localhost,.internal"}


def test_the_model_download_uses_the_users_proxy_settings(env: dict[str, str]) -> None:
    offline.block_usage_logging()
    handler = offline.download_proxy_handler("https://storage.googleapis.com/m.task")
    assert handler.proxies == {"https": "http://corp:3128"}
    assert offline.download_proxy_handler("http://models.internal/m.task").proxies == {}   # no_proxy


def test_without_user_proxies_the_download_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", {"HOME": "/home/u"})
    offline.block_usage_logging()
    assert offline.download_proxy_handler("https://storage.googleapis.com/m.task").proxies == {}


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
