"""Synthetic whole-body movements (seated test, standing up, sit-to-stands, walking, a kick)
projected through the pinhole camera of :mod:`synthetic_leg`, as landmark series.

World frame as in :mod:`synthetic_leg`: x = the subject's left, y = forward (towards a front
camera), z = up. Per frame the body is set by the pelvis position, each thigh's angle below
horizontal (0 = seated, 90 = standing), each leg's IR about the femur and knee extension
(the shank swinging forward, a kick). The feet stay on the floor (the pelvis rises with the
thighs) unless the pelvis is given.
"""

from __future__ import annotations

import numpy as np

from helpers.synthetic_leg import Body, Camera
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries

_DOWN = np.array([0.0, 0.0, -1.0])
_FORWARD = np.array([0.0, 1.0, 0.0])


def _rotate(v: np.ndarray, axis: np.ndarray, deg: float) -> np.ndarray:
    """Rodrigues rotation of ``v`` about the unit ``axis``."""
    t = np.radians(deg)
    return v * np.cos(t) + np.cross(axis, v) * np.sin(t) + axis * np.dot(axis, v) * (1 - np.cos(t))


def joints(body: Body, pelvis: np.ndarray, thigh_down_deg: dict[str, float], ir_deg: dict[str, float],
           kick_deg: dict[str, float]) -> dict[str, np.ndarray]:
    """3D hips, knees, ankles and shoulders (``hip_L``... ``shoulder_R``) of one frame."""
    out = {}
    for side, sign in (("L", 1.0), ("R", -1.0)):
        hip = pelvis + np.array([sign * body.hip_half_width_m, 0.0, 0.0])
        d = np.radians(thigh_down_deg[side])
        femur = np.cos(d) * _FORWARD + np.sin(d) * _DOWN
        knee = hip + body.femur_m * femur
        shank = np.cos(np.radians(kick_deg[side])) * _DOWN + np.sin(np.radians(kick_deg[side])) * _FORWARD
        # IR swings the foot laterally (+x for the left leg): about the femur axis
        shank = _rotate(shank, femur, -sign * ir_deg[side] if d < np.radians(45) else 0.0)
        out[f"hip_{side}"], out[f"knee_{side}"] = hip, knee
        out[f"ankle_{side}"] = knee + body.shank_m * shank
        out[f"shoulder_{side}"] = hip + np.array([sign * 0.08, 0.0, 0.5])
    return out


_IDS = {"hip_L": LM.LEFT_HIP, "hip_R": LM.RIGHT_HIP, "knee_L": LM.LEFT_KNEE, "knee_R": LM.RIGHT_KNEE,
        "ankle_L": LM.LEFT_ANKLE, "ankle_R": LM.RIGHT_ANKLE, "shoulder_L": LM.LEFT_SHOULDER,
        "shoulder_R": LM.RIGHT_SHOULDER}


def motion_series(time_s: np.ndarray, *, thigh_down_deg=0.0, right_ir_deg=0.0, left_ir_deg=0.0,
                  right_kick_deg=0.0, left_kick_deg=0.0, right_thigh_down_deg=None, left_thigh_down_deg=None,
                  pelvis_x_m=0.0, camera: Camera | None = None, body: Body | None = None) -> LandmarkSeries:
    """A landmark series of the movement; every argument is a number or a ``(T,)`` array.

    ``thigh_down_deg`` sets both thighs (``right_``/``left_thigh_down_deg`` one each); the
    pelvis is at ``femur * sin(thigh down)`` above the knees' seated height (feet on the
    floor) and at ``pelvis_x_m`` across. The camera looks at the seated knees.
    """
    body, camera = body or Body(), camera or Camera()
    t = np.asarray(time_s, float)
    n = len(t)

    def per_frame(v) -> np.ndarray:
        return np.broadcast_to(np.asarray(v, float), (n,))

    both = per_frame(thigh_down_deg)
    down = {"R": per_frame(both if right_thigh_down_deg is None else right_thigh_down_deg),
            "L": per_frame(both if left_thigh_down_deg is None else left_thigh_down_deg)}
    ir = {"R": per_frame(right_ir_deg), "L": per_frame(left_ir_deg)}
    kick = {"R": per_frame(right_kick_deg), "L": per_frame(left_kick_deg)}
    across = per_frame(pelvis_x_m)
    look_at = np.array([0.0, body.femur_m, 0.0])
    img = np.zeros((n, N_LANDMARKS, 3))
    for f in range(n):
        rise = body.femur_m * np.sin(np.radians(max(down["R"][f], down["L"][f])))
        j = joints(body, np.array([across[f], 0.0, rise]), {k: v[f] for k, v in down.items()},
                   {k: v[f] for k, v in ir.items()}, {k: v[f] for k, v in kick.items()})
        for name, idx in _IDS.items():
            img[f, idx, :2] = camera.project(j[name], look_at)
        img[f, LM.NOSE, :2] = (img[f, LM.LEFT_SHOULDER, :2] + img[f, LM.RIGHT_SHOULDER, :2]) / 2 - [0, 120]
    vis = np.ones((n, N_LANDMARKS))
    return LandmarkSeries(img, vis, vis.copy(), np.zeros_like(img), t, np.arange(n),
                          (camera.width_px, camera.height_px), source="synthetic")
