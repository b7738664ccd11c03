"""Speed and memory of ``hiprom analyze`` against a plain pose-model loop. Not part of the test suite.

On one long clip of one seated person it measures, each run in a fresh Python process and
the two measures interleaved (``--repeats`` rounds, so a busy moment of the machine hits
both):

* ``bare loop``: a plain MediaPipe PoseLandmarker with its default options (VIDEO mode, one
  pose, no segmentation masks) over every frame of the clip. The frames are decoded into
  memory first and not timed; the time counts the landmarker's creation and the loop. This
  is the yardstick: what the pose model alone costs a simple script.
* ``hiprom analyze``: the command line, ``python -m hiprom analyze CLIP --out DIR --quiet``,
  from process start to exit: imports, model load, decoding, pose, measurement and the
  output folder (result.json, CSV, angles.png).

The ratio is bare / analyze (above 1: ``analyze`` takes less time than the bare loop), per
round and as the median and range over the rounds. The target is at least 1.0, aiming for
1.5. Then:

* what hiprom did: on how many frames the pose model ran, how the subject was chosen;
* the accuracy check on the two sample clips (``samples/``): peaks with the default settings
  next to hiprom's reference path (the model on every frame, looking for two people in
  every frame), and the truth;
* memory: peak RSS of ``hiprom analyze`` on the clip and on a clip 4 times as long (the same
  clip written 4 times in a row), which should hardly differ: frames are streamed and only
  the landmarks are kept.

The clip (unless ``--clip``) is built in a temporary folder: the bench clips of one seated
man, front view, ``b01``, ``b09``, ``b13``, ``b01``, ``b09`` of ``../shared/bench/synthetic/clips``
(720×1280, 30 fps) joined into one 42.5 s clip of 1275 frames, H.264 (libx264 through PyAV,
crf 20) — or MPEG-4 part 2 through OpenCV where PyAV is not installed. It stands in for a
43.5 s phone clip of one seated person with several repetitions.

    python benchmarks/speed.py                      # ~6-10 min on 2 cores
    python benchmarks/speed.py --repeats 5 --no-memory
    python benchmarks/speed.py --clip my.mp4        # time your own clip
    python benchmarks/speed.py --profile            # where hiprom.detect_landmarks spends its time
    python benchmarks/speed.py --levers --repeats 2 # each speed lever switched, side by side

The model is found as hiprom finds it (``--model``, ``HIPROM_MODEL``, cache, download).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared")
BENCH_CLIPS = SHARED / "bench" / "synthetic" / "clips"
#: One seated man, front view, several repetitions: joined into the long clip.
LONG_CLIP_PARTS = ("b01_man_front_R40.mp4", "b09_man_rest+4_R38.mp4", "b13_man_both_R44_L28.mp4",
                   "b01_man_front_R40.mp4", "b09_man_rest+4_R38.mp4")
SAMPLES = REPO / "samples"
#: hiprom's reference path: the model on every frame, looking for two people in each.
REFERENCE = {"video.model_every": 1, "model.follow_after_s": 0.0}


# --- worker side (one measurement per process) ----------------------------------------------

def bare_loop(clip: Path, model_path: str) -> dict:
    """The plain loop: MediaPipe's default options, frames decoded into memory first."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    t0 = time.perf_counter()
    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=model_path),
                                           running_mode=vision.RunningMode.VIDEO)
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        for i, rgb in enumerate(frames):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            landmarker.detect_for_video(image, int(round(1000.0 * i / fps)))
    return {"wall_s": time.perf_counter() - t0, "frames": len(frames)}


def run_bare(clip: Path, model_path: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker-bare", str(clip), model_path],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def run_analyze(clip: Path, model_path: str, out: Path, extra: list[str] = ()) -> dict:
    """``hiprom analyze`` as a user runs it: process start to exit, and its peak RSS."""
    env = {**os.environ, "HIPROM_MODEL": model_path, "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "hiprom", "analyze", str(clip), "--out", str(out), "--force", "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    proc.stderr.close()
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    rss_mb = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    result = json.loads((out / "result.json").read_text())
    return {"wall_s": wall, "peak_rss_mb": rss_mb, "result": result}


# --- the clip ---------------------------------------------------------------------------------

def build_clip(parts: list[Path], dst: Path, times: int = 1) -> tuple[Path, str]:
    """``parts`` joined, ``times`` over, into ``dst``; returns it and how it was encoded."""
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        with av.open(str(dst), "w") as out:
            stream = None
            for _ in range(times):
                for part in parts:
                    with av.open(str(part)) as inp:
                        for frame in inp.decode(video=0):
                            if stream is None:
                                stream = out.add_stream("libx264", rate=inp.streams.video[0].average_rate)
                                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                                stream.options = {"crf": "20", "preset": "veryfast"}
                            img = frame.to_ndarray(format="yuv420p")
                            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="yuv420p")))
            out.mux(stream.encode())
        return dst, "H.264 (libx264 via PyAV, crf 20)"
    import cv2

    writer = None
    for _ in range(times):
        for part in parts:
            cap = cv2.VideoCapture(str(part))
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                if writer is None:
                    writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), cap.get(cv2.CAP_PROP_FPS),
                                             (bgr.shape[1], bgr.shape[0]))
                writer.write(bgr)
            cap.release()
    writer.release()
    return dst, "MPEG-4 part 2 (OpenCV mp4v; PyAV not installed)"


