"""Hostile inputs of the reliability issue's items 5 and 8-20: damaged pictures, bad places
to write, settings and arguments out of range, edited results, a swapped model bundle, short
and damaged clips, odd file names (see ``benchmarks/faults.py``)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from _faults_common import SAMPLE, SAMPLE_2, Ctx, NotRun, Outcome, case, clip_in, only, verdict


def _jpeg(ctx: Ctx, share: float, name: str) -> Path:
    """A JPEG of the sample's first frame (a rendered seated person), cut at ``share`` of its bytes."""
    import cv2

    cap = cv2.VideoCapture(str(SAMPLE))
    ok, bgr = cap.read()
    cap.release()
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = buf.tobytes()
    path = ctx.tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: int(len(data) * share)])
    return path


# -- 5. damaged images -------------------------------------------------------------------------------
@case
def truncated_jpeg(ctx: Ctx) -> Outcome:
    """A JPEG cut at 65 % of its bytes (used to be measured: libjpeg fills the rest grey)."""
    photo = _jpeg(ctx, 0.65, "photo.jpg")
    p = ctx.hiprom("analyze", photo, "--quiet")
    return verdict(p.returncode, p.stderr, 1, "is truncated: the JPEG data stops before its end-of-image marker",
                   only(ctx.tmp, "photo.jpg"), ("Premature end" not in p.stderr, "libjpeg's warning on stderr"))


@case
def folder_of_one_truncated_jpeg(ctx: Ctx) -> Outcome:
    """A folder holding only that JPEG (used to say "no person was found")."""
    photo = _jpeg(ctx, 0.65, "photos/p1.jpg")
    p = ctx.hiprom("analyze", photo.parent, "--quiet")
    return verdict(p.returncode, p.stderr, 1, f"{photo}: is truncated", ("no person" not in p.stderr, "no person"))


# -- 8. an output place that cannot be written ------------------------------------------------------------
@case
def out_under_a_regular_file(ctx: Ctx) -> Outcome:
    clip = clip_in(ctx.tmp)
    t0 = time.monotonic()
    p = ctx.hiprom("analyze", clip, "--out", clip / "out", "--quiet")
    took = time.monotonic() - t0
    return verdict(p.returncode, p.stderr, 2, "is a file, and a folder cannot be made inside it",
                   (took < 8, f"refused only after {took:.0f} s"))


@case
def out_in_proc(ctx: Ctx) -> Outcome:
    if not Path("/proc/self").is_dir():
        raise NotRun("needs Linux /proc")
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), "--out", "/proc/x", "--quiet")
    return verdict(p.returncode, p.stderr, 2, "/proc does not accept new files")


@case
def batch_out_under_a_regular_file(ctx: Ctx) -> Outcome:
    clip = clip_in(ctx.tmp / "clips")
    p = ctx.hiprom("batch", clip.parent, "--out", clip / "out", "--quiet")
    return verdict(p.returncode, p.stderr, 2, "cannot be created")


# -- 9. settings out of range or not finite --------------------------------------------------------------
def _config(ctx: Ctx, text: str, phrase: str) -> Outcome:
    cfg = ctx.tmp / "my.toml"
    cfg.write_text(text, encoding="utf-8")
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), "--config", cfg, "--quiet")
    return verdict(p.returncode, p.stderr, 2, phrase, (str(cfg) in p.stderr, "the file is not named"),
                   only(ctx.tmp, "clip.mp4", "my.toml"))


@case
def config_cutoff_nan(ctx: Ctx) -> Outcome:
    return _config(ctx, "[signal]\ncutoff_hz = nan\n", "cutoff_hz must be 0 (automatic) or a number above 0")


@case
def config_max_gap_nan(ctx: Ctx) -> Outcome:
    return _config(ctx, "[signal]\nmax_gap_s = nan\n", "max_gap_s must be a number from 0 to 5 s, got nan")


@case
def config_hold_tolerance_nan(ctx: Ctx) -> Outcome:
    return _config(ctx, "[movement]\nhold_tolerance_deg = nan\n", "hold_tolerance_deg must be a number above 0")


@case
def config_detected_fraction_5(ctx: Ctx) -> Outcome:
    return _config(ctx, "[quality]\nmin_detected_fraction = 5\n", "min_detected_fraction must be a number from 0 to 1")


