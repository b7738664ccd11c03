"""Tests for hiprom.vision.model_store with fake model files: manifest, cache folder, validation,
the offline message and the lookup order (downloads of the real model: tests/e2e/test_model_store.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import platformdirs
import pytest
from helpers import model_files
from helpers.model_files import FULL, leftovers, make_task, sha256_of, swap_members
from helpers.tflite_util import pose_member, tiny_tflite

from hiprom.errors import ModelError
from hiprom.vision import model_store as ms

isolated_env = model_files.isolated_env  # autouse: no inherited model settings, cache in tmp_path


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


# --- download ----------------------------------------------------------------------------

def test_offline_message_says_how_to_provide_a_model(isolated_env, refused_url):
    with pytest.raises(ModelError) as info:
        ms.resolve_model(url=refused_url, progress=False)
    message = str(info.value)
    official = ms.load_manifest()["variants"]["full"]["url"]
    for needle in ("no pose model was found", "Connection refused", "--model",
                   f"{ms.ENV_MODEL}=/path/to/{FULL}", str(isolated_env / FULL), official):
        assert needle in message, needle
    assert leftovers(isolated_env) == []


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


@pytest.mark.parametrize("call", [
    lambda: ms.resolve_model(variant="medium"),
    lambda: ms.resolve_model("/some/file.task", variant="medium"),
    lambda: ms.download_model("medium", Path("/nonexistent"), progress=False),
])
def test_unknown_variant(call):
    with pytest.raises(ModelError, match="'medium'") as info:
        call()
    assert "lite, full, heavy" in str(info.value)
