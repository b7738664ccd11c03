"""Key frames: exact frame reading (rotation/mirroring as in the analysis) and the drawn angle."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers.synthetic_subject import RIGHT, series_from_body

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM
from hiprom.errors import AnalysisError, InputError
from hiprom.outputs.keyframes import COLOURS, draw_angle, peak_frame, read_frame, shank_line_px

cv2 = pytest.importorskip("cv2")


def numbered_clip(path: Path, n: int = 12, size: tuple[int, int] = (160, 120)) -> Path:
    """Frame i is grey level 20*i; its left third is white (to see mirroring)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    assert writer.isOpened()
    for i in range(n):
        f = np.full((h, w, 3), 20 * i, np.uint8)
        f[:, : w // 3] = 255
        writer.write(f)
    writer.release()
    return path


def test_read_frame_decodes_the_exact_frame(tmp_path: Path) -> None:
    clip = numbered_clip(tmp_path / "n.mp4")
    for i in (0, 5, 11):
        rgb = read_frame(clip, i)
        assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8
        assert abs(float(np.median(rgb[:, 80:])) - 20 * i) <= 4       # the middle/right part carries the number
    assert np.median(read_frame(clip, 3)[:, :40]) >= 250                  # white left third
    assert np.median(read_frame(clip, 3, mirrored=True)[:, -40:]) >= 250  # mirrored: on the right
    with pytest.raises(InputError, match="has no frame 12"):
        read_frame(clip, 12)
    with pytest.raises(ValueError):
        read_frame(clip, -1)


def test_draw_angle_draws_shank_vertical_arc_and_label() -> None:
    img = np.full((400, 400, 3), 128, np.uint8)
    knee, ankle = np.array([200.0, 100.0]), np.array([200.0 - 200 * np.sin(np.radians(30)),
                                                        100.0 + 200 * np.cos(np.radians(30))])
    out = draw_angle(img, knee, ankle, roll_deg=0.0, angle_deg=30.0, label="right IR", colour=(214, 39, 40))
    assert out is not img and (img == 128).all()                          # input untouched
    mid = ((knee + ankle) / 2).round().astype(int)
    assert tuple(out[mid[1], mid[0]]) == (214, 39, 40)                    # shank line in the side colour
    col = out[150:300, 199:202].reshape(-1, 3)
    assert (col.max(axis=1) > 200).any() and (col.max(axis=1) < 60).any()  # dashed white/dark vertical
    arc = knee + 90 * np.array([np.sin(np.radians(-15)), np.cos(np.radians(-15))])  # 45 % of 200 px, mid-angle
    patch = out[int(arc[1]) - 3:int(arc[1]) + 4, int(arc[0]) - 3:int(arc[0]) + 4].reshape(-1, 3)
    assert any(tuple(p) == (255, 215, 0) for p in patch)                  # yellow arc
    label = out[150:250, 205:]                                            # beside the arc, across the vertical
    assert (label.min(axis=2) > 200).sum() > 50                           # white text ...
    assert (label.max(axis=2) < 70).sum() > 300                           # ... on a dark box
    assert (out[:, :150].min(axis=2) > 200).sum() == 0                    # and not over the leg's side


def test_vertical_follows_the_camera_roll() -> None:
    img = np.zeros((400, 400, 3), np.uint8)
    knee, ankle = np.array([200.0, 100.0]), np.array([120.0, 280.0])
    out = draw_angle(img, knee, ankle, roll_deg=10.0, angle_deg=30.0, label="x")
    # gravity for a 10° roll points along (-sin 10°, cos 10°): 100 px down the vertical is 17 px to the left
    p = knee + 100 * np.array([-np.sin(np.radians(10)), np.cos(np.radians(10))])
    assert out[int(round(p[1])) - 2:int(round(p[1])) + 3, int(round(p[0])) - 2:int(round(p[0])) + 3].max() > 0
    assert out[265:275, 196:205].max() == 0                                # nothing straight down (below the label)
    q = knee + 170 * np.array([-np.sin(np.radians(10)), np.cos(np.radians(10))])
    assert out[int(q[1]) - 2:int(q[1]) + 3, int(q[0]) - 2:int(q[0]) + 3].max() > 0


@pytest.fixture(scope="module")
def result():
    return analyze_landmarks(series_from_body(RIGHT), Config())


def test_shank_line_prefers_the_silhouette_midline(result) -> None:
    s = result.series
    knee, ankle = s.image_px[10, LM.RIGHT_KNEE, :2], s.image_px[10, LM.RIGHT_ANKLE, :2]
    p0, p1 = shank_line_px(s, 10, "right")
    assert np.allclose(p0, knee) and np.allclose(p1, ankle)               # no silhouette: the landmarks
    mid = np.full((s.n_frames, 2, 2, 2), np.nan)
    d = (ankle - knee) / np.linalg.norm(ankle - knee)
    off = 4.0 * np.array([d[1], -d[0]])                                   # a midline 4 px to the side,
    mid[10, 1] = [knee + off + 0.15 * (ankle - knee), knee + off + 0.85 * (ankle - knee)]  # 15-85 % long
    empty = ShankLines.empty(s.n_frames)
    p0, p1 = shank_line_px(s.replace(shank_lines=dataclasses.replace(empty, mid_px=mid)),
                           10, "right")
    assert np.allclose(p0, knee + off, atol=1e-6)                         # extended up to the knee's level
    assert np.allclose(p1, ankle + off, atol=1e-6)                        # and down to the ankle's
    mid[10] = np.nan
    s2 = s.replace(image_px=np.where(np.arange(33)[None, :, None] == LM.RIGHT_ANKLE, np.nan, s.image_px),
                   shank_lines=dataclasses.replace(empty, mid_px=mid))
    assert shank_line_px(s2, 10, "right") is None


def test_peak_frame_crops_draws_and_calls_the_blur_hook(result) -> None:
    frame = np.full((1280, 720, 3), 90, np.uint8)
    seen = []

    def blur(rgb, image_px):
        seen.append(image_px.shape)
        return np.zeros_like(rgb)                                         # visible effect

    out = peak_frame(result, "right", frame_rgb=frame, blur=blur)
    assert seen == [(33, 3)]
    assert out.dtype == np.uint8 and max(out.shape[:2]) >= 720 and out.shape[0] < 1280
    reds = np.all(out == COLOURS["right"], axis=2).sum()
    assert reds > 100 and np.median(out) == 0                             # drawn on the blurred frame
    full = peak_frame(result, "right", frame_rgb=frame, crop=False)
    assert full.shape == frame.shape


def test_peak_frame_without_a_peak_or_a_video(result) -> None:
    with pytest.raises(AnalysisError, match="left side has no peak IR"):
        peak_frame(result, "left", frame_rgb=np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(InputError):
        peak_frame(result, "right")                                       # source "synthetic" is not a file
    with pytest.raises(ValueError):
        peak_frame(result, "right", kind="abduction")


@pytest.mark.parametrize("angle, text", [(0.5, "rest"), (-0.1, "rest"), (-0.99, "rest"), (1.0, "1.0° IR"),
                                         (-3.04, "3.0° ER"), (27.1, "27.1° IR"), (float("nan"), "--")])
def test_a_resting_leg_reads_rest_not_a_flickering_ir_or_er(angle: float, text: str) -> None:
    from hiprom.outputs.drawing import angle_text

    assert angle_text(angle) == text
