"""Norm tables with their provenance, the choice of rows, positions and screening flags."""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from hiprom.errors import ConfigError
from hiprom.interpret import norm_tables, norms
from hiprom.interpret.norms import DEFAULT_UNCERTAINTY_DEG, compare, flag_status, place, place_mean

DATA_FILES = ("sources.csv", "norms.csv", "flags.csv", "demands.csv", "measurement_error.csv")
LOADERS = (norms.load_sources, norms.load_norms, norms.load_flags, norms.load_demands, norms.load_measurement_error)


def result_dict(left: float | None, right: float | None, reference: str = "vertical", *,
                left_er: float | None = None, right_er: float | None = None) -> dict:
    """The parts of a result.json that :func:`compare` reads."""
    return {"reference": reference, "sides": {"left": {"peak_ir_deg": left, "peak_er_deg": left_er},
                                              "right": {"peak_ir_deg": right, "peak_er_deg": right_er}}}


def rows_of(c, measure: str = "ir") -> list[str]:
    return [r.id for r in getattr(c, measure).rows]


# -- the tables: every number traces to its source ----------------------------------------
def test_every_norm_row_says_what_who_how_and_where_from() -> None:
    for r in norms.load_norms():
        assert r.measure in ("ir", "er") and r.label and r.population and r.age_text and r.method, r.id
        assert 0 <= r.age_min < r.age_max <= 121 and r.sex in ("male", "female", "both"), r.id
        assert r.position in ("seated", "prone", "supine", "not_stated") and r.hip_flexion_deg in (0, 90), r.id
        assert len(r.source.citation) > 40 and r.evidence in ("peer_reviewed", "popular_article"), r.id
        if r.evidence == "peer_reviewed":
            assert r.n >= 1 and r.mean_deg is not None and r.lo_deg is None, r.id   # a measured sample
        else:
            assert r.n is None and r.mean_deg is None and r.band == (r.lo_deg, r.hi_deg), r.id
        assert r.source.doi is None or re.fullmatch(r"10\.\d{4,9}/\S+", r.source.doi), r.id


@pytest.mark.parametrize("row_id, measure, mean, sd, n, ages, sex, position, source", [
    ("kouyoumdjian2012_seated_ir", "ir", 37.9, None, 120, (20, 61), "both", "seated", "kouyoumdjian2012"),
    ("kouyoumdjian2012_prone_ir", "ir", 35.2, None, 120, (20, 61), "both", "prone", "kouyoumdjian2012"),
    ("kouyoumdjian2012_supine_ir", "ir", 29.6, None, 120, (20, 61), "both", "supine", "kouyoumdjian2012"),
    ("hilfiker2022_seated_ir_men", "ir", 33.0, 8.5, 244, (18, 22), "male", "seated", "hilfiker2022"),
    ("czuppon2017_ir_men", "ir", 26.9, 9.8, 299, (17, 21), "male", "not_stated", "czuppon2017"),
    ("czuppon2017_ir_women", "ir", 34.7, 10.7, 131, (17, 21), "female", "not_stated", "czuppon2017"),
    ("czuppon2017_er_men", "er", 44.7, 10.9, 299, (17, 21), "male", "not_stated", "czuppon2017"),
    ("czuppon2017_er_women", "er", 49.7, 10.4, 131, (17, 21), "female", "not_stated", "czuppon2017"),
])
def test_peer_reviewed_rows_hold_the_published_figures(row_id, measure, mean, sd, n, ages, sex, position,
                                                       source) -> None:
    r = {x.id: x for x in norms.load_norms()}[row_id]
    assert (r.measure, r.mean_deg, r.sd_deg, r.n, (r.age_min, r.age_max), r.sex, r.position, r.source.id) == \
        (measure, mean, sd, n, ages, sex, position, source)
    assert r.comparable == (position in ("seated", "not_stated"))       # prone/supine here: hip extended
    assert r.band == (None if sd is None else (round(mean - sd, 1), round(mean + sd, 1)))


def test_the_popular_articles_figures_are_labelled_as_such_and_never_measured() -> None:
    pop = {r.id: r for r in norms.load_norms() if r.evidence == "popular_article"}
    assert {k: (r.age_min, r.age_max, r.band) for k, r in pop.items()} == {
        "popular_teens_ir": (13, 20, (45, 50)), "popular_adults_ir": (20, 51, (35, 45)),
        "popular_over50_ir": (51, 121, (25, 35))}
    assert all(r.n is None and "popular article" in r.label for r in pop.values())
    assert {d.source.evidence for d in norms.load_demands()} == {"popular_article"}


