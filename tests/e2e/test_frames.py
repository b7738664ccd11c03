"""Tests for hiprom.io.frames on the shared real and rendered clips: full decoding, frame rates,
rotation metadata, mirroring, truncated and undecodable files, threaded reading, decoder threads
(``shared_dir``: skipped outside CI when missing, a failure in CI)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.frame_checks import assert_input_error, reader_threads
from helpers.frame_checks import run_python as _run
from helpers.mp4util import read_display_matrix, set_display_rotation
from helpers.videos import write_rgb_mp4 as write_mp4

from hiprom.errors import InputError
from hiprom.io.frames import Frame, iter_frames_threaded, open_source

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


# --- Real clips ------------------------------------------------------------------------


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


# --- Rotation metadata -----------------------------------------------------------------


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


# --- Mirroring -------------------------------------------------------------------------


@pytest.mark.shared
def test_mirrored_is_exact_left_right_flip(real_dir: Path):
    with open_source(real_dir / SMALL) as a, open_source(real_dir / SMALL, mirrored=True) as b:
        assert b.info.mirrored is True and a.info.mirrored is False
        for fa, fb, _ in zip(a, b, range(5)):
            assert fb.rgb.flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(fb.rgb, fa.rgb[:, ::-1])
            assert fb.time_s == fa.time_s


# --- Images ----------------------------------------------------------------------------


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


# --- Bad input -------------------------------------------------------------------------


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


# --- Threaded iteration ----------------------------------------------------------------


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


# --- Logs ------------------------------------------------------------------------------


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


# --- Decoder threads -------------------------------------------------------------------


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
