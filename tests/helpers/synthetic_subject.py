"""A landmark series of a seated subject projected by ``synthetic_leg`` (no pose model): the
right leg follows ``RIGHT`` (rest +4°, IR 38° held, rest, ER -26° held, rest), the left rests."""

from __future__ import annotations

import numpy as np

from helpers.synthetic_leg import Body, Camera, image_joints
from helpers.synthetic_series import clip_time, eased
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries

FPS = 30.0
#: right leg rests at +4, IR to 38 (hold), back, ER to -26 (hold), back; left rests at -5
RIGHT = [(0, 4), (1, 4), (2.2, 38), (3.2, 38), (4.4, 4), (4.8, 4), (6, -26), (7, -26), (8.2, 4), (8.7, 4)]


def series_from_body(right_knots, left_deg: float = -5.0, roll_deg: float = 3.0) -> LandmarkSeries:
    t = clip_time(FPS, right_knots[-1][0])
    right = eased(t, right_knots)
    cam, body = Camera(roll_deg=roll_deg), Body()
    img = np.full((len(t), N_LANDMARKS, 3), np.nan)
    for f, r in enumerate(right):
        j = image_joints(body, cam, left_deg, r)
        for name, idx in (("hip_L", LM.LEFT_HIP), ("hip_R", LM.RIGHT_HIP), ("knee_L", LM.LEFT_KNEE),
                          ("knee_R", LM.RIGHT_KNEE), ("ankle_L", LM.LEFT_ANKLE), ("ankle_R", LM.RIGHT_ANKLE)):
            img[f, idx, :2], img[f, idx, 2] = j[name], 0.0
        img[f, [LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER], :2] = img[f, [LM.LEFT_HIP, LM.RIGHT_HIP], :2] - [0, 300]
        img[f, :, 2] = 0.0
    img[:, LM.NOSE, :2] = 360.0, 200.0
    others = np.isnan(img[:, :, 0])
    img[others] = 0.0                         # landmarks hiprom does not use
    vis = np.ones((len(t), N_LANDMARKS))
    return LandmarkSeries(img, vis, vis.copy(), np.zeros_like(img), t, np.arange(len(t)), (720, 1280),
                          source="synthetic")
