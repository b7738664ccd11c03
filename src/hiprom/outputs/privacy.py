"""Face blurring for sharing clinic footage.

>>> from hiprom.privacy import blur_faces
>>> safe = blur_faces(frame.rgb, series.image_px[i], series.visibility[i])   # doctest: +SKIP

The head region is found from the pose model's face landmarks (nose, eyes, ears, mouth:
:data:`hiprom.landmarks.LM.FACE`) and widened by a margin scaled to the body (the ear-to-ear
distance, the shoulder width, the spread of the face points), so that it covers the whole
head with the hair and the chin. Inside it the image is **pixelated, then smoothed**: the
head is reduced to a handful of blocks (a few pixels of information per block, nothing a
deblurring filter can bring back), and the block edges are blurred so the result does not
draw the eye. Pixels outside the region are never touched.

Limits: only the measured person's head is found (an examiner or a bystander in the frame is
not blurred), and a frame with no face landmarks is returned unchanged; the annotated video
(:mod:`hiprom.annotate`) carries the nearest detected head region into such frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from hiprom.core.landmarks import LM

__all__ = ["blur_faces", "blur_region", "head_box", "HeadBox", "MIN_FACE_VISIBILITY"]

#: Face landmarks scored below this are ignored when placing the head region.
MIN_FACE_VISIBILITY = 0.3

#: Head region around the face landmarks, in units of the head scale (see :func:`head_box`):
#: half its width, and how far it reaches above and below the centre of the face points.
_HALF_WIDTH, _ABOVE, _BELOW = 0.95, 1.25, 0.95

#: ``(x0, y0, x1, y1)``: pixel columns ``x0:x1`` and rows ``y0:y1`` of a frame.
HeadBox = tuple[int, int, int, int]


def _points(image_px: np.ndarray, visibility: np.ndarray | None, ids: tuple[int, ...]) -> np.ndarray:
    """``(k, 2)`` positions of the landmarks ``ids`` that are finite and visible enough."""
    p = np.asarray(image_px, float)[list(ids), :2]
    ok = np.isfinite(p).all(axis=1)
    if visibility is not None:
        v = np.asarray(visibility, float)[list(ids)]
        ok &= np.nan_to_num(v, nan=0.0) >= MIN_FACE_VISIBILITY
    return p[ok]


def head_box(image_px: np.ndarray, visibility: np.ndarray | None,
             frame_shape: tuple[int, ...]) -> HeadBox | None:
    """The head region of one frame, from the face landmarks.

    Parameters
    ----------
    image_px
        ``(33, 2)`` or ``(33, 3)`` landmarks of one frame in pixels (x right, y down).
    visibility
        ``(33,)`` landmark scores, or None to use every finite landmark.
    frame_shape
        ``(height, width, ...)`` of the frame; the box is clipped to it.

    Returns
    -------
    HeadBox or None
        ``(x0, y0, x1, y1)`` with ``0 <= x0 < x1 <= width`` and ``0 <= y0 < y1 <= height``,
        or None when no face landmark is visible (or the box falls outside the frame).

    Notes
    -----
    The head scale is the largest of: the ear-to-ear distance, 0.45 × the shoulder width, the
    width and 1.5 × the height of the face points, and 2 % of the frame's larger side (so a
    profile view, where the ears and shoulders overlap, still gets a whole head). The box
    reaches 1.25 scales above the centre of the face points (hair), 0.95 below (chin) and
    0.95 to each side.
    """
    if len(frame_shape) < 2:
        raise ValueError(f"frame_shape must be (height, width, ...), got {frame_shape!r}")
    height, width = int(frame_shape[0]), int(frame_shape[1])
    face = _points(image_px, visibility, LM.FACE)
    if len(face) == 0:
        return None
    lo, hi = face.min(axis=0), face.max(axis=0)
    centre = (lo + hi) / 2.0
    scale = max(hi[0] - lo[0], 1.5 * (hi[1] - lo[1]), 0.02 * max(height, width))
    ears = _points(image_px, visibility, (7, 8))
    if len(ears) == 2:
        scale = max(scale, float(np.linalg.norm(ears[0] - ears[1])))
    shoulders = _points(image_px, visibility, (LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER))
    if len(shoulders) == 2:
        scale = max(scale, 0.45 * float(np.linalg.norm(shoulders[0] - shoulders[1])))
    x0 = int(np.floor(centre[0] - _HALF_WIDTH * scale))
    x1 = int(np.ceil(centre[0] + _HALF_WIDTH * scale))
    y0 = int(np.floor(centre[1] - _ABOVE * scale))
    y1 = int(np.ceil(centre[1] + _BELOW * scale))
    x0, x1 = max(0, x0), min(width, x1)
    y0, y1 = max(0, y0), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def blur_region(rgb: np.ndarray, box: HeadBox | None, *, strength: float = 1.0) -> np.ndarray:
    """A copy of ``rgb`` with ``box`` pixelated and smoothed (see :func:`blur_faces`)."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1], got {strength!r}")
    image = np.asarray(rgb)
    if image.ndim not in (2, 3) or image.dtype != np.uint8:
        raise ValueError(f"rgb must be an (H, W[, C]) uint8 image, got {image.shape} {image.dtype}")
    out = image.copy()
    if box is None:
        return out
    x0, y0, x1, y1 = box
    roi = np.ascontiguousarray(out[y0:y1, x0:x1])
    if roi.size == 0:
        return out
    h, w = roi.shape[:2]
    blocks = max(2, int(round(5.0 / strength)))  # blocks across the shorter side of the head
    bh = max(1, round(blocks * h / min(h, w)))
    bw = max(1, round(blocks * w / min(h, w)))
    small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
    pixelated = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (min(h, w) // blocks) | 1)  # odd kernel about one block wide: soften the edges
    out[y0:y1, x0:x1] = cv2.GaussianBlur(pixelated, (k, k), 0, borderType=cv2.BORDER_REPLICATE)
    return out


def blur_faces(rgb: np.ndarray, image_px: np.ndarray, visibility: np.ndarray | None, *,
               strength: float = 1.0) -> np.ndarray:
    """A new image with the subject's head region made unrecognisable.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` uint8 frame (RGB or BGR: the channels are treated alike).
    image_px
        ``(33, 2|3)`` landmarks of this frame in pixels (a row of ``LandmarkSeries.image_px``).
    visibility
        ``(33,)`` landmark scores (a row of ``LandmarkSeries.visibility``), or None.
    strength
        In (0, 1]: 1 reduces the head to about 5 blocks across its shorter side, 0.5 to
        about 10. Lower values keep more detail and may leave a face recognisable.

    Returns
    -------
    numpy.ndarray
        A copy of ``rgb``; changed only inside :func:`head_box`. An unchanged copy when no
        face landmark is visible.
    """
    frame_shape = np.shape(rgb)
    return blur_region(rgb, head_box(image_px, visibility, frame_shape), strength=strength)
