"""Tests for hiprom.vision.model_store with the real model file (``shared_model_path``):
validation, and atomic downloads of it from a local ThreadingHTTPServer on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import SAMPLES, model_files
from helpers.model_files import FULL, leftovers, sha256_of, swap_members

from hiprom.errors import ModelError
from hiprom.vision import model_store as ms

isolated_env = model_files.isolated_env  # autouse: no inherited model settings, cache in tmp_path


@pytest.fixture(scope="session")
def model_bytes(shared_model_path: Path) -> bytes:
    return shared_model_path.read_bytes()


@pytest.fixture()
def server(model_bytes):
    """Serve the shared model plus broken variants; ``.hits`` counts requests per path."""
    hits: Counter[str] = Counter()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pose_landmarks_detector.tflite", b"x" * 1000)
    no_detector = buf.getvalue()
    html = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, body: bytes, ctype: str, length: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            hits[self.path] += 1
            if self.path == f"/{FULL}":
                self._send(model_bytes, "application/octet-stream", len(model_bytes))
            elif self.path == "/nolength.task":  # HTTP/1.0, body ends at close
                self._send(model_bytes, "application/octet-stream")
            elif self.path == "/truncated.task":
                self.close_connection = True
                self._send(model_bytes[: len(model_bytes) // 2], "application/octet-stream",
                           len(model_bytes))
            elif self.path == "/page.html":
                self._send(html, "text/html", len(html))
            elif self.path == "/no_detector.task":
                self._send(no_detector, "application/zip", len(no_detector))
            elif self.path == "/slow.task":
                time.sleep(2.0)
                self._send(model_bytes, "application/octet-stream", len(model_bytes))
            else:
                self.send_error(404, "Not Found")

    class QuietServer(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):  # clients that hang up on purpose
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.hits = hits
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


# --- validation -------------------------------------------------------------------------

def test_validate_real_model_returns_its_sha(shared_model_path):
    sha = ms.validate_model_file(shared_model_path)
    assert sha == sha256_of(shared_model_path)
    assert ms.validate_model_file(shared_model_path, expected_sha256=sha.upper()) == sha
    with pytest.raises(ModelError, match="expected sha256 0{64}, got " + sha):
        ms.validate_model_file(shared_model_path, expected_sha256="0" * 64)


def test_the_real_bundle_with_its_models_swapped_is_refused(shared_model_path, tmp_path):
    swapped = swap_members(shared_model_path, tmp_path / "swapped.task")
    with pytest.raises(ModelError, match="two models are swapped: pose_detector.tflite holds the landmark model "
                                         r"\(256×256 input\)"):
        ms.resolve_model(swapped, progress=False)


def test_cli_with_a_swapped_bundle_is_a_model_error_without_traceback(shared_model_path, tmp_path):
    swapped = swap_members(shared_model_path, tmp_path / "swapped.task")
    clip = SAMPLES / "seated_ir_right.mp4"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    for args in (["analyze", clip, "--out", tmp_path / "o"], ["batch", clip.parent, "--out", tmp_path / "b"]):
        proc = subprocess.run([sys.executable, "-m", "hiprom", *map(str, args), "--model", swapped], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {swapped}: (given as --model) expected a .task zip"), proc.stderr
        assert "two models are swapped" in proc.stderr and "Traceback" not in proc.stderr


# --- download ---------------------------------------------------------------------------

def test_download_then_cache_hit_without_network(server, isolated_env, shared_model_path):
    url = f"{server.base}/{FULL}"
    info = ms.resolve_model(url=url, progress=False)
    assert info.source == "download" and info.variant == "full"
    assert info.path == (isolated_env / FULL).resolve()
    assert info.sha256 == sha256_of(shared_model_path) == sha256_of(info.path)
    assert info.size_bytes == shared_model_path.stat().st_size
    assert leftovers(isolated_env) == [FULL]
    assert server.hits[f"/{FULL}"] == 1

    again = ms.resolve_model(url=url, progress=False)
    assert again.source == "cache" and again.path == info.path and again.sha256 == info.sha256
    assert sum(server.hits.values()) == 1


def test_download_without_content_length(server, tmp_path, shared_model_path):
    dest = ms.download_model("full", tmp_path / "d", url=f"{server.base}/nolength.task",
                             progress=False)
    assert dest == tmp_path / "d" / FULL
    assert sha256_of(dest) == sha256_of(shared_model_path)
    assert leftovers(tmp_path / "d") == [FULL]


@pytest.mark.parametrize(("route", "needle"), [
    ("/truncated.task", "truncated"),
    ("/missing.task", "HTTP 404"),
    ("/page.html", "not a zip"),
    ("/no_detector.task", "pose_detector.tflite"),
    ("/slow.task", "timed out"),
])
def test_failed_download_raises_and_leaves_nothing(server, isolated_env, route, needle):
    url = server.base + route
    with pytest.raises(ModelError) as info:
        ms.download_model("full", isolated_env, url=url, progress=False, timeout_s=0.5)
    message = str(info.value)
    assert needle in message and url in message
    assert "--model" in message and ms.ENV_MODEL in message
    assert leftovers(isolated_env) == []
    assert server.hits[route] == 1


def test_failed_download_through_resolve_leaves_nothing(server, isolated_env):
    with pytest.raises(ModelError, match="truncated: expected"):
        ms.resolve_model(url=f"{server.base}/truncated.task", progress=False)
    assert leftovers(isolated_env) == []


def test_keyboard_interrupt_cleans_up(server, isolated_env, monkeypatch):
    real_open = ms._open_url

    def interrupting_open(*args, **kwargs):
        resp = real_open(*args, **kwargs)
        real_read, calls = resp.read, []

        def read(n=-1):
            calls.append(n)
            if len(calls) > 3:
                raise KeyboardInterrupt
            return real_read(n)

        resp.read = read
        return resp

    monkeypatch.setattr(ms, "_open_url", interrupting_open)
    with pytest.raises(ModelError, match="interrupted; nothing was saved"):
        ms.download_model("full", isolated_env, url=f"{server.base}/{FULL}", progress=False)
    assert leftovers(isolated_env) == []


def test_manifest_sha_is_enforced_for_the_official_url(server, isolated_env, monkeypatch,
                                                       shared_model_path):
    manifest = copy.deepcopy(ms.load_manifest())
    manifest["variants"]["full"].update(url=f"{server.base}/{FULL}", sha256="0" * 64)
    monkeypatch.setattr(ms, "load_manifest", lambda: manifest)
    with pytest.raises(ModelError, match="expected sha256 0{64}"):
        ms.resolve_model(progress=False)
    assert leftovers(isolated_env) == []
    manifest["variants"]["full"]["sha256"] = sha256_of(shared_model_path)
    assert ms.resolve_model(progress=False).source == "download"


def test_model_url_env_and_url_argument_precedence(server, isolated_env, monkeypatch):
    monkeypatch.setenv(ms.ENV_MODEL_URL, f"{server.base}/missing.task")
    with pytest.raises(ModelError, match="HTTP 404"):
        ms.resolve_model(progress=False)
    info = ms.resolve_model(progress=False, url=f"{server.base}/{FULL}")  # argument wins
    assert info.source == "download"
    (isolated_env / FULL).unlink()
    monkeypatch.setenv(ms.ENV_MODEL_URL, f"{server.base}/{FULL}")
    assert ms.resolve_model(progress=False).source == "download"
    assert server.hits == Counter({"/missing.task": 1, f"/{FULL}": 2})


def test_progress_bar_only_on_a_terminal(server, tmp_path, monkeypatch, capsys):
    url = f"{server.base}/{FULL}"
    ms.download_model("full", tmp_path / "a", url=url, progress=True)
    assert capsys.readouterr().err == ""  # captured stderr is not a terminal
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    ms.download_model("full", tmp_path / "b", url=url, progress=False)
    assert capsys.readouterr().err == ""
    ms.download_model("full", tmp_path / "c", url=url, progress=True)
    assert f"Downloading {FULL}" in capsys.readouterr().err


# --- lookup order -----------------------------------------------------------------------

def test_real_model_as_argument_is_named_full(shared_model_path):
    info = ms.resolve_model(str(shared_model_path), download=False)
    assert info.source == "argument" and info.variant == "full"
    assert info.sha256 == sha256_of(shared_model_path)


def test_invalid_cache_is_reported_or_redownloaded(server, isolated_env, shared_model_path):
    (isolated_env).mkdir()
    (isolated_env / FULL).write_bytes(b"<html>captive portal</html>")
    with pytest.raises(ModelError, match="cached model is invalid.*not a zip"):
        ms.resolve_model(download=False)
    info = ms.resolve_model(url=f"{server.base}/{FULL}", progress=False)
    assert info.source == "download" and info.sha256 == sha256_of(shared_model_path)
    assert leftovers(isolated_env) == [FULL]


def test_cache_dir_argument_overrides_env(server, tmp_path, isolated_env):
    other = tmp_path / "other"
    info = ms.resolve_model(cache_dir=other, url=f"{server.base}/{FULL}", progress=False)
    assert info.path == (other / FULL).resolve() and not isolated_env.exists()
