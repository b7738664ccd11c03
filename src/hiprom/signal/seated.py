"""Recognising the seated test in a landmark series, before anything is measured.

The protocol: the person sits (table or chair, hips and knees at 90°), the camera in front at
knee height; each leg rests, is turned out (IR) and in (ER) about a still knee, and holds each
end for about a second. A clip may hold more than that (walking in, sitting down, standing up
at the end) or something else (walking, sit-to-stands, a kick, legs that never move). From the
landmarks alone:

1. :func:`find_seated_span` finds where the person sits still: the only frames measured.
2. :func:`judge_side` decides whether a leg's movement in that span is the test.
3. :func:`settle` keeps a verdict consistent with what the measurement then found, and
   :func:`no_test_message` says what was seen when neither side holds a test.

Lengths are image pixels divided by the shank's length in the picture (knee to ankle, ``L``),
so the rules hold at any distance and resolution; :data:`SHANK_M` turns them into metres for
messages. The thresholds are :class:`~hiprom.config.RecognitionSettings` (explained in the
``[recognition]`` section of the config) and the constants below.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from hiprom.config import MovementSettings, RecognitionSettings
from hiprom.core.landmarks import LM, SIDES, LandmarkSeries
from hiprom.core.recognition import SeatedSpan, TestVerdict
from hiprom.signal.filtering import _rolling_nanmedian, runs
from hiprom.signal.movement import find_rest

__all__ = ["Posture", "posture", "find_seated_span", "judge_side", "settle", "no_test_message", "photo_reason",
           "SHANK_M"]

#: An adult's shank (knee to ankle centre), metres: only to state distances in messages.
SHANK_M = 0.42
#: Posture is judged on a running median over this long (a glitch of a few frames is ignored).
SMOOTH_S = 0.5
#: Hips that travel further than this many shank lengths (about 0.8 m) belong to someone
#: walking or moving about; a seated person's hips stay within 0.25 (benchmark: ≤ 0.23).
WALK_TRAVEL = 2.0
#: Where the span ends at a stand-up (starts after sitting down), the frames since the hips
#: began to rise more than this many shank lengths (about 4 cm; still hips jitter ≤ 0.05)...
RISE_TOL = 0.1
#: ...and this long before them (the lean forward, the feet drawn back) are left out too.
EDGE_MARGIN_S = 0.3
#: Sitting or standing counts as a phase (for counting sit-to-stands) from this long.
MIN_PHASE_S = 0.3


@dataclass(frozen=True, eq=False)
class Posture:
    """Per-frame posture facts (NaN where the legs are not seen).

    ``thigh_drop`` ``(T,)`` the larger over both legs of ``|knee_y - hip_y| / L``: about 0
    when seated (the thigh points at the camera or lies level), about 1 when standing (the
    femur, as long as the shank, hangs below the hip); ``hips_px`` ``(T, 2)`` the midpoint of
    the hips; ``scale_px`` the median shank length ``L``. Both series are running medians
    over :data:`SMOOTH_S`.
    """

    thigh_drop: np.ndarray
    hips_px: np.ndarray
    scale_px: float


def _odd(frames: float) -> int:
    return max(1, int(round(frames)) // 2 * 2 + 1)


def _pair(a: np.ndarray, b: np.ndarray, how) -> np.ndarray:
    """``how(a, b)`` where both are finite, else whichever is (NaN when neither)."""
    return np.where(np.isnan(a), b, np.where(np.isnan(b), a, how(a, b)))


def posture(series: LandmarkSeries, min_visibility: float = 0.5) -> Posture:
    """Thigh drop and hip position per frame (see :class:`Posture`).

    A leg counts in a frame when its hip, knee and ankle are all seen with at least
    ``min_visibility``. ``L`` per frame is the mean shank length of the legs seen, smoothed
    over 1 s (a leg turning towards the camera looks shorter for a moment).
    """
    fps = series.median_fps or 30.0
    drops, shanks = [], []
    for side in SIDES:
        leg = LM.leg(side)
        ids = [leg["hip"], leg["knee"], leg["ankle"]]
        seen = np.nan_to_num(series.visibility[:, ids], nan=0.0).min(axis=1) >= min_visibility
        hip, knee, ankle = (np.where(seen[:, None], series.xy(i), np.nan) for i in ids)
        shanks.append(np.linalg.norm(ankle - knee, axis=1))
        drops.append(np.abs(knee[:, 1] - hip[:, 1]))
    shank = _pair(*shanks, lambda a, b: (a + b) / 2)
    scale = _rolling_nanmedian(shank, _odd(fps), min_count=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = _pair(*drops, np.maximum) / np.where(scale > 0, scale, np.nan)
    w = _odd(SMOOTH_S * fps)
    hips = (series.xy(LM.LEFT_HIP) + series.xy(LM.RIGHT_HIP)) / 2
    hips = np.stack([_rolling_nanmedian(hips[:, k], w, min_count=1) for k in (0, 1)], axis=1)
    scale_px = float(np.nanmedian(shank)) if np.isfinite(shank).any() else float("nan")
    return Posture(_rolling_nanmedian(drop, w, min_count=1), hips, scale_px)


def _duration(t: np.ndarray, a: int, b: int) -> float:
    return float(t[b - 1] - t[a]) if b - a > 1 else 0.0


def _times(values: list[float]) -> str:
    """``"1.2 s"``, ``"1.2 and 3.4 s"``, ``"1.2, 3.4 and 5.6 s"``."""
    text = [f"{v:.1f}" for v in values]
    return (", ".join(text[:-1]) + " and " + text[-1] if len(text) > 1 else text[0]) + " s"


def _leg_motion_deg(series: LandmarkSeries, a: int, b: int) -> float:
    """How much the legs swing in frames ``[a, b)``: the larger 5th–95th percentile range of
    the knee→ankle direction in the picture (a cheap cue to pick the span holding the test)."""
    best = 0.0
    for side in SIDES:
        leg = LM.leg(side)
        d = series.xy(leg["ankle"])[a:b] - series.xy(leg["knee"])[a:b]
        ang = np.degrees(np.arctan2(d[:, 0], d[:, 1]))
        ang = ang[np.isfinite(ang)]
        if ang.size >= 3:
            lo, hi = np.percentile(ang, [5, 95])
            best = max(best, float(hi - lo))
    return best


def _still_spells(p: Posture, seated: np.ndarray, standing: np.ndarray,
                  max_hip_shift: float) -> list[tuple[int, int]]:
    """Runs of seated frames (unknown frames inside kept) in which the hips stay within
    ``max_hip_shift`` shank lengths of their seated place."""
    spells = []
    for a, b in runs(~standing):
        idx = np.flatnonzero(seated[a:b])
        if idx.size == 0:
            continue
        a, b = a + int(idx[0]), a + int(idx[-1]) + 1
        hips = p.hips_px[a:b]
        level = np.nanmedian(hips[seated[a:b]], axis=0) if np.isfinite(hips[seated[a:b]]).any() else None
        shift = (np.zeros(b - a) if level is None
                 else np.nan_to_num(np.linalg.norm(hips - level, axis=1) / p.scale_px, nan=0.0))
        for c, d in runs(shift <= max_hip_shift):
            idx = np.flatnonzero(seated[a + c:a + d])
            if idx.size:
                spells.append((a + c + int(idx[0]), a + c + int(idx[-1]) + 1))
    return spells


def _trim_edges(t: np.ndarray, p: Posture, known: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """Leave out the start of a stand-up (end of a sit-down) at an edge that meets one: the
    frames whose hips are off their seated place by more than :data:`RISE_TOL`, and
    :data:`EDGE_MARGIN_S` before (after) them. An edge at the clip's end or at frames where
    nobody is seen is kept as it is."""
    hips = p.hips_px[a:b]
    if not np.isfinite(hips).all(axis=1).any():
        return a, b
    level = np.nanmedian(hips, axis=0)
    off = np.nan_to_num(np.linalg.norm(p.hips_px - level, axis=1) / p.scale_px, nan=0.0) > RISE_TOL
    if known[b:].any():
        while b - 1 > a and off[b - 1]:
            b -= 1
        b = max(a, int(np.searchsorted(t, t[b - 1] - EDGE_MARGIN_S, side="right")))
    if known[:a].any():
        while a + 1 < b and off[a]:
            a += 1
        a = min(b, int(np.searchsorted(t, t[a] + EDGE_MARGIN_S, side="left")))
    return a, b


def _stand_ups(t: np.ndarray, seated: np.ndarray, standing: np.ndarray) -> list[float]:
    """Times at which a sitting phase gives way to a standing one (each ≥ :data:`MIN_PHASE_S`)."""
    phases = [(a, "sit") for a, b in runs(seated) if _duration(t, a, b) >= MIN_PHASE_S]
    phases += [(a, "stand") for a, b in runs(standing) if _duration(t, a, b) >= MIN_PHASE_S]
    phases.sort()
    return [float(t[a]) for (_, prev), (a, kind) in zip(phases, phases[1:]) if prev == "sit" and kind == "stand"]


def _why_not_seated(t: np.ndarray, p: Posture, known: np.ndarray, seated: np.ndarray, standing: np.ndarray,
                    longest_s: float, settings: RecognitionSettings) -> str:
    """What was seen instead of someone sitting still for ``min_seated_s``."""
    hips = p.hips_px[np.isfinite(p.hips_px).all(axis=1)]
    travel = float(np.hypot(*np.ptp(np.percentile(hips, [5, 95], axis=0), axis=0)) / p.scale_px) if len(hips) else 0.0
    if travel > WALK_TRAVEL:
        return f"nobody sits still: the hips move about {travel * SHANK_M:.1f} m across the picture (walking?)"
    ups = _stand_ups(t, seated, standing)
    if len(ups) >= 2:
        return (f"the person sits and stands up again and again (stands up at {_times(ups)}): "
                f"sit-to-stands, not the seated rotation test")
    share = standing.sum() / known.sum()
    if share >= 0.5:
        return f"nobody sits: the thighs are upright, as when standing, in {share:.0%} of the frames"
    then = f", and stands up at {_times(ups)}" if ups else ""
    return (f"the person sits still for {longest_s:.1f} s at most{then}; the test needs at least "
            f"{settings.min_seated_s:g} s seated")


def find_seated_span(series: LandmarkSeries, settings: RecognitionSettings | None = None, *,
                     min_visibility: float = 0.5) -> SeatedSpan:
    """The span of frames in which the person sits still: the part of the clip to measure.

    Parameters
    ----------
    series
        The subject's landmarks (a video).
    settings
        ``max_thigh_drop``, ``max_hip_shift``, ``min_seated_s`` (see the config).
    min_visibility
        Landmarks seen less well than this do not count.

    Returns
    -------
    SeatedSpan
        The span (its notes say what happens outside it), or an empty span with the reason.

    Notes
    -----
    A frame is *seated* when ``thigh_drop < max_thigh_drop`` (:func:`posture`). With a femur
    as long as the shank, a level thigh seen from a camera ``p`` degrees above the knees reads
    ``tan p`` (the protocol's camera at knee height: 0; the benchmark, up to 0.4 m above:
    ≤ 0.32) and a thigh hanging below the hip reads about 1 from any height (standing, walking
    on real footage: ≥ 0.76). The default 0.6 admits a camera held up to 30° above the knees
    (tan 30° = 0.58) and stays clear of standing. A *spell* is a run of
    seated frames (frames where nobody is seen, inside it, are kept) in which the hips stay
    within ``max_hip_shift`` L of their median place (the pelvis neither rises nor slides;
    landmark glitches reach 0.2 L). An edge where a spell meets a stand-up or a sit-down is
    pulled in (:func:`_trim_edges`). Spells of at least ``min_seated_s`` qualify; the one in
    which the legs swing most (ties: the longer) is the span.
    """
    settings = settings or RecognitionSettings()
    t, n = series.time_s, series.n_frames
    p = posture(series, min_visibility)
    known = np.isfinite(p.thigh_drop)
    standing = known & (p.thigh_drop >= settings.max_thigh_drop)
    seated = known & ~standing
    spells = []
    for a, b in _still_spells(p, seated, standing, settings.max_hip_shift):
        a, b = _trim_edges(t, p, known, a, b)
        if b > a and _duration(t, a, b) + 1e-9 >= settings.min_seated_s:
            spells.append((a, b))
    if not known.any():          # hips, knees and ankles never seen together: posture unknown
        return SeatedSpan(0, n, n, float(t[0]), float(t[-1]),
                          notes=("the hips are not seen, so the seated posture could not be checked",))
    if not spells:
        longest = max((_duration(t, a, b) for a, b in runs(seated)), default=0.0)
        return SeatedSpan(0, 0, n, reason=_why_not_seated(t, p, known, seated, standing, longest, settings))
    a, b = max(spells, key=lambda s: (round(_leg_motion_deg(series, *s)), _duration(t, *s)))
    notes = []
    before, after = np.flatnonzero(standing[:a]), np.flatnonzero(standing[b:])
    if before.size:
        notes.append(f"the person sits down at {t[before[-1] + 1]:.1f} s")
    if after.size:
        notes.append(f"the person stands up at {t[b + after[0]]:.1f} s")
    notes += [f"also seated {t[c]:.1f}–{t[d - 1]:.1f} s, not measured (the stretch in which the legs "
              f"move most is measured)" for c, d in spells if (c, d) != (a, b)]
    return SeatedSpan(a, b, n, float(t[a]), float(t[b - 1]), notes=tuple(notes))


def photo_reason(series: LandmarkSeries, settings: RecognitionSettings | None = None, *,
                 min_visibility: float = 0.5) -> str | None:
    """Why no photo of ``series`` shows the seated test, or None when one shows a seated person
    (or the posture cannot be seen). Each photo is judged alone, by ``max_thigh_drop``."""
    settings = settings or RecognitionSettings()
    p = posture(series, min_visibility)
    known = np.isfinite(p.thigh_drop)
    if not known.any() or (p.thigh_drop[known] < settings.max_thigh_drop).any():
        return None
    return f"nobody sits in the photo{'s' if series.n_frames > 1 else ''}: the thighs are upright, as when standing"


def judge_side(side: str, time_s: np.ndarray, angle_deg: np.ndarray, knee_px: np.ndarray,
               ankle_px: np.ndarray, span_s: tuple[float, float] | None,
               settings: RecognitionSettings | None = None,
               movement: MovementSettings | None = None) -> TestVerdict:
    """Is this leg's movement in the seated span the rotation test?

    Parameters
    ----------
    side
        ``"left"`` or ``"right"`` (named in the reason).
    time_s, angle_deg
        The span's times and the leg's filtered angle (any reference: only changes count).
    knee_px, ankle_px
        ``(T, 2)`` the knee and ankle landmarks in the picture.
    span_s
        The seated span (reported with the verdict).
    settings, movement
        Thresholds; ``movement`` finds the rest phase as the measurement does.

    Notes
    -----
    With ``e = |angle - rest|`` (rest: :func:`~hiprom.signal.movement.find_rest`, else the
    median), the leg's excursion is the 99th percentile of ``e``. Under
    ``min_excursion_deg`` (10°) the leg is ``not_tested``: a still leg reads up to 4.9° of
    false motion on the benchmarks, a fidget (under 5° by the protocol of the no-test clip)
    reads 3.9°, and the test turns a leg 15–50° (the benchmark's least: 16°). Otherwise, over
    the frames out at least half way (``e ≥ max(min_excursion_deg, excursion / 2)``), a
    rotation keeps the knee still and the shank's length in the picture (it swings in the
    plane facing the camera): a median knee shift over ``max_knee_shift`` resting shank
    lengths (rotations on the benchmarks: ≤ 0.21; walking: ≥ 4), or a median shank length
    under ``min_shank_ratio`` of its resting length (rotations: ≥ 0.85; a kick to 45° seen
    from the front: 0.71 and less), makes the movement ``not_a_seated_test``. A kick seen from
    the side keeps the shank's length and cannot be told from a rotation here; the view
    check of :mod:`hiprom.interpret.quality` withholds what is filmed from the side.
    """
    settings = settings or RecognitionSettings()
    t, a = np.asarray(time_s, float), np.asarray(angle_deg, float)
    ok = np.isfinite(a)
    if ok.sum() < 3:
        return TestVerdict("not_tested", f"the {side} leg's angle could not be followed", span_s)
    rest = find_rest(t, a, movement)
    e = np.abs(a - (rest.level_deg if rest is not None else float(np.median(a[ok]))))
    amp = float(np.percentile(e[ok], 99))
    if amp < settings.min_excursion_deg:
        return TestVerdict("not_tested", f"the {side} leg stays within {max(1, math.ceil(amp))}° of rest", span_s, amp)
    out = ok & (e >= max(settings.min_excursion_deg, amp / 2))
    still = ok & (e < settings.min_excursion_deg / 2)
    ref = still if still.sum() >= 3 else ok
    shank = np.linalg.norm(np.asarray(ankle_px, float) - np.asarray(knee_px, float), axis=1)
    shank_rest = float(np.nanmedian(shank[ref])) if np.isfinite(shank[ref]).any() else float("nan")
    knee_rest = np.nanmedian(np.asarray(knee_px, float)[ref], axis=0)
    when = (float(t[out][0]), float(t[out][-1]))
    with np.errstate(invalid="ignore"):
        ratio = float(np.nanmedian(shank[out])) / shank_rest if np.isfinite(shank[out]).any() else float("nan")
        shift = np.linalg.norm(np.asarray(knee_px, float)[out] - knee_rest, axis=1) / shank_rest
        knee_shift = float(np.nanmedian(shift)) if np.isfinite(shift).any() else float("nan")
    if ratio < settings.min_shank_ratio:
        return TestVerdict("not_a_seated_test",
                           f"the {side} lower leg looks {ratio:.0%} as long while it is out "
                           f"({when[0]:.1f}–{when[1]:.1f} s): the knee straightens (a kick?) instead of "
                           f"turning", when, amp)
    if knee_shift > settings.max_knee_shift:
        return TestVerdict("not_a_seated_test",
                           f"the {side} knee moves {knee_shift * SHANK_M * 100:.0f} cm while the foot swings "
                           f"({when[0]:.1f}–{when[1]:.1f} s); in the test the knee stays put", when, amp)
    return TestVerdict("tested", f"the {side} leg turns up to {amp:.0f}° from rest about a still knee",
                       span_s, amp)


def settle(verdict: TestVerdict, tested: bool, rest_found: bool, min_rest_s: float) -> TestVerdict:
    """The verdict made consistent with the measurement: ``tested`` only when it found a
    swing out and back from a rest phase."""
    if not verdict.tested or tested:
        return verdict
    why = (f"it never rests still for {min_rest_s:g} s to measure from" if not rest_found
           else "no swing out from rest and back was found")
    return dataclasses.replace(verdict, test="not_tested", reason=f"{verdict.reason}, but {why}")


def no_test_message(span: SeatedSpan, verdicts: dict[str, TestVerdict]) -> str:
    """What to tell the user when no side holds a test (names what was seen, and when)."""
    if not span.found:
        return f"no seated test found: {span.reason}"
    still = [v for v in verdicts.values() if v.test == "not_tested" and v.excursion_deg is not None]
    if len(still) == len(verdicts) == 2:
        most = max(max(1, math.ceil(v.excursion_deg or 0.0)) for v in still)
        seen = [f"both legs stay within {most}° of rest (the test turns a leg 15–50°)"]
    else:
        seen = [verdicts[side].reason for side in SIDES if side in verdicts]
    return (f"no seated test found: seated {span.start_s:.1f}–{span.end_s:.1f} s, but "
            + "; ".join(seen + list(span.notes)))
