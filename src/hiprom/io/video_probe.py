"""Helpers for :mod:`hiprom.frames`: what is this file, and why can it not be read?

* Cheap, pure-Python looks at a file's first bytes and at its MP4 box structure, used to
  decide what a file is (image, text, video) and, when OpenCV cannot read a video, to say
  *why* (truncated, no video track, unknown codec) instead of a generic failure. Nothing
  here decodes media; only box headers and the ``moov`` box (the index, small) are read.
* The :class:`InputError` texts for videos, and the switches that keep FFmpeg's and
  OpenCV's own log lines off stderr so that our message is what the user sees.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2

from hiprom.errors import InputError

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"\xff\xd8\xff",  # JPEG
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)
# Boxes that may legitimately start an ISO-BMFF (MP4/MOV/3GP) file.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp"}
_MAX_MOOV_BYTES = 256 * 1024 * 1024  # sanity cap: the index of a long 4K video is a few MB


def read_head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def looks_like_image(head: bytes) -> bool:
    """True if the bytes start with a PNG / JPEG / BMP / TIFF / WebP signature."""
    if head.startswith(_IMAGE_MAGIC):
        return True
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def looks_like_text(head: bytes) -> bool:
    """True if the bytes read as text (UTF-8 / ASCII, no NUL, almost all printable)."""
    if not head or b"\x00" in head:
        return False
    for cut in range(4):  # the read may have split a multi-byte character at the end
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    if not text:
        return False
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return printable >= 0.95 * len(text)


def natural_sort_key(name: str) -> tuple:
    """Sort key putting ``img2`` before ``img10`` (case-insensitive; ties broken by the
    exact name so the order is total). Digit runs compare as numbers: ``re.split`` with a
    capturing group alternates text (even positions) and digits (odd positions), so
    position-wise comparison never mixes ``str`` and ``int``."""
    parts = re.split(r"(\d+)", name.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


@dataclass(frozen=True)
class Mp4Probe:
    """What the MP4 box structure says. All fields are None/False if it is not an MP4."""

    is_mp4: bool = False
    truncated: bool = False  # a top-level box runs past the end of the file
    has_moov: bool = False  # the index (sample tables) is present and complete
    video_tracks: int = 0
    codec: str | None = None  # sample-entry fourcc of the first video track ("avc1", "vp09"...)
    sample_count: int | None = None  # frames in the first video track


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= end:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    return next(((p, e) for k, p, e in _boxes(data, start, end) if k == kind), None)


def _path(data: bytes, start: int, end: int, *kinds: bytes) -> tuple[int, int] | None:
    span: tuple[int, int] | None = (start, end)
    for kind in kinds:
        span = _child(data, kind, *span) if span else None
    return span


def probe_mp4(path: Path) -> Mp4Probe:
    """Read the top-level box headers and the moov box of an MP4/MOV file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or head[4:8] not in _MP4_FIRST_BOXES:
            return Mp4Probe()
        pos, truncated, moov = 0, False, None
        while pos + 8 <= size:
            fh.seek(pos)
            header = fh.read(16)
            box_size, kind = struct.unpack_from(">I4s", header)
            hlen = 8
            if box_size == 1 and len(header) >= 16:
                (box_size,) = struct.unpack_from(">Q", header, 8)
                hlen = 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < hlen:  # garbage: stop, as a demuxer would
                truncated = True
                break
            if pos + box_size > size:
                truncated = True
                break
            if kind == b"moov" and box_size <= _MAX_MOOV_BYTES:
                fh.seek(pos)
                moov = fh.read(box_size)
            pos += box_size
    if moov is None:
        return Mp4Probe(is_mp4=True, truncated=truncated)
    return _probe_moov(moov, truncated)


