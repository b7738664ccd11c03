"""Tests for hiprom.io.frames: real clips, rotation metadata, images, bad input, threading."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mp4util import read_display_matrix, set_display_rotation, set_sample_deltas
from videos import write_mp4 as write_bgr_mp4

from hiprom.errors import InputError
from hiprom.io.frames import (
    Frame,
    FrameSource,
    SourceInfo,
    _Timestamps,
    iter_frames_threaded,
    natural_sort_key,
    open_source,
)

REPO = Path(__file__).resolve().parents[1]

# name: (width, height, frames, fps) as documented in shared/samples/real/PROVENANCE.md
REAL_CLIPS = {
    "sports2d_demo_vp9_1768x994_30fps.mp4": (1768, 994, 230, 30.0),
    "sports2d_walk_side_1280x720_30fps.mp4": (1280, 720, 401, 30.0),
    "sports2d_run_side_480x352_29.97fps.mp4": (480, 352, 47, 30000 / 1001),
    "pose2sim_balance_cam01_1080x1920_60fps.mp4": (1080, 1920, 100, 60.0),
    "pose2sim_balance_cam03_1088x1920_60fps.mp4": (1088, 1920, 100, 60.0),
}
PORTRAIT = "pose2sim_balance_cam01_1080x1920_60fps.mp4"
SMALL = "sports2d_run_side_480x352_29.97fps.mp4"
SYNTH_CLIP = "b03_man_yaw+15_R44.mp4"  # H.264, moov first (faststart), 216 frames


@pytest.fixture(scope="session")
def real_dir(shared_dir: Path) -> Path:
    return shared_dir / "samples" / "real"


@pytest.fixture(scope="session")
def synth_dir(shared_dir: Path) -> Path:
    return shared_dir / "bench" / "synthetic"


def write_mp4(path: Path, rgb_frames, fps: float = 30.0) -> Path:
    """Encode RGB frames (mp4v; moov written last)."""
    return write_bgr_mp4(path, [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR) for f in rgb_frames], fps)


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hiprom-frame-reader")]


def first_frames(path: Path, n: int) -> list[np.ndarray]:
    """The first ``n`` upright RGB frames of a video, via hiprom."""
    out = []
    with open_source(path) as source:
        for frame in source:
            out.append(frame.rgb)
            if len(out) == n:
                break
    return out


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def assert_input_error(excinfo, path: Path, *substrings: str) -> None:
    text = str(excinfo.value)
    assert str(path) in text
    for s in substrings:
        assert s in text, f"{s!r} not in {text!r}"
    assert excinfo.value.fix, "every InputError says how to fix it"


# --- Real clips ---------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(REAL_CLIPS))
def test_real_clip_decodes_fully(real_dir: Path, name: str):
    width, height, count, fps = REAL_CLIPS[name]
    with open_source(real_dir / name) as source:
        info = source.info
        assert (info.kind, info.width_px, info.height_px) == ("video", width, height)
        assert info.frame_count == count
        assert isinstance(info.fps, float) and info.fps == pytest.approx(fps, rel=1e-9)
        assert info.duration_s == pytest.approx(count / fps)
        assert info.rotation_deg == 0 and info.mirrored is False
        assert info.codec and info.codec.isprintable()
        times, n = [], 0
        for frame in source:
            assert isinstance(frame, Frame) and frame.index == n
            assert frame.rgb.shape == (height, width, 3) and frame.rgb.dtype == np.uint8
            assert frame.rgb.flags["C_CONTIGUOUS"]
            times.append(frame.time_s)
            n += 1
    assert n == count == source.frames_decoded
    assert times[0] == 0.0
    assert np.all(np.diff(times) > 0), "timestamps strictly increase"
    assert np.median(np.diff(times)) == pytest.approx(1 / fps, rel=1e-3)
    assert source.timestamp_fixes == 0 and source.timestamps_from_fps is False


@pytest.mark.shared
def test_2997_fps_is_not_rounded(real_dir: Path):
    with open_source(real_dir / SMALL) as source:
        assert source.info.fps == pytest.approx(30000 / 1001, abs=1e-9)
        assert source.info.fps != 30.0
        times = [f.time_s for f in source]
    assert times[-1] == pytest.approx(46 * 1001 / 30000, abs=1e-6)


@pytest.mark.shared
def test_source_can_be_iterated_again_and_closed(real_dir: Path):
    source = open_source(real_dir / SMALL)
    first = [(f.index, f.time_s, int(f.rgb.sum())) for f in source]
    second = [(f.index, f.time_s, int(f.rgb.sum())) for f in source]
    assert first == second and len(first) == 47
    source.close()
    with pytest.raises(ValueError, match="closed"):
        next(iter(source))


# --- Rotation metadata --------------------------------------------------------------------


@pytest.mark.shared
def test_rotation_90_phone_portrait(real_dir: Path, tmp_path: Path):
    upright = first_frames(real_dir / PORTRAIT, 20)  # 1080 wide x 1920 high
    stored = [np.rot90(f, k=1) for f in upright]  # 90 counter-clockwise: landscape sensor pixels
    assert stored[0].shape == (1080, 1920, 3)
    plain = write_mp4(tmp_path / "stored.mp4", stored, fps=60)
    rotated = set_display_rotation(plain, tmp_path / "rot90.mp4", 90)
    assert read_display_matrix(rotated)[0][:5] == (0, 0x10000, 0, 0xFFFF0000, 0)

    with open_source(rotated) as source:
        info = source.info
        assert info.rotation_deg == 90
        assert (info.width_px, info.height_px) == (1080, 1920)
        frames = [f.rgb for f in source]
    assert len(frames) == 20
    for got, want in zip(frames, upright):
        assert got.shape == want.shape
        assert mean_abs_diff(got, want) < 12
        assert mean_abs_diff(got, want[::-1, ::-1]) > 40  # the comparison can tell
    with open_source(plain) as source:  # without the matrix the stored pixels come out as is
        assert source.info.rotation_deg == 0
        assert (source.info.width_px, source.info.height_px) == (1920, 1080)


@pytest.mark.shared
def test_rotation_180_small_clip(real_dir: Path, tmp_path: Path):
    upright = first_frames(real_dir / SMALL, 10)
    plain = write_mp4(tmp_path / "stored.mp4", [f[::-1, ::-1] for f in upright])
    rotated = set_display_rotation(plain, tmp_path / "rot180.mp4", 180)
    with open_source(rotated) as source:
        assert source.info.rotation_deg == 180
        assert (source.info.width_px, source.info.height_px) == (480, 352)
        frames = [f.rgb for f in source]
    assert len(frames) == 10
    for got, want in zip(frames, upright):
        assert mean_abs_diff(got, want) < 12
        assert mean_abs_diff(got, want[::-1, ::-1]) > 2 * mean_abs_diff(got, want) + 10


@pytest.mark.shared
def test_rotation_270(real_dir: Path, tmp_path: Path):
    upright = first_frames(real_dir / SMALL, 3)
    plain = write_mp4(tmp_path / "stored.mp4", [np.rot90(f, k=-1) for f in upright])
    with open_source(set_display_rotation(plain, tmp_path / "rot270.mp4", 270)) as source:
        assert source.info.rotation_deg == 270
        assert (source.info.width_px, source.info.height_px) == (480, 352)
        assert mean_abs_diff(next(iter(source)).rgb, upright[0]) < 12


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


# --- Mirroring ----------------------------------------------------------------------------


@pytest.mark.shared
def test_mirrored_is_exact_left_right_flip(real_dir: Path):
    with open_source(real_dir / SMALL) as a, open_source(real_dir / SMALL, mirrored=True) as b:
        assert b.info.mirrored is True and a.info.mirrored is False
        for fa, fb, _ in zip(a, b, range(5)):
            assert fb.rgb.flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(fb.rgb, fa.rgb[:, ::-1])
            assert fb.time_s == fa.time_s


# --- Images -------------------------------------------------------------------------------


@pytest.mark.shared
def test_single_png(synth_dir: Path):
    png = synth_dir / "png" / "s01_man_front_R45.png"
    expected = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    with open_source(png) as source:
        info = source.info
        assert (info.kind, info.width_px, info.height_px) == ("image", 720, 1280)
        assert (info.fps, info.frame_count, info.duration_s, info.codec) == (None, 1, None, None)
        frames = list(source)
    assert len(frames) == 1 and frames[0].index == 0 and frames[0].time_s == 0.0
    np.testing.assert_array_equal(frames[0].rgb, expected)
    with open_source(png, mirrored=True) as source:
        np.testing.assert_array_equal(next(iter(source)).rgb, expected[:, ::-1])


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


@pytest.mark.shared
def test_truncated_at_half_fails_at_end_of_iteration(synth_dir: Path, tmp_path: Path):
    """Cut at 50%: moov (first) is intact, so OpenCV opens it and decodes the frames that
    are there; the shortfall is reported by the iterator after the last of them."""
    path = cut(synth_dir / "clips" / SYNTH_CLIP, tmp_path / "half.mp4", 0.5)
    source = open_source(path)
    assert source.info.frame_count == 216
    got = []
    with pytest.raises(InputError) as e:
        for frame in source:
            got.append(frame.index)
    assert_input_error(e, path, "truncated", f"only {len(got)} of the 216 frames")
    assert 0 < len(got) < 200 and got == list(range(len(got)))
    assert source.frames_decoded == len(got)


@pytest.mark.shared
def test_truncated_at_30_percent_fails_at_open(synth_dir: Path, tmp_path: Path):
    """Keep 30%: the first (key) frame itself is cut, OpenCV opens the file but the first
    read fails; open_source sees the box running past the end and says truncated."""
    path = cut(synth_dir / "clips" / SYNTH_CLIP, tmp_path / "p30.mp4", 0.3)
    with pytest.raises(InputError) as e:
        list(open_source(path))
    assert_input_error(e, path, "truncated", "of the 216 frames")


@pytest.mark.shared
def test_truncated_without_moov_cannot_be_opened(real_dir: Path, tmp_path: Path):
    """moov at the end (as most cameras write it) and the file cut: nothing can be opened."""
    path = cut(real_dir / PORTRAIT, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "truncated or damaged", "moov")


@pytest.mark.shared
def test_undecodable_video_names_codec(synth_dir: Path, tmp_path: Path):
    """Opens (index intact) but the first read fails: the message names the codec fourcc."""
    data = bytearray((synth_dir / "clips" / SYNTH_CLIP).read_bytes())
    mdat = data.find(b"mdat")
    data[mdat + 4 :] = bytes(len(data) - mdat - 4)
    path = tmp_path / "zeroed.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "first frame cannot be decoded", "codec 'avc1'")


@pytest.mark.shared
def test_unknown_codec_names_fourcc(synth_dir: Path, tmp_path: Path):
    data = bytearray((synth_dir / "clips" / SYNTH_CLIP).read_bytes())
    entry = data.find(b"avc1", data.find(b"stsd"))
    data[entry : entry + 4] = b"zzzz"
    path = tmp_path / "zzzz.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        open_source(path)
    assert_input_error(e, path, "cannot be opened as a video", "'zzzz'")


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


def _signature(frames):
    return [(f.index, f.time_s, int(f.rgb.astype(np.uint64).sum())) for f in frames]


@pytest.mark.shared
def test_threaded_yields_same_frames(real_dir: Path):
    with open_source(real_dir / SMALL) as source:
        plain = _signature(source)
    with open_source(real_dir / SMALL) as source:
        threaded = _signature(iter_frames_threaded(source, queue_size=3))
    assert threaded == plain and len(plain) == 47
    assert not reader_threads()


@pytest.mark.shared
def test_threaded_early_break_stops_reader(real_dir: Path):
    with open_source(real_dir / "sports2d_walk_side_1280x720_30fps.mp4") as source:
        start = time.monotonic()
        for frame in iter_frames_threaded(source, queue_size=2):
            time.sleep(0.05)  # slow consumer: the reader is blocked on a full queue
            if frame.index == 3:
                break
        assert not reader_threads()
        assert time.monotonic() - start < 10
        assert source.frames_decoded < 20


@pytest.mark.shared
def test_threaded_consumer_exception_and_close(real_dir: Path):
    with open_source(real_dir / SMALL) as source:
        with pytest.raises(KeyError):
            for frame in iter_frames_threaded(source, queue_size=1):
                if frame.index == 2:
                    raise KeyError("consumer failed")
        assert not reader_threads()
        gen = iter_frames_threaded(source)
        next(gen)
        assert reader_threads()
        gen.close()
        assert not reader_threads()


@pytest.mark.shared
def test_threaded_reraises_truncation(synth_dir: Path, tmp_path: Path):
    path = cut(synth_dir / "clips" / SYNTH_CLIP, tmp_path / "half.mp4", 0.5)
    got = 0
    with pytest.raises(InputError) as e:
        for _ in iter_frames_threaded(open_source(path)):
            got += 1
    assert_input_error(e, path, "truncated", f"only {got} of the 216 frames")
    assert not reader_threads()


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


def _run(code: str, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENCV_FFMPEG_LOGLEVEL", "OPENCV_FFMPEG_DEBUG", "OPENCV_LOG_LEVEL")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=120)


_OPEN_ALL = """
import sys
from hiprom.errors import InputError
from hiprom.io.frames import open_source
for p in sys.argv[1:]:
    try:
        list(open_source(p))
    except InputError as e:
        print("InputError:", e.what)
