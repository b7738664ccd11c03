"""``hiprom live`` without a camera: headless on benchmark clips, faults, the pieces it is made of.

The model and the benchmark clip come from the shared folder (``shared_dir`` /
``shared_model_path``: skipped outside CI when missing, a failure in CI). The command runs in
a subprocess, as a user runs it; the camera cases run :func:`hiprom.apps.live.session.run_live` in-process
with a stand-in camera.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from videos import read_bgr_frames, write_mp4

import hiprom
import hiprom.apps.live.capture as live_mod  # where the capture thread opens cameras
from hiprom.apps.live.overlay import LiveStats, OverlayState, draw_overlay, headless_line
from hiprom.apps.live.protocol import LiveAngles, Peaks, Prompt, Step
from hiprom.apps.live.session import Grab, LatestFrame, LiveOptions, run_live
from hiprom.config import Config
from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM
from hiprom.errors import ConfigError
from hiprom.io.landmarks_npz import load_series
from hiprom.vision.pose import PoseCandidate

CLIP = "b01_man_front_R40"
#: Saved peaks against the rendered truth: the bar every analyze peak meets (tests/test_end_to_end.py).
TOL_TRUTH_DEG = 4.0
#: Live (every frame processed; frames shrunk to 640 px, one person looked for: see
#: hiprom.apps.live.session.LIVE_MAX_PEOPLE) against analyze (full size, two people) on the same clip.
TOL_ANALYZE_DEG = 1.0
#: With --realtime frames are dropped when processing falls behind (how many depends on the
#: machine's load), so the saved series samples the movement more sparsely than analyze's. The
#: peaks come from holds of about 1 s, which survive that, but each is averaged over fewer
#: frames: twice the frame-exact tolerance, and still the truth tolerance against the truth.
TOL_REALTIME_DEG = 2.0
PEAKS = ("peak_ir_deg", "peak_er_deg")
SIDES = ("left", "right")


# --- helpers ------------------------------------------------------------------------------

def run_cli(*args: str | Path, model: Path | None, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HIPROM_") and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["HIPROM_MODEL"] = str(model) if model else str(cwd / "no-such-model.task")
    env["HIPROM_CACHE_DIR"] = str(cwd / "cache")
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.run([sys.executable, "-m", "hiprom", "live", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean(proc: subprocess.CompletedProcess) -> None:
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both and "internal error" not in both, both


def peaks(result: dict) -> dict[tuple[str, str], float | None]:
    return {(s, k): result["sides"][s][k] for s in SIDES for k in PEAKS}


def truth_peaks(summary: dict) -> dict[tuple[str, str], float | None]:
    """gt.json's summary; ER there is negative, hiprom reports it as a positive number."""
    out = {}
    for s in SIDES:
        ir, er = summary[s]["peak_ir_deg"], summary[s]["peak_er_deg"]
        out[(s, "peak_ir_deg")], out[(s, "peak_er_deg")] = ir, (None if er is None else -er)
    return out


def assert_peaks_close(got: dict, want: dict, tol: float, what: str) -> None:
    for key, value in want.items():
        if value is None:
            assert got[key] is None, f"{what}: {key} should not be measured, got {got[key]}"
        else:
            assert got[key] is not None and abs(got[key] - value) <= tol, f"{what}: {key} {got[key]} vs {value}"


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench(shared_dir: Path) -> Path:
    return shared_dir / "bench" / "synthetic"


@pytest.fixture(scope="module")
def clip(bench: Path) -> Path:
    return bench / "clips" / f"{CLIP}.mp4"


@pytest.fixture(scope="module")
def truth(bench: Path) -> dict:
    return truth_peaks(json.loads((bench / "gt.json").read_text())["clips"][CLIP]["summary"])


@pytest.fixture(scope="module")
def analyzed(clip: Path, shared_model_path: Path) -> dict:
    config = Config().with_overrides({"model.path": str(shared_model_path)})
    return peaks(hiprom.analyze(clip, config).to_dict())


def _live(tmp_path_factory, clip: Path, model: Path, *extra: str):
    work = tmp_path_factory.mktemp("live")
    out = work / "out"
    proc = run_cli("--headless", "--source", clip, "--out", out, *extra, model=model, cwd=work)
    return proc, out


