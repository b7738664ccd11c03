"""The local history: insert, dedupe of the same clip, subjects kept apart, date order, the
plot, the ``hiprom history`` command, and a database that survives a process killed mid-write.

No model needed: results are ``result.json`` dictionaries like ``AnalysisResult.to_dict()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from hiprom.errors import InputError
from hiprom.outputs.history import History, default_history_path, with_changes


def result_dict(path: str | Path, right_ir: float | None, left_ir: float | None = None, *,
                created: str = "2024-03-01T10:00:00+00:00", frames: int = 216) -> dict:
    """A minimal hiprom.result v1 as ``AnalysisResult.to_dict()`` writes it."""
    def side(ir):
        return {"tested": ir is not None, "peak_ir_deg": ir, "peak_er_deg": None if ir is None else 30.0}
    return {"schema": "hiprom.result", "schema_version": 1, "created_utc": created,
            "input": {"path": str(path), "kind": "video", "width_px": 540, "height_px": 960, "fps": 30.0,
                      "frames": frames, "duration_s": frames / 30.0, "codec": "h264"},
            "reference": "vertical", "sides": {"right": side(right_ir), "left": side(left_ir)},
            "quality": {"score": 0.9, "level": "good"}, "warnings": []}


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clips" / "visit.mp4"
    path.parent.mkdir()
    path.write_bytes(b"not really a video, but bytes to hash " * 100)
    return path


@pytest.fixture()
def hist(tmp_path: Path):
    with History(tmp_path / "db" / "history.sqlite") as h:
        yield h


def test_insert_and_read_back(hist: History, clip: Path):
    assert hist.add(result_dict(clip, 38.6, created="2024-03-01T10:00:00+01:00"), "P-017") is True
    rows = hist.rows("P-017")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert str(row["date"]) == "2024-03-01 09:00:00+00:00"  # stored in UTC
    assert row["right_ir_deg"] == 38.6 and row["right_er_deg"] == 30.0
    assert np.isnan(row["left_ir_deg"]) and np.isnan(row["left_er_deg"])
    assert (row["quality_level"], row["quality_score"], row["reference"]) == ("good", 0.9, "vertical")
    assert row["clip"] == str(clip.resolve())
    assert hist.subjects() == ["P-017"]
    assert hist.rows("nobody").empty
    stored = hist.conn.execute("SELECT clip_sha256, result_json FROM measurements").fetchone()
    assert stored[0] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert json.loads(stored[1])["sides"]["right"]["peak_ir_deg"] == 38.6
    assert hist.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert hist.conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    assert row["date_source"] == "analysis" and row["position"] is None      # no test date: analysis time


def test_the_same_clip_is_stored_once(hist: History, clip: Path, tmp_path: Path):
    assert hist.add(result_dict(clip, 38.6), "P-1")
    # re-analysed later (other settings, other numbers): same file content, not a new point
    assert hist.add(result_dict(clip, 41.0, created="2024-04-01T10:00:00+00:00"), "P-1") is False
    copy = tmp_path / "renamed copy.mp4"
    copy.write_bytes(clip.read_bytes())
    assert hist.add(result_dict(copy, 38.6), "P-1") is False  # same content under another name
    # another clip with the same name and the same description is a different clip (sha256 differs)
    other = tmp_path / "other" / "visit.mp4"
    other.parent.mkdir()
    other.write_bytes(b"a second visit")
    assert hist.add(result_dict(other, 44.0, created="2024-05-01T10:00:00+00:00"), "P-1") is True
    # unreachable input: the description (name, size, frames, fps...) is the key
    away = result_dict("/gone/elsewhere.mp4", 40.0)
    assert hist.add(away, "P-1") is True
    assert hist.add({**away, "created_utc": "2025-01-01T00:00:00+00:00"}, "P-1") is False
    assert hist.add(result_dict("/gone/elsewhere.mp4", 40.0, frames=300), "P-1") is True
    assert len(hist.rows("P-1")) == 4


def test_subjects_are_kept_apart(hist: History, clip: Path, tmp_path: Path):
    assert hist.add(result_dict(clip, 38.6), "A") is True
    assert hist.add(result_dict(clip, 38.6), "B") is True  # the same clip may belong to two IDs
    second = tmp_path / "b2.mp4"
    second.write_bytes(b"B again")
    assert hist.add(result_dict(second, 30.0, created="2024-06-01T00:00:00+00:00"), "B") is True
    assert hist.subjects() == ["A", "B"]
    assert hist.rows("A")["right_ir_deg"].tolist() == [38.6]
    assert hist.rows("B")["right_ir_deg"].tolist() == [38.6, 30.0]


def test_rows_are_in_date_order_and_changes_are_judged_against_the_mdc(hist: History, tmp_path: Path):
    for day, right, left in ((20, 43.0, 33.0), (1, 36.0, 30.0), (10, 39.0, None)):
        f = tmp_path / f"d{day}.mp4"
        f.write_bytes(f"day {day}".encode())
        assert hist.add(result_dict(f, right, left), "P", measured_utc=f"2024-05-{day:02d}T09:00:00")
    rows = hist.rows("P")
    assert [d.day for d in rows["date"]] == [1, 10, 20]
    table = with_changes(rows, mdc_deg=5.0)
    assert table["right_ir_change_deg"].tolist()[1:] == [3.0, 4.0]
    assert table["right_ir_since_first_deg"].tolist() == [0.0, 3.0, 7.0]
    assert table["right_ir_within_mdc"].tolist() == [None, True, True]
    # the left side was not measured on day 10: its change is vs its previous measurement
    assert np.isnan(table["left_ir_change_deg"][1]) and table["left_ir_change_deg"][2] == 3.0
    assert table["left_ir_within_mdc"].tolist() == [None, None, True]
    assert with_changes(rows, mdc_deg=2.5)["right_ir_within_mdc"].tolist() == [None, False, False]


def test_plot_has_both_sides_the_band_and_the_mdc_marks(hist: History, tmp_path: Path):
    for day, right, left in ((1, 36.0, 30.0), (15, 39.0, 31.0), (29, 46.0, 31.5)):
        f = tmp_path / f"v{day}.mp4"
        f.write_bytes(f"visit {day}".encode())
        hist.add(result_dict(f, right, left), "P", measured_utc=f"2024-02-{day:02d}T09:00:00+00:00")
    fig = hist.plot("P", norm_band=(28.0, 45.0), mdc_deg=5.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"right IR, +10.0° since first", "left IR, +1.5° since first (within MDC)",
                          "right ER", "left ER"}                                # ER like IR
    assert lines["right IR, +10.0° since first"].get_ydata().tolist() == [36.0, 39.0, 46.0]
    assert lines["left ER"].get_ydata().tolist() == [30.0, 30.0, 30.0] and lines["left ER"].get_linestyle() == "--"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "filled: IR changed by at least the 5° MDC" in legend and "hollow: IR change within the MDC" in legend
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-02-01", "2024-02-15", "2024-02-29"]
    band = [p for p in ax.patches if p.get_label() == "norm IR 28–45°"]
    assert len(band) == 1
    ys = band[0].get_patch_transform().transform(band[0].get_path().vertices)[:, 1]  # data units
    assert (ys.min(), ys.max()) == (28.0, 45.0)
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["+0.5° within MDC", "+1.0° within MDC", "+3.0° within MDC", "+7.0°"]
    assert len(hist.plot("P").axes[0].patches) == 0  # no band asked for


def test_a_result_folder_can_be_stored_and_its_clip_found_beside_it(hist: History, tmp_path: Path):
    clip = tmp_path / "visit.mp4"
    clip.write_bytes(b"clip bytes")
    out = tmp_path / "visit_hiprom"
    out.mkdir()
    # the result names the clip relative to wherever analyze ran: not reachable from here
    (out / "result.json").write_text(json.dumps(result_dict("some/other/cwd/visit.mp4", 35.0)))
    assert hist.add(out, "P") is True
    sha, folder = hist.conn.execute("SELECT clip_sha256, result_dir FROM measurements").fetchone()
    assert sha == hashlib.sha256(b"clip bytes").hexdigest() and folder == str(out)
    assert hist.add(out / "result.json", "P") is False


def test_bad_inputs_give_clear_errors(hist: History, tmp_path: Path, clip: Path):
    with pytest.raises(InputError, match="hiprom.result version 1"):
        hist.add({"schema": "something.else"}, "P")
    with pytest.raises(InputError, match="subject ID"):
        hist.add(result_dict(clip, 30.0), "  ")
    with pytest.raises(InputError, match="ISO date-time"):
        hist.add(result_dict(clip, 30.0), "P", measured_utc="yesterday")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a usable hiprom history database") as err:
        History(garbage)
    assert str(garbage) in str(err.value)
    newer = tmp_path / "newer.sqlite"
    History(newer).close()
    conn = sqlite3.connect(newer)
    with conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(InputError, match="version 99 was written by a newer hiprom"):
        History(newer)


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("HIPROM_HISTORY", raising=False)
    assert default_history_path().parts[-2:] == ("hiprom", "history.sqlite")
    monkeypatch.setenv("HIPROM_HISTORY", str(tmp_path / "env.sqlite"))
    assert default_history_path() == tmp_path / "env.sqlite"
    assert default_history_path(tmp_path / "explicit.sqlite") == tmp_path / "explicit.sqlite"


# --- the command -----------------------------------------------------------------------------

def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    full.update(env or {})
    full.setdefault("MPLBACKEND", "Agg")
    full.setdefault("COLUMNS", "160")
    return subprocess.run([sys.executable, "-m", "hiprom", *map(str, args)], env=full,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture()
def filled_db(tmp_path: Path) -> Path:
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        for day, right in ((3, 36.0), (17, 38.5), (31, 44.0)):
            f = tmp_path / f"clip_{day}.mp4"
            f.write_bytes(f"clip {day}".encode())
            h.add(result_dict(f, right), "P-9", measured_utc=f"2024-01-{day:02d}T08:00:00+00:00")
    return db


def test_cli_prints_the_series_with_changes_and_the_mdc_note(filled_db: Path, tmp_path: Path):
    png = tmp_path / "plots" / "p9.png"
    proc = run_cli("history", "P-9", "--db", filled_db, "--plot", png)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    flat = " ".join(out.split())                                # prose is wrapped between words
    for text in ("2024-01-03", "2024-01-17", "2024-01-31", "36.0°", "38.5° +2.5° <MDC", "44.0°",
                 "44.0° +5.5°", "clip_31.mp4", "right IR since the first measurement: +8.0° (larger than the MDC)",
                 "minimal detectable change (5.4°, digital inclinometer (active IR of one leg), seated, "
                 "Krause et al. 2015)"):
        assert text in out or text in flat, f"{text!r} missing from:\n{out}"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the database is found through HIPROM_HISTORY too; --json is for scripts
    proc = run_cli("history", "P-9", "--json", "--mdc", "6", env={"HIPROM_HISTORY": str(filled_db)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["subject_id"] == "P-9" and data["mdc_deg"] == 6.0
    got = [(m["date"], m["right_ir_deg"], m["right_ir_change_deg"], m["right_ir_within_mdc"])
           for m in data["measurements"]]
    assert got == [("2024-01-03T08:00:00+00:00", 36.0, None, None), ("2024-01-17T08:00:00+00:00", 38.5, 2.5, True),
                   ("2024-01-31T08:00:00+00:00", 44.0, 5.5, True)]


def test_the_default_band_and_mdc_are_the_ones_the_report_uses(hist: History, tmp_path: Path):
    from hiprom.apps.cli.history import _auto_band
    from hiprom.interpret.norms import compare

    assert _auto_band(None, None) == ((35.0, 45.0), "norm 35–45°: Adults 20–50 (popular article) "
                                                    "(popular article, not peer-reviewed)")
    assert _auto_band(19, "male") == ((24.5, 41.5), "norm 24.5–41.5°: Young men 18–21, seated examination chair "
                                                    "(Hilfiker et al. 2022, peer-reviewed)")
    assert _auto_band(70, None)[0] == compare({"sides": {"left": {}, "right": {}}}, age=70).row.band == (25.0, 35.0)
    for day, right in ((1, 30.0), (2, 35.3), (3, 40.8)):
        hist.add(result_dict(tmp_path / f"c{day}.mp4", right), "Q", measured_utc=f"2024-02-0{day}T08:00:00+00:00")
    rows = hist.rows("Q")
    assert with_changes(rows)["right_ir_within_mdc"].tolist() == [None, True, False]   # 5.3° < 5.4° <= 5.5°
    ax = hist.plot("Q", norm_band=(35.0, 45.0), norm_label="norm 35–45°: from a test").axes[0]
    assert "norm 35–45°: from a test" in [p.get_label() for p in ax.patches]
    assert "5.4° minimal detectable change" in ax.get_xlabel()


def test_cli_errors_name_the_database(filled_db: Path, tmp_path: Path):
    proc = run_cli("history", "P-10", "--db", filled_db)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert str(filled_db) in proc.stderr and "no measurements stored for subject 'P-10' (subjects: P-9)" in proc.stderr
    missing = tmp_path / "none.sqlite"
    proc = run_cli("history", "P-9", "--db", missing)
    assert proc.returncode == 1 and "no history database here" in proc.stderr and str(missing) in proc.stderr
    assert not missing.exists()
    proc = run_cli("history", "P-9", "--db", filled_db, "--norm-band", "45,28")
    assert proc.returncode == 2 and "LOW must be below HIGH" in proc.stderr


# --- crash safety --------------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys
    from hiprom.outputs.history import History
    pad = ["x" * 1000] * 300  # ~300 kB per row: each write takes a while
    with History(sys.argv[1]) as h:
        for i in range(100000):
            d = {"schema": "hiprom.result", "schema_version": 1, "created_utc": "2024-01-01T00:00:00+00:00",
                 "input": {"path": f"/nowhere/clip{i}.mp4", "frames": i}, "reference": "vertical",
                 "sides": {"right": {"peak_ir_deg": float(i % 90)}, "left": {}},
                 "quality": {"score": 1.0, "level": "good"},
                 "warnings": pad}
            h.add(d, "crash")
""")


