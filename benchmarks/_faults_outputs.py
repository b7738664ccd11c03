"""Faults of the reliability issue's items 1-4, 6, 7 and 21: the output folder, a full disk,
special files, a killed batch, Ctrl-C, and no network traffic (see ``benchmarks/faults.py``)."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from _faults_common import (
    FILL,
    NO_SPACE,
    SAMPLE,
    SAMPLE_2,
    Ctx,
    NotRun,
    Outcome,
    case,
    clip_in,
    hidden_leftovers,
    verdict,
)


# -- 1. the output folder ----------------------------------------------------------------------------
@case
def out_folder_holds_the_input(ctx: Ctx) -> Outcome:
    """``analyze c/clip.mp4 --out c --force`` (used to delete the clip and all of c, exit 0)."""
    clip = clip_in(ctx.tmp / "c")
    (ctx.tmp / "c" / "notes.txt").write_text("mine")
    p = ctx.hiprom("analyze", clip, "--out", ctx.tmp / "c", "--force", "--quiet")
    return verdict(p.returncode, p.stderr, 2, "holds the input",
                   (clip.is_file() and (ctx.tmp / "c" / "notes.txt").is_file(), "the input or notes were deleted"))


@case
def out_dot_with_force(ctx: Ctx) -> Outcome:
    """``cd c; analyze clip.mp4 --out . --force`` (used to fail with an internal error)."""
    clip = clip_in(ctx.tmp / "c")
    p = ctx.hiprom("analyze", "clip.mp4", "--out", ".", "--force", "--quiet", cwd=clip.parent)
    return verdict(p.returncode, p.stderr, 2, "holds the input", (clip.is_file(), "the clip was deleted"))


@case
def force_over_the_users_files(ctx: Ctx) -> Outcome:
    clip = clip_in(ctx.tmp)
    (ctx.tmp / "clip_hiprom").mkdir()
    (ctx.tmp / "clip_hiprom" / "my notes.txt").write_text("mine")
    p = ctx.hiprom("analyze", clip, "--force", "--quiet")
    return verdict(p.returncode, p.stderr, 2, "did not write",
                   ((ctx.tmp / "clip_hiprom" / "my notes.txt").is_file(), "the user's file was deleted"))


# -- 2. a full disk ----------------------------------------------------------------------------------
@case
def disk_full_outputs(ctx: Ctx) -> Outcome:
    code, err, left = ctx.on_small_disk(f'{FILL}\n"$PY" -m hiprom analyze {ctx.npz} --from-landmarks '
                                        '--out "$DISK/o" --quiet', size_kb=256)
    return verdict(code, err, 1, NO_SPACE, (left == [], f"left on the disk: {left}"))


@case
def disk_full_annotate(ctx: Ctx) -> Outcome:
    """The annotated video does not fit (used to exit 0 with an unplayable annotated.mp4). The
    disk holds the other outputs of the sample (about 590 kB) but not also its H.264 video
    (about 200 kB more)."""
    code, err, left = ctx.on_small_disk(f'"$PY" -m hiprom analyze {SAMPLE} --annotate --out "$DISK/o" --quiet',
                                        size_kb=680)
    return verdict(code, err, 1, NO_SPACE, (left == [], f"left on the disk: {left}"))


@case
def disk_full_report(ctx: Ctx) -> Outcome:
    code, err, left = ctx.on_small_disk(f'{FILL}\n"$PY" -m hiprom report {ctx.base} --out "$DISK/r.html"',
                                        size_kb=256)
    return verdict(code, err, 1, NO_SPACE, (left == [], f"left on the disk: {left}"))


@case
def disk_full_history(ctx: Ctx) -> Outcome:
    script = (f'"$PY" -m hiprom analyze {ctx.npz} --from-landmarks --out {ctx.tmp / "o1"} --subject P1 '
              f'--history-db "$DISK/h.sqlite" --quiet || exit 90\n{FILL}\n'
              f'"$PY" -m hiprom analyze {SAMPLE_2} --out {ctx.tmp / "o2"} --subject P1 '
              f'--history-db "$DISK/h.sqlite" --quiet')
    code, err, left = ctx.on_small_disk(script, size_kb=512)
    return verdict(code, err, 1, NO_SPACE, ("h.sqlite" in left, f"the database is gone: {left}"))


@case
def disk_full_history_plot(ctx: Ctx) -> Outcome:
    db = ctx.tmp / "h.sqlite"
    p = ctx.hiprom("analyze", ctx.npz, "--from-landmarks", "--out", ctx.tmp / "o", "--subject", "P1",
                   "--history-db", db, "--quiet")
    assert p.returncode == 0, p.stderr
    code, err, left = ctx.on_small_disk(f'{FILL}\n"$PY" -m hiprom history P1 --db {db} --plot "$DISK/p1.png"',
                                        size_kb=64)
    return verdict(code, err, 1, NO_SPACE, (left == [], f"left on the disk: {left}"))


@case
def disk_full_batch_summary(ctx: Ctx) -> Outcome:
    clips = ctx.tmp / "clips"
    clips.mkdir()
    (clips / "bad.mp4").write_bytes(b"not a video")
    script = (f'"$PY" -m hiprom batch {clips} --out "$DISK/out" --workers 1 --quiet; [ $? = 3 ] || exit 90\n'
              f'{FILL}\n"$PY" -m hiprom batch {clips} --out "$DISK/out" --workers 1 --quiet')
    code, err, left = ctx.on_small_disk(script, size_kb=512)
    return verdict(code, err, 1, NO_SPACE, (left == ["out"], f"left on the disk: {left}"))


# -- 3, 4, 6. batch --------------------------------------------------------------------------------------
@case
def batch_folder_with_a_fifo(ctx: Ctx) -> Outcome:
    """A FIFO named pipe.mp4 among the clips (used to hang forever while hashing)."""
    clips = ctx.tmp / "clips"
    clips.mkdir()
    os.mkfifo(clips / "pipe.mp4")
    (clips / "bad.mp4").write_bytes(b"not a video")
    try:
        p = ctx.hiprom("batch", clips, "--out", ctx.tmp / "out", "--workers", "1", timeout=180)
    except subprocess.TimeoutExpired:
        return False, "hung for 180 s"
    return verdict(p.returncode, p.stderr, 3, "named pipe (FIFO)")


@case
def batch_into_its_own_input_folder(ctx: Ctx) -> Outcome:
    """``batch D --out D`` twice (the second run used to analyse angles.png and cohort.png)."""
    d = ctx.tmp / "d"
    clip_in(d)
    first = ctx.hiprom("batch", d, "--out", d, "--workers", "1")
    if first.returncode != 0:
        return verdict(first.returncode, first.stderr, 0, "")
    p = ctx.hiprom("batch", d, "--out", d, "--workers", "1")
    return verdict(p.returncode, p.stderr, 0, "0 clip(s) to analyse, 1 already done")


def _state(pid: int) -> tuple[str, int]:
    """(state, parent pid) from /proc; ("", 0) for a process that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "", 0
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    return _state(pid)[0] not in ("", "Z")        # a zombie has ended


