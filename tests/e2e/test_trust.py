"""Trust at the edges, end to end on ../shared/bench: clothes, shoes, hard light, an examiner,
a low-quality clip and photos. Each reading is within a few degrees of the truth or says it
is not (its uncertainty and quality), and a photo reads the same mirrored.

Each file is detected once per test run (``landmarks``, tests/e2e/conftest.py).

Goals (the issue's, per bench set): MAE ≤ 1.0°, |bias| ≤ 0.5°, no reading more than 3° off
rated "good", at most one reading withheld.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hiprom.errors import NoTestError

pytestmark = [pytest.mark.shared, pytest.mark.model, pytest.mark.slow]

#: A leg of a photo is a test reading when its true angle is this far from vertical.
STILL_TESTED_DEG = 12.0


@pytest.fixture(scope="module")
def realism(shared_dir: Path) -> tuple[Path, dict]:
    root = shared_dir / "bench" / "realism"
    return root, json.loads((root / "gt.json").read_text())


def readings(root: Path, gt: dict, landmarks) -> list[dict]:
    """Every reading of a bench set: truth, value, uncertainty, quality (each file detected once per run)."""
    out = []
    for name, rec in gt["clips"].items():
        if "no_test" in rec.get("tags", ()):
            continue
        result = landmarks.analyze(root / rec["file"])
        for side in ("right", "left"):
            truth, got = rec["summary"][side], result.sides[side]
            for kind in ("ir", "er"):
                if truth["tested"] and truth[f"peak_{kind}_deg"] is not None:
                    out.append({"item": name, "side": side, "kind": kind,
                                "true": abs(truth[f"peak_{kind}_deg"]), "meas": getattr(got, f"peak_{kind}_deg"),
                                "unc": getattr(got, f"peak_{kind}_uncertainty_deg"), "quality": got.quality.level})
    for name, rec in gt["stills"].items():
        result = landmarks.analyze(root / rec["file"])
        for side in ("right", "left"):
            true = rec[f"{side}_ir_deg"]
            if abs(true) >= STILL_TESTED_DEG:
                kind = "ir" if true > 0 else "er"
                got = result.sides[side]
                out.append({"item": name, "side": side, "kind": kind, "true": abs(true),
                            "meas": getattr(got, f"peak_{kind}_deg"),
                            "unc": getattr(got, f"peak_{kind}_uncertainty_deg"), "quality": got.quality.level})
    return out


@pytest.fixture(scope="module")
def realism_readings(realism, landmarks) -> list[dict]:
    return readings(*realism, landmarks)


def test_realism_set_meets_the_accuracy_goals(realism_readings: list[dict]) -> None:
    measured = [r for r in realism_readings if r["meas"] is not None]
    withheld = [f"{r['item']} {r['side']} {r['kind']}" for r in realism_readings if r["meas"] is None]
    errors = np.array([r["meas"] - r["true"] for r in measured])
    off_good = [f"{r['item']} {r['side']} {r['kind']}: {r['meas'] - r['true']:+.2f}°" for r in measured
                if abs(r["meas"] - r["true"]) > 3.0 and r["quality"] == "good"]
    assert len(withheld) <= 1, withheld
    assert off_good == []
    assert np.abs(errors).mean() <= 1.0
    assert abs(errors.mean()) <= 0.5


def test_loose_sweatpants_read_within_3_degrees(realism_readings: list[dict]) -> None:
    """r08 (sweatpants and shoes, a busy wall) read 32.9° for a true 40° rated good: the wide
    trouser leg made every slice look like two legs merged, and the landmark fallback read low."""
    r08 = [r for r in realism_readings if r["item"].startswith("r08")]
    assert {r["kind"] for r in r08} == {"ir", "er"}
    for r in r08:
        assert abs(r["meas"] - r["true"]) <= 3.0, r


def test_every_reading_carries_an_uncertainty_that_mostly_covers_its_error(realism_readings: list[dict]) -> None:
    measured = [r for r in realism_readings if r["meas"] is not None]
    assert all(r["unc"] is not None and 0.5 <= r["unc"] <= 20.0 for r in measured)
    covered = np.mean([abs(r["meas"] - r["true"]) <= r["unc"] for r in measured])
    assert covered >= 0.85


def test_an_examiner_beside_the_subject_is_never_measured(realism, landmarks) -> None:
    root, gt = realism
    for name in ("r04_woman_examiner_right_R42", "r05_man_jeans_examiner_left_L35"):
        result = landmarks.analyze(root / gt["clips"][name]["file"])
        hips = np.array(result.series.person.position_px)
        truth = gt["clips"][name]["frames"][0]["joints_2d"]
        true_hips = (np.array(truth["hip_L"]) + np.array(truth["hip_R"])) / 2
        assert np.linalg.norm(hips - true_hips) < 40.0, name      # the seated subject's hips


def test_a_photo_reads_the_same_mirrored_and_its_resting_leg_is_not_a_reading(
        realism, landmarks, tmp_path: Path) -> None:
    root, gt = realism
    rec = gt["stills"]["rs01_man_jeans_R44"]
    photo = root / rec["file"]
    mirrored = tmp_path / "mirrored.png"
    cv2.imwrite(str(mirrored), cv2.flip(cv2.imread(str(photo)), 1))
    a = landmarks.analyze(photo)
    b = landmarks.analyze(mirrored)
    # in the mirror image the displaced leg is the subject's left
    assert a.sides["right"].peak_ir_deg == pytest.approx(44.0, abs=2.0)
    assert b.sides["left"].peak_ir_deg == pytest.approx(a.sides["right"].peak_ir_deg, abs=2.0)
    for resting in (a.sides["left"], b.sides["right"]):
        assert not resting.tested and resting.peak_ir_deg is None and resting.peak_er_deg is None
        assert resting.rest_deg == pytest.approx(0.0, abs=3.0)
    # the photo's own uncertainty includes the mirror reading's difference
    spread = a.sides["right"].diagnostics["mirror_spread_deg"][0]
    assert spread is not None and a.sides["right"].peak_ir_uncertainty_deg >= 2 * spread


def test_a_photo_with_both_legs_hanging_holds_no_test(realism, landmarks, tmp_path: Path) -> None:
    root, gt = realism
    clip = root / gt["clips"]["r09_man_still_no_test"]["file"]
    cap = cv2.VideoCapture(str(clip))
    ok, frame = cap.read()
    cap.release()
    assert ok
    path = tmp_path / "both_hanging.png"
    cv2.imwrite(str(path), frame)
    with pytest.raises(NoTestError, match="no test in this photo: both legs hang within 12° of vertical"):
        landmarks.analyze(path)
