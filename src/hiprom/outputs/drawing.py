"""Drawing on frames: the one place for text and for which shank line to draw.

Used by the key frames of the report, the annotated video and the live overlay.

* :func:`draw_text` writes text with a real degree sign (OpenCV's Hershey fonts have none):
  it is rendered once per (text, size, colour) with the DejaVu Sans font that ships with
  matplotlib, cached, and blended onto the frame.
* :func:`shank_segment_px` is the shank line shown for a leg in a frame: the silhouette
  midline the angle was measured on (extended to the knee's and ankle's level), else the
  knee→ankle landmarks.

Colours are given in the frame's own channel order (RGB for outputs, BGR for OpenCV windows).
"""

from __future__ import annotations

import functools

import numpy as np

from hiprom.core.capture import SHANK_ROW, ShankLines
from hiprom.core.landmarks import LM

__all__ = ["draw_text", "text_size", "shank_segment_px", "angle_text", "REST_BAND_DEG"]

#: A leg within this many degrees of vertical is shown as "rest": a hanging leg's angle
#: wanders by a few tenths of a degree, which would flicker between "0.3° IR" and "0.2° ER".
REST_BAND_DEG = 1.0


def angle_text(angle_deg: float, digits: int = 1) -> str:
    """``27.1° IR``, ``3.0° ER``; ``rest`` within :data:`REST_BAND_DEG` of vertical; ``--`` unknown."""
    if angle_deg is None or not np.isfinite(angle_deg):
        return "--"
    if abs(angle_deg) < REST_BAND_DEG:
        return "rest"
    return f"{abs(angle_deg):.{digits}f}° " + ("IR" if angle_deg > 0 else "ER")

Colour = tuple[int, int, int]


@functools.lru_cache(maxsize=4)
def _font(height_px: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold"))
    return ImageFont.truetype(path, size=max(6, height_px))


@functools.lru_cache(maxsize=512)
def _patch(text: str, height_px: int, colour: Colour, outline: bool) -> np.ndarray:
    """``(h, w, 4)`` float image of ``text`` (colour, alpha in [0, 1]), dark outline if asked."""
    from PIL import Image, ImageDraw

    font = _font(height_px)
    stroke = max(1, height_px // 8) if outline else 0
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    w, h = max(1, right - left + 2), max(1, bottom - top + 2)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((1 - left, 1 - top), text, font=font, fill=(*colour, 255),
                             stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
    return np.asarray(img, dtype=np.float32) / np.float32(255.0)


def text_size(text: str, height_px: int, *, outline: bool = True) -> tuple[int, int]:
    """Width and height in pixels that :func:`draw_text` gives ``text``."""
    patch = _patch(text, int(height_px), (255, 255, 255), outline)
    return int(patch.shape[1]), int(patch.shape[0])


def draw_text(img: np.ndarray, text: str, org: tuple[float, float], height_px: float, colour: Colour, *,
              outline: bool = True, box: Colour | None = None, pad_px: int = 0) -> tuple[int, int]:
    """Write ``text`` on ``img`` (uint8, 3 channels) in place, top-left corner at ``org``.

    The text is kept inside the image. ``box`` fills a rectangle behind it (``pad_px``
    around). Returns the drawn width and height.
    """
    if not text:
        return 0, 0
    patch = _patch(text, max(6, int(round(height_px))), tuple(int(c) for c in colour), outline)
    ph, pw = patch.shape[:2]
    H, W = img.shape[:2]
    x = int(np.clip(round(org[0]), pad_px, max(pad_px, W - pw - pad_px)))
    y = int(np.clip(round(org[1]), pad_px, max(pad_px, H - ph - pad_px)))
    if box is not None:
        y0, y1 = max(0, y - pad_px), min(H, y + ph + pad_px)
        x0, x1 = max(0, x - pad_px), min(W, x + pw + pad_px)
        img[y0:y1, x0:x1] = np.asarray(box, np.uint8)
    h, w = min(ph, H - y), min(pw, W - x)
    if h <= 0 or w <= 0:
        return 0, 0
    region = img[y:y + h, x:x + w].astype(np.float32)
    alpha = patch[:h, :w, 3:4]
    img[y:y + h, x:x + w] = (region * (1 - alpha) + patch[:h, :w, :3] * 255.0 * alpha + 0.5).astype(np.uint8)
    return pw, ph


def shank_segment_px(image_px: np.ndarray, lines: ShankLines | None, row: int,
                     side: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Knee end and ankle end of ``side``'s shank axis in frame ``row``, pixels.

    Parameters
    ----------
    image_px
        ``(T, 33, 3)`` landmarks (or ``(1, 33, 3)`` with ``row=0``).
    lines
        The silhouette's shank lines of the same frames, or None.

    Notes
    -----
    With the silhouette midline through ``p0`` and ``p1`` (direction ``d``), the segment
    runs from the knee's projection on that line to the ankle's (at least 1 px long); without
    it, from the knee landmark to the ankle landmark. None when neither is known.
    """
    leg = LM.leg(side)
    knee = np.asarray(image_px[row, leg["knee"], :2], float)
    ankle = np.asarray(image_px[row, leg["ankle"], :2], float)
    if lines is not None:
        p0, p1 = (np.asarray(p, float) for p in lines.mid_px[row, SHANK_ROW[side]])
        if np.isfinite(p0).all() and np.isfinite(p1).all() and np.any(p0 != p1):
            d = (p1 - p0) / float(np.linalg.norm(p1 - p0))
            if np.isfinite(knee).all():
                p0 = p0 + float(np.dot(knee - p0, d)) * d
            if np.isfinite(ankle).all():
                p1 = p0 + max(float(np.dot(ankle - p0, d)), 1.0) * d
            return p0, p1
    if np.isfinite(knee).all() and np.isfinite(ankle).all() and np.any(knee != ankle):
        return knee, ankle
    return None