@pytest.fixture(scope="module")
def live_every_frame(tmp_path_factory, clip: Path, shared_model_path: Path):
    return _live(tmp_path_factory, clip, shared_model_path)


@pytest.fixture(scope="module")
def live_realtime(tmp_path_factory, clip: Path, shared_model_path: Path):
    return _live(tmp_path_factory, clip, shared_model_path, "--realtime")


# --- headless on a benchmark clip -----------------------------------------------------------

@pytest.mark.model
def test_headless_every_frame_agrees_with_analyze_and_truth(live_every_frame, analyzed, truth):
    proc, out = live_every_frame
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_clean(proc)
    assert {p.name for p in out.iterdir()} >= {"result.json", "angles.csv", "landmarks.npz", "angles.png"}
    result = json.loads((out / "result.json").read_text())
    assert_peaks_close(peaks(result), analyzed, TOL_ANALYZE_DEG, "live vs analyze")
    assert_peaks_close(peaks(result), truth, TOL_TRUTH_DEG, "live vs truth")
    assert result["config"]["model"]["max_people"] == 1  # live mode's speed setting, on record
    series = load_series(out / "landmarks.npz")
    assert series.n_frames == 261                        # every frame, at the clip's own times
    assert series.time_s[1] == pytest.approx(1 / 30, abs=1e-3)
    assert series.frame_size_px == (360, 640)            # processed at 640 px on the long side
    assert series.capture.live.frames_dropped == 0
    lines = [ln for ln in proc.stdout.splitlines() if " s REC " in ln]
    assert 16 <= len(lines) <= 19                       # one line per 0.5 s of the 8.7 s clip
    assert "hold still" in lines[0] and "Turn the RIGHT foot OUT" in proc.stdout
    assert "Turn the RIGHT foot IN" in proc.stdout
    assert "R  +40°" in proc.stdout or "R  +39°" in proc.stdout   # the IR hold, as displayed
    assert "live: 261 frames shown" in proc.stderr and "every frame processed" in proc.stderr


@pytest.mark.model
def test_headless_realtime_drops_frames_but_agrees(live_realtime, analyzed, truth):
    proc, out = live_realtime
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_clean(proc)
    result = json.loads((out / "result.json").read_text())
    assert_peaks_close(peaks(result), analyzed, TOL_REALTIME_DEG, "live --realtime vs analyze")
    assert_peaks_close(peaks(result), truth, TOL_TRUTH_DEG, "live --realtime vs truth")
    series = load_series(out / "landmarks.npz")
    dropped = series.capture.live.frames_dropped
    assert series.n_frames + dropped == 261, "each frame is either processed or dropped"
    # presentation times are kept, so a dropped frame leaves a gap instead of shifting time
    assert np.allclose(series.time_s * 30, series.frame_index, atol=0.05)
    assert "fps; capture→display latency median" in proc.stderr


# --- faults ---------------------------------------------------------------------------------

