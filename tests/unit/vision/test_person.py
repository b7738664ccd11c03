"""Choosing the seated subject among hand-built detections (subject + standing examiner)."""

from __future__ import annotations

import numpy as np
import pytest

from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.vision.person import PersonChoice, choose_subject, seated_score
from hiprom.vision.pose import PoseCandidate

N = 33
FRAME = (1920, 1080)


def body(hip_x: float, *, seated: bool, tag: float, rng=None, vis: float = 0.95) -> PoseCandidate:
    """A front view: seated (thighs towards the camera, knees level with the hips, shanks
    hanging) or standing (knees well below the hips). ``tag`` marks the world landmarks."""
    if seated:
        ys = {"shoulder": 250.0, "hip": 560.0, "knee": 585.0, "ankle": 860.0, "head": 120.0}
    else:
        ys = {"shoulder": 120.0, "hip": 480.0, "knee": 720.0, "ankle": 960.0, "head": 20.0}
    jitter = (lambda: rng.normal(0.0, 2.0)) if rng is not None else (lambda: 0.0)
    img = np.zeros((N, 3))
    img[:, 0], img[:, 1] = hip_x, ys["head"]                     # head and hands: roughly above
    for (left, right), part, half in (((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), "shoulder", 110),
                                      ((LM.LEFT_HIP, LM.RIGHT_HIP), "hip", 90),
                                      ((LM.LEFT_KNEE, LM.RIGHT_KNEE), "knee", 100),
                                      ((LM.LEFT_ANKLE, LM.RIGHT_ANKLE), "ankle", 95),
                                      ((LM.LEFT_HEEL, LM.RIGHT_HEEL), "ankle", 95),
                                      ((LM.LEFT_TOE, LM.RIGHT_TOE), "ankle", 95)):
        # the subject faces the camera: their left is on the image right
        img[left] = (hip_x + half + jitter(), ys[part] + jitter(), 0.0)
        img[right] = (hip_x - half + jitter(), ys[part] + jitter(), 0.0)
    visibility = np.full(N, vis)
    return PoseCandidate(image_px=img, visibility=visibility, presence=np.full(N, 0.99),
                         world_m=np.full((N, 3), tag))


