"""What a landmark series carries besides the landmarks: typed facts about its frames.

* :class:`Capture` — how the frames were obtained (kind of input, rotation, mirroring, codec,
  photo files, how many people were looked for, a hand-held camera, live-mode counts).
* :class:`SceneLine` — the camera roll read from level lines in one frame.
* :class:`ShankLines` — per frame, both shanks' axes found in the person's silhouette.
* :class:`PersonChoice` — which person was kept as the subject, and why.

All are frozen and validated; ``to_dict`` / ``from_dict`` give their JSON form (the header of
``landmarks.npz`` and ``result.json``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["KINDS", "Capture", "LiveInfo", "SceneLine", "ShankLines", "PersonChoice", "SHANK_ROW",
           "N_SHANK_POINTS"]

#: Kinds of input: a video (or live stream), one photo, a folder of photos.
KINDS = ("video", "image", "images")
#: Row of each leg in :class:`ShankLines` arrays.
SHANK_ROW = {"left": 0, "right": 1}
#: Slices across each shank whose run middles are kept (``ShankLines.points_px``).
N_SHANK_POINTS = 24


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class LiveInfo:
    """Live mode's counts for a recorded measurement (see :mod:`hiprom.apps.live`)."""

    source_kind: str
    realtime: bool
    processed_size_px: tuple[int, int]
    frames_dropped: int
    frames_not_shown: int


@dataclass(frozen=True)
class Capture:
    """How the frames of a series were obtained.

    ``kind`` one of :data:`KINDS`; ``rotation_deg`` the rotation applied from the file's
    metadata; ``mirrored`` the frames were un-mirrored (a selfie camera); ``codec`` the video
    codec; ``files`` the photos of a folder, in order; ``max_people`` how many people the
    model looked for per frame; ``hand_held`` the camera's roll changed within the first
    second (it is followed frame by frame); ``mirror_pairs`` photos were read twice, as
    taken and mirrored: frames come in pairs with one frame index (see
    :mod:`hiprom.vision.mirror`); ``live`` live mode's counts; ``damaged_frames`` the
    frames whose lower part the decoder could not fill, as ``(frame index, first row of the
    uniform grey band)`` (:func:`hiprom.io.damage.grey_band_row`).
    """

    kind: str = "video"
    rotation_deg: int = 0
    mirrored: bool = False
    codec: str | None = None
    files: tuple[str, ...] = ()
    max_people: int | None = None
    hand_held: bool = False
    mirror_pairs: bool = False
    live: LiveInfo | None = None
    damaged_frames: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        object.__setattr__(self, "files", tuple(str(f) for f in self.files))
        damaged = tuple((int(i), int(row)) for i, row in self.damaged_frames)
        if any(i < 0 or row < 0 for i, row in damaged):
            raise ValueError(f"damaged_frames must be (frame index, row) pairs >= 0, got {damaged[:3]}")
        object.__setattr__(self, "damaged_frames", damaged)

    @property
    def still(self) -> bool:
        """Photos (each frame a separate reading), not a video."""
        return self.kind != "video"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["files"] = list(self.files)
        out["damaged_frames"] = [list(d) for d in self.damaged_frames]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Capture":
        d = _known(cls, data)
        if d.get("live") is not None:
            live = dict(d["live"])
            live["processed_size_px"] = tuple(live.get("processed_size_px", (0, 0)))
            d["live"] = LiveInfo(**_known(LiveInfo, live))
        return cls(**d)


@dataclass(frozen=True)
class SceneLine:
    """Level lines found in one frame: the roll they give (+ = scene turned clockwise),
    the share of long near-horizontal segments' length that agrees (0..1), their length."""

    frame: int
    roll_deg: float
    support: float
    length_px: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SceneLine":
        return cls(int(data["frame"]), float(data["roll_deg"]), float(data["support"]), float(data["length_px"]))


