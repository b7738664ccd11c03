"""Photos (:mod:`hiprom.interpret.photo`): a photo and its mirror reading are averaged, a leg
is tested only when clearly displaced from hanging, the other leg is resting."""

from __future__ import annotations

import numpy as np
import pytest

from hiprom.config import Config
from hiprom.core.landmarks import N_LANDMARKS, LandmarkSeries
from hiprom.core.measurement import Quality, SideAngles
from hiprom.interpret.photo import measure_photo_side, photo_readings


def pair_series(frame_index) -> LandmarkSeries:
    n = len(frame_index)
    img = np.zeros((n, N_LANDMARKS, 3))
    vis = np.ones((n, N_LANDMARKS))
    return LandmarkSeries(img, vis, vis.copy(), img.copy(), np.arange(n, dtype=float), np.asarray(frame_index),
                          (720, 1280))


def angles(raw, visibility=None) -> SideAngles:
    raw = np.asarray(raw, float)
    n = len(raw)
    vis = np.ones(n) if visibility is None else np.asarray(visibility, float)
    z = np.zeros(n, bool)
    return SideAngles("right", raw, raw.copy(), vis, ~z, z, raw.copy(), raw.copy(), raw.copy(), ~z, 0.0, 3.0, 0)


def test_a_photo_and_its_mirror_reading_are_averaged_with_half_their_difference_as_spread():
    r = photo_readings(pair_series([0, 0, 1, 1]), angles([40.0, 37.0, -3.0, -5.0]), 0.5)
    np.testing.assert_allclose(r.angle_deg, [38.5, -4.0])
    np.testing.assert_allclose(r.spread_deg, [1.5, 1.0])
    np.testing.assert_array_equal(r.frame_index, [0, 1])


def test_a_reading_not_seen_in_the_mirror_has_no_spread():
    r = photo_readings(pair_series([0, 0]), angles([40.0, 30.0], visibility=[0.9, 0.2]), 0.5)
    assert r.angle_deg.tolist() == [40.0] and np.isnan(r.spread_deg[0])


@pytest.mark.parametrize("reading, tested, peak_ir, peak_er, rest", [
    (38.5, True, 38.5, None, None),      # clearly out: IR
    (-25.0, True, None, 25.0, None),     # clearly in: ER
    (-7.9, False, None, None, -7.9),     # a shank hanging with the foot towards the midline: resting
    (11.9, False, None, None, 11.9),     # within 12° of vertical: resting
    (12.0, True, 12.0, None, None),
])
def test_a_leg_is_tested_only_when_clearly_displaced(reading, tested, peak_ir, peak_er, rest):
    r = photo_readings(pair_series([3, 3]), angles([reading, reading]), 0.5)
    res = measure_photo_side(r, "right", Quality(1.0, "good"), Config(), np.array([1.2]), {})
    assert res.tested is tested
    assert res.peak_ir_deg == (pytest.approx(peak_ir) if peak_ir is not None else None)
    assert res.peak_er_deg == (pytest.approx(peak_er) if peak_er is not None else None)
    assert res.rest_deg == (pytest.approx(rest) if rest is not None else None)
    if tested:
        assert res.peak_ir_frame == (3 if peak_ir else None) and res.peak_er_frame == (3 if peak_er else None)
        assert (res.peak_ir_uncertainty_deg or res.peak_er_uncertainty_deg) == pytest.approx(1.2)
