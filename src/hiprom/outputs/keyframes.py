"""Key frames: the video frame at a side's peak, with the measured angle drawn on it.

:func:`read_frame` decodes a clip sequentially with :func:`hiprom.frames.open_source` (so
rotation metadata and mirroring are applied exactly as in the analysis) up to the wanted
frame. :func:`draw_angle` draws the shank line, the vertical reference (tilted by the camera
roll), an arc between them and the angle; :func:`peak_frame` puts the two together for one
side of a result, optionally cropping round the legs and applying a face-blur hook first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hiprom.core.landmarks import LM
from hiprom.errors import AnalysisError, InputError
from hiprom.outputs.drawing import draw_text, shank_segment_px, text_size

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult

__all__ = ["read_frame", "shank_line_px", "draw_angle", "peak_frame", "BlurHook"]

#: ``blur(rgb, image_px) -> rgb``: a face blur applied to the full frame before drawing;
#: ``image_px`` is that frame's ``(33, 3)`` landmarks of the subject.
BlurHook = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: RGB colours: the shank line (per side, as in the plots), the vertical, the arc and text.
#: A cropped key frame smaller than this (longest side, pixels) is enlarged to it.
MIN_CROP_PX = 720
COLOURS = {"right": (214, 39, 40), "left": (31, 119, 180), "vertical": (255, 255, 255), "text": (255, 255, 255)}


def read_frame(path: str | Path, index: int, *, mirrored: bool = False) -> np.ndarray:
    """The upright RGB frame number ``index`` (0-based decode order) of a video or image set.

    Raises
    ------
    InputError
        The file cannot be opened or has fewer than ``index + 1`` frames.
    """
    from hiprom.io.frames import open_source

    if index < 0:
        raise ValueError(f"expected a frame index >= 0, got {index}")
    with open_source(path, mirrored=mirrored) as source:
        for frame in source:
            if frame.index == index:
                return frame.rgb
            if frame.index > index:
                break
    raise InputError(f"has no frame {index}: expected the clip that was analysed", path=path,
                     fix="give the original video (--video), unchanged since the analysis.")


def shank_line_px(series, row: int, side: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Knee end and ankle end of ``side``'s shank axis in frame ``row`` of a series, pixels
    (see :func:`hiprom.outputs.drawing.shank_segment_px`)."""
    return shank_segment_px(series.image_px, series.shank_lines, row, side)


