"""Streaming frame sources: a video file, a single image, or a folder of images.

>>> with open_source("clip.mp4") as source:          # doctest: +SKIP
...     for frame in iter_frames_threaded(source):   # decoding overlaps with your work
...         use(frame.rgb, frame.time_s)

Videos are decoded one frame at a time with OpenCV's FFmpeg backend; a video is never held
in memory. Frames come out upright: OpenCV applies the container's rotation metadata
(``CAP_PROP_ORIENTATION_AUTO``, on by default; we set it explicitly) and
``SourceInfo.rotation_deg`` says which clockwise turn was applied. Images are read with
``cv2.imread`` (which applies EXIF orientation).

Times: for videos ``Frame.time_s`` is the decoder's presentation time in seconds, made
strictly increasing (see :class:`_Timestamps`). For images the times are ORDINAL, not
seconds: ``time_s == index`` (0, 1, 2...).

Every bad input raises :class:`hiprom.errors.InputError` naming the file. A video that
stops decoding well short of the frame count its container declares raises the error from
the iterator, after the frames that could be decoded.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hiprom.errors import InputError
from hiprom.io.damage import grey_band_row, image_file_damage
from hiprom.io.filetypes import IMAGE_EXTENSIONS
from hiprom.io.paths import check_input_path
from hiprom.io.video_probe import (
    FIX_COPY,
    FIX_KIND,
    first_read_error,
    fourcc_text,
    looks_like_image,
    looks_like_text,
    natural_sort_key,
    quiet_ffmpeg_log,
    quiet_opencv_log,
    read_head,
    stopped_early_error,
    unopenable_error,
)

__all__ = ["Frame", "SourceInfo", "FrameSource", "open_source", "iter_frames_threaded",
           "natural_sort_key", "IMAGE_EXTENSIONS"]

#: With ``decoder_threads=None``, videos up to this many pixels (1080p) are decoded on one
#: thread: beside the pose model (about one core) that is the fastest split of two cores;
#: larger frames (4K) need FFmpeg's threads to keep up.
AUTO_ONE_THREAD_MAX_PX = 1920 * 1088


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based decode order
    time_s: float  # decoder presentation time in seconds (images: ordinal == index)
    rgb: np.ndarray  # (H, W, 3) uint8 RGB, upright, C-contiguous


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    kind: str  # "video" | "image" | "images" (a folder of images)
    width_px: int  # upright (after rotation); for "images" the first image's
    height_px: int
    fps: float | None  # as the container says (29.97 stays 30000/1001); None for images
    frame_count: int | None  # declared by the container (None if unknown); images: file count
    duration_s: float | None
    rotation_deg: int  # clockwise turn applied from rotation metadata (0/90/180/270)
    codec: str | None  # FFmpeg codec tag as OpenCV reports it ("h264", "VP90", "mp4v"...)
    mirrored: bool  # frames are flipped left-right before being returned
    files: tuple[Path, ...] = ()  # kind "images": the image files in natural order


class _Timestamps:
    """Turns raw decoder times into strictly increasing ones.

    A time that repeats or goes backwards (broken pts) becomes previous + 1 us and is
    counted in ``fixes``. If the decoder gives no times at all (frame 1 is still at 0),
    every time is ``index / fps`` instead and ``from_fps`` is set."""

    def __init__(self, fps: float | None):
        self.fps, self.fixes, self.from_fps = fps, 0, False
        self._prev: float | None = None

    def __call__(self, index: int, raw_s: float) -> float:
        if index == 1 and self.fps and raw_s == 0.0 and self._prev == 0.0:
            self.from_fps = True
        t = index / self.fps if self.from_fps and self.fps else raw_s
        if self._prev is not None and not (math.isfinite(t) and t > self._prev):
            t, self.fixes = self._prev + 1e-6, self.fixes + 1
        elif not math.isfinite(t):
            t = 0.0
        self._prev = t
        return t


class FrameSource:
    """Frames of one input; iterate it (again) for a new pass, use it as a context manager.

    Attributes after (or during) a pass: ``frames_decoded``, ``timestamp_fixes`` (times that
    had to be nudged forward), ``timestamps_from_fps`` (the decoder gave no times) and
    ``damaged``: ``[(frame index, first row of a uniform grey band)]`` for the frames whose
    lower part the decoder could not fill (:func:`hiprom.io.damage.grey_band_row`)."""

    def __init__(self, info: SourceInfo):
        self.info = info
        self.frames_decoded = 0
        self.timestamp_fixes = 0
        self.timestamps_from_fps = False
        self.damaged: list[tuple[int, int]] = []
        self._closed = False

    def _frames(self) -> Iterator[tuple[int, float, np.ndarray]]:  # (index, time_s, bgr)
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise ValueError(f"{self.info.path}: this frame source is closed")
        self.frames_decoded = 0
        self.damaged = []
        for index, time_s, bgr in self._frames():
            band = grey_band_row(bgr)
            if band is not None:
                self.damaged.append((index, band))
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if self.info.mirrored:
                rgb = np.ascontiguousarray(rgb[:, ::-1])
            self.frames_decoded += 1
            yield Frame(index, time_s, rgb)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.info.kind} {str(self.info.path)!r}>"


class _VideoSource(FrameSource):
    def __init__(self, info: SourceInfo, opened: tuple[cv2.VideoCapture, np.ndarray, float]):
        super().__init__(info)
        self._pending: tuple | None = opened  # the capture opened by open_source, 1st frame read
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()  # read() vs close() from another thread

    def _frames(self):
        cap, bgr, raw_t = self._pending or _open_capture(self.info.path)
        self._pending, self._cap = None, cap
        stamps = _Timestamps(self.info.fps)
        index, time_s = 0, 0.0
        try:
            while bgr is not None:
                time_s = stamps(index, raw_t)
                self.timestamp_fixes, self.timestamps_from_fps = stamps.fixes, stamps.from_fps
                yield index, time_s, bgr
                index += 1
                with self._lock:
                    if self._cap is None:
                        raise ValueError(f"{self.info.path}: the source was closed while reading")
                    ok, bgr = cap.read()
                    raw_t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                bgr = bgr if ok else None
        finally:
            with self._lock:
                cap.release()
                self._cap = None
        self._check_complete(index, time_s)

    def _check_complete(self, decoded: int, last_time_s: float) -> None:
        """Raise if decoding stopped well short of the declared frame count (and, when
        the times are real, of the declared duration: a variable-frame-rate video whose
        count is only an estimate must not be called truncated)."""
        declared, fps = self.info.frame_count, self.info.fps
        if not declared:
            return
        expected = declared - max(2.0, 0.02 * declared)
        short_time = not fps or self.timestamps_from_fps or last_time_s + 1 / fps < expected / fps
        if decoded < expected and short_time:
            raise stopped_early_error(self.info.path, decoded, declared, last_time_s)

    def close(self) -> None:
        super().close()
        with self._lock:
            for cap in (self._cap, self._pending[0] if self._pending else None):
                if cap is not None:
                    cap.release()
            self._cap = self._pending = None


class _ImageSource(FrameSource):
    def __init__(self, info: SourceInfo, first: np.ndarray):
        super().__init__(info)
        self._first: np.ndarray | None = first

    def _frames(self):
        for index, file in enumerate(self.info.files or (self.info.path,)):
            bgr = self._first if index == 0 and self._first is not None else _read_image(file)
            self._first = None
            yield index, float(index), bgr


def open_source(path: str | Path, *, mirrored: bool = False, decoder_threads: int | None = 0) -> FrameSource:
    """Open a video, an image or a folder of images; raise :class:`InputError` if unusable.

    The kind is decided by content: image signatures (PNG/JPEG/BMP/TIFF/WebP) or an image
    extension make an image; text is refused; anything else is tried as a video. The first
    frame is decoded here so that an unreadable input fails now, not mid-analysis.
    ``mirrored=True`` flips every frame left-right (for selfie videos recorded mirrored).
    ``decoder_threads``: how many threads FFmpeg decodes a video with; 0 = FFmpeg's choice,
    None = one up to 1080p and FFmpeg's choice above (decoding beside the pose model, which
    wants a core of its own; see ``AUTO_ONE_THREAD_MAX_PX``)."""
    path = check_input_path(path)  # exists; a regular file or a folder (no FIFO, device, link loop)
    if path.is_dir():
        return _open_folder(path, mirrored)
    if path.stat().st_size == 0:
        raise InputError("is empty (0 bytes): expected a video or an image", path=path,
                         fix=FIX_COPY)
    try:
        head = read_head(path)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", path=path, fix="Check that "
                         "the file is readable (permissions) and not still being copied.") from None
    is_image_ext = path.suffix.lower() in IMAGE_EXTENSIONS
    if looks_like_text(head):
        what = "cannot be read as an image" if is_image_ext else "is not a video"
        raise InputError(f"{what}: it looks like a text file (it starts with {head[:32]!r})",
                         path=path, fix=FIX_KIND)
    if looks_like_image(head) or is_image_ext:
        bgr = _read_image(path)
        h, w = bgr.shape[:2]
        return _ImageSource(SourceInfo(path, "image", w, h, None, 1, None, 0, None, mirrored), bgr)
    return _open_video(path, mirrored, decoder_threads)


def _open_folder(path: Path, mirrored: bool) -> FrameSource:
    entries = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    files = sorted((p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS),
                   key=lambda p: natural_sort_key(p.name))
    if not files:
        got = f"{len(entries)} other file(s), e.g. {entries[0].name!r}" if entries else "nothing"
        raise InputError(
            f"is a folder with no images: expected a video file, or a folder holding image files "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))}) directly inside it; found {got}",
            path=path, fix="Pass the video file itself, or put the images directly in this folder.")
    bgr = _read_image(files[0])
    h, w = bgr.shape[:2]
    info = SourceInfo(path, "images", w, h, None, len(files), None, 0, None, mirrored, tuple(files))
    return _ImageSource(info, bgr)


def _read_image(path: Path) -> np.ndarray:
    damage = image_file_damage(path)     # before decoding: libjpeg would fill the missing part grey
    if damage is not None:
        raise InputError(f"is truncated: {damage}, so the lower part of the picture is missing (a decoder "
                         "fills it with grey, where the pose model would still place the legs)", path=path,
                         fix="Copy the photo again from the phone or camera (this file is a partial copy or "
                             "download; re-saving it does not bring the missing part back), or remove it.")
    with quiet_opencv_log():
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies EXIF orientation
    if bgr is None:
        raise InputError("cannot be read as an image: expected a PNG, JPEG, BMP, TIFF or WebP "
                         "picture, but OpenCV could not decode it (damaged or another format)",
                         path=path, fix="Re-save it as PNG or JPEG, or remove it from the folder.")
    return bgr


def _open_video(path: Path, mirrored: bool, decoder_threads: int | None = 0) -> FrameSource:
    cap, bgr, raw_t = _open_capture(path, decoder_threads)
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if math.isfinite(fps) and fps > 0 else None
    count = _declared_count(cap)
    rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
    h, w = bgr.shape[:2]
    duration = count / fps if count is not None and fps else None
    info = SourceInfo(path, "video", w, h, fps, count, duration,
                      rotation if rotation in (90, 180, 270) else 0, fourcc_text(cap), mirrored)
    return _VideoSource(info, (cap, bgr, raw_t))


def _open_capture(path: Path, decoder_threads: int | None = 0) -> tuple[cv2.VideoCapture, np.ndarray, float]:
    """Open ``path`` with FFmpeg and read the first frame; explain any failure."""
    quiet_ffmpeg_log()
    with quiet_opencv_log():
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise unopenable_error(path)
        if decoder_threads is None:
            pixels = cap.get(cv2.CAP_PROP_FRAME_WIDTH) * cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
            decoder_threads = 1 if 0 < pixels <= AUTO_ONE_THREAD_MAX_PX else 0
        if decoder_threads > 0:                    # reopen: the thread count is an open-time setting
            cap.release()
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, int(decoder_threads)])
            if not cap.isOpened():
                cap.release()
                raise unopenable_error(path)
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # the default; keep frames upright
        ok, bgr = cap.read()
        raw_t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
    if ok and bgr is not None:
        return cap, bgr, raw_t
    declared, codec = _declared_count(cap), fourcc_text(cap)
    cap.release()
    raise first_read_error(path, declared, codec)


def _declared_count(cap: cv2.VideoCapture) -> int | None:
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)  # garbage (negative/huge) when unknown
    return int(round(count)) if math.isfinite(count) and 0 <= count < 2**31 else None


class _ReaderFailed:
    def __init__(self, exc: BaseException):
        self.exc = exc


_DONE = object()


def iter_frames_threaded(source: FrameSource, *, queue_size: int = 8) -> Iterator[Frame]:
    """Iterate ``source`` while a daemon thread decodes ahead into a bounded queue.

    An exception in the reader (e.g. a truncated video) is re-raised here, after the frames
    before it. If the consumer stops early (break, exception, ``close()``), the reader is
    told to stop and is joined before this generator finishes; it never blocks on a full
    queue because it puts with a timeout and checks the stop event."""
    if queue_size < 1:
        raise ValueError(f"queue_size must be at least 1, got {queue_size}")
    frames: queue.Queue = queue.Queue(maxsize=queue_size)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def read() -> None:
        it = iter(source)
        try:
            for frame in it:
                if not put(frame):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            put(_ReaderFailed(exc))
        else:
            put(_DONE)
        finally:
            it.close()

    reader = threading.Thread(target=read, name=f"hiprom-frame-reader:{source.info.path.name}",
                              daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = frames.get(timeout=0.1)
            except queue.Empty:
                if reader.is_alive() or not frames.empty():
                    continue
                raise RuntimeError("the frame reader thread stopped without a result") from None
            if item is _DONE:
                return
            if isinstance(item, _ReaderFailed):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join()
