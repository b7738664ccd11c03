"""Showing the pose model a box of the frame (:class:`hiprom.vision.pose.ModelView`): what it is
given and where its landmarks land in the frame. A stand-in landmarker answers with fixed
normalised landmarks, so the expectations are exact (no model needed)."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest

from hiprom.vision.pose import ModelView, PoseModel

#: normalised landmarks the stand-in returns: x = i / 40, y = 1 - i / 40, z = 0.1
NORM = [(i / 40.0, 1.0 - i / 40.0, 0.1) for i in range(33)]


class StandIn:
    """Logs the image it is given; answers with one person at ``NORM`` and a mask of the image's size."""

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def detect(self, image):
        self.seen.append(image.data)
        h, w = image.data.shape[:2]
        landmarks = [SimpleNamespace(x=x, y=y, z=z, visibility=0.9, presence=0.95) for x, y, z in NORM]
        mask = SimpleNamespace(numpy_view=lambda: np.ones((h, w, 1), np.float32))
        return SimpleNamespace(pose_landmarks=[landmarks], pose_world_landmarks=[], segmentation_masks=[mask])


def stand_in_model() -> tuple[PoseModel, StandIn]:
    model = PoseModel.__new__(PoseModel)
    landmarker = StandIn()
    model.mode, model._last_ms, model._landmarker = "image", -1, landmarker
    model._mp = SimpleNamespace(Image=lambda image_format, data: SimpleNamespace(data=data),
                                ImageFormat=SimpleNamespace(SRGB="srgb"))
    model._stderr = SimpleNamespace(quiet=contextlib.nullcontext)
    return model, landmarker


FRAME = np.arange(720 * 1000 * 3, dtype=np.uint32).reshape(720, 1000, 3).astype(np.uint8)


def test_the_whole_frame_is_given_as_it_is():
    model, landmarker = stand_in_model()
    (person,) = model.detect(FRAME, view=ModelView.whole(1000, 720))
    assert landmarker.seen[0] is FRAME or np.shares_memory(landmarker.seen[0], FRAME)
    np.testing.assert_allclose(person.image_px, np.array(NORM) * [1000, 720, 1000])
    assert person.view is None and person.mask.shape == (720, 1000)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_a_box_is_cut_out_resized_and_its_landmarks_land_in_frame_pixels(scale):
    model, landmarker = stand_in_model()
    view = ModelView(200, 100, 600, 700, scale)
    (person,) = model.detect(FRAME, view=view)
    given = landmarker.seen[0]
    assert given.shape == (int(600 * scale), int(400 * scale), 3) and given.flags["C_CONTIGUOUS"]
    if scale == 1.0:
        np.testing.assert_array_equal(given, FRAME[100:700, 200:600])
    # x, y: box origin + normalised position x box size (frame pixels); z scaled like x
    want = np.array(NORM) * [400, 600, 400] + [200, 100, 0]
    np.testing.assert_allclose(person.image_px, want)
    assert person.view == view and person.mask.shape == given.shape[:2]


def test_views_must_be_boxes_at_a_shrinking_scale():
    with pytest.raises(ValueError, match="empty"):
        ModelView(10, 10, 10, 20)
    with pytest.raises(ValueError, match="scale"):
        ModelView(0, 0, 10, 10, 1.5)
