"""The annotated video, on real analyses: same frame count, size, frame rate and orientation as
the source; the overlay is drawn at the knees; face blurring changes the head and not the legs.

Needs the pose model (``shared_model_path``: skipped outside CI when missing, a failure in CI);
the 60 fps clip comes from the shared benchmark set. The analyses are the cached ones of the
run (``landmarks``, tests/e2e/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import SAMPLES
from helpers.mp4util import set_display_rotation

import hiprom
from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM
from hiprom.errors import InputError, OutputExistsError
from hiprom.outputs.annotate import write_annotated_video
from hiprom.outputs.privacy import head_box

SAMPLE = SAMPLES / "seated_ir_right.mp4"
BENCH_60FPS = "b15_man_60fps_R47.mp4"

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def sample_result(landmarks):
    return landmarks.analyze(SAMPLE)


@pytest.fixture(scope="module")
def plain_video(sample_result, tmp_path_factory) -> Path:
    return write_annotated_video(sample_result, SAMPLE, tmp_path_factory.mktemp("ann") / "annotated.mp4")


def probe(path: Path) -> dict:
    """What OpenCV reads back: declared fps/count/size/rotation and the decoded frame count."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    assert cap.isOpened(), path
    info = {"fps": cap.get(cv2.CAP_PROP_FPS), "declared": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            "size": (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))),
            "rotation": int(cap.get(cv2.CAP_PROP_ORIENTATION_META))}
    decoded = 0
    while cap.grab():
        decoded += 1
    cap.release()
    info["decoded"] = decoded
    return info


def frame_at(path: Path, index: int) -> np.ndarray:
    """RGB frame ``index`` (upright)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    for _ in range(index + 1):
        ok, bgr = cap.read()
        assert ok, f"{path}: no frame {index}"
    cap.release()
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def peak_row(result) -> int:
    """Row of the right leg's reported IR peak (the leg is well away from vertical there)."""
    return int(np.flatnonzero(result.series.frame_index == result.sides["right"].peak_ir_frame)[0])


def test_same_frames_size_and_rate_as_the_source(sample_result, plain_video: Path):
    src, out = probe(SAMPLE), probe(plain_video)
    assert src["size"] == (540, 960) and src["decoded"] == 216 and src["fps"] == 30.0
    assert out["size"] == src["size"]
    assert out["decoded"] == out["declared"] == src["decoded"]
    assert out["fps"] == pytest.approx(src["fps"], abs=1e-3)
    assert out["rotation"] == 0  # upright frames: no rotation metadata needed
    import av

    with av.open(str(plain_video)) as c:                  # H.264 4:2:0: browsers and phones play it
        ctx = c.streams.video[0].codec_context
        assert (ctx.name, ctx.pix_fmt) == ("h264", "yuv420p")
    assert sorted(p.name for p in plain_video.parent.iterdir()) == ["annotated.mp4"]  # no temp left


def test_overlay_is_drawn_at_the_knees_and_not_elsewhere(sample_result, plain_video: Path):
    row = peak_row(sample_result)
    index = int(sample_result.series.frame_index[row])
    src, out = frame_at(SAMPLE, index), frame_at(plain_video, index)
    # share of pixels changed strongly (not by re-encoding): lines are drawn in the knee's window
    strong = lambda window: float((np.abs(out[window].astype(int) - src[window]).max(axis=2) > 40).mean())
    for knee in (LM.RIGHT_KNEE, LM.LEFT_KNEE):
        x, y = (int(v) for v in sample_result.series.image_px[row, knee, :2])
        near_knee = (slice(y - 25, y + 60), slice(x - 40, x + 40))  # skeleton, shank line, vertical, arc
        assert strong(near_knee) > 0.08
    floor = (slice(850, 950), slice(200, 520))  # bottom of the frame, below the feet: only re-encoding
    assert strong(floor) == 0.0 and mad(out[floor], src[floor]) < 5