"""


@pytest.mark.shared
def test_ffmpeg_and_opencv_logs_are_silenced(real_dir: Path, synth_dir: Path, tmp_path: Path):
    moovless = cut(real_dir / PORTRAIT, tmp_path / "moovless.mp4", 0.5)
    half = cut(synth_dir / "clips" / SYNTH_CLIP, tmp_path / "half.mp4", 0.5)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 50)
    done = _run(_OPEN_ALL, str(moovless), str(half), str(junk))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("InputError:") == 3
    assert done.stderr == "", f"unexpected library output: {done.stderr!r}"
    # a level the user chose is respected (OpenCV then prints FFmpeg's lines itself)
    loud = _run(_OPEN_ALL, str(moovless), OPENCV_FFMPEG_LOGLEVEL="16")
    assert "moov atom not found" in loud.stdout + loud.stderr


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


# --- Decoder threads ----------------------------------------------------------------------


def _opened_with(monkeypatch, path: Path, decoder_threads) -> list[tuple]:
    """The arguments every cv2.VideoCapture of ``open_source(path, decoder_threads=...)`` got."""
    import hiprom.io.frames as frames_mod

    calls, real = [], cv2.VideoCapture

    def spy(*args):
        calls.append(args[2:])
        return real(*args)

    monkeypatch.setattr(frames_mod.cv2, "VideoCapture", spy)
    with open_source(path, decoder_threads=decoder_threads) as source:
        assert source.info.kind == "video"
    monkeypatch.setattr(frames_mod.cv2, "VideoCapture", real)
    return calls


@pytest.mark.shared
def test_decoder_threads_auto_is_one_up_to_1080p_and_ffmpegs_choice_above(monkeypatch, real_dir: Path,
                                                                          tmp_path: Path):
    one = [cv2.CAP_PROP_N_THREADS, 1]
    assert _opened_with(monkeypatch, real_dir / PORTRAIT, None)[-1] == (one,)     # 1080 x 1920
    assert _opened_with(monkeypatch, real_dir / PORTRAIT, 0) == [()]
    assert _opened_with(monkeypatch, real_dir / PORTRAIT, 3)[-1] == ([cv2.CAP_PROP_N_THREADS, 3],)
    uhd = write_mp4(tmp_path / "uhd.mp4", [np.zeros((2160, 3840, 3), np.uint8)] * 2)
    assert _opened_with(monkeypatch, uhd, None) == [()]                         # 4K: FFmpeg's choice


@pytest.mark.shared
def test_one_decoder_thread_gives_the_same_frames(real_dir: Path):
    with open_source(real_dir / SMALL, decoder_threads=0) as source:
        default = _signature(source)
    with open_source(real_dir / SMALL, decoder_threads=1) as source:
        single = _signature(source)
    assert single == default and len(default) == 47
