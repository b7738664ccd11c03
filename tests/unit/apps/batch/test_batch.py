"""``hiprom batch``: resume keys, atomic clip folders, the summary table, worker crashes (the
command run as a user runs it, with the model: tests/e2e/test_batch.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.batch import cli_env, crash_on_boom, hidden_leftovers, task_for, visible

from hiprom.apps.batch.manifest import ClipItem
from hiprom.apps.batch.run import (
    CLIPS_DIR,
    BatchLockedError,
    BatchReport,
    _locked,
    _plan,
    _run_local,
    run_batch,
)
from hiprom.apps.batch.summary import SUMMARY_COLUMNS, cohort_figure, summary_rows, write_summary
from hiprom.apps.batch.worker import (
    ClipOutcome,
    is_done,
    publish_clip,
    read_record,
    run_clip,
    settings_sha256,
    sweep,
    worker_threads,
)
from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.errors import ConfigError
from hiprom.vision.model_store import ModelInfo

# --- helpers ------------------------------------------------------------------------------

class FakeResult:
    """Stands in for an AnalysisResult: its result.json is the given dict (and the other
    output files come from an empty series; publish it with ``plot=False``)."""

    def __init__(self, d: dict):
        self.d = d
        self.series = LandmarkSeries.empty(np.arange(2) / 30.0, np.arange(2), (4, 4))

    def to_json(self) -> str:
        return json.dumps(self.d)

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame({"time_s": self.series.time_s})


def side(ir: float | None, er: float | None = None, level: str = "good") -> dict:
    return {"tested": ir is not None, "peak_ir_deg": ir, "peak_er_deg": er,
            "total_arc_deg": None if ir is None or er is None else ir + er, "n_reps": int(ir is not None),
            "quality": {"score": {"good": 1.0, "poor": 0.3}[level], "level": level,
                        "reasons": ["too dark"] if level == "poor" else []}}


def result_dict(right: dict, left: dict) -> dict:
    return {"schema": "hiprom.result", "schema_version": 1, "reference": "vertical",
            "sides": {"right": right, "left": left}, "warnings": ["w1", "w2"]}


# --- resume key, clip folders, sweep (no model) --------------------------------------------

def test_settings_key_ignores_cosmetic_settings() -> None:
    base = settings_sha256(Config(), "a" * 64)
    cosmetic = Config().with_overrides({"model.path": "/elsewhere/m.task", "model.download": False,
                                        "model.variant": "lite", "video.queue_size": 3})
    assert settings_sha256(cosmetic, "a" * 64) == base
    assert settings_sha256(Config().with_overrides({"geometry.reference": "neutral"}), "a" * 64) != base
    assert settings_sha256(Config().with_overrides({"model.max_people": 1}), "a" * 64) != base
    assert settings_sha256(Config(), "b" * 64) != base


def test_worker_threads_fill_the_cores() -> None:
    assert [worker_threads(w, 2) for w in (1, 2, 3)] == [2, 1, 1]
    assert worker_threads(2, 8) == 4


def test_publish_clip_and_is_done(tmp_path: Path) -> None:
    item = ClipItem(path=tmp_path / "c.mp4", rel="p/c.mp4")
    task = task_for(item, tmp_path)
    folder = Path(task.out_dir)
    publish_clip(task, ClipOutcome(item.rel, "failed", "bad clip", 1), retry=False)
    assert [p.name for p in folder.iterdir()] == ["batch.json"]
    assert read_record(folder)["error"] == "bad clip" and is_done(folder, task.key)
    publish_clip(task, ClipOutcome(item.rel, "failed", "worker died", 70), retry=True)
    assert not is_done(folder, task.key)  # a crash is tried again
    publish_clip(task, ClipOutcome(item.rel, "ok"), FakeResult({"x": 1}))
    assert sorted(p.name for p in folder.iterdir()) == ["angles.csv", "batch.json", "landmarks.npz", "result.json"]
    assert is_done(folder, task.key) and not is_done(folder, "other key")
    (folder / "result.json").unlink()
    assert not is_done(folder, task.key)
    assert visible(folder.parent) == [folder] and hidden_leftovers(tmp_path) == []


def test_sweep_removes_leftovers_and_rolls_back_a_half_swap(tmp_path: Path) -> None:
    (tmp_path / ".a-1234.abcd0123.tmp" / "out").mkdir(parents=True)
    (tmp_path / ".summary.csv.abcd0123.tmp").write_text("half")
    (tmp_path / ".b-5678.abcd0123.old").mkdir()          # b itself is gone: restore it
    (tmp_path / ".b-5678.abcd0123.old" / "batch.json").write_text("{}")
    (tmp_path / "c-9").mkdir()
    (tmp_path / ".c-9.abcd0123.old").mkdir()              # c exists: the old copy goes
    (tmp_path / ".hiprom-batch.lock").write_text("")
    assert sweep(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hiprom-batch.lock", "b-5678", "c-9"]
    assert (tmp_path / "b-5678" / "batch.json").is_file()


def test_plan_skips_done_clips_unless_forced(tmp_path: Path) -> None:
    clips = []
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(name.encode())
        clips.append(ClipItem(path=tmp_path / "in" / name, rel=name))
    model = ModelInfo(Path("/m.task"), "full", "argument", "f" * 64, 1)
    out = tmp_path / "out"
    report = BatchReport(out, clips)
    first = _plan(clips, out / CLIPS_DIR, Config(), model, False, True, report)
    assert [t.rel for t in first] == ["a.mp4", "b.mp4"]
    publish_clip(dataclasses.replace(first[0], plot=False), ClipOutcome("a.mp4", "ok"), FakeResult({}))
    report = BatchReport(out, clips)
    assert [t.rel for t in _plan(clips, out / CLIPS_DIR, Config(), model, False, True, report)] == ["b.mp4"]
    assert report.count("skipped") == 1
    assert len(_plan(clips, out / CLIPS_DIR, Config(), model, True, True, BatchReport(out, clips))) == 2
    (tmp_path / "in" / "a.mp4").write_bytes(b"new content")  # a changed clip is redone
    assert len(_plan(clips, out / CLIPS_DIR, Config(), model, False, True, BatchReport(out, clips))) == 2


def test_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.mp4").write_bytes(b"x")
    model = ModelInfo(Path("/m.task"), "full", "argument", "f" * 64, 1)
    out = tmp_path / "out"
    out.mkdir()
    with _locked(out), pytest.raises(BatchLockedError, match="another hiprom batch is writing to this folder") as err:
        run_batch(tmp_path / "in", out, model=model)
    assert err.value.exit_code == 2 and not (out / CLIPS_DIR).exists()
    with pytest.raises(ConfigError, match="expected at least 1 worker, got 0"):
        run_batch(tmp_path / "in", out, model=model, workers=0)


# --- the summary table (no model) ------------------------------------------------------------

def test_summary_rows_from_folders(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    items = [ClipItem(path=tmp_path / "in" / "a.mp4", rel="a.mp4", row=2, subject_id="S1", age=30.0, sex="female",
                      date=dt.date(2024, 3, 28)),
             ClipItem(path=tmp_path / "in" / "b.mp4", rel="b.mp4", row=3),
             ClipItem(path=tmp_path / "in" / "c.mp4", rel="c.mp4", row=4, age=60.0, sides=("right",)),
             ClipItem(path=tmp_path / "in" / "d.mp4", rel="d.mp4", row=5),
             ClipItem(path=tmp_path / "in" / "e.mp4", rel="e.mp4", row=6)]
    out = tmp_path / "out"
    results = {"a.mp4": result_dict(side(30.0, 25.0), side(44.0)), "b.mp4": result_dict(side(18.0), side(None)),
               "c.mp4": result_dict(side(18.0, level="poor"), side(None))}
    for it in items[:3]:
        publish_clip(task_for(it, out), ClipOutcome(it.rel, "ok"), FakeResult(results[it.rel]))
    publish_clip(task_for(items[3], out), ClipOutcome("d.mp4", "failed", "d.mp4: no person\n  How to fix: x", 1))
    rows = summary_rows(out, items)
    got = [(r["clip"], r["side"], r["status"], r["peak_ir_deg"], r["lr_ir_diff_deg"], r["flags"], r["norm_row"],
            r["norm_position"]) for r in rows]
    assert got == [
        ("a.mp4", "right", "ok", 30.0, -14.0, "LR_DIFF_GT_10", "popular_adults_ir", "below"),
        ("a.mp4", "left", "ok", 44.0, 14.0, "LR_DIFF_GT_10", "popular_adults_ir", "borderline"),
        ("b.mp4", "right", "ok", 18.0, None, "IR_LE_20", None, None),     # age unknown: flags, but no norm row
        ("b.mp4", "left", "ok", None, None, None, None, None),              # its test column says why
        ("c.mp4", "right", "ok", 18.0, None, "quality_poor;IR_LE_20", "popular_over50_ir", "below"),
        ("d.mp4", "right", "failed", None, None, None, None, None),
        ("d.mp4", "left", "failed", None, None, None, None, None),
        ("e.mp4", "right", "missing", None, None, None, None, None),
        ("e.mp4", "left", "missing", None, None, None, None, None),
    ]
    assert rows[0]["total_arc_deg"] == 55.0 and rows[0]["quality_level"] == "good"
    assert (rows[0]["norm_lo_deg"], rows[0]["norm_hi_deg"], rows[0]["subject_id"]) == (35.0, 45.0, "S1")
    assert rows[0]["norm_evidence"] == "popular_article"      # Kouyoumdjian 2012 (first) gives a mean, no band
    # ER: a woman of 30 has no ER norm of her own; the college athletes' row is used for orientation
    assert (rows[0]["er_norm_row"], rows[0]["er_norm_lo_deg"], rows[0]["er_norm_hi_deg"],
            rows[0]["er_norm_position"], rows[0]["er_norm_applies"]) == \
        ("czuppon2017_er_women", 39.3, 60.1, "below", False)                  # ER 25 + 2 < 39.3
    assert rows[2]["er_norm_row"] is None and rows[4]["er_norm_row"] is None  # no age / no sex: no ER row
    assert rows[4]["quality_reasons"] == "too dark" and rows[0]["warnings"] == "w1; w2"
    assert rows[5]["error"] == "d.mp4: no person How to fix: x"
    assert rows[7]["error"].startswith("not analysed yet")

    files = write_summary(out, items)
    assert sorted(p.name for p in visible(out)) == ["clips", "cohort.png", "summary.csv", "summary.parquet"]
    assert files["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(files["csv"])
    parquet = pd.read_parquet(files["parquet"])
    assert list(csv.columns) == list(parquet.columns) == list(SUMMARY_COLUMNS)
    assert csv["peak_ir_deg"].tolist()[:3] == parquet["peak_ir_deg"].tolist()[:3] == [30.0, 44.0, 18.0]
    assert str(parquet["n_reps"].dtype) == "Int64" and parquet["age"].iloc[0] == 30.0
    assert str(parquet["er_norm_applies"].dtype) == "boolean" and csv["norm_evidence"].iloc[0] == "popular_article"
    assert str(parquet["date"].iloc[0])[:10] == "2024-03-28" and csv["date"].iloc[0] == "2024-03-28"


def test_an_untested_leg_has_no_quality_and_the_lr_flag_needs_no_age(tmp_path: Path) -> None:
    items = [ClipItem(path=tmp_path / "g.mp4", rel="g.mp4", row=2), ClipItem(path=tmp_path / "h.mp4", rel="h.mp4")]
    untested = {**side(None), "test": "not_tested", "test_reason": "the left leg stays within 1° of rest"}
    for it, d in zip(items, (result_dict(side(30.0), side(44.0)), result_dict(side(38.0), untested))):
        publish_clip(task_for(it, tmp_path), ClipOutcome(it.rel, "ok"), FakeResult(d))
    rows = summary_rows(tmp_path, items)
    assert [r["flags"] for r in rows[:2]] == ["LR_DIFF_GT_10", "LR_DIFF_GT_10"]   # no age given
    assert (rows[3]["test"], rows[3]["quality_level"], rows[3]["quality_score"], rows[3]["flags"]) == \
        ("not_tested", None, None, None)
    assert rows[2]["quality_level"] == "good"


def test_run_clip_stores_the_manifest_row_with_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.synthetic_subject import RIGHT, series_from_body

    import hiprom.apps.batch.worker as worker
    import hiprom.apps.pipeline as pipeline

    real = pipeline.analyze_landmarks(series_from_body(RIGHT), Config())
    monkeypatch.setattr(pipeline, "analyze", lambda *a, **k: real)
    monkeypatch.setattr(worker, "_worker_model", lambda *a: None)
    item = ClipItem(path=tmp_path / "c.mp4", rel="c.mp4", row=2, subject_id="S9", age=41.0, sex="male",
                    date=dt.date(2024, 3, 28), notes="after run")
    assert run_clip(task_for(item, tmp_path)).status == "ok"
    saved = json.loads((tmp_path / CLIPS_DIR / item.folder / "result.json").read_text())
    assert saved["subject"] == {"id": "S9", "age": 41.0, "sex": "male"}
    assert (saved["test"]["date"], saved["test"]["date_source"], saved["test"]["notes"]) == \
        ("2024-03-28", "given", "after run")


def test_cohort_figure_shades_the_bands_the_report_uses() -> None:
    rows = [{"status": "ok", "peak_ir_deg": ir, "age": age, "side": "right", "clip": f"c{k}", "reference": "vertical"}
            for k, (ir, age) in enumerate(((44.0, 16), (38.0, 45), (30.0, 70), (35.0, None)))]
    ax = cohort_figure(rows).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ages 13–19\n1 clip(s)", "ages 20–50\n1 clip(s)",
                                                            "ages 51+\n1 clip(s)", "age unknown\n1 clip(s)"]
    from matplotlib.collections import PolyCollection

    ys = [p.get_paths()[0].vertices[:, 1] for p in ax.collections if isinstance(p, PolyCollection)]
    assert sorted((round(y.min(), 1), round(y.max(), 1)) for y in ys) == [(25.0, 35.0), (35.0, 45.0), (45.0, 50.0)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "norm band (popular article, not peer-reviewed)"
    from matplotlib.colors import to_hex

    from hiprom.outputs.plots import SIDE_COLOURS

    dots = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert to_hex(dots[0].get_facecolor()[0]) == SIDE_COLOURS["right"]         # one colour per side everywhere


def test_run_clip_records_a_model_problem_for_a_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPROM_MODEL", str(tmp_path / "missing.task"))  # and the task's path is not here
    item = ClipItem(path=tmp_path / "c.mp4", rel="c.mp4")
    outcome = run_clip(task_for(item, tmp_path))
    assert outcome.status == "failed" and "(from HIPROM_MODEL)" in outcome.error
    folder = tmp_path / CLIPS_DIR / item.folder
    assert read_record(folder)["retry"] is True and not is_done(folder, task_for(item, tmp_path).key)


def test_a_clip_with_no_seated_test_is_recorded_with_its_verdicts(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import hiprom.apps.batch.worker as worker
    import hiprom.apps.pipeline as pipeline
    from hiprom.errors import NoTestError

    def no_test(path, config, model=None):
        raise NoTestError("no seated test found: nobody sits still: the hips move about 2.1 m across the "
                          "picture (walking?)", path=path, fix="film the seated test.",
                          verdicts={"right": "not_a_seated_test", "left": "not_a_seated_test"})

    monkeypatch.setattr(worker, "_worker_model", lambda *a: None)
    monkeypatch.setattr(pipeline, "analyze", no_test)
    item = ClipItem(path=tmp_path / "walk.mp4", rel="walk.mp4")
    task = task_for(item, tmp_path)
    outcome = run_clip(task)
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    folder = tmp_path / CLIPS_DIR / item.folder
    record = read_record(folder)
    assert record["test"] == {"right": "not_a_seated_test", "left": "not_a_seated_test"}
    assert record["retry"] is False and is_done(folder, task.key)       # a re-run would refuse it again
    rows = summary_rows(tmp_path, [item])
    assert [(r["side"], r["status"], r["tested"], r["test"]) for r in rows] == [
        ("right", "failed", False, "not_a_seated_test"), ("left", "failed", False, "not_a_seated_test")]
    assert rows[0]["error"] == (f"{item.path}: no seated test found: nobody sits still: the hips move about 2.1 m "
                                "across the picture (walking?) How to fix: film the seated test.")


# --- a worker that dies -----------------------------------------------------------------------

def test_a_dying_worker_fails_only_its_clip(tmp_path: Path) -> None:
    items = [ClipItem(path=tmp_path / f"{n}.mp4", rel=f"{n}.mp4") for n in ("a", "boom", "c", "d")]
    tasks = [task_for(it, tmp_path) for it in items]
    seen: dict[str, ClipOutcome] = {}
    _run_local(tasks, 2, 1, lambda t, o: seen.__setitem__(t.rel, o), fn=crash_on_boom)
    assert {k: o.status for k, o in seen.items()} == {"a.mp4": "ok", "boom.mp4": "failed", "c.mp4": "ok",
                                                      "d.mp4": "ok"}
    assert "worker process died" in seen["boom.mp4"].error
    rec = read_record(tmp_path / CLIPS_DIR / items[1].folder)
    assert rec["status"] == "failed" and rec["retry"] is True


SLEEPER = """
import os, time
from pathlib import Path

