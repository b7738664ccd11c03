"""The pose-model adapter (:mod:`hiprom.vision.pose`) on rendered frames of ``samples/seated_ir_right.mp4``:
units and shapes, image vs video mode, timestamps, masks that outlive later frames, and
broken model files.

Needs the pose model (``shared_model_path``: skipped outside CI when missing, a failure in
CI). A few frames per test; the truth is the clip's ``samples/gt.json``.
"""

from __future__ import annotations

import gc
import io
import json
import multiprocessing
import os
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import REPO

from hiprom.core.landmarks import LM
from hiprom.errors import ModelError
from hiprom.vision.model_store import ModelInfo, resolve_model
from hiprom.vision.pose import PoseModel

CLIP = REPO / "samples" / "seated_ir_right.mp4"
FRAMES = (0, 30, 66, 100, 160, 200)      # rest, rest, right IR 38° hold, back, ER -30° hold, back
LEG = {"hip_L": LM.LEFT_HIP, "hip_R": LM.RIGHT_HIP, "knee_L": LM.LEFT_KNEE, "knee_R": LM.RIGHT_KNEE,
       "ankle_L": LM.LEFT_ANKLE, "ankle_R": LM.RIGHT_ANKLE}
#: Landmark vs the renderer's joint centre, pixels. The model's hip, knee and ankle are not
#: the rig's joint centres (seen 5-25 px apart on this 540x960 clip, shank about 170 px):
#: 35 px (a fifth of the shank) still tells pixels from normalised or swapped coordinates.
TOL_JOINT_PX = 35.0

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model_info(shared_model_path: Path) -> ModelInfo:
    return resolve_model(shared_model_path, progress=False)


