"""The landmark series: hiprom's one central data type.

A :class:`LandmarkSeries` holds the pose of one person over time, as the pose model saw
it, with named dimensions ``time`` × ``landmark`` × ``coord``. Frames in which no pose was
found are kept as NaN rows (never dropped), so the time axis always matches the video.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from hiprom.core.capture import Capture, PersonChoice, SceneLine, ShankLines
from hiprom.core.measurement import SIDES

__all__ = ["LANDMARK_NAMES", "LM", "LandmarkSeries", "SIDES", "N_LANDMARKS"]

#: MediaPipe BlazePose landmark names, in model order (index = landmark id).
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
N_LANDMARKS = len(LANDMARK_NAMES)


class LM:
    """Landmark indices used by hiprom (subject's own left/right)."""

    NOSE = 0
    LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
    LEFT_HIP, RIGHT_HIP = 23, 24
    LEFT_KNEE, RIGHT_KNEE = 25, 26
    LEFT_ANKLE, RIGHT_ANKLE = 27, 28
    LEFT_HEEL, RIGHT_HEEL = 29, 30
    LEFT_TOE, RIGHT_TOE = 31, 32
    #: Head landmarks (nose, eyes, ears, mouth), for face blurring.
    FACE = tuple(range(0, 11))
    #: Each landmark's counterpart on the other side (the nose is its own): the order that
    #: turns the landmarks of a mirrored image back into the subject's own sides.
    MIRRORED = (0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21,
                24, 23, 26, 25, 28, 27, 30, 29, 32, 31)

    @staticmethod
    def leg(side: str) -> dict[str, int]:
        """Indices of one leg's landmarks: ``hip``, ``knee``, ``ankle``, ``heel``, ``toe``."""
        if side == "left":
            return {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31}
        if side == "right":
            return {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32}
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")


def _as_float(name: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    # a copy: the series is made read-only below, and must not lock (or share) the caller's array
    arr = np.array(value, dtype=np.float64)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "×".join("T" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape ({want}), got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class LandmarkSeries:
    """Pose landmarks of one person over the frames of a clip.

    Attributes
    ----------
    image_px
        ``(T, 33, 3)`` image landmarks: x and y in pixels of the upright frame (origin top
        left, y down), z in the model's relative depth scaled like x (pixels).
    visibility, presence
        ``(T, 33)`` model scores in [0, 1].
    world_m
        ``(T, 33, 3)`` world landmarks in metres, origin between the hips (model frame:
        x to the image right, y down, z away from the camera).
    time_s
        ``(T,)`` presentation time of each frame in seconds, strictly increasing.
    frame_index
        ``(T,)`` index of each frame in the source (decode order).
    frame_size_px
        ``(width, height)`` of the upright frames.
    source
        Path or name of the input.
    model
        Description of the pose model (variant, file name, sha256 prefix).
    fps
        Nominal frame rate from the container (float), ``None`` for images.
    capture
        How the frames were obtained (:class:`~hiprom.core.capture.Capture`: kind of input,
        rotation, mirroring, codec...); :attr:`kind` is ``capture.kind``.
    scene_lines
        The camera roll read from level lines in some frames (for the roll estimate).
    shank_lines
        Per frame, the shank axes found in the person's silhouette (None = not measured).
    person
        Which person was kept as the subject, and why (None = not chosen by hiprom).
    model_seen
        ``(T,)`` bool: the pose model saw the frame (None = every frame). Rows of frames it
        skipped are filled in from the frames it saw on either side (see
        :mod:`hiprom.vision.schedule`); the measurement treats them as gaps.

    Notes
    -----
    Frames without a detected pose have NaN in ``image_px``, ``world_m``, ``visibility`` and
    ``presence``; :attr:`detected` tells them apart. The series is immutable: transforms
    return new objects.
    """

    image_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_m: np.ndarray
    time_s: np.ndarray
    frame_index: np.ndarray
    frame_size_px: tuple[int, int]
    source: str = ""
    model: str = ""
    fps: float | None = None
    capture: Capture = field(default_factory=Capture)
    scene_lines: tuple[SceneLine, ...] = ()
    shank_lines: ShankLines | None = None
    person: PersonChoice | None = None
    model_seen: np.ndarray | None = None

    dims = ("time", "landmark", "coord")

    def __post_init__(self) -> None:
        image = _as_float("image_px", self.image_px, (None, N_LANDMARKS, 3))
        n = image.shape[0]
        set_ = object.__setattr__
        set_(self, "image_px", image)
        set_(self, "visibility", _as_float("visibility", self.visibility, (n, N_LANDMARKS)))
        set_(self, "presence", _as_float("presence", self.presence, (n, N_LANDMARKS)))
        set_(self, "world_m", _as_float("world_m", self.world_m, (n, N_LANDMARKS, 3)))
        time_s = _as_float("time_s", self.time_s, (n,))
        if not np.all(np.isfinite(time_s)):
            raise ValueError("time_s must be finite")
        if n > 1 and np.any(np.diff(time_s) <= 0):
            raise ValueError("time_s must be strictly increasing")
        set_(self, "time_s", time_s)
        frame_index = np.asarray(self.frame_index)
        if frame_index.shape != (n,) or not np.issubdtype(frame_index.dtype, np.integer):
            raise ValueError(f"frame_index must be ({n},) integers, got {frame_index.shape} {frame_index.dtype}")
        set_(self, "frame_index", frame_index.astype(np.int64))
        width, height = (int(v) for v in self.frame_size_px)
        if width <= 0 or height <= 0:
            raise ValueError(f"frame_size_px must be positive, got {self.frame_size_px}")
        set_(self, "frame_size_px", (width, height))
        if self.fps is not None:
            set_(self, "fps", float(self.fps))
        if not isinstance(self.capture, Capture):
            raise ValueError(f"capture must be a Capture, got {type(self.capture).__name__}")
        set_(self, "scene_lines", tuple(self.scene_lines))
        if not all(isinstance(s, SceneLine) for s in self.scene_lines):
            raise ValueError("scene_lines must be SceneLine records")
        if self.shank_lines is not None and len(self.shank_lines) != n:
            raise ValueError(f"shank_lines must have {n} frames, got {len(self.shank_lines)}")
        if self.model_seen is not None:
            seen = np.array(self.model_seen)     # a copy, made read-only below
            if seen.shape != (n,) or seen.dtype != bool:
                raise ValueError(f"model_seen must be ({n},) booleans, got {seen.shape} {seen.dtype}")
            seen.flags.writeable = False
            set_(self, "model_seen", seen)
        for arr in (self.image_px, self.visibility, self.presence, self.world_m, self.time_s,
                    self.frame_index):
            arr.flags.writeable = False

    # -- basic facts ---------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.image_px.shape[0])

    def __len__(self) -> int:
        return self.n_frames

    @property
    def detected(self) -> np.ndarray:
        """``(T,)`` bool: a pose was found in the frame."""
        return np.isfinite(self.image_px[:, 0, 0])

    @property
    def kind(self) -> str:
        """``"video"``, ``"image"`` or ``"images"`` (see :class:`~hiprom.core.capture.Capture`)."""
        return self.capture.kind

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.n_frames > 1 else 0.0

    @property
    def median_fps(self) -> float | None:
        """Frame rate from the timestamps (robust to variable frame rate)."""
        if self.n_frames < 2:
            return self.fps
        return float(1.0 / np.median(np.diff(self.time_s)))

    def xy(self, landmark: int) -> np.ndarray:
        """``(T, 2)`` pixel position of one landmark."""
        return self.image_px[:, landmark, :2]

    # -- construction ---------------------------------------------------------------
    @classmethod
    def empty(cls, time_s: np.ndarray, frame_index: np.ndarray, frame_size_px: tuple[int, int],
              **kwargs: Any) -> "LandmarkSeries":
        """A series with no pose in any frame (all NaN), for filling in."""
        n = len(time_s)
        nan3 = np.full((n, N_LANDMARKS, 3), np.nan)
        nan2 = np.full((n, N_LANDMARKS), np.nan)
        return cls(nan3, nan2, nan2.copy(), nan3.copy(), np.asarray(time_s, float),
                   np.asarray(frame_index), frame_size_px, **kwargs)

    def replace(self, **changes: Any) -> "LandmarkSeries":
        """A copy with some fields replaced (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return LandmarkSeries(**values)

    def select(self, mask: np.ndarray) -> "LandmarkSeries":
        """The frames where ``mask`` is true."""
        mask = np.asarray(mask, bool)
        return self.replace(image_px=self.image_px[mask], visibility=self.visibility[mask],
                            presence=self.presence[mask], world_m=self.world_m[mask],
                            time_s=self.time_s[mask], frame_index=self.frame_index[mask],
                            shank_lines=None if self.shank_lines is None else self.shank_lines.select(mask),
                            model_seen=None if self.model_seen is None else self.model_seen[mask])

    # -- export -----------------------------------------------------------------------
    def to_pandas(self, landmarks: tuple[int, ...] | None = None):
        """Long table: one row per frame and landmark.

        Columns: ``frame``, ``time_s``, ``landmark``, ``name``, ``x_px``, ``y_px``, ``z_px``,
        ``visibility``, ``presence``, ``x_m``, ``y_m``, ``z_m``.
        """
        import pandas as pd

        ids = np.arange(N_LANDMARKS) if landmarks is None else np.asarray(landmarks)
        n, k = self.n_frames, len(ids)
        img = self.image_px[:, ids].reshape(n * k, 3)
        wld = self.world_m[:, ids].reshape(n * k, 3)
        return pd.DataFrame({
            "frame": np.repeat(self.frame_index, k),
            "time_s": np.repeat(self.time_s, k),
            "landmark": np.tile(ids, n),
            "name": np.tile(np.asarray(LANDMARK_NAMES)[ids], n),
            "x_px": img[:, 0], "y_px": img[:, 1], "z_px": img[:, 2],
            "visibility": self.visibility[:, ids].ravel(),
            "presence": self.presence[:, ids].ravel(),
            "x_m": wld[:, 0], "y_m": wld[:, 1], "z_m": wld[:, 2],
        })