def sleep_long(task):
    Path(os.environ["PIDS"], str(os.getpid())).write_text(task.rel)
    time.sleep(600)
"""

BATCH_PARENT = """
import sys
from pathlib import Path
from hiprom.apps.batch.run import _run_local
from hiprom.apps.batch.worker import ClipTask
from hiprom.config import Config
from sleeper import sleep_long

tasks = [ClipTask(f"/x/{i}.mp4", f"{i}.mp4", f"{sys.argv[1]}/out/{i}", "s", "k", Config(), "/nowhere.task",
                  "m" * 64) for i in range(4)]
_run_local(tasks, 2, 1, lambda task, outcome: None, fn=sleep_long)
"""


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_end_within_seconds_when_the_batch_is_killed(tmp_path: Path) -> None:
    """After kill -9 of the batch, its workers used to run on for minutes (each ~0.45 GB),
    publishing clips without the lock."""
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(cli_env(), PIDS=str(pids), HIPROM_MODEL=str(tmp_path / "none.task"),
               PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    parent = subprocess.Popen([sys.executable, "-c", BATCH_PARENT, str(tmp_path)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2:
            assert parent.poll() is None, parent.stderr.read()
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
            workers = [int(p.name) for p in pids.iterdir()]
        parent.kill()                                    # kill -9
        parent.wait()
        killed = time.monotonic()
        while any(alive(pid) for pid in workers) and time.monotonic() - killed < 10:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "a worker outlived its batch by 10 s"
        print(f"workers ended {time.monotonic() - killed:.2f} s after the batch was killed")
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
