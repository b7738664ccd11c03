"""Tests for hiprom.vision.model_store: lookup order, validation and atomic downloads.

Downloads come from a local ThreadingHTTPServer on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import platformdirs
import pytest
from tflite_util import POSE_MEMBERS, pose_member, tiny_tflite

from hiprom.errors import ModelError
from hiprom.vision import model_store as ms

FULL = "pose_landmarker_full.task"


def make_task(path: Path, members=ms.REQUIRED_MEMBERS, payload: bytes | None = None) -> Path:
    """Write a small zip with the given members (a valid fake .task): tiny models with the real
    members' tensor shapes, followed by ``payload`` + the name (files that differ by payload
    differ by hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in members:
            model = pose_member(name) if name in POSE_MEMBERS else b""
            zf.writestr(name, model + (payload or b"weights") + name.encode())
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    """Every entry (hidden .part files included) in ``directory``; [] if it does not exist."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch) -> Path:
    """No inherited model settings; the cache lives in tmp_path, never the user cache."""
    for var in (ms.ENV_MODEL, ms.ENV_MODEL_URL, "TTY_COMPATIBLE", "FORCE_COLOR",
                "FORCE_TERMINAL"):
        monkeypatch.delenv(var, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(ms.ENV_CACHE_DIR, str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return cache


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


@pytest.fixture()
def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/{FULL}"


# --- manifest and cache dir -------------------------------------------------------------

def test_manifest_lists_every_variant_with_file_and_url():
    manifest = ms.load_manifest()
    assert set(ms.VARIANTS) <= set(manifest["variants"])
    for v in ms.VARIANTS:
        entry = manifest["variants"][v]
        assert entry["file"] == f"pose_landmarker_{v}.task"
        assert entry["url"].startswith("https://") and entry["url"].endswith(entry["file"])


def test_default_cache_dir_honours_env_and_is_not_created(tmp_path, monkeypatch):
    assert ms.default_cache_dir() == (tmp_path / "cache").resolve()
    assert not (tmp_path / "cache").exists()
    monkeypatch.delenv(ms.ENV_CACHE_DIR)
    assert ms.default_cache_dir() == Path(platformdirs.user_cache_dir("hiprom")) / "models"


def test_import_has_no_side_effects(tmp_path):
    env = {**os.environ, ms.ENV_CACHE_DIR: str(tmp_path / "never"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg_never"), "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", "import hiprom.vision.model_store"], env=env, check=True)
    assert not (tmp_path / "never").exists() and not (tmp_path / "xdg_never").exists()


# --- validation --------------------------------------------------------------------------

def test_validate_real_model_returns_its_sha(shared_model_path):
    sha = ms.validate_model_file(shared_model_path)
    assert sha == sha256_of(shared_model_path)
    assert ms.validate_model_file(shared_model_path, expected_sha256=sha.upper()) == sha
    with pytest.raises(ModelError, match="expected sha256 0{64}, got " + sha):
        ms.validate_model_file(shared_model_path, expected_sha256="0" * 64)


@pytest.mark.parametrize(("kind", "needle"), [
    ("missing", "no such file"),
    ("directory", "a directory"),
    ("empty", "empty file"),
    ("html", "not a zip archive (it looks like an HTML page)"),
    ("no_detector", "zip without pose_detector.tflite "),
    ("no_landmarks", "zip without pose_landmarks_detector.tflite "),
    ("neither", "without pose_detector.tflite and pose_landmarks_detector.tflite"),
])
def test_validate_rejects(tmp_path, kind, needle):
    path = tmp_path / "model.task"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "html":
        path.write_bytes(b"<!DOCTYPE html><html></html>")
    elif kind == "no_detector":
        make_task(path, members=["pose_landmarks_detector.tflite"])
    elif kind == "no_landmarks":
        make_task(path, members=["pose_detector.tflite"])
    elif kind == "neither":
        make_task(path, members=["readme.txt"])
    with pytest.raises(ModelError) as info:
        ms.validate_model_file(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value) and info.value.fix


def test_validate_rejects_corrupt_member(tmp_path):
    path = make_task(tmp_path / "model.task", payload=b"A" * 4000)
    data = bytearray(path.read_bytes())
    at = data.index(b"A" * 100)
    data[at:at + 10] = b"B" * 10  # same length, wrong CRC
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="CRC"):
        ms.validate_model_file(path)


def swap_members(src: Path, dst: Path, names=("pose_detector.tflite", "pose_landmarks_detector.tflite")) -> Path:
    """``src`` rewritten with the contents of its two members swapped (names kept)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        zout.writestr(names[0], zin.read(names[1]))
        zout.writestr(names[1], zin.read(names[0]))
    return dst