@dataclass(frozen=True)
class PersonChoice:
    """Which person was kept, and why (stored in the result for the user to check)."""

    max_people_in_frame: int
    frames_with_several: int
    n_tracks: int
    chosen_track: int
    chosen_frames: int
    position_px: tuple[float, float] | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PersonChoice":
        d = _known(cls, data)
        if d.get("position_px") is not None:
            d["position_px"] = tuple(float(v) for v in d["position_px"])
        return cls(**d)


def _lines(name: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)   # a copy: the lines own their data
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "×".join("T" if s is None else str(s) for s in shape)
        raise ValueError(f"{name} must have shape ({want}), got {arr.shape}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class ShankLines:
    """Both shanks' lines in the person's silhouette, per frame (see :mod:`hiprom.vision.silhouette`).

    Row :data:`SHANK_ROW` of each array is a leg (0 = left, 1 = right); NaN where not found.

    Attributes
    ----------
    mid_px, lateral_px
        ``(T, 2, 2, 2)`` = frame × leg × (proximal, distal) × (x, y): the midline fitted
        through the run middles of the slices where the leg stood clear of the other one,
        and the lateral edge fitted through all slices' lateral borders.
    clean
        ``(T, 2)`` the share of the fitted slices where the leg stood clear of the other.
    points_px
        ``(T, 2, N, 2)`` the middle of the run of "person" pixels at (or near) the shank's
        axis on each of N slices across it, from the knee to the ankle (NaN where none), for
        a fit over a band of the shank fixed later (:func:`hiprom.geometry.shank.band_fit_deg`).
    width_px
        ``(T, 2, N)`` that run's width (NaN where none or not measured: files written before
        it was recorded).
    crossed
        ``(T, 2, N)`` 1 where the other shank's landmark axis crosses the run (the legs
        overlap there), else 0.
    """

    mid_px: np.ndarray
    lateral_px: np.ndarray
    clean: np.ndarray
    points_px: np.ndarray
    width_px: np.ndarray
    crossed: np.ndarray

    def __post_init__(self) -> None:
        mid = _lines("mid_px", self.mid_px, (None, 2, 2, 2))
        n = mid.shape[0]
        object.__setattr__(self, "mid_px", mid)
        object.__setattr__(self, "lateral_px", _lines("lateral_px", self.lateral_px, (n, 2, 2, 2)))
        object.__setattr__(self, "clean", _lines("clean", self.clean, (n, 2)))
        points = _lines("points_px", self.points_px, (n, 2, None, 2))
        object.__setattr__(self, "points_px", points)
        k = points.shape[2]
        object.__setattr__(self, "width_px", _lines("width_px", self.width_px, (n, 2, k)))
        object.__setattr__(self, "crossed", _lines("crossed", self.crossed, (n, 2, k)))

    def __len__(self) -> int:
        return int(self.mid_px.shape[0])

    @classmethod
    def empty(cls, n_frames: int, n_points: int = N_SHANK_POINTS) -> "ShankLines":
        """Lines for ``n_frames`` frames, none found (all NaN; ``clean`` 0)."""
        nan = np.full((n_frames, 2, 2, 2), np.nan)
        return cls(nan, nan.copy(), np.zeros((n_frames, 2)), np.full((n_frames, 2, n_points, 2), np.nan),
                   np.full((n_frames, 2, n_points), np.nan), np.zeros((n_frames, 2, n_points)))

    @classmethod
    def stack(cls, frames: Sequence["ShankLines | None"], n_points: int = N_SHANK_POINTS) -> "ShankLines":
        """One-frame lines (or None = not measured) stacked into a series."""
        out = {k: np.array(v) for k, v in cls.empty(len(frames), n_points).arrays().items()}
        for i, f in enumerate(frames):
            if f is not None:
                for name, arr in f.arrays().items():
                    out[name][i] = arr[0]
        return cls(**out)

    def select(self, mask: np.ndarray) -> "ShankLines":
        """The frames where ``mask`` is true."""
        return ShankLines(**{name: arr[mask] for name, arr in self.arrays().items()})

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (for saving; the constructor's keyword arguments)."""
        return {"mid_px": self.mid_px, "lateral_px": self.lateral_px, "clean": self.clean,
                "points_px": self.points_px, "width_px": self.width_px, "crossed": self.crossed}
