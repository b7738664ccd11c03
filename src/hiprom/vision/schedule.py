"""Which frames the pose model sees: the frame schedule.

The seated test is slow (well under 1 Hz). :class:`FrameSchedule` lets the model see one
frame in ``every`` (at 30 fps, ten a second), and every frame for a moment after anything
unexpected (a jerk, a spike, a turn the straight line from the frames before did not
foresee); it also tells when a leg holds still away from rest, so the recorder can look at
the measurement's frames the careful way (see :mod:`hiprom.vision.people`).

Frames the model did not see are filled in afterwards by :func:`fill_skipped` (linear in
time between the frames it saw on either side) and flagged (``LandmarkSeries.model_seen``),
so the series keeps one row per frame of the video and the measurement treats them as gaps.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.vision.pose import PoseCandidate

__all__ = ["FrameSchedule", "leg_angles_deg", "fill_skipped"]

_KNEES = np.array([LM.LEFT_KNEE, LM.RIGHT_KNEE])
_ANKLES = np.array([LM.LEFT_ANKLE, LM.RIGHT_ANKLE])


def leg_angles_deg(person: PoseCandidate | None, min_visibility: float = 0.5) -> np.ndarray:
    """Image angle of each shank (knee → ankle) from the image's vertical, in degrees.

    ``(2,)`` for (left, right); NaN where the knee or ankle is less visible than
    ``min_visibility`` (or nobody was found). A cheap stand-in for the measured angle: good
    enough to tell a still leg from a moving one, not a measurement.
    """
    if person is None:
        return np.full(2, np.nan)
    d = person.image_px[_ANKLES, :2] - person.image_px[_KNEES, :2]
    angle = np.degrees(np.arctan2(d[:, 0], d[:, 1]))
    seen = np.minimum(person.visibility[_KNEES], person.visibility[_ANKLES]) >= min_visibility
    return np.where(seen, angle, np.nan)


class FrameSchedule:
    """Decides frame by frame whether the pose model must see the next frame.

    Parameters
    ----------
    every
        The model sees one frame in ``every`` (1 = every frame: the schedule is off) ...
    hold_every
        ... and one in ``hold_every`` while a leg holds away from rest (see :attr:`holding`).
    slow_deg_s
        A leg turning slower than this (image angle, degrees per second) is still.
    away_deg
        A still leg further than this from its rest level (degrees) is holding (end ranges
        are 15-50°; a resting leg nudged by the other foot stays within 10°).
    surprise_deg
        A seen angle further than this from the straight-line prediction from the frames
        seen before it (a jerk, a spike, a turn the line did not foresee) makes every frame
        seen for ``settle_s``.
    settle_s
        How long a reason to see every frame lasts.
    rest_samples
        The rest level of a leg is the median of its first this-many still samples (the
        test starts at rest); until it is known no leg counts as holding.

    Notes
    -----
    Call :meth:`wants` for every frame in time order and, when it says yes, :meth:`saw`
    with the leg angles found (:func:`leg_angles_deg`). A leg's speed is taken over at
    least ``SPEED_BASE_S`` (the landmarks' jitter over one frame would look like motion), and
    the prediction goes straight on from the last frame seen at that speed.
    """

    SPEED_BASE_S = 0.09

    def __init__(self, every: int = 1, *, hold_every: int | None = None, slow_deg_s: float = 30.0,
                 away_deg: float = 10.0, surprise_deg: float = 3.0, settle_s: float = 0.3, rest_samples: int = 8):
        if every < 1 or (hold_every is not None and hold_every < 1):
            raise ValueError(f"every and hold_every must be at least 1, got {every}, {hold_every}")
        self.every = int(every)
        self.hold_every = self.every if hold_every is None else min(int(hold_every), self.every)
        self.slow_deg_s, self.away_deg = slow_deg_s, away_deg
        self.surprise_deg, self.settle_s, self.rest_samples = surprise_deg, settle_s, rest_samples
        self.restart()

    def restart(self) -> None:
        """Forget everything seen (a new recording starts)."""
        self._history: deque[tuple[float, np.ndarray]] = deque(maxlen=24)
        self._rest_values: list[list[float]] = [[], []]
        self._full_until = -np.inf
        self._holding = False
        self._skipped = self.every          # the first frame is always seen
        self.seen = 0
        self.frames = 0

    @property
    def rest_deg(self) -> np.ndarray:
        """Each leg's rest level (NaN until known)."""
        return np.array([np.median(v) if len(v) >= self.rest_samples else np.nan for v in self._rest_values])

    @property
    def holding(self) -> bool:
        """In the last frame seen a leg was still away from its rest level: an end-range
        hold (or a turn about to end or start there), what the measurement averages."""
        return self._holding

    def wants(self, time_s: float, *, anyway: bool = False) -> bool:
        """Whether the model must see the frame at ``time_s`` (counts it as skipped if not);
        ``anyway``: it will see it whatever the schedule says."""
        self.frames += 1
        stride = 1 if time_s < self._full_until else self.hold_every if self._holding else self.every
        want = anyway or self._skipped >= stride - 1
        if want:
            self.seen += 1
            self._skipped = 0
        else:
            self._skipped += 1
        return want

    def saw(self, time_s: float, angles_deg: np.ndarray) -> None:
        """What the model found in a frame it saw: the leg angles (NaN = not found)."""
        a = np.asarray(angles_deg, float)
        busy, self._holding = self._judge(time_s, a)
        if busy:
            self._full_until = time_s + self.settle_s
        self._history.append((float(time_s), a))

    def _before(self, t: float) -> tuple[float, np.ndarray] | None:
        """The latest sample seen at least ``SPEED_BASE_S`` before ``t``."""
        return next(((tr, ar) for tr, ar in reversed(self._history) if t - tr >= self.SPEED_BASE_S - 1e-9), None)

    def _judge(self, t: float, a: np.ndarray) -> tuple[bool, bool]:
        """Whether this sample calls for every frame to be seen, and whether a leg holds."""
        if not np.isfinite(a).any() or not self._history:
            return False, False
        t1, a1 = self._history[-1]
        older, ref = self._before(t1), self._before(t)
        if older is None or ref is None:
            return False, False
        with np.errstate(invalid="ignore"):
            predicted = a1 + (a1 - older[1]) * (t - t1) / (t1 - older[0])
            surprised = np.nanmax(np.abs(a - predicted), initial=0.0) > self.surprise_deg
            still = np.abs(a - ref[1]) / (t - ref[0]) < self.slow_deg_s
        for leg in (0, 1):
            if still[leg] and np.isfinite(a[leg]) and len(self._rest_values[leg]) < self.rest_samples:
                self._rest_values[leg].append(float(a[leg]))
        with np.errstate(invalid="ignore"):
            away = still & (np.abs(a - self.rest_deg) > self.away_deg)     # False while rest is unknown
        return bool(surprised), bool(away.any())


def fill_skipped(series: LandmarkSeries, seen: np.ndarray, max_gap_frames: int) -> LandmarkSeries:
    """Fill the rows of frames the model did not see, and record which rows it saw.

    Parameters
    ----------
    series
        One row per frame; rows of skipped frames are empty (NaN).
    seen
        ``(T,)`` bool: the model saw the frame.
    max_gap_frames
        Only runs of at most this many skipped frames next to a detection are filled (the
        schedule never skips more in a row).

    Returns
    -------
    LandmarkSeries
        Rows of skipped frames filled linearly in time (landmarks, visibility, presence,
        shank lines; which slices were crossed: from the nearer frame) between the
        detections on either side (after the last frame seen, its row repeated);
        ``model_seen`` = ``seen``.
    """
    seen = np.asarray(seen, bool)
    arrays = {"image_px": series.image_px.copy(), "world_m": series.world_m.copy(),
              "visibility": series.visibility.copy(), "presence": series.presence.copy()}
    lines = None if series.shank_lines is None else {k: v.copy() for k, v in series.shank_lines.arrays().items()}
    detected = series.detected & seen
    t = series.time_s
    idx = np.flatnonzero(~seen)
    starts = idx[np.r_[True, np.diff(idx) > 1]] if idx.size else idx
    stops = idx[np.r_[np.diff(idx) > 1, True]] + 1 if idx.size else idx
    for a, b in zip(starts, stops):
        if a == 0 or b - a > max_gap_frames or not detected[a - 1] or (b < len(t) and not detected[b]):
            continue
        for name, arr in [*arrays.items(), *(lines or {}).items()]:
            if b == len(t):              # the clip ended before the model saw again: the last row
                arr[a:b] = arr[a - 1]
                continue
            w = ((t[a:b] - t[a - 1]) / (t[b] - t[a - 1])).reshape((-1,) + (1,) * (arr.ndim - 1))
            if name == "crossed":        # a flag: from the nearer frame
                arr[a:b] = np.where(w < 0.5, arr[a - 1], arr[b])
            else:
                arr[a:b] = arr[a - 1] + w * (arr[b] - arr[a - 1])
    return series.replace(**arrays, model_seen=seen,
                          shank_lines=None if lines is None else ShankLines(**lines))
