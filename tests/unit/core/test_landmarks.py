"""LandmarkSeries: validation, immutability, selection, export, save/load round trip."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from hiprom.errors import InputError
from hiprom.core.landmarks import LANDMARK_NAMES, LM, SCHEMA_VERSION, LandmarkSeries

N = len(LANDMARK_NAMES)


def make_series(n: int = 6, seed: int = 0, **kwargs) -> LandmarkSeries:
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 1000, (n, N, 3))
    image[1] = np.nan                                   # no pose in frame 1
    vis = rng.uniform(0, 1, (n, N))
    vis[1] = np.nan
    fields = dict(image_px=image, visibility=vis, presence=rng.uniform(0, 1, (n, N)),
                  world_m=rng.normal(0, 0.5, (n, N, 3)), time_s=np.arange(n) / 30.0 + 0.5,
                  frame_index=np.arange(n) + 15, frame_size_px=(1080, 1920),
                  source="clip.mp4", model="full:pose_landmarker_full.task:sha256=abc", fps=29.97,
                  meta={"kind": "video", "rotation_deg": 90, "person": {"reason": "one person"},
                        "lines": [1.5, None, "x"]})
    fields.update(kwargs)
    return LandmarkSeries(**fields)


def assert_same(a: LandmarkSeries, b: LandmarkSeries) -> None:
    for name in ("image_px", "visibility", "presence", "world_m", "time_s", "frame_index"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)       # NaN == NaN here: bit-exact
    assert a.frame_size_px == b.frame_size_px
    assert a.source == b.source and a.model == b.model
    assert a.fps == b.fps and type(a.fps) is type(b.fps)
    assert a.meta == b.meta


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
    assert s.source == "x.mp4" and s.fps == 25.0 and s.meta == {}
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
    assert sub.meta == s.meta and sub.source == s.source and sub.fps == s.fps
    assert sub.detected.all()
    assert len(s) == 6                                   # the original is unchanged


def test_replace_revalidates_and_keeps_the_rest():
    s = make_series()
    r = s.replace(source="other.mp4", fps=None)
    assert r is not s and r.source == "other.mp4" and r.fps is None
    np.testing.assert_array_equal(r.image_px, s.image_px)
    assert r.model == s.model and r.meta == s.meta
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


# -- save / load ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fps", [None, 29.97, 60.0])
def test_save_load_round_trip_is_exact(tmp_path, fps):
    s = make_series(fps=fps)
    path = s.save(tmp_path / "landmarks.npz")
    assert path == tmp_path / "landmarks.npz"
    back = LandmarkSeries.load(path)
    assert_same(s, back)
    assert back.fps == fps
    assert [p.name for p in tmp_path.iterdir()] == ["landmarks.npz"]        # no temp file left


def test_save_load_empty_series_and_overwrite(tmp_path):
    path = tmp_path / "landmarks.npz"
    make_series().save(path)
    empty = LandmarkSeries.empty(np.arange(3) / 30.0, np.arange(3), (640, 480))
    empty.save(path)                                        # replaces the file
    back = LandmarkSeries.load(path)
    assert_same(empty, back)
    assert not back.detected.any()


def test_saved_header_documents_the_layout(tmp_path):
    path = make_series().save(tmp_path / "l.npz")
    with np.load(path) as data:
        header = json.loads(str(data["header"]))
        assert data["image_px"].shape == (6, N, 3)
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["dims"] == ["time", "landmark", "coord"]
    assert header["landmark_names"] == list(LANDMARK_NAMES)
    assert header["frame_size_px"] == [1080, 1920]


def test_save_load_extras(tmp_path):
    if "extras" not in LandmarkSeries.__dataclass_fields__:
        pytest.skip("this LandmarkSeries has no extras")
    lines = np.arange(6 * 4, dtype=float).reshape(6, 4)
    s = make_series(extras={"shank_left": lines})
    back = LandmarkSeries.load(s.save(tmp_path / "l.npz"))
    np.testing.assert_array_equal(back.extras["shank_left"], lines)
    assert list(back.extras) == ["shank_left"]


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist") as info:
        LandmarkSeries.load(tmp_path / "nope.npz")
    assert "nope.npz" in str(info.value)


def _npz(path, header, **arrays):
    np.savez(path, header=np.array(json.dumps(header)), **arrays)
    return path


def _good_arrays(n=2):
    return dict(image_px=np.zeros((n, N, 3)), visibility=np.zeros((n, N)), presence=np.zeros((n, N)),
                world_m=np.zeros((n, N, 3)), time_s=np.arange(n, dtype=float),
                frame_index=np.arange(n))


def _bad_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("just some text\n")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.arange(3))
    other_zip = tmp_path / "other.npz"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    good = make_series().save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    list_header = _npz(tmp_path / "list_header.npz", [1, 2], **_good_arrays())
    no_arrays = _npz(tmp_path / "no_arrays.npz", {"schema_version": SCHEMA_VERSION})
    no_size = _npz(tmp_path / "no_size.npz", {"schema_version": SCHEMA_VERSION}, **_good_arrays())
    bad_shape = _npz(tmp_path / "bad_shape.npz", {"schema_version": SCHEMA_VERSION, "frame_size_px": [4, 4]},
                     **{**_good_arrays(), "time_s": np.zeros(3)})
    return [text, empty, npy, other_zip, truncated, list_header, no_arrays, no_size, bad_shape]


def test_load_of_files_that_are_not_landmarks_raises_input_error(tmp_path):
    for path in _bad_files(tmp_path):
        with pytest.raises(InputError) as info:
            LandmarkSeries.load(path)
        message = str(info.value)
        assert message.startswith(str(path)), message
        assert "How to fix" in message


def test_load_wrong_schema_version(tmp_path):
    path = _npz(tmp_path / "future.npz", {"schema_version": SCHEMA_VERSION + 1, "frame_size_px": [4, 4]},
                **_good_arrays())
    with pytest.raises(InputError, match=f"schema version {SCHEMA_VERSION + 1} is not supported") as info:
        LandmarkSeries.load(path)
    assert str(path) in str(info.value)
    # and a file without any version
    path = _npz(tmp_path / "unversioned.npz", {"frame_size_px": [4, 4]}, **_good_arrays())
    with pytest.raises(InputError, match="schema version None"):
        LandmarkSeries.load(path)


def test_load_accepts_a_minimal_valid_file(tmp_path):
    path = _npz(tmp_path / "min.npz", {"schema_version": SCHEMA_VERSION, "frame_size_px": [4, 3]},
                **_good_arrays(3))
    s = LandmarkSeries.load(path)
    assert len(s) == 3 and s.frame_size_px == (4, 3) and s.fps is None and s.meta == {}
