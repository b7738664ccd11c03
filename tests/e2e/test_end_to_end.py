"""End to end with the real pose model: rendered clips with exact truth, the repo's samples,
real third-party footage, rotation metadata and mirroring (the CLI's output folder and
``--from-landmarks``: tests/e2e/test_cli.py).

Data and model come from the shared folder (``shared_dir`` / ``shared_model_path``: skipped
outside CI when missing, a failure in CI). Each clip is detected once per run (``landmarks``,
tests/e2e/conftest.py); re-analyses with other settings reuse its landmarks.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, SAMPLES
from helpers.cli import run_cli
from helpers.mp4util import set_display_rotation

import hiprom
from hiprom.config import Config
from hiprom.core.landmarks import LM
from hiprom.errors import NoTestError

#: Largest accepted difference (degrees) between a measured peak and the rendered truth.
#: A goniometer in a clinician's hands is good to about ±5° (see the shared clinical notes);
#: on clean renders hiprom should do better than that, so 4° is the bar for every peak.
TOL_DEG = 4.0

#: Mirroring must cost almost nothing: the same clip flipped and analysed with
#: ``video.mirrored = true`` gives the same right-leg peak within this (degrees).
MIRROR_TOL_DEG = 1.5

SIDES = ("left", "right")

pytestmark = pytest.mark.model


def _shared_guess() -> Path:
    """Where ``shared_dir`` will look (only to list the test cases at collection time)."""
    return Path(os.environ.get("HIPROM_SHARED") or REPO.parent / "shared").expanduser()


def _clip_names(gt: Path) -> list[str]:
    try:
        return sorted(json.loads(gt.read_text())["clips"])
    except (OSError, ValueError, KeyError):
        return ["<bench set missing>"]  # the test then skips / fails through shared_dir


BENCH_NAMES = _clip_names(_shared_guess() / "bench" / "synthetic" / "gt.json")
SAMPLE_NAMES = sorted(json.loads((SAMPLES / "gt.json").read_text())["clips"])


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench_dir(shared_dir: Path) -> Path:
    return shared_dir / "bench" / "synthetic"


@pytest.fixture(scope="module")
def bench_gt(bench_dir: Path) -> dict:
    return json.loads((bench_dir / "gt.json").read_text())["clips"]


@pytest.fixture(scope="module")
def bench_result(bench_dir: Path, bench_gt: dict, landmarks):
    """``bench_result(name)``: the analysis of one bench clip (detected once per run)."""

    def get(name: str) -> hiprom.AnalysisResult:
        return landmarks.analyze(bench_dir / bench_gt[name]["file"])

    return get


def peak_errors(result, summary: dict) -> list[str]:
    """Every way ``result`` disagrees with a gt.json ``summary`` (empty = agrees)."""
    problems = []
    for side in SIDES:
        truth, got = summary[side], result.sides[side]
        if got.tested != truth["tested"]:
            problems.append(f"{side}: tested={got.tested}, truth tested={truth['tested']}")
            continue
        if not truth["tested"]:
            continue
        checks = [("peak IR", got.peak_ir_deg, truth["peak_ir_deg"])]
        if truth["peak_er_deg"] is not None:  # gt: ER negative; hiprom: ER positive
            checks.append(("peak ER", got.peak_er_deg, -truth["peak_er_deg"]))
        elif got.peak_er_deg is not None and got.peak_er_deg > TOL_DEG:  # truth: no ER at all
            problems.append(f"{side} peak ER: measured {got.peak_er_deg:.1f}, truth: no ER")
        for what, measured, true in checks:
            if measured is None:
                problems.append(f"{side} {what}: not measured, truth {true:.1f}")
            elif abs(measured - true) > TOL_DEG:
                problems.append(f"{side} {what}: measured {measured:.1f}, truth {true:.1f} "
                                f"(off by {measured - true:+.1f} > {TOL_DEG})")
    return problems


# --- accuracy against rendered truth ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("name", BENCH_NAMES)
def test_bench_clip_peaks(name: str, bench_gt: dict, bench_result) -> None:
    assert name in bench_gt, f"{name} not in gt.json"
    problems = peak_errors(bench_result(name), bench_gt[name]["summary"])
    assert not problems, f"{name}: " + "; ".join(problems)


#: The part of the benchmark held back from the method's one fitted choice (the silhouette
#: band, :data:`hiprom.geometry.shank.BAND`, chosen on the adult man's clips only).
HELD_OUT_BODY = "adult_woman"


def peak_table(results: dict, bench_gt: dict, config: Config | None = None) -> list[dict]:
    """One row per measured peak: clip, body, condition, error (measured - true), degrees.

    With ``config`` the clips are re-analysed from their landmarks with those settings (no
    new detection), e.g. to score the naive method on the same frames.
    """
    rows = []
    for name, result in results.items():
        rec = bench_gt[name]
        if config is not None:
            result = hiprom.analyze_landmarks(result.series, config)
        cam = rec["camera"]
        group = ("shake" if rec.get("shake") else "yaw" if cam["yaw_deg"] else "roll" if cam["roll_deg"]
                 else "high/low" if cam["height"] else "far" if cam["distance"] >= 3.5 else "front")
        for side in SIDES:
            truth = rec["summary"][side]
            if not truth["tested"]:
                continue
            pairs = [(result.sides[side].peak_ir_deg, truth["peak_ir_deg"])]
            if truth["peak_er_deg"] is not None:
                pairs.append((result.sides[side].peak_er_deg, -truth["peak_er_deg"]))
            for measured, true in pairs:
                rows.append({"clip": name, "body": rec["body_name"], "group": group,
                             "error": measured - true})
    return rows


@pytest.mark.slow
@pytest.mark.shared
def test_accuracy_goals_on_the_held_out_body_and_every_condition(bench_gt: dict, bench_result) -> None:
    # Issue goal: MAE <= 2 deg and bias within +-1 deg on unseen clips. Measured with this
    # method (python benchmarks/accuracy.py): all 33 peaks MAE 0.24, bias -0.03, max 1.07;
    # held-out body MAE 0.27, bias -0.12, max 1.07. The bounds leave room for model/codec drift.
    results = {name: bench_result(name) for name in bench_gt}
    rows = peak_table(results, bench_gt)
    errors = np.array([r["error"] for r in rows])
    held = np.array([r["error"] for r in rows if r["body"] == HELD_OUT_BODY])
    assert len(errors) == 33 and len(held) >= 12
    assert np.abs(errors).mean() <= 0.7 and abs(errors.mean()) <= 0.5 and np.abs(errors).max() <= 2.0
    assert np.abs(held).mean() <= 0.8 and abs(held.mean()) <= 0.6 and np.abs(held).max() <= 2.0
    for group in {r["group"] for r in rows}:
        e = np.array([r["error"] for r in rows if r["group"] == group])
        assert np.abs(e).mean() <= 1.2, f"{group}: MAE {np.abs(e).mean():.2f}"


@pytest.mark.slow
@pytest.mark.shared
def test_improvement_over_the_plain_landmark_angle_holds_on_the_held_out_body(bench_gt: dict, bench_result) -> None:
    # The plain knee->ankle landmark angle on the same frames reads ~2.9 deg low on average;
    # the method must stay several times better on the body it was not tuned on.
    results = {name: bench_result(name) for name in bench_gt if bench_gt[name]["body_name"] == HELD_OUT_BODY}
    naive = Config().with_overrides({"geometry.silhouette": False, "geometry.perspective": False})
    ours = np.abs([r["error"] for r in peak_table(results, bench_gt)]).mean()
    plain = np.abs([r["error"] for r in peak_table(results, bench_gt, naive)]).mean()
    assert plain >= 2.0, f"plain landmark angle MAE {plain:.2f}"
    assert ours <= plain / 3, f"method {ours:.2f} vs plain {plain:.2f}"


@pytest.mark.slow
@pytest.mark.shared
def test_a_still_leg_shows_little_false_motion(bench_gt: dict, bench_result) -> None:
    # Issue goal: <= 0.5 deg. Measured: mean 0.42, max 0.63 over the 15 legs that never move
    # (largest deviation of the filtered angle from its median).
    motion = []
    for name, rec in bench_gt.items():
        result = bench_result(name)
        for side in SIDES:
            if not rec["summary"][side]["tested"]:
                a = result.measurement.angles[side].filtered_deg
                a = a[np.isfinite(a)]
                motion.append(float(np.max(np.abs(a - np.median(a)))))
    assert len(motion) == 15
    assert np.mean(motion) <= 0.6 and np.max(motion) <= 1.0, f"mean {np.mean(motion):.2f} max {np.max(motion):.2f}"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_clip_peaks(name: str, landmarks) -> None:
    gt = json.loads((SAMPLES / "gt.json").read_text())["clips"][name]
    clip = SAMPLES / Path(gt["file"]).name
    result = landmarks.analyze(clip)
    assert result.series.n_frames == gt["frame_count"]
    problems = peak_errors(result, gt["summary"])
    assert not problems, f"{name}: " + "; ".join(problems)


# --- real footage ---------------------------------------------------------------------------

def provenance_frame_counts(real_dir: Path) -> dict[str, int]:
    """``file -> frames`` from the table in PROVENANCE.md (``size · fps · frames · codec``)."""
    counts = {}
    for line in (real_dir / "PROVENANCE.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].endswith(".mp4"):
            counts[cells[0]] = int(cells[-1].split("·")[2].strip())
    return counts


#: Real clip -> (first, last) frame in which the subject is wholly or mostly in the picture,
#: found by looking at the frames. The detection rate is judged over these frames only:
#: the runner and the walker leave the picture (nobody there to find), and the walker is
#: only a sliver at the right edge in frames 0-31. In the others the subject (the man on
#: the box in the Sports2D demo) is in view throughout.
REAL_CLIPS = {
    "pose2sim_balance_cam01_1080x1920_60fps.mp4": (0, 99),
    "pose2sim_balance_cam03_1088x1920_60fps.mp4": (0, 99),
    # the man jumps on a box until frame ~168, then leaps off and lands 2-3 body sizes away;
    # the box part is the subject (followed in a box around him, the leap may join his track)
    "sports2d_demo_vp9_1768x994_30fps.mp4": (6, 168),
    "sports2d_run_side_480x352_29.97fps.mp4": (0, 32),  # out of the picture from frame 33
    "sports2d_walk_side_1280x720_30fps.mp4": (32, 343),  # gone from frame 344 to the end
}

#: How each real clip is refused (none holds the seated test): the start of the message (or
#: of one of the messages given).
REAL_REFUSALS = {
    "pose2sim_balance_cam01_1080x1920_60fps.mp4": "no seated test found: nobody sits: the thighs are upright",
    "pose2sim_balance_cam03_1088x1920_60fps.mp4": "no seated test found: nobody sits: the thighs are upright",
    # both are true of this clip: which is said first depends on whether the leap off the box
    # (about 1.8 m) is in the subject's track
    "sports2d_demo_vp9_1768x994_30fps.mp4": ("no seated test found: nobody sits: the thighs are upright",
                                             "no seated test found: nobody sits still: the hips move about 1."),
    "sports2d_run_side_480x352_29.97fps.mp4": "no seated test found: nobody sits still: the hips move about",
    "sports2d_walk_side_1280x720_30fps.mp4": "no seated test found: nobody sits still: the hips move about",
}

#: Share of the in-view frames in which the subject must be found.
MIN_FOUND = 0.8


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(REAL_CLIPS))
def test_real_clip(name: str, shared_dir: Path, config: Config, model, landmarks) -> None:
    real = shared_dir / "samples" / "real"
    counts = provenance_frame_counts(real)
    assert sorted(counts) == sorted(REAL_CLIPS), "PROVENANCE.md lists other clips"
    series, info = landmarks.detect(real / name)
    assert series.n_frames == counts[name], "not every frame was decoded"
    np.testing.assert_array_equal(series.frame_index, np.arange(counts[name]))
    assert np.all(np.diff(series.time_s) > 0)
    assert series.frame_size_px == (info.width_px, info.height_px)
    first, last = REAL_CLIPS[name]
    found = float(series.detected[first:last + 1].mean())
    assert found > MIN_FOUND, (
        f"the subject was found in only {found:.0%} of frames {first}-{last}, where they are "
        f"in view ({series.person.reason if series.person else ''})")
    # Not a seated test (walking, running, balance and lunges, jumping jacks): refused, with what was seen
    with pytest.raises(NoTestError) as err:
        hiprom.analyze_landmarks(series, config, source_info=info, model=model)
    assert err.value.what.startswith(REAL_REFUSALS[name]), err.value.what   # a str or a tuple of them
    assert err.value.verdicts == {"right": "not_a_seated_test", "left": "not_a_seated_test"}


@pytest.mark.shared
def test_rotation_metadata_gives_upright_frames(tmp_path: Path, shared_dir: Path, landmarks) -> None:
    """Portrait pixels stored turned 90° CCW (landscape) with a 90° display matrix, as a
    phone writes them, must come out 1080x1920 with the person upright."""
    import cv2

    src = shared_dir / "samples" / "real" / "pose2sim_balance_cam01_1080x1920_60fps.mp4"
    cap = cv2.VideoCapture(str(src))
    stored = tmp_path / "landscape.mp4"
    writer = cv2.VideoWriter(str(stored), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (1920, 1080))
    n = 0
    while n < 30:
        ok, bgr = cap.read()
        if not ok:
            break
        assert bgr.shape[:2] == (1920, 1080)
        writer.write(np.ascontiguousarray(np.rot90(bgr, k=1)))  # turned 90° counter-clockwise
        n += 1
    cap.release()
    writer.release()
    assert n == 30
    clip = set_display_rotation(stored, tmp_path / "portrait_rotated.mp4", 90)

    series, info = landmarks.detect(clip)
    assert info.rotation_deg == 90
    assert series.frame_size_px == (1080, 1920)
    assert series.n_frames == 30
    y = series.image_px[:, :, 1]
    hip = (y[:, LM.LEFT_HIP] + y[:, LM.RIGHT_HIP]) / 2
    ankle = (y[:, LM.LEFT_ANKLE] + y[:, LM.RIGHT_ANKLE]) / 2
    upright = (y[:, LM.NOSE] < hip) & (hip < ankle)  # NaN (nobody found) compares False
    assert upright.mean() > 0.8, f"upright in only {upright.mean():.0%} of the frames"


@pytest.mark.slow
@pytest.mark.shared
def test_mirrored_clip(tmp_path: Path, bench_dir: Path, bench_result, config: Config, landmarks) -> None:
    """A selfie-style (left-right flipped) clip analysed with video.mirrored = true."""
    import cv2

    name = "b01_man_front_R40"
    cap = cv2.VideoCapture(str(bench_dir / "clips" / f"{name}.mp4"))
    fps = cap.get(cv2.CAP_PROP_FPS)
    flipped = tmp_path / "mirrored.mp4"
    writer = None
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(flipped), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                     (bgr.shape[1], bgr.shape[0]))
        writer.write(cv2.flip(bgr, 1))
    cap.release()
    writer.release()

    plain = bench_result(name)
    mirrored = landmarks.analyze(flipped, config.with_overrides({"video.mirrored": True}))
    assert mirrored.source["mirrored"] is True
    assert mirrored.sides["right"].tested and not mirrored.sides["left"].tested
    diff = mirrored.sides["right"].peak_ir_deg - plain.sides["right"].peak_ir_deg
    assert abs(diff) <= MIRROR_TOL_DEG, (
        f"right peak IR {mirrored.sides['right'].peak_ir_deg:.2f} mirrored vs "
        f"{plain.sides['right'].peak_ir_deg:.2f} plain ({diff:+.2f})")


# --- clips with no test in them ---------------------------------------------------------

#: The realism set's clips tagged ``no_test`` and the refusal expected (``hiprom analyze``, exit 1).
NO_TEST_CLIPS = {
    "r09_man_still_no_test": "no seated test found: seated 0.0–5.0 s, but both legs stay within 1° of rest",
    "r10_woman_fidget_no_test": "no seated test found: seated 0.0–6.5 s, but both legs stay within 4° of rest",
}


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(NO_TEST_CLIPS))
def test_a_clip_with_no_test_is_refused(name: str, shared_dir: Path, shared_model_path: Path,
                                        tmp_path: Path) -> None:
    realism = shared_dir / "bench" / "realism"
    rec = json.loads((realism / "gt.json").read_text())["clips"][name]
    assert "no_test" in rec["tags"]
    clip = realism / rec["file"]
    proc = run_cli("analyze", clip, "--out", tmp_path / "out", "--quiet",
                   env={"HIPROM_MODEL": str(shared_model_path)}, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"{clip}: {NO_TEST_CLIPS[name]} (the test turns a leg 15–50°)" in proc.stderr
    assert "How to fix: film the seated test" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()                               # nothing written
