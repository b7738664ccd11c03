"""Angle cleaning against synthetic seated-test series with known truth.

The series mimic the seated test: rest, a cosine-eased swing out to end range, a hold, back
to rest, the same inwards. Noise, spikes, gaps and low-visibility frames are added on known
frames, so every check compares with an exact expected value.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic_series import clip_time, eased
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import signal as sps

from hiprom.signal.filtering import (
    CleanAngle,
    SignalSettings,
    clean_angle,
    fill_short_gaps,
    hampel_mask,
    lowpass_zero_phase,
    runs,
)

#: rest 0° 1 s, ease to 40° in 1 s, hold 1 s, back, rest, ease to -30°, hold, back, rest.
SEATED_KNOTS = [(0, 0), (1, 0), (2, 40), (3, 40), (4, 0), (5, 0), (6, -30), (7, -30), (8, 0), (9, 0)]


def frames_between(t: np.ndarray, a: float, b: float) -> np.ndarray:
    return (t >= a - 1e-9) & (t < b - 1e-9)


# -- outliers, visibility, gaps ------------------------------------------------------------

def seated_spikes(fps: int) -> dict[int, float]:
    """±15° spikes at rest, on the fastest part of a ramp, in both holds, on the way back."""
    return {int(0.5 * fps): 15.0, int(1.5 * fps): -15.0, int(2.5 * fps): 15.0,
            int(3.5 * fps): 15.0, int(6.5 * fps): -15.0, int(8.5 * fps): -15.0}


@pytest.mark.parametrize("fps", [30, 60])
def test_isolated_spikes_are_exactly_the_outliers(fps):
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    raw = truth.copy()
    spikes = seated_spikes(fps)
    for i, d in spikes.items():
        raw[i] += d
    clean = clean_angle(t, raw, np.ones(t.size))
    assert np.flatnonzero(~clean.valid).tolist() == sorted(spikes)
    assert clean.n_outliers == len(spikes)
    assert clean.n_low_visibility == 0
    assert np.flatnonzero(clean.filled).tolist() == sorted(spikes)
    # the spikes leave no mark on the filtered curve
    assert np.max(np.abs(clean.filtered_deg - truth)) < 0.3


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_isolated_spikes_found_in_noise(fps, seed):
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    rng = np.random.default_rng(seed)
    raw = truth + rng.normal(0.0, 1.0, t.size)
    spikes = seated_spikes(fps)
    for i, d in spikes.items():
        raw[i] += d
    clean = clean_angle(t, raw, np.ones(t.size))
    flagged = set(np.flatnonzero(~clean.valid).tolist())
    assert set(spikes) <= flagged
    # σ = 1° noise may cost a frame or two at the corners of a ramp, never a real sample far
    # from the truth... and nothing else
    extra = sorted(flagged - set(spikes))
    assert len(extra) <= 2
    assert all(abs(raw[i] - truth[i]) < 4.5 for i in extra)
    for i in spikes:
        assert abs(clean.filtered_deg[i] - truth[i]) < 1.5


def test_hampel_mask_on_clean_ramp_flags_only_the_spike():
    t = clip_time(30, 3.0)
    x = eased(t, [(0, 0), (1, 0), (2, 40), (3, 40)])
    x[45] += 8.0   # mid-ramp, on a noise-free series (MAD ~ 0): outlier_min_deg decides
    x[20] += 3.0   # below outlier_min_deg: kept
    mask = hampel_mask(x, window=15, threshold=4.0, min_dev=4.0)
    assert np.flatnonzero(mask).tolist() == [45]


def test_hampel_mask_ignores_nan():
    x = np.zeros(40)
    x[10:13] = np.nan
    x[30] = 20.0
    mask = hampel_mask(x, window=9, threshold=4.0, min_dev=4.0)
    assert np.flatnonzero(mask).tolist() == [30]
    assert not mask[10:13].any()


def test_low_visibility_frames_are_masked_and_counted():
    fps = 30
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    raw = truth.copy()
    vis = np.full(t.size, 0.9)
    low = [40, 41, 42, 100, 200]
    vis[low] = 0.3
    raw[low] = 80.0                 # wild values the model was unsure of
    vis[150] = np.nan               # NaN visibility counts as not visible
    raw[150] = -70.0
    raw[160] = np.nan               # not measurable: neither low-visibility nor outlier
    clean = clean_angle(t, raw, vis)
    assert clean.n_low_visibility == len(low) + 1
    assert clean.n_outliers == 0
    assert sorted(np.flatnonzero(~clean.valid)) == sorted(low + [150, 160])
    # all of them are short gaps: filled, and the curve stays on the truth
    assert sorted(np.flatnonzero(clean.filled)) == sorted(low + [150, 160])
    assert np.all(np.isfinite(clean.filtered_deg))
    assert np.max(np.abs(clean.filtered_deg - truth)) < 0.5
    # the threshold is inclusive and configurable
    strict = clean_angle(t, raw, vis, SignalSettings(min_visibility=0.95))
    assert strict.valid.sum() == 0 and strict.n_low_visibility == int(np.isfinite(raw).sum())


@pytest.mark.parametrize("fps", [30, 60])
def test_short_gap_filled_long_gap_stays_empty(fps):
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    rng = np.random.default_rng(7)
    raw = truth + rng.normal(0.0, 1.0, t.size)
    short = np.arange(int(2.5 * fps), int(2.5 * fps) + 3)        # 3 frames in the IR hold
    long_ = np.flatnonzero(frames_between(t, 5.0, 6.0))           # 1 s on the ER ramp
    raw[short] = np.nan
    raw[long_] = np.nan
    clean = clean_angle(t, raw, np.ones(t.size))
    assert np.flatnonzero(clean.filled).tolist() == short.tolist()
    assert not clean.valid[short].any() and not clean.valid[long_].any()
    assert np.all(np.isfinite(clean.filtered_deg[short]))
    assert np.all(np.abs(clean.filtered_deg[short] - 40.0) < 1.5)
    # the long gap stays NaN, exactly, and nothing else does
    assert np.flatnonzero(~np.isfinite(clean.filtered_deg)).tolist() == long_.tolist()


def test_fill_short_gaps_limits_and_edges():
    t = np.arange(20) / 10.0                       # 10 fps
    x = 2.0 * t + 1.0
    x[[0, 1]] = np.nan                             # leading: no data before, not filled
    x[5:8] = np.nan                                # span 0.4 s between neighbours
    x[12:16] = np.nan                              # span 0.5 s
    x[19] = np.nan                                 # trailing
    out, filled = fill_short_gaps(t, x, max_gap_s=0.4)
    assert np.flatnonzero(filled).tolist() == [5, 6, 7]
    np.testing.assert_allclose(out[5:8], 2.0 * t[5:8] + 1.0)
    assert np.isnan(out[[0, 1, 12, 13, 14, 15, 19]]).all()
    out2, filled2 = fill_short_gaps(t, x, max_gap_s=0.5)
    assert np.flatnonzero(filled2).tolist() == [5, 6, 7, 12, 13, 14, 15]
    assert np.isnan(x[5])                          # the input is not modified


# -- the filter keeps levels and peaks -------------------------------------------------------

@pytest.mark.parametrize("fps", [30, 60])
def test_hold_level_kept_exactly_without_noise(fps):
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    raw = truth.copy()
    for i, d in seated_spikes(fps).items():
        raw[i] += d
    raw[int(6.2 * fps): int(6.2 * fps) + 3] = np.nan           # short gap in the ER hold
    clean = clean_angle(t, raw, np.ones(t.size))
    for (a, b), level in (((2.0, 3.0), 40.0), ((6.0, 7.0), -30.0), ((4.0, 5.0), 0.0)):
        hold = frames_between(t, a, b)
        assert np.max(np.abs(clean.filtered_deg[hold] - level)) < 0.3
        assert np.mean(clean.filtered_deg[hold]) == pytest.approx(level, abs=0.1)


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hold_level_kept_through_noise_and_spikes(fps, seed):
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    rng = np.random.default_rng(100 + seed)
    raw = truth + rng.normal(0.0, 1.0, t.size)
    for i in rng.choice(np.flatnonzero(frames_between(t, 2.1, 2.9)), 2, replace=False):
        raw[i] += 15.0
    for i in rng.choice(np.flatnonzero(frames_between(t, 6.1, 6.9)), 2, replace=False):
        raw[i] -= 15.0
    clean = clean_angle(t, raw, np.ones(t.size))
    assert clean.n_outliers >= 4
    for (a, b), level in (((2.15, 2.85), 40.0), ((6.15, 6.85), -30.0), ((4.15, 4.85), 0.0)):
        hold = frames_between(t, a, b)
        got = np.mean(clean.filtered_deg[hold])
        # the filter keeps the level of the data it was given (spikes removed) ...
        assert got == pytest.approx(np.mean(raw[hold & clean.valid]), abs=0.3)
        # ... which is the truth up to the mean of σ = 1° noise over 0.7 s
        assert got == pytest.approx(level, abs=0.6)
    # frame-to-frame noise estimate: the residual of σ = 1° noise after a 3 Hz low-pass
    assert 0.65 < clean.jitter_deg < 1.15


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("rise_s", [0.8, 1.0])
def test_sharp_peak_not_blunted_nor_shifted(fps, rise_s):
    knots = [(0, 0), (1, 0), (1 + rise_s, 40), (1 + 2 * rise_s, 0), (3 + 2 * rise_s, 0)]
    t = clip_time(fps, knots[-1][0])
    truth = eased(t, knots)
    clean = clean_angle(t, truth, np.ones(t.size))
    f = clean.filtered_deg
    true_peak = int(np.argmax(truth))
    assert f.max() == pytest.approx(40.0, abs=0.5)
    assert abs(int(np.argmax(f)) - true_peak) <= 1
    # and the same for an ER peak
    clean_er = clean_angle(t, -truth, np.ones(t.size))
    assert clean_er.filtered_deg.min() == pytest.approx(-40.0, abs=0.5)
    assert abs(int(np.argmin(clean_er.filtered_deg)) - true_peak) <= 1


@pytest.mark.parametrize("fps", [30, 60])
def test_quick_swing_peak_is_not_taken_for_an_outlier(fps):
    # a median over a long window (0.5 s) sits well below the top of a quick swing and took
    # its top frames for outliers (peak cut by ~2.7°); the default window is short enough
    knots = [(0, 0), (1, 0), (1.5, 40), (2.0, 0), (4.0, 0)]
    t = clip_time(fps, knots[-1][0])
    clean = clean_angle(t, eased(t, knots), np.ones(t.size))
    assert clean.n_outliers == 0
    assert clean.filtered_deg.max() == pytest.approx(40.0, abs=0.5)


def test_a_causal_filter_would_fail_the_peak_check():
    # guards the check above: a one-way Butterworth of the same order lags by several frames
    fps = 30
    knots = [(0, 0), (1, 0), (1.6, 40), (2.2, 0), (4.2, 0)]
    t = clip_time(fps, knots[-1][0])
    truth = eased(t, knots)
    sos = sps.butter(4, 3.0 / (fps / 2), output="sos")
    lag = int(np.argmax(sps.sosfilt(sos, truth))) - int(np.argmax(truth))
    assert lag > 1
    zero = lowpass_zero_phase(t, truth, 3.0)
    assert abs(int(np.argmax(zero)) - int(np.argmax(truth))) <= 1


@pytest.mark.parametrize("fps", [30, 60])
def test_variable_frame_rate_matches_constant(fps):
    rng = np.random.default_rng(3)
    t_cfr = clip_time(fps)
    dt = (1.0 / fps) * (1.0 + rng.uniform(-0.3, 0.3, t_cfr.size))
    t_vfr = np.concatenate([[0.0], np.cumsum(dt[:-1])])
    assert not np.allclose(np.diff(t_vfr), 1.0 / fps, rtol=0.05)     # really variable
    cfr = clean_angle(t_cfr, eased(t_cfr, SEATED_KNOTS), np.ones(t_cfr.size))
    vfr = clean_angle(t_vfr, eased(t_vfr, SEATED_KNOTS), np.ones(t_vfr.size))
    assert vfr.cutoff_hz == pytest.approx(cfr.cutoff_hz)
    inside = (t_vfr > 0.2) & (t_vfr < t_cfr[-1] - 0.2)
    same = np.interp(t_vfr, t_cfr, cfr.filtered_deg)
    assert np.max(np.abs(vfr.filtered_deg - same)[inside]) < 0.3
    assert np.max(np.abs(vfr.filtered_deg - eased(t_vfr, SEATED_KNOTS))[inside]) < 0.3
    # noisy: the hold levels agree too
    noisy = eased(t_vfr, SEATED_KNOTS) + rng.normal(0.0, 1.0, t_vfr.size)
    vfr_noisy = clean_angle(t_vfr, noisy, np.ones(t_vfr.size))
    assert np.mean(vfr_noisy.filtered_deg[frames_between(t_vfr, 2.15, 2.85)]) == pytest.approx(40.0, abs=0.3)
    assert np.mean(vfr_noisy.filtered_deg[frames_between(t_vfr, 6.15, 6.85)]) == pytest.approx(-30.0, abs=0.3)


def test_variable_frame_rate_with_gap_keeps_the_gap():
    rng = np.random.default_rng(5)
    t = np.cumsum((1.0 / 30) * (1.0 + rng.uniform(-0.3, 0.3, 270)))
    x = eased(t, SEATED_KNOTS)
    x[100:140] = np.nan
    out = lowpass_zero_phase(t, x, 3.0)
    assert np.flatnonzero(np.isnan(out)).tolist() == list(range(100, 140))
    ok = np.isfinite(out) & (np.abs(t - t[100]) > 0.3) & (np.abs(t - t[139]) > 0.3) & (t > 0.3) & (t < t[-1] - 0.3)
    assert np.max(np.abs(out - x)[ok]) < 0.3


# -- cutoff and settings ------------------------------------------------------------------------

def test_cutoff_automatic_and_capped():
    s = SignalSettings()
    assert s.cutoff_hz is None
    assert s.cutoff_for(30.0) == 3.0
    assert s.cutoff_for(60.0) == 3.0
    assert s.cutoff_for(5.0) == pytest.approx(2.0)
    fixed = SignalSettings(cutoff_hz=20.0)
    assert fixed.cutoff_for(30.0) == pytest.approx(12.0)
    assert fixed.cutoff_for(100.0) == 20.0
    assert SignalSettings(default_cutoff_hz=5.0).cutoff_for(10.0) == pytest.approx(4.0)


def test_clean_angle_reports_the_capped_cutoff_at_low_frame_rate():
    t = np.arange(50) / 5.0                             # 5 fps time-lapse
    x = eased(t, [(0, 0), (2, 0), (4, 30), (6, 30), (8, 0), (10, 0)])
    clean = clean_angle(t, x, np.ones(t.size), SignalSettings(cutoff_hz=10.0))
    assert clean.cutoff_hz == pytest.approx(2.0)
    assert np.all(np.isfinite(clean.filtered_deg))


@pytest.mark.parametrize("kwargs, match", [
    ({"min_visibility": 1.5}, "min_visibility"),
    ({"min_visibility": -0.1}, "min_visibility"),
    ({"max_gap_s": -0.1}, "max_gap_s"),
    ({"outlier_window_s": 0.0}, "outlier_window_s"),
    ({"outlier_threshold": -1.0}, "outlier_threshold"),
    ({"cutoff_hz": 0.0}, "cutoff_hz"),
    ({"cutoff_hz": -2.0}, "cutoff_hz"),
    ({"default_cutoff_hz": 0.0}, "default_cutoff_hz"),
    ({"filter_order": 3}, "filter_order"),
    ({"filter_order": 0}, "filter_order"),
])
def test_settings_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SignalSettings(**kwargs)


def test_settings_edges_are_accepted():
    SignalSettings(min_visibility=0.0, max_gap_s=0.0, filter_order=2, cutoff_hz=0.5)
    SignalSettings(min_visibility=1.0)


def test_max_gap_zero_fills_nothing():
    t = clip_time(30, 3.0)
    x = eased(t, [(0, 0), (1, 0), (2, 20), (3, 20)])
    x[40] = np.nan
    clean = clean_angle(t, x, np.ones(t.size), SignalSettings(max_gap_s=0.0))
    assert not clean.filled.any()
    assert np.flatnonzero(np.isnan(clean.filtered_deg)).tolist() == [40]


def test_short_clips_and_segments_do_not_crash():
    assert lowpass_zero_phase(np.array([0.0]), np.array([3.0]), 3.0).tolist() == [3.0]
    t = np.arange(8) / 30.0
    x = np.arange(8, dtype=float)
    np.testing.assert_array_equal(lowpass_zero_phase(t, x, 3.0), x)   # too short: as is
    clean = clean_angle(t, x, np.ones(8))
    assert isinstance(clean, CleanAngle) and clean.jitter_deg == 0.0
    assert np.isnan(clean_angle(t[:4], x[:4], np.ones(4)).jitter_deg)      # < 5 frames
    nothing = clean_angle(np.arange(30) / 30.0, np.full(30, np.nan), np.ones(30))
    assert np.isnan(nothing.filtered_deg).all() and nothing.valid.sum() == 0


# -- properties ---------------------------------------------------------------------------------

@given(hnp.arrays(bool, st.integers(0, 200)))
def test_runs_reconstruct_the_mask(mask):
    r = runs(mask)
    rebuilt = np.zeros(mask.shape, bool)
    for start, stop in r:
        assert 0 <= start < stop <= mask.size
        rebuilt[start:stop] = True
    np.testing.assert_array_equal(rebuilt, mask)
    # sorted, disjoint and maximal (a gap of at least one frame between runs)
    for (_, stop), (start, _) in zip(r, r[1:]):
        assert stop < start


@settings(max_examples=60, deadline=None)
@given(level=st.floats(-80, 80), n=st.integers(2, 400), fps=st.sampled_from([10.0, 25.0, 30.0, 60.0, 120.0]),
       cutoff=st.floats(0.5, 20.0), gap=st.integers(0, 60))
def test_filtering_a_constant_returns_the_constant(level, n, fps, cutoff, gap):
    t = np.arange(n) / fps
    x = np.full(n, level)
    if gap and n > gap + 2:
        x[n // 3: n // 3 + gap] = np.nan
    out = lowpass_zero_phase(t, x, cutoff)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    np.testing.assert_allclose(out[np.isfinite(out)], level, atol=1e-9)
    clean = clean_angle(t, x, np.ones(n))
    assert clean.n_outliers == 0
    fin = np.isfinite(clean.filtered_deg)
    np.testing.assert_allclose(clean.filtered_deg[fin], level, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(slope=st.floats(-50, 50), offset=st.floats(-40, 40),
       holes=hnp.arrays(bool, 60, elements=st.booleans()))
def test_fill_short_gaps_is_exact_on_a_line(slope, offset, holes):
    t = np.arange(60) / 30.0
    x = offset + slope * t
    y = np.where(holes, np.nan, x)
    out, filled = fill_short_gaps(t, y, max_gap_s=10.0)
    inner = np.zeros(60, bool)
    finite = np.flatnonzero(~holes)
    if finite.size:
        inner[finite[0]:finite[-1] + 1] = True
    np.testing.assert_array_equal(filled, holes & inner)
    np.testing.assert_allclose(out[inner], x[inner], atol=1e-9)


# -- frames the pose model did not see ----------------------------------------------------------

@pytest.mark.parametrize("fps", [30, 60])
def test_one_frame_in_three_the_rest_gaps(fps):
    """The pose model saw one frame in three (the others are gaps, as the measurement passes
    them): spikes on seen frames are still found, the gaps are filled from the seen frames,
    and the holds keep their level."""
    t = clip_time(fps)
    truth = eased(t, SEATED_KNOTS)
    seen = np.arange(t.size) % 3 == 0
    raw = truth.copy()
    spikes = {i: d for i, d in seated_spikes(fps).items() if seen[i]}
    assert len(spikes) >= 4
    for i, d in spikes.items():
        raw[i] += d
    clean = clean_angle(t, np.where(seen, raw, np.nan), np.ones(t.size))
    assert clean.n_low_visibility == 0
    dropped = np.flatnonzero(seen & ~clean.valid)
    # every spike is found; with 3 frames seen in the 0.2 s window, a spike on a ramp can take
    # the frame seen next to it along, nothing else
    assert set(spikes) <= set(dropped)
    assert all(min(abs(f - i) for i in spikes) <= 3 for f in dropped)
    assert np.isnan(clean.raw_deg[~seen]).all() and not clean.valid[~seen].any()
    assert clean.filled[~seen & (t > 0.1) & (t < t[-1] - 0.1)].all()
    for (a, b), level in (((2.0, 3.0), 40.0), ((6.0, 7.0), -30.0)):
        hold = frames_between(t, a, b)
        assert np.mean(clean.filtered_deg[hold]) == pytest.approx(level, abs=0.1)
    # against every frame seen (the truth on the frames skipped here): close, but for the
    # frames after the last one seen, which stay empty
    full = clean_angle(t, np.where(seen, raw, truth), np.ones(t.size))
    last = np.flatnonzero(seen)[-1]
    assert np.isnan(clean.filtered_deg[last + 1:]).all()
    assert np.max(np.abs(clean.filtered_deg[:last] - full.filtered_deg[:last])) < 1.5
