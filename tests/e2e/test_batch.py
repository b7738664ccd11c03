"""``hiprom batch`` with the pose model: a worker with another model refuses, and the command run
as a user runs it (a bad clip, a re-run, kill -9 in the middle) on the bundled samples."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import SAMPLES
from helpers.batch import cli_env, hidden_leftovers, task_for, visible

from hiprom.apps.batch.manifest import ClipItem
from hiprom.apps.batch.run import CLIPS_DIR, EXIT_SOME_FAILED
from hiprom.apps.batch.worker import read_record, run_clip
from hiprom.vision.model_store import validate_model_file

TOL_DEG = 4.0  # as tests/e2e/test_end_to_end.py: measured peak vs the render's truth


def run_cli(*args: object, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hiprom", "batch", *map(str, args)], env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, **kw)


# --- a worker with another model ---------------------------------------------------------------

@pytest.mark.model
def test_a_worker_with_another_model_refuses(tmp_path: Path, shared_model_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPROM_MODEL", str(shared_model_path))
    item = ClipItem(path=tmp_path / "c.mp4", rel="c.mp4")
    outcome = run_clip(task_for(item, tmp_path))  # the task names sha256 'mmmm...', absent here
    assert outcome.status == "failed"
    here = validate_model_file(shared_model_path)[:12]
    assert f"has a different pose model: expected sha256 mmmmmmmmmmmm..., got {here}..." in outcome.error


# --- the command, end to end (pose model) -------------------------------------------------------

@pytest.fixture()
def model_env(shared_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIPROM_MODEL", str(shared_model_path))
    return shared_model_path


def gt_summary(name: str) -> dict:
    return json.loads((SAMPLES / "gt.json").read_text())["clips"][name]["summary"]


@pytest.mark.model
def test_cli_folder_batch_bad_clip_and_rerun(tmp_path: Path, model_env: Path) -> None:
    src = tmp_path / "in"
    for folder, name in (("a", "seated_ir_right"), ("b", "seated_ir_both")):
        (src / folder).mkdir(parents=True)
        (src / folder / "clip.mp4").write_bytes((SAMPLES / f"{name}.mp4").read_bytes())
    (src / "bad.mp4").write_text("not a video")
    out = tmp_path / "out"
    proc = run_cli(src, "--out", out, "--workers", "2")
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    assert "3 clip(s) to analyse, 0 already done" in proc.stderr and "1 failed" in proc.stderr
    table = pd.read_csv(out / "summary.csv")
    assert table["clip"].tolist() == ["a/clip.mp4"] * 2 + ["b/clip.mp4"] * 2 + ["bad.mp4"] * 2
    assert table["status"].tolist() == ["ok"] * 4 + ["failed"] * 2
    assert "is not a video" in table["error"].iloc[4]
    for clip, name in (("a/clip.mp4", "seated_ir_right"), ("b/clip.mp4", "seated_ir_both")):
        rows = table[table["clip"] == clip].set_index("side")
        folder = out / rows["output_folder"].iloc[0]
        saved = json.loads((folder / "result.json").read_text())
        for s, truth in gt_summary(name).items():
            assert bool(rows.loc[s, "tested"]) == truth["tested"] == saved["sides"][s]["tested"]
            if truth["tested"]:
                assert rows.loc[s, "peak_ir_deg"] == pytest.approx(saved["sides"][s]["peak_ir_deg"], abs=0.006)
                assert abs(rows.loc[s, "peak_ir_deg"] - truth["peak_ir_deg"]) <= TOL_DEG
    stamp = (out / table["output_folder"].iloc[0] / "result.json").stat().st_mtime_ns
    again = run_cli(src, "--out", out, "--workers", "2")
    assert again.returncode == EXIT_SOME_FAILED, again.stderr
    assert "0 clip(s) to analyse, 3 already done" in again.stderr
    assert (out / table["output_folder"].iloc[0] / "result.json").stat().st_mtime_ns == stamp
    assert pd.read_csv(out / "summary.csv").drop(columns="finished_utc").equals(table.drop(columns="finished_utc"))


@pytest.mark.model
def test_kill_9_loses_nothing_and_rerun_finishes(tmp_path: Path, model_env: Path) -> None:
    src = tmp_path / "clinic"
    rows = []
    for k, (patient, name, age) in enumerate((("p1", "seated_ir_right", 34), ("p2", "seated_ir_both", 67),
                                              ("p3", "seated_ir_right", ""), ("p4", "seated_ir_both", 16))):
        (src / patient).mkdir(parents=True)
        (src / patient / "clip.mp4").write_bytes((SAMPLES / f"{name}.mp4").read_bytes())
        rows.append(f"{patient}/clip.mp4,P{k},{age},,,2024-05-0{k + 1},")
    manifest = src / "manifest.csv"
    manifest.write_text("path,subject_id,age,sex,side,date,notes\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "hiprom", "batch", str(manifest), "--out", str(out),
                             "--workers", "1"], env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    clips = out / CLIPS_DIR
    deadline = time.monotonic() + 600
    try:
        while not (clips.is_dir() and visible(clips)):
            assert proc.poll() is None, "the batch ended before any clip finished"
            assert time.monotonic() < deadline, "no clip finished in 10 minutes"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = visible(clips)
    assert 1 <= len(finished) < 4
    for folder in finished:  # every visible clip folder is complete
        assert read_record(folder)["status"] == "ok"
        assert json.loads((folder / "result.json").read_text())["schema"] == "hiprom.result"
        assert {p.name for p in folder.iterdir()} >= {"result.json", "angles.csv", "landmarks.npz", "angles.png"}
    assert [p.name for p in visible(out)] == ["clips"]  # no summary, no half-written file
    records = {f.name: read_record(f)["finished_utc"] for f in finished}

    again = subprocess.run([sys.executable, "-m", "hiprom", "batch", str(manifest), "--out", str(out),
                            "--workers", "1"], env=cli_env(), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    n = len(finished)
    assert f"{4 - n} clip(s) to analyse, {n} already done" in again.stderr
    assert f"4 clip(s): {4 - n} analysed, {n} skipped" in again.stderr
    assert hidden_leftovers(out) == []
    assert {f.name: read_record(f)["finished_utc"] for f in finished} == records  # not redone
    table = pd.read_csv(out / "summary.csv")
    assert len(table) == 8 and set(table["status"]) == {"ok"}
    norm = table.drop_duplicates("clip").set_index("clip")["norm_row"].fillna("").to_dict()
    assert norm == {"p1/clip.mp4": "popular_adults_ir", "p2/clip.mp4": "popular_over50_ir", "p3/clip.mp4": "",
                    "p4/clip.mp4": "popular_teens_ir"}
    assert table["date"].tolist() == [f"2024-05-0{k}" for k in (1, 1, 2, 2, 3, 3, 4, 4)]
