"""landmarks.npz: the save/load round trip, version 1 files, and files that are not ours."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest
from helpers.landmark_series import assert_same, make_series

from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LANDMARK_NAMES, LandmarkSeries
from hiprom.errors import InputError
from hiprom.io.landmarks_npz import SCHEMA_VERSION, load_series, save_series

N = len(LANDMARK_NAMES)


@pytest.mark.parametrize("fps", [None, 29.97, 60.0])
def test_save_load_round_trip_is_exact(tmp_path, fps):
    s = make_series(fps=fps)
    path = save_series(s, tmp_path / "landmarks.npz")
    assert path == tmp_path / "landmarks.npz"
    back = load_series(path)
    assert_same(s, back)
    assert back.fps == fps
    assert [p.name for p in tmp_path.iterdir()] == ["landmarks.npz"]        # no temp file left


def test_save_load_empty_series_and_overwrite(tmp_path):
    path = tmp_path / "landmarks.npz"
    save_series(make_series(), path)
    empty = LandmarkSeries.empty(np.arange(3) / 30.0, np.arange(3), (640, 480))
    save_series(empty, path)                                        # replaces the file
    back = load_series(path)
    assert_same(empty, back)
    assert not back.detected.any()


def test_saved_header_documents_the_layout(tmp_path):
    path = save_series(make_series(), tmp_path / "l.npz")
    with np.load(path) as data:
        header = json.loads(str(data["header"]))
        assert data["image_px"].shape == (6, N, 3)
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["dims"] == ["time", "landmark", "coord"]
    assert header["landmark_names"] == list(LANDMARK_NAMES)
    assert header["frame_size_px"] == [1080, 1920]


def test_save_load_shank_lines(tmp_path):
    lines = ShankLines.empty(6)
    mid = np.array(lines.mid_px)
    mid[2, 0] = [[1.0, 2.0], [3.0, 4.0]]
    s = make_series(shank_lines=dataclasses.replace(lines, mid_px=mid))
    back = load_series(save_series(s, tmp_path / "l.npz"))
    assert_same(s, back)
    np.testing.assert_array_equal(back.shank_lines.mid_px[2, 0], [[1.0, 2.0], [3.0, 4.0]])


def test_a_version_1_file_is_read_into_the_typed_fields(tmp_path):
    """Version 1 kept the capture facts, scene lines and person in a free ``meta`` dict and
    the silhouette lines as ``extra__shank_*`` arrays."""
    n = 3
    meta = {"kind": "video", "rotation_deg": 90, "mirrored": True, "codec": "h264", "max_people": 2,
            "camera_hand_held": True,
            "scene_lines": [{"frame": 1, "roll_deg": 0.5, "support": 0.9, "length_px": 300.0}],
            "person": {"max_people_in_frame": 1, "frames_with_several": 0, "n_tracks": 1, "chosen_track": 0,
                       "chosen_frames": 3, "position_px": [10.0, 20.0], "reason": "one person in the clip"}}
    mid = np.full((n, 2, 2, 2), 7.0)
    extras = {"extra__shank_mid_px": mid, "extra__shank_lat_px": mid + 1, "extra__shank_clean": np.ones((n, 2)),
              "extra__shank_points_px": np.zeros((n, 2, 24, 2))}
    path = _npz(tmp_path / "v1.npz", {"schema_version": 1, "frame_size_px": [720, 1280], "fps": 30.0, "meta": meta},
                **_good_arrays(n), **extras)
    s = load_series(path)
    assert (s.kind, s.capture.rotation_deg, s.capture.mirrored, s.capture.codec) == ("video", 90, True, "h264")
    assert s.capture.max_people == 2 and s.capture.hand_held is True
    assert [(x.frame, x.roll_deg) for x in s.scene_lines] == [(1, 0.5)]
    assert s.person.chosen_frames == 3 and s.person.position_px == (10.0, 20.0)
    np.testing.assert_array_equal(s.shank_lines.mid_px, mid)
    np.testing.assert_array_equal(s.shank_lines.lateral_px, mid + 1)


def test_load_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist") as info:
        load_series(tmp_path / "nope.npz")
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
    good = save_series(make_series(), tmp_path / "good.npz")
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
            load_series(path)
        message = str(info.value)
        assert message.startswith(str(path)), message
        assert "How to fix" in message


def test_load_wrong_schema_version(tmp_path):
    path = _npz(tmp_path / "future.npz", {"schema_version": SCHEMA_VERSION + 1, "frame_size_px": [4, 4]},
                **_good_arrays())
    with pytest.raises(InputError, match=f"schema version {SCHEMA_VERSION + 1} is not supported") as info:
        load_series(path)
    assert str(path) in str(info.value)
    # and a file without any version
    path = _npz(tmp_path / "unversioned.npz", {"frame_size_px": [4, 4]}, **_good_arrays())
    with pytest.raises(InputError, match="schema version None"):
        load_series(path)


def test_load_accepts_a_minimal_valid_file(tmp_path):
    path = _npz(tmp_path / "min.npz", {"schema_version": SCHEMA_VERSION, "frame_size_px": [4, 3]},
                **_good_arrays(3))
    s = load_series(path)
    assert len(s) == 3 and s.frame_size_px == (4, 3) and s.fps is None and s.kind == "video"
