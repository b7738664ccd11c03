"""From a landmark series to a measurement per side: pure, no I/O.

``measure(series, config)`` computes each leg's shank angle, cleans it, finds the rest
phase and repetitions, and returns :class:`SideResult` objects with a quality verdict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from hiprom.geometry import angles as geo
from hiprom.config import Config
from hiprom.signal.filtering import CleanAngle, clean_angle, lowpass_zero_phase
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.signal.movement import Excursion, Rep, find_excursions, find_rest, group_reps, is_tested
from hiprom.geometry.projection import LegView, camera_yaw_deg, leg_views
from hiprom.interpret.quality import Quality, assess_side
from hiprom.geometry.roll import RollEstimate, estimate_roll
from hiprom.geometry.shank import RestPose, ShankAngle, rest_pose, shank_angle

__all__ = ["SideAngles", "SideResult", "Measurement", "measure", "leg_angles"]

SIDES = ("left", "right")


@dataclass(frozen=True, eq=False)
class SideAngles:
    """The angle series of one leg (degrees, in the vertical reference)."""

    side: str
    raw_deg: np.ndarray
    visibility: np.ndarray
    clean: CleanAngle
    angle_3d_deg: np.ndarray
    shank: ShankAngle

    @property
    def filtered_deg(self) -> np.ndarray:
        return self.clean.filtered_deg


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
    n_reps: int
    reps: list[dict]
    quality: Quality
    diagnostics: dict = field(default_factory=dict)

    @property
    def total_arc_deg(self) -> float | None:
        if self.peak_ir_deg is None or self.peak_er_deg is None:
            return None
        return self.peak_ir_deg + self.peak_er_deg

    def to_dict(self) -> dict:
        return {
            "tested": self.tested, "reference": self.reference,
            "peak_ir_deg": _r(self.peak_ir_deg), "peak_er_deg": _r(self.peak_er_deg),
            "mean_ir_deg": _r(self.mean_ir_deg), "mean_er_deg": _r(self.mean_er_deg),
            "total_arc_deg": _r(self.total_arc_deg),
            "ir_spread_deg": _r(self.ir_spread_deg), "er_spread_deg": _r(self.er_spread_deg),
            "peak_ir_t_s": _r(self.peak_ir_t_s, 3), "peak_er_t_s": _r(self.peak_er_t_s, 3),
            "peak_ir_frame": self.peak_ir_frame, "peak_er_frame": self.peak_er_frame,
            "rest_found": self.rest_found, "rest_deg": _r(self.rest_deg), "n_reps": self.n_reps, "reps": self.reps,
            "quality": self.quality.to_dict(), "diagnostics": self.diagnostics,
        }


@dataclass(frozen=True, eq=False)
class Measurement:
    """Everything :func:`measure` found in one series."""

    sides: dict[str, SideResult]
    angles: dict[str, SideAngles]
    roll: RollEstimate
    yaw_deg: float | None
    warnings: list[str]

    @property
    def left_right_ir_diff_deg(self) -> float | None:
        """Right minus left peak IR, when both legs were measured."""
        left, right = self.sides["left"].peak_ir_deg, self.sides["right"].peak_ir_deg
        return None if left is None or right is None else right - left


def _r(value: float | None, ndigits: int = 2) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), ndigits)


def side_signs(series: LandmarkSeries) -> dict[str, float]:
    """+1 for a leg whose lateral side is image-right (from the hips; front view if unseen)."""
    left = geo.lateral_sign(series.xy(LM.LEFT_HIP), series.xy(LM.RIGHT_HIP)) \
        if np.isfinite(series.xy(LM.LEFT_HIP)).any() else 1.0
    return {"left": left, "right": -left}


def leg_angles(series: LandmarkSeries, roll_deg: float | np.ndarray, config: Config,
               views: dict[str, LegView | None] | None = None,
               rest: dict[str, RestPose | None] | None = None) -> dict[str, SideAngles]:
    """Raw and cleaned shank angle of each leg (vertical reference, roll corrected; the
    rotation about the femur when ``views`` gives how the camera sees each leg; the
    silhouette fitted over a band fixed at the resting knee when ``rest`` is given)."""
    out = {}
    signs = side_signs(series)
    for side in SIDES:
        leg = LM.leg(side)
        other_hip = LM.leg("right" if side == "left" else "left")["hip"]
        sign = signs[side]
        shank = shank_angle(series, side, sign, roll_deg, silhouette=config.geometry.silhouette,
                            view=(views or {}).get(side), rest=(rest or {}).get(side))
        raw = shank.angle_deg
        vis = np.minimum(series.visibility[:, leg["knee"]], series.visibility[:, leg["ankle"]])
        w = series.world_m
        a3d = geo.shank_angle_3d_deg(w[:, leg["hip"]], w[:, leg["knee"]], w[:, leg["ankle"]],
                                     w[:, other_hip], roll_deg)
        clean = clean_angle(series.time_s, raw, vis, config.signal, seen=series.extras.get("model_ran"))
        out[side] = SideAngles(side, raw, vis, clean, a3d, shank)
    return out


_WITHHELD = ("peak_ir_deg", "peak_er_deg", "mean_ir_deg", "mean_er_deg", "ir_spread_deg", "er_spread_deg")


def _withhold(res: SideResult) -> SideResult:
    """The side's numbers moved out of the result (kept in the diagnostics) when the view
    cannot give a trustworthy one (:attr:`hiprom.quality.Quality.withheld`)."""
    kept = {name: _r(getattr(res, name)) for name in _WITHHELD}
    return dataclasses.replace(res, **{name: None for name in _WITHHELD},
                               diagnostics={**res.diagnostics, "withheld": kept,
                                            "withheld_because": list(res.quality.blocking)})


def _hold_middle(exc: Excursion) -> int:
    """Index of the middle of an excursion's hold (where its reported value is measured)."""
    return (exc.hold_start + exc.hold_stop - 1) // 2


