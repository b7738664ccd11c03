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

from hiprom.core.capture import N_SHANK_POINTS, ShankLines
from hiprom.core.landmarks import LM

__all__ = ["shank_lines", "N_POINTS"]

#: The midline is fitted to the slices between these fractions of the knee→ankle length.
SLICE_FROM, SLICE_TO = 0.15, 0.85
#: A run wider than this fraction of the shank length is two legs merged.
MAX_WIDTH_FRACTION = 0.40
#: Lines need at least this many usable slices.
MIN_SLICES = 5
#: Slices across the shank, evenly from the knee (0 %) to the ankle landmark (100 %); the
#: midpoints of all are kept (``shank_points_px``) for fitting over a fixed band later.
N_POINTS = N_SHANK_POINTS


def _sample(mask: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Bilinear samples of a mask at pixel positions ``(map_x, map_y)`` (0 outside)."""
    return cv2.remap(mask, map_x, map_y, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).astype(np.float64)


def _fit_lines(s: np.ndarray, t: np.ndarray, use: np.ndarray, knee: np.ndarray, u: np.ndarray,
               n: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Per leg, the least-squares line t = c0 + c1 s through the slices in ``use``, as two
    image points at ``SLICE_FROM`` and ``SLICE_TO`` of the length; NaN with < MIN_SLICES.

    ``s``, ``t``, ``use`` are ``(legs, N_POINTS)``; ``knee``, ``u``, ``n`` ``(legs, 2)``.
    """
    count = use.sum(axis=1)
    w = use.astype(float)
    t0 = np.where(use, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s_mean = (w * s).sum(axis=1) / count
        t_mean = (w * t0).sum(axis=1) / count
        ds = s - s_mean[:, None]
        c1 = (w * ds * (t0 - t_mean[:, None])).sum(axis=1) / (w * ds**2).sum(axis=1)
    c0 = t_mean - c1 * s_mean
    ends = np.stack([SLICE_FROM * length, SLICE_TO * length], axis=1)            # (legs, 2)
    lines = knee[:, None] + ends[..., None] * u[:, None] + (c0[:, None] + c1[:, None] * ends)[..., None] * n[:, None]
    lines[count < MIN_SLICES] = np.nan
    return lines


def _runs_at_axis(profiles: np.ndarray, zero: int, first: np.ndarray, last: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per profile (row), the run of values > 0.5 that contains index ``zero`` or is nearest.

    Only samples ``first[row]..last[row]`` of a row belong to it (its own window); a run
    that reaches the window's end stops there. Returns sub-pixel ``lo``, ``hi`` (0.5
    crossings, in samples) and a mask of rows with a run.
    """
    rows, n = profiles.shape
    idx = np.arange(n)
    above = (profiles > 0.5) & (idx >= first[:, None]) & (idx <= last[:, None])
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
    pick_first = np.ones(order.size, bool)
    pick_first[1:] = r_start[order][1:] != r_start[order][:-1]
    pick = order[pick_first]
    rr, a, b = r_start[pick], start[pick], end[pick]
    # interpolate the 0.5 crossings just outside the run, inside the row's window
    inner_a, inner_b = a > first[rr], b < last[rr]
    prev = np.where(inner_a, a - 1, a)
    nxt = np.where(inner_b, b + 1, b)
    va, vp = profiles[rr, a], profiles[rr, prev]
    vb, vn = profiles[rr, b], profiles[rr, nxt]
    with np.errstate(invalid="ignore", divide="ignore"):
        lo_sub = np.where(inner_a, (a - 1) + (0.5 - vp) / (va - vp), a)
        hi_sub = np.where(inner_b, b + (vb - 0.5) / (vb - vn), b)
    lo[rr], hi[rr], found[rr] = lo_sub, hi_sub, True
    return lo, hi, found


def _crossing_t(s_vals: np.ndarray, knee: np.ndarray, u: np.ndarray, n: np.ndarray,
                other_knee: np.ndarray, other_ankle: np.ndarray) -> np.ndarray:
    """Per leg, where the other shank's landmark segment crosses each slice line (t; NaN
    where it does not). ``s_vals`` ``(legs, N_POINTS)``; the rest ``(legs, 2)``."""
    od = other_ankle - other_knee
    det = n[:, 0] * -od[:, 1] - n[:, 1] * -od[:, 0]
    usable = np.isfinite(od).all(axis=1) & (np.abs(det) >= 1e-9)
    det = np.where(usable, det, 1.0)[:, None]
    rhs = other_knee[:, None] - (knee[:, None] + s_vals[..., None] * u[:, None])  # point + t n = ok + lam od
    t = (rhs[..., 0] * -od[:, 1:2] - rhs[..., 1] * -od[:, 0:1]) / det
    lam = (n[:, 0:1] * rhs[..., 1] - n[:, 1:2] * rhs[..., 0]) / det
    return np.where(usable[:, None] & (lam >= -0.1) & (lam <= 1.1), t, np.nan)


def shank_lines(mask: np.ndarray, image_px: np.ndarray, left_is_image_right: bool, *,
                mask_origin_px: tuple[float, float] = (0.0, 0.0),
                mask_scale: tuple[float, float] = (1.0, 1.0)) -> ShankLines:
    """Midline and lateral-edge lines of both shanks in one frame.

    Parameters
    ----------
    mask
        ``(H, W)`` person-segmentation probabilities of this person, in [0, 1].
    image_px
        ``(33, 3)`` the person's landmarks in frame pixels.
    left_is_image_right
        True when the subject's left side is on the image's right (a front view).
    mask_origin_px, mask_scale
        Where the mask lies in the frame when it covers only a box of it, resized: frame
        pixel (x, y) is mask pixel ``((x - x0 + 0.5) * sx - 0.5, (y - y0 + 0.5) * sy - 0.5)``
        (pixel centres at whole coordinates: a mask pixel covers 1/s frame pixels). The
        lines are measured in the mask and returned in frame pixels.

    Returns
    -------
    ShankLines
        One frame's lines (see :class:`~hiprom.core.capture.ShankLines`): the midline and
        lateral edge of each leg (fitted to the slices between 15 % and 85 % of the
        knee→ankle length), the share of those slices where the leg stood clear of the other
        one, and the run middles of every slice, NaN where not found.

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
    origin, scale = np.asarray(mask_origin_px, float), np.asarray(mask_scale, float)
    if (origin != 0).any() or (scale != 1).any():
        local = (np.asarray(image_px, float)[:, :2] - origin + 0.5) * scale - 0.5
        lines = shank_lines(mask, local, left_is_image_right).arrays()
        for key in ("mid_px", "lateral_px", "points_px"):
            lines[key] = (lines[key] + 0.5) / scale - 0.5 + origin
        lines["width_px"] = lines["width_px"] / float(np.mean(scale))
        return ShankLines(**lines)
    p = np.asarray(image_px, float)[:, :2]
    legs = [LM.leg("left"), LM.leg("right")]
    knee = np.array([p[leg["knee"]] for leg in legs])
    ankle = np.array([p[leg["ankle"]] for leg in legs])
    mid = np.full((2, 2, 2), np.nan)
    lat = np.full((2, 2, 2), np.nan)
    clean_share = np.zeros(2)
    points = np.full((2, N_POINTS, 2), np.nan)
    width = np.full((2, N_POINTS), np.nan)
    crossed = np.zeros((2, N_POINTS))

    def out() -> ShankLines:
        return ShankLines(mid[None], lat[None], clean_share[None], points[None], width[None], crossed[None])

    d = ankle - knee
    length = np.hypot(d[:, 0], d[:, 1])
    use = np.isfinite(length) & (length >= 20)
    if not use.any():
        return out()
    k, a, length = knee[use], ankle[use], length[use]
    other_k, other_a = knee[::-1][use], ankle[::-1][use]
    u = (a - k) / length[:, None]
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    # image x of the subject's lateral side: +1 = image right (left leg in a front view)
    lateral_x = (1.0 if left_is_image_right else -1.0) * np.array([1.0, -1.0])[use]
    lat_t = np.where(n[:, 0] * lateral_x > 0, 1.0, -1.0)            # which t direction is lateral
    half = np.ceil(0.6 * length).astype(int)
    zero = int(half.max())
    ts = np.arange(-zero, zero + 1, dtype=float)
    fracs = np.linspace(0.0, 1.0, N_POINTS)
    s_vals = fracs[None, :] * length[:, None]                             # (legs, N_POINTS)
    # sample positions knee + s u + t n, one row per (leg, slice), as cv2.remap wants them
    centre = (k[:, None] + s_vals[..., None] * u[:, None]).reshape(-1, 2).astype(np.float32)
    across = np.repeat(n, N_POINTS, axis=0).astype(np.float32)
    ts32 = ts.astype(np.float32)
    profiles = _sample(mask, centre[:, :1] + across[:, :1] * ts32, centre[:, 1:] + across[:, 1:] * ts32)
    legs_used = len(length)
    rows_first = np.repeat(zero - half, N_POINTS)
    rows_last = np.repeat(zero + half, N_POINTS)
    lo, hi, found = _runs_at_axis(profiles, zero, rows_first, rows_last)
    lo, hi, found = (x.reshape(legs_used, N_POINTS) for x in (lo, hi, found))
    lo, hi = lo - zero, hi - zero
    # a run that neither contains the axis nor comes near it is something else
    with np.errstate(invalid="ignore"):
        ok = found & ((lo <= 0) & (hi >= 0) | (np.minimum(np.abs(lo), np.abs(hi)) <= 0.25 * length[:, None]))
        cross = _crossing_t(s_vals, k, u, n, other_k, other_a)
        other_inside = np.isfinite(cross) & (cross >= lo) & (cross <= hi)
        clean = ok & (hi - lo <= MAX_WIDTH_FRACTION * length[:, None]) & ~other_inside
    mid_t = (lo + hi) / 2
    pts_mid = k[:, None] + s_vals[..., None] * u[:, None] + mid_t[..., None] * n[:, None]
    pts_mid[~ok] = np.nan
    lateral = np.where(lat_t[:, None] > 0, hi, lo)
    band = (fracs >= SLICE_FROM - 1e-9) & (fracs <= SLICE_TO + 1e-9)
    mid[use] = _fit_lines(s_vals, mid_t, clean & band, k, u, n, length)
    lat[use] = _fit_lines(s_vals, lateral, ok & band, k, u, n, length)
    clean_share[use] = (clean & band).sum(axis=1) / band.sum()
    points[use] = pts_mid
    width[use] = np.where(ok, hi - lo, np.nan)
    crossed[use] = (ok & other_inside).astype(float)
    return out()