def clip_facts(clip: Path) -> tuple[int, float, str]:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    n, w, h = (int(cap.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH,
                                         cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    return n, n / fps, f"{w}x{h}@{fps:.4g}"


# --- the report ---------------------------------------------------------------------------------

def spread(values: list[float], spec: str = ".2f") -> str:
    v = sorted(values)
    return f"{format(float(np.median(v)), spec)} ({format(v[0], spec)}-{format(v[-1], spec)})" if v else "–"


def speed_table(clip: Path, model_path: str, repeats: int, out_dir: Path) -> dict | None:
    """The interleaved rounds and their table; returns the last analyze run's result.json."""
    n, duration, size = clip_facts(clip)
    bare, hiprom, ratios = [], [], []
    last = None
    for k in range(repeats):                              # interleaved: bare, analyze, bare, analyze...
        b = run_bare(clip, model_path)
        a = run_analyze(clip, model_path, out_dir / f"run{k}")
        for row, name in ((b, "bare loop"), (a, "hiprom analyze")):
            if "error" in row:
                print(f"  round {k + 1}: {name} failed: {row['error']}")
        if "error" in b or "error" in a:
            continue
        bare.append(b["wall_s"])
        hiprom.append(a["wall_s"])
        ratios.append(b["wall_s"] / a["wall_s"])
        last = a
        print(f"  round {k + 1}: bare {b['wall_s']:6.2f} s, analyze {a['wall_s']:6.2f} s, ratio {ratios[-1]:.2f}"
              f"   (load {os.getloadavg()[0]:.1f})", flush=True)
    if not ratios:
        return None
    print()
    print(f"{'measure':58s} {'wall s, median (min-max)':>26s} {'ms/frame':>9s}")
    print(f"{'bare loop (MediaPipe defaults, frames in RAM, model load)':58s} {spread(bare):>26s} "
          f"{1000 * np.median(bare) / n:9.1f}")
    print(f"{'hiprom analyze (CLI, process start to exit)':58s} {spread(hiprom):>26s} "
          f"{1000 * np.median(hiprom) / n:9.1f}")
    verdict = "met" if np.median(ratios) >= 1.0 else "NOT met"
    print(f"ratio bare / analyze: {spread(ratios)} over {len(ratios)} interleaved rounds "
          f"(target >= 1.0: {verdict}; aim 1.5)")
    return last["result"] if last else None


def describe_run(result: dict, frames: tuple[int, int] | None) -> None:
    """What the last ``analyze`` run did and found."""
    if frames:
        share = 100 * frames[0] / max(frames[1], 1)
        print(f"hiprom ran the pose model on {frames[0]} of {frames[1]} frames ({share:.0f} %)")
    sides = result.get("sides", {})
    peaks = [f"{s} IR {v.get('peak_ir_deg')} ER {v.get('peak_er_deg')} ({v.get('n_reps')} reps)"
             for s, v in sides.items() if v.get("tested")]
    print("measured: " + "; ".join(peaks))


def samples_check() -> None:
    """Peaks of the sample clips: default settings vs the reference path vs the truth."""
    import hiprom
    from hiprom.config import Config

    gt = json.loads((SAMPLES / "gt.json").read_text())["clips"]
    model = hiprom.load_model(progress=False)
    print("\nAccuracy check on the samples: default settings vs the reference path (model on every frame, "
          "two people looked for in each), degrees; frame of the hold's middle")
    print(f"{'clip':18s} {'side':5s} {'peak':4s} {'truth':>6s} {'reference':>10s} {'default':>8s} {'diff':>6s} "
          f"{'frame ref':>9s} {'default':>7s} {'model frames':>13s}")
    worst = 0.0
    for name, rec in gt.items():
        clip = SAMPLES / Path(rec["file"]).name
        ref = hiprom.analyze(clip, Config().with_overrides(REFERENCE), model=model)
        new = hiprom.analyze(clip, Config(), model=model)
        seen = new.series.model_seen
        frames = {"seen": new.series.n_frames if seen is None else int(seen.sum()), "of": new.series.n_frames}
        for side in ("left", "right"):
            truth = rec["summary"][side]
            if not truth["tested"]:
                continue
            for kind in ("ir", "er"):
                t = truth[f"peak_{kind}_deg"]
                if t is None:
                    continue
                a = getattr(ref.sides[side], f"peak_{kind}_deg")
                b = getattr(new.sides[side], f"peak_{kind}_deg")
                fa = getattr(ref.sides[side], f"peak_{kind}_frame")
                fb = getattr(new.sides[side], f"peak_{kind}_frame")
                diff = (b - a) if a is not None and b is not None else float("nan")
                worst = max(worst, abs(diff)) if np.isfinite(diff) else float("inf")
                seen = f"{frames.get('seen', '?')!s:>6s}/{frames.get('of', '?')!s:<6s}"
                print(f"{name:18s} {side:5s} {kind.upper():4s} {abs(t):6.1f} {_deg(a):>10s} {_deg(b):>8s} "
                      f"{diff:+6.2f} {fa!s:>9s} {fb!s:>7s} {seen}")
    print(f"largest difference from the reference path: {worst:.2f}° "
          f"(the bench sets: python benchmarks/accuracy.py --set ...)")


def _deg(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def memory_line(clip: Path, model_path: str, tmp: Path) -> None:
    long_clip, _ = build_clip([clip], tmp / "long_4x.mp4", times=4)
    n1, d1, _ = clip_facts(clip)
    n4, d4, _ = clip_facts(long_clip)
    a = run_analyze(clip, model_path, tmp / "mem1")
    b = run_analyze(long_clip, model_path, tmp / "mem4")
    print("\nMemory: peak RSS of hiprom analyze")
    if "error" in a or "error" in b:
        print(f"  failed: {a.get('error') or b.get('error')}")
        return
    print(f"  clip    {n1:6d} frames ({d1:5.1f} s): {a['peak_rss_mb']:5.0f} MB  ({a['wall_s']:.1f} s)")
    print(f"  4x long {n4:6d} frames ({d4:5.1f} s): {b['peak_rss_mb']:5.0f} MB  ({b['wall_s']:.1f} s)  "
          f"growth {b['peak_rss_mb'] - a['peak_rss_mb']:+.0f} MB")


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
    seen = n if series.model_seen is None else int(series.model_seen.sum())
    print(f"{clip.name}: {n} frames in {wall:.2f} s ({n / wall:.1f} fps; the model ran on {seen}), second run")
    for key, value in [*spent.items(), ("other", wall - sum(spent.values()))]:
        print(f"  {key:18s} {1000 * value / n:6.2f} ms/frame  {100 * value / wall:5.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, help="time this clip instead of the joined bench clips")
    ap.add_argument("--model", type=Path, help="pose model .task file (else as hiprom finds it)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median and range reported)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 4x-long memory run")
    ap.add_argument("--no-samples", action="store_true", help="skip the accuracy check on the samples")
    ap.add_argument("--profile", action="store_true", help="only split one detect_landmarks run into its parts")
    ap.add_argument("--levers", action="store_true",
                    help="only time analyze with each speed lever switched (see _speed_levers.py)")
    ap.add_argument("--worker-bare", nargs=2, metavar=("CLIP", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker_bare:
        print("RESULT " + json.dumps(bare_loop(Path(args.worker_bare[0]), args.worker_bare[1])), flush=True)
        return
    if args.model:
        os.environ["HIPROM_MODEL"] = str(args.model.resolve())

    import hiprom

    model = hiprom.load_model(progress=True)
    os.environ["HIPROM_MODEL"] = str(model.path)
    with tempfile.TemporaryDirectory(prefix="hiprom-speed-") as tmp_name:
        tmp = Path(tmp_name)
        if args.clip:
            clip, how = args.clip, "as given"
        else:
            parts = [BENCH_CLIPS / p for p in LONG_CLIP_PARTS]
            missing = [p for p in parts if not p.is_file()]
            if missing:
                raise SystemExit(f"{missing[0]} not found; pass --clip PATH (or set HIPROM_SHARED)")
            clip, how = build_clip(parts, tmp / "seated_long.mp4")
        if args.profile:
            profile(clip)
            return
        if args.levers:
            from _speed_levers import lever_table

            lever_table(clip, str(model.path), max(1, args.repeats), tmp, run_analyze,
                        lambda out: _model_frames(out, "landmarks.npz"))
            return
        n, duration, size = clip_facts(clip)
        load = os.getloadavg()
        print(f"hiprom {hiprom.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
              f"{platform.machine()}; model {model.path.name}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(f"clip: {clip.name} ({n} frames, {duration:.1f} s, {size}; {how}"
              + (f"; joined from {', '.join(p.split('_')[0] for p in LONG_CLIP_PARTS)})" if not args.clip else ")"))
        print(f"each run in a fresh process; {args.repeats} interleaved rounds\n")
        result = speed_table(clip, str(model.path), max(1, args.repeats), tmp)
        if result:
            print()
            describe_run(result, _model_frames(tmp))
        if not args.no_samples:
            samples_check()
        if not args.no_memory:
            memory_line(clip, str(model.path), tmp)
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _model_frames(tmp: Path, pattern: str = "run*/landmarks.npz") -> tuple[int, int] | None:
    """(frames the model saw, frames), from the last analyze run's landmarks file."""
    from hiprom.io.landmarks_npz import load_series

    files = sorted(tmp.glob(pattern))
    if not files:
        return None
    series = load_series(files[-1])
    seen = series.n_frames if series.model_seen is None else int(series.model_seen.sum())
    return seen, series.n_frames


if __name__ == "__main__":
    main()
