"""Damaged pictures: a file cut short, or a frame whose lower part the decoder could not fill.

Two checks, both cheap:

* :func:`image_file_damage` reads a JPEG's or PNG's structure (no decoding). A JPEG whose
  data stops before its end-of-image marker (``FF D9``) or a PNG without its ``IEND`` chunk
  was cut short: a partial copy or download. libjpeg decodes such a JPEG anyway, says only
  "Premature end of JPEG file" on stderr and fills the missing rows with mid-grey, so the
  pose model would place the shins in a grey band and the reading would look normal.
* :func:`grey_band_row` looks at the decoded pixels of any frame (image or video): a band of
  rows reaching the bottom edge in which every pixel is the same neutral grey (what a
  decoder puts where data is missing: libjpeg 128, 128, 128) is no part of a photographed
  scene, where sensor noise alone varies the pixels of a row by more than a few levels.
  Rows are tested from the bottom up and the test stops at the first row with detail, so a
  normal frame costs one row.

Pure functions of bytes and arrays; the frame reader (:mod:`hiprom.io.frames`) calls them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

__all__ = ["image_file_damage", "grey_band_row", "GREY_LEVELS", "MIN_BAND_ROWS"]

#: Neutral levels a decoder fills missing data with (libjpeg: 128; some fill 127 or 129).
GREY_LEVELS = (120, 136)
#: A band must be at least this many rows (and 1 % of the height) to count: one or two flat
#: rows at the bottom edge can be a letterbox or an encoder's padding.
MIN_BAND_ROWS = 8
#: Largest spread (max - min over the row, every channel) of a row that counts as uniform.
_ROW_SPREAD = 4

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length


def _jpeg_problem(data: bytes) -> str | None:
    """Why a JPEG was cut short (None when its end-of-image marker is there, or when its header
    is not a marker structure at all: that is damage the decoder reports).

    The header segments are walked by their lengths (an EXIF thumbnail inside APP1 carries
    its own end marker, which must not count) up to the first start-of-scan; after it,
    ``FF D9`` can only be the end-of-image marker, because a ``FF`` byte inside the
    compressed data is always followed by ``00`` or a restart marker.
    """
    pos, n = 2, len(data)
    while True:
        if pos < n and data[pos] != 0xFF:
            return None                               # not a marker: damage the decoder reports, not a cut
        while pos < n and data[pos] == 0xFF:          # fill bytes before a marker
            pos += 1
        if pos >= n:
            return "the JPEG file ends inside its header, before any picture data"
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return "the JPEG file ends before its picture data (end-of-image marker right after the header)"
        if marker in _JPEG_STANDALONE:
            continue
        if pos + 2 > n:
            return "the JPEG file ends inside its header, before any picture data"
        length = struct.unpack_from(">H", data, pos)[0]
        if marker == 0xDA:                            # start of scan: the compressed picture follows
            break
        pos += length
        if pos > n:
            return "the JPEG file ends inside its header, before any picture data"
    if data.find(b"\xff\xd9", pos) < 0:
        return "the JPEG data stops before its end-of-image marker"
    return None


def _png_problem(data: bytes) -> str | None:
    """Why a PNG's chunk structure is incomplete (None when it reaches its IEND chunk, or when
    the bytes are not chunks at all: that is damage the decoder reports)."""
    pos, n = len(_PNG_SIGNATURE), len(data)
    while pos + 8 <= n:
        length, kind = struct.unpack_from(">I4s", data, pos)
        if not kind.isalpha() or not kind.isascii():
            return None                               # not chunks at all: garbage, for the decoder to refuse
        pos += 12 + length                            # length, type, data, CRC
        if pos > n:
            return f"the PNG data stops inside its {kind.decode('latin-1')!r} chunk, before the IEND chunk"
        if kind == b"IEND":
            return None
    return "the PNG data stops before its IEND chunk"


def image_file_damage(path: str | Path) -> str | None:
    """Why a JPEG or PNG file is incomplete, or None (intact, or another format).

    Examples: ``"the JPEG data stops before its end-of-image marker"``,
    ``"the PNG data stops inside its 'IDAT' chunk, before the IEND chunk"``.
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xff\xd8"):
        return _jpeg_problem(data)
    if data.startswith(_PNG_SIGNATURE):
        return _png_problem(data)
    return None


def grey_band_row(pixels: np.ndarray) -> int | None:
    """First row of a uniform neutral-grey band that reaches the bottom edge, or None.

    A row belongs to the band when its pixels spread by at most 4 levels in every channel,
    its channels agree (neutral: R = G = B within 4) and its mean lies in
    :data:`GREY_LEVELS`. The band must be at least ``max(MIN_BAND_ROWS, 1 % of the
    height)`` rows tall.

    Parameters
    ----------
    pixels
        ``(H, W, 3)`` uint8 (RGB or BGR: the test is the same) or ``(H, W)`` grey.
    """
    img = pixels if pixels.ndim == 3 else pixels[:, :, None]
    h = img.shape[0]
    lo, hi = GREY_LEVELS
    top = h
    while top > 0:
        row = img[top - 1]
        if int(row.max()) - int(row.min()) > _ROW_SPREAD or not lo <= float(row.mean()) <= hi:
            break
        top -= 1
    return top if h - top >= max(MIN_BAND_ROWS, 0.01 * h) else None
