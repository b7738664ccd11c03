"""Writing a video browsers and phones play: H.264 in MP4, through PyAV (FFmpeg in its wheel).

>>> with VideoWriter("out.mp4", fps=29.97, size=(1080, 1920)) as w:   # doctest: +SKIP
...     w.write(rgb)                                                    # (H, W, 3) uint8, RGB

The stream is H.264 (``libx264``, else ``libopenh264``, else FFmpeg's ``h264`` encoder),
4:2:0 chroma (``yuv420p``: what Chromium, Safari and phones decode), constant frame rate
(the given one, e.g. 30000/1001 for 29.97), the index at the front of the file
(``movflags=+faststart``: playback starts before the whole file is loaded). 4:2:0 needs an
even width and height: an odd last row or column is repeated (the picture keeps every pixel).
Only if no H.264 encoder exists in this FFmpeg, MPEG-4 Part 2 is written instead
(:attr:`VideoWriter.codec` says which).
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VideoWriter", "h264_encoder", "H264_ENCODERS"]

#: H.264 encoders, best first (PyAV's Linux, macOS and Windows wheels ship libx264 or openh264).
H264_ENCODERS = ("libx264", "libopenh264", "h264")


def h264_encoder() -> str | None:
    """The first H.264 encoder this PyAV can use, or None."""
    import av

    available = av.codecs_available
    for name in H264_ENCODERS:
        if name in available:
            try:
                av.Codec(name, "w")
            except (av.FFmpegError, ValueError):
                continue
            return name
    return None


def _rate(fps: float) -> Fraction:
    """29.97 → 30000/1001, 25 → 25 (a rate close to an NTSC one is that one exactly)."""
    for base in (24, 30, 60, 120):
        ntsc = Fraction(base * 1000, 1001)
        if abs(float(ntsc) - fps) < 5e-3:
            return ntsc
    return Fraction(fps).limit_denominator(1000)


class VideoWriter:
    """An MP4 (or MOV) file written frame by frame; see the module notes.

    Parameters
    ----------
    path
        The file to write (its suffix chooses MP4 or QuickTime).
    fps
        Frames per second (constant).
    size
        ``(width, height)`` of every frame, pixels.
    crf
        x264 quality (lower is better; 20 is visually lossless for overlays on footage).
    """

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int], crf: int = 20):
        import av

        self.path, self.size = Path(path), (int(size[0]), int(size[1]))
        self.codec = h264_encoder() or "mpeg4"
        fmt = "mov" if self.path.suffix.lower() == ".mov" else "mp4"
        self._container = av.open(str(self.path), "w", format=fmt, options={"movflags": "+faststart"})
        try:
            rate = _rate(float(fps))
            options: dict[str, Any] = {"crf": str(crf), "preset": "veryfast"} if self.codec == "libx264" else {}
            self._stream = self._container.add_stream(self.codec, rate=rate, options=options)
            w, h = self.size
            self._stream.width, self._stream.height = w + w % 2, h + h % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.time_base = 1 / rate
            if self.codec != "libx264":
                self._stream.bit_rate = int(0.15 * w * h * float(rate))
        except BaseException:
            self._container.close()
            raise
        self._n = 0

    def write(self, rgb: np.ndarray) -> None:
        """Add one ``(height, width, 3)`` uint8 RGB frame."""
        import av

        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"expected a {self.size[0]}×{self.size[1]} frame, got {rgb.shape[1]}×{rgb.shape[0]}")
        h, w = rgb.shape[:2]
        if w % 2 or h % 2:
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = self._n
        self._n += 1
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def abort(self) -> None:
        """Close without flushing (after an error; the file is then removed by the caller)."""
        if self._container is not None:
            with contextlib.suppress(Exception):     # already failing; the caller removes the file
                self._container.close()
            self._container = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
