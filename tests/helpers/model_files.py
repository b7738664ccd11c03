"""Model files for the model-store tests (tests/unit/vision and tests/e2e/test_model_store.py):
fake ``.task`` zips, hashes, what a folder holds, and an isolated model environment.

``isolated_env`` is autouse where a test module imports it.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from helpers.tflite_util import POSE_MEMBERS, pose_member
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


def swap_members(src: Path, dst: Path, names=("pose_detector.tflite", "pose_landmarks_detector.tflite")) -> Path:
    """``src`` rewritten with the contents of its two members swapped (names kept)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        zout.writestr(names[0], zin.read(names[1]))
        zout.writestr(names[1], zin.read(names[0]))
    return dst


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
