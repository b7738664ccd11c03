"""Tiny pure-Python MP4 (ISO-BMFF) editing helpers for the tests.

``set_display_rotation(src, dst, degrees)`` rewrites the 3x3 display matrix in the
``tkhd`` (track header) box of every video track, the way a phone marks a portrait
recording whose pixels were stored landscape. Only the 36 matrix bytes change, so no
offsets (``stco``/``co64``) need fixing and the file stays valid.

Direction convention (checked empirically against OpenCV 5 / FFmpeg, see
``tests/e2e/test_frames.py::test_rotation_90_*``):

The tkhd matrix maps a stored pixel ``(x, y)`` (y pointing DOWN) to display coordinates::

    x' = a*x + c*y + tx
    y' = b*x + d*y + ty

with ``(a, b, c, d) = (cos t, sin t, -sin t, cos t)``. Because y points down this is a
CLOCKWISE turn by ``t`` on screen. ``degrees=90`` therefore writes ``a=0, b=1, c=-1, d=0``,
which is exactly what iPhones / Android write for a portrait video (FFmpeg's
``av_display_rotation_get`` reports it as -90, i.e. 90 clockwise), and OpenCV reports
``CAP_PROP_ORIENTATION_META == 90`` and turns the frames 90 degrees clockwise. So: store the
pixels turned 90 degrees COUNTER-clockwise (``np.rot90(upright, k=1)``) and mark them 90
(clockwise) to get the upright picture back.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["iter_boxes", "set_display_rotation", "read_display_matrix", "set_sample_deltas"]

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}
_ONE = 0x00010000  # 1.0 in 16.16 fixed point
_W_ONE = 0x40000000  # 1.0 in 2.30 fixed point


def iter_boxes(data: bytes | bytearray, start: int = 0, end: int | None = None):
    """Yield ``(type, box_start, payload_start, box_end)`` for the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:  # 64-bit "largesize"
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:  # box runs to the end of the enclosing space
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"bad or truncated MP4 box {kind!r} at offset {pos}")
        yield kind, pos, pos + header, pos + size
        pos += size


def _child(data, kind: bytes, start: int, end: int):
    for k, _b, payload, box_end in iter_boxes(data, start, end):
        if k == kind:
            return payload, box_end
    return None


def _video_tkhd_payloads(data) -> list[int]:
    """Payload offsets of the tkhd boxes of all video tracks (handler 'vide')."""
    out = []
    moov = _child(data, b"moov", 0, len(data))
    if moov is None:
        raise ValueError("no moov box (not an MP4, or truncated)")
    for kind, _b, payload, box_end in iter_boxes(data, *moov):
        if kind != b"trak":
            continue
        tkhd = _child(data, b"tkhd", payload, box_end)
        mdia = _child(data, b"mdia", payload, box_end)
        hdlr = _child(data, b"hdlr", *mdia) if mdia else None
        # hdlr payload: version/flags(4) pre_defined(4) handler_type(4)
        if tkhd and hdlr and data[hdlr[0] + 8 : hdlr[0] + 12] == b"vide":
            out.append(tkhd[0])
    if not out:
        raise ValueError("no video track found")
    return out


def _matrix_offset(data, tkhd_payload: int) -> int:
    version = data[tkhd_payload]
    if version not in (0, 1):
        raise ValueError(f"unsupported tkhd version {version}")
    # version/flags(4), then times + track_ID + reserved + duration:
    # v0: 4+4+4+4+4 = 20, v1: 8+8+4+4+8 = 32; then reserved(8) layer(2) alt_group(2)
    # volume(2) reserved(2) = 16 bytes before the matrix.
    return tkhd_payload + 4 + (20 if version == 0 else 32) + 16


def _matrix_for(degrees: int, width: int, height: int) -> tuple[int, ...]:
    """Clockwise display rotation (see the module docstring); translations as phones write."""
    neg = 0x100000000 - _ONE  # -1.0 in 16.16, as an unsigned 32-bit value
    return {
        0: (_ONE, 0, 0, 0, _ONE, 0, 0, 0, _W_ONE),
        90: (0, _ONE, 0, neg, 0, 0, height << 16, 0, _W_ONE),
        180: (neg, 0, 0, 0, neg, 0, width << 16, height << 16, _W_ONE),
        270: (0, neg, 0, _ONE, 0, 0, 0, width << 16, _W_ONE),
    }[degrees]


def read_display_matrix(path: str | Path) -> list[tuple[int, ...]]:
    """The raw 9 matrix words of every video track (for inspection in tests)."""
    data = Path(path).read_bytes()
    return [
        struct.unpack_from(">9I", data, _matrix_offset(data, p)) for p in _video_tkhd_payloads(data)
    ]


def set_display_rotation(src: str | Path, dst: str | Path, degrees: int) -> Path:
    """Copy ``src`` to ``dst`` with every video track's display matrix set to ``degrees``
    (0/90/180/270, clockwise on screen). Works for tkhd version 0 and 1."""
    if degrees not in (0, 90, 180, 270):
        raise ValueError(f"degrees must be 0, 90, 180 or 270, got {degrees}")
    data = bytearray(Path(src).read_bytes())
    for payload in _video_tkhd_payloads(data):
        off = _matrix_offset(data, payload)
        # stored width/height (16.16) follow the matrix
        width, height = (v >> 16 for v in struct.unpack_from(">II", data, off + 36))
        struct.pack_into(">9I", data, off, *_matrix_for(degrees, width, height))
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


def _find_chain(data, kinds: list[bytes], start: int = 0, end: int | None = None, chain=()):
    """Box spans ``(box_start, payload_start, box_end)`` from the top down to ``kinds[-1]``."""
    for kind, box_start, payload, box_end in iter_boxes(data, start, end):
        if kind != kinds[0]:
            continue
        here = chain + ((box_start, payload, box_end),)
        if len(kinds) == 1:
            return here
        found = _find_chain(data, kinds[1:], payload, box_end, here)
        if found:
            return found
    return None


def set_sample_deltas(src: str | Path, dst: str | Path, deltas: list[int]) -> Path:
    """Copy ``src`` to ``dst`` with the first track's ``stts`` (sample durations, in the
    track timescale) replaced by ``deltas``, one per sample. A delta of 0 makes the next
    sample repeat the previous timestamp (broken pts). The ``moov`` box must come after
    ``mdat`` (as cv2.VideoWriter writes it), so growing it shifts no sample offsets."""
    data = bytearray(Path(src).read_bytes())
    chain = _find_chain(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    mdat = _find_chain(data, [b"mdat"])
    if chain is None or mdat is None or mdat[0][0] > chain[0][0]:
        raise ValueError("need an MP4 with moov after mdat and an stts box")
    _b, payload, end = chain[-1]
    entries: list[list[int]] = []
    for d in deltas:
        if entries and entries[-1][1] == d:
            entries[-1][0] += 1
        else:
            entries.append([1, d])
    new = struct.pack(">II", 0, len(entries))
    new += b"".join(struct.pack(">II", count, delta) for count, delta in entries)
    grow = len(new) - (end - payload)
    data[payload:end] = new
    for box_start, _p, _e in chain:  # every enclosing box grows by the same amount
        (size,) = struct.unpack_from(">I", data, box_start)
        if size == 1:
            raise ValueError("64-bit box sizes are not supported here")
        struct.pack_into(">I", data, box_start, size + grow)
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst
