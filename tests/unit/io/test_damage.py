"""Damaged inputs are named for what they are (reliability issue, items 5 and 14).

* A JPEG cut short used to be measured (libjpeg fills the missing rows grey and the pose
  model puts the shins there): it is refused, before decoding, by its missing end marker.
* Any frame whose lower part is a uniform grey band is recorded; a leg lying in it lowers
  the quality (a photo: the reading is withheld).
* A video damaged in the middle is "damaged at frame N", not "truncated"; a damaged index
  of an H.264 file no longer suggests converting to H.264.

Inputs are made at run time from the bundled sample clip (a rendered seated person).
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import SAMPLES
from helpers.cli import invoke
from helpers.synthetic_subject import RIGHT, series_from_body
from helpers.videos import read_bgr_frames, write_mp4

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.core.capture import Capture
from hiprom.errors import InputError
from hiprom.interpret.measure import damaged_leg_frames
from hiprom.io.damage import grey_band_row, image_file_damage
from hiprom.io.frames import open_source

SAMPLE = SAMPLES / "seated_ir_right.mp4"
TRUNCATED = "is truncated: the JPEG data stops before its end-of-image marker, so the lower part of the picture " \
            "is missing"


@pytest.fixture(scope="module")
def person_bgr() -> np.ndarray:
    """A frame of the sample clip: a rendered person seated for the test."""
    return read_bgr_frames(SAMPLE, 1)[0]


@pytest.fixture
def jpeg_bytes(person_bgr) -> bytes:
    ok, buf = cv2.imencode(".jpg", person_bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def cut(data: bytes, share: float, path: Path) -> Path:
    path.write_bytes(data[: int(len(data) * share)])
    return path


# --- item 5: truncated images ---------------------------------------------------------------------

def test_jpeg_and_png_structure(tmp_path, jpeg_bytes, person_bgr):
    assert image_file_damage(cut(jpeg_bytes, 1.0, tmp_path / "whole.jpg")) is None
    assert image_file_damage(cut(jpeg_bytes, 0.65, tmp_path / "cut.jpg")) == \
        "the JPEG data stops before its end-of-image marker"
    assert image_file_damage(cut(jpeg_bytes, 0.001, tmp_path / "head.jpg")) == \
        "the JPEG file ends inside its header, before any picture data"
    # an EXIF thumbnail carries its own end marker inside APP1: it must not count as the image's
    thumb = b"\xff\xd8" + b"thumbnail" + b"\xff\xd9"
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + len(thumb)) + thumb
    with_thumb = jpeg_bytes[:2] + app1 + jpeg_bytes[2:]
    assert image_file_damage(cut(with_thumb, 1.0, tmp_path / "thumb.jpg")) is None
    assert image_file_damage(cut(with_thumb, 0.65, tmp_path / "thumb_cut.jpg")) == \
        "the JPEG data stops before its end-of-image marker"
    ok, png = cv2.imencode(".png", person_bgr)
    assert image_file_damage(cut(png.tobytes(), 1.0, tmp_path / "whole.png")) is None
    assert image_file_damage(cut(png.tobytes(), 0.65, tmp_path / "cut.png")) == \
        "the PNG data stops inside its 'IDAT' chunk, before the IEND chunk"
    assert image_file_damage(SAMPLE) is None                     # not an image: not judged here


def test_a_truncated_jpeg_is_refused_before_it_is_decoded(tmp_path, jpeg_bytes, capfd):
    """The JPEG cut at 65 % of its bytes is refused (libjpeg's "Premature end of JPEG file"
    never reaches stderr, because it is never decoded)."""
    path = cut(jpeg_bytes, 0.65, tmp_path / "photo.jpg")
    with pytest.raises(InputError) as info:
        open_source(path)
    assert str(info.value).startswith(f"{path}: {TRUNCATED}")
    assert "Copy the photo again" in info.value.fix
    assert "Premature end" not in capfd.readouterr().err


def test_cli_refuses_a_truncated_photo_and_a_folder_holding_only_one(tmp_path, jpeg_bytes):
    photo = cut(jpeg_bytes, 0.65, tmp_path / "photo.jpg")
    (tmp_path / "folder").mkdir()
    in_folder = cut(jpeg_bytes, 0.65, tmp_path / "folder" / "p1.jpg")
    for given, named in ((photo, photo), (tmp_path / "folder", in_folder)):
        result = invoke("analyze", given, "--out", tmp_path / "out")
        assert result.exit_code == 1, result.stderr
        assert result.stderr.startswith(f"error: {named}: {TRUNCATED}"), result.stderr
        assert "no person was found" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- item 5: grey bands in decoded frames ---------------------------------------------------------

def test_grey_band_row():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)
    assert grey_band_row(scene) is None
    cut_grey = scene.copy()
    cut_grey[260:] = 128                                          # what libjpeg fills a cut JPEG with
    assert grey_band_row(cut_grey) == 260
    assert grey_band_row(cut_grey[:, :, 0]) == 260                # a grey-level frame too
    noisy = cut_grey.copy()
    noisy[260:] = 128 + rng.integers(-2, 3, (140, 300, 3))        # within ±2 levels (compression): still missing
    assert grey_band_row(noisy) == 260
    thin = scene.copy()
    thin[-5:] = 128                                               # a few flat rows: padding, not damage
    assert grey_band_row(thin) is None
    for level in (0, 255, 60):                                    # black letterbox, white, dark grey floor
        bar = scene.copy()
        bar[300:] = level
        assert grey_band_row(bar) is None
    tinted = scene.copy()
    tinted[300:] = (128, 128, 140)                                # coloured, not the decoder's neutral grey
    assert grey_band_row(tinted) is None


def test_frame_source_records_frames_with_a_grey_band(tmp_path, person_bgr):
    small = cv2.resize(person_bgr, (180, 320), interpolation=cv2.INTER_AREA)
    frames = [small.copy() for _ in range(12)]
    for f in frames[4:8]:
        f[208:] = 128                                             # 35 % missing, at a 16-row block edge
    clip = write_mp4(tmp_path / "grey.mp4", frames)
    with open_source(clip) as source:
        assert sum(1 for _ in source) == 12
    assert [i for i, _ in source.damaged] == [4, 5, 6, 7]
    assert all(abs(row - 208) <= 2 for _, row in source.damaged), source.damaged


def test_a_leg_in_a_damaged_part_lowers_quality_and_a_photo_is_withheld():
    clean = series_from_body(RIGHT)
    ankle_y = clean.image_px[:, 28, 1]                            # right ankle, the lowest point of the leg
    above_legs = int(np.nanmin(clean.image_px[:, [25, 26], 1])) - 100
    n = clean.n_frames
    def damaged(frames, row: int, kind: str = "video"):
        return clean.replace(capture=Capture(kind=kind, damaged_frames=[(i, row) for i in frames]))

    few, many = damaged(range(60, 62), above_legs), damaged(range(60, 80), above_legs)
    below = damaged(range(60, 80), int(ankle_y.max()) + 60)
    assert damaged_leg_frames(few, "right") == 2 and damaged_leg_frames(below, "right") == 0
    reason = "the right lower leg lies in a damaged part of {} of {} frames (a uniform grey band where the picture " \
             "data is missing); use an undamaged copy of the file"
    q_few = analyze_landmarks(few, Config()).sides["right"].quality
    q_many = analyze_landmarks(many, Config()).sides["right"].quality
    assert reason.format(2, n) in q_few.reasons and q_few.score <= 0.7 and not q_few.withheld       # minor
    assert reason.format(20, n) in q_many.reasons and q_many.score <= 0.4 and not q_many.withheld   # major
    assert not any("damaged" in r for r in analyze_landmarks(below, Config()).sides["right"].quality.reasons)
    photo = damaged([int(few.frame_index[90])], above_legs, kind="image")
    still = analyze_landmarks(photo, Config()).sides["right"]
    assert still.quality.withheld and still.peak_ir_deg is None
    assert "the right lower leg lies in a damaged part of 1 image(s)" in still.quality.reasons[0]


# --- item 14: what is actually wrong with a video ---------------------------------------------------

def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        yield kind, pos + 8, pos + size
        pos += size


def _box(data: bytes, *path: bytes) -> tuple[int, int]:
    start, end = 0, len(data)
    for kind in path:
        start, end = next((p, e) for k, p, e in _boxes(data, start, end) if k == kind)
    return start, end


def test_corrupt_data_in_the_middle_is_damage_not_truncation(tmp_path):
    data = bytearray(SAMPLE.read_bytes())
    start, end = _box(bytes(data), b"mdat")
    at = start + (end - start) // 2
    data[at:at + 20000] = bytes(20000)
    path = tmp_path / "mid.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info, open_source(path) as source:
        for _ in source:
            pass
    text = str(info.value)
    assert text.startswith(f"{path}: is damaged: decoding stopped after frame ")
    assert "of the 216 it declares, although the file is complete (not truncated)" in text
    assert "truncated:" not in text and "ffmpeg -i INPUT -t " in info.value.fix


def test_a_damaged_index_of_an_h264_file_does_not_suggest_converting_to_h264(tmp_path):
    data = bytearray(SAMPLE.read_bytes())
    stbl = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
    p, e = _box(bytes(data), *stbl, b"stco")                      # chunk offsets zeroed: frames point nowhere
    data[p + 8:e] = bytes(e - p - 8)
    offsets = tmp_path / "offsets.mp4"
    offsets.write_bytes(bytes(data))
    data = bytearray(SAMPLE.read_bytes())
    p, e = _box(bytes(data), *stbl, b"stsd")                      # decoder settings (avcC) zeroed
    data[p + 40:e] = bytes(e - p - 40)
    settings = tmp_path / "settings.mp4"
    settings.write_bytes(bytes(data))
    for path, what in ((offsets, "but its first frame cannot be decoded: its index or its video data is damaged"),
                       (settings, "but it cannot be opened: its index (the 'moov' box")):
        with pytest.raises(InputError) as info:
            open_source(path)
        assert str(info.value).startswith(
            f"{path}: is damaged: it is an H.264 video (codec 'avc1'), which this build decodes, {what}")
        assert "Convert it to H.264" not in info.value.fix and "Copy the original file again" in info.value.fix
