"""From a landmark series to a measurement per side: pure, no I/O.

``measure(series, config)`` computes each leg's shank angle, cleans it, finds the rest
phase and repetitions, and returns :class:`SideResult` objects with a quality verdict.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hiprom.config import Config
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.core.measurement import SIDES, Measurement, RollEstimate, SideAngles, SideResult
from hiprom.core.measurement import round_or_none as _r
from hiprom.core.recognition import SeatedSpan, TestVerdict
from hiprom.geometry import angles as geo
from hiprom.geometry.projection import LegView, RestPose, camera_yaw_deg, leg_views, rest_pose
from hiprom.geometry.roll import estimate_roll
from hiprom.geometry.shank import shank_angle, side_signs
from hiprom.interpret.photo import measure_photo_side, photo_readings
from hiprom.interpret.quality import assess_side
from hiprom.interpret.uncertainty import ReadingFacts, explain, hold_facts, reading_uncertainty, roll_kind
from hiprom.signal.filtering import clean_angle, lowpass_zero_phase
from hiprom.signal.movement import Excursion, Rep, find_excursions, find_rest, group_reps, is_tested
from hiprom.signal.seated import find_seated_span, judge_side, photo_reason, settle

__all__ = ["SideAngles", "SideResult", "Measurement", "measure", "leg_angles", "SIDES"]


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
        if series.model_seen is not None:   # rows the pose model did not see were filled in: gaps
            raw = np.where(series.model_seen, raw, np.nan)
        clean = clean_angle(series.time_s, raw, vis, config.signal)
        out[side] = SideAngles(side=side, raw_deg=raw, filtered_deg=clean.filtered_deg, visibility=vis,
                               valid=clean.valid, filled=clean.filled, angle_3d_deg=a3d, seen_deg=shank.seen_deg,
                               landmark_deg=shank.landmark_deg, from_silhouette=shank.from_silhouette,
                               jitter_deg=clean.jitter_deg, cutoff_hz=clean.cutoff_hz,
                               n_outliers=clean.n_outliers)
    return out


def _side_quality(series: LandmarkSeries, angles: SideAngles, roll: RollEstimate, yaw_deg: float | None,
                  view: LegView | None, config: Config, *, tested: bool, rest_found: bool,
                  excursions: list[Excursion], still: bool = False,
                  uncertainty: tuple[float, str] | None = None):
    """The side's :class:`~hiprom.core.measurement.Quality` from the facts measured."""
    vis = angles.visibility[series.detected]
    return assess_side(
        angles.side, detected_fraction=float(np.mean(series.detected)) if series.n_frames else 0.0,
        leg_visibility=float(np.nanmean(vis)) if np.isfinite(vis).any() else 0.0,
        roll_deg=float(roll.roll_deg), yaw_deg=yaw_deg, view_solved=None if view is None else view.solved,
        tested=tested, rest_found=rest_found, jitter_deg=angles.jitter_deg, excursions=excursions,
        n_frames=series.n_frames, settings=config.quality, still=still, uncertainty=uncertainty,
        damaged_frames=damaged_leg_frames(series, angles.side))


_WITHHELD = ("peak_ir_deg", "peak_er_deg", "mean_ir_deg", "mean_er_deg", "ir_spread_deg", "er_spread_deg")


def _withhold(res: SideResult) -> SideResult:
    """The side's numbers moved out of the result (kept in the diagnostics) when the view
    cannot give a trustworthy one (:attr:`hiprom.quality.Quality.withheld`)."""
    kept = {name: _r(getattr(res, name)) for name in _WITHHELD}
    return dataclasses.replace(res, **{name: None for name in _WITHHELD},
                               diagnostics={**res.diagnostics, "withheld": kept,
                                            "withheld_because": list(res.quality.blocking)})


def damaged_leg_frames(series: LandmarkSeries, side: str) -> int:
    """Frames in which this leg's knee or ankle lies in a damaged part of the picture.

    ``series.capture.damaged_frames`` lists ``(frame index, first row of a uniform grey band)``
    (:func:`hiprom.io.damage.grey_band_row`: the decoder had no data below that row). The leg
    counts as in the band when its knee or ankle is at most 2 % of the height above it, or
    was not found in that frame (the band may have hidden it).
    """
    rows = dict(series.capture.damaged_frames)
    if not rows:
        return 0
    leg = LM.leg(side)
    margin = 0.02 * series.frame_size_px[1]
    hit = 0
    for k, index in enumerate(series.frame_index):
        if int(index) in rows:
            y = series.image_px[k, [leg["knee"], leg["ankle"]], 1]
            hit += bool(not np.isfinite(y).all() or (y >= rows[int(index)] - margin).any())
    return hit


