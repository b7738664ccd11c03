"""Shared pytest fixtures for hiprom."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

try:  # property tests check behaviour, not speed: no per-example deadline on a loaded 2-core machine
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("hiprom", deadline=None)
    _hypothesis_settings.load_profile("hiprom")
except ImportError:  # pragma: no cover - hypothesis is a test extra
    pass


def _missing(reason: str) -> None:
    """Skip outside CI; fail in CI (``CI=true``), where the shared data must be present."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: shared data is required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder: ``$HIPROM_SHARED`` or ``<repo>/../shared``."""
    path = Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared").expanduser().resolve()
    if not path.is_dir():
        _missing(f"shared data folder not found: {path} (set HIPROM_SHARED)")
    return path


@pytest.fixture(scope="session")
def shared_model_path(shared_dir: Path) -> Path:
    """The offline pose model ``<shared>/models/pose_landmarker_full.task``."""
    path = shared_dir / "models" / "pose_landmarker_full.task"
    if not path.is_file():
        _missing(f"shared pose model not found: {path} (set HIPROM_SHARED)")
    return path


E2E = Path(__file__).resolve().parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e ``e2e``, and every test that uses the pose model or the
    shared folder (directly or through a fixture) ``model`` / ``shared``, so ``-m "not e2e"``
    (the fast tier) and ``-m "not model and not shared"`` select what they say."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        used = getattr(item, "fixturenames", ())
        if "shared_model_path" in used:
            item.add_marker(pytest.mark.model)
        if "shared_dir" in used:
            item.add_marker(pytest.mark.shared)