def test_dois_are_the_verified_ones_and_nothing_cites_an_issue_or_itself() -> None:
    dois = {k: s.doi for k, s in norms.load_sources().items()}
    assert dois == {"kouyoumdjian2012": None, "hilfiker2022": "10.1097/CORR.0000000000002244",
                    "czuppon2017": "10.1016/j.pmrj.2016.10.022", "agricola2013": "10.1136/annrheumdis-2012-201643",
                    "altman1991": "10.1002/art.1780340502", "ellison1990": None, "krause2015": None,
                    "gradoz2018": None, "friesenbichler2020": None, "popular_article": None}
    for name in DATA_FILES + ("drills.toml",):
        text = resources.files("hiprom").joinpath("data", name).read_text(encoding="utf-8").lower()
        assert "issue 3" not in text and "hiprom" not in text and "seed" not in text, name
        assert "j athl train" not in text, name          # Hogg 2018 only summarised other studies' rows
    cited = {r.source.id for r in norms.load_norms()} | {s.id for f in norms.load_flags() for s in f.sources}
    cited |= {d.source.id for d in norms.load_demands()} | {m.source.id for m in norms.load_measurement_error()}
    assert cited == set(norms.load_sources())           # every source is used, every use has a source


def test_flags_say_who_they_were_described_in_and_what_the_source_supports() -> None:
    flags = {f.code: f for f in norms.load_flags()}
    assert {k: (f.measure, f.op, f.threshold_deg) for k, f in flags.items()} == {
        "IR_LE_20": ("ir", "le", 20.0), "IR_LT_15": ("ir", "lt", 15.0), "LR_DIFF_GT_10": ("lr_diff", "gt", 10.0)}
    assert [s.id for s in flags["IR_LE_20"].sources] == ["agricola2013"]
    assert "early symptomatic osteoarthritis" in flags["IR_LE_20"].text and "no test position" in flags["IR_LE_20"].text
    assert [s.id for s in flags["LR_DIFF_GT_10"].sources] == ["ellison1990", "kouyoumdjian2012"]
    lr = flags["LR_DIFF_GT_10"].text
    assert "not an abnormality threshold" in lr and "tolerance" in lr and "61%" in lr
    assert all("not a diagnosis" in f.text and f.described_in and f.position for f in flags.values())


def test_one_minimal_detectable_change_the_seated_inclinometer() -> None:
    from hiprom.outputs.history import default_mdc_deg

    mdc = norms.reference_mdc()
    assert (mdc.hi_deg, mdc.position, mdc.source.id) == (5.4, "seated", "krause2015")
    assert default_mdc_deg() == 5.4
    assert {m.id: m.value_text for m in norms.load_measurement_error()} == {
        "krause2015_inclinometer": "5.4°", "gradoz2018_goniometer": "6.1–8.6°", "friesenbichler2020_manual": "15.9°"}


@pytest.fixture
def fake_data(tmp_path: Path, monkeypatch):
    """Point the loaders at ``tmp_path/data`` (a copy of the real tables to edit)."""
    data = tmp_path / "data"
    data.mkdir()
    for name in DATA_FILES:
        (data / name).write_text(resources.files("hiprom").joinpath("data", name).read_text(encoding="utf-8"),
                                 encoding="utf-8")
    monkeypatch.setattr(norm_tables, "resources", SimpleNamespace(files=lambda _pkg: tmp_path))
    for f in LOADERS:
        f.cache_clear()
    yield data
    for f in LOADERS:
        f.cache_clear()


