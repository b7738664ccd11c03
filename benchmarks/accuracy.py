"""Accuracy of hiprom against rendered clips and stills with exact ground truth.

Runs the full pipeline over every clip and still of a synthetic set (default:
``../shared/bench/synthetic``) and prints, per clip and side, the true and measured peak IR
and ER, then the mean absolute error, bias and 95 % limits of agreement, overall and per
condition (front / yaw / roll / high-low / far / shake / other), and the false motion of legs
that do not move.

    python benchmarks/accuracy.py                      # everything (≈ 3 min on 2 cores)
    python benchmarks/accuracy.py --cache /tmp/lm      # reuse pose landmarks between runs
    python benchmarks/accuracy.py --only b0 --csv out.csv
    python benchmarks/accuracy.py --config benchmarks/configs/landmarks_only.toml   # the naive method

Methods to compare (``--config``): ``benchmarks/configs/landmarks_only.toml`` (the plain
knee→ankle angle in the image, roll corrected), ``silhouette_only.toml`` (+ the silhouette
midline), the default (+ the camera-view correction and the knee-fixed band).

The pose model is found as hiprom finds it (``HIPROM_MODEL``, cache, download).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hiprom.config import Config
from hiprom.apps.pipeline import analyze_landmarks, detect_landmarks, load_model
from hiprom.core.landmarks import LandmarkSeries
from hiprom.io.landmarks_npz import load_series, save_series

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SET = Path(os.environ.get("HIPROM_SHARED", REPO.parent / "shared")) / "bench" / "synthetic"


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
    save_series(series, file)
    return series


def score_clip(name: str, rec: dict, root: Path, config: Config, model, cache: Path | None) -> list[dict]:
    series = cached_landmarks(root / rec["file"], config, model, cache)
    result = analyze_landmarks(series, config)
    rows = []
    for side in ("left", "right"):
        truth = rec["summary"][side]
        got = result.sides[side]
        row = {"item": name, "kind": "clip", "group": condition_group(rec), "body": rec["body_name"],
               "side": side, "tested_true": truth["tested"], "tested_found": got.tested}
        if truth["tested"]:
            row["ir_true"] = truth["peak_ir_deg"]
            row["ir_meas"] = got.peak_ir_deg
            row["er_true"] = None if truth["peak_er_deg"] is None else -truth["peak_er_deg"]
            row["er_meas"] = got.peak_er_deg if truth["peak_er_deg"] is not None else None
        else:
            a = result.measurement.angles[side].filtered_deg
            a = a[np.isfinite(a)]
            # false motion of a leg that does not move: how far its angle strays from its median
            row["false_motion_deg"] = float(np.max(np.abs(a - np.median(a)))) if a.size else None
            row["false_range_deg"] = float(np.percentile(a, 99) - np.percentile(a, 1)) if a.size else None
            row["rest_true"], row["rest_meas"] = truth["rest_deg"], got.rest_deg
        row["quality"] = got.quality.level
        rows.append(row)
    return rows


def score_still(name: str, rec: dict, root: Path, config: Config, model, cache: Path | None) -> list[dict]:
    series = cached_landmarks(root / rec["file"], config, model, cache)
    result = analyze_landmarks(series, config)
    rows = []
    for side in ("left", "right"):
        measured = result.sides[side].diagnostics.get("angles_deg", [None])[0]
        rows.append({"item": name, "kind": "still", "group": condition_group(rec), "body": rec["body_name"],
                     "side": side, "angle_true": rec[f"{side}_ir_deg"], "angle_meas": measured})
    return rows


def agreement(errors: np.ndarray) -> str:
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return "n=0"
    bias, sd = errors.mean(), errors.std(ddof=1) if errors.size > 1 else 0.0
    return (f"n={errors.size:3d}  MAE {np.abs(errors).mean():5.2f}°  bias {bias:+5.2f}°  "
            f"LoA [{bias - 1.96 * sd:+6.2f}, {bias + 1.96 * sd:+6.2f}]°  max |err| {np.abs(errors).max():5.2f}°")


def peak_errors(df: pd.DataFrame) -> pd.DataFrame:
    """One row per measured peak (IR and ER of each tested side of each clip)."""
    parts = []
    for kind in ("ir", "er"):
        sub = df[df.get(f"{kind}_true").notna()].copy() if f"{kind}_true" in df else df.iloc[:0]
        sub = sub.assign(peak=kind.upper(), true=sub[f"{kind}_true"], meas=sub[f"{kind}_meas"])
        parts.append(sub[["item", "group", "body", "side", "peak", "true", "meas"]])
    out = pd.concat(parts, ignore_index=True)
    out["meas"] = out["meas"].astype(float)
    out["error"] = out["meas"] - out["true"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, default=DEFAULT_SET, help="folder holding gt.json")
    ap.add_argument("--cache", type=Path, default=None, help="reuse pose landmarks from this folder")
    ap.add_argument("--only", default="*", help="glob on clip/still names")
    ap.add_argument("--csv", type=Path, default=None, help="write the per-peak table here")
    ap.add_argument("--config", type=Path, default=None, help="a hiprom TOML config to use")
    args = ap.parse_args(argv)

    gt = json.loads((args.set / "gt.json").read_text())
    config = Config.from_toml(args.config)
    model = load_model(config)
    t0 = time.perf_counter()
    rows: list[dict] = []
    for name, rec in gt.get("clips", {}).items():
        if fnmatch.fnmatch(name, f"*{args.only}*"):
            rows += score_clip(name, rec, args.set, config, model, args.cache)
    for name, rec in gt.get("stills", {}).items():
        if fnmatch.fnmatch(name, f"*{args.only}*"):
            rows += score_still(name, rec, args.set, config, model, args.cache)
    df = pd.DataFrame(rows)
    elapsed = time.perf_counter() - t0
    pd.set_option("display.width", 200, "display.max_rows", 500)

    clips = df[df["kind"] == "clip"] if "kind" in df else df.iloc[:0]
    print(f"# hiprom accuracy on {args.set} ({len(clips) // 2} clips, "
          f"{int((df['kind'] == 'still').sum() // 2) if len(df) else 0} stills, {elapsed:.0f} s)\n")
    if len(clips):
        peaks = peak_errors(clips)
        print("## Clips: peak IR / ER per tested side (degrees; ER as a positive number)")
        print(peaks.round(2).to_string(index=False))
        print("\n## Agreement of peaks (measured - true)")
        print(f"{'all':10s} {agreement(peaks['error'].to_numpy())}")
        for peak in ("IR", "ER"):
            print(f"{peak:10s} {agreement(peaks.loc[peaks['peak'] == peak, 'error'].to_numpy())}")
        for group, sub in peaks.groupby("group"):
            print(f"{group:10s} {agreement(sub['error'].to_numpy())}")
        for body, sub in peaks.groupby("body"):
            print(f"{body:10s} {agreement(sub['error'].to_numpy())}")
        wrong = clips[clips["tested_true"] != clips["tested_found"]]
        print(f"\n## Detection: tested side found correctly in {len(clips) - len(wrong)} of {len(clips)} sides")
        for _, r in wrong.iterrows():
            print(f"   MISSED {r['item']} {r['side']}: true tested={r['tested_true']} found={r['tested_found']}")
        still = clips[~clips["tested_true"].astype(bool)]
        if len(still):
            fm, fr = still["false_motion_deg"].astype(float), still["false_range_deg"].astype(float)
            print(f"## False motion of still legs (max |angle - median| of the filtered angle): mean "
                  f"{fm.mean():.2f}°, max {fm.max():.2f}° over {len(fm)} legs; 1st-99th percentile range: "
                  f"mean {fr.mean():.2f}°, max {fr.max():.2f}°")
            for group, sub in still.groupby("group"):
                print(f"   {group:10s} false motion mean {sub['false_motion_deg'].astype(float).mean():.2f}°, "
                      f"max {sub['false_motion_deg'].astype(float).max():.2f}° ({len(sub)} legs)")
        if args.csv:
            peaks.to_csv(args.csv, index=False)
    stills = df[df["kind"] == "still"] if len(df) else df
    if len(stills):
        err = stills["angle_meas"].astype(float) - stills["angle_true"]
        print("\n## Stills: angle per leg (all legs, moved or at rest)")
        print(stills.assign(error=err)[["item", "group", "side", "angle_true", "angle_meas", "error"]]
              .round(2).to_string(index=False))
        print(f"{'stills':10s} {agreement(err.to_numpy())}")
        moved = stills["angle_true"].abs() > 5
        print(f"{'moved':10s} {agreement(err[moved].to_numpy())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
