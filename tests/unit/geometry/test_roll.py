"""Camera roll of a clip from scene-line samples and the hip line (hiprom.geometry.roll)."""

from __future__ import annotations

import numpy as np
import pytest

from hiprom.core.capture import Capture, SceneLine
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries
from hiprom.geometry.roll import RollEstimate, estimate_roll, weighted_median

FPS = 30.0
RIGHT_HIP_PX = np.array([540.0, 700.0])    # subject's right hip: image left in a front view
#: Exact arithmetic apart from atan2 / cos / sin rounding.
EPS = 1e-9


def hip_series(tilts_deg, *, width_px=200.0, vis=1.0, scene_lines=None, hand_held=None,
               frame_index=None, back_view=False) -> LandmarkSeries:
    """Hips only, the hip line tilted by ``tilts_deg[t]`` (+ = right end lower, y down).

    ``width_px`` and ``vis`` are scalars or per-frame arrays; a NaN tilt = no pose that frame.
    ``back_view`` puts the subject's left hip on the image left (seen from behind).
    """
    tilts = np.asarray(tilts_deg, float)
    n = len(tilts)
    width = np.broadcast_to(np.asarray(width_px, float), (n,))
    a = np.radians(tilts)
    other = RIGHT_HIP_PX + width[:, None] * np.stack([np.cos(a), np.sin(a)], axis=1)
    img = np.zeros((n, N_LANDMARKS, 3))
    near, far = (LM.LEFT_HIP, LM.RIGHT_HIP) if back_view else (LM.RIGHT_HIP, LM.LEFT_HIP)
    img[:, near, :2] = RIGHT_HIP_PX
    img[:, far, :2] = other
    img[np.isnan(tilts)] = np.nan
    visibility = np.broadcast_to(np.asarray(vis, float)[..., None], (n, N_LANDMARKS)).copy()
    frames = np.arange(n) if frame_index is None else np.asarray(frame_index)
    return LandmarkSeries(img, visibility, visibility.copy(), np.zeros_like(img), np.arange(n) / FPS,
                          frames, (1280, 720), source="synthetic", capture=Capture(hand_held=bool(hand_held)),
                          scene_lines=tuple(scene_lines or ()))


def line(frame: int, roll_deg: float, support: float = 0.8, length_px: float = 1000.0) -> SceneLine:
    """One scene-line sample as the recorder stores it."""
    return SceneLine(frame, roll_deg, support, length_px)


# -- weighted_median ----------------------------------------------------------------------
# Definition checked: the smallest value whose cumulative weight (values sorted) reaches
# half the total weight (the lower weighted median).
@pytest.mark.parametrize(("values", "weights", "expected"), [
    ([1.0, 2.0, 3.0], [1, 1, 1], 2.0),               # cum 1,2,3 ≥ 1.5 first at 2
    ([3.0, 1.0, 2.0], [1, 1, 1], 2.0),               # order of input does not matter
    ([1.0, 2.0, 3.0], [1, 1, 5], 3.0),               # cum 1,2,7 ≥ 3.5 first at 3
    ([5.0, -4.0, 0.5, 9.0], [2, 3, 1, 1], 0.5),      # sorted -4,0.5,5,9 cum 3,4,6,7 ≥ 3.5 at 0.5
    ([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], 2.0),       # even count: the lower middle (cum 2 = half)
    ([1.0, np.nan, 3.0, 2.0], [1, 50, 1, 1], 2.0),   # NaN value ignored, with its weight
    ([1.0, 2.0, 100.0], [1, 1, 0], 1.0),             # zero weight ignored: cum 1,2 ≥ 1 at 1
    ([7.25], [0.3], 7.25),
])
def test_weighted_median_hand_computed(values, weights, expected):
    assert weighted_median(np.array(values), np.array(weights, float)) == expected


@pytest.mark.parametrize("values, weights", [([np.nan, np.nan], [1.0, 1.0]), ([1.0, 2.0], [0.0, 0.0]),
                                             ([], [])])
def test_weighted_median_of_nothing_usable_is_nan(values, weights):
    assert np.isnan(weighted_median(np.array(values, float), np.array(weights, float)))


