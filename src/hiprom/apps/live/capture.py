"""Live mode's capture side: frames from a camera, a stream or a file, never queued.

:class:`Capture` reads on its own thread into a :class:`LatestFrame` box: a frame not yet
taken is replaced by the next one (a drop), so a slow consumer always gets the newest frame.
See :mod:`hiprom.live` for how the threads fit together.
"""

from __future__ import annotations

import glob
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import cv2
import numpy as np

from hiprom.errors import HipromError, InputError

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.apps.live.options import LiveOptions
    from hiprom.config import Config

__all__ = ["Grab", "LatestFrame", "Capture", "open_camera", "STREAM_TIMEOUT_MS"]

#: A stream that does not open, or stops sending, for this long is given up (milliseconds).
STREAM_TIMEOUT_MS = 5000


@dataclass(frozen=True, eq=False)
class Grab:
    """One captured frame: source index, time for the recorder, capture instant, RGB pixels."""

    index: int
    time_s: float
    captured_s: float
    rgb: np.ndarray


class LatestFrame:
    """A one-slot box: :meth:`put` replaces a frame not yet taken (a drop), :meth:`get` takes it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Grab | None = None
        self.closed = False
        self.dropped = 0

    def put(self, item: Grab, *, wait: bool = False) -> bool:
        """Offer a frame; with ``wait`` block until the slot is free. False once closed."""
        with self._cond:
            while wait and self._item is not None and not self.closed:
                self._cond.wait(0.1)
            if self.closed:
                return False
            self.dropped += self._item is not None
            self._item = item
            self._cond.notify_all()
            return True

    def get(self, timeout: float = 0.5) -> Grab | None:
        """The latest frame, waiting up to ``timeout``; None if none came (or closed and empty)."""
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


def open_camera(index: int) -> tuple[cv2.VideoCapture, np.ndarray]:
    """Open camera ``index`` and read a first frame; raise naming everything tried."""
    from hiprom.io.video_probe import quiet_opencv_log

    apis = [("V4L2", cv2.CAP_V4L2)] if sys.platform.startswith("linux") else []
    tried = []
    for name, api in apis + [("the default backend", cv2.CAP_ANY)]:
        with quiet_opencv_log():
            cap = cv2.VideoCapture(index, api)
            opened = cap.isOpened()
            ok, bgr = cap.read() if opened else (False, None)
        if ok and bgr is not None:
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            return cap, bgr
        cap.release()
        tried.append(f"camera {index} with {name} ({'opened but gave no frame' if opened else 'cannot be opened'})")
    devices = sorted(glob.glob("/dev/video*"))
    found = ", ".join(devices) if devices else "none (no /dev/video* device)"
    raise InputError(f"camera {index}: no camera could be opened. Tried: {'; '.join(tried)}. "
                     f"Video devices on this machine: {found}",
                     fix="plug in a webcam (or close the program using it), choose another with "
                         "--camera N, or measure a recorded clip with --source clip.mp4.")


def _shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return rgb
    s = max_side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


class Capture(threading.Thread):
    """Reads a source on its own thread into a :class:`LatestFrame` box (see the module doc)."""

    def __init__(self, options: LiveOptions, config: Config, box: LatestFrame, t0: float):
        super().__init__(name=f"hiprom-live-capture:{options.name}", daemon=True)
        self.options, self.box, self.t0 = options, box, t0
        self.mirrored = config.video.mirrored
        self.decoder_threads = config.video.decoder_threads_or_auto
        self.grabbed = 0
        self.late = 0                  # realtime: frames dropped because decoding was late
        self.ended: str | None = None  # why the source stopped (None while running / when stopped)
        self.failure: HipromError | None = None  # the source's own error (a truncated file...), if any
        self.stop = threading.Event()
        self.fps: float | None = None
        self.frame_count: int | None = None
        self.info = None               # hiprom.frames.SourceInfo for a file
        self._open()

    def _open(self) -> None:
        o = self.options
        if o.kind == "file":
            from hiprom.io.frames import open_source

            self._src = open_source(o.source, mirrored=self.mirrored, decoder_threads=self.decoder_threads)
            if self._src.info.kind != "video":
                self._src.close()
                raise InputError(f"is {'an image' if self._src.info.kind == 'image' else 'a folder'}, "
                                 "not a video: live mode needs a camera, a stream or a video file",
                                 path=o.source, fix="measure photos with: hiprom analyze PATH")
            self.info = self._src.info
            self.fps, self.frame_count = self.info.fps, self.info.frame_count
            return
        if o.kind == "camera":
            self._cap, _first = open_camera(o.camera)
        else:
            from hiprom.io.video_probe import quiet_ffmpeg_log, quiet_opencv_log

            quiet_ffmpeg_log()          # FFmpeg's own lines ("Connection refused"...) stay off stderr
            limits = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                      STREAM_TIMEOUT_MS]
            with quiet_opencv_log():
                self._cap = cv2.VideoCapture(o.source, cv2.CAP_FFMPEG, limits)
                ok, _first = self._cap.read() if self._cap.isOpened() else (False, None)
            if not ok:
                self._cap.release()
                raise InputError(f"stream {o.source}: cannot be opened or gave no frame within "
                                 f"{STREAM_TIMEOUT_MS / 1000:g} s (tried OpenCV's FFmpeg backend)",
                                 fix="check the URL in a media player; for a file give its path.")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if np.isfinite(fps) and 0 < fps < 1000 else None

    def release(self) -> None:
        """Close the source without running (the session failed to start)."""
        if self.options.kind == "file":
            self._src.close()
        else:
            self._cap.release()

    def _frames(self) -> Iterator[tuple[int, float | None, np.ndarray]]:
        """(index, presentation time or None, RGB) until the source ends."""
        if self.options.kind == "file":
            with self._src:
                for f in self._src:
                    yield f.index, f.time_s, f.rgb
            self.ended = "end of the clip"
            return
        index = 0
        try:
            while not self.stop.is_set():
                ok, bgr = self._cap.read()
                if not ok or bgr is None:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                yield index, None, (rgb[:, ::-1] if self.mirrored else rgb)
                index += 1
        finally:
            self._cap.release()
        if self.stop.is_set():
            return
        what = "camera" if self.options.kind == "camera" else "stream"
        self.ended = f"the {what} stopped delivering frames ({'unplugged?' if what == 'camera' else 'ended'})"

    def run(self) -> None:
        o, start = self.options, None
        period = 1.0 / self.fps if self.fps else 0.0
        try:
            for index, pts, rgb in self._frames():
                now = time.perf_counter()
                self.grabbed += 1
                if o.realtime and pts is not None:
                    start = now - pts if start is None else start
                    ahead = start + pts - now
                    if ahead > 0 and self.stop.wait(ahead):
                        break
                    if ahead < -period:           # decoded too late: a camera would have moved on
                        self.late += 1
                        continue
                    now = time.perf_counter()
                t = pts if pts is not None else now - self.t0
                grab = Grab(index, float(t), now, np.ascontiguousarray(_shrink(rgb, o.max_side_px)))
                if not self.box.put(grab, wait=not o.realtime and o.kind == "file") or self.stop.is_set():
                    break
        except HipromError as exc:
            self.ended, self.failure = f"the source failed: {exc.what}", exc
        except Exception as exc:  # noqa: BLE001 - reported to the main thread, never a traceback
            self.ended = f"the source failed: {type(exc).__name__}: {exc}"
        finally:
            self.box.close()