@pytest.fixture(scope="module")
def truth() -> list[dict]:
    return json.loads((REPO / "samples" / "gt.json").read_text())["clips"]["seated_ir_right"]["frames"]


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    """RGB frames of the sample clip (540x960, portrait), by index."""
    cap = cv2.VideoCapture(str(CLIP))
    out = {}
    for i in range(max(FRAMES) + 1):
        ok, bgr = cap.read()
        assert ok, f"{CLIP}: frame {i} could not be read"
        if i in FRAMES:
            out[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    cap.release()
    return out


@pytest.fixture(scope="module")
def photo_model(model_info: ModelInfo):
    """Image mode with segmentation masks, shared by the tests that do not depend on its state."""
    with PoseModel(model_info, mode="image", max_people=2, segmentation=True) as model:
        yield model


class RecordingLandmarker:
    """Wraps the real MediaPipe landmarker and logs which call each frame went to."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def detect_for_video(self, image, stamp_ms):
        self.calls.append(("video", stamp_ms))
        return self.real.detect_for_video(image, stamp_ms)

    def detect(self, image):
        self.calls.append(("image", None))
        return self.real.detect(image)

    def close(self):
        self.real.close()


# --- landmarks ------------------------------------------------------------------------------------------

def test_landmarks_of_a_seated_person_are_in_pixels(photo_model, frames, truth):
    for f in (0, 66, 160):
        people = photo_model.detect(frames[f])
        assert len(people) == 1, f"frame {f}: one person is rendered"    # max_people 2, one found
        p = people[0]
        assert p.image_px.shape == (33, 3) and p.world_m.shape == (33, 3)
        assert p.visibility.shape == (33,) and p.presence.shape == (33,)
        for name, idx in LEG.items():
            err = np.hypot(*(p.image_px[idx, :2] - truth[f]["joints_2d"][name]))
            assert err <= TOL_JOINT_PX, f"frame {f} {name}: {p.image_px[idx, :2]} vs {truth[f]['joints_2d'][name]}"
        # seated, shanks hanging: each knee is above its ankle in the image (y down)
        for knee, ankle in ((LM.LEFT_KNEE, LM.LEFT_ANKLE), (LM.RIGHT_KNEE, LM.RIGHT_ANKLE)):
            assert p.image_px[knee, 1] < p.image_px[ankle, 1]
        for scores in (p.visibility, p.presence):
            assert np.all((scores >= 0.0) & (scores <= 1.0))
        # legs in shorts, in full view: well above hiprom's quality bar for the legs (0.7)
        assert p.visibility[list(LEG.values())].min() > 0.9


def test_world_landmarks_are_metres_from_between_the_hips(photo_model, frames, truth):
    p = photo_model.detect(frames[0])[0]
    w = p.world_m
    np.testing.assert_allclose((w[LM.LEFT_HIP] + w[LM.RIGHT_HIP]) / 2, 0.0, atol=0.02)   # origin, within 2 cm
    # metres: the rendered shank (knee to ankle joint centre) is 0.48 m. The model takes its
    # world scale from an average body, so its length may be off by tens of percent: accept
    # half to one and a half times it (pixels would read about 170, normalised units 0.18)
    knee, ankle = np.array(truth[0]["joints_3d"]["knee_R"]), np.array(truth[0]["joints_3d"]["ankle_R"])
    true_shank = float(np.linalg.norm(ankle - knee))
    for k, a in ((LM.LEFT_KNEE, LM.LEFT_ANKLE), (LM.RIGHT_KNEE, LM.RIGHT_ANKLE)):
        assert 0.5 * true_shank <= np.linalg.norm(w[a] - w[k]) <= 1.5 * true_shank


def test_a_blank_frame_gives_nobody(photo_model, model_info):
    blank = np.zeros((960, 540, 3), np.uint8)
    assert photo_model.detect(blank) == []
    with PoseModel(model_info, mode="video", max_people=1) as video:
        assert video.detect(blank, 0.0) == []


# --- image and video mode --------------------------------------------------------------------------------

def test_image_mode_treats_frames_as_independent_photos(photo_model, frames):
    spy = RecordingLandmarker(photo_model._landmarker)
    photo_model._landmarker = spy
    try:
        # times are ignored, even going backwards; the same photo twice gives the same landmarks
        first = photo_model.detect(frames[66], 5.0)[0]
        photo_model.detect(frames[0], 1.0)
        again = photo_model.detect(frames[66], 1.0)[0]
    finally:
        photo_model._landmarker = spy.real
    assert spy.calls == [("image", None)] * 3
    np.testing.assert_array_equal(first.image_px, again.image_px)


def test_video_mode_nudges_equal_and_backward_times_forward(model_info, frames):
    with PoseModel(model_info, mode="video", max_people=1) as video:
        spy = RecordingLandmarker(video._landmarker)
        video._landmarker = spy
        found = [len(video.detect(frames[f], t)) for f, t in
                 ((0, 0.1), (30, 0.1), (66, 0.05), (100, 0.1336), (160, 0.1337), (200, 0.2))]
    # whole milliseconds (rounded), strictly increasing: 100, equal -> 101, backward -> 102,
    # 133.6 -> 134, 133.7 -> 134 (equal) -> 135, 200
    assert spy.calls == [("video", ms) for ms in (100, 101, 102, 134, 135, 200)]
    assert found == [1] * 6


def test_video_mode_first_frame_matches_image_mode(model_info, photo_model, frames):
    # with nothing to track yet, the first video frame is a fresh detection, as in image mode
    photo = photo_model.detect(frames[66])[0]
    with PoseModel(model_info, mode="video", max_people=2) as video:
        first = video.detect(frames[66], 0.0)[0]
    # 1 px: the same network on the same pixels; allows for a different inference path
    np.testing.assert_allclose(first.image_px[list(LEG.values()), :2], photo.image_px[list(LEG.values()), :2],
                               atol=1.0)


def test_unknown_mode_is_refused(model_info):
    with pytest.raises(ValueError, match="mode must be 'video' or 'image', got 'stream'"):
        PoseModel(model_info, mode="stream")


# --- masks --------------------------------------------------------------------------------------------------

def test_segmentation_mask_covers_the_person(photo_model, frames, truth):
    import mediapipe as mp

    p = photo_model.detect(frames[66])[0]
    assert p.mask is not None and p.mask.shape == (960, 540)     # the frame's H x W
    assert p.mask.min() >= 0.0 and p.mask.max() <= 1.0
    # the mask is a view of the native image kept in mask_owner
    assert isinstance(p.mask_owner, mp.Image)
    assert np.shares_memory(p.mask, p.mask_owner.numpy_view())
    # person at the true knees, wall in the top corners
    for name in ("knee_L", "knee_R"):
        x, y = np.round(truth[66]["joints_2d"][name]).astype(int)
        assert p.mask[y, x] > 0.5, name
    assert p.mask[5, 5] < 0.5 and p.mask[5, 534] < 0.5


def _mask_after_more_frames(model_path: str, clip_frames: list[np.ndarray]) -> None:
    """Child process: exit 0 if the first frame's mask still holds its values after five more
    detections and a garbage collection, 3 if they changed (a crash shows as a signal)."""
    with PoseModel(resolve_model(model_path, progress=False), mode="video", max_people=2,
                   segmentation=True) as video:
        person = video.detect(clip_frames[0], 0.0)[0]
        mask = person.mask
        copy = mask.copy()
        for k, rgb in enumerate(clip_frames[1:]):
            video.detect(rgb, (k + 1) / 30.0)
        gc.collect()
        same = np.array_equal(mask, copy)
    sys.exit(0 if same else 3)


def test_mask_stays_valid_after_more_detections_and_gc(shared_model_path: Path, frames):
    """Regression: the mask is a view of memory owned by a native image; once that image was
    dropped, later frames reused the pixels under the view, and reading it could crash the
    process. Run in a child process so a crash fails this test, not the whole session."""
    child = multiprocessing.get_context("spawn").Process(
        target=_mask_after_more_frames, args=(str(shared_model_path), [frames[f] for f in FRAMES]))
    child.start()
    child.join(120)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0, {
        3: "the mask's values changed after later detections", None: "the child process hung",
    }.get(child.exitcode, f"the child process died reading the mask (exit code {child.exitcode})")


def test_no_mask_without_segmentation(model_info, frames):
    with PoseModel(model_info, mode="image", max_people=1, segmentation=False) as model:
        p = model.detect(frames[0])[0]
    assert p.mask is None and p.mask_owner is None


# --- broken model files ------------------------------------------------------------------------------------

def test_a_broken_model_file_is_a_model_error_naming_it(tmp_path: Path, capfd, monkeypatch):
    # a zip with both members that are not models (resolve_model would refuse it: bypassed here
    # to check that MediaPipe's own failure is reported cleanly too)
    path = tmp_path / "broken.task"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pose_detector.tflite", b"not a model" * 20)
        zf.writestr("pose_landmarks_detector.tflite", b"not a model either" * 20)
    info = ModelInfo(path, None, "argument", "0" * 64, path.stat().st_size)
    # sys.stderr is a Python-level stream here (an application's log, a notebook): the native
    # library still writes to file descriptor 2, and that is what must be kept quiet
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(ModelError) as caught:
        PoseModel(info, mode="image")
    err = caught.value
    assert err.path == path
    assert str(err).startswith(f"{path}: the pose model could not be loaded: ")
    assert "MediaPipe pose_landmarker .task bundle" in err.fix
    # the native log line is quoted in the error, kept off fd 2, and fd 2 works again afterwards
    native = err.what.rsplit("ERROR: ", 1)
    assert len(native) == 2 and native[1], f"the native log line is not quoted: {err.what!r}"
    os.write(2, b"after the failure\n")
    assert capfd.readouterr().err == "after the failure\n"


def test_a_file_that_is_not_a_zip_is_a_model_error_naming_it(tmp_path: Path):
    path = tmp_path / "garbage.task"
    path.write_bytes(b"garbage" * 100)
    info = ModelInfo(path, None, "argument", "0" * 64, 700)     # bypasses resolve_model's check on purpose
    with pytest.raises(ModelError, match="could not be loaded") as caught:
        PoseModel(info, mode="video")
    assert caught.value.path == path and str(caught.value).startswith(f"{path}: ")