def test_weighted_median_equal_weights_is_the_median_of_an_odd_count():
    v = np.random.default_rng(3).normal(size=101)
    assert weighted_median(v, np.ones_like(v)) == np.median(v)


# -- body cue: the hip line ----------------------------------------------------------------
def test_level_scene_lines_absent_hip_line_gives_the_roll():
    est = estimate_roll(hip_series([3.0] * 10))
    assert est.roll_deg == pytest.approx(3.0, abs=EPS)
    assert est.body_deg == pytest.approx(3.0, abs=EPS)
    assert est.scene_deg is None
    assert est.spread_deg == pytest.approx(0.0, abs=EPS)
    assert est.source.startswith("hip line") and "no level lines" in est.source
    assert est.per_frame_deg is None and est.value == est.roll_deg


def test_hip_line_sign_and_view_independence():
    # right end lower = clockwise = positive; seen from behind (hips swapped) the same line
    assert estimate_roll(hip_series([-2.5] * 5)).roll_deg == pytest.approx(-2.5, abs=EPS)
    assert estimate_roll(hip_series([-2.5] * 5, back_view=True)).roll_deg == pytest.approx(-2.5, abs=EPS)


def test_hip_line_is_the_width_weighted_median_with_mad_spread():
    # tilts 1, 2, 6 weighted by hip widths 300, 100, 100: cum 300 ≥ 250 at 1 (plain median: 2)
    est = estimate_roll(hip_series([1.0, 2.0, 6.0], width_px=[300.0, 100.0, 100.0]))
    assert est.body_deg == pytest.approx(1.0, abs=EPS)
    # spread = 1.4826 · median |tilt - 1| = 1.4826 · median(0, 1, 5) = 1.4826
    assert est.spread_deg == pytest.approx(1.4826, abs=1e-6)


def test_hip_line_spread_is_scaled_mad():
    est = estimate_roll(hip_series([0.0, 1.0, 2.0, 3.0, 10.0]))
    assert est.body_deg == pytest.approx(2.0, abs=EPS)
    assert est.spread_deg == pytest.approx(1.4826 * 1.0, abs=1e-6)    # |dev| 2,1,0,1,8 → median 1


def test_hips_below_min_visibility_or_missing_are_not_used():
    tilts = [2.0, 40.0, 40.0, np.nan, np.nan]           # two bad-visibility frames, two without a pose
    vis = [1.0, 0.3, 0.3, 1.0, 1.0]
    assert estimate_roll(hip_series(tilts, vis=vis)).body_deg == pytest.approx(2.0, abs=EPS)
    # with the threshold lowered they count: median of 2, 40, 40 = 40
    assert estimate_roll(hip_series(tilts, vis=vis), min_visibility=0.2).body_deg == pytest.approx(40.0, abs=EPS)


def test_one_hip_poorly_seen_drops_the_frame():
    s = hip_series([2.0, 30.0, 30.0])
    vis = s.visibility.copy()
    vis[1:, LM.LEFT_HIP] = 0.1                           # only the other hip is well seen there
    assert estimate_roll(s.replace(visibility=vis)).body_deg == pytest.approx(2.0, abs=EPS)


# -- scene cue and the decision rules -------------------------------------------------------
def test_fixed_roll_overrides_both_cues():
    s = hip_series([3.0] * 5, scene_lines=[line(0, 6.0), line(2, 6.0), line(4, 6.0)], hand_held=True)
    for fixed in (1.5, 0.0, -7):                         # 0 (switch the correction off) is not "unset"
        est = estimate_roll(s, fixed)
        assert est.roll_deg == fixed and isinstance(est.roll_deg, float)
        assert est.source.startswith("fixed")
        assert est.body_deg is None and est.scene_deg is None and est.per_frame_deg is None
        assert est.value == fixed


