"""Camera roll of a clip: from scene lines checked against the body, or a fixed value.

Two independent cues:

- **body**: hips are level when seated on a level table, so the hip line tilts by the roll
  (the knee line is not used: a rotating leg drags its knee landmark);
- **scene**: long level lines facing the camera (table edge, skirting board) tilt by exactly
  the roll (see :mod:`hiprom.scene`), but receding lines seen from the side can mislead.

The scene value is used when most of the long near-horizontal line length agrees on it
(a consensus of level lines), or when it agrees with the body within ``agree_deg``;
otherwise the body value is used and the disagreement is reported. For a hand-held
camera (the recorder samples the scene densely all along) with a consensus of level lines,
the roll is followed frame by frame, interpolated between the samples; with weaker lines a
hand-held clip gets one roll for the whole clip.
"""

from __future__ import annotations

import numpy as np

from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.core.measurement import RollEstimate
from hiprom.geometry.angles import line_angle_deg

__all__ = ["RollEstimate", "estimate_roll", "weighted_median"]

#: Scene samples agreeing with less than this share of line length are ignored.
MIN_SCENE_SUPPORT = 0.3
#: A scene value backed by a majority of the line length is trusted on its own.
CONSENSUS_SUPPORT = 0.5


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Lower weighted median of ``values`` with non-negative ``weights`` (NaN values and zero
    weights ignored; NaN when nothing is left)."""
    ok = np.isfinite(values) & (weights > 0)
    v, w = values[ok], weights[ok]
    if v.size == 0:
        return float("nan")
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def _body_roll(series: LandmarkSeries, min_visibility: float) -> tuple[float | None, float | None]:
    left, right = series.xy(LM.LEFT_HIP), series.xy(LM.RIGHT_HIP)
    tilt = line_angle_deg(right, left)
    width = np.linalg.norm(left - right, axis=1)
    vis = np.nan_to_num(series.visibility[:, [LM.LEFT_HIP, LM.RIGHT_HIP]].min(axis=1))
    ok = np.isfinite(tilt) & (vis >= min_visibility) & (width > 0)
    if not ok.any():
        return None, None
    value = weighted_median(tilt[ok], width[ok])
    return value, float(1.4826 * np.median(np.abs(tilt[ok] - value)))


def _scene_roll(series: LandmarkSeries) -> tuple[float | None, float]:
    """Scene roll (length-weighted median over sampled frames) and its median support."""
    samples = [s for s in series.scene_lines if s.support >= MIN_SCENE_SUPPORT]
    if not samples:
        return None, 0.0
    value = weighted_median(np.array([s.roll_deg for s in samples]), np.array([s.length_px for s in samples]))
    return value, float(np.median([s.support for s in samples]))


def _per_frame_scene_roll(series: LandmarkSeries) -> np.ndarray | None:
    """The scene roll at every frame, interpolated between the searched frames."""
    samples = [s for s in series.scene_lines if s.support >= MIN_SCENE_SUPPORT]
    if len(samples) < 3:
        return None
    frames = np.array([s.frame for s in samples], float)
    rolls = np.array([s.roll_deg for s in samples], float)
    order = np.argsort(frames)
    return np.interp(series.frame_index.astype(float), frames[order], rolls[order])


def estimate_roll(series: LandmarkSeries, fixed_roll_deg: float | None = None, *,
                  min_visibility: float = 0.5, agree_deg: float = 2.0) -> RollEstimate:
    """Camera roll for a series.

    Parameters
    ----------
    series
        Landmarks; ``series.scene_lines`` holds scene-line samples when the frames
        were available (see :func:`hiprom.pipeline.detect_landmarks`).
    fixed_roll_deg
        Use this value instead of estimating (e.g. 0 to switch the correction off).
    min_visibility
        Hip landmarks below this visibility are not used.
    agree_deg
        When the level lines are a minority of the scene's line length (support < 50 %),
        their value is used only within this distance of the body value; a majority is
        used whatever the body says.
    """
    if fixed_roll_deg is not None:
        return RollEstimate(float(fixed_roll_deg), "fixed (from the settings)")
    body, spread = _body_roll(series, min_visibility)
    scene, support = _scene_roll(series)
    if scene is not None and support >= CONSENSUS_SUPPORT:
        per_frame = _per_frame_scene_roll(series) if series.capture.hand_held else None
        source = f"scene lines ({support:.0%} of the level lines agree)"
        if per_frame is not None:
            source += "; hand-held camera: followed frame by frame"
        return RollEstimate(scene, source, body, scene, spread, per_frame)
    if scene is not None and body is not None and abs(scene - body) <= agree_deg:
        return RollEstimate(scene, "scene lines (agree with the hip line)", body, scene, spread)
    if body is not None:
        why = ("no level lines found in the scene" if scene is None else
               f"scene lines ({scene:+.1f}°) disagree with it, e.g. receding lines")
        return RollEstimate(body, f"hip line ({why})", body, scene, spread)
    if scene is not None:
        return RollEstimate(scene, "scene lines (hips not seen)", None, scene, None)
    return RollEstimate(0.0, "none: no level line in the scene and hips not seen; assumed level")
