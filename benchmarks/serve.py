"""``hiprom serve``: time from upload to result for the bundled sample, and the server's memory
while a large file streams in.

    python benchmarks/serve.py [--runs 3] [--big-mb 500]

Starts ``python -m hiprom serve`` on a free 127.0.0.1 port (one worker, the model from
``HIPROM_MODEL``), then

1. uploads ``samples/seated_ir_right.mp4`` ``--runs`` times through the JSON API and prints,
   per run, the time from the start of the upload to ``"status": "done"`` and the measured
   right IR against the truth (38°); then the median and the spread;
2. streams a ``--big-mb`` MB file of random bytes (refused at the end: not a video) and prints
   the server process's peak resident memory (``VmHWM``) before and after, against the file's
   size: uploads are written in chunks, so the growth is a small fraction of the file.

Target: the upload-to-result time is the analysis time (``hiprom analyze --report --annotate``
on the same clip) plus under a second; the memory growth is under 10 % of the file's size.
Linux only (``/proc``). Timings are noisy on a shared machine: compare medians.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "seated_ir_right.mp4"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def post_file(port: int, path: Path, name: str) -> tuple[int, dict]:
    """Stream ``path`` as a multipart upload in 1 MB chunks (the client holds no more either)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", "/api/analyses")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            conn.send(chunk)
    conn.send(tail)
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def get(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-mb", type=int, default=500)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "hiprom", "serve", "--port", str(port), "--data", f"{tmp}/data",
               "--workers", "1", "--max-upload-mb", str(args.big_mb * 2)]
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                try:
                    get(port, "/api/analyses")
                    break
                except OSError:
                    time.sleep(0.2)
            times = []
            for run in range(1, args.runs + 1):
                t0 = time.perf_counter()
                status, body = post_file(port, SAMPLE, f"run{run}.mp4")
                assert status == 202, body
                while (job := get(port, f"/api/analyses/{body['id']}"))["status"] not in ("done", "failed"):
                    time.sleep(0.1)
                elapsed = time.perf_counter() - t0
                times.append(elapsed)
                ir = job["result"]["sides"]["right"]["peak_ir_deg"] if job["status"] == "done" else None
                print(f"run {run}: upload to {job['status']} {elapsed:.1f} s (worker {job['elapsed_s']:.1f} s); "
                      f"right IR {ir:.1f}° (truth 38°)")
            print(f"upload to result: median {statistics.median(times):.1f} s, spread "
                  f"{min(times):.1f}-{max(times):.1f} s over {len(times)} runs")
            big = Path(tmp) / "big.bin"
            with open(big, "wb") as fh:
                for _ in range(args.big_mb):
                    fh.write(os.urandom(1 << 20))
            before = peak_rss_mb(server.pid)
            t0 = time.perf_counter()
            status, body = post_file(port, big, "big.mp4")
            secs = time.perf_counter() - t0
            after = peak_rss_mb(server.pid)
            size_mb = big.stat().st_size / 2**20
            print(f"{size_mb:.0f} MB upload: HTTP {status} after {secs:.1f} s ({size_mb / secs:.0f} MB/s); server peak "
                  f"memory {before:.0f} -> {after:.0f} MB (+{after - before:.0f} MB = "
                  f"{100 * (after - before) / size_mb:.1f} % of the file; target < 10 %)")
            print(f"  answer: {body.get('error', body)[:160]!r}")
        finally:
            server.send_signal(2)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
