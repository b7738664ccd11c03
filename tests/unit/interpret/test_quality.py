"""Quality verdicts (:mod:`hiprom.interpret.quality`): each check's factor and exact message, and when
a side's numbers are withheld. Inputs are built by hand, like :func:`hiprom.interpret.measure.measure`
passes them; no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from hiprom.config import QualitySettings
from hiprom.core.landmarks import N_LANDMARKS, LandmarkSeries
from hiprom.core.measurement import SideAngles
from hiprom.geometry.projection import LegView
from hiprom.interpret.quality import BLOCKING, MAJOR, MINOR, Quality, assess_side
from hiprom.signal.filtering import CleanAngle
from hiprom.signal.movement import Excursion

N = 60                       # frames of the hand-built clip (2 s at 30 fps)
SETTINGS = QualitySettings()  # defaults: detected 0.9, visibility 0.7, jitter 1.5°, roll 8°, yaw 30°
#: The advice every "too far round" reason ends with.
PLACE = "place the phone straight in front, at knee height"


# --- builders -------------------------------------------------------------------------------

def series(detected: np.ndarray | None = None, n: int = N) -> LandmarkSeries:
    """A series whose frames have a pose where ``detected`` (all frames by default)."""
    detected = np.ones(n, bool) if detected is None else np.asarray(detected, bool)
    img = np.full((n, N_LANDMARKS, 3), np.nan)
    img[detected] = 100.0
    vis = np.where(detected[:, None], 0.9, np.nan) * np.ones((n, N_LANDMARKS))
    return LandmarkSeries(img, vis, vis.copy(), np.zeros_like(img), np.arange(n) / 30.0, np.arange(n), (720, 1280))


def angles(side: str = "right", visibility: float | np.ndarray = 0.95, jitter_deg: float = 0.0,
           n: int = N) -> SideAngles:
    """One leg's angles. The raw angle alternates ±a about a filtered angle of 0, so the
    residuals' robust SD (CleanAngle.jitter_deg = 1.4826 × MAD) is 1.4826 a: a is chosen to
    give ``jitter_deg``."""
    a = jitter_deg / 1.4826
    raw = np.where(np.arange(n) % 2 == 0, a, -a)
    clean = CleanAngle(raw, np.ones(n, bool), np.zeros(n, bool), np.zeros(n), 0, 0, 3.0)
    vis = np.broadcast_to(np.asarray(visibility, float), (n,)).copy()
    return SideAngles(side=side, raw_deg=raw, filtered_deg=clean.filtered_deg, visibility=vis, valid=clean.valid,
                      filled=clean.filled, angle_3d_deg=raw.copy(), seen_deg=raw.copy(), landmark_deg=raw.copy(),
                      from_silhouette=np.zeros(n, bool), jitter_deg=clean.jitter_deg, cutoff_hz=3.0, n_outliers=0)


def excursion(kind: str = "ir", start: int = 10, stop: int = 40, has_hold: bool = True) -> Excursion:
    return Excursion(kind, start, stop, 25, 38.0, 20, 30, 38.0, 0.33, has_hold)


def view(solved: bool) -> LegView:
    return LegView(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 5.0]), 0.0, solved)


def assess(*, s: LandmarkSeries | None = None, a: SideAngles | None = None, roll_deg: float = 0.0,
           yaw_deg: float | None = 0.0, tested: bool = True, rest_found: bool = True,
           excursions: list[Excursion] | None = None, settings: QualitySettings = SETTINGS,
           still: bool = False, leg_view: LegView | None = None) -> Quality:
    """assess_side on a clean measurement, with the given parts made worse (the facts taken
    from the series and angles as :func:`hiprom.interpret.measure.measure` takes them)."""
    s = s if s is not None else series()
    a = a if a is not None else angles()
    vis = a.visibility[s.detected]
    return assess_side(a.side, detected_fraction=float(np.mean(s.detected)),
                       leg_visibility=float(np.nanmean(vis)) if np.isfinite(vis).any() else 0.0,
                       roll_deg=roll_deg, yaw_deg=yaw_deg, view_solved=None if leg_view is None else leg_view.solved,
                       tested=tested, rest_found=rest_found, jitter_deg=a.jitter_deg,
                       excursions=[excursion()] if excursions is None else excursions, n_frames=s.n_frames,
                       settings=settings, still=still)


def only(q: Quality, factor: float, reason: str, *, withheld: bool = False) -> None:
    """``q`` failed exactly one check, with this factor and this reason."""
    assert q.reasons == (reason,)
    assert q.score == round(factor, 2)
    assert q.withheld is withheld
    assert q.blocking == ((reason,) if withheld else ())


# --- the verdict -------------------------------------------------------------------------------

def test_a_clean_measurement_is_good_with_no_reasons():
    q = assess()
    assert (q.score, q.level, q.reasons, q.blocking, q.withheld) == (1.0, "good", (), (), False)
    assert q.to_dict() == {"score": 1.0, "level": "good", "reasons": [], "withheld": False}


@pytest.mark.parametrize("factors, score, level", [
    ([0.8], 0.8, "good"),              # good >= 0.8
    ([0.79], 0.79, "fair"),
    ([0.5], 0.5, "fair"),              # fair >= 0.5
    ([0.49], 0.49, "poor"),
    ([MINOR], 0.7, "fair"),            # one minor problem
    ([MAJOR], 0.4, "poor"),            # one major problem
    ([MINOR, MINOR], 0.49, "poor"),    # 0.7 * 0.7
    ([MINOR, MAJOR], 0.28, "poor"),    # 0.7 * 0.4
    ([MINOR] * 3, 0.34, "poor"),       # 0.343, rounded to 2 places
])
def test_score_is_the_product_of_the_factors_and_sets_the_level(factors, score, level):
    q = Quality.from_checks([(f, f"reason {i}") for i, f in enumerate(factors)])
    assert q.score == score and q.level == level
    assert q.reasons == tuple(f"reason {i}" for i in range(len(factors)))
    assert not q.withheld


def test_factor_constants():
    assert (MINOR, MAJOR) == (0.7, 0.4)
    assert BLOCKING < MAJOR          # lowers the score at least like a major problem


def test_only_blocking_reasons_withhold_the_number():
    q = Quality.from_checks([(MINOR, "tilted"), (BLOCKING, "side view"), (MAJOR, "no rest")])
    assert q.reasons == ("tilted", "side view", "no rest")
    assert q.blocking == ("side view",)
    assert q.withheld
    assert q.score == 0.11            # 0.7 * 0.39 * 0.4 = 0.1092
    assert q.to_dict() == {"score": 0.11, "level": "poor", "reasons": ["tilted", "side view", "no rest"],
                           "withheld": True}


# --- person found ------------------------------------------------------------------------------

@pytest.mark.parametrize("found, factor, text", [
    (51, MINOR, "85%"),     # 51/60 below 0.9: minor
    (36, MINOR, "60%"),     # exactly 0.6: still minor
    (30, MAJOR, "50%"),     # below 0.6: major
])
def test_person_found_in_too_few_frames(found, factor, text):
    q = assess(s=series(np.arange(N) < found))
    only(q, factor, f"the person was found in only {text} of frames; keep the whole body in frame and well lit")


def test_person_found_in_enough_frames_passes():
    assert assess(s=series(np.arange(N) < 54)).reasons == ()      # 54/60 = 0.9


# --- leg visibility -----------------------------------------------------------------------------

def visibility_reason(value: str) -> str:
    return (f"right knee/ankle poorly visible (mean visibility {value}); wear shorts or tight trousers "
            f"and keep the feet in frame")


@pytest.mark.parametrize("vis, factor, text, withheld", [
    (0.55, MINOR, "0.55", False),
    (0.41, MINOR, "0.41", False),
    (0.39, BLOCKING, "0.39", True),      # below 0.4: the number is withheld
    (0.2, BLOCKING, "0.20", True),
])
def test_poorly_visible_leg(vis, factor, text, withheld):
    q = assess(a=angles(visibility=vis))
    only(q, factor, visibility_reason(text), withheld=withheld)
    assert q.level == ("fair" if factor == MINOR else "poor")


def test_visibility_at_the_setting_passes():
    assert assess(a=angles(visibility=0.7)).reasons == ()


def test_visibility_is_averaged_over_detected_frames_only():
    # 30 frames seen at 0.9; the 30 frames without a person carry 0.1 and must not count
    s = series(np.arange(N) < 30)
    vis = np.where(np.arange(N) < 30, 0.9, 0.1)
    q = assess(s=s, a=angles(visibility=vis))
    assert not any("visib" in r for r in q.reasons)
    assert q.reasons == ("the person was found in only 50% of frames; keep the whole body in frame and well lit",)


def test_a_leg_never_seen_counts_as_visibility_zero_and_is_withheld():
    q = assess(a=angles(visibility=np.nan))
    only(q, BLOCKING, visibility_reason("0.00"), withheld=True)


# --- camera roll ---------------------------------------------------------------------------------

@pytest.mark.parametrize("roll, text", [(9.0, "+9.0"), (-12.3, "-12.3")])
def test_tilted_camera_is_minor(roll, text):
    q = assess(roll_deg=roll)
    only(q, MINOR, f"camera tilted by {text}° (corrected); level the phone for best accuracy")


def test_roll_at_the_setting_passes():
    assert assess(roll_deg=-8.0).reasons == ()


# --- camera yaw and side view --------------------------------------------------------------------

@pytest.mark.parametrize("yaw, text", [(40.0, "40° off to the subject's left"),
                                       (-45.0, "45° off to the subject's right")])   # up to 1.5 x 30
def test_oblique_camera_up_to_45_degrees_is_minor(yaw, text):
    q = assess(yaw_deg=yaw)
    only(q, MINOR, f"camera about {text}; the oblique view is corrected, but beyond 30° accuracy falls "
                   f"— {PLACE}")


@pytest.mark.parametrize("yaw, text", [(46.0, "46° off to the subject's left"),
                                       (-60.0, "60° off to the subject's right")])
def test_camera_beyond_45_degrees_withholds_the_number(yaw, text):
    q = assess(yaw_deg=yaw)
    only(q, BLOCKING, f"camera about {text}: too far round to measure rotation — {PLACE}", withheld=True)
    assert q.level == "poor"


@pytest.mark.parametrize("yaw", [None, 0.0, 30.0, -30.0])
def test_yaw_within_the_setting_or_unknown_passes(yaw):
    assert assess(yaw_deg=yaw).reasons == ()


def test_yaw_limits_follow_the_setting():
    settings = QualitySettings(max_yaw_deg=20.0)      # minor above 20, withheld above 30
    only(assess(yaw_deg=29.0, settings=settings), MINOR,
         f"camera about 29° off to the subject's left; the oblique view is corrected, but beyond 20° "
         f"accuracy falls — {PLACE}")
    only(assess(yaw_deg=31.0, settings=settings), BLOCKING,
         f"camera about 31° off to the subject's left: too far round to measure rotation — {PLACE}",
         withheld=True)


SIDE_VIEW = ("the {side} thigh is seen from the side (it looks longer than a thigh seen from the front can): "
             "the camera is too far round to measure rotation — " + PLACE)


@pytest.mark.parametrize("side", ["left", "right"])
def test_unsolved_side_view_withholds_the_number(side):
    q = assess(a=angles(side), yaw_deg=None, leg_view=view(solved=False))
    only(q, BLOCKING, SIDE_VIEW.format(side=side), withheld=True)


def test_side_view_reason_replaces_the_yaw_reason():
    # the unsolved view already says the camera is too far round: no second, yaw-based reason
    q = assess(yaw_deg=60.0, leg_view=view(solved=False))
    only(q, BLOCKING, SIDE_VIEW.format(side="right"), withheld=True)


def test_a_solved_view_still_checks_the_yaw():
    q = assess(yaw_deg=50.0, leg_view=view(solved=True))
    only(q, BLOCKING, f"camera about 50° off to the subject's left: too far round to measure rotation — {PLACE}",
         withheld=True)
    assert assess(yaw_deg=10.0, leg_view=view(solved=True)).reasons == ()


# --- movement checks (tested video only) ------------------------------------------------------------

@pytest.mark.parametrize("jitter, factor, text", [(2.2, MINOR, "2.2"), (3.4, MAJOR, "3.4")])  # major above 2 x 1.5
def test_jittery_angle(jitter, factor, text):
    q = assess(a=angles(jitter_deg=jitter))
    only(q, factor, f"right angle is jittery ({text}° frame to frame); use more light, a steadier camera "
                    f"or a higher resolution")


def test_small_or_unknown_jitter_passes():
    assert assess(a=angles(jitter_deg=1.4)).reasons == ()
    # fewer than 5 valid frames: the jitter is NaN and not judged
    short = angles(jitter_deg=5.0, n=4)
    assert np.isnan(short.jitter_deg)
    assert assess(s=series(n=4), a=short, excursions=[excursion(start=1, stop=3)]).reasons == ()


def test_no_rest_phase_is_major():
    only(assess(rest_found=False), MAJOR,
         "no rest phase found for the right leg; start with the leg hanging still for a second")


def test_excursions_without_a_hold_are_listed_by_kind():
    exc = [excursion("ir", has_hold=False), excursion("er", 42, 55, has_hold=False), excursion("ir", 5, 9)]
    only(assess(excursions=exc), MINOR,
         "right leg: no hold at end range for ER/IR (2 of 3); hold the end position for about 1 s")


@pytest.mark.parametrize("start, stop", [(0, 20), (30, N), (0, N)])
def test_a_movement_cut_off_by_the_clip(start, stop):
    only(assess(excursions=[excursion(start=start, stop=stop)]), MINOR,
         "right leg: a movement is cut off by the start or end of the clip")


def test_an_excursion_ending_before_the_last_frame_is_not_cut_off():
    assert assess(excursions=[excursion(start=1, stop=N - 1)]).reasons == ()


@pytest.mark.parametrize("still, tested", [(True, True), (False, False)])
def test_stills_and_untested_legs_skip_the_movement_checks(still, tested):
    bad_movement = dict(a=angles(jitter_deg=5.0), rest_found=False, excursions=[excursion(start=0, has_hold=False)])
    assert assess(still=still, tested=tested, **bad_movement).reasons == ()
    # ...but the view checks still apply, and still withhold the number
    q = assess(still=still, tested=tested, yaw_deg=50.0, **bad_movement)
    only(q, BLOCKING, f"camera about 50° off to the subject's left: too far round to measure rotation — {PLACE}",
         withheld=True)


def test_several_problems_multiply_and_keep_their_order():
    q = assess(s=series(np.arange(N) < 51), a=angles(visibility=0.5, jitter_deg=2.2), roll_deg=10.0,
               yaw_deg=35.0, rest_found=False)
    assert [r.split(" ")[:3] for r in q.reasons] == [
        ["the", "person", "was"], ["right", "knee/ankle", "poorly"], ["camera", "tilted", "by"],
        ["camera", "about", "35°"], ["right", "angle", "is"], ["no", "rest", "phase"]]
    assert q.score == 0.07            # 0.7^5 * 0.4 = 0.0672
    assert q.level == "poor" and not q.withheld
