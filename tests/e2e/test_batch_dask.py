"""``hiprom batch --dask``: the same per-clip task on a Dask cluster gives the local results.

A ``distributed.LocalCluster`` with two worker processes on this machine stands in for a real
cluster (same code path: a scheduler address, tasks pickled to worker processes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.batch import require_distributed, two_sample_clips

from hiprom.apps.batch.run import CLIPS_DIR, run_batch
from hiprom.apps.batch.worker import read_record
from hiprom.vision.model_store import resolve_model

distributed = require_distributed()


@pytest.fixture()
def two_clips(tmp_path: Path) -> Path:
    return two_sample_clips(tmp_path / "in")


@pytest.mark.model
def test_dask_cluster_gives_the_local_results(tmp_path: Path, two_clips: Path, shared_model_path: Path) -> None:
    model = resolve_model(shared_model_path, progress=False)
    local = run_batch(two_clips, tmp_path / "local", workers=2, model=model, plot=False)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as cluster:
        worker_pids = {w.pid for w in cluster.workers.values()}
        remote = run_batch(two_clips, tmp_path / "dask", dask=cluster.scheduler_address, model=model, plot=False)
    assert local.exit_code == remote.exit_code == 0
    assert local.count("ok") == remote.count("ok") == 2
    for item in remote.items:
        a, b = (tmp_path / where / CLIPS_DIR / item.folder for where in ("local", "dask"))
        ran_on = int(read_record(b)["worker"]["id"].rsplit(":", 1)[1])
        assert ran_on in worker_pids, "the clip did not run on a cluster worker"
        assert read_record(a)["key"] == read_record(b)["key"]
        ra, rb = (json.loads((f / "result.json").read_text()) for f in (a, b))
        for side in ("left", "right"):
            for k in ("tested", "peak_ir_deg", "peak_er_deg", "total_arc_deg", "n_reps", "rest_deg"):
                assert ra["sides"][side][k] == rb["sides"][side][k], (item.rel, side, k)
        assert ra["camera"] == rb["camera"]
        with np.load(a / "landmarks.npz") as la, np.load(b / "landmarks.npz") as lb:  # unrounded: bit for bit
            assert la.files == lb.files
            for name in la.files:
                assert np.array_equal(la[name], lb[name], equal_nan=la[name].dtype.kind == "f"), name
    ta, tb = (pd.read_csv(tmp_path / where / "summary.csv").drop(columns="finished_utc") for where in ("local", "dask"))
    pd.testing.assert_frame_equal(ta, tb)
    assert ta["peak_ir_deg"].notna().sum() == 3  # right of a; right and left of b


