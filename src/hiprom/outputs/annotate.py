"""The annotated video: what hiprom measured, drawn over the source clip.

>>> from hiprom.annotate import write_annotated_video
>>> write_annotated_video(result, "clip.mp4", "clip_hiprom/annotated.mp4")   # doctest: +SKIP

Each frame shows, per leg, the skeleton (hip–knee–ankle–heel–toe), the shank line hiprom
measured (the silhouette midline where it was found, else knee→ankle), the vertical through
the knee (corrected for the camera roll), an arc between the two with the live filtered
angle (``rest`` within 1° of vertical), and a panel with, per side, the angle now and the held
IR/ER so far: the mean over each hold at end range (what hiprom reports), the best rep so far,
each counted from the middle of its hold, so the last frame shows the readings of
``result.json``. Frames are matched to the analysis by their index in the source; a
frame without a pose (or missing from the series) gets no leg overlay and no live angle, only
the panel.

Size, frame rate and orientation: the source is decoded again with
:func:`hiprom.frames.open_source`, which turns the frames upright (rotation metadata applied,
and un-mirrored for a clip analysed with ``mirrored``). The video is written with those
upright frames at the container's frame rate (29.97 stays 29.97) and the same size, so it
needs **no rotation metadata**: any player shows it the right way up. A variable-frame-rate
source comes out at its nominal constant rate (every frame kept, none added). The codec is
H.264 (4:2:0, index at the front: browsers and phones play it), written with PyAV
(:mod:`hiprom.io.video_writer`); frames are streamed (decoded on a reader thread, drawn,
written), never held in memory. The file is written under a temporary
name beside the target and renamed into place, so an interrupted run leaves no half video.
OpenCV's writer fails silently (a full disk gives a file without its index), so the video is
reopened and its frames counted before it is renamed into place.
"""

from __future__ import annotations

import errno
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import av
import cv2
import numpy as np

from hiprom.core.landmarks import LM, SIDES
from hiprom.errors import InputError, OutputExistsError, OutputWriteError
from hiprom.io.atomic import atomic_path
from hiprom.io.frames import iter_frames_threaded, open_source
from hiprom.io.video_writer import VideoWriter
from hiprom.outputs.drawing import angle_text, draw_text, shank_segment_px, text_size
from hiprom.outputs.privacy import HeadBox, blur_region, head_box

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult

__all__ = ["write_annotated_video", "VIDEO_SUFFIXES", "head_boxes"]

#: Containers the H.264 writer produces here.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")

_RGB = {"right": (214, 39, 40), "left": (31, 119, 180)}  # as in hiprom.outputs.plots.SIDE_COLOURS
_WHITE, _YELLOW = (255, 255, 255), (255, 215, 0)
_MIN_VIS = 0.5
#: Below this much free space a failed video write is reported as a full disk.
_MIN_FREE_BYTES = 1 << 20


def _check_paths(result: "AnalysisResult", video_path: Path, out_path: Path) -> None:
    if result.source.get("kind", "video") != "video":
        raise InputError(f"the analysis is of {result.source.get('kind')!r} input, not a video: an "
                         "annotated video can only be drawn over a video", path=video_path,
                         fix="annotate video analyses only (photos have their angles in result.json).")
    if out_path.suffix.lower() not in VIDEO_SUFFIXES:
        raise OutputExistsError(f"the annotated video must end in {', '.join(VIDEO_SUFFIXES)}, "
                                f"got {out_path.suffix or 'no extension'!r}", path=out_path,
                                fix="name it e.g. annotated.mp4.")
    if out_path.exists() and out_path.is_dir():
        raise OutputExistsError("is a folder, expected a video file name", path=out_path,
                                fix="give a file name such as annotated.mp4.")
    if out_path.resolve() == video_path.resolve():
        raise OutputExistsError("the annotated video would replace the source clip", path=out_path,
                                fix="write it to another file (e.g. in the output folder).")


