"""Live mode's reading of each frame, and the guided protocol that follows what it sees.

:class:`LiveAngles` turns the people the pose model found in one frame into a
:class:`LiveReading`: the seated subject, each shank's angle (silhouette midline, as the
offline pipeline; roll corrected; One-Euro smoothed for display only) and a quality light.
:class:`Protocol` is a small state machine fed with those angles: neutral, then for each leg
foot out (IR) and hold, back, foot in (ER) and hold, back. :class:`Peaks` keeps the running
peak IR and ER per side. Nothing here is saved: saved numbers come from the offline pipeline.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Sequence

import numpy as np

from hiprom.config import Config
from hiprom.core.capture import SceneLine, ShankLines
from hiprom.core.landmarks import LM, SIDES, LandmarkSeries
from hiprom.geometry import angles as geo
from hiprom.geometry.roll import estimate_roll
from hiprom.geometry.shank import shank_angle, side_signs
from hiprom.signal.one_euro import OneEuroFilter
from hiprom.vision.person import seated_score
from hiprom.vision.pose import PoseCandidate

__all__ = ["LiveAngles", "LiveReading", "QualityLight", "Peaks", "Protocol", "ProtocolSettings",
           "Prompt", "Step", "SIDES"]

_LEGS = [LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE]
#: The quality light turns amber beyond this camera roll (it is corrected, but level is better).
LEVEL_WARN_DEG = 3.0


@dataclass(frozen=True)
class QualityLight:
    """What the quality light shows: person seen, legs visible, camera level and in front."""

    person: bool
    legs: bool
    level: bool
    in_front: bool
    roll_deg: float = math.nan
    yaw_deg: float = math.nan

    @property
    def colour(self) -> str:
        """``"green"`` all good, ``"amber"`` camera placement, ``"red"`` nothing to measure."""
        if not (self.person and self.legs):
            return "red"
        return "green" if self.level and self.in_front else "amber"

    @property
    def text(self) -> str:
        if not self.person:
            return "no person"
        problems = [] if self.legs else ["legs not visible"]
        if not self.level:
            problems.append(f"camera not level (roll {self.roll_deg:+.0f}°)")
        if not self.in_front:
            problems.append(f"camera not in front (yaw {self.yaw_deg:+.0f}°)"
                            if math.isfinite(self.yaw_deg) else "legs not all in the picture")
        return ", ".join(problems) or "good"


@dataclass(frozen=True, eq=False)
class LiveReading:
    """One frame as live mode saw it. Angles in degrees from the vertical, + = IR (foot out)."""

    time_s: float
    person: PoseCandidate | None
    raw_deg: dict[str, float]
    angle_deg: dict[str, float]
    roll_deg: float
    left_is_image_right: bool
    quality: QualityLight


class LiveAngles:
    """Per-frame shank angles of the seated subject, for display.

    Each frame's angle comes from the offline maths (:func:`hiprom.geometry.shank.shank_angle`
    on the last ``window_s`` seconds of the subject: silhouette midline, knee→ankle landmarks
    shifted by their median difference where the silhouette is missing, roll corrected), so
    live mode shows what ``hiprom analyze`` would measure in the image.

    Parameters
    ----------
    config
        Settings (``signal.min_visibility``, ``geometry``, ``quality`` limits).
    frame_size_px
        ``(width, height)`` of the processed frames.
    min_cutoff_hz, beta
        One-Euro smoothing of the displayed angles (see :class:`hiprom.signal.one_euro.OneEuroFilter`).
    window_s
        Recent frames kept for the lateral sign, the landmark offset and the camera roll.
    """

    def __init__(self, config: Config, frame_size_px: tuple[int, int], *, min_cutoff_hz: float = 1.0,
                 beta: float = 0.05, window_s: float = 2.0):
        self.config = config
        self.frame_size_px = (int(frame_size_px[0]), int(frame_size_px[1]))
        self._smooth = {s: OneEuroFilter(min_cutoff_hz, beta) for s in SIDES}
        self._window_s = float(window_s)
        self._recent: deque[tuple[float, PoseCandidate]] = deque()
        self._centre: np.ndarray | None = None
        self.locked_roll_deg: float | None = None

    def reset(self) -> None:
        """Forget the subject, the smoothing and the roll."""
        for f in self._smooth.values():
            f.reset()
        self._recent.clear()
        self._centre, self.locked_roll_deg = None, None

    def pick(self, people: Sequence[PoseCandidate]) -> PoseCandidate | None:
        """The seated subject: the person nearest the last one, else the most seated-looking."""
        if not people:
            return None
        diag = float(np.hypot(*self.frame_size_px))
        hips = [(c.image_px[LM.LEFT_HIP, :2] + c.image_px[LM.RIGHT_HIP, :2]) / 2 for c in people]
        if self._centre is not None:
            dist = [float(np.linalg.norm(h - self._centre)) for h in hips]
            near = int(np.nanargmin(dist)) if np.isfinite(dist).any() else 0
            if dist[near] <= 0.15 * diag:
                self._centre = hips[near]
                return people[near]
        scores = [seated_score(c) * min(1.0, 2.0 * float(np.ptp(c.image_px[:, :2], axis=0).max()) / diag)
                  for c in people]
        best = int(np.nanargmax(scores)) if np.isfinite(scores).any() else 0
        self._centre = hips[best]
        return people[best]

    def _window(self, scene_lines: Sequence[SceneLine] = ()) -> LandmarkSeries:
        """The recent frames of the subject as a landmark series (with their shank lines)."""
        t = np.array([r[0] for r in self._recent])
        people = [r[1] for r in self._recent]
        p = np.stack([c.image_px for c in people])
        v = np.stack([c.visibility for c in people])
        lines = [c.shank for c in people]
        return LandmarkSeries(p, v, v, np.full_like(p, np.nan), t, np.arange(len(t)), self.frame_size_px,
                              scene_lines=tuple(scene_lines),
                              shank_lines=ShankLines.stack(lines) if any(x is not None for x in lines) else None)

    def roll_deg(self) -> float:
        """The locked roll, the fixed one from the settings, or the recent hip line's median."""
        fixed = self.config.geometry.fixed_roll_deg
        if fixed is not None:
            return float(fixed)
        if self.locked_roll_deg is not None:
            return self.locked_roll_deg
        tilts = [float(geo.line_angle_deg(c.image_px[LM.RIGHT_HIP, :2], c.image_px[LM.LEFT_HIP, :2]))
                 for _, c in self._recent if min(c.visibility[LM.LEFT_HIP], c.visibility[LM.RIGHT_HIP]) >= 0.5]
        return float(np.median(tilts)) if tilts else 0.0

    def lock_roll(self, scene_lines: Sequence[SceneLine] = ()) -> float:
        """Fix the roll from the recent frames as the offline pipeline would (scene lines, hips)."""
        if not self._recent:
            return self.roll_deg()
        est = estimate_roll(self._window(scene_lines), self.config.geometry.fixed_roll_deg,
                            min_visibility=self.config.signal.min_visibility)
        self.locked_roll_deg = float(est.roll_deg)
        return self.locked_roll_deg

    def update(self, people: Sequence[PoseCandidate], time_s: float) -> LiveReading:
        """Read one frame: the subject, the angle of each leg, the quality light."""
        nan = {s: math.nan for s in SIDES}
        person = self.pick(people)
        if person is None:
            for f in self._smooth.values():
                f(math.nan, time_s)
            light = QualityLight(False, False, True, True)
            return LiveReading(time_s, None, nan, dict(nan), self.roll_deg(), True, light)
        p, vis = person.image_px, np.nan_to_num(person.visibility, nan=0.0)
        self._recent.append((time_s, person))
        while self._recent and self._recent[0][0] < time_s - self._window_s:
            self._recent.popleft()
        window = self._window()
        signs = side_signs(window)
        roll = self.roll_deg()
        min_vis = self.config.signal.min_visibility
        raw = {}
        for side in SIDES:
            leg = LM.leg(side)
            if min(vis[leg["knee"]], vis[leg["ankle"]]) < min_vis:
                raw[side] = math.nan
                continue
            angle = shank_angle(window, side, signs[side], roll, silhouette=self.config.geometry.silhouette)
            raw[side] = float(angle.angle_deg[-1])
        smooth = {s: self._smooth[s](raw[s], time_s) for s in SIDES}
        legs = bool(min(vis[_LEGS]) >= min_vis)
        yaw = float(geo.thigh_yaw_deg(*(p[i, :2] for i in (LM.LEFT_HIP, LM.RIGHT_HIP, LM.LEFT_KNEE,
                                                             LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE))))
        w, h = self.frame_size_px
        inside = bool(((p[_LEGS, 0] >= 0) & (p[_LEGS, 0] < w) & (p[_LEGS, 1] >= 0) & (p[_LEGS, 1] < h)).all())
        q = self.config.quality
        level = abs(roll) <= min(LEVEL_WARN_DEG, q.max_roll_deg)
        in_front = inside and (not math.isfinite(yaw) or abs(yaw) <= q.max_yaw_deg)
        light = QualityLight(True, legs, level, in_front, roll, yaw if inside else math.nan)
        return LiveReading(time_s, person, raw, smooth, roll, signs["left"] > 0, light)


