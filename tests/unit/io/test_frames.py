"""Tests for hiprom.io.frames on files made in the test: rotation metadata, images, bad input,
timestamps, threading, logs, natural sort (the real and rendered clips: tests/e2e/test_frames.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.frame_checks import assert_input_error, reader_threads
from helpers.frame_checks import run_python as _run
from helpers.mp4util import read_display_matrix, set_display_rotation, set_sample_deltas
from helpers.videos import write_rgb_mp4 as write_mp4
from hypothesis import given, settings
from hypothesis import strategies as st

from hiprom.errors import InputError
from hiprom.io.frames import (
    FrameSource,
    SourceInfo,
    _Timestamps,
    iter_frames_threaded,
    natural_sort_key,
    open_source,
)

# --- Rotation metadata --------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@pytest.mark.parametrize("version", [0, 1])
def test_set_display_rotation_tkhd_versions(tmp_path: Path, version: int):
    times = b"\x00" * (20 if version == 0 else 32)
    identity = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    size = struct.pack(">II", 640 << 16, 480 << 16)
    tkhd = bytes([version, 0, 0, 3]) + times + b"\x00" * 16 + identity + size
    hdlr = b"\x00" * 8 + b"vide" + b"\x00" * 12 + b"VideoHandler\x00"
    moov = _box(b"moov", _box(b"trak", _box(b"tkhd", tkhd) + _box(b"mdia", _box(b"hdlr", hdlr))))
    src = tmp_path / "min.mp4"
    src.write_bytes(_box(b"ftyp", b"isom\x00\x00\x02\x00isom") + moov)
    assert read_display_matrix(src) == [struct.unpack(">9I", identity)]
    for degrees, abcd in {90: (0, 0x10000, 0xFFFF0000, 0), 180: (0xFFFF0000, 0, 0, 0xFFFF0000),
                          270: (0, 0xFFFF0000, 0x10000, 0)}.items():
        dst = set_display_rotation(src, tmp_path / f"r{degrees}.mp4", degrees)
        m = read_display_matrix(dst)[0]
        assert (m[0], m[1], m[3], m[4]) == abcd and m[8] == 0x40000000
        assert dst.stat().st_size == src.stat().st_size
        assert dst.read_bytes()[-8:] == src.read_bytes()[-8:]  # width/height untouched
    with pytest.raises(ValueError):
        set_display_rotation(src, tmp_path / "bad.mp4", 45)


# --- Images -------------------------------------------------------------------------------


def test_image_folder_natural_order_and_sizes(tmp_path: Path):
    sizes = {"a1.png": (30, 20), "a10.png": (50, 40), "a2.png": (30, 20)}  # name: (w, h)
    for i, (name, (w, h)) in enumerate(sizes.items()):
        cv2.imwrite(str(tmp_path / name), np.full((h, w, 3), 40 * (i + 1), np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    cv2.imwrite(str(tmp_path / "sub" / "a0.png"), np.zeros((5, 5, 3), np.uint8))  # not recursive
    with open_source(tmp_path) as source:
        info = source.info
        assert info.kind == "images" and info.frame_count == 3
        assert [p.name for p in info.files] == ["a1.png", "a2.png", "a10.png"]
        assert (info.width_px, info.height_px) == (30, 20)  # the first image's
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.time_s for f in frames] == [0.0, 1.0, 2.0]  # ordinal, not seconds
    assert [f.rgb.shape for f in frames] == [(20, 30, 3), (20, 30, 3), (40, 50, 3)]
    assert [int(f.rgb[0, 0, 0]) for f in frames] == [40, 120, 80]


def test_image_extensions_case_insensitive(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((4, 6, 3), np.uint8))
    (tmp_path / "x.png").rename(tmp_path / "IMG_2.PNG")
    cv2.imwrite(str(tmp_path / "img_10.jpg"), np.zeros((4, 6, 3), np.uint8))
    with open_source(tmp_path) as source:
        assert [p.name for p in source.info.files] == ["IMG_2.PNG", "img_10.jpg"]


def test_image_exif_orientation_is_applied(tmp_path: Path):
    pil = pytest.importorskip("PIL.Image")
    rgb = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high: left half red, right half blue
    rgb[:, :20] = (255, 0, 0)
    rgb[:, 20:] = (0, 0, 255)
    img = pil.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 clockwise to display
    img.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    with open_source(tmp_path / "phone.jpg") as source:
        assert (source.info.width_px, source.info.height_px) == (20, 40)
        out = next(iter(source)).rgb
    assert out[:15, :, 0].mean() > 200 and out[25:, :, 2].mean() > 200  # red on top


# --- Bad input ----------------------------------------------------------------------------


def test_missing_path(tmp_path: Path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "does not exist")


def test_folder_without_images(tmp_path: Path):
    with pytest.raises(InputError) as e:
        open_source(tmp_path)
    assert_input_error(e, tmp_path, "is a folder with no images")
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(InputError) as e:
        open_source(tmp_path)
    assert_input_error(e, tmp_path, "is a folder with no images", "readme.txt")


def test_zero_byte_file(tmp_path: Path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "is empty (0 bytes)")


def test_text_file_renamed_mp4(tmp_path: Path):
    path = tmp_path / "notes.mp4"
    path.write_text("Patient 12, right hip, 38 degrees IR\n" * 20, encoding="utf-8")
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "is not a video: it looks like a text file")


def test_binary_file_opencv_cannot_open(tmp_path: Path):
    path = tmp_path / "random.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "cannot be opened as a video")


def test_zero_frames(tmp_path: Path):
    path = tmp_path / "nothing.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 48))
    writer.release()
    assert path.stat().st_size > 0
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "contains no video frames")


def test_unreadable_image(tmp_path: Path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "cannot be read as an image")


def test_unreadable_image_in_folder_fails_mid_stream(tmp_path: Path):
    cv2.imwrite(str(tmp_path / "f1.png"), np.zeros((8, 8, 3), np.uint8))
    bad = tmp_path / "f2.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 100)
    for iterate in (iter, iter_frames_threaded):
        source = open_source(tmp_path)
        seen = []
        with pytest.raises(InputError) as e:
            for frame in iterate(source):
                seen.append(frame.index)
        assert seen == [0]
        assert_input_error(e, bad, "cannot be read as an image")


# --- Timestamps ---------------------------------------------------------------------------


def test_timestamp_rules():
    stamps = _Timestamps(fps=10.0)
    raw = [0.0, 0.1, 0.2, 0.2, 0.15, 0.5, float("nan"), 0.7]
    out = [stamps(i, t) for i, t in enumerate(raw)]
    assert all(b > a for a, b in zip(out, out[1:]))
    assert out[:3] == [0.0, 0.1, 0.2] and out[5] == 0.5 and out[7] == 0.7
    assert out[3] == pytest.approx(0.2 + 1e-6) and out[4] == pytest.approx(0.2 + 2e-6)
    assert stamps.fixes == 3 and not stamps.from_fps

    stamps = _Timestamps(fps=25.0)
    assert [stamps(i, 0.0) for i in range(4)] == [0.0, 0.04, 0.08, 0.12]
    assert stamps.from_fps and stamps.fixes == 0


def test_repeated_decoder_timestamps_are_nudged(tmp_path: Path):
    rgb = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(10)]
    plain = write_mp4(tmp_path / "plain.mp4", rgb, fps=10)
    deltas = [1] * 10
    deltas[3] = deltas[6] = 0  # frames 4 and 7 repeat the previous timestamp
    broken = set_sample_deltas(plain, tmp_path / "dup.mp4", [d * 1024 for d in deltas])
    with open_source(broken) as source:
        times = [f.time_s for f in source]
    assert len(times) == 10
    assert all(b > a for a, b in zip(times, times[1:]))
    assert source.timestamp_fixes == 2 and not source.timestamps_from_fps
    assert times[4] == pytest.approx(times[3] + 1e-6)


def test_stream_without_timestamps_falls_back_to_fps(tmp_path: Path):
    av = pytest.importorskip("av")
    path = tmp_path / "raw.h264"  # an elementary stream: no container, no timestamps
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            img = np.full((48, 64, 3), 20 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    with open_source(path) as source:
        assert source.info.frame_count is None and source.info.duration_s is None
        fps = source.info.fps
        times = [f.time_s for f in source]
    assert len(times) == 12 and source.timestamps_from_fps
    assert times == pytest.approx([i / fps for i in range(12)])


# --- Threaded iteration -------------------------------------------------------------------


def test_threaded_reraises_reader_exception():
    class Exploding(FrameSource):
        def _frames(self):
            yield 0, 0.0, np.zeros((2, 2, 3), np.uint8)
            raise RuntimeError("decoder exploded")

    info = SourceInfo(Path("x"), "video", 2, 2, 1.0, 2, 2.0, 0, None, False)
    got = []
    with pytest.raises(RuntimeError, match="decoder exploded"):
        for frame in iter_frames_threaded(Exploding(info)):
            got.append(frame.index)
    assert got == [0] and not reader_threads()
    with pytest.raises(ValueError):
        next(iter_frames_threaded(Exploding(info), queue_size=0))


# --- Logs, import -------------------------------------------------------------------------


def test_import_has_no_side_effects():
    done = _run("import os, hiprom.io.frames; print(os.environ.get('OPENCV_FFMPEG_LOGLEVEL'))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


# --- Natural sort -------------------------------------------------------------------------


def test_natural_sort_examples():
    names = ["img10.png", "img2.png", "IMG1.png", "img02.png", "a.png", "img2b.png"]
    assert sorted(names, key=natural_sort_key) == [
        "a.png", "IMG1.png", "img02.png", "img2.png", "img2b.png", "img10.png"]


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(alphabet="abcXYZ_-. ", max_size=5),
       suffix=st.sampled_from([".png", ".jpg", "_x.tif"]),
       numbers=st.lists(st.integers(0, 10**6), min_size=1, max_size=20, unique=True))
def test_natural_sort_orders_numbers(prefix: str, suffix: str, numbers: list[int]):
    names = [f"{prefix}{n}{suffix}" for n in numbers]
    ordered = sorted(names, key=natural_sort_key)
    assert ordered == [f"{prefix}{n}{suffix}" for n in sorted(numbers)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
                unique=True, max_size=15), st.randoms())
def test_natural_sort_is_a_total_order(names: list[str], rnd):
    shuffled = names[:]
    rnd.shuffle(shuffled)
    assert sorted(shuffled, key=natural_sort_key) == sorted(names, key=natural_sort_key)
    keys = [natural_sort_key(n) for n in names]
    assert len(set(keys)) == len(keys)  # distinct names never tie
