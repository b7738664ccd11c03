"""Which frames the pose model sees and how many people it looks for
(:mod:`hiprom.vision.schedule`, :mod:`hiprom.vision.people`): hand-built angle series and
detections, exact expectations."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic_series import clip_time, eased

from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries
from hiprom.vision.people import PeoplePolicy, subject_box
from hiprom.vision.pose import ModelView, PoseCandidate
from hiprom.vision.schedule import FrameSchedule, fill_skipped, leg_angles_deg

#: right leg: rest 1 s, IR to 40° in 1.2 s, hold 1 s, back, rest, ER to -30°, hold, back
SEATED_KNOTS = [(0.0, 0.0), (1.0, 0.0), (2.2, 40.0), (3.2, 40.0), (4.4, 0.0), (4.8, 0.0),
                (6.0, -30.0), (7.0, -30.0), (8.2, 0.0), (9.0, 0.0)]
FRAME = (1000, 720)


def run_schedule(t: np.ndarray, angles: np.ndarray, every: int = 3) -> np.ndarray:
    """Which frames a schedule lets the model see, feeding it the angles of those frames."""
    schedule = FrameSchedule(every)
    seen = np.zeros(len(t), bool)
    for f, time in enumerate(t):
        if schedule.wants(float(time)):
            seen[f] = True
            schedule.saw(float(time), angles[f])
    assert schedule.seen == seen.sum() and schedule.frames == len(t)
    return seen


def longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for m in mask:
        run = run + 1 if m else 0
        best = max(best, run)
    return best


def test_every_one_sees_every_frame():
    t, _, angles = seated_test(30, 0)
    assert run_schedule(t, angles, every=1).all()


def interpolation_error_deg(t: np.ndarray, truth: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """How far the curve drawn straight between the frames seen strays from the truth."""
    return np.abs(np.interp(t, t[seen], truth[seen]) - truth)


def seated_test(fps: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame times, the right leg's true angle, and both legs' angles as seen (0.3° noise)."""
    t = clip_time(fps)
    right = eased(t, SEATED_KNOTS)
    rng = np.random.default_rng(seed)
    return t, right, np.stack([np.zeros_like(t), right], axis=1) + rng.normal(0.0, 0.3, (len(t), 2))


