"""The measurement's data types: what :func:`hiprom.interpret.measure.measure` returns.

Pure data (frozen dataclasses of numbers and numpy arrays); the layers above fill them in.
Angles are in degrees; IR positive (the foot swings laterally), ER reported as a positive
number of degrees; left and right are the subject's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from hiprom.core.recognition import SeatedSpan, TestVerdict

__all__ = ["SIDES", "round_or_none", "RollEstimate", "Quality", "SideAngles", "SideResult", "Measurement",
           "MINOR", "MAJOR", "BLOCKING"]

#: The two sides, in the order every output shows them (the subject's right first).
SIDES: tuple[str, str] = ("right", "left")

#: Factors a failed quality check multiplies the score by (see :class:`Quality`).
MINOR, MAJOR = 0.7, 0.4
#: A failed check with this factor lowers the score like a major one and withholds the number.
BLOCKING = 0.39


def round_or_none(value: Any, ndigits: int = 2) -> float | None:
    """``round(value, ndigits)`` as a float; None for None, NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    return round(value, ndigits) if np.isfinite(value) else None


@dataclass(frozen=True)
class RollEstimate:
    """Camera roll used for a clip (degrees, + = scene turned clockwise on screen).

    ``body_deg`` and ``scene_deg`` are the two cues (None when unavailable), ``spread_deg``
    the robust spread of the per-frame body values, ``source`` what was used and why;
    ``per_frame_deg`` ``(T,)`` follows a hand-held camera's roll from frame to frame (the
    scene's level lines, searched in every third frame, interpolated), else None.
    """

    roll_deg: float
    source: str
    body_deg: float | None = None
    scene_deg: float | None = None
    spread_deg: float | None = None
    per_frame_deg: np.ndarray | None = None

    @property
    def value(self) -> float | np.ndarray:
        """The roll to correct with: per frame for a hand-held camera, else one value."""
        return self.per_frame_deg if self.per_frame_deg is not None else self.roll_deg

    def to_dict(self) -> dict[str, Any]:
        r = round_or_none
        out: dict[str, Any] = {"roll_deg": r(self.roll_deg), "roll_source": self.source,
                               "body_roll_deg": r(self.body_deg), "scene_roll_deg": r(self.scene_deg),
                               "body_roll_spread_deg": r(self.spread_deg),
                               "roll_per_frame": self.per_frame_deg is not None}
        if self.per_frame_deg is not None:
            out["roll_range_deg"] = [r(np.nanmin(self.per_frame_deg)), r(np.nanmax(self.per_frame_deg))]
        return out


@dataclass(frozen=True)
class Quality:
    """How far to trust one side's numbers: a score in [0, 1], a verdict, and the reasons.

    Each failed check multiplies the score by its factor (:data:`MINOR` 0.7, :data:`MAJOR`
    0.4) and adds a reason the user can act on. Verdict: ``good`` ≥ 0.8 > ``fair`` ≥ 0.5 >
    ``poor``. A check failed with :data:`BLOCKING` makes the number untrustworthy whatever
    the score: it is withheld (``blocking`` lists why).
    """

    score: float
    level: str
    reasons: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()

    @classmethod
    def from_checks(cls, failed: Sequence[tuple[float, str]]) -> "Quality":
        score = float(np.prod([f for f, _ in failed])) if failed else 1.0
        level = "good" if score >= 0.8 else "fair" if score >= 0.5 else "poor"
        return cls(round(score, 2), level, tuple(reason for _, reason in failed),
                   tuple(reason for f, reason in failed if f == BLOCKING))

    @property
    def withheld(self) -> bool:
        """The number must not be shown as a measurement."""
        return bool(self.blocking)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "level": self.level, "reasons": list(self.reasons),
                "withheld": self.withheld}


