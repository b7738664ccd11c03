"""Cleaning an angle time series: mask, reject outliers, fill short gaps, zero-phase filter.

All functions are pure: they take arrays and return new arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiprom.config import SignalSettings

__all__ = ["SignalSettings", "CleanAngle", "clean_angle", "hampel_mask", "fill_short_gaps",
           "lowpass_zero_phase", "runs"]


@dataclass(frozen=True)
class CleanAngle:
    """Result of :func:`clean_angle` for one angle series.

    ``raw_deg`` is the input; ``valid`` the frames kept (visible, not outliers);
    ``filled`` the frames interpolated across short gaps; ``filtered_deg`` the zero-phase
    filtered series (NaN across long gaps); ``cutoff_hz`` the cutoff used.
    """

    raw_deg: np.ndarray
    valid: np.ndarray
    filled: np.ndarray
    filtered_deg: np.ndarray
    n_low_visibility: int
    n_outliers: int
    cutoff_hz: float

    @property
    def jitter_deg(self) -> float:
        """Robust SD of raw minus filtered over valid frames (frame-to-frame noise)."""
        resid = (self.raw_deg - self.filtered_deg)[self.valid & np.isfinite(self.filtered_deg)]
        if resid.size < 5:
            return float("nan")
        return float(1.4826 * np.median(np.abs(resid - np.median(resid))))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, stop)`` index ranges where a boolean mask is true."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def hampel_mask(values: np.ndarray, window: int, threshold: float, min_dev: float,
                scale_window: int | None = None) -> np.ndarray:
    """Outliers by the Hampel rule: far from the rolling median in robust-SD units.

    A value is an outlier when ``|x - median| > max(threshold * 1.4826 * MAD, min_dev)``,
    where the median is taken over a centred window of ``window`` samples and the MAD (the
    median absolute residual from that median) over ``scale_window`` samples (default 5 ×
    ``window``). NaN is ignored.

    Notes
    -----
    A short median window follows quick swings (a long one sits below the top of a fast
    peak and would cut it); a longer scale window keeps the MAD from being inflated by a
    neighbouring spike or by noise in a handful of samples.
    """
    x = np.asarray(values, float)
    window = max(3, int(window) | 1)
    scale_window = max(window, int(scale_window or 5 * window) | 1)
    med = _rolling_nanmedian(x, window)
    resid = np.abs(x - med)
    mad = _rolling_nanmedian(resid, scale_window)
    limit = np.maximum(threshold * 1.4826 * mad, min_dev)
    with np.errstate(invalid="ignore"):
        return np.isfinite(resid) & (resid > limit)


def _rolling_nanmedian(x: np.ndarray, window: int, min_count: int = 3) -> np.ndarray:
    """Centred rolling median of an odd ``window``, ignoring NaN; NaN where fewer than
    ``min_count`` values are present."""
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    views = np.lib.stride_tricks.sliding_window_view(padded, window)
    count = np.isfinite(views).sum(axis=1)
    out = np.full(len(x), np.nan)
    ok = count >= min_count
    if ok.any():
        out[ok] = np.nanmedian(views[ok], axis=1)
    return out


def fill_short_gaps(time_s: np.ndarray, values: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate NaN gaps no longer than ``max_gap_s`` with data on both sides.

    Returns the filled values and a mask of the frames that were filled.
    """
    values = np.asarray(values, float).copy()
    filled = np.zeros(values.shape, bool)
    for start, stop in runs(~np.isfinite(values)):
        if start == 0 or stop == len(values):
            continue
        if time_s[stop] - time_s[start - 1] > max_gap_s + 1e-9:
            continue
        values[start:stop] = np.interp(time_s[start:stop], [time_s[start - 1], time_s[stop]],
                                       [values[start - 1], values[stop]])
        filled[start:stop] = True
    return values, filled


def lowpass_zero_phase(time_s: np.ndarray, values: np.ndarray, cutoff_hz: float,
                       order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass (forward-backward), segment by segment.

    Parameters
    ----------
    time_s
        Sample times; a variable frame rate is resampled to a uniform grid at the median
        interval, filtered, and interpolated back.
    values
        Samples; NaN runs split the series into segments filtered separately.
    cutoff_hz, order
        Filter cutoff and order (the forward-backward pass doubles the effective order
        and has no phase lag, so peaks stay where they are).

    Notes
    -----
    Segments too short for the filter's edge padding are returned unfiltered.
    """
    time_s = np.asarray(time_s, float)
    values = np.asarray(values, float)
    out = np.full(values.shape, np.nan)
    if len(values) < 2:
        return values.copy()
    from scipy import signal as sps  # here, not at import: it takes a while (see hiprom.apps.pipeline.analyze)

    dt = float(np.median(np.diff(time_s)))
    fs = 1.0 / dt
    sos = sps.butter(order // 2 * 2, min(cutoff_hz / (fs / 2.0), 0.99), output="sos")
    for start, stop in runs(np.isfinite(values)):
        t, v = time_s[start:stop], values[start:stop]
        uniform = np.allclose(np.diff(t), dt, rtol=0.05, atol=1e-6) if len(t) > 1 else True
        if not uniform:
            grid = np.arange(t[0], t[-1] + dt / 2, dt)
            v_grid = np.interp(grid, t, v)
        else:
            grid, v_grid = t, v
        padlen = min(3 * (2 * len(sos) + 1), len(v_grid) - 1)
        if len(v_grid) < 2 * len(sos) * 3:
            out[start:stop] = v
            continue
        smooth = sps.sosfiltfilt(sos, v_grid, padlen=padlen)
        out[start:stop] = smooth if uniform else np.interp(t, grid, smooth)
    return out


def clean_angle(time_s: np.ndarray, angle_deg: np.ndarray, visibility: np.ndarray,
                settings: SignalSettings | None = None) -> CleanAngle:
    """Mask, de-spike, gap-fill and zero-phase filter one angle series.

    Parameters
    ----------
    time_s
        ``(T,)`` strictly increasing times in seconds.
    angle_deg
        ``(T,)`` raw angle (NaN where not measurable).
    visibility
        ``(T,)`` the weakest visibility of the landmarks the angle uses.
    settings
        Thresholds and filter settings.

    Notes
    -----
    Order: (1) frames with visibility below ``min_visibility`` are masked; (2) Hampel
    outliers over ``outlier_window_s`` are masked; (3) gaps up to ``max_gap_s`` are filled
    linearly, longer ones stay empty; (4) a Butterworth low-pass of ``filter_order`` runs
    forward and backward (zero phase) on each gap-free segment.
    """
    settings = settings or SignalSettings()
    time_s = np.asarray(time_s, float)
    raw = np.asarray(angle_deg, float)
    vis = np.nan_to_num(np.asarray(visibility, float), nan=0.0)
    visible = np.isfinite(raw) & (vis >= settings.min_visibility)
    work = np.where(visible, raw, np.nan)
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 1.0
    window = int(round(settings.outlier_window_s / dt))
    outliers = hampel_mask(work, window, settings.outlier_threshold, settings.outlier_min_deg)
    work[outliers] = np.nan
    valid = np.isfinite(work)
    work, filled = fill_short_gaps(time_s, work, settings.max_gap_s)
    cutoff = settings.cutoff_for(1.0 / dt)
    filtered = lowpass_zero_phase(time_s, work, cutoff, settings.filter_order)
    return CleanAngle(raw_deg=raw, valid=valid, filled=filled, filtered_deg=filtered,
                      n_low_visibility=int(np.sum(np.isfinite(raw) & ~visible)),
                      n_outliers=int(outliers.sum()), cutoff_hz=cutoff)