def test_scene_consensus_wins_over_a_disagreeing_hip_line():
    # all samples at 4°, support 0.8 ≥ 0.5: used even 3° away from the hips (> agree_deg 2)
    s = hip_series([1.0] * 6, scene_lines=[line(f, 4.0, support=0.8) for f in (0, 2, 4)])
    est = estimate_roll(s)
    assert est.roll_deg == pytest.approx(4.0, abs=EPS)
    assert est.scene_deg == pytest.approx(4.0, abs=EPS) and est.body_deg == pytest.approx(1.0, abs=EPS)
    assert est.source.startswith("scene lines") and "80%" in est.source
    assert est.per_frame_deg is None                     # fixed camera (no hand-held flag)


def test_scene_value_is_the_length_weighted_median_of_the_samples():
    # rolls 2.0, 2.1, 9.0 with lengths 600, 100, 150: cum 600 ≥ 425 already at 2.0 (plain median: 2.1)
    samples = [line(0, 9.0, length_px=150.0), line(1, 2.1, length_px=100.0), line(2, 2.0, length_px=600.0)]
    est = estimate_roll(hip_series([2.0] * 3, scene_lines=samples))
    assert est.roll_deg == pytest.approx(2.0, abs=EPS)


def test_weak_samples_are_ignored_for_value_and_support():
    # support 0.2 < 0.3: the 10° samples are dropped; kept supports 0.45, 0.55, 0.6 → median 0.55
    samples = [line(0, 10.0, support=0.2, length_px=5000.0), line(1, 10.0, support=0.2, length_px=5000.0),
               line(2, 3.0, support=0.45), line(3, 3.0, support=0.55), line(4, 3.0, support=0.6)]
    est = estimate_roll(hip_series([-1.0] * 5, scene_lines=samples))
    assert est.roll_deg == pytest.approx(3.0, abs=EPS)          # consensus: 4° from the hips, still used
    assert "55%" in est.source


def test_only_weak_samples_count_as_no_scene():
    samples = [line(0, 10.0, support=0.29), line(1, 10.0, support=0.1)]
    est = estimate_roll(hip_series([1.5] * 3, scene_lines=samples))
    assert est.scene_deg is None
    assert est.roll_deg == pytest.approx(1.5, abs=EPS) and "no level lines" in est.source


def test_minority_scene_lines_agreeing_with_the_hips_are_used():
    # support median 0.4 < 0.5 (no consensus) but 2.5 is within 2° of the hips' 1.0
    s = hip_series([1.0] * 4, scene_lines=[line(f, 2.5, support=0.4) for f in range(3)])
    est = estimate_roll(s)
    assert est.roll_deg == pytest.approx(2.5, abs=EPS)
    assert est.source == "scene lines (agree with the hip line)"
    assert est.body_deg == pytest.approx(1.0, abs=EPS)


def test_minority_scene_lines_disagreeing_with_the_hips_give_the_hip_line():
    # receding lines at 8° backed by 40% of the line length, hips at 1°: hips used, reason given
    s = hip_series([1.0] * 4, scene_lines=[line(f, 8.0, support=0.4) for f in range(3)])
    est = estimate_roll(s)
    assert est.roll_deg == pytest.approx(1.0, abs=EPS)
    assert est.source.startswith("hip line") and "disagree" in est.source and "+8.0°" in est.source
    assert est.scene_deg == pytest.approx(8.0, abs=EPS)


def test_agree_deg_sets_the_agreement_window():
    s = hip_series([1.0] * 4, scene_lines=[line(f, 2.5, support=0.4) for f in range(3)])    # 1.5° apart
    assert estimate_roll(s, agree_deg=1.0).roll_deg == pytest.approx(1.0, abs=EPS)        # hips
    assert estimate_roll(s, agree_deg=3.0).roll_deg == pytest.approx(2.5, abs=EPS)        # scene


def test_hips_unseen_minority_scene_lines_are_used():
    s = hip_series([2.0] * 4, vis=0.1, scene_lines=[line(f, -3.0, support=0.35) for f in range(3)])
    est = estimate_roll(s)
    assert est.roll_deg == pytest.approx(-3.0, abs=EPS)
    assert est.body_deg is None and est.spread_deg is None
    assert "hips not seen" in est.source


def test_no_cue_at_all_assumes_a_level_camera():
    est = estimate_roll(hip_series([np.nan] * 4, scene_lines=[]))
    assert est.roll_deg == 0.0
    assert est.source.startswith("none")
    assert est.body_deg is None and est.scene_deg is None


