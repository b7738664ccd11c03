"""Which line stands for the shank in each frame, and its rotation about the femur.

The primary shank axis is the midline of the lower leg's silhouette (see
:mod:`hiprom.silhouette`), fitted over a band of the shank fixed relative to the knee: the
knee is the pivot of the rotation and stays put, while the knee and ankle landmarks drift
(with the rotation, and with the other leg's movement). Fitting over the same part of the
leg in every frame keeps a still leg still. Where the silhouette is missing (leg hidden,
mask lost), the knee→ankle landmark angle is used, shifted by this leg's median difference
between the two, so the series stays continuous. The angle seen in the image is then
turned into the rotation about the femur by undoing the camera's view of the leg (see
:mod:`hiprom.projection`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from hiprom.core.capture import SHANK_ROW, ShankLines
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.geometry import angles as geo
from hiprom.geometry.projection import LegView, RestPose, true_rotation_deg

__all__ = ["ShankAngle", "band_fit_deg", "shank_angle", "side_signs"]

#: The midline is fitted between these fractions of the resting shank length from the
#: knee, with weights tapering to zero over ``BAND_TAPER`` at both ends (no slice flips in or
#: out of the fit from one frame to the next). Nearer the knee the outline includes the
#: thigh and the calf's bulge (which leans the fitted axis); nearer the ankle the foot.
#: Chosen on one body of the benchmark (adult man) and checked on the other (adult woman):
#: see ``benchmarks/accuracy.py`` and the README's accuracy section.
BAND = (0.25, 0.95)
BAND_TAPER = 0.1
#: A slice whose run of "person" pixels is wider than this many times the leg's usual width
#: at that slice holds more than the leg (the other leg merged with it, a hand, a shadow
#: joined to the mask): it is left out of the fit. Loose trousers make the whole leg wider,
#: not one slice, so they stay in; two legs merged are about twice as wide.
WIDTH_JUMP = 1.5
#: The silhouette's axis is trusted only within this of the knee→ankle landmarks' (shifted by
#: the leg's median difference between the two): the landmarks drift a few degrees towards
#: vertical at end range (2-5° on the renders), but an outline that reads 10° away from them
#: is not the shank's (the other leg, wide clothing or a shadow merged with it).
MAX_AXES_DISAGREEMENT_DEG = 10.0


def band_fit_deg(points_px: np.ndarray, pivot_px: np.ndarray, shank_px: float | np.ndarray, side_sign: float,
                 roll_deg: float | np.ndarray) -> np.ndarray:
    """Shank angle per frame from silhouette midpoints in a band fixed relative to the knee.

    Parameters
    ----------
    points_px
        ``(T, N, 2)`` run middles of the slices across the shank (NaN where not clear).
    pivot_px, shank_px
        The knee at rest and the resting shank length (or, per frame, ``(T, 2)`` knees and
        ``(T,)`` lengths).
    side_sign, roll_deg
        As in :func:`hiprom.geometry.shank_angle_2d_deg` (roll scalar or per frame).

    Notes
    -----
    A point at distance ``d`` (in shank lengths) from the knee gets the weight
    ``clip(min(d - 0.25, 0.95 - d) / 0.1, 0, 1)`` (:data:`BAND`, :data:`BAND_TAPER`); the axis
    is the weighted principal direction of the points (at least 5), oriented away from the
    knee.
    """
    pts = np.asarray(points_px, float)
    pivot = np.asarray(pivot_px, float)
    pivots = np.broadcast_to(pivot if pivot.ndim == 2 else pivot[None], (len(pts), 2))
    lengths = np.broadcast_to(np.asarray(shank_px, float), (len(pts),))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.linalg.norm(pts - pivots[:, None], axis=-1) / lengths[:, None]
    w = np.clip(np.minimum(d - BAND[0], BAND[1] - d) / BAND_TAPER, 0.0, 1.0)
    w = np.where(np.isfinite(w), w, 0.0)
    n = len(pts)
    centre, direction = np.full((n, 2), np.nan), np.full((n, 2), np.nan)
    for t in np.flatnonzero((w > 0).sum(axis=1) >= 5):
        wt = w[t]
        use = wt > 0
        q, ww = pts[t, use], wt[use]
        c = (q * ww[:, None]).sum(0) / ww.sum()
        x = (q - c) * np.sqrt(ww)[:, None]
        v = np.linalg.svd(x, full_matrices=False)[2][0]
        centre[t], direction[t] = c, v if v @ (c - pivots[t]) >= 0 else -v
    return geo.shank_angle_2d_deg(centre, centre + direction, side_sign, roll_deg)


def usable_points(lines: ShankLines, side: str) -> np.ndarray:
    """``(T, N, 2)`` the silhouette's run middles of one leg that a fit may use (NaN otherwise).

    Notes
    -----
    Left out: slices the other leg's axis crosses, and slices wider than :data:`WIDTH_JUMP`
    times either the leg's usual width at that slice (the median over the frames where it
    was measured and not crossed; at least 5 of them) or the leg's usual width overall (the
    median over all its slices and frames). The first catches the other leg merging with a
    narrow part of this one (the ankles); the second the thigh or the other knee joined to
    the slices near the knee in every frame. Slices of unknown width (files from before
    widths were recorded) are kept.
    """
    row = SHANK_ROW[side]
    pts = np.array(lines.points_px[:, row], float)
    width = np.where(lines.crossed[:, row] > 0, np.nan, lines.width_px[:, row])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN slices: no reference there
        per_slice = np.nanmedian(width, axis=0)
        per_slice = np.where(np.isfinite(width).sum(axis=0) >= 5, per_slice, np.inf)
        overall = np.nanmedian(width) if np.isfinite(width).any() else np.inf
        too_wide = (width > WIDTH_JUMP * per_slice) | (width > WIDTH_JUMP * overall)
    pts[(lines.crossed[:, row] > 0) | too_wide] = np.nan
    return pts


@dataclass(frozen=True, eq=False)
class ShankAngle:
    """One leg's shank angle per frame (degrees, vertical reference, roll corrected).

    ``angle_deg`` the angle used (the rotation about the femur when a camera view was given,
    else the angle seen in the image); ``seen_deg`` the angle seen in the image;
    ``landmark_deg`` the plain knee→ankle angle (corrected like ``angle_deg``);
    ``from_silhouette`` (T,) bool, frames whose angle comes from the silhouette midline;
    ``landmark_offset_deg`` the shift applied to landmark frames (0 if none were needed).
    """

    angle_deg: np.ndarray
    seen_deg: np.ndarray
    landmark_deg: np.ndarray
    from_silhouette: np.ndarray
    landmark_offset_deg: float

    @property
    def silhouette_share(self) -> float:
        ok = np.isfinite(self.angle_deg)
        return float(self.from_silhouette[ok].mean()) if ok.any() else 0.0


def shank_angle(series: LandmarkSeries, side: str, side_sign: float, roll_deg: float | np.ndarray, *,
                silhouette: bool = True, view: LegView | None = None, rest: RestPose | None = None) -> ShankAngle:
    """The shank angle of one leg in every frame.

    Parameters
    ----------
    series
        Landmarks, with ``shank_lines`` when the silhouette was measured.
    side
        ``"left"`` or ``"right"``.
    side_sign
        +1 if this leg's lateral side is image-right (see :func:`hiprom.geometry.lateral_sign`).
    roll_deg
        Camera roll to remove.
    silhouette
        Use the silhouette midline where available.
    view
        How the camera sees this leg; None = take the image angle as the rotation (a
        camera straight in front).
    rest
        The leg at rest; with it the silhouette midline is fitted over a band fixed
        relative to the resting knee (:func:`band_fit_deg`), else relative to each frame's
        knee and knee→ankle length.
    """
    leg = LM.leg(side)
    landmark = geo.shank_angle_2d_deg(series.xy(leg["knee"]), series.xy(leg["ankle"]), side_sign, roll_deg)
    lines = series.shank_lines
    if not silhouette or lines is None:
        seen, have, offset = landmark, np.zeros(len(landmark), bool), 0.0
    else:
        if rest is not None:
            pivot, length = rest.knee_px, rest.shank_px
        else:   # never near rest (a photo at end range): each frame's own knee and shank length
            pivot = series.xy(leg["knee"])
            length = np.linalg.norm(series.xy(leg["ankle"]) - pivot, axis=-1)
        from_mid = band_fit_deg(usable_points(lines, side), pivot, length, side_sign, roll_deg)
        both = np.isfinite(from_mid) & np.isfinite(landmark)
        offset = float(np.median(from_mid[both] - landmark[both])) if both.sum() >= 3 else 0.0
        with np.errstate(invalid="ignore"):
            astray = np.abs(from_mid - landmark - offset) > MAX_AXES_DISAGREEMENT_DEG
        from_mid = np.where(astray, np.nan, from_mid)
        have = np.isfinite(from_mid)
        seen = np.where(have, from_mid, landmark + offset)
        offset = offset if (~have & np.isfinite(landmark)).any() else 0.0
    if view is None:
        return ShankAngle(seen, seen, landmark, have, offset)
    roll = float(np.nanmedian(roll_deg))   # the view's geometry; shake is far below its precision
    return ShankAngle(true_rotation_deg(seen, view, roll, side_sign), seen,
                      true_rotation_deg(landmark, view, roll, side_sign), have, offset)


def side_signs(series: LandmarkSeries) -> dict[str, float]:
    """+1 for a leg whose lateral side is image-right (from the hips; front view if unseen)."""
    left = geo.lateral_sign(series.xy(LM.LEFT_HIP), series.xy(LM.RIGHT_HIP)) \
        if np.isfinite(series.xy(LM.LEFT_HIP)).any() else 1.0
    return {"left": left, "right": -left}
