"""Which line stands for the shank in each frame: the silhouette midline or the landmarks.

The primary shank axis is the midline of the lower leg's silhouette (see
:mod:`hiprom.silhouette`). Where it is missing (leg hidden, mask lost), the knee→ankle
landmark angle is used, shifted by this leg's median difference between the two in the
frames that have both, so the series stays continuous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry as geo
from .landmarks import LM, LandmarkSeries

__all__ = ["ShankAngle", "shank_angle"]

SIDE_INDEX = {"left": 0, "right": 1}


@dataclass(frozen=True, eq=False)
class ShankAngle:
    """One leg's shank angle per frame (degrees, vertical reference, roll corrected).

    ``angle_deg`` the angle used; ``landmark_deg`` the plain knee→ankle angle;
    ``from_silhouette`` (T,) bool, frames whose angle comes from the silhouette midline;
    ``landmark_offset_deg`` the shift applied to landmark frames (0 if none were needed).
    """

    angle_deg: np.ndarray
    landmark_deg: np.ndarray
    from_silhouette: np.ndarray
    landmark_offset_deg: float

    @property
    def silhouette_share(self) -> float:
        ok = np.isfinite(self.angle_deg)
        return float(self.from_silhouette[ok].mean()) if ok.any() else 0.0


def shank_angle(series: LandmarkSeries, side: str, side_sign: float, roll_deg: float, *,
                silhouette: bool = True) -> ShankAngle:
    """The shank angle of one leg in every frame.

    Parameters
    ----------
    series
        Landmarks, with ``extras["shank_mid_px"]`` when the silhouette was measured.
    side
        ``"left"`` or ``"right"``.
    side_sign
        +1 if this leg's lateral side is image-right (see :func:`hiprom.geometry.lateral_sign`).
    roll_deg
        Camera roll to remove.
    silhouette
        Use the silhouette midline where available.
    """
    leg = LM.leg(side)
    landmark = geo.shank_angle_2d_deg(series.xy(leg["knee"]), series.xy(leg["ankle"]), side_sign, roll_deg)
    mid = series.extras.get("shank_mid_px")
    if not silhouette or mid is None:
        return ShankAngle(landmark, landmark, np.zeros(len(landmark), bool), 0.0)
    line = mid[:, SIDE_INDEX[side]]
    from_mid = geo.shank_angle_2d_deg(line[:, 0], line[:, 1], side_sign, roll_deg)
    have = np.isfinite(from_mid)
    both = have & np.isfinite(landmark)
    offset = float(np.median(from_mid[both] - landmark[both])) if both.sum() >= 3 else 0.0
    angle = np.where(have, from_mid, landmark + offset)
    return ShankAngle(angle, landmark, have, offset if (~have & np.isfinite(landmark)).any() else 0.0)