# -- hand-held camera: roll followed frame by frame -----------------------------------------
def _swaying_roll(frames: np.ndarray) -> np.ndarray:
    """A hand-held camera's roll: 1° ± 3° with a 60-frame period."""
    return 1.0 + 3.0 * np.sin(2 * np.pi * frames / 60.0)


def test_hand_held_roll_follows_the_per_frame_tilt():
    frame_index = np.arange(100, 191)                     # a clip starting at source frame 100
    searched = frame_index[::3]                           # every third frame, first and last included
    samples = [line(int(f), float(_swaying_roll(f))) for f in searched]
    samples = samples[1::2] + samples[::2]                # stored out of order: must be sorted
    s = hip_series(np.zeros(len(frame_index)), scene_lines=samples, hand_held=True, frame_index=frame_index)
    est = estimate_roll(s)
    assert est.per_frame_deg.shape == (len(frame_index),)
    # linear interpolation between samples 3 frames apart errs by at most
    # max|f''|·h²/8 = 3·(2π/60)²·9/8 ≈ 0.037°
    bound = 3.0 * (2 * np.pi / 60.0) ** 2 * 9 / 8
    assert np.max(np.abs(est.per_frame_deg - _swaying_roll(frame_index))) <= bound + EPS
    # at the searched frames themselves interpolation is exact
    at = np.searchsorted(frame_index, searched)
    np.testing.assert_allclose(est.per_frame_deg[at], _swaying_roll(searched), atol=EPS)
    assert "hand-held" in est.source
    assert est.value is est.per_frame_deg
    # the single value is still the median of the (equal-length) samples: 31 samples, odd count
    assert est.roll_deg == pytest.approx(np.median(_swaying_roll(searched)), abs=EPS)


def test_hand_held_holds_the_end_values_outside_the_searched_frames():
    samples = [line(f, r) for f, r in ((3, 1.0), (6, 2.0), (9, 4.0))]
    s = hip_series(np.zeros(13), scene_lines=samples, hand_held=True)
    expected = [1.0] * 4 + [1 + 1 / 3, 1 + 2 / 3, 2.0, 2 + 2 / 3, 2 + 4 / 3, 4.0] + [4.0] * 3
    np.testing.assert_allclose(estimate_roll(s).per_frame_deg, expected, atol=EPS)


def test_hand_held_needs_three_good_samples():
    samples = [line(0, 1.0), line(5, 3.0), line(9, 5.0, support=0.2)]     # only 2 with support ≥ 0.3
    est = estimate_roll(hip_series(np.zeros(10), scene_lines=samples, hand_held=True))
    assert est.per_frame_deg is None
    assert est.value == est.roll_deg == 1.0          # lengths equal: cum 1000, 2000 ≥ 1000 at 1.0
    assert "hand-held" not in est.source


@pytest.mark.parametrize("hand_held", [None, False])
def test_fixed_camera_gets_one_roll_even_if_samples_vary(hand_held):
    samples = [line(f, r) for f, r in ((0, 1.0), (4, 2.0), (8, 3.0))]
    est = estimate_roll(hip_series(np.zeros(10), scene_lines=samples, hand_held=hand_held))
    assert est.per_frame_deg is None and est.value == est.roll_deg == 2.0


# -- report ----------------------------------------------------------------------------------
def test_to_dict_rounds_and_reports_the_per_frame_range():
    single = RollEstimate(1.23456, "hip line (x)", body_deg=1.23456, scene_deg=float("nan"), spread_deg=None)
    assert single.to_dict() == {"roll_deg": 1.23, "roll_source": "hip line (x)", "body_roll_deg": 1.23,
                                "scene_roll_deg": None, "body_roll_spread_deg": None, "roll_per_frame": False}
    per = RollEstimate(0.5, "scene", per_frame_deg=np.array([-1.2371, 0.5, np.nan, 2.4529]))
    d = per.to_dict()
    assert d["roll_per_frame"] is True
    assert d["roll_range_deg"] == [-1.24, 2.45]