def _outside_share(series: LandmarkSeries, side: str, frames: slice | np.ndarray) -> float:
    """Share of the frames whose ankle or heel lies outside the picture."""
    leg = LM.leg(side)
    p = series.image_px[frames][:, [leg["ankle"], leg["heel"]], :2]
    width, height = series.frame_size_px
    outside = (p[..., 0] < 0) | (p[..., 0] > width) | (p[..., 1] < 0) | (p[..., 1] > height)
    return float(outside.any(axis=1).mean()) if len(p) else 0.0


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
                        yaw_deg: float | None, config: Config, view: LegView | None = None,
                        verdict: TestVerdict | None = None) -> SideResult:
    t = series.time_s
    a = angles.filtered_deg
    ms = config.movement
    tested = is_tested(a, ms) and (verdict is None or verdict.tested)   # recognition: only a real test
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
    diag: dict = {}
    rest_frames = slice(rest.start, rest.stop) if rest is not None else None
    unc: dict[str, float | None] = {"ir": None, "er": None}
    worst: tuple[float, str] | None = None
    for name, exc in (("ir", best_ir), ("er", best_er)):
        if exc is not None:
            hold = slice(exc.hold_start, exc.hold_stop)
            facts = hold_facts(angles, hold, exc.hold_s, rest=rest_frames, yaw_deg=yaw_deg, roll=roll,
                               outside_share=_outside_share(series, angles.side, hold))
            u, parts = reading_uncertainty(facts)
            unc[name] = u
            diag[f"peak_{name}_uncertainty_parts_deg"] = {k: _r(v) for k, v in parts.items()}
            if worst is None or u > worst[0]:
                worst = (u, explain(parts))
    quality = _side_quality(series, angles, roll, yaw_deg, view, config, tested=tested,
                            rest_found=rest is not None, excursions=irs + ers, uncertainty=worst)
    diag.update({
        "jitter_deg": _r(angles.jitter_deg),
        "leg_visibility": _r(float(np.nanmean(angles.visibility)) if np.isfinite(angles.visibility).any() else None),
        "frames_used": int(angles.valid.sum()), "frames_filled": int(angles.filled.sum()),
        "outliers_removed": angles.n_outliers, "cutoff_hz": _r(angles.cutoff_hz),
        "silhouette_share": _r(angles.silhouette_share),
    })
    a3d = lowpass_zero_phase(t, angles.angle_3d_deg, angles.cutoff_hz)
    landmark_only = lowpass_zero_phase(t, angles.landmark_deg, angles.cutoff_hz)
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
        peak_ir_uncertainty_deg=unc["ir"], peak_er_uncertainty_deg=unc["er"],
        n_reps=len(reps), reps=[_rep_dict(r, offset, t) for r in reps],
        quality=quality, diagnostics=diag,
        verdict=None if verdict is None else settle(verdict, tested, rest is not None, ms.min_rest_s),
    )


def _measure_still_side(series: LandmarkSeries, angles: SideAngles, roll: RollEstimate,
                        yaw_deg: float | None, config: Config, view: LegView | None = None) -> SideResult:
    """Photos: each photo is one reading (see :mod:`hiprom.interpret.photo`)."""
    readings = photo_readings(series, angles, config.signal.min_visibility)
    finite = np.where(np.isfinite(readings.angle_deg), readings.angle_deg, 0.0)
    tested_photo = np.abs(finite) >= config.movement.photo_tested_min_deg
    roll_source = roll_kind(roll.source)
    results = [reading_uncertainty(ReadingFacts(
        landmark_share=float(1.0 - angles.from_silhouette[series.frame_index == idx].mean()),
        yaw_deg=yaw_deg or 0.0, roll_source=roll_source, photo_spread_deg=spread,
        outside_share=_outside_share(series, angles.side, series.frame_index == idx)))
        for spread, idx in zip(readings.spread_deg, readings.frame_index)]
    unc = np.array([u for u, _ in results])
    worst = max(((u, explain(parts)) for (u, parts), t in zip(results, tested_photo) if t), default=None)
    quality = _side_quality(series, angles, roll, yaw_deg, view, config, tested=bool(tested_photo.any()),
                            rest_found=True, excursions=[], still=True, uncertainty=worst)
    diag = {"leg_visibility": _r(float(np.nanmean(angles.visibility)))}
    return measure_photo_side(readings, angles.side, quality, config, unc, diag)


