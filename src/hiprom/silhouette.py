"""The shank's axis from the person's silhouette, a steadier cue than two landmarks.

The pose model's knee and ankle landmarks are pulled towards an average pose: at end
range both drift back towards a vertical shank, so the knee→ankle angle reads low. The
person-segmentation mask the same model returns shows the lower leg's outline directly.
Across the shank, between the knee and the ankle, the mask is one run of "person" pixels;
the run's middle traces the shank's axis and its outer (lateral) border traces the lateral
edge of the leg.

For each leg and frame :func:`shank_lines` returns two image lines, each as two points
(proximal, distal): the **midline** (fitted through the run middles of slices where the leg
stands clear of the other one) and the **lateral edge** (fitted through the lateral borders
of all slices, which stay clear even when the foot swings medially across the other leg).
"""

from __future__ import annotations

import numpy as np

from .landmarks import LM

__all__ = ["shank_lines", "N_SLICES", "EXTRA_KEYS"]

#: Slices across the shank, spread between these fractions of the knee→ankle length.
N_SLICES = 14
SLICE_FROM, SLICE_TO = 0.15, 0.85
#: A run wider than this fraction of the shank length is two legs merged.
MAX_WIDTH_FRACTION = 0.40
#: Lines need at least this many usable slices.
MIN_SLICES = 5
#: Names of the per-frame arrays added to a LandmarkSeries' ``extras``.
EXTRA_KEYS = ("shank_mid_px", "shank_lat_px", "shank_clean")


def _profile_runs(values: np.ndarray) -> list[tuple[float, float]]:
    """Sub-pixel [start, end] of the runs where a sampled profile exceeds 0.5."""
    above = values > 0.5
    if not above.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[False], above, [False]]).astype(np.int8)))
    out = []
    for a, b in zip(edges[::2], edges[1::2]):
        # interpolate the 0.5 crossings on either side of the run
        lo = a - 1 + (0.5 - values[a - 1]) / (values[a] - values[a - 1]) if a > 0 else float(a)
        hi = b - 1 + (values[b - 1] - 0.5) / (values[b - 1] - values[b]) if b < len(values) else float(b - 1)
        out.append((float(lo), float(hi)))
    return out


