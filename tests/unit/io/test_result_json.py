"""The one validated reader of result.json (reliability issue item 11; architecture issue).

A hand-edited result must be refused with the field named (exit 1), never rendered as a
reading; ``hiprom report``, ``hiprom history`` and the batch summary all read through
:func:`hiprom.io.result_json.read_result`. The results here are measured from a synthetic
landmark series (no model).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import invoke
from helpers.synthetic_subject import RIGHT, series_from_body

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.core.result_schema import ResultSchemaError, validate_result_dict
from hiprom.errors import InputError
from hiprom.io.result_json import read_result


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """An output folder (result.json + landmarks.npz) of a measured synthetic clip."""
    result = analyze_landmarks(series_from_body(RIGHT).replace(source="visit.mp4"), Config())
    return result.save(tmp_path_factory.mktemp("saved") / "visit_hiprom", plot=False)


@pytest.fixture
def data(saved: Path) -> dict:
    return json.loads((saved / "result.json").read_text(encoding="utf-8"))


def edited(folder: Path, tmp_path: Path, change) -> Path:
    """A copy of ``folder`` whose result.json was changed by ``change(dict)``, as raw JSON text
    (so NaN and Infinity are written the way a hand edit writes them)."""
    out = Path(shutil.copytree(folder, tmp_path / folder.name))
    d = json.loads((out / "result.json").read_text(encoding="utf-8"))
    change(d)
    (out / "result.json").write_text(json.dumps(d, allow_nan=True), encoding="utf-8")
    return out


def setter(path: str, value):
    def change(d):
        *keys, last = path.split(".")
        for k in keys:
            d = d[k]
        d[last] = value
    return change


BAD = [
    ("sides.right.peak_ir_deg", float("nan"), "expected a number from -90 to 90° (or null), got nan"),
    ("sides.right.peak_ir_deg", float("inf"), "expected a number from -90 to 90° (or null), got inf"),
    ("sides.right.peak_ir_deg", 1e308, "expected a number from -90 to 90° (or null), got 1e+308"),
    ("sides.right.peak_er_deg", -999, "expected a number from -90 to 90° (or null), got -999"),
    ("sides.right.peak_ir_deg", "38", "expected a number from -90 to 90° (or null), got '38'"),
    ("sides.right.total_arc_deg", True, "expected a number from -180 to 180° (or null), got true"),
    ("sides.right.quality.score", float("nan"), "expected a number from 0 to 1 (or null), got nan"),
    ("sides.right.quality.level", "excellent", "expected one of 'good', 'fair', 'poor', got 'excellent'"),
    ("quality", "good", "expected an object {...}, got a string"),
    ("left_right.ir_difference_deg", -3.0, "expected a number from 0 to 180° (or null), got -3.0"),
    ("sides.left.peak_ir_deg", 12.0, "a side that was not tested has no reading, got 12.0"),
    ("input.frames", "many", "expected a whole number from 0 to 1e+09 (or null), got 'many'"),
    ("warnings", "none", "expected a list of strings, got a string"),
    ("camera.roll_deg", float("-inf"), "expected a number from -90 to 90° (or null), got -inf"),
]


@pytest.mark.parametrize("field, value, problem", BAD)
def test_validator_names_the_bad_field(data, field, value, problem):
    bad = copy.deepcopy(data)
    setter(field, value)(bad)
    with pytest.raises(ResultSchemaError) as info:
        validate_result_dict(bad)
    assert info.value.field == field and info.value.problem == problem


def test_a_result_as_analyze_writes_it_is_valid(data):
    assert validate_result_dict(data) is data


def test_wrong_schema_and_missing_sides():
    with pytest.raises(ResultSchemaError, match="expected a hiprom.result version 1 result, got schema 'x'"):
        validate_result_dict({"schema": "x", "schema_version": 1})
    with pytest.raises(ResultSchemaError, match="expected a hiprom.result version 1 result, got a list"):
        validate_result_dict([])
    with pytest.raises(ResultSchemaError, match="^sides: is missing$"):
        validate_result_dict({"schema": "hiprom.result", "schema_version": 1})
    with pytest.raises(ResultSchemaError, match="^sides: expected exactly left and right, got 'right'$"):
        validate_result_dict({"schema": "hiprom.result", "schema_version": 1, "sides": {"right": {}}})


@pytest.mark.parametrize("field, value, problem", BAD[:6] + BAD[8:9])
def test_report_refuses_a_hand_edited_result_naming_the_field(saved, tmp_path, field, value, problem):
    folder = edited(saved, tmp_path, setter(field, value))
    result = invoke("report", folder)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"error: {folder / 'result.json'}: {field}: {problem}\n"), result.stderr
    assert "re-run hiprom analyze" in result.stderr
    assert not (folder / "report.html").exists()


def test_report_refuses_a_landmarks_file_from_another_clip(saved, tmp_path):
    other = analyze_landmarks(series_from_body(RIGHT[:-1]).replace(source="other.mp4"), Config())
    other_folder = other.save(tmp_path / "other_hiprom", plot=False)
    folder = Path(shutil.copytree(saved, tmp_path / "mixed"))
    shutil.copy(other_folder / "landmarks.npz", folder / "landmarks.npz")
    result = invoke("report", folder)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.startswith(f"error: {folder / 'landmarks.npz'}: belongs to another clip: its path is "
                                    "'other.mp4' but result.json says input.path = 'visit.mp4'\n"), result.stderr
    assert not (folder / "report.html").exists()


def test_history_and_batch_read_through_the_same_validator(saved, tmp_path):
    from hiprom.apps.batch.summary import _result_json
    from hiprom.outputs.history import History

    folder = edited(saved, tmp_path, setter("sides.right.peak_ir_deg", float("nan")))
    expected = (f"{folder / 'result.json'}: sides.right.peak_ir_deg: expected a number from -90 to 90° (or null), "
                "got nan")
    with History(tmp_path / "h.sqlite") as hist, pytest.raises(InputError) as info:
        hist.add(folder, "P-1")
    assert str(info.value).startswith(expected)
    with History(tmp_path / "h.sqlite") as hist, pytest.raises(InputError, match="peak_ir_deg: expected a number"):
        hist.add(json.loads((folder / "result.json").read_text()), "P-1")
    data, why = _result_json(folder)
    assert data is None and why.startswith(expected)
    assert _result_json(saved)[0]["sides"]["right"]["peak_ir_deg"] == pytest.approx(38.0, abs=0.3)


def test_read_result_accepts_the_folder_or_the_file_and_refuses_non_json(saved, tmp_path):
    assert read_result(saved) == read_result(saved / "result.json")
    (tmp_path / "result.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(InputError, match="is not valid JSON"):
        read_result(tmp_path)
    assert np.isfinite(read_result(saved)["sides"]["right"]["peak_ir_deg"])
