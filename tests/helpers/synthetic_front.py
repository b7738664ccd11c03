"""A front view of a seated subject whose right leg turns in to 35° and out to 25° (legs from
``synthetic_leg``, trunk above), as a landmark series with world landmarks: the output-folder
and reliability tests' result without the pose model. Subprocess drivers import it too."""

from __future__ import annotations

import numpy as np

from helpers.synthetic_leg import Body, Camera, image_joints
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries

FPS = 30.0
# (time s, right-leg angle °): rest, IR 35 held, rest, ER -25 held, rest; cosine-eased.
KEYFRAMES = [(0, 0), (1, 0), (2, 35), (3, 35), (4, 0), (4.5, 0), (5.5, -25), (6.5, -25),
             (7.5, 0), (8.5, 0)]


def _profile(t: np.ndarray) -> np.ndarray:
    ts, vs = (np.array(v, float) for v in zip(*KEYFRAMES))
    i = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(ts) - 2)
    u = np.clip((t - ts[i]) / (ts[i + 1] - ts[i]), 0.0, 1.0)
    return vs[i] + (vs[i + 1] - vs[i]) * (1 - np.cos(np.pi * u)) / 2


def synthetic_series() -> LandmarkSeries:
    """A front view of a seated subject: legs from ``synthetic_leg``, trunk placed above."""
    t = np.arange(int(8.5 * FPS)) / FPS
    body, cam = Body(abduction_deg=4.0), Camera()
    n = len(t)
    img, world = np.zeros((n, N_LANDMARKS, 3)), np.zeros((n, N_LANDMARKS, 3))
    ids = {"hip": (LM.LEFT_HIP, LM.RIGHT_HIP), "knee": (LM.LEFT_KNEE, LM.RIGHT_KNEE),
           "ankle": (LM.LEFT_ANKLE, LM.RIGHT_ANKLE)}
    for k, ir in enumerate(_profile(t)):
        j2, j3 = image_joints(body, cam, 0.0, ir), body.joints(0.0, ir)
        img[k, :, :2] = (j2["hip_L"] + j2["hip_R"]) / 2 + (0.0, -300.0)  # head and arms
        for joint, (left, right) in ids.items():
            for s, i in (("L", left), ("R", right)):
                img[k, i, :2] = j2[f"{joint}_{s}"]
                x, y, z = j3[f"{joint}_{s}"]
                world[k, i] = (x, -z, -y)  # model frame: x image right, y down, z away
        for ankle, heel, toe in ((LM.LEFT_ANKLE, LM.LEFT_HEEL, LM.LEFT_TOE),
                                 (LM.RIGHT_ANKLE, LM.RIGHT_HEEL, LM.RIGHT_TOE)):
            img[k, heel, :2] = img[k, ankle, :2] + (0.0, 10.0)
            img[k, toe, :2] = img[k, ankle, :2] + (0.0, 20.0)
        for shoulder, hip in ((LM.LEFT_SHOULDER, LM.LEFT_HIP), (LM.RIGHT_SHOULDER, LM.RIGHT_HIP)):
            img[k, shoulder, :2] = img[k, hip, :2] + (0.0, -220.0)
            world[k, shoulder] = world[k, hip] + (0.0, -0.5, 0.0)
    vis = np.full((n, N_LANDMARKS), 0.95)
    return LandmarkSeries(img, vis, vis.copy(), world, t, np.arange(n), (cam.width_px, cam.height_px),
                          source="synthetic.mp4", model="none", fps=FPS)
