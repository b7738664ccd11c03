"""Accuracy of hiprom against rendered clips and stills with exact ground truth.

Runs the whole pipeline over every clip and still of the benchmark sets (default: both
``../shared/bench/synthetic``, clean renders, and ``../shared/bench/realism``, clothes, shoes,
an examiner, hard light, a low-quality clip and clips with no test in them) and prints, per
set: every reading (peak IR / ER of each tested side; each tested leg of a still) against the
truth with hiprom's quality and uncertainty; the mean absolute error, bias and 95 % limits of
agreement, overall and per condition and body; the worst reading; how many readings more
than 3° off were rated "good" (the goal is none); the readings withheld; the clips with no
test and what hiprom said of them; and the false motion of legs that do not move.

    python benchmarks/accuracy.py                        # both sets (≈ 6 min on 2 cores)
    python benchmarks/accuracy.py --cache /tmp/lm        # reuse pose landmarks between runs
    python benchmarks/accuracy.py --set ../shared/bench/realism --only r0 --csv out.csv
    python benchmarks/accuracy.py --config benchmarks/configs/landmarks_only.toml   # the naive method

Methods to compare (``--config``): ``benchmarks/configs/landmarks_only.toml`` (the plain
knee→ankle angle in the image, roll corrected), ``silhouette_only.toml`` (+ the silhouette
midline), the default (+ the camera-view correction and the knee-fixed band).

The pose model is found as hiprom finds it (``HIPROM_MODEL``, cache, download).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _bench_scoring import agreement, score_clip, score_still

from hiprom.apps.pipeline import load_model
from hiprom.config import Config

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPROM_SHARED", REPO.parent / "shared"))
DEFAULT_SETS = [SHARED / "bench" / "synthetic", SHARED / "bench" / "realism"]
#: A reading further than this from the truth must not be rated "good".
GOOD_MAX_ERROR_DEG = 3.0


def report_set(root: Path, df: pd.DataFrame, elapsed_s: float) -> dict:
    """Print one set's tables; return its headline figures."""
    readings = df[df["true"].notna()] if len(df) else df
    print(f"# hiprom accuracy on {root} ({df['item'].nunique()} clips and stills, {elapsed_s:.0f} s)\n")
    cols = ["item", "kind", "group", "side", "peak", "true", "meas", "error", "unc", "quality"]
    measured = readings[readings["meas"].notna()]
    print("## Readings: peak IR / ER of each tested side (degrees; ER as a positive number)")
    print(readings[cols].round(2).to_string(index=False) if len(readings) else "(none)")
    err = measured["error"].to_numpy(float)
    print("\n## Agreement (measured - true)")
    print(f"{'all':12s} {agreement(err)}")
    for key in ("kind", "peak", "group", "body"):
        for value, sub in measured.groupby(key):
            print(f"{str(value):12s} {agreement(sub['error'].to_numpy(float))}")
    worst = measured.loc[measured["error"].abs().idxmax()] if len(measured) else None
    if worst is not None:
        print(f"\nworst reading: {worst['item']} {worst['side']} {worst['peak']} {worst['meas']:.2f}° for "
              f"{worst['true']:.1f}° ({worst['error']:+.2f}°, rated {worst['quality']})")
    off_good = measured[(measured["error"].abs() > GOOD_MAX_ERROR_DEG) & (measured["quality"] == "good")]
    print(f"readings more than {GOOD_MAX_ERROR_DEG:g}° off rated good: {len(off_good)}")
    for _, r in off_good.iterrows():
        print(f"   {r['item']} {r['side']} {r['peak']}: {r['error']:+.2f}°")
    covered = measured[np.isfinite(measured["unc"].astype(float))]
    inside = (covered["error"].abs() <= covered["unc"]).mean() if len(covered) else float("nan")
    print(f"readings within their stated uncertainty: {inside:.0%} of {len(covered)}")
    withheld = readings[readings["meas"].isna()]
    print(f"readings withheld or missed: {len(withheld)}")
    for _, r in withheld.iterrows():
        print(f"   {r['item']} {r['side']} {r['peak']}: {r['said']}")
    no_test = df[df["no_test"]].drop_duplicates("item") if len(df) else df
    if len(no_test):
        print("\n## Clips with no test in them: what hiprom said (the right answer is no measurement)")
        for _, r in no_test.iterrows():
            print(f"   {r['item']}: {'OK ' if not r['measured_any'] else 'NUMBER GIVEN '} {r['said']}")
    rest = df[df["rest_meas"].notna()] if "rest_meas" in df else df.iloc[:0]
    if len(rest):
        fm = rest["false_motion_deg"].astype(float)
        print(f"\n## Legs that do not move: false motion (max |angle - median|) mean {fm.mean():.2f}°, "
              f"max {fm.max():.2f}° over {len(fm)} legs; resting angle error "
              f"{agreement((rest['rest_meas'] - rest['rest_true']).to_numpy(float))}")
    return {"set": root.name, "n": len(measured), "mae": float(np.abs(err).mean()) if err.size else float("nan"),
            "bias": float(err.mean()) if err.size else float("nan"),
            "max": float(np.abs(err).max()) if err.size else float("nan"), "off_good": len(off_good),
            "withheld": len(withheld), "no_test_numbers": int(no_test["measured_any"].sum()) if len(no_test) else 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, action="append", default=None,
                    help="a folder holding gt.json (repeatable; default: the synthetic and realism sets)")
    ap.add_argument("--cache", type=Path, default=None, help="reuse pose landmarks from this folder")
    ap.add_argument("--only", default="*", help="glob on clip/still names")
    ap.add_argument("--csv", type=Path, default=None, help="write every reading here")
    ap.add_argument("--config", type=Path, default=None, help="a hiprom TOML config to use")
    args = ap.parse_args(argv)

    config = Config.from_toml(args.config)
    model = load_model(config)
    pd.set_option("display.width", 220, "display.max_rows", 1000)
    heads, tables = [], []
    for root in args.set or DEFAULT_SETS:
        gt = json.loads((root / "gt.json").read_text())
        t0 = time.perf_counter()
        rows: list[dict] = []
        for name, rec in gt.get("clips", {}).items():
            if fnmatch.fnmatch(name, f"*{args.only}*"):
                rows += score_clip(name, rec, root, config, model, args.cache)
        for name, rec in gt.get("stills", {}).items():
            if fnmatch.fnmatch(name, f"*{args.only}*"):
                rows += score_still(name, rec, root, config, model, args.cache)
        df = pd.DataFrame(rows)
        if not len(df):
            continue
        heads.append(report_set(root, df, time.perf_counter() - t0))
        tables.append(df.assign(set=root.name))
        print()
    print("## Summary (goals: MAE ≤ 1.0°, |bias| ≤ 0.5°, none > 3° off rated good, ≤ 1 withheld per set, "
          "no number for a clip without a test)")
    print(pd.DataFrame(heads).round(2).to_string(index=False))
    if args.csv and tables:
        pd.concat(tables, ignore_index=True).to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