def test_a_process_killed_mid_write_leaves_a_sound_database(tmp_path: Path):
    db = tmp_path / "history.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], stderr=subprocess.PIPE)
    try:
        deadline, count = time.monotonic() + 120, 0
        while count < 15 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if not db.exists():
                continue
            conn = sqlite3.connect(db, timeout=30)
            try:
                count = conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
            except sqlite3.OperationalError:  # the writer has not made its tables yet
                pass
            finally:
                conn.close()
        assert proc.poll() is None, proc.stderr.read().decode()
        assert count >= 15, "the writer did not get going"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with History(db) as h:
        assert h.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = h.conn.execute("SELECT id, right_ir_deg, clip, result_json FROM measurements ORDER BY id").fetchall()
        assert len(rows) >= count
        for k, (row_id, ir, clip, blob) in enumerate(rows):  # every row whole, none skipped
            data = json.loads(blob)
            assert row_id == k + 1 and ir == float(k) and clip == f"/nowhere/clip{k}.mp4"
            assert data["sides"]["right"]["peak_ir_deg"] == ir and len(data["warnings"]) == 300
        assert h.add(result_dict("/after/crash.mp4", 33.0), "crash") is True  # still writable


def test_two_tests_on_one_day_show_the_time_not_seconds(hist: History, tmp_path: Path):
    for hour, right in ((9, 36.0), (15, 38.0)):
        f = tmp_path / f"h{hour}.mp4"
        f.write_bytes(f"hour {hour}".encode())
        hist.add(result_dict(f, right), "P", measured_utc=f"2024-02-01T{hour:02d}:00:30+00:00")
    ax = hist.plot("P").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-02-01 09:00", "2024-02-01 15:00"]


