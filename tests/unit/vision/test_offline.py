"""No network traffic: MediaPipe's built-in usage logging is blocked and the model download still
uses the user's own proxy settings (``analyze`` under ``strace``: tests/e2e/test_offline.py)."""

from __future__ import annotations

import os

import pytest

from hiprom.vision import offline


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