@pytest.mark.parametrize("file, old, new, expected", [
    ("norms.csv", ",120,20,61,20–60 years,both,seated,90,", ",,20,61,20–60 years,both,seated,90,", "needs n"),
    ("norms.csv", ',both,seated,90,"photographs of the leg, read by two observers",37.9',
     ",both,seated,90,,37.9", "method must not be empty"),
    ("norms.csv", ",both,seated,90,", ",both,standing,90,", "position must be one of"),
    ("norms.csv", ",33.0,8.5,,,hilfiker2022,", ",33.0,8.5,,,hilfiker2023,", "source 'hilfiker2023' is not in"),
    ("norms.csv", ",13,20,13–19 years,", ",13,abc,13–19 years,", "expected a number in 'age_max'"),
    ("norms.csv", ",,,45,50,popular_article,", ",,,50,45,popular_article,", "lo <= hi"),
    ("norms.csv", ",,,45,50,popular_article,", ",,,45,95,popular_article,", "within 0-90"),
    ("norms.csv", ",,,45,50,popular_article,", ",45,,,,popular_article,", "popular-article row has no sample"),
    ("norms.csv", ",male,seated,90,", ",robot,seated,90,", "sex must be male, female or both"),
    ("sources.csv", ",10.1016/j.pmrj.2016.10.022", ",doi.org/10.1016/x", "expected a DOI"),
    ("sources.csv", "czuppon2017,Czuppon et al. 2017,peer_reviewed,", "czuppon2017,Czuppon et al. 2017,blog,",
     "evidence must be"),
    ("flags.csv", ",not stated in the abstract,altman1991", ",not stated in the abstract,", "at least one source"),
    ("demands.csv", "deep_squat,Deep squat,squat;deep squat;weightlifting;crossfit,20,30",
     "deep_squat,Deep squat,squat,30,20", "lo <= hi"),
    ("demands.csv", "id,label,sports,", "id,name,sports,", "missing ['label']"),
    ("measurement_error.csv", ",5.4,5.4,yes,", ",5.4,5.4,no,", "exactly one reference row"),
])
def test_a_damaged_table_is_refused_with_the_reason(fake_data: Path, file: str, old: str, new: str,
                                                     expected: str) -> None:
    path = fake_data / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        [f() for f in LOADERS]
    assert expected in str(err.value) and file in str(err.value)


# -- the uncertainty rule ---------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (32.9, "below"), (33.0, "borderline"), (34.5, "borderline"), (36.9, "borderline"), (37.0, "within"),
    (43.0, "within"), (43.1, "borderline"), (47.0, "borderline"), (47.1, "above")])
def test_place_against_35_45_with_2_degrees(value: float, expected: str) -> None:
    assert place(value, 35.0, 45.0, 2.0) == expected


def test_place_without_uncertainty_is_the_plain_band() -> None:
    assert [place(v, 35, 45, 0.0) for v in (34.99, 35.0, 45.0, 45.01)] == ["below", "within", "within", "above"]


def test_place_against_a_mean_without_sd() -> None:
    assert [place_mean(v, 37.9, 2.0) for v in (35.8, 35.9, 39.9, 40.0)] == \
        ["below mean", "near mean", "near mean", "above mean"]


@pytest.mark.parametrize("value, op, threshold, expected", [
    (17.9, "le", 20, "raised"), (18.0, "le", 20, "raised"), (18.1, "le", 20, "possible"), (20.0, "le", 20, "possible"),
    (22.0, "le", 20, "possible"), (22.1, "le", 20, "not raised"),
    (12.9, "lt", 15, "raised"), (13.0, "lt", 15, "possible"), (16.9, "lt", 15, "possible"),
    (17.0, "lt", 15, "not raised"),
    (12.1, "gt", 10, "raised"), (12.0, "gt", 10, "possible"), (8.1, "gt", 10, "possible"),
    (8.0, "gt", 10, "not raised")])
def test_flag_status_is_raised_possible_or_not_raised_at_the_thresholds(value, op, threshold, expected) -> None:
    assert flag_status(value, op, threshold, 2.0) == expected


