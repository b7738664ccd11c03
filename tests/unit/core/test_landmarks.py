"""LandmarkSeries: validation, immutability, selection, export (saving: test_landmarks_npz.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers.landmark_series import N, make_series

from hiprom.core.capture import Capture, ShankLines
from hiprom.core.landmarks import LANDMARK_NAMES, LM, LandmarkSeries

# -- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"image_px": np.zeros((6, 32, 3))}, r"image_px must have shape \(T×33×3\), got \(6, 32, 3\)"),
    ({"image_px": np.zeros((6, 33))}, r"image_px must have shape \(T×33×3\), got \(6, 33\)"),
    ({"visibility": np.zeros((5, 33))}, r"visibility must have shape \(6×33\), got \(5, 33\)"),
    ({"presence": np.zeros((6, 33, 1))}, r"presence must have shape \(6×33\), got \(6, 33, 1\)"),
    ({"world_m": np.zeros((6, 33, 2))}, r"world_m must have shape \(6×33×3\), got \(6, 33, 2\)"),
    ({"time_s": np.zeros(7)}, r"time_s must have shape \(6\), got \(7,\)"),
    ({"time_s": np.array([0, 1, 2, 2, 3, 4.0])}, "time_s must be strictly increasing"),
    ({"time_s": np.array([0, 1, 2, 1.5, 3, 4.0])}, "time_s must be strictly increasing"),
    ({"time_s": np.array([0, 1, 2, np.nan, 3, 4.0])}, "time_s must be finite"),
    ({"frame_index": np.arange(6) * 1.0}, r"frame_index must be \(6,\) integers, got \(6,\) float64"),
    ({"frame_index": np.arange(5)}, r"frame_index must be \(6,\) integers, got \(5,\)"),
    ({"frame_size_px": (0, 1920)}, "frame_size_px must be positive"),
])
def test_validation_errors(change, message):
    with pytest.raises(ValueError, match=message):
        make_series(**change)


def test_accepted_inputs_are_normalised():
    s = make_series(frame_index=np.arange(6, dtype=np.int32), frame_size_px=(1080.0, 1920.0), fps=30,
                    time_s=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert s.frame_index.dtype == np.int64
    assert s.frame_size_px == (1080, 1920) and all(type(v) is int for v in s.frame_size_px)
    assert s.fps == 30.0 and type(s.fps) is float
    assert s.time_s.dtype == np.float64
    assert len(s) == s.n_frames == 6
    assert s.duration_s == pytest.approx(0.5)
    assert s.median_fps == pytest.approx(10.0)
    assert LandmarkSeries.dims == ("time", "landmark", "coord")


def test_series_is_read_only_and_does_not_lock_the_callers_arrays():
    image = np.zeros((4, N, 3))
    index = np.arange(4)
    s = LandmarkSeries(image, np.ones((4, N)), np.ones((4, N)), np.zeros((4, N, 3)),
                       np.arange(4) / 30.0, index, (640, 480))
    for name in ("image_px", "visibility", "presence", "world_m", "time_s", "frame_index"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(s, name)[0] = 1
    image[0, 0, 0] = 5.0                    # the caller's own arrays stay theirs
    index[0] = 7
    assert s.image_px[0, 0, 0] == 0.0 and s.frame_index[0] == 0
    with pytest.raises(AttributeError):
        s.fps = 3.0


# -- basic facts and transforms ------------------------------------------------------------------

def test_detected_and_xy():
    s = make_series()
    assert s.detected.tolist() == [True, False, True, True, True, True]
    np.testing.assert_array_equal(s.xy(LM.LEFT_KNEE), s.image_px[:, 25, :2])
    assert s.xy(LM.LEFT_KNEE).shape == (6, 2)


def test_empty():
    s = LandmarkSeries.empty(np.arange(5) / 25.0, np.arange(5), (640, 480), source="x.mp4", fps=25.0)
    assert len(s) == 5 and not s.detected.any()
    assert np.isnan(s.image_px).all() and np.isnan(s.world_m).all()
    assert np.isnan(s.visibility).all() and np.isnan(s.presence).all()
    assert s.source == "x.mp4" and s.fps == 25.0 and s.capture == Capture() and s.kind == "video"
    assert s.scene_lines == () and s.shank_lines is None and s.person is None
    assert s.image_px.shape == (5, N, 3) and s.visibility.shape == (5, N)
    none = LandmarkSeries.empty(np.zeros(0), np.zeros(0, dtype=int), (640, 480))
    assert len(none) == 0 and none.duration_s == 0.0 and none.median_fps is None


def test_select():
    s = make_series()
    keep = np.array([True, False, True, False, True, True])
    sub = s.select(keep)
    assert len(sub) == 4
    np.testing.assert_array_equal(sub.frame_index, s.frame_index[keep])
    np.testing.assert_array_equal(sub.time_s, s.time_s[keep])
    np.testing.assert_array_equal(sub.image_px, s.image_px[keep])
    np.testing.assert_array_equal(sub.world_m, s.world_m[keep])
    np.testing.assert_array_equal(sub.visibility, s.visibility[keep])
    np.testing.assert_array_equal(sub.presence, s.presence[keep])
    assert sub.capture == s.capture and sub.source == s.source and sub.fps == s.fps
    assert sub.detected.all()
    assert len(s) == 6                                   # the original is unchanged


def test_replace_revalidates_and_keeps_the_rest():
    s = make_series()
    r = s.replace(source="other.mp4", fps=None)
    assert r is not s and r.source == "other.mp4" and r.fps is None
    np.testing.assert_array_equal(r.image_px, s.image_px)
    assert r.model == s.model and r.capture == s.capture and r.person == s.person
    assert s.source == "clip.mp4" and s.fps == 29.97
    with pytest.raises(ValueError, match="time_s must be strictly increasing"):
        s.replace(time_s=s.time_s[::-1].copy())
    with pytest.raises(ValueError, match="visibility must have shape"):
        s.replace(visibility=s.visibility[:3])


def test_to_pandas_all_landmarks():
    s = make_series()
    df = s.to_pandas()
    assert df.shape == (6 * N, 12)
    assert list(df.columns) == ["frame", "time_s", "landmark", "name", "x_px", "y_px", "z_px",
                                "visibility", "presence", "x_m", "y_m", "z_m"]
    row = df.iloc[2 * N + LM.RIGHT_ANKLE]             # frame 2, right ankle
    assert row["frame"] == 17 and row["time_s"] == s.time_s[2]
    assert row["landmark"] == LM.RIGHT_ANKLE and row["name"] == "right_ankle"
    assert (row["x_px"], row["y_px"], row["z_px"]) == tuple(s.image_px[2, LM.RIGHT_ANKLE])
    assert (row["x_m"], row["y_m"], row["z_m"]) == tuple(s.world_m[2, LM.RIGHT_ANKLE])
    assert row["visibility"] == s.visibility[2, LM.RIGHT_ANKLE]
    assert row["presence"] == s.presence[2, LM.RIGHT_ANKLE]
    assert df["x_px"].isna().sum() == N                # the undetected frame is kept, as NaN


def test_to_pandas_some_landmarks():
    s = make_series()
    df = s.to_pandas(landmarks=(LM.LEFT_KNEE, LM.LEFT_ANKLE))
    assert df.shape == (12, 12)
    assert df["name"].tolist()[:4] == ["left_knee", "left_ankle", "left_knee", "left_ankle"]
    np.testing.assert_array_equal(df["y_px"].to_numpy().reshape(6, 2), s.image_px[:, [25, 27], 1])
    np.testing.assert_array_equal(df["frame"].to_numpy(), np.repeat(s.frame_index, 2))


def test_leg_indices():
    assert LM.leg("left") == {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31}
    assert LM.leg("right") == {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32}
    assert [LANDMARK_NAMES[i] for i in LM.leg("right").values()] == [
        "right_hip", "right_knee", "right_ankle", "right_heel", "right_foot_index"]
    with pytest.raises(ValueError, match="side must be"):
        LM.leg("middle")


def test_typed_side_channels_are_validated():
    s = make_series()
    with pytest.raises(ValueError, match="kind must be one of video, image, images, got 'gif'"):
        Capture(kind="gif")
    with pytest.raises(ValueError, match="shank_lines must have 6 frames, got 4"):
        s.replace(shank_lines=ShankLines.empty(4))
    with pytest.raises(ValueError, match="scene_lines must be SceneLine records"):
        s.replace(scene_lines=({"frame": 1, "roll_deg": 0.5},))
    with pytest.raises(ValueError, match=r"mid_px must have shape \(T×2×2×2\), got \(6, 2, 2\)"):
        ShankLines(np.zeros((6, 2, 2)), np.zeros((6, 2, 2, 2)), np.zeros((6, 2)), np.zeros((6, 2, 24, 2)),
                   np.zeros((6, 2, 24)), np.zeros((6, 2, 24)))
    assert s.kind == "video" and not s.capture.still and Capture(kind="images").still


def test_select_keeps_the_shank_lines_of_the_kept_frames():
    lines = ShankLines.empty(6)
    mid = np.array(lines.mid_px)
    mid[:, 1] = np.arange(6)[:, None, None]
    s = make_series(shank_lines=dataclasses.replace(lines, mid_px=mid))
    sub = s.select(np.array([False, True, False, True, True, False]))
    assert sub.shank_lines.mid_px[:, 1, 0, 0].tolist() == [1.0, 3.0, 4.0]
    assert np.isnan(sub.shank_lines.mid_px[:, 0]).all()

