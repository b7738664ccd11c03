"""``hiprom batch``: resume keys, atomic clip folders, the summary table, worker crashes, and
the command run as a user runs it (a bad clip, a re-run, kill -9 in the middle)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from hiprom.apps.batch.manifest import ClipItem
from hiprom.apps.batch.run import (
    CLIPS_DIR,
    EXIT_SOME_FAILED,
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
    ClipTask,
    is_done,
    publish_clip,
    read_record,
    run_clip,
    settings_sha256,
    sweep,
    worker_threads,
)
from hiprom.config import Config
from hiprom.errors import ConfigError
from hiprom.vision.model_store import ModelInfo, validate_model_file

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
TOL_DEG = 4.0  # as tests/test_end_to_end.py: measured peak vs the render's truth


# --- helpers ------------------------------------------------------------------------------

class FakeResult:
    """Stands in for an AnalysisResult: ``save`` writes the given result.json."""

    def __init__(self, d: dict):
        self.d = d

    def save(self, out: Path, plot: bool = True) -> Path:
        out.mkdir()
        (out / "result.json").write_text(json.dumps(self.d))
        return out


def side(ir: float | None, er: float | None = None, level: str = "good") -> dict:
    return {"tested": ir is not None, "peak_ir_deg": ir, "peak_er_deg": er,
            "total_arc_deg": None if ir is None or er is None else ir + er, "n_reps": int(ir is not None),
            "quality": {"score": {"good": 1.0, "poor": 0.3}[level], "level": level,
                        "reasons": ["too dark"] if level == "poor" else []}}


def result_dict(right: dict, left: dict) -> dict:
    return {"schema": "hiprom.result", "schema_version": 1, "reference": "vertical",
            "sides": {"right": right, "left": left}, "warnings": ["w1", "w2"]}


def task_for(item: ClipItem, out: Path, sha: str = "in0", settings: str = "set0") -> ClipTask:
    return ClipTask(str(item.path), item.rel, str(out / CLIPS_DIR / item.folder), sha, settings, Config(),
                    "/nowhere/model.task", "m" * 64, "full", False, item.meta())


def run_cli(*args: object, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hiprom", "batch", *map(str, args)], env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, **kw)


def cli_env() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    return env


def visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def hidden_leftovers(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob(".*") if p.name.endswith((".tmp", ".old")))


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
    assert sorted(p.name for p in folder.iterdir()) == ["batch.json", "result.json"]
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
    publish_clip(first[0], ClipOutcome("a.mp4", "ok"), FakeResult({}))
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
        ("b.mp4", "left", "ok", None, None, "not_tested", None, None),
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


@pytest.mark.model
def test_a_worker_with_another_model_refuses(tmp_path: Path, shared_model_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPROM_MODEL", str(shared_model_path))
    item = ClipItem(path=tmp_path / "c.mp4", rel="c.mp4")
    outcome = run_clip(task_for(item, tmp_path))  # the task names sha256 'mmmm...', absent here
    assert outcome.status == "failed"
    here = validate_model_file(shared_model_path)[:12]
    assert f"has a different pose model: expected sha256 mmmmmmmmmmmm..., got {here}..." in outcome.error


# --- a worker that dies -----------------------------------------------------------------------

def crash_on_boom(task: ClipTask) -> ClipOutcome:
    """Runs in a spawned worker: dies like a segfault in native code on 'boom' clips."""
    if "boom" in task.rel:
        os._exit(1)
    return ClipOutcome(task.rel, "ok", worker=str(os.getpid()))


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