def test_frames_are_matched_by_index_and_frames_without_a_pose_get_no_overlay(
        sample_result, plain_video: Path, tmp_path: Path):
    full = sample_result.series
    series = full.select(full.frame_index >= 15)  # frames 0-14 are not in the analysis at all
    lost = np.isin(series.frame_index, [60, 61, 62])  # and no pose was found in frames 60-62
    nan = lambda a: np.where(lost.reshape((-1,) + (1,) * (a.ndim - 1)), np.nan, a)
    series = series.replace(image_px=nan(series.image_px), visibility=nan(series.visibility),
                            presence=nan(series.presence), world_m=nan(series.world_m),
                            shank_lines=ShankLines(*(nan(a) for a in series.shank_lines.arrays().values())))
    result = hiprom.analyze_landmarks(series, sample_result.config)
    out = write_annotated_video(result, SAMPLE, tmp_path / "partial.mp4")
    assert probe(out)["decoded"] == 216  # every source frame is written
    x, y = (int(v) for v in full.image_px[40, LM.RIGHT_KNEE, :2])
    knee = (slice(y - 25, y + 60), slice(x - 40, x + 40))
    strong = lambda a, b: float((np.abs(a[knee].astype(int) - b[knee]).max(axis=2) > 40).mean())
    for index in (5, 61):  # not in the series / no pose: the legs are left as they are (an overlay
        # changes > 8 % of this window; H.264's motion prediction from the drawn frames beside it
        # may leave a stray pixel)
        assert strong(frame_at(out, index), frame_at(SAMPLE, index)) < 0.002
    # frame 40 (leg swinging out, ~20° from frame 25) is drawn with frame 40's pose, not row 40's
    partial, whole = frame_at(out, 40), frame_at(plain_video, 40)
    assert strong(partial, frame_at(SAMPLE, 40)) > 0.08
    assert mad(partial[knee], whole[knee]) < 3
    assert mad(frame_at(plain_video, 25)[knee], whole[knee]) > 3 * mad(partial[knee], whole[knee])


def test_60fps_clip_keeps_its_rate_and_frame_count(landmarks, shared_dir: Path, tmp_path: Path):
    clip = shared_dir / "bench" / "synthetic" / "clips" / BENCH_60FPS
    result = landmarks.analyze(clip)
    seen: list[tuple[int, int | None]] = []
    out = write_annotated_video(result, clip, tmp_path / "b15.mp4",
                                progress=lambda done, total: seen.append((done, total)))
    src, got = probe(clip), probe(out)
    assert src["fps"] == 60.0 and src["size"] == (720, 1280) and src["decoded"] == 432
    assert got["size"] == src["size"] and got["decoded"] == src["decoded"] == got["declared"]
    assert got["fps"] == pytest.approx(60.0, abs=1e-3)
    assert seen[-1] == (432, 432) and len(seen) == 432


def test_blur_faces_changes_the_head_not_the_legs(sample_result, plain_video: Path, tmp_path: Path):
    blurred = write_annotated_video(sample_result, SAMPLE, tmp_path / "blurred.mp4", blur_faces=True)
    assert probe(blurred)["decoded"] == 216
    series = sample_result.series
    for row in (10, peak_row(sample_result), 200):
        index = int(series.frame_index[row])
        plain, blur = frame_at(plain_video, index), frame_at(blurred, index)
        x0, y0, x1, y1 = head_box(series.image_px[row], series.visibility[row], plain.shape)
        head = (slice(y0, y1), slice(x0, x1))
        edges = lambda im: float(np.abs(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_32F)).mean())
        assert mad(blur[head], plain[head]) > 6
        assert edges(blur[head]) < 0.4 * edges(plain[head])  # the face's detail is gone
        legs = (slice(480, 760), slice(60, 480))  # knees to feet
        assert mad(blur[legs], plain[legs]) < 1.0


def test_rotated_source_comes_out_upright(sample_result, plain_video: Path, tmp_path: Path):
    # a phone-style portrait clip: pixels stored turned 90° counter-clockwise, marked 90
    cap = cv2.VideoCapture(str(SAMPLE))
    stored = tmp_path / "stored.mp4"
    writer = cv2.VideoWriter(str(stored), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (960, 540))
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        writer.write(np.ascontiguousarray(np.rot90(bgr, k=1)))
    writer.release()
    cap.release()
    rotated = set_display_rotation(stored, tmp_path / "portrait.mp4", 90)
    assert probe(rotated)["rotation"] == 90
    out = write_annotated_video(sample_result, rotated, tmp_path / "annotated.mp4")
    got = probe(out)
    assert got["size"] == (540, 960) and got["rotation"] == 0 and got["decoded"] == 216
    index = int(sample_result.series.frame_index[peak_row(sample_result)])
    assert mad(frame_at(out, index), frame_at(plain_video, index)) < 6  # the same picture, upright


def test_errors_name_the_file(sample_result, shared_dir: Path, tmp_path: Path):
    with pytest.raises(OutputExistsError, match="must end in .mp4"):
        write_annotated_video(sample_result, SAMPLE, tmp_path / "annotated.avi")
    with pytest.raises(OutputExistsError, match="would replace the source clip"):
        write_annotated_video(sample_result, SAMPLE, SAMPLE)
    other = shared_dir / "bench" / "synthetic" / "clips" / BENCH_60FPS
    with pytest.raises(InputError, match="720×1280 pixels, the analysis was of 540×960") as err:
        write_annotated_video(sample_result, other, tmp_path / "x.mp4")
    assert str(other) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written, no temp left
    # an existing file is replaced (atomically) by the new video
    target = tmp_path / "annotated.mp4"
    target.write_bytes(b"old")
    write_annotated_video(sample_result, SAMPLE, target)
    assert probe(target)["decoded"] == 216 and sorted(p.name for p in tmp_path.iterdir()) == ["annotated.mp4"]
