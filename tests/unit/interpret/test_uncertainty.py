"""Per-reading uncertainty (:mod:`hiprom.interpret.uncertainty`) and the quality it sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hiprom.config import QualitySettings
from hiprom.core.measurement import BLOCKING, MAJOR, MINOR, RollEstimate, SideAngles
from hiprom.interpret.quality import assess_side
from hiprom.interpret.uncertainty import (
    EXPLAIN,
    METHOD_SD_DEG,
    ReadingFacts,
    explain,
    hold_facts,
    reading_uncertainty,
    rest_disagreement_deg,
    roll_kind,
)


def test_a_clean_held_reading_is_twice_the_method_and_roll_error_in_quadrature():
    u, parts = reading_uncertainty(ReadingFacts(hold_s=1.0, roll_source="scene"))
    assert u == pytest.approx(2 * math.hypot(METHOD_SD_DEG, 0.3))
    assert parts["source"] == 0.0 and parts["axes"] == 0.0 and parts["photo"] == 0.0


@pytest.mark.parametrize("facts, part, sd", [
    (ReadingFacts(landmark_share=1.0), "source", 3.0),               # the whole hold from the landmarks
    (ReadingFacts(landmark_share=0.5), "source", 1.5),
    (ReadingFacts(rest_disagreement_deg=-7.0), "axes", 4.0),         # beyond 3° of agreement, in full
    (ReadingFacts(rest_disagreement_deg=2.5), "axes", 0.0),
    (ReadingFacts(hold_disagreement_deg=4.9), "axes", 0.0),          # the renders' window: -3 to +7
    (ReadingFacts(hold_disagreement_deg=9.0), "axes", 2.0),
    (ReadingFacts(hold_disagreement_deg=-5.0), "axes", 2.0),         # the outline reads less than the points
    (ReadingFacts(rest_disagreement_deg=-7.0, hold_disagreement_deg=10.0), "axes", 5.0),   # hypot(4, 3)
    (ReadingFacts(outside_share=1.0), "frame", 5.5),                 # the foot out of the picture: withheld
    (ReadingFacts(outside_share=0.2), "frame", 1.1),
    (ReadingFacts(yaw_deg=-20.0), "view", 0.6),
    (ReadingFacts(photo_spread_deg=2.5), "photo", 2.5),
    (ReadingFacts(hold_range_deg=math.sqrt(12.0)), "hold", 1.0),
    (ReadingFacts(jitter_deg=3.0, hold_s=0.5, cutoff_hz=3.0), "noise", 3.0 / math.sqrt(3.0)),
    (ReadingFacts(roll_source="hip"), "roll", 1.0),
    (ReadingFacts(roll_source="none"), "roll", 2.0),
])
def test_each_source_adds_its_standard_deviation(facts, part, sd):
    u, parts = reading_uncertainty(facts)
    assert parts[part] == pytest.approx(sd)
    assert u == pytest.approx(2 * math.sqrt(sum(v * v for v in parts.values())))


def test_nan_facts_count_as_nothing_known_to_be_wrong():
    u, parts = reading_uncertainty(ReadingFacts(jitter_deg=float("nan"), yaw_deg=float("nan")))
    assert np.isfinite(u) and parts["noise"] == 0.0 and parts["view"] == 0.0


def test_the_largest_source_explains_the_reading():
    _, parts = reading_uncertainty(ReadingFacts(landmark_share=1.0, yaw_deg=10.0))
    assert explain(parts) == EXPLAIN["source"]


@pytest.mark.parametrize("source, kind", [("scene lines (81% agree)", "scene"), ("hip line (no level lines)", "hip"),
                                          ("fixed (from the settings)", "fixed"), ("none: assumed level", "none")])
def test_roll_kind(source, kind):
    assert roll_kind(source) == kind


def side_angles(raw, landmark, from_sil) -> SideAngles:
    raw, landmark = np.asarray(raw, float), np.asarray(landmark, float)
    n = len(raw)
    ones = np.ones(n, bool)
    return SideAngles("left", raw, raw.copy(), np.ones(n), ones, ~ones, raw.copy(), raw.copy(), landmark,
                      np.asarray(from_sil, bool), 0.2, 3.0, 0)


def test_rest_disagreement_is_the_median_over_rest_frames_with_both_axes():
    a = side_angles([1.0, 1.0, 1.0, 1.0, 30.0], [5.0, 6.0, 5.5, 1.0, 28.0], [True, True, True, False, True])
    assert rest_disagreement_deg(a, slice(0, 4)) == pytest.approx(-4.5)
    assert rest_disagreement_deg(a, slice(0, 2)) == 0.0          # fewer than 3 frames: unknown
    assert rest_disagreement_deg(a, None) == 0.0


def test_hold_facts_take_the_hold_frames():
    a = side_angles([0, 0, 0, 0, 30, 31, 32, 30], [0] * 4 + [27] * 4, [True] * 5 + [False] * 3)
    f = hold_facts(a, slice(4, 8), 0.8, rest=slice(0, 4), yaw_deg=5.0, roll=RollEstimate(0.0, "hip line"))
    assert f.hold_range_deg == pytest.approx(2.0) and f.landmark_share == pytest.approx(0.75)
    assert f.yaw_deg == 5.0 and f.roll_source == "hip" and f.hold_s == 0.8
    assert f.hold_disagreement_deg == pytest.approx(3.0)      # silhouette 30 vs landmarks 27 where both


@pytest.mark.parametrize("u, factor, withheld", [(2.9, None, False), (3.1, MINOR, False), (6.5, MAJOR, False),
                                                 (10.5, BLOCKING, True)])
def test_quality_follows_the_reading_uncertainty(u, factor, withheld):
    q = assess_side("left", detected_fraction=1.0, leg_visibility=0.95, roll_deg=0.0, yaw_deg=0.0,
                    view_solved=True, tested=True, rest_found=True, jitter_deg=0.1, excursions=[], n_frames=100,
                    settings=QualitySettings(), uncertainty=(u, "the reason"))
    if factor is None:
        assert q.reasons == () and q.level == "good"
    else:
        assert q.score == round(factor, 2) and q.withheld is withheld
        assert q.reasons[0].startswith("the left reading is ") and q.reasons[0].endswith(": the reason")
        assert q.level != "good"