def run_with_holding(t: np.ndarray, angles: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    """Frames seen, and frames during which the schedule said a leg was holding."""
    schedule = FrameSchedule(3, **options)
    seen, holding = np.zeros(len(t), bool), np.zeros(len(t), bool)
    for f, time in enumerate(t):
        seen[f] = schedule.wants(float(time))
        holding[f] = schedule.holding
        if seen[f]:
            schedule.saw(float(time), angles[f])
    return seen, holding


@pytest.mark.parametrize("fps", [30, 60])
@pytest.mark.parametrize("seed", [0, 1])
def test_one_frame_in_three_is_seen_and_holds_are_told_apart(fps, seed):
    t, right, angles = seated_test(fps, seed)
    seen, holding = run_with_holding(t, angles)
    start = (t >= 0.7)                               # once the rest level is known
    assert seen[start].mean() < 0.4 and longest_run(~seen) == 2
    # drawn straight between the frames seen, the curve stays within 0.25° of the truth where
    # the measurement averages (within 2° of an end position), and within 1° everywhere
    hold = (np.abs(right - 40.0) <= 2.0) | (np.abs(right + 30.0) <= 2.0)
    error = interpolation_error_deg(t, right, seen)
    assert error[hold].max() < 0.25 and error.max() < 1.0
    # holding: in every hold (but perhaps its first 0.1 s), never at rest, and mid-turn only
    # while it lasts on (settle_s) after the leg left a hold
    core = (np.abs(right - 40.0) <= 0.5) | (np.abs(right + 30.0) <= 0.5)
    assert holding[core].mean() > 0.9
    rest = (np.abs(right) < 0.01) & start
    mid_turn = np.abs(np.gradient(right, t)) > 45.0
    assert not holding[rest].any() and holding[mid_turn].mean() < 0.35


def test_holds_can_be_seen_in_full():
    t, right, angles = seated_test(30, 0)
    seen, _ = run_with_holding(t, angles, hold_every=1)
    hold = (np.abs(right - 40.0) <= 2.0) | (np.abs(right + 30.0) <= 2.0)
    assert seen[hold].mean() > 0.95
    assert interpolation_error_deg(t, right, seen)[hold].max() < 0.15
    assert seen[np.abs(np.gradient(right, t)) > 45.0].mean() < 0.6


def test_a_quick_turn_is_followed_closely_enough_at_its_end():
    """40° in 0.5 s (peak speed 126°/s): the hold may start before the schedule notices."""
    t = clip_time(30, 4.0)
    right = eased(t, [(0.0, 0.0), (1.0, 0.0), (1.5, 40.0), (2.5, 40.0), (3.0, 0.0), (4.0, 0.0)])
    angles = np.stack([np.zeros_like(t), right], axis=1) + np.random.default_rng(3).normal(0.0, 0.3, (len(t), 2))
    seen, holding = run_with_holding(t, angles)
    hold = np.abs(right - 40.0) <= 2.0
    error = interpolation_error_deg(t, right, seen)[hold]
    # the mean over the hold (what is reported) moves by at most the mean error: 0.1°
    assert error.mean() < 0.1 and error.max() < 1.0
    assert holding[(t > 1.7) & (t < 2.3)].all()     # the middle of the hold


def test_something_unexpected_makes_every_frame_seen_for_a_while():
    t = clip_time(30, 4.0)
    schedule = FrameSchedule(3, settle_s=0.3)
    seen = []
    for f, time in enumerate(t):
        if schedule.wants(float(time)):
            seen.append(f)
            # resting legs; from frame 60 the left one is 10° further: a jump no straight line predicted
            schedule.saw(float(time), np.array([10.0 if f >= 60 else 0.0, 0.0]))
    assert np.diff([f for f in seen if 30 <= f < 60]).max() == 3     # resting: one frame in three
    first = min(f for f in seen if f >= 60)
    assert first <= 62
    assert set(range(first, first + 9)) <= set(seen)                 # then 0.3 s of every frame


def test_nobody_found_keeps_one_frame_in_three():
    """Looking for someone who is not there (yet) goes on at the usual rate."""
    t = clip_time(30, 3.0)
    schedule = FrameSchedule(3)
    seen = []
    for f, time in enumerate(t):
        if schedule.wants(float(time)):
            seen.append(f)
            schedule.saw(float(time), np.zeros(2) if f < 45 else np.full(2, np.nan))
    assert seen == list(range(0, len(t), 3))


def test_leg_angles_are_measured_from_image_down_and_nan_when_unseen():
    img = np.zeros((N_LANDMARKS, 3))
    img[LM.LEFT_KNEE, :2], img[LM.LEFT_ANKLE, :2] = (100, 100), (100 + 100 * np.tan(np.radians(20)), 200)
    img[LM.RIGHT_KNEE, :2], img[LM.RIGHT_ANKLE, :2] = (300, 100), (300, 200)
    vis = np.full(N_LANDMARKS, 0.9)
    vis[LM.RIGHT_ANKLE] = 0.2
    person = PoseCandidate(img, vis, vis, np.zeros((N_LANDMARKS, 3)))
    got = leg_angles_deg(person)
    assert got[0] == pytest.approx(20.0, abs=1e-9) and np.isnan(got[1])
    assert np.isnan(leg_angles_deg(None)).all()


# --- the subject's box --------------------------------------------------------------------------------

def person_at(points: dict[int, tuple[float, float]], vis: float = 0.9, rest_vis: float = 0.0,
              others_at: tuple[float, float] = (0.0, 0.0)) -> PoseCandidate:
    """Landmarks at ``points`` seen with ``vis``; the rest at ``others_at`` with ``rest_vis``."""
    img = np.zeros((N_LANDMARKS, 3))
    img[:, :2] = others_at
    visibility = np.full(N_LANDMARKS, rest_vis)
    for k, (x, y) in points.items():
        img[k, :2] = x, y
        visibility[k] = vis
    return PoseCandidate(img, visibility, visibility.copy(), np.zeros((N_LANDMARKS, 3)))


def test_subject_box_spans_the_landmarks_with_room_for_the_legs_and_stays_in_the_frame():
    a = person_at({LM.NOSE: (500, 200), LM.LEFT_ANKLE: (560, 600)})
    b = person_at({LM.RIGHT_ANKLE: (430, 620), LM.LEFT_HIP: (540, 400)})
    box = subject_box([a, b], FRAME)
    # landmarks span x 430..560, y 200..620 (height 420): ±0.35 × 420 = 147 sideways, 63 up/down
    assert (box.x0, box.y0, box.x1, box.y1) == (283, 137, 707, 683)
    near_edge = person_at({LM.NOSE: (40, 30), LM.LEFT_ANKLE: (980, 700)})
    box = subject_box([near_edge], FRAME)
    assert (box.x0, box.y0, box.x1, box.y1) == (0, 0, 1000, 720)
    assert subject_box([person_at({}, rest_vis=0.0)], FRAME) == ModelView.whole(*FRAME)


# --- the people-count policy ---------------------------------------------------------------------------

def body(hip_x: float, seated: bool) -> PoseCandidate:
    """A front view (as in test_person): seated, or standing with the knees well below the hips."""
    ys = ({"shoulder": 250.0, "hip": 400.0, "knee": 410.0, "ankle": 600.0} if seated
          else {"shoulder": 100.0, "hip": 350.0, "knee": 520.0, "ankle": 690.0})
    points = {}
    for (left, right), part, half in (((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), "shoulder", 60),
                                      ((LM.LEFT_HIP, LM.RIGHT_HIP), "hip", 40),
                                      ((LM.LEFT_KNEE, LM.RIGHT_KNEE), "knee", 50),
                                      ((LM.LEFT_ANKLE, LM.RIGHT_ANKLE), "ankle", 50)):
        points[left], points[right] = (hip_x + half, ys[part]), (hip_x - half, ys[part])
    return person_at(points, others_at=(hip_x, ys["shoulder"] - 50.0))    # head and hands, unseen


def test_policy_chooses_among_two_then_follows_the_seated_subject_in_a_box():
    policy = PeoplePolicy(2, choose_s=1.0, recheck_s=2.0)
    subject, examiner = body(400.0, seated=True), body(800.0, seated=False)
    looks = []
    for f in range(31):                              # 0 .. 1.0 s: both are looked for
        look = policy.look(f / 30)
        looks.append(look)
        kept = policy.found(f / 30, look, [examiner, subject], FRAME)
        assert kept == [examiner, subject]
    assert all(look.wide for look in looks)
    look = policy.look(31 / 30)
    assert not look.wide and not look.recheck and policy.following
    # the box holds the seated subject with room for the legs, not the examiner's hips
    assert look.view.x0 <= 400 - 50 - 0.35 * 350 + 1 and look.view.x1 >= 400 + 60 + 0.35 * 350 - 1
    assert look.view.x1 < 800 - 40
    assert policy.choices == 1


def test_policy_rechecks_for_others_and_chooses_again_when_someone_looks_more_like_the_subject():
    policy = PeoplePolicy(2, choose_s=0.5, recheck_s=1.0)
    subject, examiner = body(400.0, seated=True), body(800.0, seated=False)
    t = 0.0
    while not policy.following:
        policy.found(t, policy.look(t), [subject, examiner], FRAME)
        t += 1 / 30
    checks = []
    for _ in range(100):                             # 3.3 s of following
        look = policy.look(t)
        if look.recheck:                             # a wide look: the subject and the examiner
            checks.append(t)
            moved = body(405.0, seated=True)
            assert policy.found_wide(t, [examiner, moved], FRAME) == [moved, examiner]
            assert policy.subject_of([moved, examiner], FRAME) is moved
        else:
            assert policy.found(t, look, [subject], FRAME) == [subject]
        t += 1 / 30
    assert len(checks) == 3 and np.allclose(np.diff(checks), 1.0, atol=1 / 30 + 1e-9)
    assert policy.wide_looks == 3 and policy.following
    # a second seated person, larger in the frame, shows up at a re-check: choose again
    bigger = body(800.0, seated=True)
    bigger.image_px[:, :2] = (bigger.image_px[:, :2] - [800, 400]) * 1.6 + [800, 400]
    assert policy.found_wide(t, [subject, bigger], FRAME) == [subject, bigger]
    assert not policy.following and policy.look(t + 1 / 30).wide


def scaled(c: PoseCandidate, factor: float, about: tuple[float, float]) -> PoseCandidate:
    """``c`` made ``factor`` times larger in the frame about the point ``about``."""
    img = c.image_px.copy()
    img[:, :2] = (img[:, :2] - about) * factor + about
    return PoseCandidate(img, c.visibility, c.presence, c.world_m)


def test_after_choosing_again_the_subject_seen_all_along_keeps_the_box():
    """A larger seated person in view for 1 s makes the policy choose again; over everything
    seen so far the subject of the last 10 s still scores higher (as the final choice over the
    clip will), so the box goes back to the subject, not to the passer-by."""
    policy = PeoplePolicy(2, choose_s=1.0, recheck_s=2.0)
    subject, passer = body(300.0, seated=True), scaled(body(800.0, seated=True), 1.6, (800, 400))
    t = 0.0
    while t < 10.0:                                  # 10 s: the subject alone
        policy.found(t, policy.look(t), [subject], FRAME)
        t += 1 / 30
    while policy.following:                          # the passer-by shows up at the next re-check
        look = policy.look(t)
        if look.recheck:
            policy.found_wide(t, [subject, passer], FRAME)
        else:
            policy.found(t, look, [subject], FRAME)
        t += 1 / 30
    while not policy.following:                      # choosing again: both in the frame
        policy.found(t, policy.look(t), [passer, subject], FRAME)
        t += 1 / 30
    view = policy.look(t).view
    assert view.x0 < 300 < view.x1 and view.x1 < 800 - 1.6 * 40   # the subject's box, not the passer-by's
    assert policy.choices == 2


def test_when_the_subject_has_left_the_one_in_view_is_followed():
    policy = PeoplePolicy(2, choose_s=0.5, recheck_s=5.0, lost_frames=3)
    subject, newcomer = body(300.0, seated=True), body(800.0, seated=True)
    t = 0.0
    while t < 5.0:
        policy.found(t, policy.look(t), [subject], FRAME)
        t += 1 / 30
    while policy.following:                          # the subject has gone: lost
        policy.found(t, policy.look(t), [], FRAME)
        t += 1 / 30
    while not policy.following:
        policy.found(t, policy.look(t), [newcomer], FRAME)
        t += 1 / 30
    view = policy.look(t).view
    assert view.x0 < 800 < view.x1 and view.x0 > 300


def test_a_wide_look_without_the_subject_counts_as_a_miss():
    policy = PeoplePolicy(2, choose_s=0.2, recheck_s=5.0, lost_frames=2)
    subject, examiner = body(400.0, seated=True), body(800.0, seated=False)
    t = 0.0
    while not policy.following:
        policy.found(t, policy.look(t), [subject, examiner], FRAME)
        t += 1 / 30
    assert policy.found_wide(t, [examiner], FRAME) == [examiner]
    assert policy.following
    assert policy.subject_of([examiner], FRAME) is None
    assert policy.found_wide(t + 1 / 30, [examiner], FRAME) == [examiner]
    assert not policy.following


def test_policy_chooses_again_when_the_subject_is_lost():
    policy = PeoplePolicy(2, choose_s=0.2, recheck_s=5.0, lost_frames=3)
    subject = body(400.0, seated=True)
    t = 0.0
    while not policy.following:
        policy.found(t, policy.look(t), [subject], FRAME)
        t += 1 / 30
    for _ in range(3):
        assert policy.following
        policy.found(t, policy.look(t), [], FRAME)
        t += 1 / 30
    assert not policy.following and policy.look(t).wide


@pytest.mark.parametrize("people, choose_s", [(1, 1.0), (2, 0.0)])
def test_policy_off_looks_wide_at_every_frame(people, choose_s):
    policy = PeoplePolicy(people, choose_s=choose_s)
    subject = body(400.0, seated=True)
    for f in range(100):
        look = policy.look(f / 30)
        assert look.wide and look.view is None
        assert policy.found(f / 30, look, [subject], FRAME) == [subject]


# --- filling skipped frames ----------------------------------------------------------------------------

def test_skipped_rows_are_filled_linearly_in_time_and_flagged():
    n = 10
    t = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.2])
    series = LandmarkSeries.empty(t, np.arange(n), FRAME)
    img = np.full((n, N_LANDMARKS, 3), np.nan)
    vis = np.full((n, N_LANDMARKS), np.nan)
    lines = {k: np.array(v) for k, v in ShankLines.empty(n).arrays().items()}
    detected = [0, 3, 4, 8, 9]
    for f in detected:
        img[f] = 100.0 * t[f]
        vis[f] = 0.5 + 0.1 * f / 9
        lines["mid_px"][f] = 10.0 * t[f]
        lines["crossed"][f] = f % 2            # frame 3 crossed, frame 0 not
    series = series.replace(image_px=img, world_m=img.copy(), visibility=vis, presence=vis.copy(),
                            shank_lines=ShankLines(**lines))
    ran = np.zeros(n, bool)
    ran[detected] = True
    ran[6] = True                                    # seen, nobody found: stays empty
    out = fill_skipped(series, ran, max_gap_frames=2)
    np.testing.assert_allclose(out.image_px[[1, 2], 0, 0], [10.0, 20.0])
    np.testing.assert_allclose(out.shank_lines.mid_px[[1, 2], 1, 1, 0], [1.0, 2.0])
    np.testing.assert_array_equal(out.shank_lines.crossed[[1, 2], 0, 0], [0.0, 1.0])   # from the nearer frame
    np.testing.assert_allclose(out.visibility[[1, 2], 5], [0.5 + 0.1 * 3 / 9 * t[1] / t[3],
                                                            0.5 + 0.1 * 3 / 9 * t[2] / t[3]])
    # 5 and 7 border the empty frame 6: not filled
    assert np.isnan(out.image_px[[5, 6, 7]]).all()
    np.testing.assert_array_equal(out.model_seen, ran)
    np.testing.assert_array_equal(out.detected, [True, True, True, True, True, False, False, False, True, True])
    # after the last frame seen, its row is repeated (up to the longest skip)
    rows = np.arange(n) < 8
    head = series.replace(image_px=np.where(rows[:, None, None], np.nan_to_num(img, nan=7.0), np.nan))
    filled = fill_skipped(head, rows, max_gap_frames=2)
    np.testing.assert_array_equal(filled.image_px[[8, 9]], [filled.image_px[7]] * 2)
    assert np.isnan(fill_skipped(head, rows, max_gap_frames=1).image_px[[8, 9]]).all()
    # a run longer than the schedule ever skips is not a skip: left empty
    ends = np.zeros(n, bool)
    ends[[0, 9]] = True
    sparse = series.replace(image_px=np.where(ends[:, None, None], img, np.nan))
    assert np.isnan(fill_skipped(sparse, ends, max_gap_frames=2).image_px[1:9]).all()
