"""Geometry of the seated hip-rotation test: pure functions on landmark arrays.

Conventions used throughout hiprom
----------------------------------
Image coordinates are pixels of the upright frame: x to the right, y **down**.

Camera roll ``roll_deg``: positive when the scene appears rotated **clockwise** in the
image (the phone is turned counter-clockwise as its operator sees it). A line that is level
in the world (the knee line, a table edge) then points along ``(cos r, sin r)``, and gravity
points along ``(-sin r, cos r)``.

Hip rotation angle of a leg (same as the benchmark truth): rotation of the shank about the
femur's long axis in the seated 90/90 position. 0 = shank vertical (along gravity);
**positive = the foot swings laterally** (away from the midline) = hip internal rotation
(IR); negative = the foot swings medially = external rotation (ER). Left and right are the
subject's own. "Lateral" is taken from the body (the direction from the other hip to this
hip), never from the image side, so a view from the front or from behind gives the same
sign.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "line_angle_deg",
    "down_vector",
    "lateral_sign",
    "shank_angle_2d_deg",
    "shank_angle_3d_deg",
    "body_roll_deg",
    "camera_yaw_deg",
    "thigh_yaw_deg",
]



def line_angle_deg(p_from: np.ndarray, p_to: np.ndarray) -> np.ndarray:
    """Tilt of the image line through two points, in degrees, in (-90, 90].

    Parameters
    ----------
    p_from, p_to
        ``(..., 2)`` pixel positions.

    Returns
    -------
    numpy.ndarray
        ``atan2(dy, dx)`` folded so the line is read left to right: positive when the
        right end is lower on screen (a clockwise tilt, y down).
    """
    d = np.asarray(p_to, float) - np.asarray(p_from, float)
    angle = np.degrees(np.arctan2(d[..., 1], d[..., 0]))
    angle = np.where(angle > 90, angle - 180, angle)
    return np.where(angle <= -90, angle + 180, angle)


def down_vector(roll_deg: float | np.ndarray) -> np.ndarray:
    """Unit vector of gravity in the image for a camera roll, shape ``(..., 2)``.

    Notes
    -----
    With roll ``r`` (scene turned clockwise on screen, y down) the vertical
    ``(0, 1)`` becomes ``(-sin r, cos r)``.
    """
    r = np.radians(np.asarray(roll_deg, float))
    return np.stack([-np.sin(r), np.cos(r)], axis=-1)


def lateral_sign(hip_side_px: np.ndarray, hip_other_px: np.ndarray) -> float:
    """+1 if the subject's side points to the image's right, -1 if to its left.

    Decided by the median over all frames of the x offset from the other hip to this hip,
    so it follows the body (front or back view), not a fixed image side.

    Raises
    ------
    ValueError
        If the hips are never both seen.
    """
    dx = np.asarray(hip_side_px, float)[..., 0] - np.asarray(hip_other_px, float)[..., 0]
    dx = dx[np.isfinite(dx)]
    if dx.size == 0:
        raise ValueError("both hips are never visible together")
    return 1.0 if np.median(dx) >= 0 else -1.0


def shank_angle_2d_deg(knee_px: np.ndarray, ankle_px: np.ndarray, side_sign: float,
                       roll_deg: float | np.ndarray = 0.0) -> np.ndarray:
    """Shank angle from the vertical in the image, signed by the body.

    Parameters
    ----------
    knee_px, ankle_px
        ``(T, 2)`` pixel positions (the distal point may also be a mid-malleolus or a
        better axis point).
    side_sign
        :func:`lateral_sign` of this leg: +1 if its lateral side is image-right.
    roll_deg
        Camera roll, scalar or ``(T,)``; the vertical reference is gravity, not the image
        column.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` angle in degrees, positive = foot lateral (IR).

    Notes
    -----
    With ``v = ankle - knee``, ``d`` the gravity direction (:func:`down_vector`) and
    ``l = side_sign * (cos r, sin r)`` the lateral direction perpendicular to it:
    ``angle = atan2(v·l, v·d)``. NaN where either point is missing.
    """
    v = np.asarray(ankle_px, float) - np.asarray(knee_px, float)
    down = down_vector(roll_deg)
    across = np.stack([down[..., 1], -down[..., 0]], axis=-1)  # (cos r, sin r)
    lateral = side_sign * across
    return np.degrees(np.arctan2((v * lateral).sum(-1), (v * down).sum(-1)))


def shank_angle_3d_deg(hip_m: np.ndarray, knee_m: np.ndarray, ankle_m: np.ndarray,
                       other_hip_m: np.ndarray, roll_deg: float | np.ndarray = 0.0) -> np.ndarray:
    """Diagnostic 3D estimate: shank rotation about the femur axis from world landmarks.

    Parameters
    ----------
    hip_m, knee_m, ankle_m, other_hip_m
        ``(T, 3)`` world landmarks (MediaPipe model frame: x right, y down, z away from
        the camera).
    roll_deg
        Camera roll; gravity in the model frame is taken as image-down rotated by it.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` degrees, same sign convention as :func:`shank_angle_2d_deg`.

    Notes
    -----
    With the femur axis ``f = (knee - hip)/|knee - hip|`` and ``P = I - f fᵀ`` the projection
    onto the plane perpendicular to it: ``s = P(ankle - knee)``, ``d = P g`` (gravity) and
    ``l = P(hip - other_hip)`` (lateral). The angle is ``atan2(s·l̂, s·d̂)`` with ``l̂``
    made orthogonal to ``d̂``. MediaPipe's depth is weak, so this is reported as a
    diagnostic only.
    """
    with np.errstate(invalid="ignore", divide="ignore"):   # degenerate frames give NaN
        hip, knee, ankle, other = (np.asarray(a, float) for a in (hip_m, knee_m, ankle_m, other_hip_m))
        return _shank_angle_3d(hip, knee, ankle, other, roll_deg)


def _shank_angle_3d(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other: np.ndarray,
                    roll_deg: float | np.ndarray) -> np.ndarray:
    f = knee - hip
    f = f / np.linalg.norm(f, axis=-1, keepdims=True)

    def perp(v: np.ndarray) -> np.ndarray:
        return v - (v * f).sum(-1, keepdims=True) * f

    down2 = down_vector(roll_deg)
    g = np.zeros(f.shape)
    g[..., 0], g[..., 1] = down2[..., 0], down2[..., 1]
    s, d, lat = perp(ankle - knee), perp(g), perp(hip - other)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    lat = lat - (lat * d).sum(-1, keepdims=True) * d
    lat = lat / np.linalg.norm(lat, axis=-1, keepdims=True)
    return np.degrees(np.arctan2((s * lat).sum(-1), (s * d).sum(-1)))


def body_roll_deg(hip_l: np.ndarray, hip_r: np.ndarray, knee_l: np.ndarray,
                  knee_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame camera roll from the body's level lines (hip line and knee line).

    Seated on a level table, both hips and both knees are at the same height, so their
    lines are level in the world; in the image they tilt by the camera roll.

    Returns
    -------
    roll_deg, weight
        ``(T,)`` the pixel-length-weighted mean tilt of the two lines and the summed line
        length in pixels (longer lines are better estimates). NaN / 0 where missing.
    """
    parts, weights = [], []
    for a, b in ((hip_r, hip_l), (knee_r, knee_l)):
        a, b = np.asarray(a, float), np.asarray(b, float)
        length = np.linalg.norm(b - a, axis=-1)
        angle = line_angle_deg(a, b)
        ok = np.isfinite(angle) & (length > 0)
        parts.append(np.where(ok, angle, 0.0) * np.where(ok, length, 0.0))
        weights.append(np.where(ok, length, 0.0))
    w = weights[0] + weights[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        roll = np.where(w > 0, (parts[0] + parts[1]) / w, np.nan)
    return roll, w


def camera_yaw_deg(hip_l_m: np.ndarray, hip_r_m: np.ndarray, side_sign_left: float = 1.0) -> np.ndarray:
    """Approximate camera yaw from the world hip line (diagnostic).

    Positive = the camera has moved round towards the subject's **left** (the same sign as
    the benchmark's ``yaw_deg``): the left hip is then nearer to the camera.

    Notes
    -----
    With ``h = hip_l - hip_r`` in the model frame (x right, z away from the camera) and
    ``side_sign_left`` = +1 for a front view (left hip on the image right), the yaw is
    ``-atan2(h_z, side_sign_left * h_x)``.
    """
    h = np.asarray(hip_l_m, float) - np.asarray(hip_r_m, float)
    return -np.degrees(np.arctan2(h[..., 2], side_sign_left * h[..., 0]))


def thigh_yaw_deg(hip_l: np.ndarray, hip_r: np.ndarray, knee_l: np.ndarray, knee_r: np.ndarray,
                  ankle_l: np.ndarray, ankle_r: np.ndarray) -> np.ndarray:
    """Camera yaw from the thighs' sideways slant in the image (per frame).

    Positive = the camera has moved round towards the subject's **left** (the benchmark's
    ``yaw_deg`` sign).

    Notes
    -----
    Seated facing the camera, the thighs point at it and appear short. Seen from an angle
    ``ψ`` they slant sideways by about ``femur · sin ψ``; averaging both legs cancels the
    thighs' symmetric abduction. With the shank's image length as the scale (shank ≈ femur
    length, both at about the same depth) and ``s`` = +1 when the left hip is image-right::

        ψ ≈ -asin( s · mean(knee_x - hip_x) / mean(|ankle - knee|) )

    The hip landmarks shift with the view, so this reads low (about 0.6–0.8 of the true
    yaw on rendered clips); it is used to warn about an off-axis camera, not to correct.
    """
    hl, hr, kl, kr, al, ar = (np.asarray(a, float) for a in (hip_l, hip_r, knee_l, knee_r, ankle_l, ankle_r))
    shank = (np.linalg.norm(al - kl, axis=-1) + np.linalg.norm(ar - kr, axis=-1)) / 2
    slant = ((kl[..., 0] - hl[..., 0]) + (kr[..., 0] - hr[..., 0])) / 2
    facing = np.where(hl[..., 0] >= hr[..., 0], 1.0, -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return -np.degrees(np.arcsin(np.clip(facing * slant / shank, -1.0, 1.0)))
