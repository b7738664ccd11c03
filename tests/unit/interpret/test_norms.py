"""Norm tables, the choice of row, positions and screening flags with the uncertainty rule."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from hiprom.interpret import norm_tables

from hiprom.interpret import norms
from hiprom.errors import ConfigError
from hiprom.interpret.norms import DEFAULT_UNCERTAINTY_DEG, compare, flag_status, place


def result_dict(left: float | None, right: float | None, reference: str = "vertical") -> dict:
    """The parts of a result.json that :func:`compare` reads."""
    return {"reference": reference, "sides": {"left": {"peak_ir_deg": left}, "right": {"peak_ir_deg": right}}}


# -- the tables -------------------------------------------------------------------------
def test_every_row_of_every_table_has_a_source_and_sane_degrees() -> None:
    for row in norms.load_norms() + norms.load_demands():
        assert len(row.source.strip()) > 30, row.id          # a citation, not a placeholder
        assert 0.0 <= row.lo_deg <= row.hi_deg <= 90.0, row.id
    for rule in norms.load_flags():
        assert rule.source.strip() and 0.0 < rule.threshold_deg < 90.0
        assert "not a diagnosis" in rule.text                # screening wording, never diagnosis


def test_age_rows_are_the_issue_values_and_cover_13_to_120_without_gaps() -> None:
    ages = sorted((r for r in norms.load_norms() if r.kind == "age"), key=lambda r: r.age_min)
    assert [(r.id, r.lo_deg, r.hi_deg) for r in ages] == [("teens", 45, 50), ("adults", 35, 45), ("over50", 25, 35)]
    assert ages[0].age_min == 13 and ages[-1].age_max > 120
    assert all(a.age_max == b.age_min for a, b in zip(ages, ages[1:]))
    assert "Kouyoumdjian" in ages[1].source


@pytest.mark.parametrize("row_id, mean, sd", [("men", 35.1, 4.7), ("women", 42.7, 10.3),
                                              ("tennis_men", 30.0, 9.6), ("tennis_women", 35.6, 8.2)])
def test_literature_rows_are_mean_plus_minus_one_sd(row_id: str, mean: float, sd: float) -> None:
    row = {r.id: r for r in norms.load_norms()}[row_id]
    assert (row.mean_deg, row.sd_deg) == (mean, sd)
    assert row.lo_deg == pytest.approx(mean - sd, abs=0.05) and row.hi_deg == pytest.approx(mean + sd, abs=0.05)
    assert "J Athl Train. 2018;53(6)" in row.source


def test_flag_and_demand_tables_hold_the_published_thresholds() -> None:
    flags = {f.code: (f.measure, f.op, f.threshold_deg) for f in norms.load_flags()}
    assert flags == {"IR_LE_20": ("ir", "le", 20.0), "IR_LT_15": ("ir", "lt", 15.0),
                     "LR_DIFF_GT_10": ("lr_diff", "gt", 10.0)}
    sources = {f.code: f.source for f in norms.load_flags()}
    assert "Agricola" in sources["IR_LE_20"] and "Altman" in sources["IR_LT_15"]
    assert "Ellison" in sources["LR_DIFF_GT_10"]
    demands = {d.id: (d.lo_deg, d.hi_deg) for d in norms.load_demands()}
    assert demands == {"walking_running": (15, 20), "deep_squat": (20, 30), "cycling": (25, 25),
                       "baseball_pitching": (50, 50)}


@pytest.fixture
def fake_data(tmp_path: Path, monkeypatch):
    """Point the loaders at ``tmp_path/data`` (a copy of the real tables to edit)."""
    import importlib.resources as ir

    data = tmp_path / "data"
    data.mkdir()
    for name in ("norms_seated_ir.csv", "flags.csv", "demands.csv"):
        (data / name).write_text(ir.files("hiprom").joinpath("data", name).read_text(encoding="utf-8"),
                                 encoding="utf-8")
    monkeypatch.setattr(norm_tables, "resources", SimpleNamespace(files=lambda _pkg: tmp_path))
    for f in (norms.load_norms, norms.load_flags, norms.load_demands):
        f.cache_clear()
    yield data
    for f in (norms.load_norms, norms.load_flags, norms.load_demands):
        f.cache_clear()


@pytest.mark.parametrize("file, old, new, expected", [
    ("norms_seated_ir.csv", ",general,35,45,", ",general,45,35,", "lo <= hi"),
    ("norms_seated_ir.csv", ",general,45,50,", ",general,45,95,", "within 0-90"),
    ("norms_seated_ir.csv", ",general,25,35,", ",general,25,abc,", "expected a number"),
    ("norms_seated_ir.csv", "adults,age,Adults (20–50 years),20,51", "adults,age,Adults,18,51", "overlap"),
    ("norms_seated_ir.csv", "over50,age,Adults over 50,51,121,", "over50,age,Adults over 50,51,old,",
     "could not convert"),
    ("norms_seated_ir.csv", ",,,male,general,30.4", ",,,robot,general,30.4", "sex must be male or female"),
    ("flags.csv", "Altman R, Alarcon G, Appelrouth D, et al. The American College of Rheumatology criteria for "
     "the classification and reporting of osteoarthritis of the hip. Arthritis Rheum. 1991;34(5):505-514.", " ",
     "non-empty source"),
    ("demands.csv", "deep_squat,Deep squat,squat;deep squat;weightlifting;crossfit,20,30",
     "deep_squat,Deep squat,squat,30,20", "lo <= hi"),
    ("demands.csv", "id,label,sports,", "id,name,sports,", "missing ['label']"),
])
def test_a_damaged_table_is_refused_with_the_reason(fake_data: Path, file: str, old: str, new: str,
                                                     expected: str) -> None:
    path = fake_data / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        norms.load_norms(), norms.load_flags(), norms.load_demands()
    assert expected in str(err.value) and file in str(err.value)


# -- the uncertainty rule ---------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (32.9, "below"), (33.0, "borderline"), (34.5, "borderline"), (36.9, "borderline"), (37.0, "within"),
    (43.0, "within"), (43.1, "borderline"), (47.0, "borderline"), (47.1, "above")])
def test_place_against_35_45_with_2_degrees(value: float, expected: str) -> None:
    assert place(value, 35.0, 45.0, 2.0) == expected


def test_place_without_uncertainty_is_the_plain_band() -> None:
    assert [place(v, 35, 45, 0.0) for v in (34.99, 35.0, 45.0, 45.01)] == ["below", "within", "within", "above"]


@pytest.mark.parametrize("value, op, threshold, expected", [
    (17.9, "le", 20, "clear"), (18.0, "le", 20, "clear"), (18.1, "le", 20, "possible"), (20.0, "le", 20, "possible"),
    (22.0, "le", 20, "possible"), (22.1, "le", 20, None),
    (12.9, "lt", 15, "clear"), (13.0, "lt", 15, "possible"), (16.9, "lt", 15, "possible"), (17.0, "lt", 15, None),
    (12.1, "gt", 10, "clear"), (12.0, "gt", 10, "possible"), (8.1, "gt", 10, "possible"), (8.0, "gt", 10, None)])
def test_flag_status_is_clear_possible_or_none_at_the_thresholds(value, op, threshold, expected) -> None:
    assert flag_status(value, op, threshold, 2.0) == expected


# -- choosing the row -------------------------------------------------------------------
@pytest.mark.parametrize("age, row", [(13, "teens"), (19.9, "teens"), (20, "adults"), (50, "adults"),
                                      (50.9, "adults"), (51, "over50"), (120, "over50")])
def test_age_chooses_the_row(age: float, row: str) -> None:
    c = compare(result_dict(None, 40.0), age=age)
    assert c.row.id == row and c.age_given and c.note is None
    assert c.summary_columns("right")["norm_row"] == row


def test_without_an_age_the_adult_row_is_used_and_the_note_lists_every_row() -> None:
    c = compare(result_dict(None, 24.0))
    assert c.row.id == "adults" and not c.age_given
    assert "No age given" in c.note and "45–50°" in c.note and "25–35°" in c.note
    assert c.sides["right"]["by_age"] == {"teens": "below", "adults": "below", "over50": "borderline"}
    assert c.to_dict()["note"] == c.note


def test_a_child_gets_the_adult_row_with_a_note() -> None:
    c = compare(result_dict(None, 40.0), age=9)
    assert c.row.id == "adults" and any("start at 13" in n for n in c.notes)


@pytest.mark.parametrize("bad", [0, -3, 121, float("nan")])
def test_an_impossible_age_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="age"):
        compare(result_dict(None, 40.0), age=bad)


@pytest.mark.parametrize("sex, rows", [("F", ["women"]), ("woman", ["women"]), ("male", ["men"]),
                                       ("other", []), (None, [])])
def test_sex_adds_its_literature_row(sex, rows) -> None:
    c = compare(result_dict(None, 40.0), sex=sex)
    assert [r.id for r in c.other_rows] == rows
    assert [o["row"] for o in c.sides["right"]["others"]] == rows


def test_sport_chooses_a_demand_or_a_population_row() -> None:
    c = compare(result_dict(None, 22.0), sport="Running")
    assert c.sport_demand.id == "walking_running" and c.other_rows == ()
    c = compare(result_dict(None, 22.0), sport="tennis", sex="m")
    assert [r.id for r in c.other_rows] == ["men", "tennis_men"] and c.sport_demand is None
    assert [o["position"] for o in c.sides["right"]["others"]] == ["below", "borderline"]
    assert [r.id for r in compare(result_dict(None, 22.0), sport="tennis").other_rows] == ["tennis_men", "tennis_women"]


@pytest.mark.parametrize("kwargs, match", [({"sport": "golf"}, "sport"), ({"sex": "robot"}, "sex"),
                                           ({"uncertainty_deg": -1}, "uncertainty"),
                                           ({"uncertainty_deg": float("nan")}, "uncertainty")])
def test_bad_choices_are_refused_with_how_to_fix(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        compare(result_dict(None, 40.0), **kwargs)
    assert err.value.fix


# -- flags and demands through compare --------------------------------------------------
def test_low_ir_raises_both_ir_flags_and_the_asymmetry_flag() -> None:
    c = compare(result_dict(10.0, 38.0), age=30)
    by = {(f["code"], f["side"]): f for f in c.flags}
    assert set(by) == {("IR_LE_20", "left"), ("IR_LT_15", "left"), ("LR_DIFF_GT_10", "both")}
    assert all(f["status"] == "clear" for f in c.flags)
    f = by[("LR_DIFF_GT_10", "both")]
    assert f["value_deg"] == 28.0 and f["threshold_deg"] == 10.0 and "Ellison" in f["source"]
    assert f["uncertainty_deg"] == pytest.approx(2 * math.sqrt(2), abs=0.01)
    assert c.summary_columns("left") == {"norm_row": "adults", "norm_lo_deg": 35.0, "norm_hi_deg": 45.0,
                                         "norm_position": "below", "flags": "IR_LE_20;IR_LT_15;LR_DIFF_GT_10"}
    assert c.summary_columns("right")["flags"] == "LR_DIFF_GT_10"
    assert c.summary_columns("right")["norm_position"] == "within"


def test_readings_near_a_threshold_give_possible_flags_marked_with_a_question_mark() -> None:
    c = compare(result_dict(21.0, 33.0))        # 21 is within 2° of 20; a 12° difference is within 2.83° of 10
    assert {(f["code"], f["status"]) for f in c.flags} == {("IR_LE_20", "possible"), ("LR_DIFF_GT_10", "possible")}
    assert c.summary_columns("left")["flags"] == "IR_LE_20?;LR_DIFF_GT_10?"
    assert all("Possible screening flag" in f["text"] for f in c.flags)
    assert compare(result_dict(23.0, 30.0)).flags == ()   # 23 > 20 + 2 and 7 + 2.83 <= 10
    assert [f["code"] for f in compare(result_dict(23.0, 30.5)).flags] == ["LR_DIFF_GT_10"]  # 7.5 + 2.83 > 10


def test_a_larger_uncertainty_turns_a_clear_reading_borderline() -> None:
    assert compare(result_dict(None, 34.5), uncertainty_deg=0.0).sides["right"]["position"] == "below"
    assert compare(result_dict(None, 34.5)).sides["right"]["position"] == "borderline"
    assert compare(result_dict(None, 32.0), uncertainty_deg=4.0).sides["right"]["position"] == "borderline"
    assert compare(result_dict(None, 40.0)).uncertainty_deg == DEFAULT_UNCERTAINTY_DEG == 2.0


def test_demand_verdicts_use_the_uncertainty() -> None:
    c = compare(result_dict(None, 24.0))
    status = {d["id"]: d["status"] for d in c.sides["right"]["demands"]}
    # enough: 24-2 >= 20; squat 20-30 and cycling 25 straddled; pitching 50: 26 < 50
    assert status == {"walking_running": "enough", "deep_squat": "borderline", "cycling": "borderline",
                      "baseball_pitching": "short"}


def test_borderline_text_names_the_edge() -> None:
    s = compare(result_dict(None, 34.5)).sides["right"]
    assert s["edge"] == "lower" and "borderline" in s["text"] and "35° edge" in s["text"]
    assert s["text"].startswith("Right hip IR 34.5° (±2°)")


def test_result_object_and_its_dict_compare_the_same(synthetic_result) -> None:
    a = compare(synthetic_result, age=40, sex="f").to_dict()
    b = compare(json.loads(synthetic_result.to_json()), age=40, sex="f").to_dict()
    assert a == b
    assert a["sides"]["right"]["value"] == pytest.approx(37.8, abs=0.3) and a["sides"]["left"] is None
    assert json.loads(json.dumps(a, allow_nan=False)) == a
    assert "Kouyoumdjian" in a["row"]["source"] and a["disclaimer"].startswith("Screening")


def test_neutral_reference_and_no_measured_side_are_noted() -> None:
    c = compare(result_dict(None, 30.0, reference="neutral"))
    assert any("rest position" in n for n in c.notes)
    c = compare(result_dict(None, None))
    assert c.sides == {"left": None, "right": None} and c.flags == ()
    assert c.summary_columns("left")["norm_position"] is None
    assert any("nothing was compared" in n for n in c.notes)
    with pytest.raises(ValueError):
        c.summary_columns("middle")


@pytest.fixture(scope="module")
def synthetic_result():
    from helpers.synthetic_subject import RIGHT, series_from_body

    from hiprom.config import Config
    from hiprom.apps.pipeline import analyze_landmarks

    return analyze_landmarks(series_from_body(RIGHT), Config())
