"""Small random landmark series with every side channel, and an exact comparison of two
(tests/unit/core/test_landmarks.py, tests/unit/io/test_landmarks_npz.py)."""

from __future__ import annotations

import numpy as np

from hiprom.core.capture import Capture, PersonChoice, SceneLine
from hiprom.core.landmarks import LANDMARK_NAMES, LandmarkSeries

N = len(LANDMARK_NAMES)


def make_series(n: int = 6, seed: int = 0, **kwargs) -> LandmarkSeries:
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 1000, (n, N, 3))
    image[1] = np.nan                                   # no pose in frame 1
    vis = rng.uniform(0, 1, (n, N))
    vis[1] = np.nan
    fields = dict(image_px=image, visibility=vis, presence=rng.uniform(0, 1, (n, N)),
                  world_m=rng.normal(0, 0.5, (n, N, 3)), time_s=np.arange(n) / 30.0 + 0.5,
                  frame_index=np.arange(n) + 15, frame_size_px=(1080, 1920),
                  source="clip.mp4", model="full:pose_landmarker_full.task:sha256=abc", fps=29.97,
                  capture=Capture(kind="video", rotation_deg=90, codec="h264", max_people=2, hand_held=True),
                  scene_lines=(SceneLine(15, 0.5, 0.9, 300.0), SceneLine(18, 0.7, 0.8, 250.0)),
                  person=PersonChoice(1, 0, 1, 0, 5, (500.0, 900.0), "one person in the clip"))
    fields.update(kwargs)
    return LandmarkSeries(**fields)


def assert_same(a: LandmarkSeries, b: LandmarkSeries) -> None:
    for name in ("image_px", "visibility", "presence", "world_m", "time_s", "frame_index"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)       # NaN == NaN here: bit-exact
    assert a.frame_size_px == b.frame_size_px
    assert a.source == b.source and a.model == b.model
    assert a.fps == b.fps and type(a.fps) is type(b.fps)
    assert a.capture == b.capture and a.scene_lines == b.scene_lines and a.person == b.person
    if a.shank_lines is None or b.shank_lines is None:
        assert a.shank_lines is None and b.shank_lines is None
    else:
        for name, arr in a.shank_lines.arrays().items():
            np.testing.assert_array_equal(arr, b.shank_lines.arrays()[name], err_msg=name)