@case
def config_max_yaw_negative(ctx: Ctx) -> Outcome:
    return _config(ctx, "[quality]\nmax_yaw_deg = -5\n", "max_yaw_deg must be a number above 0 and at most 90°")


@case
def cli_cutoff_nan(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), "--cutoff-hz", "nan", "--quiet")
    return verdict(p.returncode, p.stderr, 2, "--cutoff-hz must be 0 (automatic) or", only(ctx.tmp, "clip.mp4"))


# -- 10. arguments judged first ------------------------------------------------------------------------
def _argument(ctx: Ctx, phrase: str, *args: str) -> Outcome:
    t0 = time.monotonic()
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), *args, "--quiet")
    took = time.monotonic() - t0
    return verdict(p.returncode, p.stderr, 2, phrase, only(ctx.tmp, "clip.mp4"),
                   (took < 8, f"refused only after {took:.0f} s"))


@case
def age_999(ctx: Ctx) -> Outcome:
    return _argument(ctx, "expected an age in years between 0 and 120, got 999", "--age", "999")


@case
def age_nan(ctx: Ctx) -> Outcome:
    return _argument(ctx, "expected an age in years between 0 and 120, got nan", "--age", "nan")


@case
def subject_empty(ctx: Ctx) -> Outcome:
    return _argument(ctx, "--subject: subject ID must be 1-200 printable characters", "--subject", "")


@case
def subject_control_character(ctx: Ctx) -> Outcome:
    return _argument(ctx, "--subject: subject ID must be 1-200 printable characters", "--subject", "P\x1b[31m1")


# -- 11. hand-edited result.json ---------------------------------------------------------------------------
def _edited_report(ctx: Ctx, path: str, value: object, phrase: str) -> Outcome:
    folder = Path(shutil.copytree(ctx.base, ctx.tmp / "edited"))
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    *keys, last = path.split(".")
    node = data
    for k in keys:
        node = node[k]
    node[last] = value
    (folder / "result.json").write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
    p = ctx.hiprom("report", folder)
    return verdict(p.returncode, p.stderr, 1, f"{path}: {phrase}",
                   (not (folder / "report.html").exists(), "a report was written"))


@case
def report_nan_peak(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "sides.right.peak_ir_deg", float("nan"), "expected a number from -90 to 90°")


@case
def report_inf_peak(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "sides.right.peak_ir_deg", float("inf"), "expected a number from -90 to 90°")


@case
def report_huge_peak(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "sides.right.peak_ir_deg", 1e308, "expected a number from -90 to 90°")


@case
def report_negative_999(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "sides.right.peak_er_deg", -999, "expected a number from -90 to 90°")


@case
def report_string_peak(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "sides.right.peak_ir_deg", "38.5", "expected a number from -90 to 90°")


@case
def report_quality_string(ctx: Ctx) -> Outcome:
    return _edited_report(ctx, "quality", "good", "expected an object {...}, got a string")


@case
def report_landmarks_of_another_clip(ctx: Ctx) -> Outcome:
    other = ctx.tmp / "other"
    made = ctx.hiprom("analyze", SAMPLE_2, "--out", other, "--quiet")
    if made.returncode != 0:
        return verdict(made.returncode, made.stderr, 0, "")
    folder = Path(shutil.copytree(ctx.base, ctx.tmp / "mixed"))
    shutil.copy(other / "landmarks.npz", folder / "landmarks.npz")
    p = ctx.hiprom("report", folder)
    return verdict(p.returncode, p.stderr, 1, "landmarks.npz: belongs to another clip")


@case
def history_of_an_edited_result(ctx: Ctx) -> Outcome:
    """The history reads through the same validator (a NaN result is not stored)."""
    folder = Path(shutil.copytree(ctx.base, ctx.tmp / "edited"))
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    data["sides"]["right"]["peak_ir_deg"] = float("nan")
    (folder / "result.json").write_text(json.dumps(data), encoding="utf-8")
    code = ("import sys; from hiprom.outputs.history import History\n"
            "from hiprom.errors import HipromError\n"
            "try:\n    History(sys.argv[2]).add(sys.argv[1], 'P-1')\n"
            "except HipromError as e:\n    print(e, file=sys.stderr); sys.exit(e.exit_code)")
    p = subprocess.run([sys.executable, "-c", code, str(folder), str(ctx.tmp / "h.sqlite")], env=ctx.env(),
                       capture_output=True, text=True, timeout=120)
    return verdict(p.returncode, p.stderr, 1, "sides.right.peak_ir_deg: expected a number")


