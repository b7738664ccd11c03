"""Scoring one benchmark clip or still against its truth (used by ``accuracy.py``).

Each function returns rows of a table: one per reading (the peak IR or ER of a tested side,
or a tested leg of a still) with the truth, hiprom's value, its uncertainty and quality and
what hiprom said; one per leg that does not move (its resting angle and false motion); clips
tagged ``no_test`` are marked, and whether hiprom gave any number for them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hiprom.apps.pipeline import analyze_landmarks, detect_landmarks
from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.errors import AnalysisError
from hiprom.io.landmarks_npz import load_series, save_series

#: A leg of a still is a test reading when its true angle is at least this far from vertical
#: (a real shank hangs up to about 8° from vertical at rest).
STILL_TESTED_DEG = 12.0


def condition_group(record: dict) -> str:
    """The benchmark condition a clip or still belongs to."""
    cam = record["camera"]
    if record.get("shake"):
        return "shake"
    if cam.get("yaw_deg"):
        return "yaw"
    if cam.get("roll_deg"):
        return "roll"
    if cam.get("height"):
        return "high/low"
    if cam.get("distance", 0) >= 3.5:
        return "far"
    return "front"


def cached_landmarks(path: Path, config: Config, model, cache: Path | None) -> LandmarkSeries:
    """Pose landmarks of a file, from the cache when the file, model and settings match.

    Detection always measures the silhouette (a superset: an analysis with
    ``geometry.silhouette = false`` simply ignores it), so one cache serves every method.
    """
    detect_config = config.with_overrides({"geometry.silhouette": True})
    if cache is None:
        return detect_landmarks(path, detect_config, model=model)[0]
    key = hashlib.sha256(f"{path.name}:{path.stat().st_size}:{model.sha256}:{config.model}:"
                         f"{config.video}:silhouette".encode()).hexdigest()[:16]
    file = cache / f"{path.stem}.{key}.npz"
    if file.exists():
        return load_series(file)
    series = detect_landmarks(path, detect_config, model=model)[0]
    cache.mkdir(parents=True, exist_ok=True)
    save_series(series, file)
    return series


def _analyse(series: LandmarkSeries, config: Config):
    """The result, or None and what hiprom said when it refused."""
    try:
        return analyze_landmarks(series, config), ""
    except AnalysisError as exc:
        return None, exc.what


def _base(name: str, rec: dict, kind: str, side: str) -> dict:
    return {"item": name, "kind": kind, "group": condition_group(rec), "body": rec["body_name"], "side": side,
            "no_test": "no_test" in rec.get("tags", ()), "peak": None, "true": None, "meas": None,
            "unc": np.nan, "quality": None, "said": "", "measured_any": False,
            "rest_true": None, "rest_meas": None, "false_motion_deg": None}


def _reading(row: dict, got, peak: str, true: float, said: str) -> dict:
    d = got.to_dict() if got is not None else {}
    meas = d.get(f"peak_{peak}_deg")
    why = said or ("; ".join(d.get("quality", {}).get("reasons", [])) if meas is None else "")
    return {**row, "peak": peak.upper(), "true": true, "meas": meas,
            "error": None if meas is None else meas - true,
            "unc": d.get(f"peak_{peak}_uncertainty_deg") or np.nan,
            "quality": d.get("quality", {}).get("level"), "said": why or "not found"}


def score_clip(name: str, rec: dict, root: Path, config: Config, model, cache: Path | None) -> list[dict]:
    series = cached_landmarks(root / rec["file"], config, model, cache)
    result, said = _analyse(series, config)
    measured_any = result is not None and any(
        s.peak_ir_deg is not None or s.peak_er_deg is not None for s in result.sides.values())
    rows = []
    for side in ("right", "left"):
        truth = rec["summary"][side]
        got = None if result is None else result.sides[side]
        row = {**_base(name, rec, "clip", side), "measured_any": measured_any,
               "said": said or ("no measurement" if not measured_any else "measured")}
        if row["no_test"]:
            rows.append(row)
        elif truth["tested"]:
            for peak in ("ir", "er"):
                if truth[f"peak_{peak}_deg"] is not None:
                    rows.append(_reading(row, got, peak, abs(truth[f"peak_{peak}_deg"]), said))
        elif result is not None:
            a = result.measurement.angles[side].filtered_deg
            a = a[np.isfinite(a)]
            # false motion of a leg that does not move: how far its angle strays from its median
            rows.append({**row, "rest_true": truth["rest_deg"], "rest_meas": got.rest_deg,
                         "false_motion_deg": float(np.max(np.abs(a - np.median(a)))) if a.size else None})
    return rows


def score_still(name: str, rec: dict, root: Path, config: Config, model, cache: Path | None) -> list[dict]:
    series = cached_landmarks(root / rec["file"], config, model, cache)
    result, said = _analyse(series, config)
    rows = []
    for side in ("right", "left"):
        true = float(rec[f"{side}_ir_deg"])
        got = None if result is None else result.sides[side]
        row = _base(name, rec, "still", side)
        if abs(true) >= STILL_TESTED_DEG:
            rows.append(_reading(row, got, "ir" if true > 0 else "er", abs(true), said))
        elif got is not None:
            angles = got.diagnostics.get("angles_deg") or [None]
            rows.append({**row, "rest_true": true, "rest_meas": angles[0], "false_motion_deg": 0.0,
                         "said": "reported as tested" if got.tested else "resting"})
    return rows


def agreement(errors: np.ndarray) -> str:
    errors = np.asarray(errors, float)
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return "n=0"
    bias, sd = errors.mean(), errors.std(ddof=1) if errors.size > 1 else 0.0
    return (f"n={errors.size:3d}  MAE {np.abs(errors).mean():5.2f}°  bias {bias:+5.2f}°  "
            f"LoA [{bias - 1.96 * sd:+6.2f}, {bias + 1.96 * sd:+6.2f}]°  max |err| {np.abs(errors).max():5.2f}°")
