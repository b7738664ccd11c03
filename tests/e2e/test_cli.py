"""The ``hiprom`` command line with the pose model, run as a user runs it: in a subprocess.

Bad input found while analysing must give one clear message that names the file, a non-zero
exit code, no Python traceback and no output folder. ``hiprom analyze`` on the sample clip runs
once for real (``sample_cli_run`` in conftest.py) and its output folder, JSON and landmarks are
checked here; tests of the output folder alone re-analyse cached landmarks (``--from-landmarks``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLES
from helpers.cli import assert_clean_failure, closed_port, listing, run_cli
from helpers.videos import read_bgr_frames, write_mp4

from hiprom.errors import InputError
from hiprom.io.landmarks_npz import load_series

SAMPLE = SAMPLES / "seated_ir_right.mp4"
SIDES = ("left", "right")

pytestmark = pytest.mark.model


BENCH_CLIP = "b01_man_front_R40.mp4"  # any bench clip with a person in it


@pytest.fixture
def model_env(shared_model_path: Path) -> dict[str, str]:
    return {"HIPROM_MODEL": str(shared_model_path)}


@pytest.fixture
def bench_clip(shared_dir: Path) -> Path:
    path = shared_dir / "bench" / "synthetic" / "clips" / BENCH_CLIP
    assert path.is_file(), f"{path} is missing from the shared bench set"
    return path


@pytest.mark.model
def test_truncated_mp4(tmp_path: Path, model_env, bench_clip: Path) -> None:
    data = bench_clip.read_bytes()
    bad = tmp_path / "half.mp4"
    bad.write_bytes(data[: len(data) // 2])
    before = listing(tmp_path)
    err = assert_clean_failure(run_cli("analyze", bad, env=model_env, cwd=tmp_path),
                               code=InputError.exit_code)
    assert str(bad) in err and "truncated" in err, err
    assert listing(tmp_path) == before


@pytest.mark.model
def test_clip_without_a_person(tmp_path: Path, model_env) -> None:
    rng = np.random.default_rng(1)
    grey = [np.clip(128 + rng.normal(0, 12, (360, 640, 3)), 0, 255).astype(np.uint8)
            for _ in range(90)]  # 3 s of grey noise
    bad = write_mp4(tmp_path / "nobody.mp4", grey)
    before = listing(tmp_path)
    err = assert_clean_failure(run_cli("analyze", bad, env=model_env, cwd=tmp_path))
    assert str(bad) in err and "no person" in err, err
    assert listing(tmp_path) == before


@pytest.mark.model
def test_clip_too_short_for_a_rest_phase(tmp_path: Path, model_env, bench_clip: Path) -> None:
    bad = write_mp4(tmp_path / "short.mp4", read_bgr_frames(bench_clip, 8))
    before = listing(tmp_path)
    err = assert_clean_failure(run_cli("analyze", bad, env=model_env, cwd=tmp_path))
    assert str(bad) in err and "rest" in err, err
    assert listing(tmp_path) == before


# --- a photo ---------------------------------------------------------------------------------

#: A still at end range from the shared bench set: right leg IR 45°, left leg at rest.
PHOTO = "s01_man_front_R45"
#: As every clip peak in tests/e2e/test_end_to_end.py (stills measure 0.48° MAE, max 2°).
TOL_DEG = 4.0


@pytest.mark.model
def test_a_photo(tmp_path: Path, model_env, shared_dir: Path) -> None:
    """``hiprom analyze photo.png``: the one-frame path, against the still's rendered truth."""
    bench = shared_dir / "bench" / "synthetic"
    truth = json.loads((bench / "gt.json").read_text())["stills"][PHOTO]
    proc = run_cli("analyze", bench / truth["file"], "--json", "--out", tmp_path / "out", env=model_env,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["input"]["kind"] == "image"
    right, left = data["sides"]["right"], data["sides"]["left"]
    assert right["tested"] and abs(right["peak_ir_deg"] - truth["right_ir_deg"]) <= TOL_DEG, right
    assert not left["tested"] and truth["left_ir_deg"] == 0
    assert {"result.json", "angles.csv", "landmarks.npz", "angles.png"} <= listing(tmp_path / "out")


# --- the output folder -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_output(sample_cli_run) -> Path:
    """``hiprom analyze samples/seated_ir_right.mp4 --out <tmp>/out --json``."""
    proc, out = sample_cli_run
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.model
def test_force_replaces_the_output_folder(tmp_path: Path, model_env, landmarks) -> None:
    clip = Path(shutil.copy(landmarks.npz(SAMPLE), tmp_path / "clip.npz"))
    out = tmp_path / "clip_reanalysed_hiprom"  # the default output folder of --from-landmarks clip.npz
    out.mkdir()
    (out / "result.json").write_text('{"schema": "hiprom.result", "old": true}\n')  # a previous output
    (out / "report.html").write_text("old\n")
    proc = run_cli("analyze", clip, "--from-landmarks", "--force", "--quiet", env=model_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert listing(out) == {"result.json", "angles.csv", "landmarks.npz", "angles.png"}
    assert "old" not in json.loads((out / "result.json").read_text())
    assert listing(tmp_path) == {"clip.npz", "clip_reanalysed_hiprom"}, "temp folders left behind"


@pytest.mark.model
def test_json_output(sample_cli_run) -> None:
    proc, out = sample_cli_run
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # stdout is the JSON and nothing else
    peak = data["sides"]["right"]["peak_ir_deg"]
    assert isinstance(peak, (int, float)) and not isinstance(peak, bool)
    assert data["schema"] == "hiprom.result"
    assert json.loads((out / "result.json").read_text())["sides"] == data["sides"]


def test_output_folder(cli_output: Path) -> None:
    import pandas as pd

    assert sorted(p.name for p in cli_output.iterdir()) == [
        "angles.csv", "angles.png", "landmarks.npz", "result.json"]
    result = json.loads((cli_output / "result.json").read_text())
    assert result["schema"] == "hiprom.result"
    assert result["schema_version"] == 1
    frames = result["input"]["frames"]
    assert frames == 216  # samples/gt.json frame_count of seated_ir_right
    for side in SIDES:
        s = result["sides"][side]
        assert {"peak_ir_deg", "peak_er_deg", "tested"} <= set(s)
        for key in ("peak_ir_deg", "peak_er_deg"):
            if s["tested"]:
                assert isinstance(s[key], (int, float)), (side, key, s[key])
            else:
                assert s[key] is None, (side, key, s[key])
    assert result["sides"]["right"]["tested"] and not result["sides"]["left"]["tested"]

    table = pd.read_csv(cli_output / "angles.csv")
    assert list(table.columns) == ["frame", "time_s"] + [           # the subject's right first
        f"{side}_{what}" for side in ("right", "left") for what in ("raw_deg", "deg", "visibility", "used")]
    assert len(table) == frames
    assert table["frame"].tolist() == list(range(frames))

    png = (cli_output / "angles.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000

    series = load_series(cli_output / "landmarks.npz")
    assert series.n_frames == frames
    assert series.frame_size_px == (540, 960)


def test_from_landmarks_needs_no_model(cli_output: Path, tmp_path: Path) -> None:
    port = closed_port()  # a port nobody listens on: no download can succeed
    env = {"HIPROM_MODEL": str(tmp_path / "no-such-model.task"),
           "HIPROM_CACHE_DIR": str(tmp_path / "cache"),
           "HIPROM_MODEL_URL": f"http://127.0.0.1:{port}/x.task"}
    out = tmp_path / "again"
    proc = run_cli("analyze", cli_output / "landmarks.npz", "--from-landmarks", "--json",
                   "--out", out, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    first = json.loads((cli_output / "result.json").read_text())
    for side in SIDES:
        for key in ("peak_ir_deg", "peak_er_deg"):
            a, b = first["sides"][side][key], again["sides"][side][key]
            assert (a is None) == (b is None), (side, key, a, b)
            if a is not None:
                assert abs(a - b) <= 0.01, (side, key, a, b)
    assert (out / "result.json").is_file()


def test_live_refuses_a_truncated_file_as_analyze_does(tmp_path, shared_model_path):
    half = tmp_path / "half.mp4"
    data = SAMPLE.read_bytes()
    half.write_bytes(data[: len(data) // 2])                      # index first: half the frames decode
    env = {"HIPROM_MODEL": str(shared_model_path)}
    analyzed = run_cli("analyze", half, "--out", tmp_path / "a", "-q", env=env)
    live = run_cli("live", "--source", half, "--headless", "--out", tmp_path / "l", env=env)
    assert analyzed.returncode == live.returncode == 1
    refusal = analyzed.stderr.splitlines()[0]
    assert refusal.startswith(f"error: {half}: is truncated: only ") and refusal in live.stderr.splitlines()
    assert "Not saved: is truncated" in live.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "l").exists()