def _sample(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of a mask at ``(..., 2)`` pixel positions (0 outside)."""
    h, w = mask.shape
    x, y = points[..., 0], points[..., 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    out = np.zeros(x.shape)
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out[ok] += wt[ok] * mask[yi[ok], xi[ok]]
    return out


def _fit_line(s: np.ndarray, t: np.ndarray, k: np.ndarray, u: np.ndarray, n: np.ndarray,
              length: float) -> np.ndarray:
    """Least-squares line t = c0 + c1 s in the leg frame, returned as two image points."""
    c1, c0 = np.polyfit(s, t, 1)
    s0, s1 = SLICE_FROM * length, SLICE_TO * length
    return np.stack([k + s0 * u + (c0 + c1 * s0) * n, k + s1 * u + (c0 + c1 * s1) * n])


def _one_leg(mask: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other_knee: np.ndarray,
             other_ankle: np.ndarray, lateral_sign_x: float):
    d = ankle - knee
    length = float(np.hypot(*d))
    nan = np.full((2, 2), np.nan)
    if not np.isfinite(length) or length < 20:
        return nan, nan, 0.0
    u = d / length
    n = np.array([-u[1], u[0]])
    lat_t = 1.0 if n[0] * lateral_sign_x > 0 else -1.0   # which t direction is lateral
    half = 0.6 * length
    ts = np.arange(-half, half + 1.0)
    s_vals = np.linspace(SLICE_FROM, SLICE_TO, N_SLICES) * length
    pts = knee + s_vals[:, None, None] * u + ts[None, :, None] * n
    profiles = _sample(mask, pts)
    mids, lats, clean_s, lat_s = [], [], [], []
    for i, prof in enumerate(profiles):
        runs = _profile_runs(prof)
        if not runs:
            continue
        zero = half  # index of t = 0
        run = min(runs, key=lambda r: 0.0 if r[0] <= zero <= r[1] else min(abs(r[0] - zero), abs(r[1] - zero)))
        lo, hi = run[0] - half, run[1] - half
        if min(abs(lo), abs(hi)) > 0.25 * length and not lo <= 0 <= hi:
            continue  # the run found is not this leg
        lats.append(hi if lat_t > 0 else lo)
        lat_s.append(s_vals[i])
        width = hi - lo
        other = _other_leg_inside(knee + s_vals[i] * u, n, other_knee, other_ankle, knee, u, lo, hi)
        if width <= MAX_WIDTH_FRACTION * length and not other:
            mids.append((lo + hi) / 2)
            clean_s.append(s_vals[i])
    mid_line = _fit_line(np.array(clean_s), np.array(mids), knee, u, n, length) if len(mids) >= MIN_SLICES else nan
    lat_line = _fit_line(np.array(lat_s), np.array(lats), knee, u, n, length) if len(lats) >= MIN_SLICES else nan
    return mid_line, lat_line, len(mids) / N_SLICES


def _other_leg_inside(point: np.ndarray, n: np.ndarray, ok_: np.ndarray, oa: np.ndarray,
                      knee: np.ndarray, u: np.ndarray, lo: float, hi: float) -> bool:
    """Does the other shank's segment cross this slice inside the run [lo, hi]?"""
    od = oa - ok_
    if not np.all(np.isfinite(od)):
        return False
    # solve point + t n = ok_ + lam od
    a = np.array([[n[0], -od[0]], [n[1], -od[1]]])
    if abs(np.linalg.det(a)) < 1e-9:
        return False
    t, lam = np.linalg.solve(a, ok_ - point)
    return bool(-0.1 <= lam <= 1.1 and lo <= t <= hi)


def shank_lines(mask: np.ndarray, image_px: np.ndarray, left_is_image_right: bool) -> dict[str, np.ndarray]:
    """Midline and lateral-edge lines of both shanks in one frame.

    Parameters
    ----------
    mask
        ``(H, W)`` person-segmentation probabilities of this person, in [0, 1].
    image_px
        ``(33, 3)`` the person's landmarks in pixels.
    left_is_image_right
        True when the subject's left side is on the image's right (a front view).

    Returns
    -------
    dict
        ``shank_mid_px`` and ``shank_lat_px``: ``(2, 2, 2)`` = (left, right) × (proximal,
        distal) × (x, y), NaN where not found; ``shank_clean``: ``(2,)`` the share of slices
        where the leg stood clear of the other one.

    Notes
    -----
    Slices are taken perpendicular to the landmark knee→ankle direction at
    ``N_SLICES`` positions between 15 % and 85 % of its length; on each the mask is sampled
    bilinearly and the run of person pixels at (or nearest to) the landmark axis is the
    shank. A slice counts as clear when that run is narrower than 40 % of the shank length
    and the other shank's landmark axis does not cross it.
    """
    mask = np.asarray(mask, dtype=np.float32)
    if mask.ndim == 3:
        mask = mask[..., 0]
    p = np.asarray(image_px, float)[:, :2]
    mid = np.full((2, 2, 2), np.nan)
    lat = np.full((2, 2, 2), np.nan)
    clean = np.zeros(2)
    for i, side in enumerate(("left", "right")):
        leg, other = LM.leg(side), LM.leg("right" if side == "left" else "left")
        sign = (1.0 if left_is_image_right else -1.0) * (1.0 if side == "left" else -1.0)
        mid[i], lat[i], clean[i] = _one_leg(mask, p[leg["knee"]], p[leg["ankle"]], p[other["knee"]],
                                            p[other["ankle"]], sign)
    return {"shank_mid_px": mid, "shank_lat_px": lat, "shank_clean": clean}
