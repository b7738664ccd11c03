"""The test's own facts: the TestInfo object, the clip's creation time as the default test date."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from hiprom.core.result_schema import ResultSchemaError, validate_result_dict
from hiprom.core.session import TestInfo, parse_test_date
from hiprom.io.creation_time import creation_time


def clip(path: Path, tag: str | None) -> Path:
    with av.open(str(path), "w") as c:
        if tag is not None:
            c.metadata["creation_time"] = tag
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            for packet in s.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def test_a_video_says_when_it_was_recorded(tmp_path: Path) -> None:
    assert creation_time(clip(tmp_path / "a.mp4", "2024-05-01T10:12:13.000000Z")) == "2024-05-01T10:12:13+00:00"
    assert creation_time(clip(tmp_path / "b.mp4", None)) is None
    assert creation_time(clip(tmp_path / "c.mp4", "1970-01-01T00:00:00Z")) is None      # an unset tag
    assert creation_time(tmp_path / "missing.mp4") is None


def test_a_photo_says_when_it_was_taken(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2023:02:03 04:05:06"                              # DateTimeOriginal
    Image.new("RGB", (8, 8)).save(tmp_path / "p.jpg", exif=exif)
    Image.new("RGB", (8, 8)).save(tmp_path / "q.png")
    assert creation_time(tmp_path / "p.jpg") == "2023-02-03T04:05:06"
    assert creation_time(tmp_path / "q.png") is None
    assert creation_time(tmp_path) == "2023-02-03T04:05:06"                           # a folder: its first photo


@pytest.mark.parametrize("text, iso", [("2024-05-01", "2024-05-01"), ("2024-05-01 10:12", "2024-05-01T10:12:00"),
                                       ("2024-05-01T10:12:00Z", "2024-05-01T10:12:00+00:00")])
def test_test_dates(text: str, iso: str) -> None:
    assert parse_test_date(text) == iso


def test_test_info_is_checked_and_kept_in_result_json() -> None:
    info = TestInfo().updated(date="2024-05-01", examiner=" AB ", pain="left")
    assert info.to_dict() == {"date": "2024-05-01", "date_source": "given", "examiner": "AB", "notes": None,
                              "pain": "left", "position": "seated"}
    with pytest.raises(ValueError, match="pain must be one of no, left, right, both"):
        TestInfo(pain="yes")
    with pytest.raises(ValueError, match="expected a date YYYY-MM-DD"):
        TestInfo(date="01/05/2024", date_source="given")
    base = {"schema": "hiprom.result", "schema_version": 1, "sides": {"left": {}, "right": {}}}
    assert validate_result_dict({**base, "test": info.to_dict()})
    with pytest.raises(ResultSchemaError, match="test: position must be one of seated, prone, supine"):
        validate_result_dict({**base, "test": {**info.to_dict(), "position": "standing"}})