def test_validate_tells_the_members_by_their_tensors(tmp_path):
    """A bundle whose members are not the models their names say is refused before MediaPipe
    sees it (reliability issue, item 12); told by the tensors, not the names."""
    good = make_task(tmp_path / "good.task")
    assert ms.validate_model_file(good) == sha256_of(good)
    with pytest.raises(ModelError) as info:
        ms.validate_model_file(swap_members(good, tmp_path / "swapped.task"))
    assert info.value.what.endswith(
        "got a bundle whose two models are swapped: pose_detector.tflite holds the landmark model (256×256 input) "
        "and pose_landmarks_detector.tflite holds the person detector (224×224 input)")
    twice = tmp_path / "twice.task"
    with zipfile.ZipFile(twice, "w") as zf:
        for name in ms.REQUIRED_MEMBERS:
            zf.writestr(name, pose_member("pose_detector.tflite"))
    with pytest.raises(ModelError, match="got a bundle whose pose_landmarks_detector.tflite is the person detector "
                                         r"\(224×224 input\), not the landmark model\n"):
        ms.validate_model_file(twice)
    junk = tmp_path / "junk.task"
    with zipfile.ZipFile(junk, "w") as zf:
        zf.writestr("pose_detector.tflite", b"not a model" * 20)
        zf.writestr("pose_landmarks_detector.tflite", pose_member("pose_landmarks_detector.tflite"))
    with pytest.raises(ModelError, match="got a bundle whose pose_detector.tflite is not a TensorFlow Lite model "
                                         r"\(no TFL3 identifier\)\n"):
        ms.validate_model_file(junk)
    other = tmp_path / "other.task"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("pose_detector.tflite", pose_member("pose_detector.tflite"))
        zf.writestr("pose_landmarks_detector.tflite", tiny_tflite([(1, 224, 224, 3)], [(1, 1001)]))
    with pytest.raises(ModelError, match="pose_landmarks_detector.tflite is not a pose model "
                                         r"\(224×224 input\), not the landmark model\n"):
        ms.validate_model_file(other)


def test_the_real_bundle_with_its_models_swapped_is_refused(shared_model_path, tmp_path):
    swapped = swap_members(shared_model_path, tmp_path / "swapped.task")
    with pytest.raises(ModelError, match="two models are swapped: pose_detector.tflite holds the landmark model "
                                         r"\(256×256 input\)"):
        ms.resolve_model(swapped, progress=False)


