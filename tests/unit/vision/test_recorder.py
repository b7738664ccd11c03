"""The frame-by-frame recorder (:mod:`hiprom.vision.recorder`): when frames are searched for level
lines, masks dropped once the shank lines are measured, and the series it returns.

The pose model and the level-line search are replaced with small fakes (no model needed; the
real model on three frames of the sample clip: tests/e2e/test_recorder.py).
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest

import hiprom.vision.recorder as recorder_mod
from hiprom.config import Config
from hiprom.core.capture import Capture, SceneLine, ShankLines
from hiprom.core.landmarks import LM, N_LANDMARKS
from hiprom.vision.model_store import ModelInfo
from hiprom.vision.pose import PoseCandidate
from hiprom.vision.recorder import MAX_SCENE_SAMPLES, LandmarkRecorder
from hiprom.vision.scene import LineRoll

FPS = 30.0
MODEL = ModelInfo(Path("/models/pose_landmarker_full.task"), "full", "argument", "0123456789ab" + "f" * 52, 1)
FRAME = np.zeros((8, 8, 3), np.uint8)      # the fakes never look at the pixels


# --- fakes ----------------------------------------------------------------------------------------

class FakePose:
    """Stands in for PoseModel: returns the people queued in ``plan`` (one list per call), or
    else what ``FakePose.answer(pose, time_s, view)`` says (set by a test), or nobody."""

    made: list["FakePose"] = []
    answer = None

    def __init__(self, model, **options):
        self.model, self.options = model, options
        self.plan: list[list[PoseCandidate]] = []
        self.times: list[float] = []
        self.views: list = []
        self.closed = False
        FakePose.made.append(self)

    def detect(self, rgb, time_s=0.0, view=None):
        self.times.append(time_s)
        self.views.append(view)
        if self.plan:
            return self.plan.pop(0)
        return FakePose.answer(self, time_s, view) if FakePose.answer is not None else []

    def close(self):
        self.closed = True


class FakeLines:
    """Stands in for level_line_roll_deg: logs the frame index it was called on (set by the
    test in ``index``) and answers ``answer(index)`` (a LineRoll or None)."""

    def __init__(self, answer):
        self.answer, self.index, self.searched = answer, -1, []

    def __call__(self, rgb):
        self.searched.append(self.index)
        return self.answer(self.index)


@pytest.fixture
def fake_pose(monkeypatch):
    FakePose.made = []
    FakePose.answer = None
    monkeypatch.setattr(recorder_mod, "PoseModel", FakePose)
    return FakePose


def install_lines(monkeypatch, answer) -> FakeLines:
    lines = FakeLines(answer)
    monkeypatch.setattr(recorder_mod, "level_line_roll_deg", lines)
    return lines


def feed(rec: LandmarkRecorder, lines: FakeLines, stop: int, *, start: int = 0, t0: float = 0.0,
         fps: float = FPS) -> None:
    """Add frames ``start..stop-1`` of a clip at ``fps`` whose clock starts at ``t0``."""
    for i in range(start, stop):
        lines.index = i
        rec.add(FRAME, t0 + i / fps, index=i)


def seated(hip_x: float = 500.0, vis: float = 0.95, mask: np.ndarray | None = None, owner=None) -> PoseCandidate:
    """A seated subject seen from the front (their left on the image right): hips at y 400,
    knees level with them, shanks hanging straight down to y 600."""
    img = np.zeros((N_LANDMARKS, 3))
    img[:, :2] = hip_x, 150.0
    for (left, right), y, half in (((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), 200.0, 60.0),
                                   ((LM.LEFT_HIP, LM.RIGHT_HIP), 400.0, 40.0),
                                   ((LM.LEFT_KNEE, LM.RIGHT_KNEE), 400.0, 50.0),
                                   ((LM.LEFT_ANKLE, LM.RIGHT_ANKLE), 600.0, 50.0)):
        img[left, :2] = hip_x + half, y
        img[right, :2] = hip_x - half, y
    return PoseCandidate(img, np.full(N_LANDMARKS, vis), np.full(N_LANDMARKS, 0.99),
                         np.zeros((N_LANDMARKS, 3)), mask, mask_owner=owner)


# --- scene-line sampling schedule -----------------------------------------------------------------

DENSE_PROBE = list(range(0, 30, 3))        # a frame every 0.1 s of the first second at 30 fps


@pytest.mark.parametrize("expected_frames, frames, sparse", [
    # stride = expected_frames // 8 = 30: every 30th frame after the probe, to the clip's end
    (240, 240, list(range(30, 240, 30))),
    # frame count unknown (live): a stride of 15 frames, and 16 sparse searches at most
    (None, 400, list(range(30, 30 + 16 * 15, 15))),
])
@pytest.mark.parametrize("t0", [0.0, 100.0])        # a live stream's clock need not start at 0
def test_fixed_camera_samples_every_tenth_of_a_second_for_one_second_then_sparsely_up_to_the_cap(
        fake_pose, monkeypatch, expected_frames, frames, sparse, t0):
    lines = install_lines(monkeypatch, lambda i: LineRoll(1.5, 0.9, 400.0))    # the same roll everywhere
    rec = LandmarkRecorder(MODEL, expected_frames=expected_frames)
    feed(rec, lines, 30, t0=t0)
    assert rec.hand_held is None                     # still probing: frame 29 is at 0.967 s
    feed(rec, lines, frames, start=30, t0=t0)
    assert rec.hand_held is False
    assert lines.searched == DENSE_PROBE + sparse
    assert len(sparse) <= MAX_SCENE_SAMPLES == 16
    assert [s.frame for s in rec.scene_lines] == DENSE_PROBE + sparse
    assert rec.scene_lines[0] == SceneLine(0, 1.5, 0.9, 400.0)


def test_hand_held_camera_samples_every_tenth_of_a_second_for_the_whole_clip(fake_pose, monkeypatch):
    # the roll found alternates between 0.0 and 0.5 degrees (spread 0.5 > 0.3): hand-held
    lines = install_lines(monkeypatch, lambda i: LineRoll(0.5 * ((i // 3) % 2), 0.8, 400.0))
    rec = LandmarkRecorder(MODEL, expected_frames=240)
    feed(rec, lines, 240)
    assert rec.hand_held is True
    assert lines.searched == list(range(0, 240, 3))
    assert len(rec.scene_lines) == 80                # no cap while following a hand-held roll


@pytest.mark.parametrize("roll, support", [
    (lambda i: 0.3 * ((i // 3) % 2), 0.8),           # spread exactly 0.3: not more than 0.3
    (lambda i: 2.0 * ((i // 3) % 2), 0.29),          # large spread, but every sample below 0.3 support
], ids=["spread-exactly-0.3", "support-below-0.3"])
def test_steady_or_weakly_supported_rolls_mean_a_fixed_camera(fake_pose, monkeypatch, roll, support):
    lines = install_lines(monkeypatch, lambda i: LineRoll(roll(i), support, 400.0))
    rec = LandmarkRecorder(MODEL, expected_frames=240)
    feed(rec, lines, 240)
    assert rec.hand_held is False
    assert lines.searched == DENSE_PROBE + list(range(30, 240, 30))


def test_fewer_than_three_rolls_mean_a_fixed_camera_and_the_cap_counts_searches_not_finds(fake_pose, monkeypatch):
    # lines only in frames 0 and 3, with very different rolls: two values cannot show a hand-held camera
    lines = install_lines(monkeypatch, lambda i: LineRoll(-3.0 if i == 0 else 3.0, 0.9, 400.0) if i in (0, 3)
                          else None)
    rec = LandmarkRecorder(MODEL)                    # a live stream: stride 15
    feed(rec, lines, 1800)                           # a minute in which no line is found after frame 3
    assert rec.hand_held is False
    assert lines.searched == DENSE_PROBE + list(range(30, 30 + 16 * 15, 15))
    assert [s.frame for s in rec.scene_lines] == [0, 3]


@pytest.mark.parametrize("fps, probe", [
    (15.0, [0, 2, 4, 6, 8, 10, 12, 14]),             # 0.133 s apart: the first frame >= 0.1 s after the last
    (60.0, list(range(0, 60, 6))),                   # 10 searches at any frame rate
])
def test_the_probe_is_timed_not_counted_in_frames(fake_pose, monkeypatch, fps, probe):
    lines = install_lines(monkeypatch, lambda i: LineRoll(1.0, 0.9, 400.0))
    frames = int(8 * fps)
    rec = LandmarkRecorder(MODEL, expected_frames=frames)           # stride frames // 8 = 1 s
    feed(rec, lines, frames, fps=fps)
    stride = frames // 8
    assert lines.searched == probe + list(range(stride, frames, stride))


def test_forget_drops_what_was_kept_and_probes_again(fake_pose, monkeypatch):
    lines = install_lines(monkeypatch, lambda i: LineRoll(1.0, 0.9, 400.0))
    rec = LandmarkRecorder(MODEL)
    feed(rec, lines, 60)
    assert rec.hand_held is False and len(rec) == 60
    rec.forget()
    assert len(rec) == 0 and rec.scene_lines == [] and rec.hand_held is None
    lines.searched.clear()
    feed(rec, lines, 120, start=60)                  # the clock goes on: 2.0 s to 4.0 s
    assert lines.searched == list(range(60, 90, 3)) + [90, 105]
    assert [s.frame for s in rec.scene_lines] == lines.searched
    assert len(rec) == 60


def test_photos_are_searched_until_the_cap_is_reached(fake_pose, monkeypatch):
    lines = install_lines(monkeypatch, lambda i: LineRoll(0.0, 0.9, 400.0))
    rec = LandmarkRecorder(MODEL, mode="image")
    feed(rec, lines, 20)
    assert lines.searched == list(range(MAX_SCENE_SAMPLES))
    assert rec.hand_held is None                    # no probe for photos


# --- the pose model and masks -----------------------------------------------------------------------

def test_pose_model_is_set_up_from_the_config_and_closed(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    config = Config().with_overrides({"model.max_people": 1, "model.min_detection_confidence": 0.6,
                                      "model.min_presence_confidence": 0.55, "model.min_tracking_confidence": 0.4,
                                      "geometry.silhouette": False})
    with LandmarkRecorder(MODEL, config, mode="image") as rec:
        pose = fake_pose.made[-1]
        assert pose.model is MODEL
        assert pose.options == {"mode": "image", "max_people": 1, "min_detection_confidence": 0.6,
                                "min_presence_confidence": 0.55, "min_tracking_confidence": 0.4,
                                "segmentation": False}
        assert not pose.closed
        rec.add(FRAME, 0.25)
        assert pose.times == [0.25, 0.25]             # a photo is read as taken and mirrored
    assert pose.closed
    LandmarkRecorder(MODEL)                          # defaults: video, 2 people, masks for the silhouette
    assert fake_pose.made[-1].options["mode"] == "video"
    assert fake_pose.made[-1].options["max_people"] == 2
    assert fake_pose.made[-1].options["segmentation"] is True


def leg_mask(height: int = 720, width: int = 1000) -> np.ndarray:
    """Two hanging shanks, 21 px wide, from y 400 to 600: the subject's left one over columns
    540-560 (axis x = 550), the right one over 440-460 (axis x = 450)."""
    mask = np.zeros((height, width), np.float32)
    mask[400:601, 540:561] = 1.0
    mask[400:601, 440:461] = 1.0
    return mask


class Owner:
    """Stands in for the native image a mask is a view of."""


def test_shank_lines_are_measured_then_the_mask_and_its_owner_are_dropped(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL, expected_frames=10)
    owner = Owner()
    alive = weakref.ref(owner)
    # the landmarks put both ankles and knees 5 px off the mask's axes: the lines must follow the mask
    person = seated(mask=leg_mask(), owner=owner)
    img = person.image_px.copy()
    img[[LM.LEFT_KNEE, LM.LEFT_ANKLE], 0] += 5.0
    img[[LM.RIGHT_KNEE, LM.RIGHT_ANKLE], 0] -= 5.0
    fake_pose.made[-1].plan.append([PoseCandidate(img, person.visibility, person.presence, person.world_m,
                                                  person.mask, mask_owner=owner)])
    del person, owner
    returned = rec.add(FRAME, 0.0)
    kept = rec.people[0][0]
    assert returned[0] is kept
    assert kept.mask is None and kept.mask_owner is None
    gc.collect()
    assert alive() is None                           # nothing keeps the native image alive any more
    assert isinstance(kept.shank, ShankLines) and len(kept.shank) == 1
    # midlines on the mask axes, fitted between 15 % and 85 % of the 200 px knee->ankle span
    want_mid = [[[550.0, 430.0], [550.0, 570.0]], [[450.0, 430.0], [450.0, 570.0]]]
    # 0.01 px: the middle of a symmetric run is exact, up to float32 sampling
    np.testing.assert_allclose(kept.shank.mid_px[0], want_mid, atol=0.01)
    # lateral edges, away from the midline in a front view: the left shank's on the image right
    # (border between columns 560 and 561), the right one's on the image left (439 | 440);
    # 1 px for where exactly a sub-pixel edge is put
    np.testing.assert_allclose(kept.shank.lateral_px[0][:, :, 0], [[560.5, 560.5], [439.5, 439.5]], atol=1.0)
    np.testing.assert_array_equal(kept.shank.clean[0], [1.0, 1.0])


def test_seen_from_behind_the_lateral_edges_swap_sides(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL, expected_frames=10)
    front = seated(mask=leg_mask(), owner=Owner())
    img = front.image_px.copy()
    img[:, 0] = 1000.0 - img[:, 0]                 # mirrored: the subject's left now on the image left
    fake_pose.made[-1].plan.append([PoseCandidate(img, front.visibility, front.presence, front.world_m,
                                                  leg_mask()[:, ::-1].copy(), mask_owner=Owner())])
    kept = rec.add(FRAME, 0.0)[0]
    # the shanks sit over columns 439-459 (left, axis 449) and 539-559 (right, axis 549); now the
    # left shank's lateral edge is on the image left, the right one's on the image right
    np.testing.assert_allclose(kept.shank.mid_px[0][:, 0, 0], [449.0, 549.0], atol=0.01)
    np.testing.assert_allclose(kept.shank.lateral_px[0][:, 0, 0], [438.5, 559.5], atol=1.0)


def test_a_person_without_a_mask_is_kept_as_found(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL, Config().with_overrides({"geometry.silhouette": False}))
    person = seated()
    fake_pose.made[-1].plan.append([person])
    assert rec.add(FRAME, 0.0) == [person]
    assert rec.people[0][0] is person and person.shank is None


# --- series ------------------------------------------------------------------------------------------

def test_series_has_nan_rows_where_nobody_was_found(fake_pose, monkeypatch):
    lines = install_lines(monkeypatch, lambda i: LineRoll(0.75, 0.9, 300.0))
    rec = LandmarkRecorder(MODEL, Config().with_overrides({"video.model_every": 1}), expected_frames=5)
    people = [seated(hip_x=500.0 + f, mask=leg_mask(), owner=Owner()) for f in range(5)]
    found = [True, False, True, False, True]
    fake_pose.made[-1].plan.extend([[p] if ok else [] for p, ok in zip(people, found)])
    times = [10.0, 10.04, 10.07, 10.1, 10.14]
    for k, t in enumerate(times):
        lines.index = 100 + k
        rec.add(FRAME, t, index=100 + k)
    assert lines.searched == [100, 103]             # the probe goes by time: 10.0 s, then 10.1 s
    assert len(rec) == 5
    series, choice = rec.series((1000, 720), source="clip.mp4", fps=25.0, capture=Capture(kind="video"))
    np.testing.assert_array_equal(series.detected, found)
    np.testing.assert_array_equal(series.time_s, times)
    np.testing.assert_array_equal(series.frame_index, [100, 101, 102, 103, 104])
    for f in (0, 2, 4):
        np.testing.assert_array_equal(series.image_px[f], people[f].image_px)
        np.testing.assert_array_equal(series.visibility[f], people[f].visibility)
    for f in (1, 3):
        assert np.isnan(series.image_px[f]).all() and np.isnan(series.visibility[f]).all()
        assert np.isnan(series.world_m[f]).all() and np.isnan(series.presence[f]).all()
    mid = series.shank_lines.mid_px
    assert mid.shape == (5, 2, 2, 2)
    assert np.isnan(mid[[1, 3]]).all()
    np.testing.assert_allclose(mid[[0, 2, 4], 0, :, 0], 550.0, atol=0.01)   # the mask does not move
    assert (series.frame_size_px, series.source, series.fps) == ((1000, 720), "clip.mp4", 25.0)
    assert series.model == "full:pose_landmarker_full.task:sha256=0123456789ab"
    assert series.kind == "video"
    assert series.capture.max_people == 2
    assert series.scene_lines == tuple(SceneLine(f, 0.75, 0.9, 300.0) for f in (100, 103))
    assert series.capture.hand_held is False     # undecided (clip shorter than the probe): fixed
    assert choice.chosen_frames == 3 and choice.n_tracks == 1
    assert series.person == choice


def test_series_of_photos_is_numbered_not_timed(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL, Config().with_overrides({"model.mirror_photos": False}), mode="image")
    fake_pose.made[-1].plan.extend([[seated()], [seated()], [seated()]])
    for t in (0.0, 0.0, 0.0):                        # photos have no time: all at 0
        rec.add(FRAME, t)
    series, _ = rec.series((1000, 720))
    np.testing.assert_array_equal(series.time_s, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(series.frame_index, [0, 1, 2])
    assert series.detected.all() and not series.capture.mirror_pairs


def test_each_photo_is_read_again_mirrored_and_mapped_back(fake_pose, monkeypatch):
    """The second reading of a photo comes from the mirrored image: its person is put back in
    the photo's pixels (x -> width - x) and sides (the mirrored person's left leg is the
    subject's right), and both readings share the photo's frame index."""
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL, Config().with_overrides({"geometry.silhouette": False}), mode="image")
    photo = seated(hip_x=400.0)
    seen_mirrored = seated(hip_x=1000.0 - 400.0)
    img = seen_mirrored.image_px.copy()
    img[LM.LEFT_KNEE, 0] += 7.0            # a detail that must come back as the right knee
    seen_mirrored = PoseCandidate(img, seen_mirrored.visibility, seen_mirrored.presence, seen_mirrored.world_m)
    fake_pose.made[-1].plan.extend([[photo], [seen_mirrored]])
    rec.add(np.zeros((720, 1000, 3), np.uint8), 0.0)       # 1000 px wide: x -> 1000 - x
    series, _ = rec.series((1000, 720))
    np.testing.assert_array_equal(series.frame_index, [0, 0])
    assert series.capture.mirror_pairs
    back = series.image_px[1]
    assert back[LM.RIGHT_KNEE, 0] == pytest.approx(1000.0 - img[LM.LEFT_KNEE, 0])
    np.testing.assert_allclose(back[LM.LEFT_HIP, :2], photo.image_px[LM.LEFT_HIP, :2])
    np.testing.assert_allclose(back[LM.RIGHT_ANKLE, :2], photo.image_px[LM.RIGHT_ANKLE, :2])


def test_nobody_in_any_frame_gives_an_all_nan_series(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    rec = LandmarkRecorder(MODEL)
    for i in range(4):
        rec.add(FRAME, i / FPS)
    series, choice = rec.series((1000, 720))
    assert series.n_frames == 4 and not series.detected.any()
    assert choice.reason == "nobody was detected in any frame"


# --- which frames the model sees, and how many people it looks for ---------------------------------------

BIG = np.zeros((720, 1000, 3), np.uint8)   # frame size matters from here on: the subject's box lies in it


def standing(hip_x: float) -> PoseCandidate:
    """An examiner standing (knees well below the hips), front view."""
    img = np.zeros((N_LANDMARKS, 3))
    img[:, :2] = hip_x, 60.0
    for (left, right), y, half in (((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), 120.0, 60.0),
                                   ((LM.LEFT_HIP, LM.RIGHT_HIP), 330.0, 40.0),
                                   ((LM.LEFT_KNEE, LM.RIGHT_KNEE), 500.0, 45.0),
                                   ((LM.LEFT_ANKLE, LM.RIGHT_ANKLE), 680.0, 45.0)):
        img[left, :2] = hip_x + half, y
        img[right, :2] = hip_x - half, y
    return PoseCandidate(img, np.full(N_LANDMARKS, 0.95), np.full(N_LANDMARKS, 0.99), np.zeros((N_LANDMARKS, 3)))


def test_after_the_choosing_second_the_subject_alone_is_followed_in_a_box(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    subject, examiner = seated(300.0), standing(800.0)
    FakePose.answer = lambda pose, t, view: [subject] if pose.options["max_people"] == 1 else [examiner, subject]
    rec = LandmarkRecorder(MODEL, Config().with_overrides({"video.model_every": 1}), expected_frames=120)
    for i in range(120):
        rec.add(BIG, i / FPS, index=i)
    wide, narrow = fake_pose.made
    assert (wide.options["max_people"], narrow.options["max_people"]) == (2, 1)
    assert narrow.options["segmentation"] is True and narrow.options["mode"] == "video"
    # 0 .. 1.0 s (31 frames) look for two people in the whole frame, then for the subject in a box;
    # 2 s after the choice, one more whole-frame look for others
    assert wide.times == pytest.approx([i / FPS for i in range(31)] + [3.0])
    assert narrow.times == pytest.approx([i / FPS for i in range(31, 120) if i != 90])
    box = narrow.views[0]
    assert box == narrow.views[-1]
    # the subject's landmarks span x 240..360, y 150..600 (450 px): 0.35 x 450 = 157.5 px to each side
    assert (box.x0, box.x1, box.y0, box.y1) == (82, 518, 82, 668)
    assert all(v is None or (v.x0, v.y0, v.x1, v.y1) == (0, 0, 1000, 720) for v in wide.views)
    series, choice = rec.series((1000, 720))
    assert series.detected.all()
    assert choice.position_px == pytest.approx((300.0, 400.0))
    assert choice.max_people_in_frame == 2 and choice.frames_with_several == 32
    assert series.model_seen is None                  # every frame seen


def test_resting_legs_let_the_model_skip_frames_that_the_series_fills_in(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)
    # one seated person drifting sideways at 30 px/s, legs at rest
    FakePose.answer = lambda pose, t, view: [seated(300.0 + 30.0 * t)]
    rec = LandmarkRecorder(MODEL, expected_frames=150)              # default: one frame in 3 at most
    returned = [rec.add(BIG, i / FPS, index=i) for i in range(150)]
    seen = np.array([p is not None for p in rec.people])
    assert np.array_equal(seen, [bool(r) for r in returned])
    model_times = sorted({t for pose in fake_pose.made for t in pose.times})   # a re-check: two looks
    assert model_times == pytest.approx([i / FPS for i in np.flatnonzero(seen)])
    gaps = np.diff(np.flatnonzero(seen))
    assert seen[0] and gaps.max() == 3 and seen.mean() < 0.4        # one frame in three, never fewer
    series, _ = rec.series((1000, 720))
    assert series.detected.all()
    # skipped rows are filled in exactly (the drift is linear) and flagged; after the last frame
    # seen, its row is repeated
    last = np.flatnonzero(seen)[-1]
    for f in range(150):
        np.testing.assert_allclose(series.image_px[f], seated(300.0 + 30.0 * min(f, last) / FPS).image_px,
                                   atol=1e-9)
    np.testing.assert_array_equal(series.model_seen, seen)


@pytest.mark.parametrize("skip_frames, mode", [(False, "video"), (True, "image")])
def test_live_mode_and_photos_see_every_frame(fake_pose, monkeypatch, skip_frames, mode):
    install_lines(monkeypatch, lambda i: None)
    FakePose.answer = lambda pose, t, view: [seated(300.0)]
    rec = LandmarkRecorder(MODEL, mode=mode, skip_frames=skip_frames)
    for i in range(90):
        assert rec.add(BIG, i / FPS, index=i)
    assert all(p is not None for p in rec.people)
    if mode == "image":
        assert len(fake_pose.made) == 1 and fake_pose.made[0].options["max_people"] == 2


def test_holds_are_looked_at_the_way_the_subject_was_chosen(fake_pose, monkeypatch):
    install_lines(monkeypatch, lambda i: None)

    def subject(t: float) -> PoseCandidate:
        """The right shank (knee at x 450) turns out to 40° between 1.2 and 2.2 s, holds until 3.5 s."""
        person = seated(500.0)
        deg = 40.0 * min(max(t - 1.2, 0.0), 1.0) if t < 3.5 else 0.0
        person.image_px[LM.RIGHT_ANKLE, :2] = person.image_px[LM.RIGHT_KNEE, :2] + \
            200.0 * np.array([np.sin(np.radians(-deg)), np.cos(np.radians(deg))])
        return person

    FakePose.answer = lambda pose, t, view: [subject(t)]
    rec = LandmarkRecorder(MODEL, expected_frames=120)
    for i in range(120):
        rec.add(BIG, i / FPS, index=i)
    wide, narrow = fake_pose.made
    wide_t = np.array(wide.times)
    # the hold (2.2 .. 3.5 s) is looked at whole-frame (after its first 0.2 s at most), one
    # frame in three; the turn towards it in the box
    in_hold = wide_t[(wide_t > 1.05)]
    assert in_hold.min() <= 2.4 and in_hold.max() >= 3.4 and np.diff(in_hold).max() <= 0.1 + 1e-9
    turn = np.array(narrow.times)
    assert ((turn > 1.4) & (turn < 2.0)).sum() >= 5
    assert rec.series((1000, 720))[0].detected.all()


@pytest.mark.parametrize("mode", ["video", "image"])
def test_frames_are_shrunk_for_the_model_to_the_longest_side_asked_for_videos_only(fake_pose, monkeypatch, mode):
    install_lines(monkeypatch, lambda i: None)
    FakePose.answer = lambda pose, t, view: [seated(300.0)]
    config = Config().with_overrides({"model.max_side_px": 500, "video.model_every": 1})
    rec = LandmarkRecorder(MODEL, config, mode=mode)
    for i in range(40):
        rec.add(BIG, i / FPS, index=i)
    views = [v for pose in fake_pose.made for v in pose.views]
    if mode == "image":
        assert all(v is None or v.scale == 1.0 for v in views)
        return
    wide, narrow = fake_pose.made
    # the whole 1000 x 720 frame at half size; the subject's 436 x 586 px box (see above) at 500/586
    assert {(v.x0, v.y0, v.x1, v.y1, v.scale) for v in wide.views} == {(0, 0, 1000, 720, 0.5)}
    assert {(v.x0, v.y0, v.x1, v.y1) for v in narrow.views} == {(82, 82, 518, 668)}
    assert [v.scale for v in narrow.views] == pytest.approx([500 / 586] * len(narrow.views))
