"""Small video helpers shared by the tests: read the first frames, write an mp4v clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_bgr_frames(clip: Path, n: int) -> list[np.ndarray]:
    """The first ``n`` BGR frames of ``clip`` as OpenCV decodes them (fewer if it is shorter)."""
    cap = cv2.VideoCapture(str(clip))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(bgr)
    cap.release()
    return out


def write_mp4(path: Path, bgr_frames, fps: float = 30.0) -> Path:
    """Encode BGR frames with OpenCV's mp4v encoder (moov written last; ``frames`` may be empty)."""
    frames = list(bgr_frames)
    size = (frames[0].shape[1], frames[0].shape[0]) if frames else (320, 240)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), f"cv2.VideoWriter cannot write {path}"
    for f in frames:
        writer.write(np.ascontiguousarray(f))
    writer.release()
    return path


def write_rgb_mp4(path: Path, rgb_frames, fps: float = 30.0) -> Path:
    """Encode RGB frames (mp4v; moov written last)."""
    return write_mp4(path, [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2BGR) for f in rgb_frames], fps)