# -- 12. a model bundle with its members swapped -----------------------------------------------------------
def _swapped(ctx: Ctx) -> Path:
    out = ctx.tmp / "swapped.task"
    with zipfile.ZipFile(ctx.model) as zin, zipfile.ZipFile(out, "w") as zout:
        zout.writestr("pose_detector.tflite", zin.read("pose_landmarks_detector.tflite"))
        zout.writestr("pose_landmarks_detector.tflite", zin.read("pose_detector.tflite"))
    return out


@case
def swapped_bundle_analyze(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), "--model", _swapped(ctx), "--quiet")
    return verdict(p.returncode, p.stderr, 1, "two models are swapped")


@case
def swapped_bundle_batch(ctx: Ctx) -> Outcome:
    clip = clip_in(ctx.tmp / "clips")
    p = ctx.hiprom("batch", clip.parent, "--out", ctx.tmp / "out", "--model", _swapped(ctx), "--quiet")
    return verdict(p.returncode, p.stderr, 1, "two models are swapped")


# -- 13. a clip too short for the test ---------------------------------------------------------------------
@case
def half_second_clip(ctx: Ctx) -> Outcome:
    """0.5 s of the sample (used to be "not tested", quality good, exit 0)."""
    import cv2

    cap = cv2.VideoCapture(str(SAMPLE))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = [cap.read()[1] for _ in range(int(round(0.5 * fps)))]
    cap.release()
    path = ctx.tmp / "short.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frames[0].shape[1::-1])
    for f in frames:
        writer.write(f)
    writer.release()
    p = ctx.hiprom("analyze", path, "--quiet")
    return verdict(p.returncode, p.stderr, 1, "is too short to hold a test: 0.50 s", only(ctx.tmp, "short.mp4"))


# -- 14. what is wrong with a video, said as found ----------------------------------------------------------
def _box(data: bytes, *path: bytes) -> tuple[int, int]:
    start, end = 0, len(data)
    for kind in path:
        pos = start
        while pos + 8 <= end:
            size, k = struct.unpack_from(">I4s", data, pos)
            if k == kind:
                start, end = pos + 8, pos + size
                break
            pos += size
    return start, end


@case
def corrupt_frame_mid_file(ctx: Ctx) -> Outcome:
    """Zeros in the middle of the video data (used to be called "truncated")."""
    data = bytearray(SAMPLE.read_bytes())
    start, end = _box(bytes(data), b"mdat")
    at = (start + end) // 2
    data[at:at + 20000] = bytes(20000)
    path = ctx.tmp / "mid.mp4"
    path.write_bytes(bytes(data))
    p = ctx.hiprom("analyze", path, "--quiet")
    return verdict(p.returncode, p.stderr, 1, "although the file is complete (not truncated)",
                   ("is truncated" not in p.stderr, "called truncated"))