def _label(img: np.ndarray, text: str, org: tuple[float, float], height_px: float, colour) -> None:
    """``text`` on a dark box edged in ``colour``, its left end at ``org`` (middle height),
    kept inside the image."""
    import cv2

    w, h = text_size(text, int(height_px))
    pad = max(2, int(round(0.3 * height_px)))
    x = int(np.clip(org[0], pad, img.shape[1] - w - 2 * pad))
    y = int(np.clip(org[1] - h / 2, pad, img.shape[0] - h - 2 * pad))
    box = img[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    box[:] = (0.35 * box + 0.65 * np.array([20, 20, 20])).astype(np.uint8)
    cv2.rectangle(img, (x - pad, y - pad), (x + w + pad, y + h + pad), colour, max(1, pad // 3), cv2.LINE_AA)
    draw_text(img, text, (x, y), height_px, (255, 255, 255))


def draw_angle(rgb: np.ndarray, knee_px: np.ndarray, ankle_px: np.ndarray, roll_deg: float,
               angle_deg: float, label: str, *, colour: tuple[int, int, int] = (214, 39, 40)) -> np.ndarray:
    """A copy of ``rgb`` with the shank, the vertical, the arc between them and the angle.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 frame.
    knee_px, ankle_px
        Ends of the shank axis, pixels (x right, y down).
    roll_deg
        Camera roll: the vertical is drawn along gravity ``(-sin r, cos r)``
        (see :func:`hiprom.geometry.down_vector`).
    angle_deg
        The value to print (the measured one, not recomputed from the drawn line).
    label
        Text before the value, e.g. ``"right IR"``.

    Notes
    -----
    The arc spans the smaller angle between the vertical and the shank, at 45 % of the
    shank's length from the knee; line widths scale with the image size.
    """
    import cv2

    from hiprom.geometry.angles import down_vector

    img = np.ascontiguousarray(rgb.copy())
    k, a = np.asarray(knee_px, float), np.asarray(ankle_px, float)
    length = float(np.linalg.norm(a - k))
    if not np.isfinite(length) or length < 2:
        return img
    s = max(img.shape[:2]) / 900.0
    thick = max(2, int(round(3 * s)))
    down = down_vector(roll_deg)
    v_end = k + down * length * 1.05
    pt = lambda p: (int(round(p[0])), int(round(p[1])))  # noqa: E731
    cv2.line(img, pt(k), pt(v_end), COLOURS["vertical"], max(1, thick - 1), cv2.LINE_AA)
    for t0 in np.arange(0.0, 1.0, 0.08):  # dash the vertical with dark gaps so it reads on a light wall
        cv2.line(img, pt(k + down * length * 1.05 * (t0 + 0.04)), pt(k + down * length * 1.05 * (t0 + 0.08)),
                 (40, 40, 40), max(1, thick - 1), cv2.LINE_AA)
    cv2.line(img, pt(k), pt(a), colour, thick + 1, cv2.LINE_AA)
    cv2.circle(img, pt(k), thick + 2, colour, -1, cv2.LINE_AA)
    a_down = np.degrees(np.arctan2(down[1], down[0]))
    a_shank = np.degrees(np.arctan2(a[1] - k[1], a[0] - k[0]))
    delta = (a_shank - a_down + 180.0) % 360.0 - 180.0
    radius = int(round(0.45 * length))
    cv2.ellipse(img, pt(k), (radius, radius), 0.0, a_down, a_down + delta, (255, 215, 0), thick, cv2.LINE_AA)
    # the label sits beside the arc on the vertical's far side from the shank, clear of the leg
    away = -1.0 if (a - k) @ np.array([down[1], -down[0]]) > 0 else 1.0
    side_dir = np.array([down[1], -down[0]]) * away
    height = 30.0 * s
    text = f"{label} {angle_deg:.1f}°"
    w = text_size(text, int(height))[0]
    anchor = k + down * radius + side_dir * 14 * s
    x = anchor[0] if side_dir[0] >= 0 else anchor[0] - w - 20 * s
    _label(img, text, (x, anchor[1]), height, colour)
    return img


def _crop_box(points: np.ndarray, shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    pts = points[np.isfinite(points).all(axis=1)]
    h, w = shape[:2]
    if len(pts) < 2:
        return 0, 0, w, h
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = margin * max(hi - lo)
    x0, y0 = (max(0, int(v - pad)) for v in lo)
    x1, y1 = int(min(w, hi[0] + pad)), int(min(h, hi[1] + pad))
    return x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)


def peak_frame(result: "AnalysisResult", side: str, *, kind: str = "ir", video_path: str | Path | None = None,
               blur: BlurHook | None = None, crop: bool = True, frame_rgb: np.ndarray | None = None) -> np.ndarray:
    """The frame at ``side``'s peak IR (or ER, ``kind="er"``) with the angle drawn, RGB uint8.

    Parameters
    ----------
    result
        The analysis (its series gives the landmarks and silhouette line of that frame).
    video_path
        The analysed clip; default ``result.source["path"]``. Mirroring is applied as in the analysis.
    blur
        Optional face blur, called on the full frame before drawing (see :data:`BlurHook`).
    crop
        Crop round the hips, knees and ankles (with margin) instead of the whole frame.
    frame_rgb
        The frame itself, if already decoded (then no video is read).

    Raises
    ------
    AnalysisError
        The side has no peak of that kind, or the shank is not known in that frame.
    InputError
        The video cannot be read.
    """
    if kind not in ("ir", "er"):
        raise ValueError(f"expected kind 'ir' or 'er', got {kind!r}")
    res = result.sides[side]
    frame = getattr(res, f"peak_{kind}_frame")
    value = getattr(res, f"peak_{kind}_deg")
    if frame is None or value is None:
        raise AnalysisError(f"the {side} side has no peak {kind.upper()}: expected a measured side, got none",
                            fix="key frames exist only for measured sides.")
    series = result.series
    rows = np.flatnonzero(series.frame_index == frame)
    line = shank_line_px(series, int(rows[0]), side) if rows.size else None
    if line is None:
        raise AnalysisError(f"the {side} shank is not known in frame {frame}",
                            fix="re-run the analysis; the landmarks file may be from another clip.")
    if frame_rgb is None:
        path = video_path or result.source.get("path")
        if not path:
            raise InputError("no video path is known for this result", fix="pass the analysed video.")
        frame_rgb = read_frame(path, int(frame), mirrored=bool(result.source.get("mirrored", False)))
    rgb = frame_rgb
    if blur is not None:
        rgb = np.asarray(blur(rgb.copy(), series.image_px[int(rows[0])]), dtype=np.uint8)
    roll = float(result.measurement.roll.roll_deg)
    k, a = (np.asarray(p, float) for p in line)
    if crop:
        idx = [LM.LEFT_HIP, LM.RIGHT_HIP, LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE]
        pts = np.vstack([series.image_px[int(rows[0]), idx, :2], np.asarray(line)])
        x0, y0, x1, y1 = _crop_box(pts, rgb.shape, 0.35)
        rgb = rgb[y0:y1, x0:x1]
        k, a = k - (x0, y0), a - (x0, y0)
        zoom = MIN_CROP_PX / max(rgb.shape[:2])
        if zoom > 1.0:  # enlarge a small crop so lines and text stay legible
            import cv2

            rgb = cv2.resize(rgb, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
            k, a = k * zoom, a * zoom
    return draw_angle(rgb, k, a, roll, float(value), f"{side} {kind.upper()}", colour=COLOURS[side])


def plot_photo(result: "AnalysisResult", *, video_path: str | Path | None = None):
    """For a photo (or folder of photos): each held reading drawn on its photo, one panel each
    (right first, IR then ER), as a matplotlib Figure; what ``angles.png`` shows instead of
    an angle-against-time plot (a photo has no time). Raises :class:`InputError` when the
    photo cannot be read."""
    from matplotlib.figure import Figure

    from hiprom.core.measurement import SIDES
    from hiprom.outputs.plots import drawable_text

    panels = []
    for side in SIDES:
        for kind in ("ir", "er"):
            if getattr(result.sides[side], f"peak_{kind}_frame") is not None:
                try:
                    rgb = peak_frame(result, side, kind=kind, video_path=video_path, crop=False)
                except AnalysisError:
                    continue
                panels.append((f"{side} {kind.upper()} {getattr(result.sides[side], f'peak_{kind}_deg'):.1f}°", rgb))
    if not panels:                     # nothing measured: the photo as it is
        path = video_path or result.source.get("path")
        panels = [("no reading", read_frame(path, 0, mirrored=bool(result.source.get("mirrored", False))))]
    fig = Figure(figsize=(4.2 * len(panels), 6.0), layout="constrained")
    for k, (title, rgb) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.imshow(rgb)
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.suptitle(drawable_text(Path(str(result.source.get("path", ""))).name), fontsize=10)
    return fig