def test_cli_with_a_swapped_bundle_is_a_model_error_without_traceback(shared_model_path, tmp_path):
    swapped = swap_members(shared_model_path, tmp_path / "swapped.task")
    clip = Path(__file__).resolve().parents[1] / "samples" / "seated_ir_right.mp4"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    for args in (["analyze", clip, "--out", tmp_path / "o"], ["batch", clip.parent, "--out", tmp_path / "b"]):
        proc = subprocess.run([sys.executable, "-m", "hiprom", *map(str, args), "--model", swapped], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith(f"error: {swapped}: (given as --model) expected a .task zip"), proc.stderr
        assert "two models are swapped" in proc.stderr and "Traceback" not in proc.stderr


# --- download ----------------------------------------------------------------------------

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
    real_urlopen = urllib.request.urlopen

    def interrupting_urlopen(*args, **kwargs):
        resp = real_urlopen(*args, **kwargs)
        real_read, calls = resp.read, []

        def read(n=-1):
            calls.append(n)
            if len(calls) > 3:
                raise KeyboardInterrupt
            return real_read(n)

        resp.read = read
        return resp

    monkeypatch.setattr(urllib.request, "urlopen", interrupting_urlopen)
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


def test_offline_message_says_how_to_provide_a_model(isolated_env, refused_url):
    with pytest.raises(ModelError) as info:
        ms.resolve_model(url=refused_url, progress=False)
    message = str(info.value)
    official = ms.load_manifest()["variants"]["full"]["url"]
    for needle in ("no pose model was found", "Connection refused", "--model",
                   f"{ms.ENV_MODEL}=/path/to/{FULL}", str(isolated_env / FULL), official):
        assert needle in message, needle
    assert leftovers(isolated_env) == []


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


# --- lookup order ------------------------------------------------------------------------

def test_argument_beats_environment_beats_cache(tmp_path, isolated_env, monkeypatch,
                                                refused_url):
    arg = make_task(tmp_path / "arg.task", payload=b"arg")
    env = make_task(tmp_path / "env" / "pose_landmarker_heavy.task", payload=b"env")
    cached = make_task(isolated_env / FULL, payload=b"cache")
    monkeypatch.setenv(ms.ENV_MODEL, str(env))
    url = refused_url  # any download attempt would raise

    info = ms.resolve_model(arg, url=url)
    assert (info.source, info.path, info.sha256, info.variant) == (
        "argument", arg.resolve(), sha256_of(arg), None)
    info = ms.resolve_model(url=url)
    assert (info.source, info.path, info.sha256, info.variant) == (
        "environment", env.resolve(), sha256_of(env), "heavy")
    monkeypatch.delenv(ms.ENV_MODEL)
    info = ms.resolve_model(url=url)
    assert (info.source, info.path, info.sha256, info.variant) == (
        "cache", cached.resolve(), sha256_of(cached), "full")
    assert info.size_bytes == cached.stat().st_size


def test_real_model_as_argument_is_named_full(shared_model_path):
    info = ms.resolve_model(str(shared_model_path), download=False)
    assert info.source == "argument" and info.variant == "full"
    assert info.sha256 == sha256_of(shared_model_path)


def test_bad_argument_never_falls_through(tmp_path, isolated_env, monkeypatch):
    monkeypatch.setenv(ms.ENV_MODEL, str(make_task(tmp_path / "env.task")))
    make_task(isolated_env / FULL)
    bad = tmp_path / "typo.task"
    with pytest.raises(ModelError) as info:
        ms.resolve_model(bad)
    assert str(bad) in str(info.value) and "--model" in str(info.value)
    assert "no such file" in str(info.value)


def test_environment_pointing_at_missing_file(tmp_path, isolated_env, monkeypatch):
    make_task(isolated_env / FULL)  # a valid cache must not be used instead
    missing = tmp_path / "nowhere" / FULL
    monkeypatch.setenv(ms.ENV_MODEL, str(missing))
    with pytest.raises(ModelError) as info:
        ms.resolve_model()
    assert ms.ENV_MODEL in str(info.value) and str(missing) in str(info.value)


def test_environment_pointing_at_html(tmp_path, monkeypatch):
    page = tmp_path / "model.task"
    page.write_text("<html>error</html>")
    monkeypatch.setenv(ms.ENV_MODEL, str(page))
    with pytest.raises(ModelError, match=f"(?s)from {ms.ENV_MODEL}.*not a zip"):
        ms.resolve_model(download=False)


def test_no_download_and_empty_cache(isolated_env):
    with pytest.raises(ModelError) as info:
        ms.resolve_model(download=False)
    message = str(info.value)
    for needle in ("no pose model was found", "--model", ms.ENV_MODEL, str(isolated_env / FULL),
                   ms.load_manifest()["variants"]["full"]["url"]):
        assert needle in message, needle
    assert not isolated_env.exists()


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


@pytest.mark.parametrize("call", [
    lambda: ms.resolve_model(variant="medium"),
    lambda: ms.resolve_model("/some/file.task", variant="medium"),
    lambda: ms.download_model("medium", Path("/nonexistent"), progress=False),
])
def test_unknown_variant(call):
    with pytest.raises(ModelError, match="'medium'") as info:
        call()
    assert "lite, full, heavy" in str(info.value)
