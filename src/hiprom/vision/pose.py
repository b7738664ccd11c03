"""The pose model behind one small adapter: the only module that imports mediapipe.

>>> model = PoseModel(model_info, mode="video", max_people=2)   # doctest: +SKIP
>>> people = model.detect(rgb, time_s=0.033)                     # doctest: +SKIP

mediapipe is imported when a :class:`PoseModel` is created, never at import time, so
``hiprom --help`` stays instant. Before it is, MediaPipe's built-in usage logging is blocked
(:mod:`hiprom.vision.offline`): hiprom sends nothing over the network.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from hiprom.core.capture import ShankLines
from hiprom.errors import ModelError
from hiprom.vision.model_store import ModelInfo
from hiprom.vision.offline import block_usage_logging

__all__ = ["ModelView", "PoseCandidate", "PoseModel"]


@dataclass(frozen=True)
class ModelView:
    """The part of a frame the model is shown, and at what scale.

    The box ``x0 <= x < x1``, ``y0 <= y < y1`` (frame pixels, integers) is cut out and
    resized by ``scale``: a frame pixel (x, y) is model-image pixel
    ``((x - x0) * scale, (y - y0) * scale)``. ``ModelView.whole(w, h)`` is the whole frame.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (0 <= self.x0 < self.x1 and 0 <= self.y0 < self.y1):
            raise ValueError(f"empty or negative box {self.x0, self.y0, self.x1, self.y1}")
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {self.scale}")

    @classmethod
    def whole(cls, width: int, height: int, scale: float = 1.0) -> "ModelView":
        return cls(0, 0, int(width), int(height), scale)

    def within(self, rgb: np.ndarray) -> tuple[int, int, int, int]:
        """The box clipped to a frame: ``(x0, y0, x1, y1)``."""
        height, width = rgb.shape[:2]
        return self.x0, self.y0, min(self.x1, width), min(self.y1, height)

    def cut(self, rgb: np.ndarray) -> np.ndarray:
        """The model image: the box of ``rgb``, resized (area averaging), C-contiguous."""
        x0, y0, x1, y1 = self.within(rgb)
        part = rgb[y0:y1, x0:x1]
        if self.scale == 1.0:
            return np.ascontiguousarray(part)
        size = (max(1, round((x1 - x0) * self.scale)), max(1, round((y1 - y0) * self.scale)))
        return cv2.resize(part, size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True, eq=False)
class PoseCandidate:
    """One person found in one frame.

    ``image_px`` (33, 3): x, y in pixels, z in pixels (relative depth scaled by the width);
    ``visibility``, ``presence`` (33,); ``world_m`` (33, 3) metres, origin between the hips;
    ``mask`` (H, W) the person's segmentation probabilities when asked for, over the model
    image of ``view`` (None = the whole frame at full size); ``shank`` this person's shank
    lines in the silhouette, one frame (see :mod:`hiprom.vision.silhouette`).
    ``mask_owner`` keeps the native image that ``mask`` is a view of alive: MediaPipe frees
    a mask's pixels when its ``mediapipe.Image`` is garbage-collected, and the view does
    not hold a reference to it. Drop both together.
    """

    image_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_m: np.ndarray
    mask: np.ndarray | None = None
    shank: ShankLines | None = None
    mask_owner: object = field(default=None, repr=False)
    view: ModelView | None = None


class _NativeStderr:
    """Keeps the native libraries' log chatter (TFLite, absl) off the user's terminal.

    While native code runs (model creation, each frame), file descriptor 2 points at a
    private temporary file; Python's own writes between calls reach the terminal as usual.
    What was captured is kept (up to 64 kB) so a failure can quote it.
    """

    LIMIT = 1 << 16

    def __init__(self) -> None:
        # Native code writes to file descriptor 2 whatever sys.stderr is (a log file, a
        # notebook's stream, pytest's capture), so fd 2 itself is redirected.
        try:
            os.fstat(2)
            self.fd: int | None = 2
        except OSError:  # no fd 2 at all (e.g. a service started without one)
            self.fd = None
        if self.fd is not None:
            self.saved = os.dup(self.fd)
            self.sink = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the model's lifetime)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        if self.fd is None:
            yield
            return
        for stream in (sys.stderr, sys.__stderr__):   # Python's pending writes go where they were meant
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os.dup2(self.sink.fileno(), self.fd)
        try:
            yield
        finally:
            os.dup2(self.saved, self.fd)
            if self.sink.tell() > self.LIMIT:
                self.sink.seek(0)
                self.sink.truncate()

    def last_line(self) -> str:
        if self.fd is None:
            return ""
        self.sink.seek(0)
        lines = self.sink.read().decode("utf-8", "replace").strip().splitlines()
        self.sink.seek(0, os.SEEK_END)
        return lines[-1] if lines else ""

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.saved)
            self.sink.close()
            self.fd = None