def _raise_if_disk_full(folder: Path) -> None:
    """OpenCV's writer fails silently: a folder with (almost) no free space explains why."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < _MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, "No space left on device", str(folder))


def _check_written(tmp: Path, frames: int, out_path: Path) -> None:
    """Reopen the video just written and count its frames' packets: a file cut short (a disk
    that filled up without the writer noticing) has fewer than were written, or no index."""
    try:
        with av.open(str(tmp)) as container:
            ok = sum(1 for packet in container.demux(video=0) if packet.size) == frames
    except (av.FFmpegError, OSError, ValueError):
        ok = False
    if not ok:
        _raise_if_disk_full(out_path.parent)
        raise OutputWriteError(f"the video written is unreadable ({frames} frames written)", path=out_path,
                               fix="check that the disk is healthy and has free space, then run again.")


def head_boxes(image_px: np.ndarray, visibility: np.ndarray, frame_shape: tuple[int, ...]) -> list[HeadBox | None]:
    """Head region per row of a series; rows without one borrow the nearest row's (in time).

    A frame where the face was missed must not show the face, so the last (or, before the
    first detection, the first) known region is used there.
    """
    boxes = [head_box(image_px[i], visibility[i], frame_shape) for i in range(len(image_px))]
    known = [i for i, b in enumerate(boxes) if b is not None]
    if not known:
        return boxes
    k = np.asarray(known)
    for i, b in enumerate(boxes):
        if b is None:
            j = int(np.searchsorted(k, i))
            near = [k[m] for m in (j - 1, j) if 0 <= m < len(k)]
            boxes[i] = boxes[int(min(near, key=lambda n: abs(n - i)))]
    return boxes


def _running_peaks(result: "AnalysisResult", time_s: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per side ``(peak IR so far, peak ER so far)`` at each row, from the reps (NaN before)."""
    out = {}
    for side in SIDES:
        peaks = []
        for kind in ("ir", "er"):
            series = np.full(len(time_s), np.nan)
            for rep in result.sides[side].reps:
                value, when = rep.get(f"{kind}_deg"), rep.get(f"{kind}_t_s")
                if value is None or when is None:
                    continue
                after = time_s >= when - 1e-6
                series[after] = np.fmax(series[after], value)
            peaks.append(series)
        out[side] = (peaks[0], peaks[1])
    return out


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thick: int) -> None:
    """Text on a dark box (readable on a white table or wall) whose baseline starts at ``org``
    (as ``cv2.putText`` places it)."""
    height = 30.0 * scale
    draw_text(img, text, (org[0], org[1] - 0.8 * height), height, colour, outline=False, box=(25, 25, 25),
              pad_px=max(2, int(0.15 * height)))


def _fmt(angle: float) -> str:
    return angle_text(angle)


class _Painter:
    """Draws one frame's overlay (all state precomputed per series row)."""

    def __init__(self, result: "AnalysisResult", frame_size: tuple[int, int]):
        s = result.series
        self.px, self.vis, self.detected = s.image_px, s.visibility, s.detected
        self.lines = s.shank_lines
        roll = result.to_dict()["camera"].get("roll_deg") or 0.0
        r = math.radians(float(roll))
        self.down = np.array([-math.sin(r), math.cos(r)])  # gravity in the image, y down
        df = result.to_pandas()
        self.angle = {side: df[f"{side}_deg"].to_numpy(float) for side in SIDES}
        self.peaks = _running_peaks(result, s.time_s)
        self.tested = {side: result.sides[side].tested for side in SIDES}
        self.neutral = result.config.geometry.reference == "neutral"
        w, h = frame_size
        self.scale = max(0.35, min(w, h) / 720.0)
        self.thick = max(1, int(round(min(w, h) / 360.0)))

    def _shank(self, row: int, side: str) -> tuple[np.ndarray, np.ndarray] | None:
        return shank_segment_px(self.px, self.lines, row, side)

    def _leg(self, img: np.ndarray, row: int, side: str) -> None:
        colour, t = _RGB[side], self.thick
        leg = LM.leg(side)
        chain = [leg[k] for k in ("hip", "knee", "ankle", "heel", "toe")] + [leg["ankle"]]
        pts = [self.px[row, i, :2] if self.vis[row, i] >= _MIN_VIS else None for i in chain]
        for p, q in zip(pts[:-1], pts[1:]):
            if p is not None and q is not None and np.isfinite(p).all() and np.isfinite(q).all():
                cv2.line(img, _pt(p), _pt(q), colour, t, cv2.LINE_AA)
        for p in pts[:-1]:
            if p is not None and np.isfinite(p).all():
                cv2.circle(img, _pt(p), 2 * t + 1, _WHITE, -1, cv2.LINE_AA)
        line = self._shank(row, side)
        if line is None:
            return
        top, bottom = line
        length = float(np.linalg.norm(bottom - top))
        vertical_end = top + self.down * length
        cv2.line(img, _pt(top), _pt(vertical_end), _WHITE, t, cv2.LINE_AA)
        cv2.line(img, _pt(top), _pt(bottom), _YELLOW, 2 * t, cv2.LINE_AA)
        radius = int(round(0.35 * length))
        a_ref = math.degrees(math.atan2(self.down[1], self.down[0]))
        d = bottom - top
        a_shank = math.degrees(math.atan2(d[1], d[0]))
        delta = (a_shank - a_ref + 180.0) % 360.0 - 180.0  # the short way round
        if radius > 2 and abs(delta) > 0.2:
            cv2.ellipse(img, _pt(top), (radius, radius), 0.0, a_ref, a_ref + delta, _YELLOW, t, cv2.LINE_AA)
        text, scale = _fmt(self.angle[side][row]), 0.8 * self.scale
        width = text_size(text, int(30.0 * scale))[0]
        xs = (top[0], bottom[0], vertical_end[0])
        # beside the leg, on its outer side, clear of both lines
        x = max(xs) + 8 * t if top[0] >= self._centre_x(row) else min(xs) - 8 * t - width
        y = top[1] + 0.45 * length
        _text(img, text, (int(x), int(y)), scale, _YELLOW, t)

    def _centre_x(self, row: int) -> float:
        hips = self.px[row, [LM.LEFT_HIP, LM.RIGHT_HIP], 0]
        return float(np.nanmean(hips)) if np.isfinite(hips).any() else 0.0

    def panel(self, img: np.ndarray, row: int | None, live: bool) -> None:
        """Top-left panel: per side the live angle (``--`` without a pose) and the running peaks
        as of ``row`` (the frame's row, or the last row before a frame missing from the series)."""
        s, t = self.scale, self.thick
        line_h = int(round(44 * s))
        ref = "from rest" if self.neutral else "from vertical"
        _text(img, f"hip rotation ({ref})", (int(12 * s), line_h), s, _WHITE, t)
        for k, side in enumerate(SIDES):
            y = line_h * (k + 2)
            if row is None:
                now, ir, er = float("nan"), float("nan"), float("nan")
            else:
                now = self.angle[side][row] if live else float("nan")
                ir, er = self.peaks[side][0][row], self.peaks[side][1][row]
            if self.tested[side]:
                peak = (f"  held IR {ir:.1f}°" if np.isfinite(ir) else "  held IR --") + \
                       (f" ER {er:.1f}°" if np.isfinite(er) else " ER --")
            else:
                peak = "  (not tested)"
            _text(img, f"{side[0].upper()} now {_fmt(now)}{peak}", (int(12 * s), y), s, _RGB[side], t)

    def draw(self, img: np.ndarray, row: int | None, last_row: int | None) -> None:
        """The overlay of one frame: legs only where a pose was found, the panel always."""
        live = row is not None and bool(self.detected[row])
        if live:
            for side in SIDES:
                self._leg(img, row, side)
        self.panel(img, row if row is not None else last_row, live)


