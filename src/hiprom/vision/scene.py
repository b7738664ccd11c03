"""Camera roll from straight lines in the scene (table edges, skirting boards, shelves).

A phone is rarely level. Level lines in the room that face the camera (the front edge of
the examination table, the skirting board, a shelf) appear tilted by exactly the camera
roll. :func:`level_line_roll_deg` finds the dominant near-horizontal direction among the long
straight segments of a frame. Receding lines (seen when the camera is off to the side) form
a competing direction, so the scene value is checked against the body before it is used
(see :func:`hiprom.roll.estimate_roll`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["LineRoll", "level_line_roll_deg", "sample_every"]

#: Segments shorter than this fraction of the frame's smaller side are ignored.
MIN_SEGMENT_FRACTION = 0.06
#: Only segments within this many degrees of horizontal count.
MAX_TILT_DEG = 15.0


@dataclass(frozen=True)
class LineRoll:
    """Roll found in one frame: ``roll_deg`` (+ = scene turned clockwise), ``support``:
    the share of the long near-horizontal segments' length that agrees with it (0..1),
    ``length_px`` their summed length."""

    roll_deg: float
    support: float
    length_px: float


def level_line_roll_deg(rgb: np.ndarray, *, max_side_px: int = 640) -> LineRoll | None:
    """The dominant tilt of long near-horizontal straight segments in an RGB frame.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 image.
    max_side_px
        Larger frames are downscaled to this size first (speed; angles are unchanged).

    Returns
    -------
    LineRoll or None
        None when the frame has no long near-horizontal segment.

    Notes
    -----
    Segments come from OpenCV's line segment detector (LSD). Their tilts (y down, so a
    clockwise tilt is positive) are histogrammed in 0.25° bins weighted by length and
    smoothed; the estimate is the length-weighted mean of the segments within 1° of the
    histogram's peak.
    """
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, max_side_px / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(gray)[0]
    if found is None:
        return None
    seg = found.reshape(-1, 4).astype(np.float64)
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    tilt = (np.degrees(np.arctan2(d[:, 1], d[:, 0])) + 90.0) % 180.0 - 90.0
    keep = (length > MIN_SEGMENT_FRACTION * min(gray.shape)) & (np.abs(tilt) < MAX_TILT_DEG)
    if not keep.any():
        return None
    tilt, length = tilt[keep], length[keep]
    bins = np.arange(-MAX_TILT_DEG, MAX_TILT_DEG + 1e-9, 0.25)
    hist, _ = np.histogram(tilt, bins, weights=length)
    hist = np.convolve(hist, [1, 2, 3, 2, 1], mode="same")
    peak = int(np.argmax(hist))
    centre = (bins[peak] + bins[peak + 1]) / 2
    near = np.abs(tilt - centre) < 1.0
    return LineRoll(float(np.average(tilt[near], weights=length[near])),
                    float(length[near].sum() / length.sum()), float(length[near].sum() / scale))


def sample_every(frame_count: int | None, *, samples: int = 8, fallback: int = 15) -> int:
    """Frame stride that spreads about ``samples`` scene-line samples over a clip."""
    if not frame_count or frame_count <= 0:
        return fallback
    return max(1, frame_count // samples)
