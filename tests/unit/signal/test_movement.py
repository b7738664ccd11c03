"""Phases of the seated test found in synthetic angle series with known truth.

Series are cosine-eased rest → end range → hold → rest paths, with Gaussian noise, run
through :func:`hiprom.signal.filtering.clean_angle` like the pipeline does.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic_series import clip_time, eased

from hiprom.signal.filtering import clean_angle
from hiprom.signal.movement import (
    Excursion,
    MovementSettings,
    Rep,
    find_excursions,
    find_rest,
    group_reps,
    is_tested,
)


def frame_at(t: np.ndarray, time_s: float) -> int:
    return int(np.searchsorted(t, time_s - 1e-9))


def filtered(t: np.ndarray, truth: np.ndarray, seed: int | None, sd: float = 1.0) -> np.ndarray:
    raw = truth if seed is None else truth + np.random.default_rng(seed).normal(0.0, sd, t.size)
    return clean_angle(t, raw, np.ones(t.size)).filtered_deg


def seated(offset: float = 0.0, ir: float = 40.0, er: float = -30.0):
    """Rest 1 s, ease 1 s to IR, hold 1 s, back, rest 1 s, ease to ER, hold 1 s, back, rest 1 s."""
    return [(0, offset), (1, offset), (2, offset + ir), (3, offset + ir), (4, offset),
            (5, offset), (6, offset + er), (7, offset + er), (8, offset), (9, offset)]


def band(truth: np.ndarray, peak_index: int, tol: float) -> tuple[int, int]:
    """``[start, stop)`` of the frames around ``peak_index`` within ``tol`` of the truth there."""
    start, stop = peak_index, peak_index + 1
    while start > 0 and abs(truth[start - 1] - truth[peak_index]) <= tol:
        start -= 1
    while stop < len(truth) and abs(truth[stop] - truth[peak_index]) <= tol:
        stop += 1
    return start, stop


# -- rest ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("offset", [0.0, 4.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rest_found_at_the_start(fps, offset, seed):
    t = clip_time(fps, 9.0)
    a = filtered(t, eased(t, seated(offset)), seed)
    rest = find_rest(t, a)
    assert rest is not None
    # inside the first second (noise may cut a few frames off either end), the ease out
    # starts at 1 s and is fast (> 12°/s) from 1.1 s on
    assert rest.start <= frame_at(t, 0.6)
    assert t[rest.stop - 1] <= 1.15
    assert rest.level_deg == pytest.approx(offset, abs=0.5)
    assert rest.duration_s == pytest.approx(t[rest.stop - 1] - t[rest.start])


def test_rest_exact_on_noise_free_series():
    t = clip_time(30, 9.0)
    truth = eased(t, seated(4.0))
    rest = find_rest(t, truth)
    assert rest.level_deg == pytest.approx(4.0, abs=1e-9)
    assert rest.start == 0
    # the ease reaches 12°/s (still_velocity_deg_s) a little after 1 s: exact frame from the truth
    speed = np.abs(np.gradient(truth, t))
    assert rest.stop == int(np.flatnonzero(speed >= 12.0)[0])


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [0, 1])
def test_clip_starting_in_a_hold_uses_the_later_true_rest(fps, seed):
    knots = [(0, 40), (1, 40), (2, 0), (3.5, 0), (4.5, -30), (5.5, -30), (6.5, 0), (7.5, 0)]
    t = clip_time(fps, 7.5)
    a = filtered(t, eased(t, knots), seed)
    rest = find_rest(t, a)
    assert rest.level_deg == pytest.approx(0.0, abs=0.5)
    assert 1.8 <= t[rest.start] <= 3.0 and 2.4 <= t[rest.stop - 1] <= 3.7     # true rest: 2 to 3.5 s
    excursions = find_excursions(t, a, rest.level_deg)
    assert [e.kind for e in excursions] == ["ir", "er"]      # the cut hold counts, at 40°
    assert excursions[0].value_deg == pytest.approx(40.0, abs=0.75)   # at the clip's edge
    assert excursions[1].value_deg == pytest.approx(-30.0, abs=0.5)


@pytest.mark.parametrize("kind, level", [("ir", 40.0), ("er", -35.0)])
def test_one_direction_clip_starting_in_a_hold_uses_the_later_true_rest(kind, level):
    # nothing lies between the extremes here: rest and holds are both extremes of the clip
    knots = [(0, level), (1, level), (2, 3), (3.5, 3), (4.5, level), (5.5, level), (6.5, 3), (7.5, 3)]
    t = clip_time(30, 7.5)
    a = filtered(t, eased(t, knots), 0)
    rest = find_rest(t, a)
    assert rest.level_deg == pytest.approx(3.0, abs=0.5)
    assert 1.8 <= t[rest.start] <= 3.0 and 2.4 <= t[rest.stop - 1] <= 3.7     # true rest: 2 to 3.5 s
    excursions = find_excursions(t, a, rest.level_deg)
    assert [e.kind for e in excursions] == [kind, kind]
    assert all(e.value_deg == pytest.approx(level, abs=0.5) for e in excursions)


@pytest.mark.parametrize("offset", [0.0, 4.0])
def test_one_direction_clip_starting_at_rest_keeps_the_first_rest(offset):
    knots = [(0, offset), (1, offset), (2, offset + 40), (3, offset + 40), (4, offset), (5, offset),
             (6, offset + 38), (7, offset + 38), (8, offset), (9, offset)]
    t = clip_time(30, 9.0)
    rest = find_rest(t, filtered(t, eased(t, knots), 1))
    assert rest.start <= 6 and rest.level_deg == pytest.approx(offset, abs=0.5)


def test_too_short_or_never_still_gives_no_rest():
    t = np.arange(10) / 30.0                          # 0.3 s < min_rest_s
    assert find_rest(t, np.zeros(10)) is None
    t = clip_time(30, 4.0)
    swinging = 30.0 * np.sin(2 * np.pi * 0.5 * t)     # never slower than 12°/s for 0.4 s
    assert find_rest(t, swinging) is None
    assert find_rest(t, np.full(t.size, np.nan)) is None
    # min_rest_s is the limit: 0.4 s of stillness is enough, 0.37 s is not
    t = np.arange(13) / 30.0
    assert find_rest(t, np.zeros(13)) is not None      # 12 intervals = 0.4 s
    assert find_rest(t[:12], np.zeros(12)) is None


# -- excursions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("offset", [0.0, 4.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ir_and_er_excursions_on_noisy_data(fps, offset, seed):
    t = clip_time(fps, 9.0)
    truth = eased(t, seated(offset))
    a = filtered(t, truth, seed)
    rest = find_rest(t, a)
    s = MovementSettings()
    excursions = find_excursions(t, a, rest.level_deg, s)
    assert [e.kind for e in excursions] == ["ir", "er"]
    for e, level, (h0, h1) in zip(excursions, (offset + 40.0, offset - 30.0),
                                  ((2.0, 3.0), (6.0, 7.0))):
        sign = 1.0 if e.kind == "ir" else -1.0
        true_hold = (frame_at(t, h0), frame_at(t, h1))
        # the excursion spans the swing out, the hold and the swing back
        assert e.start < frame_at(t, h0 - 0.7) and e.stop > frame_at(t, h1 + 0.7)
        assert t[e.stop - 1] - t[e.start] < 3.0
        # the peak is in the hold, at its level; being a maximum of the noise (filtered noise
        # SD ≈ 0.45° at 30 fps) it lies a little beyond, and maybe on the top of a ramp
        lo, hi = band(truth, (true_hold[0] + true_hold[1]) // 2, 1.5)
        assert lo <= e.peak_index < hi
        assert e.peak_deg == a[e.peak_index]
        assert -0.5 <= sign * (e.peak_deg - level) <= 2.0
        # the hold: the whole true hold, plus the top of the ramps within the tolerance
        # (+ noise): never beyond where the truth is 1.5° further than the tolerance
        assert e.hold_start <= true_hold[0] and e.hold_stop >= true_hold[1]
        lo, hi = band(truth, (true_hold[0] + true_hold[1]) // 2, s.hold_tolerance_deg + 1.5)
        assert lo <= e.hold_start and e.hold_stop <= hi
        assert e.has_hold
        assert e.hold_s == pytest.approx(t[e.hold_stop - 1] - t[e.hold_start])
        assert e.hold_deg == pytest.approx(np.mean(a[e.hold_start:e.hold_stop]))
        assert e.value_deg == e.hold_deg
        assert e.value_deg == pytest.approx(level, abs=0.5)


@pytest.mark.parametrize("fps", [30, 60])
def test_excursions_exact_on_noise_free_series(fps):
    t = clip_time(fps, 9.0)
    truth = eased(t, seated(4.0))
    s = MovementSettings()
    excursions = find_excursions(t, truth, 4.0, s)
    assert [e.kind for e in excursions] == ["ir", "er"]
    ir, er = excursions
    assert ir.peak_deg == pytest.approx(44.0) and er.peak_deg == pytest.approx(-26.0)
    for e in excursions:
        h0, h1 = band(truth, e.peak_index, s.hold_tolerance_deg)
        assert abs(e.hold_start - h0) <= 2 and abs(e.hold_stop - h1) <= 2
        # the excursion begins and ends where the truth crosses exit (3°) from rest
        beyond = np.abs(truth - 4.0) > s.excursion_exit_deg
        assert beyond[e.start] and not beyond[e.start - 1]
        assert beyond[e.stop - 1] and not beyond[e.stop]
    # on the clip that went through the filter, the hold is within 2 frames of the truth's
    a = filtered(t, truth, None)
    for e in find_excursions(t, a, 4.0, s):
        h0, h1 = band(truth, e.peak_index, s.hold_tolerance_deg)
        assert abs(e.hold_start - h0) <= 2 and abs(e.hold_stop - h1) <= 2


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_reps_with_different_peaks(fps, seed):
    # With σ = 1° the hold mean has its own noise (SD ≈ 0.19° at 30 fps) and sits ≈ 0.1° towards
    # rest (the top of the ramps is within the hold tolerance), so 0.5° is ~2.5 SD: fixed seeds.
    knots, at = [(0, 0), (1, 0)], 1.0
    for ir, er in ((36, -25), (40, -30), (38, -28)):
        for level in (ir, 0, er, 0):
            knots += [(at + 1, level), (at + 2, level)]
            at += 2
    t = clip_time(fps, at)
    a = filtered(t, eased(t, knots), seed)
    rest = find_rest(t, a)
    reps = group_reps(find_excursions(t, a, rest.level_deg))
    assert [r.number for r in reps] == [1, 2, 3]
    assert all(r.ir is not None and r.er is not None for r in reps)
    assert [r.ir.value_deg for r in reps] == pytest.approx([36, 40, 38], abs=0.5)
    assert [r.er.value_deg for r in reps] == pytest.approx([-25, -30, -28], abs=0.5)
    assert all(r.ir.stop <= r.er.start for r in reps)
    assert reps[0].er.stop <= reps[1].ir.start and reps[1].er.stop <= reps[2].ir.start


def test_ir_only_clip():
    knots = [(0, 0), (1, 0), (2, 36), (3, 36), (4, 0), (5, 0), (6, 40), (7, 40), (8, 0), (9, 0),
             (10, 38), (11, 38), (12, 0), (13, 0)]
    t = clip_time(30, 13.0)
    a = filtered(t, eased(t, knots), 4)
    reps = group_reps(find_excursions(t, a, find_rest(t, a).level_deg))
    assert len(reps) == 3
    assert all(r.er is None for r in reps)
    assert [r.ir.value_deg for r in reps] == pytest.approx([36, 40, 38], abs=0.5)


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_movement_without_a_hold_reports_the_peak(fps, seed):
    knots = [(0, 0), (1, 0), (1.8, 40), (2.6, 0), (4.0, 0)]
    t = clip_time(fps, 4.0)
    truth = eased(t, knots)
    a = filtered(t, truth, seed)
    excursions = find_excursions(t, a, find_rest(t, a).level_deg)
    assert len(excursions) == 1
    e = excursions[0]
    assert e.kind == "ir"
    assert not e.has_hold and e.hold_s < MovementSettings().min_hold_s
    assert e.value_deg == e.peak_deg == a[e.peak_index]
    # one frame's value: within ~3 SD of the filtered noise (≈ 0.45° at 30 fps) ...
    assert e.peak_deg == pytest.approx(40.0, abs=1.5)
    assert abs(e.peak_index - int(np.argmax(truth))) <= 3
    # ... and on the noise-free clip, the peak itself
    (clean,) = find_excursions(t, filtered(t, truth, None), 0.0)
    assert not clean.has_hold and clean.value_deg == pytest.approx(40.0, abs=0.1)
    assert abs(clean.peak_index - int(np.argmax(truth))) <= 1


def test_min_hold_s_decides_has_hold():
    t = clip_time(30, 6.0)
    truth = eased(t, [(0, 0), (1, 0), (2, 30), (2.5, 30), (3.5, 0), (6, 0)])   # 0.5 s hold
    long_hold = find_excursions(t, truth, 0.0, MovementSettings(min_hold_s=0.5))[0]
    assert long_hold.has_hold and long_hold.value_deg == long_hold.hold_deg
    too_short = find_excursions(t, truth, 0.0, MovementSettings(min_hold_s=1.0))[0]
    assert not too_short.has_hold and too_short.value_deg == too_short.peak_deg == pytest.approx(30.0)


def test_hysteresis_and_minimum_duration():
    t = clip_time(30, 8.0)
    s = MovementSettings()
    # 5° never passes excursion_enter_deg (6°)
    small = eased(t, [(0, 0), (1, 0), (2, 5), (3, 5), (4, 0), (8, 0)])
    assert find_excursions(t, small, 0.0, s) == []
    # a 10° flick of 0.2 s is shorter than min_excursion_s
    flick = eased(t, [(0, 0), (1, 0), (1.1, 10), (1.2, 0), (8, 0)])
    assert find_excursions(t, flick, 0.0, s) == []
    # back to 4° (still outside exit, 3°) between two pushes: one excursion, peak of both
    wobble = eased(t, [(0, 0), (1, 0), (2, 30), (2.5, 30), (3.2, 4), (3.6, 4), (4.3, 33), (4.8, 33),
                       (5.8, 0), (8, 0)])
    (e,) = find_excursions(t, wobble, 0.0, s)
    assert e.peak_deg == pytest.approx(33.0)
    # back to 2° (inside exit): two excursions
    twice = eased(t, [(0, 0), (1, 0), (2, 30), (2.5, 30), (3.2, 2), (3.6, 2), (4.3, 33), (4.8, 33),
                      (5.8, 0), (8, 0)])
    assert [e.peak_deg for e in find_excursions(t, twice, 0.0, s)] == pytest.approx([30.0, 33.0])


def test_still_leg_is_not_tested():
    t = clip_time(30, 9.0)
    for seed in range(3):
        raw = np.random.default_rng(seed).normal(0.0, 0.5, t.size)
        assert not is_tested(raw)
        a = clean_angle(t, raw, np.ones(t.size)).filtered_deg
        assert not is_tested(a)
        assert find_excursions(t, a, find_rest(t, a).level_deg) == []
    moving = filtered(t, eased(t, seated()), 0)
    assert is_tested(moving)
    # the threshold is tested_min_range_deg on the 1st-99th percentile range
    assert is_tested(np.linspace(0.0, 10.0, 200))
    assert not is_tested(np.linspace(0.0, 7.0, 200))
    assert is_tested(np.linspace(0.0, 7.0, 200), MovementSettings(tested_min_range_deg=6.0))
    assert not is_tested(np.array([0.0, 50.0, np.nan]))


# -- reps from hand-made excursions ---------------------------------------------------------------

def exc(kind: str, start: int) -> Excursion:
    return Excursion(kind, start, start + 10, start + 5, 1.0, start + 4, start + 7, 1.0, 0.1, False)


def test_group_reps_rules():
    assert group_reps([]) == []
    a, b, c, d = exc("ir", 0), exc("er", 20), exc("ir", 40), exc("er", 60)
    assert group_reps([a, b, c, d]) == [Rep(1, a, b), Rep(2, c, d)]
    assert group_reps([b, c]) == [Rep(1, c, b)]                    # ER then IR: one rep
    assert group_reps([a, c]) == [Rep(1, a, None), Rep(2, c, None)]
    assert group_reps([b, d]) == [Rep(1, None, b), Rep(2, None, d)]
    assert group_reps([a, b, c]) == [Rep(1, a, b), Rep(2, c, None)]


@pytest.mark.parametrize("kwargs, match", [
    ({"excursion_exit_deg": 6.0}, "excursion_exit_deg"),
    ({"excursion_enter_deg": 2.0}, "excursion_exit_deg"),
    ({"still_velocity_deg_s": 0.0}, "still_velocity_deg_s"),
    ({"min_rest_s": -1.0}, "min_rest_s"),
    ({"tested_min_range_deg": 0.0}, "tested_min_range_deg"),
    ({"excursion_exit_deg": 0.0}, "excursion_exit_deg"),
    ({"min_excursion_s": 0.0}, "min_excursion_s"),
    ({"hold_tolerance_deg": -2.0}, "hold_tolerance_deg"),
])
def test_settings_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MovementSettings(**kwargs)
