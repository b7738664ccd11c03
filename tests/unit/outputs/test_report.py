"""The HTML report: self-contained, escaped, atomic; from a result, a folder, the CLI (a real
analysis of the sample and Chromium's rendering: tests/e2e/test_report.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.report_html import assert_self_contained, data_uris
from helpers.synthetic_subject import RIGHT, series_from_body

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.apps.saved import build_report_from_folder
from hiprom.config import Config
from hiprom.errors import InputError
from hiprom.interpret.norms import compare
from hiprom.outputs import report as report_mod
from hiprom.outputs.report import read_result_json, write_report


@pytest.fixture(scope="module")
def result():
    """Synthetic: right IR 38° / ER 26°, left not tested; its source is not a real file."""
    return analyze_landmarks(series_from_body(RIGHT), Config())


@pytest.fixture(scope="module")
def folder(result, tmp_path_factory) -> Path:
    return result.save(tmp_path_factory.mktemp("syn") / "clip_hiprom")


def test_report_of_a_result_holds_the_values_figures_and_advice(result, tmp_path: Path) -> None:
    out = write_report(result, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert_self_contained(html)
    saved = result.to_dict()["sides"]["right"]                               # the report shows result.json's values
    for kind in ("ir", "er"):                       # each reading with its own uncertainty, not one fixed ±2°
        assert (f"<td class='num'>{saved[f'peak_{kind}_deg']:.1f}° ± "
                f"{saved[f'peak_{kind}_uncertainty_deg']:.1f}°</td>") in html
    assert "<td class=''>not tested: the left leg stays within 1° of rest</td>" in html   # the verdict's reason
    assert "Held IR / ER: the mean angle over the hold at end range" in html and "peak IR" not in html
    pngs = data_uris(html, "png")
    assert len(pngs) == 3 and all(p.startswith(b"\x89PNG") for p in pngs)
    assert "No age given: compared as an adult (rows covering ages 20–50)" in html
    assert "(Kouyoumdjian et al. 2012, peer-reviewed)" in html and "(popular article, not peer-reviewed)" in html
    assert "<tr class='chosen'><td class=''>Healthy adults 20–60, seated</td><td class=''>peer-reviewed</td>" in html
    assert "issue 3" not in html and "hiprom issue" not in html
    assert "doi:10.1136/annrheumdis-2012-201643" in html and "doi:10.1002/art.1780340502" in html   # sources
    assert "seated: 5.4° (Krause et al. 2015)" in html and "6.1–8.6° (Gradoz et al. 2018)" in html    # one MDC
    assert "6–9°" not in html
    assert "Key frames omitted: the analysed video was not found" in html
    assert "90/90 hip switches" in html and "3 x 20 per side" in html and "Retest in 3-4 weeks" in html
    assert "See a physiotherapist or doctor if the hip hurts" in html
    assert "not a diagnosis" in html and "Kouyoumdjian" in html
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]                # no temporary file left


def test_flags_positions_and_sources_are_shown(result, tmp_path: Path) -> None:
    cmp = compare({"sides": {"left": {"peak_ir_deg": 12.0}, "right": {"peak_ir_deg": 21.0}}}, age=60, sex="male")
    html = write_report(result, tmp_path / "r.html", comparison=cmp).read_text(encoding="utf-8")
    assert "No age given" not in html and "<td class=''>subject</td><td class=''>age 60, sex male</td>" in html
    assert html.count("class='box flag'") == 3                               # IR ≤ 20 and IR < 15 (left), + advice box
    assert html.count("class='box possible'") == 2    # right 21° is within 2° of 20°; 9° within 2.8° of 10°
    assert "<b>IR 20° or less</b> (left hip) — raised: Screening flag raised: left hip IR 12.0°" in html
    assert "<b>Sides differ by more than 10°</b> (both sides) — possible: Possible screening flag" in html
    assert "screening flag (clear)" not in html and "clear" not in html
    assert "Described in: 1002 people with early symptomatic hip or knee osteoarthritis (CHECK cohort). " \
           "Test position: not stated in the abstract." in html
    assert "Checked and not raised: IR below 15° (right: 21.0°)." in html
    assert "Agricola R" in html and "Altman R" in html and "Ellison JB" in html
    assert "<tr class='chosen'><td class=''>Healthy adults 20–60, seated</td>" in html     # 60: Kouyoumdjian first
    assert "<td class=''>Adults over 50 (popular article)</td><td class=''>popular article, not peer-reviewed" in html
    assert ("Internal rotation is short on both sides. The left hip is the shorter side: IR 12.0° against 21.0° on "
            "the right (9.0° less, more than the 5.4° minimal detectable change). These drills are commonly used "
            "to improve it; work mainly the left side:") in html


def test_drills_name_the_short_side(result, tmp_path: Path) -> None:
    cmp = compare({"sides": {"left": {"peak_ir_deg": 25.0}, "right": {"peak_ir_deg": 40.0}}}, age=30)
    html = write_report(result, tmp_path / "r.html", comparison=cmp).read_text(encoding="utf-8")
    assert ("Internal rotation is short on the left side. The left hip is the shorter side: IR 25.0° against 40.0° "
            "on the right (15.0° less") in html and "work mainly the left side:" in html
    cmp = compare({"sides": {"left": {"peak_ir_deg": 39.0}, "right": {"peak_ir_deg": 40.0}}}, age=30)
    html = write_report(result, tmp_path / "r.html", comparison=cmp).read_text(encoding="utf-8")
    assert "No deficit found." in html and "shorter side" not in html


def test_user_text_is_escaped(result, tmp_path: Path) -> None:
    evil = dataclasses.replace(result, source={**result.source, "path": "/x/<script>alert('x')&\".mp4"})
    html = write_report(evil, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "alert('x')" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&amp;&quot;.mp4" in html


def test_write_is_atomic_and_replaces(result, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r.html"
    out.write_text("old", encoding="utf-8")
    monkeypatch.setattr(report_mod, "_html", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        write_report(result, out)
    assert out.read_text(encoding="utf-8") == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]
    monkeypatch.undo()
    write_report(result, out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_key_frame_from_a_video_with_the_face_blur_hook(result, tmp_path: Path, monkeypatch) -> None:
    import cv2

    import hiprom.outputs.privacy

    frame, er_frame = result.sides["right"].peak_ir_frame, result.sides["right"].peak_er_frame
    w, h = result.series.frame_size_px
    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for i in range(er_frame + 2):                                  # only the IR and ER frames are light
        writer.write(np.full((h, w, 3), 200 if i in (frame, er_frame) else 40, np.uint8))
    writer.release()
    calls = []

    def fake_blur(rgb, image_px, visibility):
        calls.append((rgb.shape, image_px.shape, visibility.shape))
        return rgb

    monkeypatch.setattr(hiprom.outputs.privacy, "blur_faces", fake_blur)
    html = write_report(result, tmp_path / "r.html", video_path=tmp_path / "clip.mp4",
                        blur_faces=True).read_text(encoding="utf-8")
    assert calls == [((h, w, 3), (33, 3), (33,))] * 2
    jpegs = data_uris(html, "jpeg")                                          # IR and ER, like each other
    assert len(jpegs) == 2
    for jpeg in jpegs:
        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert np.median(img) > 150                                          # the held frame, not its neighbours
    assert f"Right hip holding internal rotation (frame {frame} at" in html and "Key frames omitted" not in html
    assert f"Right hip holding external rotation (frame {er_frame} at" in html
    short = tmp_path / "short.mp4"                                           # a clip that ends before the peak
    writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    writer.write(np.zeros((h, w, 3), np.uint8))
    writer.release()
    html = write_report(result, tmp_path / "r.html", video_path=short).read_text(encoding="utf-8")
    assert f"Key frame of the right IR omitted: has no frame {frame}" in html and not data_uris(html, "jpeg")
    assert f"Key frame of the right ER omitted: has no frame {er_frame}" in html


def test_report_from_a_folder_and_without_landmarks(folder: Path, tmp_path: Path) -> None:
    out = build_report_from_folder(folder)
    assert out == folder / "report.html"
    html = out.read_text(encoding="utf-8")
    saved = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert f"{saved['sides']['right']['peak_ir_deg']:.1f}°" in html
    assert len(data_uris(html, "png")) == 3
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(folder / "result.json", bare / "result.json")
    html = build_report_from_folder(bare / "result.json").read_text(encoding="utf-8")
    assert len(data_uris(html, "png")) == 2 and "landmarks.npz was not found" in html


@pytest.mark.parametrize("text, match", [("{not json", "not valid JSON"),
                                         ('{"schema": "other"}', "expected a hiprom.result"),
                                         ("[]", "expected a hiprom.result")])
def test_a_bad_result_file_is_refused(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "result.json").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_result_json(tmp_path)
    with pytest.raises(InputError, match="no result.json"):
        read_result_json(tmp_path / "nope")


def run_cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "hiprom", "report", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_report(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep.html"
    proc = run_cli(folder / "result.json", "--out", out, "--age", "60", "--sex", "female", "--sport", "squat")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "<td class=''>subject</td><td class=''>age 60, sex female, sport squat</td>" in html
    assert "Healthy adults 20–60, seated" in html and "Adults over 50 (popular article)" in html
    assert "External rotation (ER)" in html and "For orientation only (no row covers this person): Right hip ER" in html
    assert "College athletes about 18: women, 90° hip flexion" in html
    proc = run_cli(folder / "result.json", "--out", out)
    assert proc.returncode == 2 and "already exists" in proc.stderr and "--force" in proc.stderr
    assert run_cli(folder / "result.json", "--out", out, "--force").returncode == 0
    proc = run_cli(folder / "result.json", "--out", out, "--force", "--sport", "golf")
    assert proc.returncode == 2 and "known sport" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(tmp_path / "missing.json")
    assert proc.returncode == 1 and "does not exist" in proc.stderr


@pytest.mark.parametrize("value, text", [(-0.04, "0.0°"), (0.0, "0.0°"), (-0.06, "-0.1°"), (37.95, "38.0°"),
                                         (None, "–")])
def test_degrees_are_shown_to_a_tenth_without_a_negative_zero(value, text):
    assert report_mod._deg(value) == text


def test_a_rebuilt_report_equals_the_original(folder: Path, tmp_path: Path) -> None:
    """`hiprom report --force` keeps what analyze was told: subject, age, sex, sport, test date, notes."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = tmp_path / "clip_hiprom"
    proc = subprocess.run([sys.executable, "-m", "hiprom", "analyze", "--from-landmarks", folder / "landmarks.npz",
                           "--out", out, "--quiet", "--report", "--subject", "P-1", "--age", "60", "--sex",
                           "female", "--sport", "cycling", "--test-date", "2024-05-01", "--examiner", "AB",
                           "--notes", "after warm-up", "--pain", "left", "--history-db", tmp_path / "h.sqlite"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    original = (out / "report.html").read_text(encoding="utf-8")
    for text in ("<td class=''>subject</td><td class=''>ID P-1, age 60, sex female, sport cycling</td>",
                 "<td class=''>test date</td><td class=''>2024-05-01</td>", "<td class=''>examiner</td><td "
                 "class=''>AB</td>", "<td class=''>pain</td><td class=''>pain on the left side</td>",
                 "<td class=''>notes</td><td class=''>after warm-up</td>", "Adults over 50 (popular article)",
                 "College athletes about 18: women, 90° hip flexion"):
        assert text in original, text
    assert "is said to need" in original and "Cycling" in original               # the sport's demand
    assert run_cli(out, "--force").returncode == 0
    assert (out / "report.html").read_text(encoding="utf-8") == original       # byte for byte, figures too
