"""Which frames the pose model sees, and how many people it looks for in them.

Two policies make ``hiprom analyze`` cheaper than running the pose model on every frame
of a clip with room for two people, without changing what is measured:

* :class:`PeoplePolicy` — looking for a second person costs the landmarker its person
  detector on every frame (about 70 % more time per frame). The policy looks for up to
  ``max_people`` people only while it chooses the subject (the first ``choose_s`` seconds,
  and again whenever the subject is lost), then follows the chosen subject alone in a box
  around them, and looks again for others in one frame every ``recheck_s`` seconds.
* :class:`FrameSchedule` — the seated test is slow (well under 1 Hz). While the legs rest
  or turn steadily, the model sees one frame in ``every``; around holds and turning
  points, and after anything unexpected, it sees every frame, so the end-range holds the
  measurement averages over are seen in full.

Frames the model did not see are filled in afterwards by :func:`fill_skipped` (linear in
time between the frames it saw on either side) and flagged, so the series keeps one row per
frame of the video and the signal layer can treat them as gaps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.vision.person import choose_subject, seated_score
from hiprom.vision.pose import ModelView, PoseCandidate

__all__ = ["FrameSchedule", "PeoplePolicy", "Look", "leg_angles_deg", "fill_skipped", "subject_box",
           "MODEL_RAN"]

#: Name of the per-frame flag in ``LandmarkSeries.extras``: 1 where the pose model saw the
#: frame, 0 where the row was filled in by :func:`fill_skipped`.
MODEL_RAN = "model_ran"

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


def subject_box(people: Sequence[PoseCandidate], frame_size_px: tuple[int, int], *,
                margin_x: float = 0.35, margin_y: float = 0.15, min_visibility: float = 0.3) -> ModelView:
    """A box around one person's landmarks seen over some frames, with room for the legs.

    The box spans the landmarks seen at ``min_visibility`` or more, widened by ``margin_x``
    × its height on each side (a shank turned 50° moves the foot sideways by about a third
    of a seated person's height) and by ``margin_y`` × its height above and below, then
    clipped to the frame.
    """
    width, height = frame_size_px
    pts = [c.image_px[c.visibility >= min_visibility, :2] for c in people]
    pts = np.concatenate([p for p in pts if len(p)] or [np.empty((0, 2))])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return ModelView.whole(width, height)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = max(hi[1] - lo[1], 1.0)
    x0 = int(np.floor(max(0.0, lo[0] - margin_x * size)))
    x1 = int(np.ceil(min(float(width), hi[0] + margin_x * size)))
    y0 = int(np.floor(max(0.0, lo[1] - margin_y * size)))
    y1 = int(np.ceil(min(float(height), hi[1] + margin_y * size)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return ModelView.whole(width, height)
    return ModelView(x0, y0, x1, y1)


@dataclass(frozen=True)
class Look:
    """How the model looks at one frame: ``wide`` = for up to ``max_people`` people in the
    whole frame (choosing the subject); otherwise for one person in ``view``. ``recheck``:
    a look for other people is due (make it wide, and report it with
    :meth:`PeoplePolicy.found_wide`)."""

    wide: bool
    view: ModelView | None = None
    recheck: bool = False


def _weight(c: PoseCandidate, diag: float) -> float:
    """How strongly a detection claims to be the subject (as :func:`choose_subject` scores)."""
    p = c.image_px[:, :2]
    size = float(np.max(np.ptp(p[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_HIP, LM.RIGHT_HIP,
                                  LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE]], axis=0)))
    return seated_score(c) * min(1.0, 2.0 * size / diag)


def _hips(c: PoseCandidate) -> np.ndarray:
    return (c.image_px[LM.LEFT_HIP, :2] + c.image_px[LM.RIGHT_HIP, :2]) / 2


class PeoplePolicy:
    """The people-count policy: many people while choosing, one person while following.

    Parameters
    ----------
    max_people
        Up to how many people to look for while choosing. With 1 the policy is off: the
        model always looks for one person in the whole frame.
    choose_s
        How long (seconds) to look for ``max_people`` people before following the one
        chosen (also after the subject was lost); 0 = always look for ``max_people``.
    recheck_s
        While following, look for other people in one frame this often (seconds).
    lost_frames
        The subject is lost after this many seen frames in a row without them.

    Notes
    -----
    The subject is chosen as :func:`hiprom.vision.person.choose_subject` chooses it over the
    frames of the choosing phase. The box it is then followed in spans their landmarks with
    room for the legs to turn (:func:`subject_box`), and grows when they come near its edge.
    At a re-check, a person other than the subject who looks more like the seated subject
    (score 1.25 × the subject's) starts a new choosing phase.
    """

    def __init__(self, max_people: int, *, choose_s: float = 1.0, recheck_s: float = 2.0,
                 lost_frames: int = 3):
        self.max_people, self.choose_s, self.recheck_s = int(max_people), choose_s, recheck_s
        self.lost_frames = lost_frames
        self.restart()

    @property
    def active(self) -> bool:
        return self.max_people > 1 and self.choose_s > 0

    def restart(self) -> None:
        """Choose afresh (a new recording starts)."""
        self._choosing_since: float | None = None
        self._chosen: list[list[PoseCandidate]] = []
        self._times: list[float] = []
        self.view: ModelView | None = None
        self._subject: PoseCandidate | None = None
        self._last_check = -np.inf
        self._missed = 0
        self.choices = 0            # how many times a subject was chosen
        self.wide_looks = 0         # whole-frame looks while following (re-checks, holds)

    @property
    def following(self) -> bool:
        return self.view is not None

    def look(self, time_s: float) -> Look:
        """How the model should look at the frame at ``time_s``."""
        if not self.active:
            return Look(wide=True)
        if self.view is None:
            if self._choosing_since is None:
                self._choosing_since = time_s
            return Look(wide=True)
        due = time_s - self._last_check >= self.recheck_s
        return Look(wide=False, view=self.view, recheck=due)

    def found(self, time_s: float, look: Look, people: list[PoseCandidate],
              frame_size_px: tuple[int, int]) -> list[PoseCandidate]:
        """Take in what the model found as ``look`` said; return the people to record."""
        if not self.active:
            return people
        if look.wide:
            self._chosen.append(people)
            self._times.append(time_s)
            since = time_s if self._choosing_since is None else self._choosing_since
            if time_s - since >= self.choose_s - 1e-6 and any(self._chosen):
                self._follow(frame_size_px, time_s)
            return people
        if people:
            self._missed = 0
            self._subject = people[0]
            self._grow(people[0], frame_size_px)
        else:
            self._missed += 1
            if self._missed >= self.lost_frames:
                self._choose_again()
        return people

    def found_wide(self, time_s: float, people: list[PoseCandidate], frame_size_px: tuple[int, int]
                   ) -> list[PoseCandidate]:
        """Take in a whole-frame look for up to ``max_people`` made while following (a
        re-check, or a hold looked at the way the subject was chosen); return the people to
        record: the subject (the one nearest where they were) and the others."""
        self._last_check = time_s
        self.wide_looks += 1
        if self._subject is None:
            return people
        here = _hips(self._subject)
        size = max(float(np.ptp(self._subject.image_px[:, 1])), 1.0)
        near = [c for c in people if np.linalg.norm(_hips(c) - here) <= 0.5 * size]
        subject = min(near, key=lambda c: float(np.linalg.norm(_hips(c) - here)), default=None)
        others = [c for c in people if c is not subject]
        if subject is None:
            self._missed += 1
            if self._missed >= self.lost_frames:
                self._choose_again()
            return others
        self._missed = 0
        self._subject = subject
        self._grow(subject, frame_size_px)
        diag = float(np.hypot(*frame_size_px))
        if any(_weight(c, diag) > 1.25 * _weight(subject, diag) for c in others):
            self._choose_again()
        return [subject] + others

    def subject_of(self, people: list[PoseCandidate], frame_size_px: tuple[int, int]) -> PoseCandidate | None:
        """Whose legs to watch in a frame: the one followed, else the likeliest subject."""
        if not people:
            return None
        if self.following:
            return people[0] if people[0] is self._subject else None
        if len(people) == 1:
            return people[0]
        diag = float(np.hypot(*frame_size_px))
        return max(people, key=lambda c: _weight(c, diag))

    def _follow(self, frame_size_px: tuple[int, int], time_s: float) -> None:
        n = len(self._chosen)
        series, choice = choose_subject(self._chosen, np.arange(n, dtype=float), np.arange(n), frame_size_px)
        if choice.chosen_track < 0:
            return
        rows = np.flatnonzero(series.detected)
        subject = [PoseCandidate(series.image_px[f], series.visibility[f], series.presence[f], series.world_m[f])
                   for f in rows]
        self.view = subject_box(subject, frame_size_px)
        self._subject = subject[-1]
        self._last_check = time_s
        self._missed = 0
        self._chosen, self._times = [], []
        self.choices += 1

    def _grow(self, c: PoseCandidate, frame_size_px: tuple[int, int]) -> None:
        """Widen the box when the subject comes within 5 % of its height of an edge."""
        v = self.view
        seen = c.image_px[c.visibility >= 0.3, :2]
        if v is None or not len(seen):
            return
        lo, hi = seen.min(axis=0), seen.max(axis=0)
        gap = 0.05 * (v.y1 - v.y0)
        width, height = frame_size_px
        near = ((lo[0] - v.x0 < gap and v.x0 > 0) or (v.x1 - hi[0] < gap and v.x1 < width)
                or (lo[1] - v.y0 < gap and v.y0 > 0) or (v.y1 - hi[1] < gap and v.y1 < height))
        if near:
            box = subject_box([c], frame_size_px)
            self.view = ModelView(min(v.x0, box.x0), min(v.y0, box.y0), max(v.x1, box.x1), max(v.y1, box.y1))

    def _choose_again(self) -> None:
        self.view = None
        self._choosing_since = None
        self._chosen, self._times = [], []
        self._missed = 0


def fill_skipped(series: LandmarkSeries, ran: np.ndarray, max_gap_frames: int) -> LandmarkSeries:
    """Fill the rows of frames the model did not see, and flag which rows it saw.

    Parameters
    ----------
    series
        One row per frame; rows of skipped frames are empty (NaN).
    ran
        ``(T,)`` bool: the model saw the frame.
    max_gap_frames
        Only runs of at most this many skipped frames, with a detection on both sides, are
        filled (the schedule never skips more in a row).

    Returns
    -------
    LandmarkSeries
        Rows of skipped frames filled linearly in time (landmarks, visibility, presence and
        per-frame extras) between the detections on either side (after the last frame seen,
        its row repeated); ``extras[MODEL_RAN]`` is 1 where the model saw the frame, 0
        elsewhere.
    """
    ran = np.asarray(ran, bool)
    arrays = {"image_px": series.image_px.copy(), "world_m": series.world_m.copy(),
              "visibility": series.visibility.copy(), "presence": series.presence.copy()}
    extras = {k: v.copy() for k, v in series.extras.items()}
    detected = series.detected & ran
    t = series.time_s
    idx = np.flatnonzero(~ran)
    if idx.size:
        starts = idx[np.r_[True, np.diff(idx) > 1]]
        stops = idx[np.r_[np.diff(idx) > 1, True]] + 1
        for a, b in zip(starts, stops):
            if a == 0 or b - a > max_gap_frames or not detected[a - 1] or (b < len(t) and not detected[b]):
                continue
            for arr in (*arrays.values(), *extras.values()):
                if b == len(t):        # the clip ended before the model saw again: the last row
                    arr[a:b] = arr[a - 1]
                    continue
                w = ((t[a:b] - t[a - 1]) / (t[b] - t[a - 1])).reshape((-1,) + (1,) * (arr.ndim - 1))
                arr[a:b] = arr[a - 1] + w * (arr[b] - arr[a - 1])
    extras[MODEL_RAN] = ran.astype(np.float64)
    return series.replace(**arrays, extras=extras)