def clip(n: int, subject_missing=(), examiner_missing=(), examiner_x: float = 1400.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    people, subject = [], []
    for f in range(n):
        frame = []
        s = None if f in subject_missing else body(600.0 + 3 * np.sin(f / 5), seated=True, tag=1.0, rng=rng)
        if s is not None:
            frame.append(s)
        if f not in examiner_missing:
            frame.append(body(examiner_x + 10 * np.sin(f / 7), seated=False, tag=2.0, rng=rng))
        order = rng.permutation(len(frame))
        people.append([frame[i] for i in order])
        subject.append(s)
    return people, subject


def times(n: int):
    return np.arange(n) / 30.0, np.arange(n, dtype=np.int64)


def test_seated_score():
    seated, standing = body(600, seated=True, tag=1), body(1400, seated=False, tag=2)
    # seated: r = 25 / 275 -> 1.2 - r > 1, clipped to 1; standing: r = 1 -> 0.2 (the floor)
    assert seated_score(seated) == pytest.approx(0.95)
    assert seated_score(standing) == pytest.approx(0.2 * 0.95)
    hidden = body(600, seated=True, tag=1, vis=0.3)
    assert seated_score(hidden) == pytest.approx(0.3)
    half = body(600, seated=True, tag=1)
    half.image_px[[LM.LEFT_KNEE, LM.RIGHT_KNEE], 1] = 560.0 + 0.8 * 275   # thigh 0.8 of the shank
    half.image_px[[LM.LEFT_ANKLE, LM.RIGHT_ANKLE], 1] = 560.0 + 1.8 * 275
    assert seated_score(half) == pytest.approx(0.95 * 0.4)
    collapsed = body(600, seated=True, tag=1)
    collapsed.image_px[[LM.LEFT_ANKLE, LM.RIGHT_ANKLE], 1] = collapsed.image_px[[LM.LEFT_KNEE, LM.RIGHT_KNEE], 1]
    assert seated_score(collapsed) == pytest.approx(0.95 * 0.2)          # no shank: ratio 1


@pytest.mark.parametrize("examiner_x", [1400.0, 1000.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seated_subject_kept_in_every_frame(examiner_x, seed):
    n = 60
    subject_missing = {10, 11, 12, 40}
    examiner_missing = {0, 5, 6, 7, 30, 31, 59}
    people, subject = clip(n, subject_missing, examiner_missing, examiner_x, seed)
    t, idx = times(n)
    series, choice = choose_subject(people, t, idx, FRAME, source="clip.mp4", fps=30.0)
    present = np.array([s is not None for s in subject])
    np.testing.assert_array_equal(series.detected, present)
    for f in range(n):
        if subject[f] is None:
            assert np.isnan(series.image_px[f]).all() and np.isnan(series.world_m[f]).all()
            assert np.isnan(series.visibility[f]).all() and np.isnan(series.presence[f]).all()
        else:
            np.testing.assert_array_equal(series.image_px[f], subject[f].image_px)
            np.testing.assert_array_equal(series.visibility[f], subject[f].visibility)
            np.testing.assert_array_equal(series.presence[f], subject[f].presence)
            assert (series.world_m[f] == 1.0).all()                     # never the examiner's
    both = sum(1 for f in range(n) if f not in subject_missing and f not in examiner_missing)
    assert choice.max_people_in_frame == 2
    assert choice.frames_with_several == both
    assert choice.n_tracks == 2
    assert choice.chosen_frames == n - len(subject_missing)
    assert choice.chosen_track == 0                                    # first seen in frame 0
    assert choice.position_px == pytest.approx((600.0, 560.0), abs=5.0)
    assert "2 people tracked" in choice.reason and f"{both} frames with more than one" in choice.reason
    # the series carries the clip's fields and records the choice
    np.testing.assert_array_equal(series.time_s, t)
    np.testing.assert_array_equal(series.frame_index, idx)
    assert series.frame_size_px == FRAME and series.source == "clip.mp4" and series.fps == 30.0
    assert series.kind == "video" and series.person == choice


def test_chosen_track_number_follows_first_appearance():
    n = 20
    people, subject = clip(n, subject_missing={0, 1}, examiner_missing=set(), seed=3)
    series, choice = choose_subject(people, *times(n), FRAME)
    assert choice.chosen_track == 1                     # the examiner was seen first
    assert choice.n_tracks == 2 and choice.chosen_frames == n - 2
    assert not series.detected[:2].any() and series.detected[2:].all()
    assert (series.world_m[2:] == 1.0).all()


def test_one_person_in_the_clip():
    n = 30
    people, subject = clip(n, subject_missing={3, 4}, examiner_missing=set(range(n)))
    series, choice = choose_subject(people, *times(n), FRAME)
    assert choice.reason == "one person in the clip"
    assert (choice.max_people_in_frame, choice.frames_with_several, choice.n_tracks,
            choice.chosen_track, choice.chosen_frames) == (1, 0, 1, 0, n - 2)
    np.testing.assert_array_equal(series.detected, [s is not None for s in subject])
    # a lone standing person is still kept: there is no one else
    people = [[body(1400.0, seated=False, tag=2.0)] for _ in range(n)]
    series, choice = choose_subject(people, *times(n), FRAME)
    assert choice.reason == "one person in the clip" and series.detected.all()


def test_nobody_in_the_clip():
    n = 12
    t, idx = times(n)
    series, choice = choose_subject([[] for _ in range(n)], t, idx, FRAME, source="empty.mp4")
    assert isinstance(series, LandmarkSeries) and len(series) == n
    assert not series.detected.any()
    for name in ("image_px", "world_m", "visibility", "presence"):
        assert np.isnan(getattr(series, name)).all()
    np.testing.assert_array_equal(series.time_s, t)
    assert series.source == "empty.mp4"
    assert choice == PersonChoice(0, 0, 0, -1, 0, None, "nobody was detected in any frame")
    assert choice.to_dict()["position_px"] is None


def test_no_frames_at_all():
    series, choice = choose_subject([], np.zeros(0), np.zeros(0, dtype=np.int64), FRAME)
    assert len(series) == 0 and choice.n_tracks == 0


def test_person_lost_for_a_while_is_picked_up_again_on_the_same_track():
    # The subject shifts by 400 px (0.66 × their 610 px size) during a 30-frame gap: too far for the
    # frame-to-frame gate (0.5), within the gate that grows while a person is unseen.
    people = []
    for f in range(70):
        x = 600.0 if f < 20 else 600.0 + 0.8 * 500.0
        people.append([] if 20 <= f < 50 else [body(x, seated=True, tag=1.0)])
    t, idx = times(70)
    series, choice = choose_subject(people, t, idx, FRAME)
    assert choice.n_tracks == 1
    assert choice.chosen_frames == 40
    assert series.detected[:20].all() and series.detected[50:].all()
    assert not series.detected[20:50].any()


def test_a_person_detected_twice_in_a_frame_stays_one_track():
    # The model sometimes returns the same person twice (slightly shifted copies). The copy
    # must not start a second track that then takes frames away from the subject.
    rng = np.random.default_rng(5)
    people = []
    for f in range(40):
        s = body(600.0, seated=True, tag=1.0, rng=rng)
        frame = [s]
        if f % 3 == 0:
            copy = body(600.0 + 15.0, seated=True, tag=3.0, rng=rng, vis=0.8)
            frame.append(copy)
        people.append(frame)
    t, idx = times(40)
    series, choice = choose_subject(people, t, idx, FRAME)
    assert choice.n_tracks == 1
    assert series.detected.all()
    assert np.all(series.world_m[:, 0, 0] == 1.0)       # always the more visible detection
