"""Photos: each photo is one reading of each leg; a leg is tested only when clearly displaced.

A photo of the seated test shows one leg held at end range and the other hanging. A real
shank hangs a few degrees from vertical (2–8°, usually with the foot towards the midline), so
a leg counts as tested only when its reading is at least ``photo_tested_min_deg`` (12°) from
vertical; the other leg is reported as resting, with its angle, never as a peak.

Each photo is read as taken and mirrored (:mod:`hiprom.vision.mirror`): the series holds the
two readings as a pair of frames with the photo's frame index. The photo's reading is their
mean and half their difference is its own uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.core.measurement import Quality, SideAngles, SideResult
from hiprom.core.measurement import round_or_none as _r

__all__ = ["PhotoReadings", "photo_readings", "measure_photo_side"]


@dataclass(frozen=True, eq=False)
class PhotoReadings:
    """One leg's reading in each photo (degrees, + = IR), its mirror spread, and the frame
    index of the photo; NaN where the leg was not seen."""

    angle_deg: np.ndarray
    spread_deg: np.ndarray
    frame_index: np.ndarray

    def __len__(self) -> int:
        return len(self.angle_deg)


def photo_readings(series: LandmarkSeries, angles: SideAngles, min_visibility: float) -> PhotoReadings:
    """Group the series' frames by photo (a photo and its mirror share a frame index).

    Notes
    -----
    With readings ``a`` and ``b`` of one photo, the reading is ``(a + b) / 2`` and the spread
    ``|a - b| / 2``; a photo read once (or seen in only one of the pair) has spread NaN.
    """
    raw = np.where(angles.visibility >= min_visibility, angles.raw_deg, np.nan)
    order, seen = [], set()
    for idx in series.frame_index.tolist():
        if idx not in seen:
            seen.add(idx)
            order.append(idx)
    mean, spread = [], []
    for idx in order:
        vals = raw[series.frame_index == idx]
        vals = vals[np.isfinite(vals)]
        mean.append(float(vals.mean()) if vals.size else np.nan)
        spread.append(float(np.ptp(vals)) / 2.0 if vals.size > 1 else np.nan)
    return PhotoReadings(np.array(mean), np.array(spread), np.array(order, dtype=np.int64))


def measure_photo_side(readings: PhotoReadings, side: str, quality: Quality, config: Config,
                       uncertainty_deg: np.ndarray, diagnostics: dict) -> SideResult:
    """The side's result from its photo readings.

    ``uncertainty_deg`` holds each photo reading's uncertainty (see
    :mod:`hiprom.interpret.uncertainty`); the reported peak carries its photo's.
    """
    a = readings.angle_deg
    threshold = config.movement.photo_tested_min_deg
    finite = np.where(np.isfinite(a), a, 0.0)
    ir_idx = np.flatnonzero(np.isfinite(a) & (finite >= threshold))
    er_idx = np.flatnonzero(np.isfinite(a) & (finite <= -threshold))
    tested = bool(ir_idx.size or er_idx.size)
    best_ir = int(ir_idx[np.argmax(a[ir_idx])]) if ir_idx.size else None
    best_er = int(er_idx[np.argmin(a[er_idx])]) if er_idx.size else None
    resting = a[np.isfinite(a) & (np.abs(finite) < threshold)]
    reps = [{"rep": k + 1, "image": int(readings.frame_index[k]), "angle_deg": _r(v),
             "ir_deg": _r(v) if k in ir_idx else None, "er_deg": _r(-v) if k in er_idx else None,
             "mirror_spread_deg": _r(readings.spread_deg[k])}
            for k, v in enumerate(a) if np.isfinite(v)]
    ir, er = a[ir_idx], -a[er_idx]
    return SideResult(
        side=side, tested=tested, reference="vertical", rest_found=resting.size > 0,
        rest_deg=_r(float(np.median(resting))) if resting.size else None,
        peak_ir_deg=float(a[best_ir]) if best_ir is not None else None,
        peak_er_deg=float(-a[best_er]) if best_er is not None else None,
        mean_ir_deg=float(ir.mean()) if ir.size else None, mean_er_deg=float(er.mean()) if er.size else None,
        ir_spread_deg=float(np.ptp(ir)) if ir.size > 1 else None,
        er_spread_deg=float(np.ptp(er)) if er.size > 1 else None,
        peak_ir_t_s=None, peak_er_t_s=None,
        peak_ir_frame=int(readings.frame_index[best_ir]) if best_ir is not None else None,
        peak_er_frame=int(readings.frame_index[best_er]) if best_er is not None else None,
        peak_ir_uncertainty_deg=float(uncertainty_deg[best_ir]) if best_ir is not None else None,
        peak_er_uncertainty_deg=float(uncertainty_deg[best_er]) if best_er is not None else None,
        n_reps=len(reps), reps=reps, quality=quality,
        diagnostics={**diagnostics, "angles_deg": [_r(v) for v in a],
                     "mirror_spread_deg": [_r(v) for v in readings.spread_deg]},
    )
