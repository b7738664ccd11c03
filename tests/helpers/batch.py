"""Batch-mode helpers (tests/unit/apps/batch, tests/e2e/test_batch.py). ``crash_on_boom`` lives here,
not in a test module, so spawned worker processes can import it."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

from helpers import SAMPLES
from hiprom.apps.batch.manifest import ClipItem
from hiprom.apps.batch.run import CLIPS_DIR
from hiprom.apps.batch.worker import ClipOutcome, ClipTask
from hiprom.config import Config


def require_distributed() -> ModuleType:
    """dask's ``distributed``; when it is missing, skip the calling test module (in CI,
    ``CI=true``, where the test extras are installed: fail instead)."""
    try:
        import distributed
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("dask distributed is not installed (pip install -e '.[test]')", allow_module_level=True)
    return distributed


def task_for(item: ClipItem, out: Path, sha: str = "in0", settings: str = "set0") -> ClipTask:
    """The task of ``item`` in the batch folder ``out`` (a model that is not on this machine)."""
    return ClipTask(str(item.path), item.rel, str(out / CLIPS_DIR / item.folder), sha, settings, Config(),
                    "/nowhere/model.task", "m" * 64, "full", False, item.meta())


def cli_env() -> dict[str, str]:
    """This process's environment for a ``hiprom batch`` subprocess (no display needed)."""
    return dict(os.environ, MPLBACKEND="Agg")


def visible(folder: Path) -> list[Path]:
    """What a user sees in ``folder`` (no hidden entries)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def hidden_leftovers(folder: Path) -> list[str]:
    """Hidden ``.tmp`` / ``.old`` entries anywhere below ``folder`` (a half-done publish)."""
    return sorted(str(p) for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old")))


def crash_on_boom(task: ClipTask) -> ClipOutcome:
    """Runs in a spawned worker: dies like a segfault in native code on 'boom' clips."""
    if "boom" in task.rel:
        os._exit(1)
    return ClipOutcome(task.rel, "ok", worker=str(os.getpid()))


def two_sample_clips(src: Path) -> Path:
    """``src/a/clip.mp4`` and ``src/b/clip.mp4``: the bundled right-leg and both-legs samples."""
    for folder, name in (("a", "seated_ir_right"), ("b", "seated_ir_both")):
        (src / folder).mkdir(parents=True)
        (src / folder / "clip.mp4").write_bytes((SAMPLES / f"{name}.mp4").read_bytes())
    return src
