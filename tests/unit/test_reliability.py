"""Faults a user can cause, run as a user runs them (``python -m hiprom`` in a subprocess), no
pose model needed: an output folder that holds the input, a full disk, a FIFO among the clips, a
batch whose output folder is its input folder, a Ctrl-C that Python swallows.

A full disk is a real one: a small tmpfs mounted in a private mount namespace
(``unshare -rm``, no root needed where user namespaces are allowed); the tests that need it
skip with the reason when it cannot be mounted. ``tests/unit/io/test_atomic.py`` covers the same
errors by simulation. The batch cases use a stand-in model file (a zip with the two members a
pose model has): the clips are not real videos, so no model ever runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest
from helpers import REPO
from helpers.synthetic_front import synthetic_series
from helpers.tflite_util import POSE_MEMBERS, pose_member

from hiprom.io.landmarks_npz import save_series

NO_SPACE = "no space left on"


def run_cli(*args: object, cwd: Path, env: dict | None = None, timeout: float = 300,
            driver: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    base.update(MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]))
    base.update(env or {})
    cmd = [sys.executable, "-c", driver, *map(str, args)] if driver else [sys.executable, "-m", "hiprom",
                                                                            *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=base, capture_output=True, text=True, timeout=timeout)


def assert_clean(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    """A saved landmark series (a synthetic seated test): ``--from-landmarks`` needs no model."""
    return save_series(synthetic_series(), tmp_path_factory.mktemp("lm") / "landmarks.npz")


def fake_model(path: Path) -> Path:
    """A .task that passes the bundle checks (tiny models with the real tensor shapes) but that
    MediaPipe cannot run: enough for commands that fail, or finish, before the model runs."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in POSE_MEMBERS:
            zf.writestr(name, pose_member(name))
    return path


# --- 1. the output folder -------------------------------------------------------------------

def test_out_holding_the_input_is_refused_even_with_force(tmp_path: Path, npz: Path) -> None:
    """``analyze c/clip --out c --force`` used to delete the input and everything beside it."""
    c = tmp_path / "c"
    c.mkdir()
    shutil.copy(npz, c / "landmarks.npz")
    (c / "notes.txt").write_text("the user's notes\n")
    err = assert_clean(run_cli("analyze", c / "landmarks.npz", "--from-landmarks", "--out", c, "--force",
                               "--quiet", cwd=tmp_path), 2)
    assert f"{c}: the output folder holds the input {c / 'landmarks.npz'}" in err, err
    assert sorted(p.name for p in c.iterdir()) == ["landmarks.npz", "notes.txt"]
    assert (c / "landmarks.npz").read_bytes() == npz.read_bytes()


def test_out_dot_with_force_is_refused_not_an_internal_error(tmp_path: Path, npz: Path) -> None:
    shutil.copy(npz, tmp_path / "landmarks.npz")
    err = assert_clean(run_cli("analyze", "landmarks.npz", "--from-landmarks", "--out", ".", "--force", "--quiet",
                               cwd=tmp_path), 2)
    assert "holds the input" in err
    assert [p.name for p in tmp_path.iterdir()] == ["landmarks.npz"]


# --- 2. a full disk -----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _small_disk_problem() -> str | None:
    if shutil.which("unshare") is None:
        return "no 'unshare' command (util-linux)"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', "/tmp"],
                           capture_output=True, text=True, timeout=60)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs in a user namespace: {probe.stderr.strip()}"


FILL = 'cat /dev/zero > "$DISK/.fill" 2>/dev/null'


def on_small_disk(disk: Path, script: str, *, size_kb: int, cwd: Path,
                  env: dict | None = None) -> tuple[int, str, list[str]]:
    """Run ``script`` (sh; ``$DISK`` is the small disk) with a ``size_kb`` tmpfs mounted at
    ``disk``; return (exit code of the script's ``hiprom`` call, its stderr, what is left on the disk)."""
    problem = _small_disk_problem()
    if problem:
        pytest.skip(problem)
    disk.mkdir(exist_ok=True)
    full = (f'mount -t tmpfs -o size={size_kb}k tmpfs "$DISK" || exit 97\n{script}\nrc=$?\n'
            'echo "LEFT:"; ls -A "$DISK"; exit $rc')
    base = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    base.update(MPLBACKEND="Agg", DISK=str(disk), PY=sys.executable,
                PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO / "tests")]), **(env or {}))
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", full], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=600)
    left = proc.stdout.split("LEFT:", 1)[-1].split()
    return proc.returncode, proc.stderr, [name for name in left if name != ".fill"]