# -- the four people of the issue ---------------------------------------------------------
def test_a_45_year_old_woman_is_compared_with_kouyoumdjian_first_and_the_popular_band_beside() -> None:
    c = compare(result_dict(28.0, 40.0, left_er=40.0, right_er=50.0), age=45, sex="female")
    assert rows_of(c) == ["kouyoumdjian2012_seated_ir", "popular_adults_ir"] and not c.ir.orientation_only
    right = c.ir.sides["right"]
    assert (right["row"], right["evidence"], right["band_row"], right["position"]) == \
        ("kouyoumdjian2012_seated_ir", "peer_reviewed", "popular_adults_ir", "within")
    assert right["text"] == (
        "Right hip IR 40.0° (±2°) is 2.1° above the mean 37.9° of 120 healthy adults (71 women and 49 men), "
        "20–60 years, seated (Kouyoumdjian et al. 2012, peer-reviewed); no SD was published, so there is no band. "
        "Beside it, the 35–45° range given for 20–50 years (popular article, not peer-reviewed): within.")
    assert [(a["row"], a["position"], a["diff_from_mean_deg"]) for a in c.ir.sides["left"]["against"]] == \
        [("kouyoumdjian2012_seated_ir", "below mean", -9.9), ("popular_adults_ir", "below", None)]
    # ER: the only ER norms are from college athletes, so for her they are for orientation only
    assert rows_of(c, "er") == ["czuppon2017_er_women"] and c.er.orientation_only
    assert c.er.sides["right"]["text"].startswith("For orientation only (no row covers this person): Right hip ER "
                                                  "50.0° (±2°) is within the 39.3–60.1° band (mean ± 1 SD, 49.7 ± "
                                                  "10.4°) of 131 asymptomatic college freshman athletes (women)")
    assert any(n.startswith("No ER norm covers a woman aged 45") for n in c.notes)
    assert c.summary_columns("left") == {
        "flags": "LR_DIFF_GT_10?", "norm_row": "popular_adults_ir", "norm_evidence": "popular_article",
        "norm_lo_deg": 35.0, "norm_hi_deg": 45.0, "norm_position": "below", "er_norm_row": "czuppon2017_er_women",
        "er_norm_lo_deg": 39.3, "er_norm_hi_deg": 60.1, "er_norm_position": "borderline", "er_norm_applies": False}


def test_a_16_year_old_gets_only_the_popular_teen_band_and_is_told_so() -> None:
    c = compare(result_dict(None, 40.0, right_er=45.0), age=16)
    assert rows_of(c) == ["popular_teens_ir"] and c.sides["right"]["position"] == "below"
    assert c.sides["right"]["text"] == ("Right hip IR 40.0° (±2°) is below the 45–50° range given for 13–19 years "
                                        "(popular article, not peer-reviewed).")
    assert any(n.startswith("No peer-reviewed IR norm at 90° hip flexion covers a person aged 16 (Kouyoumdjian "
                            "et al. 2012: Healthy adults 20–60, seated;") for n in c.notes)
    assert rows_of(c, "er") == []
    assert c.er.sides["right"]["text"] == "Right hip ER 45.0° (±2°): no ER norm to compare with."
    assert any("give the sex to see them" in n for n in c.notes)
    assert c.summary_columns("right")["norm_evidence"] == "popular_article"


def test_a_70_year_old_man_gets_the_popular_over_50_band_and_no_peer_reviewed_row() -> None:
    c = compare(result_dict(30.0, 34.0, left_er=41.0), age=70, sex="male")
    assert rows_of(c) == ["popular_over50_ir"] and not c.ir.orientation_only
    assert [c.sides[s]["position"] for s in ("left", "right")] == ["within", "borderline"]
    assert "borderline, within its uncertainty of the 35° edge of the 25–35° range" in c.sides["right"]["text"]
    assert any(n.startswith("No peer-reviewed IR norm at 90° hip flexion covers a man aged 70") for n in c.notes)
    assert rows_of(c, "er") == ["czuppon2017_er_men"] and c.er.orientation_only
    assert c.er.sides["left"]["position"] == "within"        # 41 ± 2 inside 33.8–55.6


def test_an_athlete_is_compared_with_the_athlete_rows_and_seated_rows_come_first() -> None:
    woman = compare(result_dict(30.0, 40.0, left_er=45.0, right_er=38.0), age=19, sex="female", sport="athlete")
    assert rows_of(woman) == ["czuppon2017_ir_women", "popular_teens_ir"]
    assert rows_of(woman, "er") == ["czuppon2017_er_women"] and not woman.er.orientation_only
    assert [woman.er.sides[s]["position"] for s in ("left", "right")] == ["within", "borderline"]
    assert woman.summary_columns("right")["er_norm_applies"] is True
    assert "(Czuppon et al. 2017, peer-reviewed)" in woman.sides["left"]["text"]
    assert "test position not stated" in woman.sides["left"]["text"]
    man = compare(result_dict(30.0, 40.0), age=19, sex="m", sport="athlete")
    assert rows_of(man) == ["hilfiker2022_seated_ir_men", "czuppon2017_ir_men", "popular_teens_ir"]  # seated first
    assert man.sides["right"]["text"].startswith(
        "Right hip IR 40.0° (±2°) is borderline, within its uncertainty of the 41.5° edge of the 24.5–41.5° band "
        "(mean ± 1 SD, 33.0 ± 8.5°) of 244 asymptomatic Swiss army conscripts (MRI subsample)")
    assert rows_of(compare(result_dict(30.0, 40.0), age=19, sex="m")) == ["hilfiker2022_seated_ir_men",
                                                                          "popular_teens_ir"]  # not an athlete


# -- choosing the rows -------------------------------------------------------------------
@pytest.mark.parametrize("age, rows", [(13, ["popular_teens_ir"]), (19.9, ["popular_teens_ir"]),
                                       (20, ["kouyoumdjian2012_seated_ir", "popular_adults_ir"]),
                                       (50.9, ["kouyoumdjian2012_seated_ir", "popular_adults_ir"]),
                                       (51, ["kouyoumdjian2012_seated_ir", "popular_over50_ir"]),
                                       (60, ["kouyoumdjian2012_seated_ir", "popular_over50_ir"]),
                                       (61, ["popular_over50_ir"]), (120, ["popular_over50_ir"])])
def test_age_chooses_the_rows_by_completed_years(age: float, rows: list[str]) -> None:
    assert rows_of(compare(result_dict(None, 40.0), age=age)) == rows


def test_without_an_age_the_adult_rows_are_used_with_a_note_and_no_batch_row() -> None:
    c = compare(result_dict(None, 24.0))
    assert rows_of(c) == ["kouyoumdjian2012_seated_ir", "popular_adults_ir"] and not c.age_given
    assert c.notes[0].startswith("No age given: compared as an adult")
    assert c.summary_columns("right")["norm_row"] is None and c.row.id == "popular_adults_ir"


def test_a_child_is_compared_with_the_adult_rows_for_orientation_only() -> None:
    c = compare(result_dict(None, 40.0), age=9)
    assert rows_of(c) == ["kouyoumdjian2012_seated_ir", "popular_adults_ir"] and c.ir.orientation_only
    assert c.sides["right"]["text"].startswith("For orientation only")
    assert any(n.startswith("No IR norm covers a person aged 9") for n in c.notes)


def test_hip_extended_rows_are_never_compared() -> None:
    for age in (None, 16, 25, 45, 70):
        for sex in (None, "female", "male"):
            c = compare(result_dict(30.0, 30.0, left_er=40.0), age=age, sex=sex)
            assert all(r.comparable for r in c.ir.rows + c.er.rows)


@pytest.mark.parametrize("bad", [0, -3, 121, float("nan")])
def test_an_impossible_age_is_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="age"):
        compare(result_dict(None, 40.0), age=bad)


@pytest.mark.parametrize("sex, er_rows", [("F", ["czuppon2017_er_women"]), ("woman", ["czuppon2017_er_women"]),
                                          ("male", ["czuppon2017_er_men"]), ("other", []), (None, [])])
def test_sex_chooses_the_rows_for_that_sex(sex, er_rows) -> None:
    c = compare(result_dict(None, 40.0, right_er=40.0), age=30, sex=sex)
    assert rows_of(c, "er") == er_rows and c.inputs["sex"] in ("female", "male", None)


def test_sport_chooses_a_demand_or_the_athlete_rows() -> None:
    c = compare(result_dict(None, 22.0), sport="Running")
    assert c.sport_demand.id == "walking_running" and rows_of(c) == rows_of(compare(result_dict(None, 22.0)))
    with pytest.raises(ConfigError, match="sport") as err:
        compare(result_dict(None, 40.0), sport="tennis")       # the tennis rows were only second-hand: dropped
    assert "athlete" in err.value.fix and "running" in err.value.fix


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
    assert {k: f["status"] for k, f in by.items()} == {
        ("IR_LE_20", "left"): "raised", ("IR_LT_15", "left"): "raised", ("IR_LE_20", "right"): "not raised",
        ("IR_LT_15", "right"): "not raised", ("LR_DIFF_GT_10", "both"): "raised"}
    f = by[("LR_DIFF_GT_10", "both")]
    assert f["value_deg"] == 28.0 and f["threshold_deg"] == 10.0 and "Ellison" in f["source"]
    assert [s["id"] for s in f["sources"]] == ["ellison1990", "kouyoumdjian2012"] and f["described_in"]
    assert f["uncertainty_deg"] == pytest.approx(2 * math.sqrt(2), abs=0.01)
    assert f["text"].startswith("Screening flag raised: left-right IR difference 28.0° (threshold > 10°).")
    assert by[("IR_LE_20", "right")]["text"] == "Not raised: right hip IR 38.0° (threshold ≤ 20°)."
    assert by[("IR_LE_20", "left")]["sources"][0]["doi"] == "10.1136/annrheumdis-2012-201643"
    assert c.summary_columns("left")["flags"] == "IR_LE_20;IR_LT_15;LR_DIFF_GT_10"
    assert c.summary_columns("right")["flags"] == "LR_DIFF_GT_10"