class Peaks:
    """The largest IR and ER seen per side (degrees, ER as a positive number; None = not yet).

    Shown as "max", beside the held readings (the mean over a hold at end range, what is
    saved): a leg counts only once it is turned at least ``min_deg`` from vertical (the
    protocol's "rotated"), so a resting leg's wobble is not an "ER 0".
    """

    def __init__(self, min_deg: float = 8.0) -> None:
        self.min_deg = float(min_deg)
        self.ir: dict[str, float | None] = {s: None for s in SIDES}
        self.er: dict[str, float | None] = {s: None for s in SIDES}

    def update(self, angles: Mapping[str, float]) -> None:
        for side, a in angles.items():
            if not math.isfinite(a) or abs(a) < self.min_deg:
                continue
            if a > 0 and (self.ir[side] is None or a > self.ir[side]):
                self.ir[side] = a
            if a < 0 and (self.er[side] is None or -a > self.er[side]):
                self.er[side] = -a

    def reset(self) -> None:
        self.ir = {s: None for s in SIDES}
        self.er = {s: None for s in SIDES}


class Step(str, Enum):
    PERSON = "person"        # nobody in view
    POSITION = "position"    # somebody, but the lower legs are not visible
    NEUTRAL = "neutral"      # waiting for both legs to hang still
    ROTATE = "rotate"        # asking for one leg's IR or ER
    BACK = "back"            # a hold was taken: back to the middle
    DONE = "done"