def test_disk_full_while_writing_the_outputs(tmp_path: Path, npz: Path) -> None:
    code, err, left = on_small_disk(tmp_path / "disk", f'{FILL}\n"$PY" -m hiprom analyze {npz} --from-landmarks '
                                                       '--out "$DISK/o" --quiet', size_kb=256, cwd=tmp_path)
    assert code == 1, err
    assert f"error: {NO_SPACE} {tmp_path / 'disk'}\n  How to fix: free some space or choose --out elsewhere." \
        in err, err
    assert "Traceback" not in err and left == []


def test_disk_full_while_writing_the_report(tmp_path: Path, npz: Path) -> None:
    first = assert_clean(run_cli("analyze", npz, "--from-landmarks", "--out", tmp_path / "o", "--quiet",
                                 cwd=tmp_path), 0)
    assert first == ""
    code, err, left = on_small_disk(tmp_path / "disk", f'{FILL}\n"$PY" -m hiprom report {tmp_path / "o"} '
                                                       '--out "$DISK/report.html"', size_kb=256, cwd=tmp_path)
    assert code == 1 and f"{NO_SPACE} {tmp_path / 'disk'}" in err and "Traceback" not in err, err
    assert left == []


def test_disk_full_while_storing_the_history(tmp_path: Path, npz: Path) -> None:
    other = tmp_path / "other.npz"
    save_series(synthetic_series().replace(source="second.mp4"), other)
    script = (f'"$PY" -m hiprom analyze {npz} --from-landmarks --out {tmp_path / "o1"} --subject P1 '
              f'--history-db "$DISK/h.sqlite" --quiet || exit 90\n{FILL}\n'
              f'"$PY" -m hiprom analyze {other} --from-landmarks --out {tmp_path / "o2"} --subject P1 '
              f'--history-db "$DISK/h.sqlite" --quiet')
    code, err, left = on_small_disk(tmp_path / "disk", script, size_kb=512, cwd=tmp_path)
    assert code == 1, err
    assert f"{NO_SPACE} {tmp_path / 'disk'}" in err and "--history-db" in err and "Traceback" not in err, err
    assert "h.sqlite" in left


def test_disk_full_while_saving_the_history_plot(tmp_path: Path, npz: Path) -> None:
    db = tmp_path / "h.sqlite"
    assert_clean(run_cli("analyze", npz, "--from-landmarks", "--out", tmp_path / "o", "--subject", "P1",
                         "--history-db", db, "--quiet", cwd=tmp_path), 0)
    code, err, left = on_small_disk(tmp_path / "disk", f'{FILL}\n"$PY" -m hiprom history P1 --db {db} '
                                                       '--plot "$DISK/p1.png"', size_kb=64, cwd=tmp_path)
    assert code == 1 and f"{NO_SPACE} {tmp_path / 'disk'}" in err and "Traceback" not in err, err
    assert left == []


def test_disk_full_while_writing_a_batch_summary(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "bad.mp4").write_bytes(b"not a video at all")
    model = fake_model(tmp_path / "m.task")
    script = (f'"$PY" -m hiprom batch {clips} --out "$DISK/out" --workers 1 --quiet; [ $? = 3 ] || exit 90\n'
              f'{FILL}\n"$PY" -m hiprom batch {clips} --out "$DISK/out" --workers 1 --quiet')
    code, err, left = on_small_disk(tmp_path / "disk", script, size_kb=512, cwd=tmp_path,
                                    env={"HIPROM_MODEL": str(model)})
    assert code == 1, err
    assert f"{NO_SPACE} {tmp_path / 'disk' / 'out'}" in err and "Traceback" not in err, err
    assert left == ["out"]


