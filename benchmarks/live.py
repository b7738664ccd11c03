"""Live mode's speed: a benchmark clip played as a camera. Not part of the test suite.

Runs ``hiprom live`` in-process the way ``hiprom live --source CLIP --realtime --headless``
does, with the overlay drawn for every frame as the window would show it (only the
``cv2.imshow`` itself is left out: there may be no display), and prints:

* displayed fps: frames shown / time between the first and the last shown;
* capture→display latency, median and p95: from the moment a frame is available (the
  clip's presentation time, as a camera delivers it) to the moment its overlay is ready;
* the share of frames dropped (never queued) because processing was behind;
* the CPU time used per frame shown (all threads), and the pose model's own CPU time per
  processed frame (MediaPipe's graph threads): on a shared machine these are the steadier
  figures, since wall-clock rates then measure the other work as much as hiprom;
* whether the targets are met: ≥ 25 fps shown and a median latency ≤ 80 ms, with the
  full model on this 2-core machine. The machine's load average is printed too: figures
  taken while other work runs are not the idle machine's.

    python benchmarks/live.py                                   # b01, about 15 s
    python benchmarks/live.py --clip ../shared/bench/synthetic/clips/b10_woman_far4m_land_R41.mp4
    python benchmarks/live.py --max-side 0                      # full-size frames (slower)

The model is found as hiprom finds it (``--model``, ``HIPROM_MODEL``, cache, download).
Nothing is recorded or saved (the pose model and the overlay run as in a measurement;
saving happens after the session and is not part of the live figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared")
DEFAULT_CLIP = SHARED / "bench" / "synthetic" / "clips" / "b01_man_front_R40.mp4"
TARGET_FPS = 25.0
TARGET_MEDIAN_MS = 80.0


def graph_cpu_s() -> dict[str, float]:
    """CPU seconds used so far by each of this process's threads, by ``tid:name`` (Linux)."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{tid}:{name}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, action="append", help="clip to play (repeatable) [default: b01]")
    ap.add_argument("--model", type=Path, help="pose model .task file")
    ap.add_argument("--max-side", type=int, default=640, help="processing size (long side; 0 = native)")
    ap.add_argument("--max-people", type=int, default=None,
                    help="people per frame (default: live mode's, 1; analyze uses 2)")
    args = ap.parse_args(argv)

    from hiprom.apps.live.session import LIVE_MAX_PEOPLE, LiveOptions, run_live
    from hiprom.apps.pipeline import load_model
    from hiprom.config import Config

    config = Config().with_overrides({"model.path": str(args.model) if args.model else None})
    max_people = args.max_people or LIVE_MAX_PEOPLE
    model = load_model(config)
    clips = args.clip or [DEFAULT_CLIP]
    print(f"hiprom live benchmark — {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, model {model.variant or model.path.name}, max_people "
          f"{max_people}, processing size {args.max_side or 'native'}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          "(well above 0 means the machine was shared: figures are not final)")
    met_all = True
    for clip in clips:
        if not clip.is_file():
            print(f"error: {clip}: no such clip (set HIPROM_SHARED or pass --clip)", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as tmp:
            options = LiveOptions(source=str(clip), realtime=True, headless=True, draw=True,
                                  out=Path(tmp) / "out", max_side_px=args.max_side, measure_from_start=False,
                                  max_people=max_people)
            threads0, threads1, done = graph_cpu_s(), {}, threading.Event()

            def sample(done=done, threads1=threads1) -> None:   # the model's threads end with the session
                while not done.wait(0.25):
                    threads1.update(graph_cpu_s())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            report = run_live(options, config, model=model, emit=lambda line: None, notify=lambda msg: None)
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            done.set()
            sampler.join()
        s = report.stats
        fps, med, p95 = s.fps or 0.0, s.latency_ms(50) or float("inf"), s.latency_ms(95) or float("inf")
        met = fps >= TARGET_FPS and med <= TARGET_MEDIAN_MS
        met_all &= met
        print(f"\n{clip.name}")
        print(f"  displayed fps          {fps:6.1f}   (target ≥ {TARGET_FPS:g})")
        print(f"  latency median         {med:6.0f} ms (target ≤ {TARGET_MEDIAN_MS:g} ms)")
        print(f"  latency p95            {p95:6.0f} ms")
        print(f"  dropped                {s.dropped_share:6.1%}   ({s.dropped} of {s.grabbed} frames)")
        cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        shown = max(len(s.shown_at), 1)
        print(f"  CPU per frame shown    {1000 * cpu_s / shown:6.0f} ms (all threads; "
              f"2 cores give {2000 / TARGET_FPS:.0f} ms per frame at {TARGET_FPS:g} fps)")
        graph = sorted((threads1[k] - threads0.get(k, 0.0) for k in threads1 if k.endswith(":drishti")),
                       reverse=True)
        if graph and s.processed:
            print(f"  pose model CPU         {1000 * sum(graph) / s.processed:6.1f} ms per processed frame "
                  f"(MediaPipe graph threads: {', '.join(f'{1000 * g / s.processed:.1f}' for g in graph[:3])})")
        print(f"  targets                {'met' if met else 'NOT met'}")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0 if met_all else 1


if __name__ == "__main__":
    sys.exit(main())
