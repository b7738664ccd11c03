"""How far a reading may be from the truth: an uncertainty per reading, from what was measured.

Each reported angle (a hold at end range in a clip, or a photo) gets an uncertainty ``u``,
the half-width of a ~95 % interval, built from independent error sources, each estimated
from the clip itself::

    u = 2 · sqrt(σ_method² + σ_noise² + σ_hold² + σ_source² + σ_axes² + σ_view² + σ_roll² + σ_photo²)

* ``σ_method`` — the method's own error on clean footage (the benchmark's clean renders:
  readings within about ±0.8° at 95 %): :data:`METHOD_SD_DEG`.
* ``σ_noise`` — frame-to-frame noise averaged over the hold: jitter / √n, with n the hold's
  independent samples (its duration times twice the filter's cutoff).
* ``σ_hold`` — a hold that drifts within its tolerance stands for a range: range / √12.
* ``σ_source`` — frames of the hold whose axis came from the knee and ankle landmarks instead
  of the silhouette (shifted by the leg's median difference): those landmarks drift towards
  a vertical shank at end range, by :data:`LANDMARK_DRIFT_DEG` on the renders; the share of
  such frames scales it.
* ``σ_axes`` — the two axes disagree where they should not: at rest the silhouette's and
  the landmarks' axis both give the hanging shank; a difference beyond
  :data:`REST_AGREEMENT_DEG` means the outline is not the shank's (wide clothing, a shadow
  or another body joined to it), and it counts in full. At end range the landmarks read a
  little towards vertical, so the silhouette's angle exceeds theirs by a few degrees
  (:data:`HOLD_AGREEMENT_DEG` holds every reading of the renders); beyond that window the
  excess counts too (the two excesses add in quadrature).
* ``σ_view`` — the camera-view correction grows with the camera's yaw: :data:`VIEW_SD_PER_DEG`
  per degree.
* ``σ_roll`` — a roll error adds to every angle: about 0.3° from agreeing level lines, 1° from
  the hip line alone, 2° when nothing gave it.
* ``σ_photo`` — a photo read as taken and mirrored: half the difference of the two readings.
* ``σ_frame`` — the ankle or heel outside the picture during the hold: the axis's far end is
  guessed; the share of such frames times :data:`OUTSIDE_SD_DEG`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hiprom.core.measurement import RollEstimate, SideAngles

__all__ = ["ReadingFacts", "reading_uncertainty", "hold_facts", "explain", "rest_disagreement_deg", "roll_kind",
           "METHOD_SD_DEG", "LANDMARK_DRIFT_DEG", "REST_AGREEMENT_DEG", "HOLD_AGREEMENT_DEG", "VIEW_SD_PER_DEG"]

#: The method's standard error on clean renders (the benchmark: SD of the readings' errors).
METHOD_SD_DEG = 0.4
#: How far the knee→ankle landmarks read towards vertical at end range (renders: 2-4°).
LANDMARK_DRIFT_DEG = 3.0
#: At rest the silhouette and landmark axes agree within this on clean renders.
REST_AGREEMENT_DEG = 3.0
#: At end range, the silhouette angle minus the landmark angle (towards the reading's side)
#: lies in this window on clean renders (-1.4° to +4.9° there, with margin).
HOLD_AGREEMENT_DEG = (-3.0, 7.0)
#: The camera-view correction's error per degree of camera yaw (renders: 0.6° MAE at 15°).
VIEW_SD_PER_DEG = 0.03
#: A hold whose ankle is outside the picture throughout: the reading is withheld (2σ > 10°).
OUTSIDE_SD_DEG = 5.5
ROLL_SD_DEG = {"scene": 0.3, "hip": 1.0, "fixed": 0.3, "none": 2.0}


@dataclass(frozen=True)
class ReadingFacts:
    """What was measured about one reading (see the module notes for each term)."""

    jitter_deg: float = 0.0
    hold_s: float = 0.0
    cutoff_hz: float = 3.0
    hold_range_deg: float = 0.0
    landmark_share: float = 0.0
    rest_disagreement_deg: float = 0.0
    hold_disagreement_deg: float = 0.0
    yaw_deg: float = 0.0
    roll_source: str = "scene"
    photo_spread_deg: float = 0.0
    outside_share: float = 0.0


def _finite(value: float, default: float = 0.0) -> float:
    return float(value) if value is not None and math.isfinite(value) else default


def reading_uncertainty(facts: ReadingFacts) -> tuple[float, dict[str, float]]:
    """The reading's uncertainty in degrees (~95 %) and each source's standard deviation."""
    n = max(1.0, _finite(facts.hold_s) * 2.0 * _finite(facts.cutoff_hz, 3.0))
    parts = {
        "method": METHOD_SD_DEG,
        "noise": _finite(facts.jitter_deg) / math.sqrt(n),
        "hold": _finite(facts.hold_range_deg) / math.sqrt(12.0),
        "source": min(1.0, max(0.0, _finite(facts.landmark_share))) * LANDMARK_DRIFT_DEG,
        "axes": math.hypot(max(0.0, abs(_finite(facts.rest_disagreement_deg)) - REST_AGREEMENT_DEG),
                           max(0.0, HOLD_AGREEMENT_DEG[0] - _finite(facts.hold_disagreement_deg),
                               _finite(facts.hold_disagreement_deg) - HOLD_AGREEMENT_DEG[1])),
        "view": VIEW_SD_PER_DEG * abs(_finite(facts.yaw_deg)),
        "roll": ROLL_SD_DEG.get(facts.roll_source, ROLL_SD_DEG["none"]),
        "photo": _finite(facts.photo_spread_deg),
        "frame": min(1.0, max(0.0, _finite(facts.outside_share))) * OUTSIDE_SD_DEG,
    }
    return 2.0 * math.sqrt(sum(v * v for v in parts.values())), parts


#: What each source of uncertainty means for the person filming, and what to do about it.
EXPLAIN = {
    "source": "the lower leg's outline could not be used at end range (loose clothing or the other leg in the "
              "way?): the angle comes from the knee and ankle points, which read low — film in shorts or "
              "tight trousers",
    "axes": "the lower leg's outline and the knee-ankle line disagree at rest (loose clothing, a shadow or "
            "another person joined to the leg?) — film in shorts or tight trousers, against a plain background",
    "photo": "the photo read as taken and mirrored gives different angles — take the photo straight in front, "
             "with both lower legs clearly visible, or film a clip",
    "view": "the camera is well off to the side — place the phone straight in front, at knee height",
    "roll": "the camera's tilt could not be found from level lines — level the phone",
    "hold": "the end position was not held steady — hold it for about a second",
    "noise": "the angle is noisy from frame to frame — use more light or a steadier camera",
    "frame": "the foot leaves the picture at end range — frame the whole lower leg with room to spare",
    "method": "",
}


def explain(parts: dict[str, float]) -> str:
    """What the largest source of a reading's uncertainty means (see :data:`EXPLAIN`)."""
    return EXPLAIN[max(parts, key=lambda k: parts[k])]