@dataclass(frozen=True, eq=False)
class SideAngles:
    """One leg's angle series (degrees, vertical reference, camera roll removed).

    Attributes
    ----------
    side
        ``"left"`` or ``"right"``.
    raw_deg
        ``(T,)`` the rotation about the femur per frame, before cleaning.
    filtered_deg
        ``(T,)`` after masking, outlier removal, gap filling and the zero-phase filter.
    visibility
        ``(T,)`` the weaker of the knee's and ankle's visibility.
    valid, filled
        ``(T,)`` frames kept by the cleaning; frames interpolated across short gaps.
    angle_3d_deg
        ``(T,)`` a diagnostic estimate from the model's world landmarks.
    seen_deg, landmark_deg
        ``(T,)`` the angle seen in the image; the plain knee→ankle angle (corrected like
        ``raw_deg``).
    from_silhouette
        ``(T,)`` frames whose angle comes from the silhouette midline.
    jitter_deg, cutoff_hz, n_outliers
        Frame-to-frame noise (robust SD of raw minus filtered), the filter's cutoff and
        the number of spikes removed.
    """

    side: str
    raw_deg: np.ndarray
    filtered_deg: np.ndarray
    visibility: np.ndarray
    valid: np.ndarray
    filled: np.ndarray
    angle_3d_deg: np.ndarray
    seen_deg: np.ndarray
    landmark_deg: np.ndarray
    from_silhouette: np.ndarray
    jitter_deg: float
    cutoff_hz: float
    n_outliers: int

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {self.side!r}")
        n = len(self.raw_deg)
        for name in ("filtered_deg", "visibility", "valid", "filled", "angle_3d_deg", "seen_deg",
                     "landmark_deg", "from_silhouette"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} must have {n} values (one per frame), got {len(getattr(self, name))}")

    @property
    def silhouette_share(self) -> float:
        """Share of the measurable frames whose angle comes from the silhouette."""
        ok = np.isfinite(self.raw_deg)
        return float(self.from_silhouette[ok].mean()) if ok.any() else 0.0


@dataclass(frozen=True)
class SideResult:
    """The measurement of one leg. Angles in degrees in ``reference``; ER as positive degrees."""

    side: str
    tested: bool
    reference: str
    rest_found: bool
    rest_deg: float | None
    peak_ir_deg: float | None
    peak_er_deg: float | None
    mean_ir_deg: float | None
    mean_er_deg: float | None
    ir_spread_deg: float | None
    er_spread_deg: float | None
    peak_ir_t_s: float | None
    peak_er_t_s: float | None
    peak_ir_frame: int | None
    peak_er_frame: int | None
    peak_ir_uncertainty_deg: float | None
    peak_er_uncertainty_deg: float | None
    n_reps: int
    reps: list[dict]
    quality: Quality
    diagnostics: dict = field(default_factory=dict)
    #: Recognition (hiprom.signal.seated): is this side's movement the seated test? None = not judged (photos).
    verdict: TestVerdict | None = None

    def __post_init__(self) -> None:
        if self.verdict is not None and self.verdict.tested != self.tested:
            raise ValueError(f"tested={self.tested} contradicts the verdict {self.verdict.test!r}")

    @property
    def test(self) -> TestVerdict:
        """The side's verdict; for an unjudged side (a photo), from ``tested`` alone."""
        if self.verdict is not None:
            return self.verdict
        return TestVerdict("tested" if self.tested else "not_tested", "")

    @property
    def total_arc_deg(self) -> float | None:
        """IR plus ER, each rounded as shown (0.1°) before adding, so the parts add up."""
        if self.peak_ir_deg is None or self.peak_er_deg is None:
            return None
        return round(round(self.peak_ir_deg, 1) + round(self.peak_er_deg, 1), 1)

    def to_dict(self) -> dict[str, Any]:
        r = round_or_none
        return {
            "tested": self.tested, **self.test.to_dict(), "reference": self.reference,
            "peak_ir_deg": r(self.peak_ir_deg), "peak_er_deg": r(self.peak_er_deg),
            "mean_ir_deg": r(self.mean_ir_deg), "mean_er_deg": r(self.mean_er_deg),
            "total_arc_deg": r(self.total_arc_deg),
            "ir_spread_deg": r(self.ir_spread_deg), "er_spread_deg": r(self.er_spread_deg),
            "peak_ir_t_s": r(self.peak_ir_t_s, 3), "peak_er_t_s": r(self.peak_er_t_s, 3),
            "peak_ir_frame": self.peak_ir_frame, "peak_er_frame": self.peak_er_frame,
            "peak_ir_uncertainty_deg": r(self.peak_ir_uncertainty_deg, 1),
            "peak_er_uncertainty_deg": r(self.peak_er_uncertainty_deg, 1),
            "rest_found": self.rest_found, "rest_deg": r(self.rest_deg), "n_reps": self.n_reps, "reps": self.reps,
            "quality": self.quality.to_dict(), "diagnostics": self.diagnostics,
        }


@dataclass(frozen=True, eq=False)
class Measurement:
    """Everything the measurement found in one series: per side results and angle series,
    the camera roll and yaw, and the warnings worth showing."""

    sides: dict[str, SideResult]
    angles: dict[str, SideAngles]
    roll: RollEstimate
    yaw_deg: float | None
    warnings: tuple[str, ...]
    #: The frames measured: where the person sits still (None = not judged: photos).
    seated: SeatedSpan | None = None

    @property
    def left_right_ir_diff_deg(self) -> float | None:
        """Right minus left peak IR, when both legs were measured."""
        left, right = self.sides["left"].peak_ir_deg, self.sides["right"].peak_ir_deg
        return None if left is None or right is None else right - left
