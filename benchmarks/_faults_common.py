"""The harness of ``benchmarks/faults.py``: the context each case gets, the verdict, the runner.

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
import re
import shutil
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
                   HIPROM_HISTORY=str(self.tmp / "history.sqlite"),
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


def only(folder: Path, *names: str) -> tuple[bool, str]:
    """The folder holds exactly ``names`` (nothing was written beside the input)."""
    have = sorted(p.name for p in folder.iterdir())
    return have == sorted(names), f"the folder holds {have}"


# -- running ---------------------------------------------------------------------------------------------
def _model() -> Path:
    path = Path(os.environ.get("HIPROM_MODEL") or SHARED_MODEL)
    return path if path.is_file() else sys.exit(f"faults: no pose model at {path}: set HIPROM_MODEL")


def main(cases: list[Callable[[Ctx], Outcome]] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="run the cases whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the cases")
    opts = ap.parse_args()
    chosen = [c for c in (cases or CASES) if not opts.only or any(o in c.__name__ for o in opts.only)]
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
            sys.exit(f"faults: the sample could not be analysed:\n{made.stderr}")
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

