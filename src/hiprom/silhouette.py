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

import cv2
import numpy as np

from .landmarks import LM

__all__ = ["shank_lines", "N_POINTS", "EXTRA_KEYS"]

#: The midline is fitted to the slices between these fractions of the knee→ankle length.
SLICE_FROM, SLICE_TO = 0.15, 0.85
#: A run wider than this fraction of the shank length is two legs merged.
MAX_WIDTH_FRACTION = 0.40
#: Lines need at least this many usable slices.
MIN_SLICES = 5
#: Slices across the shank, evenly from the knee (0 %) to the ankle landmark (100 %); the
#: midpoints of all are kept (``shank_points_px``) for fitting over a fixed band later.
N_POINTS = 24
#: Names of the per-frame arrays added to a LandmarkSeries' ``extras``.
EXTRA_KEYS = ("shank_mid_px", "shank_lat_px", "shank_clean", "shank_points_px")


def _sample(mask: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of a mask at ``(S, N, 2)`` pixel positions (0 outside)."""
    xy = points.astype(np.float32)
    return cv2.remap(mask, xy[..., 0], xy[..., 1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).astype(np.float64)


def _fit_line(s: np.ndarray, t: np.ndarray, k: np.ndarray, u: np.ndarray, n: np.ndarray,
              length: float) -> np.ndarray:
    """Least-squares line t = c0 + c1 s in the leg frame, returned as two image points."""
    s_mean, t_mean = s.mean(), t.mean()
    c1 = float(((s - s_mean) * (t - t_mean)).sum() / ((s - s_mean) ** 2).sum())
    c0 = t_mean - c1 * s_mean
    s0, s1 = SLICE_FROM * length, SLICE_TO * length
    return np.stack([k + s0 * u + (c0 + c1 * s0) * n, k + s1 * u + (c0 + c1 * s1) * n])


def _runs_at_axis(profiles: np.ndarray, zero: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per profile (row), the run of values > 0.5 that contains index ``zero`` or is nearest.

    Returns sub-pixel ``lo``, ``hi`` (0.5 crossings, in samples) and a mask of rows with a run.
    """
    rows, n = profiles.shape
    above = profiles > 0.5
    padded = np.zeros((rows, n + 2), np.int8)
    padded[:, 1:-1] = above
    step = np.diff(padded, axis=1)
    r_start, start = np.nonzero(step == 1)          # run starts at index `start`
    _, stop = np.nonzero(step == -1)                 # ...and ends before `stop`
    found = np.zeros(rows, bool)
    lo = np.full(rows, np.nan)
    hi = np.full(rows, np.nan)
    if r_start.size == 0:
        return lo, hi, found
    end = stop - 1
    dist = np.where((start <= zero) & (end >= zero), 0, np.minimum(np.abs(start - zero), np.abs(end - zero)))
    order = np.lexsort((dist, r_start))             # by row, then distance
    first = np.ones(order.size, bool)
    first[1:] = r_start[order][1:] != r_start[order][:-1]
    pick = order[first]
    rr, a, b = r_start[pick], start[pick], end[pick]
    # interpolate the 0.5 crossings just outside the run
    prev = np.clip(a - 1, 0, n - 1)
    nxt = np.clip(b + 1, 0, n - 1)
    va, vp = profiles[rr, a], profiles[rr, prev]
    vb, vn = profiles[rr, b], profiles[rr, nxt]
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_sub = np.where(a > 0, (a - 1) + (0.5 - vp) / (va - vp), a)
        hi_sub = np.where(b < n - 1, b + (vb - 0.5) / (vb - vn), b)
    lo[rr], hi[rr], found[rr] = lo_sub, hi_sub, True
    return lo, hi, found


def _crossing_t(s_vals: np.ndarray, knee: np.ndarray, u: np.ndarray, n: np.ndarray,
                other_knee: np.ndarray, other_ankle: np.ndarray) -> np.ndarray:
    """Where the other shank's landmark segment crosses each slice line (t, NaN if not)."""
    od = other_ankle - other_knee
    det = n[0] * -od[1] - n[1] * -od[0]
    if not np.all(np.isfinite(od)) or abs(det) < 1e-9:
        return np.full(len(s_vals), np.nan)
    rhs = other_knee - (knee + s_vals[:, None] * u)          # point + t n = ok + lam od
    t = (rhs[:, 0] * -od[1] - rhs[:, 1] * -od[0]) / det
    lam = (n[0] * rhs[:, 1] - n[1] * rhs[:, 0]) / det
    return np.where((lam >= -0.1) & (lam <= 1.1), t, np.nan)


def _one_leg(mask: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other_knee: np.ndarray,
             other_ankle: np.ndarray, lateral_sign_x: float):
    d = ankle - knee
    length = float(np.hypot(*d))
    nan = np.full((2, 2), np.nan)
    if not np.isfinite(length) or length < 20:
        return nan, nan, 0.0, np.full((N_POINTS, 2), np.nan)
    u = d / length
    n = np.array([-u[1], u[0]])
    lat_t = 1.0 if n[0] * lateral_sign_x > 0 else -1.0   # which t direction is lateral
    half = int(np.ceil(0.6 * length))
    ts = np.arange(-half, half + 1, dtype=float)
    fracs = np.linspace(0.0, 1.0, N_POINTS)
    s_vals = fracs * length
    pts = knee + s_vals[:, None, None] * u + ts[None, :, None] * n
    lo, hi, found = _runs_at_axis(_sample(mask, pts), half)
    lo, hi = lo - half, hi - half
    # a run that neither contains the axis nor comes near it is something else
    ok = found & ((lo <= 0) & (hi >= 0) | (np.minimum(np.abs(lo), np.abs(hi)) <= 0.25 * length))
    cross = _crossing_t(s_vals, knee, u, n, other_knee, other_ankle)
    other_inside = np.isfinite(cross) & (cross >= lo) & (cross <= hi)
    clean = ok & (hi - lo <= MAX_WIDTH_FRACTION * length) & ~other_inside
    mid_t = (lo + hi) / 2
    points = knee + s_vals[:, None] * u + mid_t[:, None] * n
    points[~clean] = np.nan
    lateral = np.where(lat_t > 0, hi, lo)
    band = (fracs >= SLICE_FROM - 1e-9) & (fracs <= SLICE_TO + 1e-9)
    okb, cleanb = ok & band, clean & band
    mid_line = _fit_line(s_vals[cleanb], mid_t[cleanb], knee, u, n, length) if cleanb.sum() >= MIN_SLICES else nan
    lat_line = _fit_line(s_vals[okb], lateral[okb], knee, u, n, length) if okb.sum() >= MIN_SLICES else nan
    return mid_line, lat_line, float(cleanb.sum()) / band.sum(), points


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
        distal) × (x, y), NaN where not found (fitted to the slices between 15 % and 85 % of
        the knee→ankle length); ``shank_clean``: ``(2,)`` the share of those slices where the
        leg stood clear of the other one; ``shank_points_px``: ``(2, N_POINTS, 2)`` the run
        middles of every slice (NaN where not clear), for a fit over a band fixed later.

    Notes
    -----
    Slices are taken perpendicular to the landmark knee→ankle direction at
    ``N_POINTS`` positions from the knee to the ankle landmark; on each the mask is sampled
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
    points = np.full((2, N_POINTS, 2), np.nan)
    for i, side in enumerate(("left", "right")):
        leg, other = LM.leg(side), LM.leg("right" if side == "left" else "left")
        sign = (1.0 if left_is_image_right else -1.0) * (1.0 if side == "left" else -1.0)
        mid[i], lat[i], clean[i], points[i] = _one_leg(mask, p[leg["knee"]], p[leg["ankle"]], p[other["knee"]],
                                                       p[other["ankle"]], sign)
    return {"shank_mid_px": mid, "shank_lat_px": lat, "shank_clean": clean, "shank_points_px": points}
