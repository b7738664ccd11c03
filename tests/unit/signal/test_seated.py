"""Recognising the seated test (:mod:`hiprom.signal.seated`) on synthetic bodies seen through a
pinhole camera: which frames are measured, each side's verdict, and what a refusal says."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers.synthetic_leg import Camera
from helpers.synthetic_motion import motion_series
from helpers.synthetic_series import clip_time, eased

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config, RecognitionSettings
from hiprom.core.measurement import Quality, SideResult
from hiprom.core.recognition import SeatedSpan, TestVerdict
from hiprom.errors import ConfigError, NoTestError
from hiprom.interpret.measure import measure
from hiprom.signal.seated import find_seated_span, judge_side, no_test_message, posture

FPS = 30.0
#: right leg rests at +4, IR to 38 (hold), back, ER to -26 (hold), back: 8.7 s
RIGHT = [(0, 4), (1, 4), (2.2, 38), (3.2, 38), (4.4, 4), (4.8, 4), (6, -26), (7, -26), (8.2, 4), (8.7, 4)]


def shifted(knots, by_s: float, until_s: float):
    """``knots`` delayed by ``by_s`` (the first value held before), the last value held until ``until_s``."""
    out = [(0.0, knots[0][1])] + [(t + by_s, v) for t, v in knots]
    return out + [(until_s, knots[-1][1])] if until_s > out[-1][0] else out


@pytest.fixture(scope="module")
def test_only():
    """The seated test alone (the reference for the trimmed clips)."""
    t = clip_time(FPS, 8.7)
    return analyze_landmarks(motion_series(t, right_ir_deg=eased(t, RIGHT), left_ir_deg=-5.0), Config())


# --- a real test --------------------------------------------------------------------------

def test_a_seated_test_is_tested_over_the_whole_clip(test_only) -> None:
    right, left = test_only.sides["right"], test_only.sides["left"]
    assert test_only.measurement.seated.whole
    assert (right.test.test, left.test.test) == ("tested", "not_tested")
    assert right.test.reason == "the right leg turns up to 34° from rest about a still knee"
    assert left.test.reason == "the left leg stays within 1° of rest"
    assert right.peak_ir_deg == pytest.approx(38.0, abs=0.3) and right.peak_er_deg == pytest.approx(26.0, abs=0.3)
    d = test_only.to_dict()["sides"]
    assert (d["right"]["tested"], d["right"]["test"], d["right"]["test_span_s"]) == (True, "tested", [0.0, 8.667])
    assert (d["left"]["tested"], d["left"]["test"], d["left"]["peak_ir_deg"]) == (False, "not_tested", None)
    assert not any("measured" in w for w in test_only.warnings)


def test_a_camera_30_degrees_above_the_knees_still_sees_a_seated_person() -> None:
    t = clip_time(FPS, 8.7)
    for pitch in (0.0, 20.0, 30.0):
        seated = posture(motion_series(t[::3], right_ir_deg=eased(t[::3], RIGHT), camera=Camera(pitch_deg=pitch)))
        standing = posture(motion_series(t[:30], thigh_down_deg=90.0, camera=Camera(pitch_deg=pitch)))
        # a level thigh reads about tan(pitch); a thigh hanging below the hip about 1
        assert np.nanmax(seated.thigh_drop) == pytest.approx(np.tan(np.radians(pitch)), abs=0.06)
        assert np.nanmin(standing.thigh_drop) > 0.85
    series = motion_series(t, right_ir_deg=eased(t, RIGHT), camera=Camera(pitch_deg=30.0))
    assert find_seated_span(series).whole
    assert measure(series).sides["right"].tested


# --- still legs, fidgeting ----------------------------------------------------------------

def test_still_legs_are_not_tested_and_the_clip_is_refused() -> None:
    t = clip_time(FPS, 8.7)
    series = motion_series(t, right_ir_deg=1.0, left_ir_deg=-2.0)
    m = measure(series)
    assert [m.sides[s].test.test for s in ("right", "left")] == ["not_tested", "not_tested"]
    assert all(m.sides[s].peak_ir_deg is None and m.sides[s].n_reps == 0 for s in ("right", "left"))
    with pytest.raises(NoTestError) as err:
        analyze_landmarks(series, Config())
    assert err.value.what == ("no seated test found: seated 0.0–8.7 s, but both legs stay within 1° of rest "
                              "(the test turns a leg 15–50°)")
    assert err.value.verdicts == {"right": "not_tested", "left": "not_tested"}
    assert err.value.exit_code == 1 and "goniometer" in err.value.fix


def test_legs_fidgeting_by_4_degrees_are_not_tested() -> None:
    t = clip_time(FPS, 8.7)
    fidget = [(0, 0), (1, 4), (1.8, -4), (2.6, 4), (3.4, -3), (4.2, 4), (5, 0), (8.7, 0)]
    m = measure(motion_series(t, right_ir_deg=eased(t, fidget), left_ir_deg=-eased(t, fidget)))
    for side in ("right", "left"):
        verdict = m.sides[side].test
        assert verdict.test == "not_tested" and m.sides[side].peak_ir_deg is None
        # ±4° about rest; up to 8° from a rest found at one end of the fidget, under the 10° bar
        assert 3.5 <= verdict.excursion_deg < RecognitionSettings().min_excursion_deg


# --- frames outside the test are trimmed ----------------------------------------------------

def test_standing_up_at_the_end_is_trimmed_and_the_test_measured_the_same(test_only) -> None:
    t = clip_time(FPS, 12.7)
    down = eased(t, [(0, 0), (9.5, 0), (10.5, 90), (12.7, 90)])       # rises from 9.5 s, up at 10.5 s
    r = analyze_landmarks(motion_series(t, thigh_down_deg=down, right_ir_deg=eased(t, shifted(RIGHT, 0, 12.7)),
                                        left_ir_deg=-5.0), Config())
    span = r.measurement.seated
    assert span.start == 0 and 8.7 <= span.end_s < 9.5                  # before the hips start to rise
    assert r.warnings[0] == "only 0.0–9.3 s measured, where the person sits still; the person stands up at 10.0 s"
    got, want = r.sides["right"], test_only.sides["right"]
    assert got.peak_ir_deg == pytest.approx(want.peak_ir_deg, abs=0.01)
    assert got.peak_er_deg == pytest.approx(want.peak_er_deg, abs=0.01)
    assert (got.peak_ir_frame, got.peak_er_frame) == (want.peak_ir_frame, want.peak_er_frame)
    angles = r.measurement.angles["right"].filtered_deg
    assert len(angles) == r.series.n_frames == len(t)                    # laid out over the whole clip
    assert np.isnan(angles[span.stop:]).all() and np.isfinite(angles[:span.stop]).all()
    assert r.to_dict()["sides"]["right"]["test_span_s"] == [0.0, round(span.end_s, 3)]
    assert len(r.to_pandas()) == len(t)


def test_sitting_down_first_shifts_the_frames_not_the_peaks(test_only) -> None:
    # standing 0-2 s, sits down 2-3 s, the test from 3.5 s, stands up from 13 s
    t = clip_time(FPS, 15.0)
    down = eased(t, [(0, 90), (2, 90), (3, 0), (13, 0), (14, 90), (15, 90)])
    r = analyze_landmarks(motion_series(t, thigh_down_deg=down, right_ir_deg=eased(t, shifted(RIGHT, 3.5, 15)),
                                        left_ir_deg=-5.0), Config())
    span = r.measurement.seated
    assert 3.0 < span.start_s <= 3.5 and 12.2 <= span.end_s < 13.0
    sits, stands = (float(re.fullmatch(rf"the person {what} at (\d+\.\d) s", note).group(1))
                    for what, note in zip(("sits down", "stands up"), span.notes))
    # the thighs pass 37° below level (thigh drop 0.6) 0.56 of the way down, 0.44 of the way up
    assert (sits, stands) == (pytest.approx(2.56, abs=0.1), pytest.approx(13.44, abs=0.1))
    got, want = r.sides["right"], test_only.sides["right"]
    assert got.peak_ir_deg == pytest.approx(want.peak_ir_deg, abs=0.05)
    assert got.peak_ir_frame == want.peak_ir_frame + 105                  # 3.5 s later in the video
    assert got.peak_ir_t_s == pytest.approx(want.peak_ir_t_s + 3.5, abs=1e-6)


# --- movements that are not the test -------------------------------------------------------

def test_repeated_sit_to_stands_are_not_a_seated_test() -> None:
    t = clip_time(FPS, 8.0)
    knots = [(0, 0), (0.8, 0), (1.8, 90), (2.4, 90), (3.4, 0), (4.0, 0), (5.0, 90), (5.6, 90), (6.6, 0), (8, 0)]
    series = motion_series(t, thigh_down_deg=eased(t, knots), right_ir_deg=eased(t, [(0, 0), (8, 0)]))
    m = measure(series)
    assert not m.seated.found
    assert [m.sides[s].test.test for s in ("right", "left")] == ["not_a_seated_test"] * 2
    assert m.sides["right"].test.span_s == (0.0, pytest.approx(t[-1]))
    with pytest.raises(NoTestError) as err:
        analyze_landmarks(series, Config())
    what = err.value.what
    assert what.startswith("no seated test found: the person sits and stands up again and again (stands up at ")
    assert what.endswith(" s): sit-to-stands, not the seated rotation test")
    times = [float(x) for x in re.findall(r"\d+\.\d", what.split("stands up at ")[1])]
    # the thighs pass 37° below level (thigh drop 0.6) 0.44 of the way through each rise
    assert times == pytest.approx([0.8 + 0.44, 4.0 + 0.44], abs=0.1)


def test_sitting_then_standing_up_and_walking_away_is_refused_with_when() -> None:
    # an oblique view (45° round, 4 m), a variable frame rate (20-40 fps), no rotation test:
    # seated 0-3 s, stands up 3-4 s, walks away from 4.5 s
    t = np.cumsum(np.random.default_rng(1).uniform(1 / 40, 1 / 20, 300))
    t = t[t < 9.0] - t[0]
    down = eased(t, [(0, 0), (3, 0), (4, 90), (9, 90)])
    swing = np.where(t > 4.5, 20.0 * np.sin(2 * np.pi * (t - 4.5)), 0.0)
    series = motion_series(t, thigh_down_deg=down, right_thigh_down_deg=down + swing, left_thigh_down_deg=down - swing,
                           pelvis_x_m=np.clip(t - 4.5, 0.0, None) * 0.8, camera=Camera(yaw_deg=45.0, distance_m=4.0))
    with pytest.raises(NoTestError) as err:
        analyze_landmarks(series, Config())
    what = re.sub(r"\d\.\d s", "#.# s", err.value.what)
    assert what == ("no seated test found: seated 0.0–#.# s, but both legs stay within 1° of rest (the test turns "
                    "a leg 15–50°); the person stands up at #.# s")
    end, up = (float(x) for x in re.findall(r"(\d\.\d) s", err.value.what))
    assert 2.5 <= end < 3.0 and up == pytest.approx(3.44, abs=0.1)      # the hips rise from 3.0 s


def test_walking_across_the_picture_is_not_a_seated_test() -> None:
    t = clip_time(FPS, 6.0)
    swing = 20.0 * np.sin(2 * np.pi * t)
    series = motion_series(t, thigh_down_deg=90.0, right_thigh_down_deg=90.0 + swing,
                           left_thigh_down_deg=90.0 - swing, pelvis_x_m=np.linspace(-0.7, 0.7, len(t)))
    with pytest.raises(NoTestError) as err:
        analyze_landmarks(series, Config())
    metres = float(re.search(r"the hips move about (\d+\.\d) m across the picture \(walking\?\)$",
                             err.value.what).group(1))
    assert metres == pytest.approx(0.9 * 1.4, abs=0.15)                   # 5th-95th percentile of 1.4 m
    assert err.value.verdicts == {"right": "not_a_seated_test", "left": "not_a_seated_test"}


def test_a_kick_is_not_a_seated_test() -> None:
    # from 20° round, a knee straightening by 60° swings the foot sideways in the picture too
    t = clip_time(FPS, 8.7)
    kick = eased(t, [(0, 0), (1, 0), (2, 60), (3, 60), (4, 0), (8.7, 0)])
    series = motion_series(t, right_kick_deg=kick, camera=Camera(yaw_deg=20.0))
    right = measure(series).sides["right"]
    assert right.test.test == "not_a_seated_test" and right.peak_ir_deg is None and not right.tested
    assert re.fullmatch(r"the right lower leg looks \d\d% as long while it is out \(1\.\d–3\.\d s\): "
                        r"the knee straightens \(a kick\?\) instead of turning", right.test.reason)
    assert right.test.span_s[0] == pytest.approx(1.6, abs=0.2)


def test_judge_side_a_knee_that_moves_with_the_foot_is_not_a_rotation() -> None:
    t = clip_time(FPS, 6.0)
    angle = eased(t, [(0, 0), (1, 0), (2, 30), (3, 30), (4, 0), (6, 0)])
    knee = np.zeros((len(t), 2))
    knee[:, 0] = angle / 30.0 * 160.0                                    # 0.8 shank lengths at the end
    theta = np.radians(angle)
    ankle = knee + 200.0 * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    v = judge_side("left", t, angle, knee, ankle, (0.0, 6.0))
    assert v.test == "not_a_seated_test" and v.span_s == pytest.approx((1.5, 3.5), abs=0.1)
    assert v.reason.startswith("the left knee moves 34 cm while the foot swings (1.")
    still_knee = judge_side("left", t, angle, np.zeros_like(knee), ankle - knee, (0.0, 6.0))
    assert still_knee.test == "tested" and still_knee.excursion_deg == pytest.approx(30.0, abs=0.1)


# --- the types and the message --------------------------------------------------------------

def test_no_test_message_names_each_side_and_what_happens_around() -> None:
    span = SeatedSpan(0, 90, 120, 0.0, 3.0, notes=("the person stands up at 3.4 s",))
    verdicts = {"right": TestVerdict("not_a_seated_test", "the right knee moves 30 cm while the foot swings "
                                     "(1.0–2.0 s); in the test the knee stays put", (1.0, 2.0), 25.0),
                "left": TestVerdict("not_tested", "the left leg stays within 2° of rest", (0.0, 3.0), 1.2)}
    assert no_test_message(span, verdicts) == (
        "no seated test found: seated 0.0–3.0 s, but the right knee moves 30 cm while the foot swings "
        "(1.0–2.0 s); in the test the knee stays put; the left leg stays within 2° of rest; "
        "the person stands up at 3.4 s")
    assert no_test_message(SeatedSpan(0, 0, 10, reason="nobody sits"), {}) == "no seated test found: nobody sits"


def test_tested_must_agree_with_the_verdict() -> None:
    fields = dict(side="right", reference="vertical", rest_found=True, rest_deg=0.0, peak_ir_deg=None,
                  peak_er_deg=None, mean_ir_deg=None, mean_er_deg=None, ir_spread_deg=None, er_spread_deg=None,
                  peak_ir_t_s=None, peak_er_t_s=None, peak_ir_frame=None, peak_er_frame=None,
                  peak_ir_uncertainty_deg=None, peak_er_uncertainty_deg=None, n_reps=0, reps=[],
                  quality=Quality.from_checks([]))
    with pytest.raises(ValueError, match="contradicts the verdict 'not_a_seated_test'"):
        SideResult(tested=True, verdict=TestVerdict("not_a_seated_test", "walking"), **fields)
    photo = SideResult(tested=False, **fields).to_dict()                 # not judged (a photo)
    assert (photo["test"], photo["test_reason"], photo["test_span_s"]) == ("not_tested", "", None)
    with pytest.raises(ValueError, match="test must be one of"):
        TestVerdict("maybe", "")


def test_recognition_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="min_shank_ratio must be between 0 and 1"):
        Config().with_overrides({"recognition.min_shank_ratio": 1.5})
    strict = Config().with_overrides({"recognition.min_excursion_deg": 40.0})
    t = clip_time(FPS, 8.7)
    m = measure(motion_series(t, right_ir_deg=eased(t, RIGHT)), strict)
    assert m.sides["right"].test.reason == "the right leg stays within 35° of rest"


def test_a_photo_of_someone_standing_is_not_a_seated_test() -> None:
    from hiprom.core.capture import Capture

    seated = motion_series(np.zeros(1), right_ir_deg=40.0).replace(capture=Capture(kind="image"))
    standing = motion_series(np.zeros(1), thigh_down_deg=90.0).replace(capture=Capture(kind="image"))
    assert measure(seated).sides["right"].peak_ir_deg == pytest.approx(40.0, abs=1.0)
    assert measure(seated).sides["right"].verdict is None                 # photos are not judged further
    m = measure(standing)
    assert all(m.sides[s].test.test == "not_a_seated_test" and m.sides[s].peak_ir_deg is None for s in m.sides)
    with pytest.raises(NoTestError) as err:
        analyze_landmarks(standing, Config())
    assert err.value.what == "no seated test found: nobody sits in the photo: the thighs are upright, as when standing"
