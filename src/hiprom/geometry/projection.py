"""From the angle seen in the image to the rotation of the leg, for any camera placement.

The shank turns in the plane perpendicular to the femur. Filmed straight from the front
that plane faces the camera and the angle in the image is the rotation itself. Filmed from
the side it is seen obliquely and foreshortened (roughly ``tan seen = tan true · cos yaw``),
so rotations read low: about 2° at 15° and 4–6° at 30° of yaw. This module estimates, for
each leg, how the camera sees that plane and undoes the projection.

Model
-----
Pinhole camera with its principal point at the image centre and a focal length from an
assumed field of view (``fov_deg`` across the image's longer side; phones and webcams film
at about 60–75°; the result depends little on it). Lengths are in units of the shank.

1. The knee: its depth follows from the shank's length in pixels at rest (the resting
   shank hangs across the line of sight): ``z_k = f / shank_px``.
2. The hip lies on its own viewing ray one femur length (``femur_shank_ratio``) from the
   knee; solving ``|z_h r_h - K| = L_f`` gives its depth (the far root: the hip is behind
   the knee). Only the thigh's sideways slant is used: the hip landmark of a seated person
   sits above the hip joint's centre, which would fake a camera pitch, so the hip is moved
   to the knee's height along the roll-corrected vertical.
3. Gravity ``g`` is perpendicular to the femur (thigh horizontal) and to a level line
   facing the camera, whose image direction is the camera roll: ``g ∝ h × f`` with
   ``h = (cos r, sin r, 0)``.
4. The shank at rotation θ is ``s = cos θ g + sin θ l`` with ``l = f × g`` (lateral). Its
   image direction near the knee is ``P s = (s_x - s_z K_x/K_z, s_y - s_z K_y/K_z)``; the
   seen angle α(θ) is measured like every image angle in hiprom (from the roll-corrected
   vertical, + lateral). α(θ) is monotonic; it is tabulated and inverted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiprom.core.landmarks import LM, LandmarkSeries

__all__ = ["RestPose", "rest_pose", "LegView", "leg_view", "leg_views", "true_rotation_deg", "focal_px",
           "camera_yaw_deg"]


@dataclass(frozen=True)
class RestPose:
    """A leg at rest in the image: median knee and hip positions and shank length (pixels)
    over its near-rest frames (``frames`` of them)."""

    knee_px: np.ndarray
    hip_px: np.ndarray
    shank_px: float
    frames: int


def rest_pose(series: LandmarkSeries, side: str, seen_deg: np.ndarray, within_deg: float = 8.0) -> RestPose | None:
    """The leg's pose over the frames where it hangs within ``within_deg`` of vertical.

    None when it never does (e.g. a photo taken at end range).
    """
    leg = LM.leg(side)
    p = series.image_px[:, :, :2]
    seen = np.asarray(seen_deg, float)
    near = np.isfinite(seen) & (np.abs(seen) <= within_deg) \
        & np.isfinite(p[:, [leg["hip"], leg["knee"], leg["ankle"]], :]).all(axis=(1, 2))
    if not near.any():
        return None
    length = np.linalg.norm(p[near, leg["ankle"]] - p[near, leg["knee"]], axis=1)
    return RestPose(np.median(p[near, leg["knee"]], axis=0), np.median(p[near, leg["hip"]], axis=0),
                    float(np.median(length)), int(near.sum()))


def focal_px(frame_size_px: tuple[int, int], fov_deg: float) -> float:
    """Focal length in pixels for a field of view across the longer image side."""
    return max(frame_size_px) / 2.0 / float(np.tan(np.radians(fov_deg) / 2.0))


@dataclass(frozen=True)
class LegView:
    """How the camera sees one leg.

    ``femur`` and ``knee`` are in camera coordinates (x right, y down, z forward; lengths in
    shanks); ``femur_yaw_deg`` is the femur's angle, in the horizontal, from pointing straight at the
    camera along its optical axis (+ = it points towards the image's right; a camera moved
    round towards the subject's left sees the femurs point left, negative); ``solved`` is False when
    the thigh looked longer than a femur can (side view): the femur then lies across the
    line of sight and the view is unreliable; ``borrowed`` when the femur direction is the
    other leg's (this leg was never near rest).
    """

    femur: np.ndarray
    knee: np.ndarray
    femur_yaw_deg: float
    solved: bool
    borrowed: bool = False


def leg_view(knee_px: np.ndarray, hip_px: np.ndarray, shank_px: float, frame_size_px: tuple[int, int], *,
             roll_deg: float = 0.0, fov_deg: float = 65.0, femur_shank_ratio: float = 1.0) -> LegView:
    """Estimate the femur's direction relative to the camera for one leg (see module notes).

    Parameters
    ----------
    knee_px, hip_px
        Image positions of the knee (at rest) and of the hip.
    shank_px
        The shank's length in pixels at rest.
    frame_size_px
        ``(width, height)`` of the frame.
    roll_deg
        Camera roll: the thigh's slant is taken along the level direction ``(cos r, sin r)``.
    fov_deg, femur_shank_ratio
        Assumed field of view across the longer side, and femur length / shank length.
    """
    f = focal_px(frame_size_px, fov_deg)
    c = np.asarray(frame_size_px, float) / 2.0
    knee_px, hip_px = np.asarray(knee_px, float), np.asarray(hip_px, float)
    level = np.array([np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))])
    hip_px = knee_px + ((hip_px - knee_px) @ level) * level          # the sideways slant only
    ray_k = np.array([(knee_px[0] - c[0]) / f, (knee_px[1] - c[1]) / f, 1.0])
    ray_h = np.array([(hip_px[0] - c[0]) / f, (hip_px[1] - c[1]) / f, 1.0])
    knee = (f / float(shank_px)) * ray_k
    a, b = ray_h @ ray_h, -2.0 * ray_h @ knee
    disc = b * b - 4.0 * a * (knee @ knee - femur_shank_ratio ** 2)
    solved = bool(disc >= 0.0)
    hip = ((-b + np.sqrt(max(disc, 0.0))) / (2.0 * a)) * ray_h
    femur = (knee - hip) / np.linalg.norm(knee - hip)
    yaw = float(np.degrees(np.arctan2(femur[0], -femur[2])))
    return LegView(femur, knee, yaw, solved)


def true_rotation_deg(seen_deg: np.ndarray, view: LegView, roll_deg: float, side_sign: float) -> np.ndarray:
    """Invert the projection: rotation about the femur from the angle seen in the image.

    Parameters
    ----------
    seen_deg
        Angles measured in the image (roll-corrected vertical, + = foot lateral).
    view
        The leg's :class:`LegView`.
    roll_deg
        Camera roll (+ = scene turned clockwise on screen).
    side_sign
        +1 if the leg's lateral side is image-right.
    """
    r = np.radians(roll_deg)
    level = np.array([np.cos(r), np.sin(r), 0.0])
    k = view.knee

    def project(s: np.ndarray) -> np.ndarray:
        return np.stack([s[..., 0] - s[..., 2] * k[0] / k[2], s[..., 1] - s[..., 2] * k[1] / k[2]], axis=-1)

    down = np.array([-np.sin(r), np.cos(r)])
    across = side_sign * np.array([np.cos(r), np.sin(r)])
    g = np.cross(level, view.femur)
    g /= np.linalg.norm(g)
    if project(g) @ down < 0:
        g = -g
    lateral = np.cross(view.femur, g)
    if project(lateral) @ across < 0:
        lateral = -lateral
    theta = np.radians(np.linspace(-89.0, 89.0, 1781))
    seen = project(np.cos(theta)[:, None] * g + np.sin(theta)[:, None] * lateral)
    alpha = np.degrees(np.arctan2(seen @ across, seen @ down))
    order = np.argsort(alpha)
    return np.degrees(np.interp(np.asarray(seen_deg, float), alpha[order], theta[order],
                                left=np.nan, right=np.nan))


def leg_views(rest: dict[str, RestPose | None], frame_size_px: tuple[int, int], roll_deg: float, *,
              fov_deg: float = 65.0, femur_shank_ratio: float = 1.0,
              knee_px: dict[str, np.ndarray] | None = None) -> dict[str, LegView | None]:
    """Each leg's :class:`LegView` from its pose at rest (see :func:`rest_pose`).

    Notes
    -----
    A rotating leg drags its knee landmark towards the foot, which would fake a thigh
    slant, so each view comes from the leg at rest. A leg never at rest (a photo at end
    range) takes the other leg's femur direction (thighs parallel), placed at its own knee
    (``knee_px``); with both legs rotated throughout there is no view (None) and no
    correction.
    """
    views: dict[str, LegView | None] = {}
    for side, pose in rest.items():
        views[side] = None if pose is None else leg_view(
            pose.knee_px, pose.hip_px, pose.shank_px, frame_size_px, roll_deg=roll_deg, fov_deg=fov_deg,
            femur_shank_ratio=femur_shank_ratio)
    for side, other in (("left", "right"), ("right", "left")):
        donor, knee = views.get(other), (knee_px or {}).get(side)
        if views.get(side) is None and donor is not None and knee is not None and np.all(np.isfinite(knee)):
            f = focal_px(frame_size_px, fov_deg)
            c = np.asarray(frame_size_px, float) / 2.0
            ray = np.array([(knee[0] - c[0]) / f, (knee[1] - c[1]) / f, 1.0])
            views[side] = LegView(donor.femur, donor.knee[2] * ray, donor.femur_yaw_deg, donor.solved, borrowed=True)
    return views


def camera_yaw_deg(views: dict[str, LegView | None]) -> float | None:
    """Camera yaw from the two femurs (+ = moved round towards the subject's left).

    The thighs' abduction turns the two femurs equally outwards and cancels in the mean.
    """
    solved = [v.femur_yaw_deg for v in views.values() if v is not None and v.solved and not v.borrowed]
    return -float(np.mean(solved)) if len(solved) == 2 else None