def roll_kind(source: str) -> str:
    """The kind of cue a roll came from (see :class:`hiprom.core.measurement.RollEstimate`)."""
    for kind, start in (("fixed", "fixed"), ("scene", "scene"), ("hip", "hip"), ("none", "none")):
        if source.startswith(start):
            return kind
    return "none"


def rest_disagreement_deg(angles: SideAngles, rest: slice | None) -> float:
    """Median of silhouette minus landmark angle over the rest frames where both exist
    (0 when unknown: no rest, or no silhouette there)."""
    if rest is None:
        return 0.0
    raw, lm, sil = angles.raw_deg[rest], angles.landmark_deg[rest], angles.from_silhouette[rest]
    both = sil & np.isfinite(raw) & np.isfinite(lm)
    return float(np.median(raw[both] - lm[both])) if both.sum() >= 3 else 0.0


def hold_facts(angles: SideAngles, hold: slice, hold_s: float, *, rest: slice | None,
               yaw_deg: float | None, roll: RollEstimate, outside_share: float = 0.0) -> ReadingFacts:
    """The facts of a reading held over frames ``hold`` of a clip."""
    filtered = angles.filtered_deg[hold]
    finite = filtered[np.isfinite(filtered)]
    sign = 1.0 if finite.size == 0 or np.median(finite) >= 0 else -1.0     # towards the reading's side
    raw, lm, sil = angles.raw_deg[hold], angles.landmark_deg[hold], angles.from_silhouette[hold]
    both = sil & np.isfinite(raw) & np.isfinite(lm)
    hold_dis = float(np.median(sign * (raw[both] - lm[both]))) if both.any() else 0.0
    return ReadingFacts(
        jitter_deg=angles.jitter_deg, hold_s=hold_s, cutoff_hz=angles.cutoff_hz,
        hold_range_deg=float(np.ptp(finite)) if finite.size else 0.0,
        landmark_share=float(1.0 - angles.from_silhouette[hold].mean()) if hold.stop > hold.start else 1.0,
        rest_disagreement_deg=rest_disagreement_deg(angles, rest), hold_disagreement_deg=hold_dis,
        yaw_deg=yaw_deg or 0.0, roll_source=roll_kind(roll.source), outside_share=outside_share)