def _probe_moov(moov: bytes, truncated: bool) -> Mp4Probe:
    tracks, codec, count = 0, None, None
    payload = 16 if struct.unpack_from(">I", moov)[0] == 1 else 8
    for kind, start, end in _boxes(moov, payload, len(moov)):
        if kind != b"trak":
            continue
        hdlr = _path(moov, start, end, b"mdia", b"hdlr")
        # hdlr payload: version/flags(4) pre_defined(4) handler_type(4)
        if not hdlr or moov[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        tracks += 1
        if tracks > 1:
            continue
        stbl = _path(moov, start, end, b"mdia", b"minf", b"stbl")
        stsd = _child(moov, b"stsd", *stbl) if stbl else None
        if stsd and stsd[1] - stsd[0] >= 16:  # version/flags(4) count(4), entry size(4) + type(4)
            codec = moov[stsd[0] + 12 : stsd[0] + 16].decode("latin-1").strip("\x00 ") or None
        stsz = (_child(moov, b"stsz", *stbl) or _child(moov, b"stz2", *stbl)) if stbl else None
        if stsz and stsz[1] - stsz[0] >= 12:  # version/flags(4) sample_size(4) count(4)
            (count,) = struct.unpack_from(">I", moov, stsz[0] + 8)
    if _child(moov, b"mvex", payload, len(moov)):  # fragmented MP4: samples live in moof boxes
        count = None
    return Mp4Probe(True, truncated, True, tracks, codec, count)


# --- Messages ---------------------------------------------------------------------------

FIX_COPY = ("Copy the original file again from the phone or camera (or re-export it); a recording "
            "that was interrupted or a partial download cannot be read.")
FIX_CONVERT = ("Convert it to H.264 MP4, e.g. "
               "`ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p out.mp4`, "
               "or export it from the phone as H.264 ('Most Compatible').")
FIX_KIND = ("Pass a video (.mp4, .mov, .m4v, .avi, .mkv, .webm), an image (.png, .jpg...) or a "
            "folder of images.")


#: Codecs (MP4 sample-entry names) this OpenCV/FFmpeg build decodes. A file in one of these
#: that cannot be opened or decoded is damaged; converting it would not help.
DECODABLE_CODECS = {"avc1": "H.264", "avc3": "H.264", "hvc1": "HEVC", "hev1": "HEVC", "mp4v": "MPEG-4",
                    "vp09": "VP9"}


def _codec_text(codec: str) -> str:
    return f"an {DECODABLE_CODECS[codec]} video (codec '{codec}'), which this build decodes"


def no_frames_error(path: Path, why: str) -> InputError:
    return InputError(f"contains no video frames: {why}; expected at least one frame",
                      path=path, fix="Record the video again, or pass a different file.")


def unopenable_error(path: Path) -> InputError:
    """Why OpenCV could not open ``path`` as a video, as far as the bytes tell."""
    probe = probe_mp4(path)
    if probe.is_mp4 and not probe.has_moov:
        why = "the file ends in the middle of its data and " if probe.truncated else ""
        return InputError(f"is truncated or damaged: it starts like an MP4/MOV video but {why}its "
                          "index (the 'moov' box) is missing, so it cannot be opened",
                          path=path, fix=FIX_COPY)
    if probe.is_mp4 and probe.video_tracks == 0:
        return no_frames_error(path, "it has no video track (audio only, or nothing was recorded)")
    if probe.is_mp4 and probe.codec in DECODABLE_CODECS:
        return InputError(f"is damaged: it is {_codec_text(probe.codec)}, but it cannot be opened: its index "
                          "(the 'moov' box: decoder settings and frame tables) is damaged", path=path, fix=FIX_COPY)
    if probe.is_mp4 and probe.codec:
        return InputError(f"cannot be opened as a video: its video codec '{probe.codec}' is "
                          "not one this OpenCV/FFmpeg build can decode (expected e.g. H.264, HEVC, "
                          "VP9)",
                          path=path, fix=FIX_CONVERT)
    return InputError("cannot be opened as a video: OpenCV/FFmpeg does not recognise its format "
                      "(expected a video or an image)", path=path, fix=FIX_KIND)


def first_read_error(path: Path, declared: int | None, codec: str | None) -> InputError:
    """Why a video that opened gives no first frame."""
    probe = probe_mp4(path)
    if probe.truncated:
        n = probe.sample_count if probe.sample_count is not None else declared
        return InputError(f"is truncated: 0 of the {n} frames it declares could be decoded (the "
                          "file ends in the middle of its video data)", path=path, fix=FIX_COPY)
    if declared == 0 or probe.sample_count == 0:
        return no_frames_error(path, "its video track is empty")
    if probe.codec in DECODABLE_CODECS:
        return InputError(f"is damaged: it is {_codec_text(probe.codec)}, but its first frame cannot be "
                          "decoded: its index or its video data is damaged", path=path, fix=FIX_COPY)
    return InputError(
        f"opens as a video but its first frame cannot be decoded (codec '{probe.codec or codec}'): "
        "expected a codec this OpenCV/FFmpeg build can decode, or the video data is damaged",
        path=path, fix=FIX_CONVERT)


def stopped_early_error(path: Path, decoded: int, declared: int, at_s: float) -> InputError:
    """Decoding stopped after ``decoded`` of ``declared`` frames (the last at ``at_s``): a file
    that ends early is truncated; a complete MP4 (every box within the file) is damaged there."""
    probe = probe_mp4(path)
    if probe.is_mp4 and not probe.truncated:
        keep = (f" If the original is damaged too, the part before the damage can be kept: "
                f"`ffmpeg -i INPUT -t {at_s:.2f} -c copy part.mp4`." if at_s >= 1.0 else "")
        return InputError(f"is damaged: decoding stopped after frame {decoded} ({at_s:.2f} s) of the {declared} it "
                          "declares, although the file is complete (not truncated): its video data, or the index "
                          "that locates it, is damaged there", path=path, fix=FIX_COPY + keep)
    if probe.is_mp4:
        return InputError(f"is truncated: only {decoded} of the {declared} frames it declares could "
                          "be decoded (the file ends in the middle of its video data)", path=path, fix=FIX_COPY)
    return InputError(f"stopped decoding early: only {decoded} of the {declared} frames it declares could be "
                      "decoded (the file is truncated, or its video data is damaged there)", path=path, fix=FIX_COPY)


def fourcc_text(cap: cv2.VideoCapture) -> str | None:
    """The capture's codec tag as text ("h264", "VP90"...), or None."""
    code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("latin-1").strip("\x00 ")
    return text if text and text.isprintable() else None


# --- Log silencing ----------------------------------------------------------------------

_LOG_LOCK = threading.Lock()


def quiet_ffmpeg_log() -> None:
    """Keep FFmpeg's own log lines ("moov atom not found", "partial file"...) off stderr.

    OpenCV reads OPENCV_FFMPEG_LOGLEVEL once, when its FFmpeg backend is first used in the
    process (checked: setting it later has no effect), so this is called just before every
    capture is made and helps if hiprom makes the first one. A value the user set (or
    OPENCV_FFMPEG_DEBUG) is left alone. Nothing is set at import time."""
    if "OPENCV_FFMPEG_LOGLEVEL" not in os.environ and "OPENCV_FFMPEG_DEBUG" not in os.environ:
        os.environ["OPENCV_FFMPEG_LOGLEVEL"] = "-8"  # AV_LOG_QUIET


@contextmanager
def quiet_opencv_log():
    """Silence OpenCV's own log (e.g. its WARN line when a capture fails to open) for the
    duration, then restore the level; skipped if the user set OPENCV_LOG_LEVEL."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None or "OPENCV_LOG_LEVEL" in os.environ:
        yield
        return
    with _LOG_LOCK:
        previous = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            logging.setLogLevel(previous)
