"""Synthetic seated subjects projected through a pinhole camera, for exact geometry tests.

World frame: x = the subject's left, y = forward (from the subject towards a front camera),
z = up. Hips at z = 0, thighs horizontal pointing forward (abducted by ``abduction_deg``),
shanks hanging. Camera placement follows the benchmark's conventions: ``yaw_deg`` + = moved
round towards the subject's left, ``pitch_deg`` + = above the knees looking down, ``roll_deg``
+ = the scene appears turned clockwise in the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@dataclass(frozen=True)
class Body:
    hip_half_width_m: float = 0.10
    femur_m: float = 0.45
    shank_m: float = 0.45
    abduction_deg: float = 0.0

    def joints(self, left_ir_deg: float, right_ir_deg: float) -> dict[str, np.ndarray]:
        """3D hip, knee and ankle of each leg (``hip_L``, ``knee_R``...)."""
        out = {}
        for side, sign, ir in (("L", 1.0, left_ir_deg), ("R", -1.0, right_ir_deg)):
            hip = np.array([sign * self.hip_half_width_m, 0.0, 0.0])
            a = np.radians(self.abduction_deg)
            femur = np.array([sign * np.sin(a), np.cos(a), 0.0])
            knee = hip + self.femur_m * femur
            down = np.array([0.0, 0.0, -1.0])
            lateral = np.cross(femur, down)
            if np.sign(lateral[0]) != sign:
                lateral = -lateral
            t = np.radians(ir)
            shank = np.cos(t) * down + np.sin(t) * _unit(lateral)
            out[f"hip_{side}"], out[f"knee_{side}"] = hip, knee
            out[f"ankle_{side}"] = knee + self.shank_m * shank
        return out


@dataclass(frozen=True)
class Camera:
    distance_m: float = 2.6
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    focal_px: float = 1200.0
    width_px: int = 720
    height_px: int = 1280

    def project(self, points: np.ndarray, look_at: np.ndarray) -> np.ndarray:
        """Pixel coordinates (x right, y down) of world points, shape ``(..., 2)``."""
        yaw, pitch = np.radians(self.yaw_deg), np.radians(self.pitch_deg)
        ground = self.distance_m * np.array([np.sin(yaw), np.cos(yaw), 0.0])
        centre = look_at + ground + np.array([0.0, 0.0, self.distance_m * np.tan(pitch)])
        forward = _unit(look_at - centre)
        right = _unit(np.cross([0.0, 0.0, 1.0], forward))
        down = np.cross(right, forward)
        rel = np.asarray(points, float) - centre
        depth = rel @ forward
        u = self.focal_px * (rel @ right) / depth
        v = self.focal_px * (rel @ down) / depth
        r = np.radians(self.roll_deg)
        c, s = np.cos(r), np.sin(r)
        x = self.width_px / 2 + c * u - s * v
        y = self.height_px / 2 + s * u + c * v
        return np.stack([x, y], axis=-1)


def image_joints(body: Body, camera: Camera, left_ir_deg: float, right_ir_deg: float) -> dict[str, np.ndarray]:
    """Projected 2D joints of a seated subject (keys as :meth:`Body.joints`)."""
    joints = body.joints(left_ir_deg, right_ir_deg)
    look_at = (joints["knee_L"] + joints["knee_R"]) / 2
    return {k: camera.project(v, look_at) for k, v in joints.items()}
