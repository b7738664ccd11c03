"""Throughput of ``hiprom batch`` with 1 and 2 worker processes. Not part of the test suite.

Runs :func:`hiprom.apps.batch.run.run_batch` over the synthetic benchmark clips
(``../shared/bench/synthetic/clips``, all 17 by default) once per worker count, each time into
a fresh temporary output folder (nothing is skipped), and prints:

* clips per minute (wall time of the whole batch: worker start-up, every clip, the summary);
* the speed-up of each worker count over 1 worker (the aim on a 2-core machine: >= 1.6x);
* cores busy: CPU time of the worker processes / wall time (1 worker keeping about one core
  busy shows MediaPipe's inference runs on a single thread), and CPU seconds per clip (equal
  for every worker count when the workers do not oversubscribe the cores; on a machine shared
  with other jobs, clips/min mostly measures the share of the CPU the batch got);
* peak memory (RSS) of each worker process, from the ``batch.json`` of its clips;
* the load average before and after (figures from a busy machine are not final);
* whether every worker count gave the same peaks (it must: same code, same model).

    python benchmarks/batch.py                      # ~5 min on an idle 2-core machine
    python benchmarks/batch.py --limit 6 --workers 1 2
    python benchmarks/batch.py --clips-dir my/clips --model path/to/pose_landmarker_full.task
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared")
BENCH_CLIPS = SHARED / "bench" / "synthetic" / "clips"


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(clips: list[Path], workers: int, model, tmp: Path) -> dict:
    """One batch into a fresh folder; returns timing, memory and the peaks per clip."""
    from hiprom.apps.batch.run import CLIPS_DIR, run_batch
    from hiprom.apps.batch.worker import read_record

    manifest = tmp / f"manifest_{workers}.csv"
    manifest.write_text("path,subject_id,age,sex,side,date,notes\n"
                        + "".join(f"{c},,,,,,\n" for c in clips), encoding="utf-8")
    out = tmp / f"out_{workers}"
    cpu0, t0 = children_cpu_s(), time.perf_counter()
    report = run_batch(manifest, out, workers=workers, model=model, plot=True)
    wall = time.perf_counter() - t0
    cpu = children_cpu_s() - cpu0
    rss: dict[str, float] = {}
    peaks: dict[str, object] = {}
    for item in report.items:
        folder = out / CLIPS_DIR / item.folder
        rec = read_record(folder) or {}
        w = rec.get("worker") or {}
        if w.get("peak_rss_mb") is not None:
            rss[w["id"]] = max(rss.get(w["id"], 0.0), w["peak_rss_mb"])
        if rec.get("status") == "ok":
            res = json.loads((folder / "result.json").read_text())
            peaks[item.rel] = {s: (v["peak_ir_deg"], v["peak_er_deg"]) for s, v in res["sides"].items()}
        else:
            peaks[item.rel] = rec.get("error")
    return {"workers": workers, "clips": len(clips), "wall_s": wall, "cpu_s": cpu,
            "failed": len(report.failed_in_table), "rss_mb": rss, "peaks": peaks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips-dir", type=Path, default=BENCH_CLIPS, help="folder of .mp4 clips")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips (0 = all)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    ap.add_argument("--model", type=Path, default=None, help="pose model .task (default: as hiprom finds it)")
    args = ap.parse_args(argv)

    import hiprom
    from hiprom.apps.batch.worker import available_cores, worker_threads
    from hiprom.config import Config

    clips = sorted(args.clips_dir.glob("*.mp4"))[: args.limit or None]
    if not clips:
        print(f"no .mp4 clips in {args.clips_dir} (set HIPROM_SHARED or --clips-dir)", file=sys.stderr)
        return 1
    config = Config().with_overrides({"model.path": str(args.model) if args.model else None})
    model = hiprom.load_model(config, progress=False)
    cores = available_cores()
    print(f"hiprom {hiprom.__version__}; {len(clips)} clips from {args.clips_dir}; {cores} cores; "
          f"model {model.path.name}; load average before: {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="hiprom-batch-bench-") as tmp:
        for w in args.workers:
            r = run_once(clips, w, model, Path(tmp))
            rows.append(r)
            print(f"  {w} worker(s) x {worker_threads(w, cores)} thread(s): {r['wall_s']:.1f} s, "
                  f"{r['failed']} failed", flush=True)
    lo, hi = min(rows, key=lambda r: r["workers"]), max(rows, key=lambda r: r["workers"])
    base = lo["clips"] / lo["wall_s"] * 60
    print(f"\n{'workers':>7} {'clips/min':>10} {'speed-up':>9} {'cores busy':>11} {'CPU s/clip':>11} "
          f"{'peak RSS per worker (MB)':>26}")
    for r in rows:
        cpm = r["clips"] / r["wall_s"] * 60
        rss = ", ".join(f"{v:.0f}" for v in sorted(r["rss_mb"].values())) or "n/a"
        print(f"{r['workers']:>7} {cpm:>10.2f} {cpm / base:>8.2f}x {r['cpu_s'] / r['wall_s']:>11.2f} "
              f"{r['cpu_s'] / r['clips']:>11.1f} {rss:>26}")
    same = all(r["peaks"] == rows[0]["peaks"] for r in rows)
    print(f"\nsame peaks for every worker count: {'yes' if same else 'NO'}")
    for r in rows[1:]:
        for clip, peaks in r["peaks"].items():
            if peaks != rows[0]["peaks"].get(clip):
                print(f"  differs with {r['workers']} workers: {clip}: {rows[0]['peaks'].get(clip)} vs {peaks}")
    if hi is not lo:
        ratio = (hi["clips"] / hi["wall_s"]) / (lo["clips"] / lo["wall_s"])
        print(f"speed-up {hi['workers']} vs {lo['workers']} worker(s): {ratio:.2f}x (aim on 2 cores: >= 1.6x)")
    print(f"load average after: {'/'.join(f'{x:.2f}' for x in os.getloadavg())} "
          "(figures from a busy machine are not final)")
    return 0 if same and not any(r["failed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
