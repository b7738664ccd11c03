"""How many people the pose model looks for, and where: the people-count policy.

Looking for a second person costs the landmarker its person detector on every frame (about
70 % more time per frame). :class:`PeoplePolicy` looks for up to ``max_people`` people only
while it chooses the subject (the first ``choose_s`` seconds, and again whenever the subject
is lost), then follows the chosen subject alone in a box around them (:func:`subject_box`),
and looks at the whole frame again for a re-check every ``recheck_s`` seconds — and, as the
recorder asks, at end-range holds (see :attr:`hiprom.vision.schedule.FrameSchedule.holding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.vision.person import choose_subject, seated_score
from hiprom.vision.pose import ModelView, PoseCandidate

__all__ = ["PeoplePolicy", "Look", "subject_box"]


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
    The subject is chosen as :func:`hiprom.vision.person.choose_subject` chooses it over every
    frame looked at so far (the choice :meth:`LandmarkRecorder.series
    <hiprom.vision.recorder.LandmarkRecorder.series>` makes at the end, on what is known now),
    among the people seen during the choosing phase; when that person is not among them (they
    left), over the choosing phase alone. So a person who walks past for a few seconds does not
    take the box from the subject seen all along. The box the subject is then followed in spans
    their landmarks with room for the legs to turn (:func:`subject_box`), and grows when they
    come near its edge.
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
        self._chosen: list[list[PoseCandidate]] = []       # the frames of this choosing phase
        self._seen: list[list[PoseCandidate]] = []         # every frame looked at since the start
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
        self._seen.append(people)
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
            self._seen.append(people)
            return people
        here = _hips(self._subject)
        size = max(float(np.ptp(self._subject.image_px[:, 1])), 1.0)
        near = [c for c in people if np.linalg.norm(_hips(c) - here) <= 0.5 * size]
        subject = min(near, key=lambda c: float(np.linalg.norm(_hips(c) - here)), default=None)
        others = [c for c in people if c is not subject]
        if subject is None:
            self._seen.append(others)
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
        self._seen.append([subject] + others)
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
        rows, series = self._subject_rows(self._seen, len(self._chosen), frame_size_px)
        if not len(rows):      # the subject so far is not among the people of this phase: its own choice
            rows, series = self._subject_rows(self._chosen, len(self._chosen), frame_size_px)
        if not len(rows):
            return
        subject = [PoseCandidate(series.image_px[f], series.visibility[f], series.presence[f], series.world_m[f])
                   for f in rows]
        self.view = subject_box(subject, frame_size_px)
        self._subject = subject[-1]
        self._last_check = time_s
        self._missed = 0
        self._chosen, self._times = [], []
        self.choices += 1

    @staticmethod
    def _subject_rows(frames: list[list[PoseCandidate]], recent: int, frame_size_px: tuple[int, int]
                      ) -> tuple[np.ndarray, LandmarkSeries | None]:
        """The subject :func:`choose_subject` keeps over ``frames``, and the rows among the
        last ``recent`` frames where they were found (none: nobody chosen, or not lately)."""
        n = len(frames)
        series, choice = choose_subject(frames, np.arange(n, dtype=float), np.arange(n), frame_size_px)
        if choice.chosen_track < 0:
            return np.empty(0, int), None
        rows = np.flatnonzero(series.detected)
        return rows[rows >= n - recent], series

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
