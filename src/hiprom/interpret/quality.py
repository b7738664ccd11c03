"""How far to trust a measurement: a score in [0, 1], a verdict, and the reasons.

Each failed check multiplies the score by a factor (0.7 for a minor problem, 0.4 for a
major one) and adds a reason the user can act on. Verdict: ``good`` ≥ 0.8 > ``fair`` ≥ 0.5
> ``poor``. A few problems make a number untrustworthy whatever its score — the camera too
far round to see the rotation, the lower leg hardly visible — and *block* it: the side's
peaks are then withheld (``None``, kept in the diagnostics) and the reason says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import QualitySettings
    from hiprom.core.landmarks import LandmarkSeries
    from hiprom.interpret.measure import SideAngles
    from hiprom.signal.movement import Excursion
    from hiprom.geometry.projection import LegView
    from hiprom.geometry.roll import RollEstimate

__all__ = ["Quality", "assess_side", "MINOR", "MAJOR", "BLOCKING"]

MINOR, MAJOR = 0.7, 0.4
#: A failed check with this factor lowers the score like a major one and withholds the number.
BLOCKING = 0.39


@dataclass(frozen=True)
class Quality:
    score: float
    level: str
    reasons: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)

    @classmethod
    def from_checks(cls, failed: Sequence[tuple[float, str]]) -> "Quality":
        score = float(np.prod([f for f, _ in failed])) if failed else 1.0
        level = "good" if score >= 0.8 else "fair" if score >= 0.5 else "poor"
        return cls(round(score, 2), level, [reason for _, reason in failed],
                   [reason for f, reason in failed if f == BLOCKING])

    @property
    def withheld(self) -> bool:
        """The number must not be shown as a measurement (see the module notes)."""
        return bool(self.blocking)

    def to_dict(self) -> dict:
        return {"score": self.score, "level": self.level, "reasons": list(self.reasons),
                "withheld": self.withheld}


def assess_side(series: "LandmarkSeries", angles: "SideAngles", roll: "RollEstimate",
                yaw_deg: float | None, tested: bool, rest_found: bool,
                excursions: Sequence["Excursion"], settings: "QualitySettings", *,
                still: bool = False, view: "LegView | None" = None, damaged_frames: int = 0) -> Quality:
    """Check one leg's measurement and explain what lowers trust in it.

    ``damaged_frames``: frames (images) in which this leg lies in a damaged part of the
    picture (:func:`hiprom.interpret.measure.damaged_leg_frames`). In a photo that withholds
    the reading; in a video it is a major problem from 5 % of the frames, else a minor one.
    """
    side = angles.side
    failed: list[tuple[float, str]] = []
    if damaged_frames:
        where = (f"{damaged_frames} image(s)" if still else
                 f"{damaged_frames} of {series.n_frames} frames")
        factor = BLOCKING if still else MAJOR if damaged_frames >= 0.05 * series.n_frames else MINOR
        failed.append((factor, f"the {side} lower leg lies in a damaged part of {where} (a uniform grey band where "
                               f"the picture data is missing); use an undamaged copy of the file"))
    detected = float(np.mean(series.detected)) if series.n_frames else 0.0
    if detected < settings.min_detected_fraction:
        failed.append((MAJOR if detected < 0.6 else MINOR,
                       f"the person was found in only {detected:.0%} of frames; keep the whole "
                       f"body in frame and well lit"))
    vis = angles.visibility[series.detected]
    mean_vis = float(np.nanmean(vis)) if np.isfinite(vis).any() else 0.0
    if mean_vis < settings.min_leg_visibility:
        failed.append((BLOCKING if mean_vis < 0.4 else MINOR,
                       f"{side} knee/ankle poorly visible (mean visibility {mean_vis:.2f}); "
                       f"wear shorts or tight trousers and keep the feet in frame"))
    if abs(roll.roll_deg) > settings.max_roll_deg:
        failed.append((MINOR, f"camera tilted by {roll.roll_deg:+.1f}° (corrected); level the phone "
                              f"for best accuracy"))
    if view is not None and not view.solved:
        failed.append((BLOCKING, f"the {side} thigh is seen from the side (it looks longer than a thigh "
                              f"seen from the front can): the camera is too far round to measure "
                              f"rotation — place the phone straight in front, at knee height"))
    elif yaw_deg is not None and abs(yaw_deg) > settings.max_yaw_deg:
        where = f"camera about {abs(yaw_deg):.0f}° off to the subject's {'left' if yaw_deg > 0 else 'right'}"
        if abs(yaw_deg) <= 1.5 * settings.max_yaw_deg:
            failed.append((MINOR, f"{where}; the oblique view is corrected, but beyond "
                                  f"{settings.max_yaw_deg:.0f}° accuracy falls — place the phone straight in "
                                  f"front, at knee height"))
        else:
            failed.append((BLOCKING, f"{where}: too far round to measure rotation — place the phone "
                                     f"straight in front, at knee height"))
    if still or not tested:
        return Quality.from_checks(failed)
    jitter = angles.clean.jitter_deg
    if np.isfinite(jitter) and jitter > settings.max_jitter_deg:
        failed.append((MAJOR if jitter > 2 * settings.max_jitter_deg else MINOR,
                       f"{side} angle is jittery ({jitter:.1f}° frame to frame); use more light, "
                       f"a steadier camera or a higher resolution"))
    if not rest_found:
        failed.append((MAJOR, f"no rest phase found for the {side} leg; start with the leg hanging "
                              f"still for a second"))
    no_hold = [e for e in excursions if not e.has_hold]
    if no_hold:
        kinds = sorted({e.kind.upper() for e in no_hold})
        failed.append((MINOR, f"{side} leg: no hold at end range for {'/'.join(kinds)} "
                              f"({len(no_hold)} of {len(excursions)}); hold the end position for about 1 s"))
    edge = [e for e in excursions if e.start == 0 or e.stop >= series.n_frames]
    if edge:
        failed.append((MINOR, f"{side} leg: a movement is cut off by the start or end of the clip"))
    return Quality.from_checks(failed)