def _children(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if _state(int(p.name))[1] == pid
            and _alive(int(p.name))]


@case
def batch_parent_killed(ctx: Ctx) -> Outcome:
    """kill -9 of a busy batch: its workers must end within seconds (they used to run on)."""
    if not Path("/proc/self/stat").exists():
        raise NotRun("needs /proc")
    clips = ctx.tmp / "clips"
    for k in range(4):
        clip_in(clips, f"c{k}.mp4", SAMPLE if k % 2 else SAMPLE_2)
    proc = subprocess.Popen([sys.executable, "-m", "hiprom", "batch", str(clips), "--out", str(ctx.tmp / "out"),
                             "--workers", "2", "--quiet"], env=ctx.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    kids: list[int] = []
    try:
        start = time.monotonic()
        while time.monotonic() - start < 120:
            kids = _children(proc.pid)
            if len(kids) >= 2 and time.monotonic() - start > 8:     # workers up and analysing
                break
            time.sleep(0.2)
        proc.kill()
        proc.wait()
        killed = time.monotonic()
        while any(_alive(k) for k in kids) and time.monotonic() - killed < 30:
            time.sleep(0.1)
        took = time.monotonic() - killed
        left = [k for k in kids if _alive(k)]
    finally:
        for k in kids:
            if _alive(k):
                os.kill(k, signal.SIGKILL)
    ok = bool(kids) and not left and took < 10
    return ok, f"{len(kids)} child processes, all ended {took:.1f} s after kill -9" if ok else \
        f"{len(left)} of {len(kids)} child processes still running {took:.0f} s after kill -9"


# -- 7. Ctrl-C ----------------------------------------------------------------------------------------
@case
def ctrl_c_while_writing(ctx: Ctx, tries: int = 16) -> Outcome:
    """SIGINT at random moments of ``analyze --from-landmarks --report`` (once in 16 it used to be
    ignored: a traceback, exit 0)."""
    args = ("analyze", ctx.npz, "--from-landmarks", "--report", "--quiet")
    t0 = time.monotonic()
    p = ctx.hiprom(*args, "--out", ctx.tmp / "timing")
    run_s = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    rng = random.Random(7)
    codes, problems = {}, []
    for k in range(tries):
        out = ctx.tmp / f"o{k}"
        proc = subprocess.Popen([sys.executable, "-m", "hiprom", *map(str, args), "--out", str(out)], cwd=ctx.tmp,
                                env=ctx.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.05, 1.0) * run_s)
        if proc.poll() is not None:
            proc.communicate()
            continue                                     # finished before the signal: not a try
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        codes[proc.returncode] = codes.get(proc.returncode, 0) + 1
        complete = out.is_dir() and {"result.json", "report.html", "landmarks.npz"} <= {q.name for q in out.iterdir()}
        if proc.returncode != 130:
            problems.append(f"exit {proc.returncode}")
        if "Traceback" in err or "Exception ignored" in err:
            problems.append("a traceback")
        if out.exists() and not complete:
            problems.append("a half-written folder")
        if hidden_leftovers(ctx.tmp):
            problems.append("temporary files left")
    tried = sum(codes.values())
    ok = not problems and tried > 0
    detail = f"{tried} interrupted runs, exit codes {dict(sorted(codes.items()))}"
    return ok, detail if ok else f"{detail}: {', '.join(sorted(set(problems)))}"


