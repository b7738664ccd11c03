"""Face blurring: the head region is found from the face landmarks, made unrecognisable, and
nothing outside it changes (pure; a textured synthetic frame, no model)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hiprom.core.landmarks import LM, N_LANDMARKS
from hiprom.outputs.privacy import blur_faces, blur_region, head_box

H, W = 480, 640


def _frame(seed: int = 0) -> np.ndarray:
    """Fine random texture: any blur shows as a large change."""
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _pose(dy: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A seated person seen from the front: face around (320, 101 + dy), legs below."""
    p = np.full((N_LANDMARKS, 3), np.nan)
    face = {0: (320, 100), 1: (315, 92), 2: (312, 92), 3: (309, 92), 4: (325, 92), 5: (328, 92),
            6: (331, 92), 7: (340, 98), 8: (300, 98), 9: (326, 110), 10: (314, 110)}
    body = {LM.LEFT_SHOULDER: (380, 170), LM.RIGHT_SHOULDER: (260, 170), LM.LEFT_HIP: (350, 300),
            LM.RIGHT_HIP: (290, 300), LM.LEFT_KNEE: (360, 330), LM.RIGHT_KNEE: (280, 330),
            LM.LEFT_ANKLE: (362, 440), LM.RIGHT_ANKLE: (278, 440)}
    for i, (x, y) in {**face, **body}.items():
        p[i] = (x, y + (dy if i in face else 0.0), 0.0)
    vis = np.where(np.isfinite(p[:, 0]), 0.99, np.nan)
    return p, vis


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_head_box_covers_the_head_scaled_by_the_shoulders():
    p, vis = _pose()
    # face points span x 300..340 (ears 40 px apart), y 92..110; shoulders 120 px apart, so the
    # head scale is 0.45 * 120 = 54 px around the centre (320, 101):
    # x 320 -/+ 0.95*54, y 101 - 1.25*54 .. 101 + 0.95*54
    assert head_box(p, vis, (H, W, 3)) == (268, 33, 372, 153)
    # without shoulders the ears (40 px) set the scale: x 320 -/+ 38, y 101 - 50 .. 101 + 38
    vis_no_shoulders = vis.copy()
    vis_no_shoulders[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER]] = 0.1
    assert head_box(p, vis_no_shoulders, (H, W)) == (282, 51, 358, 139)


def test_blur_changes_the_head_and_nothing_else():
    rgb = _frame()
    before = rgb.copy()
    p, vis = _pose()
    out = blur_faces(rgb, p, vis)
    assert np.array_equal(rgb, before), "the input must not be modified"
    assert out.shape == rgb.shape and out.dtype == np.uint8
    x0, y0, x1, y1 = head_box(p, vis, rgb.shape)
    outside = np.ones((H, W), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], rgb[outside]), "pixels outside the head box changed"
    # legs (knees to ankles) are bit-for-bit the same
    assert np.array_equal(out[320:450, 270:370], rgb[320:450, 270:370])
    head_in, head_out = rgb[y0:y1, x0:x1], out[y0:y1, x0:x1]
    assert _mad(head_in, head_out) > 50  # random texture (mean abs deviation ~64) is gone
    # the detail is gone: the high-frequency energy drops by far more than 10x
    lap = lambda im: float(np.abs(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_32F)).mean())
    assert lap(head_out) < lap(head_in) / 10
    # the colour average is kept (pixelation averages, it does not paint over)
    assert abs(float(head_out.mean()) - float(head_in.mean())) < 3


def test_no_visible_face_returns_an_unchanged_copy():
    rgb = _frame(1)
    p, vis = _pose()
    hidden = vis.copy()
    hidden[list(LM.FACE)] = 0.05
    out = blur_faces(rgb, p, hidden)
    assert out is not rgb and np.array_equal(out, rgb)
    nan_pose = np.full((N_LANDMARKS, 3), np.nan)
    assert head_box(nan_pose, None, rgb.shape) is None
    assert np.array_equal(blur_faces(rgb, nan_pose, None), rgb)


def test_head_at_the_frame_edge_is_clipped():
    p, vis = _pose(dy=-95.0)  # face centre at y = 6: the box would start above the frame
    box = head_box(p, vis, (H, W))
    assert box is not None and box[1] == 0 and box[3] == int(np.ceil(6 + 0.95 * 54))
    out = blur_faces(_frame(2), p, vis)
    assert out.shape == (H, W, 3)


def test_strength_controls_the_block_size_and_is_validated():
    rgb = _frame(3)
    box = (100, 100, 300, 300)
    spread = {s: float(blur_region(rgb, box, strength=s)[100:300, 100:300].std()) for s in (1.0, 0.5, 0.25)}
    # blocks of 40 px (strength 1), 20 px (0.5), 10 px (0.25) averaging noise of std ~74: the
    # larger the blocks, the less of it survives (about 74/40, 74/20, 74/10 before smoothing)
    assert spread[1.0] < 2.5 and spread[1.0] < spread[0.5] < spread[0.25] < 8
    assert np.array_equal(blur_region(rgb, None), rgb)
    for bad in (0.0, -1.0, 1.5):
        with pytest.raises(ValueError, match="strength"):
            blur_region(rgb, box, strength=bad)
    with pytest.raises(ValueError, match="uint8"):
        blur_region(rgb.astype(np.float32), box)