def test_no_camera_lists_what_was_tried(tmp_path: Path):
    if Path("/dev/video7").exists():
        pytest.skip("this machine has a /dev/video7")
    proc = run_cli("--camera", "7", "--headless", model=None, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_clean(proc)
    err = " ".join(proc.stderr.split())
    assert err.startswith("error: camera 7: no camera could be opened")
    assert "Tried: camera 7 with" in err and "default backend" in err
    assert "Video devices on this machine:" in err and "--source clip.mp4" in err
    assert list(tmp_path.glob("hiprom_live_*")) == []


def test_stream_that_cannot_be_opened(tmp_path: Path):
    with socket.socket() as sock:                       # a local port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run_cli("--source", f"http://127.0.0.1:{port}/cam.mjpg", "--headless", model=None, cwd=tmp_path,
                   timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_clean(proc)
    assert f"stream http://127.0.0.1:{port}/cam.mjpg: cannot be opened" in " ".join(proc.stderr.split())


def test_window_without_display_is_a_clean_error(tmp_path: Path):
    proc = run_cli("--camera", "7", model=None, cwd=tmp_path, timeout=120)   # no --headless, no DISPLAY
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_clean(proc)
    assert "no display to show the live window on" in proc.stderr and "--headless" in proc.stderr


def test_missing_source_and_existing_output(tmp_path: Path):
    proc = run_cli("--source", tmp_path / "nope.mp4", "--headless", model=None, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1 and "nope.mp4" in proc.stderr and "does not exist" in proc.stderr
    assert_clean(proc)
    (tmp_path / "taken").mkdir()
    proc = run_cli("--camera", "7", "--headless", "--out", tmp_path / "taken", model=None, cwd=tmp_path,
                   timeout=120)
    assert proc.returncode == 1 and "already exists" in proc.stderr   # refused before the camera
    assert_clean(proc)


class StandInCamera:
    """Plays a clip like a webcam (one frame every 1/fps s), then stops: unplugged."""

    def __init__(self, clip: Path, frames: int, fps: float = 30.0):
        self._cap, self._left, self._period, self._next = cv2.VideoCapture(str(clip)), frames, 1 / fps, None

    def read(self):
        now = time.perf_counter()
        self._next = now if self._next is None else self._next + self._period
        time.sleep(max(0.0, self._next - now))
        if self._left <= 0:
            return False, None
        self._left -= 1
        return self._cap.read()

    def get(self, prop: int) -> float:
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self._cap.release()


@pytest.mark.model
def test_camera_unplugged_mid_measurement_saves(tmp_path: Path, clip: Path, shared_model_path: Path,
                                                monkeypatch, truth):
    camera = StandInCamera(clip, frames=165)            # 5.5 s: rest, IR hold, back; then gone
    monkeypatch.setattr(live_mod, "open_camera", lambda index: (camera, None))
    lines, messages = [], []
    config = Config().with_overrides({"model.path": str(shared_model_path)})
    report = run_live(LiveOptions(camera=0, headless=True, draw=True, out=tmp_path / "cam"), config,
                      emit=lines.append, notify=messages.append)
    assert report.ended == "the camera stopped delivering frames (unplugged?)"
    assert any(m.startswith("The source ended during the measurement (the camera stopped") for m in messages)
    assert report.saved == [tmp_path / "cam"]
    right = json.loads((tmp_path / "cam" / "result.json").read_text())["sides"]["right"]
    assert right["peak_ir_deg"] == pytest.approx(truth[("right", "peak_ir_deg")], abs=TOL_TRUTH_DEG)
    assert report.stats.grabbed == 165 and len(report.stats.shown_at) + report.stats.dropped == 165
    series = load_series(tmp_path / "cam" / "landmarks.npz")
    assert series.time_s[0] == 0.0 and series.duration_s == pytest.approx(5.5, abs=0.5)   # capture times
    assert lines and all(" s REC " in ln for ln in lines)


@pytest.mark.model
def test_duration_stops_and_saves(tmp_path: Path, clip: Path, shared_model_path: Path, monkeypatch):
    camera = StandInCamera(clip, frames=200)
    monkeypatch.setattr(live_mod, "open_camera", lambda index: (camera, None))
    config = Config().with_overrides({"model.path": str(shared_model_path)})
    report = run_live(LiveOptions(headless=True, duration_s=2.0, out=tmp_path / "d"), config,
                      emit=lambda line: None, notify=lambda msg: None)
    assert report.ended == "the 2 s duration was reached"
    series = load_series(tmp_path / "d" / "landmarks.npz")
    assert 1.5 <= series.duration_s < 2.0 and report.stats.grabbed < 200


@pytest.mark.model
def test_ctrl_c_saves_like_q(tmp_path: Path, clip: Path, shared_model_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    env.update(HIPROM_MODEL=str(shared_model_path), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "hiprom", "live", "--headless", "--realtime", "--source", str(clip),
           "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = [proc.stdout.readline() for _ in range(6)]          # 3 s of readings (0.5 s apart)
    assert all(" s REC " in ln for ln in seen), seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert "Session ended: interrupted (Ctrl-C)" in err and "Saved the measurement" in err
    assert (tmp_path / "out" / "result.json").is_file()


@pytest.mark.model
def test_person_leaving_the_frame(tmp_path: Path, clip: Path, shared_model_path: Path):
    frames = read_bgr_frames(clip, 150)                  # 5 s; the clip then ends mid-measurement
    for i in range(40, 76):                              # 1.33-2.5 s: nobody (an empty grey room)
        frames[i] = np.full_like(frames[i], 128)
    path = write_mp4(tmp_path / "leaves.mp4", frames)
    proc = run_cli("--headless", "--source", path, "--out", tmp_path / "out", model=shared_model_path,
                   cwd=tmp_path)
    assert_clean(proc)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if " s REC " in ln]
    gone = [ln for ln in lines if 1.4 <= float(ln.split()[0]) <= 2.4]
    assert gone and all("[red: no person]" in ln and "No person in view" in ln for ln in gone), proc.stdout
    assert "The source ended during the measurement (end of the clip)" in proc.stderr


# --- the parts, without the model ------------------------------------------------------------

def test_latest_frame_box_drops_instead_of_queueing():
    box = LatestFrame()
    grabs = [Grab(i, i / 30, float(i), np.zeros((2, 2, 3), np.uint8)) for i in range(3)]
    for g in grabs:
        assert box.put(g)
    assert box.dropped == 2 and box.get(0).index == 2 and box.get(0) is None
    # waiting mode: the producer blocks until the slot is taken (nothing dropped)
    box2, order = LatestFrame(), []
    box2.put(grabs[0])
    producer = threading.Thread(target=lambda: order.append(box2.put(grabs[1], wait=True)))
    producer.start()
    time.sleep(0.2)
    assert order == [] and box2.get(0).index == 0
    producer.join(2)
    assert order == [True] and box2.get(0).index == 1 and box2.dropped == 0
    box2.close()
    assert box2.get(0) is None and not box2.put(grabs[2])


def test_options_validated():
    with pytest.raises(ConfigError, match="--duration must be a positive number of seconds, got 0"):
        LiveOptions(duration_s=0)
    with pytest.raises(ConfigError, match="--camera must be 0 or more"):
        LiveOptions(camera=-1)
    with pytest.raises(ConfigError, match="--max-side"):
        LiveOptions(max_side_px=100)
    with pytest.raises(ConfigError, match="--max-people must be between 1 and 5, got 0"):
        LiveOptions(max_people=0)
    assert LiveOptions(source="rtsp://example/cam").kind == "stream"
    assert LiveOptions().name == "camera 0" and LiveOptions(source="a.mp4").kind == "file"


def candidate(right_deg: float, left_deg: float, roll_deg: float = 0.0, vis: float = 1.0) -> PoseCandidate:
    """A seated person seen from the front (left hip on the image right), shanks 200 px long."""
    p = np.zeros((33, 3))
    p[:, :2] = (360, 400)
    pts = {LM.LEFT_HIP: (410, 600), LM.RIGHT_HIP: (310, 600), LM.LEFT_KNEE: (420, 620), LM.RIGHT_KNEE: (300, 620)}
    for i, xy in pts.items():
        p[i, :2] = xy
    # lateral is image-right for the left leg and image-left for the right leg (front view)
    for knee, ankle, deg, lateral_x in ((LM.RIGHT_KNEE, LM.RIGHT_ANKLE, right_deg, -1), (LM.LEFT_KNEE, LM.LEFT_ANKLE,
                                                                                       left_deg, 1)):
        a = math.radians(deg)
        p[ankle, :2] = p[knee, :2] + 200 * np.array([lateral_x * math.sin(a), math.cos(a)])
    r = math.radians(roll_deg)                     # the scene turned clockwise on screen
    rot = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    p[:, :2] = (p[:, :2] - (360, 640)) @ rot.T + (360, 640)
    visibility = np.full(33, vis)
    return PoseCandidate(p, visibility, visibility.copy(), np.zeros((33, 3)))


@pytest.mark.parametrize("roll", [0.0, 5.0, -4.0])
def test_live_angles_signs_and_roll(roll):
    reader = LiveAngles(Config(), (720, 1280))
    for i in range(10):
        reading = reader.update([candidate(30.0, -10.0, roll)], i / 30)
    assert reading.roll_deg == pytest.approx(roll, abs=1e-6)
    assert reading.raw_deg == pytest.approx({"right": 30.0, "left": -10.0}, abs=1e-6)
    assert reading.angle_deg == pytest.approx({"right": 30.0, "left": -10.0}, abs=1e-6)
    assert reading.left_is_image_right and reading.quality.colour == ("amber" if abs(roll) > 3 else "green")


def test_live_angles_silhouette_hidden_legs_and_nobody():
    cand = candidate(20.0, 0.0)
    # the right shank's outline runs at 24° (its run middles on every slice), the landmarks say 20°
    points = np.full((2, 24, 2), np.nan)
    knee = cand.image_px[LM.RIGHT_KNEE, :2]
    length = float(np.linalg.norm(cand.image_px[LM.RIGHT_ANKLE, :2] - knee))
    axis = np.array([-math.sin(math.radians(24)), math.cos(math.radians(24))])
    points[1] = knee + np.linspace(0.0, 1.0, 24)[:, None] * length * axis
    empty = ShankLines.empty(1)
    cand = dataclasses.replace(cand, shank=dataclasses.replace(empty, points_px=points[None]))
    reader = LiveAngles(Config(), (720, 1280))
    reading = reader.update([cand], 0.0)
    assert reading.raw_deg["right"] == pytest.approx(24.0)     # the silhouette's axis wins
    assert reading.raw_deg["left"] == pytest.approx(0.0)       # no outline: the landmarks
    hidden = reader.update([candidate(20.0, 0.0, vis=0.2)], 0.033)
    assert math.isnan(hidden.raw_deg["right"]) and hidden.quality.text.startswith("legs not visible")
    nobody = reader.update([], 0.066)
    assert nobody.person is None and nobody.quality.text == "no person" and nobody.quality.colour == "red"


def test_live_angles_picks_the_seated_person_and_keeps_them():
    seated = candidate(10.0, 0.0)
    standing = candidate(0.0, 0.0)
    p = standing.image_px
    p[:, 0] += 250                                         # beside the subject...
    for knee, hip in ((LM.LEFT_KNEE, LM.LEFT_HIP), (LM.RIGHT_KNEE, LM.RIGHT_HIP)):
        p[knee, 1] = p[hip, 1] + 200                       # ...with the thighs hanging: standing
    for ankle, knee in ((LM.LEFT_ANKLE, LM.LEFT_KNEE), (LM.RIGHT_ANKLE, LM.RIGHT_KNEE)):
        p[ankle, 1] = p[knee, 1] + 200
    reader = LiveAngles(Config(), (720, 1280))
    assert reader.update([standing, seated], 0.0).person is seated
    assert reader.update([standing, candidate(12.0, 0.0)], 0.033).raw_deg["right"] == pytest.approx(12.0)


def test_overlay_and_headless_line():
    reader = LiveAngles(Config(), (720, 1280))
    reading = reader.update([candidate(38.0, -2.0)], 2.5)
    pk = Peaks()
    pk.update({"right": 38.0, "left": -2.0})
    state = OverlayState(reading, Prompt(Step.ROTATE, "Turn the RIGHT foot OUT", "right", "ir"), pk, True,
                         mirror=True, note="saved", stats="30 fps 50 ms")
    rgb = np.zeros((1280, 720, 3), np.uint8)
    rgb[:, :360] = (200, 0, 0)                                     # left half red (RGB)
    img = draw_overlay(rgb, state)
    assert img.shape == (1280, 720, 3)
    assert tuple(img[700, 700]) == (0, 0, 200)                     # mirrored: red on the right (BGR)
    assert tuple(img[700, 20]) == (0, 0, 0)
    line = headless_line(state)
    assert line.startswith("   2.50 s REC R  +38° (IR 38 ER --)  L   -2° (IR -- ER  2)")
    assert line.endswith("[green: good]  Turn the RIGHT foot OUT")


def test_stats_summary():
    stats = LiveStats(grabbed=10, dropped=2)
    for i in range(8):
        stats.add(i * 0.04 - 0.001 * i, i * 0.04 + 0.05)
    assert stats.fps == pytest.approx(25.0)
    assert stats.latency_ms(50) == pytest.approx(53.5)
    assert stats.summary() == ("live: 8 frames shown at 25.0 fps; capture→display latency median 54 ms, "
                               "p95 57 ms; 2 of 10 frames dropped (20%)")
    assert stats.recent(3) == "25 fps 56 ms"        # the last 3 frames: latency 55, 56, 57 ms
