"""Finding the phases of the seated test in a filtered angle series.

The protocol: the leg rests (shank hanging), swings out to end range (IR) and holds,
returns, and may swing in (ER) and hold, possibly several times. Functions here find the
rest phase, each excursion away from rest with its peak and its hold at end range, and
group excursions into repetitions. All are pure functions of arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hiprom.config import MovementSettings
from hiprom.signal.filtering import runs

__all__ = ["MovementSettings", "RestPhase", "Excursion", "Rep", "find_rest", "find_excursions",
           "group_reps", "is_tested"]


@dataclass(frozen=True)
class RestPhase:
    """The leg at rest: frames ``[start, stop)`` and the median angle there."""

    start: int
    stop: int
    level_deg: float
    duration_s: float


@dataclass(frozen=True)
class Excursion:
    """One swing away from rest and back.

    ``kind`` is ``"ir"`` (foot lateral, angle above rest) or ``"er"`` (below rest). Frames
    ``[start, stop)``; ``peak_index``/``peak_deg`` the extreme of the filtered angle;
    ``[hold_start, hold_stop)`` the frames within the hold tolerance of the peak around it,
    ``hold_deg`` their mean and ``hold_s`` their duration. ``value_deg`` is the reported
    end-range angle: the hold mean when the hold lasts at least ``min_hold_s``, else the
    peak.
    """

    kind: str
    start: int
    stop: int
    peak_index: int
    peak_deg: float
    hold_start: int
    hold_stop: int
    hold_deg: float
    hold_s: float
    has_hold: bool

    @property
    def value_deg(self) -> float:
        return self.hold_deg if self.has_hold else self.peak_deg


@dataclass(frozen=True)
class Rep:
    """A repetition: at most one IR and one ER excursion, in time order."""

    number: int
    ir: Excursion | None
    er: Excursion | None


def _velocity(time_s: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    if len(angle_deg) < 2:
        return np.zeros_like(angle_deg)
    return np.gradient(angle_deg, time_s)


def is_tested(angle_deg: np.ndarray, settings: MovementSettings | None = None) -> bool:
    """True when the leg moved: its 1st–99th percentile range exceeds ``tested_min_range_deg``."""
    settings = settings or MovementSettings()
    a = angle_deg[np.isfinite(angle_deg)]
    if a.size < 3:
        return False
    lo, hi = np.percentile(a, [1, 99])
    return bool(hi - lo >= settings.tested_min_range_deg)


def find_rest(time_s: np.ndarray, angle_deg: np.ndarray,
              settings: MovementSettings | None = None) -> RestPhase | None:
    """The rest phase: the first still stretch of at least ``min_rest_s``.

    A stretch is still when the angular speed stays below ``still_velocity_deg_s``. If the
    first such stretch sits at an extreme of the clip (the clip started during a hold) and
    a later still stretch lies between the extremes, the later one is used. If none does
    (a test in one direction only), the first still stretch within ``excursion_enter_deg``
    of the one nearest vertical (0°) is used: the shank hangs near vertical at rest.

    Returns
    -------
    RestPhase or None
        None when no still stretch is long enough (clip too short or never still).
    """
    settings = settings or MovementSettings()
    time_s = np.asarray(time_s, float)
    a = np.asarray(angle_deg, float)
    speed = np.abs(_velocity(time_s, a))
    still = np.isfinite(a) & (speed < settings.still_velocity_deg_s)
    candidates = []
    for start, stop in runs(still):
        duration = time_s[stop - 1] - time_s[start] if stop - start > 1 else 0.0
        if duration + 1e-9 >= settings.min_rest_s:
            candidates.append(RestPhase(start, stop, float(np.median(a[start:stop])), float(duration)))
    if not candidates:
        return None
    finite = a[np.isfinite(a)]
    lo, hi = float(np.min(finite)), float(np.max(finite))
    margin = max(settings.excursion_enter_deg, 0.2 * (hi - lo))

    def at_extreme(r: RestPhase) -> bool:
        return hi - lo >= settings.tested_min_range_deg and (
            r.level_deg > hi - margin or r.level_deg < lo + margin)

    first = candidates[0]
    if at_extreme(first):
        inner = [r for r in candidates[1:] if not at_extreme(r)]
        if inner:
            return inner[0]
        # One-direction test (IR only or ER only): rest and holds are both at extremes.
        # The leg hangs near vertical (0°) at rest and holds far from it at end range.
        nearest = min(abs(r.level_deg) for r in candidates)
        if abs(first.level_deg) > nearest + settings.excursion_enter_deg:
            return next(r for r in candidates if abs(r.level_deg) <= nearest + settings.excursion_enter_deg)
    return first


def _hold(angle: np.ndarray, peak: int, lo: int, hi: int, tol: float) -> tuple[int, int]:
    start = peak
    while start - 1 >= lo and np.isfinite(angle[start - 1]) and abs(angle[start - 1] - angle[peak]) <= tol:
        start -= 1
    stop = peak + 1
    while stop < hi and np.isfinite(angle[stop]) and abs(angle[stop] - angle[peak]) <= tol:
        stop += 1
    return start, stop


def find_excursions(time_s: np.ndarray, angle_deg: np.ndarray, rest_deg: float,
                    settings: MovementSettings | None = None) -> list[Excursion]:
    """Swings away from rest, in time order, with their peak and hold.

    Notes
    -----
    With ``e = angle - rest_deg``, an IR excursion is a run where ``e > exit`` whose maximum
    exceeds ``enter`` and which lasts at least ``min_excursion_s`` (hysteresis); an ER
    excursion is the same for ``-e``. The hold is the contiguous stretch around the peak
    within ``hold_tolerance_deg`` of it.
    """
    settings = settings or MovementSettings()
    time_s = np.asarray(time_s, float)
    a = np.asarray(angle_deg, float)
    e = a - rest_deg
    found: list[Excursion] = []
    for kind, sign in (("ir", 1.0), ("er", -1.0)):
        with np.errstate(invalid="ignore"):
            above = np.isfinite(e) & (sign * e > settings.excursion_exit_deg)
        for start, stop in runs(above):
            seg = sign * e[start:stop]
            if np.nanmax(seg) <= settings.excursion_enter_deg:
                continue
            if time_s[stop - 1] - time_s[start] < settings.min_excursion_s:
                continue
            peak = start + int(np.nanargmax(seg))
            h0, h1 = _hold(a, peak, start, stop, settings.hold_tolerance_deg)
            hold_s = float(time_s[h1 - 1] - time_s[h0]) if h1 - h0 > 1 else 0.0
            found.append(Excursion(kind, start, stop, peak, float(a[peak]), h0, h1,
                                   float(np.mean(a[h0:h1])), hold_s,
                                   hold_s + 1e-9 >= settings.min_hold_s))
    return sorted(found, key=lambda x: x.start)


def group_reps(excursions: list[Excursion]) -> list[Rep]:
    """Group excursions into repetitions: a rep ends when its kind of excursion repeats."""
    reps: list[Rep] = []
    current: dict[str, Excursion] = {}
    for exc in excursions:
        if exc.kind in current:
            reps.append(Rep(len(reps) + 1, current.get("ir"), current.get("er")))
            current = {}
        current[exc.kind] = exc
    if current:
        reps.append(Rep(len(reps) + 1, current.get("ir"), current.get("er")))
    return reps
