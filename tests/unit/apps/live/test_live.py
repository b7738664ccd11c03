"""``hiprom live`` without a camera or the model: faults the command reports cleanly, and the
pieces it is made of (the headless runs on a benchmark clip, with the model: tests/e2e/test_live.py).

The faults run the command in a subprocess, as a user runs it.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import assert_clean
from helpers.cli import run_live_cli as run_cli

from hiprom.apps.live.overlay import LiveStats, OverlayState, draw_overlay, headless_line
from hiprom.apps.live.protocol import LiveAngles, Peaks, Prompt, Step
from hiprom.apps.live.session import Grab, LatestFrame, LiveOptions
from hiprom.config import Config
from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM
from hiprom.errors import ConfigError
from hiprom.vision.pose import PoseCandidate

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
    assert proc.returncode == 2 and "already exists" in proc.stderr   # refused before the camera
    assert_clean(proc)


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
                         mirror=True, note="saved", stats="30 fps 50 ms", held={("right", "ir"): 37.6})
    rgb = np.zeros((1280, 720, 3), np.uint8)
    rgb[:, :360] = (200, 0, 0)                                     # left half red (RGB)
    img = draw_overlay(rgb, state)
    assert img.shape == (1280, 720, 3)
    assert tuple(img[700, 700]) == (0, 0, 200)                     # mirrored: red on the right (BGR)
    assert tuple(img[700, 20]) == (0, 0, 0)
    line = headless_line(state)
    assert line.startswith("   2.50 s REC R 38° IR (held IR 38 ER --; max IR 38 ER --)  "
                           "L  2° ER (held IR -- ER --; max IR -- ER --)")       # held: the hold's mean
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