ANNOTATE_DRIVER = """
import sys
import cv2, numpy as np
from pathlib import Path
from helpers.synthetic_front import synthetic_series
from hiprom.apps.pipeline import analyze_landmarks
from hiprom.errors import HipromError
from hiprom.outputs.annotate import write_annotated_video

series = synthetic_series()
video = Path(sys.argv[1])
w, h = series.frame_size_px
writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), series.fps, (w, h))
rng = np.random.default_rng(0)        # noise: the H.264 video is large enough to fill the small disk
for _ in range(series.n_frames):
    writer.write(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
writer.release()
result = analyze_landmarks(series.replace(source=str(video)))
try:
    write_annotated_video(result, video, Path(sys.argv[2]) / "annotated.mp4")
except HipromError as exc:
    print(exc.message, file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def test_disk_full_while_writing_the_annotated_video(tmp_path: Path) -> None:
    """A full disk while the annotated video is written: before, an index-less, unplayable
    annotated.mp4 and exit 0."""
    script = f'"$PY" -c \'{ANNOTATE_DRIVER}\' {tmp_path / "src.mp4"} "$DISK"'
    code, err, left = on_small_disk(tmp_path / "disk", script, size_kb=400, cwd=tmp_path)
    assert code == 1, err
    assert f"{NO_SPACE} {tmp_path / 'disk'}" in err and "Traceback" not in err, err
    assert left == []


@pytest.mark.parametrize("free_bytes, message", [(0, NO_SPACE), (10**9, "the video written is unreadable")])
def test_a_video_the_writer_left_unplayable_is_never_published(tmp_path: Path, monkeypatch, free_bytes: int,
                                                               message: str) -> None:
    """Simulated: the writer 'succeeds' but the file loses its index, as on a full disk."""
    import cv2
    import numpy as np

    import hiprom.outputs.annotate as annotate
    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.errors import OutputWriteError

    series = synthetic_series()
    video = tmp_path / "src.mp4"
    w, h = series.frame_size_px
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), series.fps, (w, h))
    for _ in range(series.n_frames):
        writer.write(np.full((h, w, 3), 90, np.uint8))
    writer.release()
    result = analyze_landmarks(series.replace(source=str(video)))
    real_writer = annotate.VideoWriter

    class Truncating(real_writer):                    # the writer 'succeeds', the file is cut short
        def close(self):
            super().close()
            data = self.path.read_bytes()
            self.path.write_bytes(data[: len(data) // 2])

    monkeypatch.setattr(annotate, "VideoWriter", Truncating)
    monkeypatch.setattr(annotate.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1, 1, free_bytes))
    out = tmp_path / "out"
    with pytest.raises(OutputWriteError, match=message):
        annotate.write_annotated_video(result, video, out / "annotated.mp4")
    assert list(out.iterdir()) == []


# --- 3 and 6. what a batch takes as input -------------------------------------------------------

def test_batch_skips_a_fifo_instead_of_hanging(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    os.mkfifo(clips / "pipe.mp4")
    (clips / "bad.mp4").write_bytes(b"not a video at all")
    proc = run_cli("batch", clips, "--out", tmp_path / "out", "--workers", "1", cwd=tmp_path, timeout=120,
                   env={"HIPROM_MODEL": str(fake_model(tmp_path / "m.task"))})
    err = assert_clean(proc, 3)
    assert f"note: {clips / 'pipe.mp4'} is a named pipe (FIFO), not a regular file: skipped" in err, err
    assert "1 clip(s): 0 analysed, 0 skipped (already done), 1 failed" in err, err


def test_batch_into_its_own_input_folder_never_takes_its_outputs_as_inputs(tmp_path: Path) -> None:
    """``batch D --out D``: the second run used to analyse cohort.png (and the clips' angles.png)."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "bad.mp4").write_bytes(b"not a video at all")
    env = {"HIPROM_MODEL": str(fake_model(tmp_path / "m.task"))}
    first = assert_clean(run_cli("batch", d, "--out", d, "--workers", "1", cwd=tmp_path, env=env), 3)
    assert (d / "cohort.png").is_file() and "1 clip(s)" in first
    (d / "clips" / "stray_hiprom").mkdir()
    json.dump({"schema": "hiprom.result"}, (d / "clips" / "stray_hiprom" / "result.json").open("w"))
    second = assert_clean(run_cli("batch", d, "--out", d, "--workers", "1", cwd=tmp_path, env=env), 3)
    assert "0 clip(s) to analyse, 1 already done" in second, second
    assert "1 clip(s): 0 analysed, 1 skipped" in second, second


# --- 7. Ctrl-C ---------------------------------------------------------------------------------

SWALLOWED_CTRL_C = """
import os, signal, sys, weakref
from matplotlib.figure import Figure

real_savefig = Figure.savefig

class Thing:
    pass

def on_collect(ref):  # Ctrl-C arrives inside a weak-reference callback: Python only prints it
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):
        pass

def savefig(self, *args, **kwargs):
    thing = Thing()
    ref = weakref.ref(thing, on_collect)
    del thing
    return real_savefig(self, *args, **kwargs)

Figure.savefig = savefig
from hiprom.apps.cli import main
sys.argv = ["hiprom", *sys.argv[1:]]
main()
"""


def test_a_ctrl_c_python_swallows_still_exits_130_with_nothing_written(tmp_path: Path, npz: Path) -> None:
    """Seen once in 16 tries: 'Exception ignored in ... KeyboardInterrupt', then exit 0."""
    proc = run_cli("analyze", npz, "--from-landmarks", "--out", tmp_path / "o", cwd=tmp_path,
                   driver=SWALLOWED_CTRL_C)
    err = assert_clean(proc, 130)
    assert "Exception ignored" not in err and "interrupted (Ctrl-C)" in err, err
    assert list(tmp_path.iterdir()) == []