@case
def damaged_index_of_h264(ctx: Ctx) -> Outcome:
    """Chunk offsets zeroed in an H.264 file (used to suggest converting to H.264)."""
    data = bytearray(SAMPLE.read_bytes())
    p0, e = _box(bytes(data), b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stco")
    data[p0 + 8:e] = bytes(e - p0 - 8)                    # keep version and count: the offsets point nowhere
    path = ctx.tmp / "index.mp4"
    path.write_bytes(bytes(data))
    p = ctx.hiprom("analyze", path, "--quiet")
    return verdict(p.returncode, p.stderr, 1, "is damaged: it is an H.264 video (codec 'avc1')",
                   ("Convert it to H.264" not in p.stderr, "suggests converting to H.264"))


# -- 15. special files named ------------------------------------------------------------------------------
@case
def symlink_loop(ctx: Ctx) -> Outcome:
    loop = ctx.tmp / "loop.mp4"
    loop.symlink_to(loop)
    p = ctx.hiprom("analyze", loop, "--quiet")
    return verdict(p.returncode, p.stderr, 1, "is a symbolic link loop")


@case
def fifo_input(ctx: Ctx) -> Outcome:
    fifo = ctx.tmp / "pipe.mp4"
    os.mkfifo(fifo)
    p = ctx.hiprom("analyze", fifo, "--quiet", timeout=60)
    return verdict(p.returncode, p.stderr, 1, "is a named pipe (FIFO), not a file")


@case
def dev_zero_input(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("analyze", "/dev/zero", "--out", ctx.tmp / "o", "--quiet", timeout=60)
    return verdict(p.returncode, p.stderr, 1, "is a device, not a file")


# -- 16. file names -----------------------------------------------------------------------------------------
@case
def emoji_file_name(ctx: Ctx) -> Outcome:
    clip = clip_in(ctx.tmp, "knee \U0001F9B5 test.mp4")
    p = ctx.hiprom("analyze", clip, "--quiet")
    return verdict(p.returncode, p.stderr, 0, "", ("Glyph" not in p.stderr, "a matplotlib glyph warning"))


@case
def leading_dash_file_name(ctx: Ctx) -> Outcome:
    clip_in(ctx.tmp, "-clip.mp4")
    helped = "put '--' before it" in " ".join(ctx.hiprom("analyze", "--help").stdout.split())
    p = ctx.hiprom("analyze", "--quiet", "--", "-clip.mp4")
    return verdict(p.returncode, p.stderr, 0, "", (helped, "--help does not say how"),
                   ((ctx.tmp / "-clip_hiprom" / "result.json").is_file(), "no result"))


# -- 17. one name for the history database option -----------------------------------------------------------
@case
def history_db_option_name(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("history", "P-1", "--history-db", ctx.tmp / "none.sqlite")
    return verdict(p.returncode, p.stderr, 1, "point --history-db", ("--db " not in p.stderr, "says --db"))


# -- 18. spreadsheet formulas in the batch table ---------------------------------------------------------
@case
def manifest_formula_notes(ctx: Ctx) -> Outcome:
    (ctx.tmp / "bad.mp4").write_bytes(b"not a video")
    note = '=HYPERLINK("http://example.invalid","x")'
    (ctx.tmp / "m.csv").write_text("path,subject_id,age,sex,side,date,notes\n"
                                   f'bad.mp4,S1,40,,right,,"{note.replace(chr(34), chr(34) * 2)}"\n')
    p = ctx.hiprom("batch", ctx.tmp / "m.csv", "--out", ctx.tmp / "out", "--workers", "1", "--quiet")
    table = ctx.tmp / "out" / "summary.csv"
    cells = [r["notes"] for r in csv.DictReader(table.open(encoding="utf-8"))] if table.is_file() else []
    return verdict(p.returncode, p.stderr, 3, "", (cells == ["'" + note], f"notes in summary.csv: {cells}"))


# -- 19. live mode ---------------------------------------------------------------------------------------------
@case
def live_truncated_file(ctx: Ctx) -> Outcome:
    """Half the sample (used to exit 0 and save a "poor" result that analyze refuses)."""
    half = ctx.tmp / "half.mp4"
    data = SAMPLE.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    p = ctx.hiprom("live", "--source", half, "--headless", "--out", ctx.tmp / "live")
    return verdict(p.returncode, p.stderr, 1, f"error: {half}: is truncated",
                   (not (ctx.tmp / "live").exists(), "a result was saved"))


@case
def live_unreachable_url(ctx: Ctx) -> Outcome:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = ctx.hiprom("live", "--source", f"http://127.0.0.1:{port}/x.mp4", "--headless", "--out", ctx.tmp / "o")
    foreign = [ln for ln in p.stderr.splitlines() if not ln.startswith(("error:", "  How to fix:"))]
    return verdict(p.returncode, p.stderr, 1, "cannot be opened or gave no frame", (not foreign, f"{foreign[:1]}"))


# -- 20. numeric options ------------------------------------------------------------------------------------------
@case
def max_people_9(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("analyze", clip_in(ctx.tmp), "--max-people", "9")
    return verdict(p.returncode, p.stderr, 2, "--max-people must be a whole number from 1 to 5, got 9")


@case
def workers_0(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("batch", ctx.tmp, "--out", ctx.tmp / "o", "--workers", "0")
    return verdict(p.returncode, p.stderr, 2, "--workers must be a whole number from 1 to 256, got 0")


@case
def live_max_side_100(ctx: Ctx) -> Outcome:
    p = ctx.hiprom("live", "--headless", "--max-side", "100")
    return verdict(p.returncode, p.stderr, 2, "--max-side must be 0 (full size) or a whole number from 160")