def _rep_dict(rep: Rep, offset: float, time_s: np.ndarray) -> dict:
    def part(exc: Excursion | None, kind: str) -> dict:
        if exc is None:
            return {f"{kind}_deg": None, f"{kind}_t_s": None, f"{kind}_hold_s": None}
        value = exc.value_deg - offset
        mid = _hold_middle(exc)
        return {f"{kind}_deg": _r(value if kind == "ir" else -value),
                f"{kind}_t_s": _r(float(time_s[mid]), 3), f"{kind}_hold_s": _r(exc.hold_s, 2)}
    return {"rep": rep.number, **part(rep.ir, "ir"), **part(rep.er, "er")}


def _measure_video_side(series: LandmarkSeries, angles: SideAngles, roll: RollEstimate,
                        yaw_deg: float | None, config: Config, view: LegView | None = None) -> SideResult:
    t = series.time_s
    a = angles.filtered_deg
    ms = config.movement
    tested = is_tested(a, ms)
    rest = find_rest(t, a, ms)
    rest_deg = rest.level_deg if rest is not None else (float(np.nanmedian(a)) if np.isfinite(a).any() else None)
    reps: list[Rep] = []
    if tested and rest is not None:
        reps = group_reps(find_excursions(t, a, rest.level_deg, ms))
    tested = tested and bool(reps)
    offset = rest_deg if (config.geometry.reference == "neutral" and rest_deg is not None) else 0.0
    irs = [r.ir for r in reps if r.ir is not None]
    ers = [r.er for r in reps if r.er is not None]
    ir_vals = np.array([e.value_deg - offset for e in irs])
    er_vals = np.array([-(e.value_deg - offset) for e in ers])
    best_ir = irs[int(np.argmax(ir_vals))] if irs else None
    best_er = ers[int(np.argmax(er_vals))] if ers else None
    quality = assess_side(series, angles, roll, yaw_deg, tested, rest is not None, irs + ers, config.quality,
                          view=view)
    diag = {
        "jitter_deg": _r(angles.clean.jitter_deg),
        "leg_visibility": _r(float(np.nanmean(angles.visibility)) if np.isfinite(angles.visibility).any() else None),
        "frames_used": int(angles.clean.valid.sum()), "frames_filled": int(angles.clean.filled.sum()),
        "outliers_removed": angles.clean.n_outliers, "cutoff_hz": _r(angles.clean.cutoff_hz),
        "silhouette_share": _r(angles.shank.silhouette_share),
    }
    a3d = lowpass_zero_phase(t, angles.angle_3d_deg, angles.clean.cutoff_hz)
    landmark_only = lowpass_zero_phase(t, angles.shank.landmark_deg, angles.clean.cutoff_hz)
    for name, exc, sign in (("ir", best_ir, 1.0), ("er", best_er, -1.0)):
        if exc is None:
            continue
        i = exc.peak_index
        if np.isfinite(a3d[i]):
            diag[f"peak_{name}_3d_deg"] = _r(sign * (float(a3d[i]) - offset))
        if np.isfinite(landmark_only[i]):
            diag[f"peak_{name}_landmarks_deg"] = _r(sign * (float(landmark_only[i]) - offset))
    return SideResult(
        side=angles.side, tested=tested, reference=config.geometry.reference,
        rest_found=rest is not None, rest_deg=_r(rest_deg),
        peak_ir_deg=float(ir_vals.max()) if irs else None,
        peak_er_deg=float(er_vals.max()) if ers else None,
        mean_ir_deg=float(ir_vals.mean()) if irs else None,
        mean_er_deg=float(er_vals.mean()) if ers else None,
        ir_spread_deg=float(np.ptp(ir_vals)) if len(irs) > 1 else None,
        er_spread_deg=float(np.ptp(er_vals)) if len(ers) > 1 else None,
        peak_ir_t_s=float(t[_hold_middle(best_ir)]) if best_ir else None,
        peak_er_t_s=float(t[_hold_middle(best_er)]) if best_er else None,
        peak_ir_frame=int(series.frame_index[_hold_middle(best_ir)]) if best_ir else None,
        peak_er_frame=int(series.frame_index[_hold_middle(best_er)]) if best_er else None,
        n_reps=len(reps), reps=[_rep_dict(r, offset, t) for r in reps],
        quality=quality, diagnostics=diag,
    )