def test_the_test_date_and_facts_are_kept(hist: History, clip: Path):
    d = result_dict(clip, 38.6, created="2024-03-09T10:00:00+00:00")
    d["test"] = {"date": "2024-03-01T08:30:00+00:00", "date_source": "clip", "examiner": "AB", "notes": "warm",
                 "pain": "left", "position": "seated"}
    assert hist.add(d, "P")
    row = hist.rows("P").iloc[0]
    assert str(row["date"]) == "2024-03-01 08:30:00+00:00"                   # the test's date, not the analysis
    assert (row["date_source"], row["examiner"], row["pain"], row["position"], row["notes"]) == (
        "clip", "AB", "left", "seated", "warm")


def test_a_version_1_database_is_migrated_without_losing_rows(tmp_path: Path, clip: Path):
    from hiprom.outputs import history as history_mod

    path = tmp_path / "old.sqlite"
    v1 = history_mod._SCHEMA.replace(",\n    date_source TEXT, examiner TEXT, pain TEXT, position TEXT, notes TEXT", "")
    assert "examiner" not in v1
    conn = sqlite3.connect(path)
    conn.executescript(v1.format(version=1))
    conn.execute("INSERT INTO measurements (subject_id, measured_utc, added_utc, clip, clip_sha256, clip_fingerprint, "
                 "right_ir_deg, result_json) VALUES ('P', '2023-01-01T00:00:00+00:00', '2023-01-01T00:00:00+00:00', "
                 "'old.mp4', NULL, 'fp', 33.0, '{}')")
    conn.commit()
    conn.close()
    with History(path) as h:
        assert h.conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert h.add(result_dict(clip, 38.6), "P")
        rows = h.rows("P")
    assert rows["right_ir_deg"].tolist() == [33.0, 38.6] and rows["examiner"].isna().all()
    assert rows["date_source"].isna().tolist() == [True, False] and rows["date_source"][1] == "analysis"


def test_cli_table_keeps_whole_words_at_80_columns(filled_db: Path):
    proc = run_cli("history", "P-9", "--history-db", filled_db, env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(ln) <= 80 for ln in lines), "\n".join(lines)
    rows = [ln for ln in lines if ln.lstrip().startswith("2024-")]
    assert len(rows) == 3                                      # one line per test: nothing wrapped
    assert "38.5° +2.5° <MDC" in rows[1] and "44.0° +5.5°" in rows[2]
    assert rows[1].split()[-2:] == ["good", "clip_17.mp4"]
