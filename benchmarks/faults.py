"""Hostile inputs and faults, made at run time, each run through hiprom as a user runs it.

    python benchmarks/faults.py                 # every case
    python benchmarks/faults.py --only disk     # the cases whose name contains "disk"
    python benchmarks/faults.py --list

Each case is a small function (registered with ``@case``) that builds its input in a fresh
temporary folder (nothing third-party is stored in the repository: the clips are the repo's
own samples, everything else is generated), runs ``python -m hiprom`` in a subprocess, and
checks the exit code, the class of message (a phrase on stderr), that no traceback was
printed, and that nothing the user had was lost and nothing half-written was left. It prints
one line per case and ``N handled cleanly / M tried``; the exit code is 0 only when all were.

Needs the pose model (``HIPROM_MODEL``, else ``../shared/models/pose_landmarker_full.task``);
the full-disk cases mount a small tmpfs in a private mount namespace (``unshare -rm``) and the
no-network cases need ``strace``: a case whose tool is missing is reported as not run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "seated_ir_right.mp4"
SAMPLE_2 = REPO / "samples" / "seated_ir_both.mp4"
SHARED_MODEL = REPO.parent / "shared" / "models" / "pose_landmarker_full.task"
NO_SPACE = "no space left on"
FILL = 'cat /dev/zero > "$DISK/.fill" 2>/dev/null'


class NotRun(Exception):
    """A tool the case needs is missing (reported, not counted)."""

@dataclass
class Ctx:
    """What a case gets: its own empty folder, the model, and a saved analysis of SAMPLE."""

    tmp: Path
    model: Path
    base: Path            # an analyze output folder of SAMPLE (landmarks.npz, result.json)

    @property
    def npz(self) -> Path:
        return self.base / "landmarks.npz"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
        env.update(MPLBACKEND="Agg", HIPROM_MODEL=str(self.model), PY=sys.executable,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
        env.update(extra)
        return env

    def hiprom(self, *args: object, cwd: Path | None = None, timeout: float = 600,
               **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hiprom", *map(str, args)], cwd=cwd or self.tmp,
                              env=self.env(**env), capture_output=True, text=True, timeout=timeout)

    def on_small_disk(self, script: str, *, size_kb: int) -> tuple[int, str, list[str]]:
        """Run ``script`` (sh) with a ``size_kb`` tmpfs at ``$DISK``; return its exit code, its
        stderr, and what is left on the disk (the filler excluded)."""
        if shutil.which("unshare") is None:
            raise NotRun("no 'unshare' (util-linux)")
        disk = self.tmp / "disk"
        disk.mkdir()
        full = (f'mount -t tmpfs -o size={size_kb}k tmpfs "$DISK" || exit 97\n{script}\nrc=$?\n'
                'echo "LEFT:"; ls -A "$DISK"; exit $rc')
        proc = subprocess.run(["unshare", "-rm", "sh", "-c", full], cwd=self.tmp, env=self.env(DISK=str(disk)),
                              capture_output=True, text=True, timeout=900)
        if proc.returncode == 97:
            raise NotRun(f"cannot mount a tmpfs: {proc.stderr.strip()[:80]}")
        left = proc.stdout.split("LEFT:", 1)[-1].split()
        return proc.returncode, proc.stderr, [n for n in left if n != ".fill"]


Outcome = tuple[bool, str]
CASES: list[Callable[[Ctx], Outcome]] = []


def case(fn: Callable[[Ctx], Outcome]) -> Callable[[Ctx], Outcome]:
    CASES.append(fn)
    return fn


def verdict(code: int, stderr: str, want_code: int, phrase: str, *extra: tuple[bool, str]) -> Outcome:
    """Handled cleanly: the expected exit code and message, no traceback, and every extra check."""
    problems = []
    if code != want_code:
        problems.append(f"exit {code}, expected {want_code}")
    if phrase and phrase not in stderr:
        problems.append(f"no {phrase!r} on stderr")
    if "Traceback" in stderr or "internal error" in stderr or "Exception ignored" in stderr:
        problems.append("a traceback / internal error")
    problems += [why for ok, why in extra if not ok]
    first = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")
    return not problems, "; ".join(problems) or f"exit {code}: {first[:110]}"


def clip_in(folder: Path, name: str = "clip.mp4", src: Path = SAMPLE) -> Path:
    return Path(shutil.copy(src, (folder.mkdir(parents=True, exist_ok=True), folder / name)[1]))


def hidden_leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if re.search(r"\.[0-9a-f]{8}\.(tmp|old)", p.name)]


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
    """The annotated video does not fit (used to exit 0 with an unplayable annotated.mp4)."""
    code, err, left = ctx.on_small_disk(f'"$PY" -m hiprom analyze {SAMPLE} --annotate --out "$DISK/o" --quiet',
                                        size_kb=1200)
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
    return _strace(ctx, "live", "--headless", "--source", SAMPLE, "--duration", "2", "--out", ctx.tmp / "live")


# -- running ---------------------------------------------------------------------------------------------
def _model() -> Path:
    path = Path(os.environ.get("HIPROM_MODEL") or SHARED_MODEL)
    return path if path.is_file() else sys.exit(f"faults.py: no pose model at {path}: set HIPROM_MODEL")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="run the cases whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the cases")
    opts = ap.parse_args()
    chosen = [c for c in CASES if not opts.only or any(o in c.__name__ for o in opts.only)]
    if opts.list:
        for c in chosen:
            print(f"{c.__name__:34s} {(c.__doc__ or '').strip().splitlines()[0] if c.__doc__ else ''}")
        return 0
    model = _model()
    with tempfile.TemporaryDirectory(prefix="hiprom-faults-") as root:
        root = Path(root)
        base = root / "base"
        made = Ctx(root, model, base).hiprom("analyze", SAMPLE, "--out", base, "--quiet")
        if made.returncode != 0:
            sys.exit(f"faults.py: the sample could not be analysed:\n{made.stderr}")
        good = tried = 0
        for fn in chosen:
            work = root / fn.__name__
            work.mkdir()
            t0 = time.monotonic()
            try:
                ok, detail = fn(Ctx(work, model, base))
            except NotRun as exc:
                print(f"  -   {fn.__name__:34s} not run: {exc}", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - a broken case is reported, not fatal
                ok, detail = False, f"the case itself failed: {type(exc).__name__}: {exc}"
            tried += 1
            good += ok
            print(f"  {'ok ' if ok else 'BAD'} {fn.__name__:34s} {time.monotonic() - t0:5.1f} s  {detail}", flush=True)
    print(f"{good} handled cleanly / {tried} tried")
    return 0 if good == tried else 1


if __name__ == "__main__":
    sys.exit(main())