def _measure_still_side(series: LandmarkSeries, angles: SideAngles, roll: RollEstimate,
                        yaw_deg: float | None, config: Config, view: LegView | None = None) -> SideResult:
    """Photos at end range: each image is one reading; no filtering, no rest phase."""
    raw = np.where(angles.visibility >= config.signal.min_visibility, angles.raw_deg, np.nan)
    enter = config.movement.excursion_enter_deg
    ir = raw[np.nan_to_num(raw, nan=0.0) >= enter]
    er = -raw[np.nan_to_num(raw, nan=0.0) <= -enter]
    quality = assess_side(series, angles, roll, yaw_deg, bool(ir.size or er.size), True, [], config.quality,
                          still=True, view=view)
    reps = [{"rep": i + 1, "ir_deg": _r(v) if v >= enter else None, "er_deg": _r(-v) if v <= -enter else None,
             "image": int(series.frame_index[i])} for i, v in enumerate(raw) if np.isfinite(v)]
    return SideResult(
        side=angles.side, tested=bool(ir.size or er.size), reference="vertical",
        rest_found=False, rest_deg=None,
        peak_ir_deg=float(ir.max()) if ir.size else None, peak_er_deg=float(er.max()) if er.size else None,
        mean_ir_deg=float(ir.mean()) if ir.size else None, mean_er_deg=float(er.mean()) if er.size else None,
        ir_spread_deg=float(np.ptp(ir)) if ir.size > 1 else None,
        er_spread_deg=float(np.ptp(er)) if er.size > 1 else None,
        peak_ir_t_s=None, peak_er_t_s=None,
        peak_ir_frame=int(series.frame_index[int(np.nanargmax(raw))]) if ir.size else None,
        peak_er_frame=int(series.frame_index[int(np.nanargmin(raw))]) if er.size else None,
        n_reps=len(reps), reps=reps, quality=quality,
        diagnostics={"angles_deg": [_r(v) for v in raw], "leg_visibility": _r(float(np.nanmean(angles.visibility)))},
    )


def measure(series: LandmarkSeries, config: Config = Config()) -> Measurement:
    """Measure both legs in a landmark series.

    Parameters
    ----------
    series
        The subject's landmarks (see :func:`hiprom.person.choose_subject`).
    config
        Settings; ``config.geometry.reference`` chooses vertical or neutral angles.

    Returns
    -------
    Measurement
        Per-side results, the angle series, the camera roll and warnings.
    """
    still = series.meta.get("kind") in ("image", "images")
    roll = estimate_roll(series, config.geometry.fixed_roll_deg, min_visibility=config.signal.min_visibility)
    gs = config.geometry
    signs = side_signs(series)
    seen = {side: shank_angle(series, side, signs[side], roll.value, silhouette=gs.silhouette).seen_deg
            for side in SIDES}
    rest = {side: rest_pose(series, side, seen[side]) for side in SIDES}
    knees = {side: np.nanmedian(series.xy(LM.leg(side)["knee"]), axis=0) for side in SIDES}
    views = leg_views(rest, series.frame_size_px, roll.roll_deg, fov_deg=gs.camera_fov_deg,
                      femur_shank_ratio=gs.femur_shank_ratio, knee_px=knees)
    angles = leg_angles(series, roll.value, config, views if gs.perspective else None, rest)
    yaw = camera_yaw_deg(views)
    sides = {}
    for side in SIDES:
        if still:
            sides[side] = _measure_still_side(series, angles[side], roll, yaw, config, views.get(side))
        else:
            sides[side] = _measure_video_side(series, angles[side], roll, yaw, config, views.get(side))
    sides = {side: _withhold(res) if res.quality.withheld else res for side, res in sides.items()}
    warnings = [r for s in sides.values() for r in s.quality.reasons if s.tested]
    return Measurement(sides, angles, roll, yaw, list(dict.fromkeys(warnings)))