def test_flags_do_not_need_an_age() -> None:
    c = compare(result_dict(10.0, 38.0))
    assert c.summary_columns("left")["flags"] == "IR_LE_20;IR_LT_15;LR_DIFF_GT_10"
    assert c.summary_columns("left")["norm_row"] is None


def test_readings_near_a_threshold_give_possible_flags_marked_with_a_question_mark() -> None:
    c = compare(result_dict(21.0, 33.0))        # 21 is within 2° of 20; a 12° difference is within 2.83° of 10
    assert {(f["code"], f["status"]) for f in c.shown_flags} == {("IR_LE_20", "possible"),
                                                                 ("LR_DIFF_GT_10", "possible")}
    assert c.summary_columns("left")["flags"] == "IR_LE_20?;LR_DIFF_GT_10?"
    assert all(f["text"].startswith("Possible screening flag") for f in c.shown_flags)
    assert compare(result_dict(23.0, 30.0)).shown_flags == ()   # 23 > 20 + 2 and 7 + 2.83 <= 10
    assert [f["code"] for f in compare(result_dict(23.0, 30.5)).shown_flags] == ["LR_DIFF_GT_10"]  # 7.5+2.83 > 10


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
    assert {d["evidence"] for d in c.sides["right"]["demands"]} == {"popular_article"}


def test_borderline_names_the_edge() -> None:
    s = compare(result_dict(None, 34.5)).sides["right"]
    assert s["edge"] == "lower" and "35–45° range given for 20–50 years (popular article, not peer-reviewed): " \
        "borderline (near the 35° edge)." in s["text"]


def test_result_object_and_its_dict_compare_the_same(synthetic_result) -> None:
    a = compare(synthetic_result, age=40, sex="f").to_dict()
    b = compare(json.loads(synthetic_result.to_json()), age=40, sex="f").to_dict()
    assert a == b
    assert a["ir"]["sides"]["right"]["value"] == pytest.approx(37.8, abs=0.3) and a["ir"]["sides"]["left"] is None
    assert json.loads(json.dumps(a, allow_nan=False)) == a
    assert a["ir"]["rows"][0]["source"]["short"] == "Kouyoumdjian et al. 2012"
    assert a["ir"]["rows"][0]["evidence"] == "peer_reviewed" and a["disclaimer"].startswith("Screening")
    assert a["mdc"]["hi_deg"] == 5.4
    srcs = {s["id"]: s for s in a["sources"]}
    assert srcs["czuppon2017"]["doi"] == "10.1016/j.pmrj.2016.10.022" and "krause2015" in srcs
    assert "issue" not in json.dumps(a).lower()


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

    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.config import Config

    return analyze_landmarks(series_from_body(RIGHT), Config())


def test_each_reading_is_placed_with_its_own_uncertainty() -> None:
    """A reading's own uncertainty (result.json) decides how close to a threshold counts as
    "possible": 20.5° ± 0.4° is clear of IR ≤ 20°, 20.5° ± 2° (the default) may not be."""
    def result(u_right):
        side = {"tested": True, "peak_ir_deg": 20.5, "peak_er_deg": None, "peak_ir_uncertainty_deg": u_right}
        return {"sides": {"right": side, "left": {"tested": False, "peak_ir_deg": None, "peak_er_deg": None}}}

    def status(cmp):
        return next(f["status"] for f in cmp.to_dict()["flags"] if f["code"] == "IR_LE_20" and f["side"] == "right")

    assert status(compare(result(0.4), age=40)) == "not raised"
    assert status(compare(result(None), age=40)) == "possible"              # no stated uncertainty: ±2°
    assert status(compare(result(0.4), age=40, uncertainty_deg=2.0)) == "possible"   # an explicit override
    assert compare(result(0.4), age=40).to_dict()["ir"]["sides"]["right"]["uncertainty_deg"] == 0.4
