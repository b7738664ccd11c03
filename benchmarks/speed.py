"""Speed and memory of hiprom against a bare MediaPipe loop. Not part of the test suite.

For each clip (default: the longest clip of ``../shared/bench/synthetic/clips`` plus one
real clip; or ``--clip PATH``, repeatable) it measures, each in its own fresh Python
process (so peak RSS is measured separately for every row):

* ``bare, frames in RAM``: every frame is decoded with OpenCV (and converted to RGB) into
  memory first; only the PoseLandmarker VIDEO-mode loop is timed (landmarker creation
  included). The model's own speed: the ceiling for hiprom.
* ``bare, decode inline``: the same loop, decoding each frame with OpenCV just before it,
  in the same thread (what a simple script does).
* ``hiprom.detect_landmarks``: hiprom's frame source (decoding on a reader thread) and pose
  adapter, end to end.
* ``hiprom.analyze``: everything, including the measurement (no output files).

The landmarker gets hiprom's settings (``num_poses`` = ``model.max_people``, the three
confidence thresholds, segmentation masks on when ``geometry.silhouette`` is) and timestamps
in whole milliseconds. One more row, ``bare, RAM, no masks``, shows the model without
segmentation masks (what the masks cost, before hiprom's silhouette measurement). fps = frames / wall time.
The ratio ``analyze / bare (frames in RAM)`` should be at least 0.9.

Memory: ``hiprom.detect_landmarks`` and ``hiprom.analyze`` are run on a short clip and on a
clip 4x as long (the same bench clip written 4 times in a row with cv2.VideoWriter, mp4v,
into a temporary folder; the short clip is written the same way once). Peak RSS
(``ru_maxrss``) should hardly grow: frames are streamed, only the landmarks are kept.

    python benchmarks/speed.py                           # ~3-5 min on 2 cores
    python benchmarks/speed.py --clip my.mp4 --no-memory
    python benchmarks/speed.py --model path/to/pose_landmarker_full.task
    python benchmarks/speed.py --profile                 # where hiprom.detect_landmarks spends its time

The model is found as hiprom finds it (``--model``, ``HIPROM_MODEL``, cache, download).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared")
BENCH_CLIPS = SHARED / "bench" / "synthetic" / "clips"
REAL_CLIP = SHARED / "samples" / "real" / "sports2d_walk_side_1280x720_30fps.mp4"
MEMORY_CLIP = BENCH_CLIPS / "b01_man_front_R40.mp4"
MODES = {
    "bare-ram-nomask": "bare, RAM, no masks",
    "bare-ram": "bare, frames in RAM",
    "bare-inline": "bare, decode inline",
    "detect": "hiprom.detect_landmarks",
    "analyze": "hiprom.analyze",
}


# --- worker side (one measurement per process) ----------------------------------------------

def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


def _masks(config) -> bool:
    """hiprom asks the landmarker for segmentation masks when it measures the silhouette."""
    return bool(getattr(config.geometry, "silhouette", False))


def _landmarker(config, model_path: Path, masks: bool):
    from mediapipe.tasks.python import BaseOptions, vision

    m = config.model
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=m.max_people,
        min_pose_detection_confidence=m.min_detection_confidence,
        min_pose_presence_confidence=m.min_presence_confidence,
        min_tracking_confidence=m.min_tracking_confidence,
        output_segmentation_masks=masks)
    return vision.PoseLandmarker.create_from_options(options)


def _stamp_ms(index: int, fps: float) -> int:
    return int(round(1000.0 * index / fps))


def worker(mode: str, clip: Path) -> dict:
    import cv2
    import mediapipe as mp

    import hiprom
    from hiprom.config import Config
    from hiprom.errors import AnalysisError

    config = Config()
    note = ""
    model = hiprom.load_model(config, progress=False)
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = 0
    if mode in ("bare-ram", "bare-ram-nomask"):
        ram = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            ram.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        t0 = time.perf_counter()
        with _landmarker(config, model.path, _masks(config) and mode == "bare-ram") as lm:
            for i, rgb in enumerate(ram):
                lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), _stamp_ms(i, fps))
                frames += 1
        wall = time.perf_counter() - t0
    elif mode == "bare-inline":
        t0 = time.perf_counter()
        with _landmarker(config, model.path, _masks(config)) as lm:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), _stamp_ms(frames, fps))
                frames += 1
        wall = time.perf_counter() - t0
        cap.release()
    elif mode == "detect":
        cap.release()
        t0 = time.perf_counter()
        series, _info = hiprom.detect_landmarks(clip, config, model=model)
        wall = time.perf_counter() - t0
        frames = series.n_frames
    elif mode == "analyze":
        cap.release()
        t0 = time.perf_counter()
        try:
            frames = hiprom.analyze(clip, config, model=model).series.n_frames
        except hiprom.HipromError as exc:  # e.g. a real clip that is no seated test
            if not isinstance(exc, AnalysisError):
                raise
            # Refused at the very end, after detection and measurement: the time stands.
            note = f"measurement refused: {exc.what}"
            frames = int(clip_facts(clip)[0])
        wall = time.perf_counter() - t0
    else:
        raise SystemExit(f"unknown mode {mode}")
    return {"mode": mode, "clip": str(clip), "frames": frames, "wall_s": wall,
            "fps": frames / wall if wall > 0 else float("nan"), "peak_rss_mb": _peak_rss_mb(),
            "note": note}


# --- driver side ------------------------------------------------------------------------------

def measure(mode: str, clip: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", mode, str(clip)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"mode": mode, "clip": str(clip), "error": reason}


def clip_facts(clip: Path) -> tuple[int, str]:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    n, w, h = (int(cap.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH,
                                         cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, f"{w}x{h}@{fps:.4g}"


def longest_bench_clip() -> Path:
    clips = sorted(BENCH_CLIPS.glob("*.mp4"))
    if not clips:
        raise SystemExit(f"no clips in {BENCH_CLIPS}; pass --clip PATH (or set HIPROM_SHARED)")
    return max(clips, key=lambda c: clip_facts(c)[0])


def write_repeated(src: Path, dst: Path, times: int) -> Path:
    """``src`` written ``times`` times in a row into ``dst`` (cv2.VideoWriter, mp4v)."""
    import cv2

    writer = None
    for _ in range(times):
        cap = cv2.VideoCapture(str(src))
        fps = cap.get(cv2.CAP_PROP_FPS)
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if writer is None:
                writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (bgr.shape[1], bgr.shape[0]))
            writer.write(bgr)
        cap.release()
    writer.release()
    return dst


def profile(clip: Path) -> None:
    """Time the parts of one ``hiprom.detect_landmarks`` run (in this process, run twice so
    the second run has no one-off start-up costs): the pose model's calls, the silhouette
    lines, the level-line searches, and the rest (decoding hand-off, set-up, the series)."""
    import hiprom
    import hiprom.vision.recorder as rec
    from hiprom.config import Config

    spent = {"pose model": 0.0, "silhouette lines": 0.0, "level-line search": 0.0}

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - t0
        return wrapper

    saved = rec.PoseModel.detect, rec._with_shank_lines, rec.level_line_roll_deg
    rec.PoseModel.detect = timed(saved[0], "pose model")
    rec._with_shank_lines = timed(saved[1], "silhouette lines")
    rec.level_line_roll_deg = timed(saved[2], "level-line search")
    try:
        model = hiprom.load_model(progress=False)
        for _ in range(2):
            spent.update(dict.fromkeys(spent, 0.0))
            t0 = time.perf_counter()
            series, _info = hiprom.detect_landmarks(clip, Config(), model=model)
            wall = time.perf_counter() - t0
    finally:
        rec.PoseModel.detect, rec._with_shank_lines, rec.level_line_roll_deg = saved
    n = series.n_frames
    print(f"{clip.name}: {n} frames in {wall:.2f} s ({n / wall:.1f} fps), second run")
    for key, value in [*spent.items(), ("other", wall - sum(spent.values()))]:
        print(f"  {key:18s} {1000 * value / n:6.2f} ms/frame  {100 * value / wall:5.1f} %")


def fmt(row: dict, key: str, spec: str) -> str:
    return format(row[key], spec) if key in row else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", action="append", type=Path, help="clip to time (repeatable)")
    ap.add_argument("--model", type=Path, help="pose model .task file (else as hiprom finds it)")
    ap.add_argument("--no-memory", action="store_true", help="skip the short vs long memory runs")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of every measure, interleaved; the median is reported (this "
                         "machine's throughput varies by about ±5 %% from run to run)")
    ap.add_argument("--profile", action="store_true",
                    help="only split one detect_landmarks run per clip into its parts")
    ap.add_argument("--worker", nargs=2, metavar=("MODE", "CLIP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.model:
        os.environ["HIPROM_MODEL"] = str(args.model.resolve())
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker[0], Path(args.worker[1]))), flush=True)
        return

    import hiprom
    from hiprom.config import Config

    model = hiprom.load_model(progress=True)
    os.environ["HIPROM_MODEL"] = str(model.path)  # every worker uses the same file
    clips = args.clip or [longest_bench_clip(), REAL_CLIP]
    if args.profile:
        for clip in clips:
            profile(clip)
        return
    print(f"hiprom {hiprom.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}; model {model.path.name} ({model.variant}); each row in a fresh process")
    m = Config().model
    print(f"landmarker: VIDEO mode, num_poses={m.max_people}, confidences {m.min_detection_confidence}/"
          f"{m.min_presence_confidence}/{m.min_tracking_confidence}, segmentation masks "
          f"{'on' if _masks(Config()) else 'off'} (as hiprom's default config)")
    print()
    head = (f"{'clip':34s} {'frames':>6s} {'size':>14s}  {'measure':24s} {'fps':>7s} {'(min-max)':>11s} "
            f"{'wall s':>7s} {'peak RSS MB':>11s}")
    print(head)
    print("-" * len(head))
    ratios = []
    modes = [m for m in MODES if m != "bare-ram-nomask" or _masks(Config())]
    for clip in clips:
        n, size = clip_facts(clip)
        runs: dict[str, list[dict]] = {mode: [] for mode in modes}
        for _ in range(max(1, args.repeats)):       # interleaved, so drifts hit every mode
            for mode in modes:
                runs[mode].append(measure(mode, clip))
        rows = {}
        for mode in modes:
            ok = [r for r in runs[mode] if "fps" in r]
            row = rows[mode] = dict(runs[mode][-1])
            if ok:
                fps = sorted(r["fps"] for r in ok)
                row.update(fps=float(np.median(fps)), fps_range=f"{fps[0]:.1f}-{fps[-1]:.1f}",
                           wall_s=float(np.median([r["wall_s"] for r in ok])),
                           peak_rss_mb=max(r["peak_rss_mb"] for r in ok))
            print(f"{clip.name[:34]:34s} {n:6d} {size:>14s}  {MODES[mode]:24s} {fmt(row, 'fps', '7.1f')} "
                  f"{row.get('fps_range', ''):>11s} {fmt(row, 'wall_s', '7.2f')} {fmt(row, 'peak_rss_mb', '11.0f')}"
                  + (f"   ({row['error']})" if "error" in row else "")
                  + (f"   ({row['note'][:60]})" if row.get("note") else ""), flush=True)
        if "fps" in rows["analyze"] and "fps" in rows["bare-ram"]:
            ratios.append((clip.name, rows["analyze"]["fps"] / rows["bare-ram"]["fps"],
                           rows["analyze"]["fps"] / rows["bare-inline"]["fps"],
                           rows["detect"]["fps"] / rows["bare-ram"]["fps"]))
    print()
    for name, r_ram, r_inline, r_detect in ratios:
        verdict = "OK" if r_ram >= 0.9 else "below target"
        print(f"{name}: analyze / bare (frames in RAM) = {r_ram:.2f} (target >= 0.90: {verdict}); "
              f"analyze / bare (decode inline) = {r_inline:.2f}; detect_landmarks / bare (RAM) = {r_detect:.2f}"
              f"  [medians of {max(1, args.repeats)} runs]")

    if args.no_memory:
        return
    if not MEMORY_CLIP.is_file():
        print(f"\nmemory runs skipped: {MEMORY_CLIP} not found")
        return
    print(f"\nMemory: {MEMORY_CLIP.name} written once (short) and 4 times in a row (long), mp4v")
    with tempfile.TemporaryDirectory(prefix="hiprom-speed-") as tmp:
        short = write_repeated(MEMORY_CLIP, Path(tmp) / "short_1x.mp4", 1)
        long = write_repeated(MEMORY_CLIP, Path(tmp) / "long_4x.mp4", 4)
        print(f"{'measure':24s} {'short frames':>12s} {'RSS MB':>8s} {'long frames':>12s} {'RSS MB':>8s} "
              f"{'growth MB':>10s}")
        for mode in ("detect", "analyze"):
            a, b = measure(mode, short), measure(mode, long)
            if "error" in a or "error" in b:
                print(f"{MODES[mode]:24s} failed: {a.get('error') or b.get('error')}")
                continue
            print(f"{MODES[mode]:24s} {a['frames']:12d} {a['peak_rss_mb']:8.0f} {b['frames']:12d} "
                  f"{b['peak_rss_mb']:8.0f} {b['peak_rss_mb'] - a['peak_rss_mb']:10.0f}", flush=True)


if __name__ == "__main__":
    main()