# -- 21. no network ------------------------------------------------------------------------------------
def _inet_lines(trace: Path) -> list[str]:
    return [ln for ln in trace.read_text().splitlines()
            if re.search(r"\b(connect|sendto|sendmsg|sendmmsg)\(", ln) and re.search(r"AF_INET6?\b", ln)]


def _strace(ctx: Ctx, *args: object, want: int = 0) -> Outcome:
    if shutil.which("strace") is None:
        raise NotRun("strace is not installed")
    trace = ctx.tmp / "trace.txt"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(trace),
                        sys.executable, "-m", "hiprom", *map(str, args)], cwd=ctx.tmp, env=ctx.env(),
                       capture_output=True, text=True, timeout=900)
    lines = _inet_lines(trace)
    return verdict(p.returncode, p.stderr, want, "", (not lines, f"{len(lines)} internet connection(s): "
                                                                f"{lines[:1]}"))


@case
def no_network_analyze(ctx: Ctx) -> Outcome:
    return _strace(ctx, "analyze", clip_in(ctx.tmp), "--quiet")


@case
def no_network_batch_workers(ctx: Ctx) -> Outcome:
    clip_in(ctx.tmp / "clips")
    return _strace(ctx, "batch", ctx.tmp / "clips", "--out", ctx.tmp / "out", "--workers", "1", "--quiet")


@case
def no_network_live(ctx: Ctx) -> Outcome:
    return _strace(ctx, "live", "--headless", "--source", SAMPLE, "--duration", "8", "--out", ctx.tmp / "live")