def write_annotated_video(result: "AnalysisResult", video_path: str | Path, out_path: str | Path, *,
                          blur_faces: bool = False,
                          progress: Callable[[int, "int | None"], None] | None = None) -> Path:
    """Write the source clip with hiprom's measurement drawn on every frame.

    Parameters
    ----------
    result
        The analysis of ``video_path`` (:func:`hiprom.analyze`).
    video_path
        The clip that was analysed; decoded again (same rotation and mirroring).
    out_path
        The video to write (``.mp4``, ``.m4v`` or ``.mov``); an existing file is replaced
        atomically.
    blur_faces
        Blur the subject's head in every frame (:mod:`hiprom.privacy`); frames where the
        face was missed use the nearest detected head region.
    progress
        Called after each frame with (frames written, frames expected or None).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    InputError
        The clip cannot be read, or its frames are not those of the analysis (other size).
    OutputExistsError
        The output name is not a video file name, or the video writer cannot be opened.
    """
    video_path, out_path = Path(video_path), Path(out_path)
    _check_paths(result, video_path, out_path)
    series = result.series
    rows = {int(f): i for i, f in enumerate(series.frame_index)}
    with open_source(video_path, mirrored=bool(result.source.get("mirrored", False))) as source:
        info = source.info
        size = (info.width_px, info.height_px)
        if info.kind != "video":
            raise InputError("is not a video, so it cannot be annotated", path=video_path,
                             fix="give the video file that was analysed.")
        if size != tuple(series.frame_size_px):
            raise InputError(f"does not match the analysis: its upright frames are {size[0]}×{size[1]} "
                             f"pixels, the analysis was of {series.frame_size_px[0]}×"
                             f"{series.frame_size_px[1]}", path=video_path,
                             fix="give the clip that was analysed (with the same --mirrored setting).")
        fps = info.fps or series.fps or series.median_fps or 30.0
        painter = _Painter(result, size)
        boxes = head_boxes(series.image_px, series.visibility, (size[1], size[0])) if blur_faces else None
        with atomic_path(out_path) as tmp:          # a full or read-only disk: OutputWriteError
            try:
                writer = VideoWriter(tmp, fps=float(fps), size=size)
            except (ValueError, av.FFmpegError) as exc:
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise
                _raise_if_disk_full(out_path.parent)
                raise OutputExistsError(f"cannot write an H.264 video here ({size[0]}×{size[1]} at {fps:g} fps: "
                                        f"{exc})", path=out_path,
                                        fix="check that the folder is writable and has free space.") from None
            try:
                done, last_box, last_row = 0, None, None
                for frame in iter_frames_threaded(source):
                    row = rows.get(frame.index)
                    last_row = row if row is not None else last_row
                    img = frame.rgb
                    if boxes is not None:
                        box = boxes[row] if row is not None else last_box
                        last_box = box if box is not None else last_box
                        img = blur_region(img, box)
                    else:
                        img = img.copy()
                    painter.draw(img, row, last_row)
                    writer.write(img)
                    done += 1  # noqa: SIM113 (frames written, not rows read)
                    if progress is not None:
                        progress(done, info.frame_count)
                writer.close()
            except BaseException:
                writer.abort()
                raise
            _check_written(tmp, done, out_path)
    return out_path