class PoseModel:
    """MediaPipe Pose Landmarker (Tasks API) with one call, :meth:`detect`.

    Parameters
    ----------
    model
        A validated model file (see :func:`hiprom.model_store.resolve_model`).
    mode
        ``"video"``: frames of one clip in time order (tracking between frames);
        ``"image"``: independent photos.
    max_people
        Up to how many people to detect per frame (2 lets hiprom tell the seated subject
        from an examiner beside them; 1 is about 40 % faster).
    min_detection_confidence, min_presence_confidence, min_tracking_confidence
        The landmarker's thresholds.
    segmentation
        Also return each person's segmentation mask (about 10 % slower).
    """

    def __init__(self, model: ModelInfo, *, mode: str = "video", max_people: int = 2,
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, segmentation: bool = False):
        if mode not in ("video", "image"):
            raise ValueError(f"mode must be 'video' or 'image', got {mode!r}")
        self.info = model
        self.mode = mode
        self._last_ms = -1
        block_usage_logging()  # before mediapipe loads: its usage logger must never reach the network
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError(f"mediapipe cannot be imported ({exc})",
                             fix="reinstall hiprom: pip install --force-reinstall hiprom") from None
        self._mp = mp
        self._stderr = _NativeStderr()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model.path)),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_poses=int(max_people),
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_segmentation_masks=bool(segmentation),
        )
        with self._stderr.quiet():
            try:
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
            except (RuntimeError, ValueError) as exc:
                error = exc
            else:
                error = None
        if error is not None:
            detail = self._stderr.last_line()
            self._stderr.close()
            raise ModelError(f"the pose model could not be loaded: {error} {detail}".strip(),
                             path=model.path,
                             fix="check the file is a MediaPipe pose_landmarker .task bundle, "
                                 "or delete it so hiprom downloads a fresh copy.")

    def detect(self, rgb: np.ndarray, time_s: float = 0.0, view: ModelView | None = None) -> list[PoseCandidate]:
        """Find people in one upright RGB frame, or in a part of it.

        Parameters
        ----------
        rgb
            ``(H, W, 3)`` uint8 image, RGB order.
        time_s
            Presentation time (video mode). The landmarker needs strictly increasing whole
            milliseconds; equal or backward times are nudged forward by 1 ms.
        view
            Show the model only this box of the frame, resized (None: the whole frame).
            Landmarks come back in frame pixels either way; z is scaled like x (the box's
            width in frame pixels times the model's relative depth).

        Returns
        -------
        list of PoseCandidate
            In the model's order (empty when nobody is found).
        """
        if view is None or (view.scale == 1.0 and (view.x0, view.y0) == (0, 0)
                            and (view.x1, view.y1) == (rgb.shape[1], rgb.shape[0])):
            pixels, view = np.ascontiguousarray(rgb), None
        else:
            pixels = view.cut(rgb)
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=pixels)
        with self._stderr.quiet():
            result = self._run(image, time_s)
        # normalised model-image coordinates -> frame pixels (z scaled like x)
        x0, y0, x1, y1 = (0, 0, rgb.shape[1], rgb.shape[0]) if view is None else view.within(rgb)
        to_frame = np.array([x1 - x0, y1 - y0, x1 - x0], dtype=np.float64)
        origin = np.array([x0, y0, 0.0])
        people = []
        for k, landmarks in enumerate(result.pose_landmarks):
            arr = np.array([(p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0)
                            for p in landmarks], dtype=np.float64)
            image_px = arr[:, :3] * to_frame + origin
            world = result.pose_world_landmarks[k] if k < len(result.pose_world_landmarks) else []
            world_m = (np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
                       if len(world) else np.full((len(arr), 3), np.nan))
            masks = result.segmentation_masks or []
            owner = masks[k] if k < len(masks) else None
            mask = np.squeeze(owner.numpy_view()) if owner is not None else None
            people.append(PoseCandidate(image_px, arr[:, 3], arr[:, 4], world_m, mask, mask_owner=owner,
                                        view=view))
        return people

    def _run(self, image, time_s: float):
        if self.mode == "video":
            stamp_ms = max(int(round(time_s * 1000.0)), self._last_ms + 1)
            self._last_ms = stamp_ms
            return self._landmarker.detect_for_video(image, stamp_ms)
        return self._landmarker.detect(image)

    def close(self) -> None:
        landmarker = getattr(self, "_landmarker", None)
        if landmarker is not None:
            with self._stderr.quiet():
                landmarker.close()
            self._landmarker = None
        stderr = getattr(self, "_stderr", None)
        if stderr is not None:
            stderr.close()

    def __enter__(self) -> "PoseModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
