"""The norms in the terminal: `hiprom norms`, and the comparison printed by `hiprom analyze`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from hiprom.apps.cli.terminal import print_comparison
from hiprom.interpret.norms import compare, load_norms, load_sources


def run(*args: str | Path, timeout: float = 300, columns: int = 250) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "hiprom", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def printed(comparison, **kwargs) -> str:
    console = Console(record=True, width=400, highlight=False)
    print_comparison(console, comparison, **kwargs)
    return console.export_text()


def lr(left: float, right: float, **er) -> dict:
    return {"sides": {"left": {"peak_ir_deg": left, "peak_er_deg": er.get("left_er")},
                      "right": {"peak_ir_deg": right, "peak_er_deg": er.get("right_er")}}}


def test_the_terminal_names_the_row_its_evidence_the_flag_status_and_the_sources() -> None:
    out = printed(compare(lr(12.0, 21.0, right_er=50.0), age=45, sex="female"))
    lines = out.splitlines()
    assert lines[0].startswith("Norms (IR): Right hip IR 21.0° (±2°) is 16.9° below the mean 37.9° of 120 healthy "
                               "adults") and "(Kouyoumdjian et al. 2012, peer-reviewed)" in lines[0]
    assert "(popular article, not peer-reviewed): below." in lines[0]
    assert lines[2].startswith("Norms (ER): For orientation only (no row covers this person): Right hip ER 50.0°")
    assert "screening flag raised: left hip — IR 20° or less (12.0°); not a diagnosis" in out
    assert "screening flag possible: right hip — IR 20° or less (21.0°); not a diagnosis" in out
    assert "screening flag possible: both sides — Sides differ by more than 10° (9.0°)" in out
    assert "clear" not in out and "(details in the report)" not in out       # no report was written
    assert "Sources:" in out and "doi:10.1136/annrheumdis-2012-201643" in out   # Agricola, cited by a raised flag
    assert "doi:10.1016/j.pmrj.2016.10.022" in out                              # Czuppon, the ER row
    assert "Friesenbichler" not in out                                          # not cited by this comparison
    assert out.count("(details in the report)") == 0
    assert printed(compare(lr(12.0, 21.0), age=45), report_written=True).count("(details in the report)") == 4


def test_no_raised_flag_says_what_was_checked() -> None:
    out = printed(compare(lr(38.0, 40.0), age=30))
    assert ("Screening flags: none raised (checked: IR 20° or less, IR below 15°, Sides differ by more than 10°)."
            in out)


def test_print_summary_mentions_the_report_only_when_it_exists(tmp_path: Path) -> None:
    from helpers.synthetic_subject import RIGHT, series_from_body

    from hiprom.apps.cli.terminal import print_summary
    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.config import Config

    result = analyze_landmarks(series_from_body(RIGHT), Config())
    cmp = compare({"sides": {"left": {"peak_ir_deg": 12.0}, "right": {"peak_ir_deg": 38.0}}}, age=30)
    for exists in (False, True):
        report = tmp_path / "report.html"
        if exists:
            report.write_text("<!DOCTYPE html>", encoding="utf-8")
        console = Console(record=True, width=300, highlight=False)
        print_summary(console, result, tmp_path, comparison=cmp, report_path=report)
        assert ("(details in the report)" in console.export_text()) is exists


def test_hiprom_norms_prints_every_row_with_its_source_and_doi() -> None:
    proc = run("norms")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for r in load_norms():
        assert r.id in out.replace("\n", "").replace("│", "").replace(" ", "") or r.id[:14] in out, r.id
    for s in load_sources().values():
        assert (s.doi or s.citation[:40]) in out.replace("\n", " "), s.id
    for text in ("Norms for the seated test (hip flexed 90°)", "a different test, listed only, never compared",
                 "Screening flags", "Functional demands", "the starred row is used everywhere", "Sources"):
        assert text in out, text


def test_hiprom_norms_in_80_columns_keeps_every_word_whole() -> None:
    """A table of 12 columns in 80 would break its cells mid-word: one block per row instead."""
    proc = run("norms", columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    words = set(proc.stdout.split())
    for r in load_norms():
        assert r.id in words, r.id
        for text in (r.method, r.population, r.age_text):
            missing = [w for w in text.split() if w not in words]
            assert not missing, (r.id, missing)
    before_sources = lines[:lines.index("Sources")]
    assert max(len(line.rstrip()) for line in before_sources) <= 80


def test_hiprom_norms_json_and_which_rows_apply_to_a_person() -> None:
    proc = run("norms", "--json", "--age", "45", "--sex", "female")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["norms"]) == len(load_norms())
    for row in data["norms"]:
        assert row["source"]["citation"] and row["evidence"] in ("peer_reviewed", "popular_article")
        assert row["position"] and row["method"] and row["population"] and row["age_text"]
    assert data["applies"]["who"] == "a woman aged 45"
    assert data["applies"]["ir"] == {"rows": ["kouyoumdjian2012_seated_ir", "popular_adults_ir"],
                                     "orientation_only": False}
    assert data["applies"]["er"] == {"rows": ["czuppon2017_er_women"], "orientation_only": True}
    proc = run("norms", "--age", "19", "--sex", "male", "--sport", "athlete")
    assert proc.returncode == 0, proc.stderr
    assert "IR compared with: hilfiker2022_seated_ir_men, czuppon2017_ir_men, popular_teens_ir" in proc.stdout


@pytest.mark.parametrize("args, match", [(("--sex", "robot"), "--sex must be one of female, male, other, got 'robot'"),
                                         (("--sport", "tennis"), "expected a known sport"),
                                         (("--age", "200"), "expected an age in years")])
def test_hiprom_norms_refuses_bad_choices(args, match) -> None:
    proc = run("norms", *args)
    assert proc.returncode == 2 and match in proc.stderr and "Traceback" not in proc.stderr


def test_analyze_prints_the_report_hint_only_with_a_report(tmp_path: Path) -> None:
    from helpers.synthetic_subject import RIGHT, series_from_body

    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.config import Config

    folder = analyze_landmarks(series_from_body(RIGHT), Config()).save(tmp_path / "syn_hiprom")
    npz = folder / "landmarks.npz"
    plain = run("analyze", npz, "--from-landmarks", "--out", tmp_path / "a", "--age", "45", "--sex", "female")
    assert plain.returncode == 0, plain.stderr
    assert "Norms (IR): Right hip IR" in plain.stdout and "(Kouyoumdjian et al. 2012, peer-reviewed)" in plain.stdout
    assert "Norms (ER): For orientation only" in plain.stdout and "(details in the report)" not in plain.stdout
    with_report = run("analyze", npz, "--from-landmarks", "--out", tmp_path / "b", "--age", "45", "--report")
    assert with_report.returncode == 0, with_report.stderr
    assert (tmp_path / "b" / "report.html").is_file()
    saved = json.loads((tmp_path / "b" / "result.json").read_text(encoding="utf-8"))
    assert saved["norms"]["ir"]["primary_row"] == "kouyoumdjian2012_seated_ir"