@dataclass(frozen=True)
class ProtocolSettings:
    """Thresholds of the guided protocol (degrees, seconds)."""

    neutral_s: float = 1.0         # both legs still this long = neutral found
    hold_s: float = 0.8            # still this long beyond enter_deg = an end-range hold
    still_range_deg: float = 2.5   # still = the angle stays within this range
    enter_deg: float = 8.0         # this far from neutral = rotated
    back_deg: float = 4.0          # this close to neutral = back in the middle
    neutral_max_deg: float = 15.0  # a leg held further from vertical is rotated, not at neutral

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"ProtocolSettings.{name} must be a positive number, got {value!r}")
        if self.back_deg >= self.enter_deg:
            raise ValueError(f"back_deg ({self.back_deg}) must be smaller than enter_deg ({self.enter_deg})")


@dataclass(frozen=True)
class Prompt:
    """What the screen asks for now."""

    step: Step
    text: str
    side: str | None = None
    goal: str | None = None        # "ir" or "er"


_GOALS = ("ir", "er")
_MOVE = {"ir": "OUT (internal rotation)", "er": "IN (external rotation)"}


@dataclass
class Protocol:
    """Guided seated test: neutral, then per leg foot out and hold, back, foot in and hold, back.

    Feed :meth:`update` every frame with the displayed angles. It follows what it sees: a hold
    in the direction or on the leg not yet asked for is taken too, and nobody in view or legs
    out of view pause it with a prompt saying so.
    """

    settings: ProtocolSettings = field(default_factory=ProtocolSettings)
    neutral_deg: dict[str, float] | None = field(default=None, init=False)
    holds: dict[tuple[str, str], float] = field(default_factory=dict, init=False)
    events: list[str] = field(default_factory=list, init=False)
    _recent: dict[str, deque] = field(default_factory=lambda: {s: deque() for s in SIDES}, init=False)
    _away: str | None = field(default=None, init=False)
    _last: str | None = field(default=None, init=False)     # the leg of the last hold taken

    def reset(self) -> None:
        """Start over: neutral and every hold forgotten."""
        self.neutral_deg, self._away, self._last = None, None, None
        self.holds.clear()
        self.events.clear()
        for d in self._recent.values():
            d.clear()

    def retake_neutral(self) -> None:
        """Find neutral again (holds already taken are kept)."""
        self.neutral_deg, self._away = None, None

    def target(self, angles: Mapping[str, float] | None = None) -> tuple[str, str] | None:
        """The next (side, goal) asked for, or None when every hold is taken.

        The leg being tested leads: a leg turned away from neutral with a hold still to take,
        else the leg of the last hold while it has one to take, else right before left.
        """
        open_ = [(s, g) for s in SIDES for g in _GOALS if (s, g) not in self.holds]
        if not open_:
            return None
        if angles is not None and self.neutral_deg is not None:
            for side in SIDES:
                off = angles.get(side, math.nan) - self.neutral_deg.get(side, 0.0)
                goal = "ir" if off > 0 else "er"
                if abs(off) >= self.settings.enter_deg and (side, goal) in open_:
                    return side, goal
        if self._last is not None:
            mine = [t for t in open_ if t[0] == self._last]
            if mine:
                return mine[0]
        return open_[0]

    def _still(self, side: str, seconds: float, now: float) -> float | None:
        """Mean angle if the leg stayed within still_range_deg for ``seconds``, else None."""
        d = self._recent[side]
        if not d or d[0][0] > now - seconds + 1e-6:
            return None
        values = [a for t, a in d if t >= now - seconds - 1e-6]
        return float(np.mean(values)) if np.ptp(values) <= self.settings.still_range_deg else None

    def update(self, time_s: float, angles: Mapping[str, float], *, person: bool = True,
               legs: bool = True) -> Prompt:
        """Advance with one frame's angles (deg, + = IR; NaN = leg unseen); return the prompt."""
        st = self.settings
        keep = max(st.neutral_s, st.hold_s) + 0.5
        for side in SIDES:
            a = angles.get(side, math.nan)
            d = self._recent[side]
            if not (person and legs and math.isfinite(a)):
                d.clear()
                continue
            d.append((time_s, float(a)))
            while d[0][0] < time_s - keep:
                d.popleft()
        if not person:
            return Prompt(Step.PERSON, "No person in view: sit facing the camera, whole body in the picture")
        if not legs:
            return Prompt(Step.POSITION, "Lower legs not visible: sit on the table edge, hips and knees "
                                         "at 90°, both shanks in the picture")
        if self.neutral_deg is None:
            found = {s: self._still(s, st.neutral_s, time_s) for s in SIDES}
            if any(v is None or abs(v) > st.neutral_max_deg for v in found.values()):
                return Prompt(Step.NEUTRAL, "Sit with hips and knees at 90°, both legs hanging: hold still")
            self.neutral_deg = {s: float(v) for s, v in found.items() if v is not None}
            self.events.append(f"{time_s:.1f} s neutral R {self.neutral_deg['right']:+.1f}° "
                               f"L {self.neutral_deg['left']:+.1f}°")
        if self._away is not None:
            a = angles.get(self._away, math.nan)
            if not abs(a - self.neutral_deg[self._away]) <= st.back_deg:
                return Prompt(Step.BACK, f"Good. Now back to the middle with the {self._away.upper()} foot",
                              self._away)
            self._away = None
        for side in SIDES:
            off = angles.get(side, math.nan) - self.neutral_deg[side]
            goal = "ir" if off > 0 else "er"
            held = self._still(side, st.hold_s, time_s)
            if abs(off) >= st.enter_deg and held is not None and (side, goal) not in self.holds:
                self.holds[(side, goal)] = held
                self._last = side
                self.events.append(f"{time_s:.1f} s {side} {goal.upper()} held at {abs(held):.1f}°")
                self._away = side
                return Prompt(Step.BACK, f"Held {goal.upper()} {abs(held):.0f}°. Now back to the middle "
                                         f"with the {side.upper()} foot", side, goal)
        nxt = self.target(angles)
        if nxt is None:
            return Prompt(Step.DONE, "Done: both legs measured. Press s to save (q saves and quits)")
        side, goal = nxt
        off = angles.get(side, math.nan) - self.neutral_deg[side]
        if (off > 0) == (goal == "ir") and abs(off) >= st.enter_deg:
            return Prompt(Step.ROTATE, f"Hold the {side.upper()} foot there, as far as it goes", side, goal)
        return Prompt(Step.ROTATE, f"Turn the {side.upper()} foot {_MOVE[goal]} and hold", side, goal)