# --- recognition (issue "trust at the edges"): measure only where the person sits still ---------

def _verdict(series: LandmarkSeries, angles: SideAngles, span: SeatedSpan, config: Config) -> TestVerdict:
    """The side's verdict (:mod:`hiprom.signal.seated`) on the (already trimmed) series."""
    if not span.found:
        return TestVerdict("not_a_seated_test", span.reason, (float(series.time_s[0]), float(series.time_s[-1])))
    leg = LM.leg(angles.side)
    return judge_side(angles.side, series.time_s, angles.filtered_deg, series.xy(leg["knee"]),
                      series.xy(leg["ankle"]), (span.start_s, span.end_s), config.recognition, config.movement)


def _photos_refused(m: Measurement, why: str) -> Measurement:
    """Photos in which nobody sits: no side is measured (each one ``not_a_seated_test``)."""
    verdict = TestVerdict("not_a_seated_test", why)
    gone = dict.fromkeys(_WITHHELD + ("peak_ir_t_s", "peak_er_t_s", "peak_ir_frame", "peak_er_frame"))
    sides = {side: dataclasses.replace(res, tested=False, n_reps=0, reps=[], verdict=verdict, **gone)
             for side, res in m.sides.items()}
    n = len(m.angles["right"].raw_deg)
    return dataclasses.replace(m, sides=sides, warnings=(), seated=SeatedSpan(0, 0, n, reason=why))


def _padded(m: Measurement, span: SeatedSpan) -> Measurement:
    """A measurement of the span's frames laid out over the whole clip (NaN / False outside)."""
    mask = span.mask()

    def pad(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        out = np.zeros(span.n_frames, bool) if values.dtype == bool else np.full(span.n_frames, np.nan)
        out[mask] = values
        return out

    arrays = ("raw_deg", "filtered_deg", "visibility", "valid", "filled", "angle_3d_deg", "seen_deg",
              "landmark_deg", "from_silhouette")
    angles = {side: dataclasses.replace(a, **{k: pad(getattr(a, k)) for k in arrays})
              for side, a in m.angles.items()}
    roll = m.roll
    if roll.per_frame_deg is not None:
        roll = dataclasses.replace(roll, per_frame_deg=pad(roll.per_frame_deg))
    note = (f"only {span.start_s:.1f}–{span.end_s:.1f} s measured, where the person sits still"
            + "".join(f"; {n}" for n in span.notes))
    return dataclasses.replace(m, angles=angles, roll=roll, warnings=(note, *m.warnings))


def measure(series: LandmarkSeries, config: Config | None = None) -> Measurement:
    """Measure both legs in a landmark series.

    A video is first searched for the seated test (:func:`hiprom.signal.seated.find_seated_span`):
    only the span in which the person sits still is measured (angles are NaN outside it), and
    each side gets a verdict (:class:`~hiprom.core.recognition.TestVerdict`); a side whose
    verdict is not ``tested`` gets no numbers. Photos are measured as they are, unless none shows
    a seated person (:func:`hiprom.signal.seated.photo_reason`).

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
    config = config or Config()
    if series.capture.still:
        why = photo_reason(series, config.recognition, min_visibility=config.signal.min_visibility)
        return _measure(series, config) if why is None else _photos_refused(_measure(series, config), why)
    span = find_seated_span(series, config.recognition, min_visibility=config.signal.min_visibility)
    if span.whole or not span.found:
        return _measure(series, config, span)
    return _padded(_measure(series.select(span.mask()), config, span), span)


def _measure(series: LandmarkSeries, config: Config, span: SeatedSpan | None = None) -> Measurement:
    """:func:`measure` on the frames given (``span`` None: a photo, no verdicts)."""
    still = series.capture.still
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
            verdict = None if span is None else _verdict(series, angles[side], span, config)
            sides[side] = _measure_video_side(series, angles[side], roll, yaw, config, views.get(side), verdict)
    sides = {side: _withhold(res) if res.quality.withheld else res for side, res in sides.items()}
    warnings = [r for s in sides.values() for r in s.quality.reasons if s.tested]
    return Measurement(sides, angles, roll, yaw, tuple(dict.fromkeys(warnings)), seated=span)
