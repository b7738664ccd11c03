"""``hiprom batch --dask`` without a cluster: an unreachable scheduler is a clean error (a real
cluster with the pose model: tests/e2e/test_batch_dask.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.batch import require_distributed, two_sample_clips
from helpers.cli import closed_port

from hiprom.apps.batch.run import run_batch
from hiprom.errors import HipromError

require_distributed()


@pytest.fixture()
def two_clips(tmp_path: Path) -> Path:
    return two_sample_clips(tmp_path / "in")


def test_unreachable_scheduler_is_a_clean_error(tmp_path: Path, two_clips: Path) -> None:
    model_file = tmp_path / "m.task"  # never opened: the scheduler is tried first
    from hiprom.vision.model_store import ModelInfo

    model = ModelInfo(model_file, "full", "argument", "0" * 64, 0)
    with pytest.raises(HipromError, match="cannot reach the Dask scheduler") as err:
        run_batch(two_clips, tmp_path / "out", dask=f"tcp://127.0.0.1:{closed_port()}", model=model)
    assert "tcp://HOST:8786" in (err.value.fix or "")
    assert not (tmp_path / "out").exists()
