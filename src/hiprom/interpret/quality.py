"""How far to trust a measurement: a score in [0, 1], a verdict, and the reasons.

Each failed check multiplies the score by a factor (0.7 for a minor problem, 0.4 for a
major one) and adds a reason the user can act on. Verdict: ``good`` ≥ 0.8 > ``fair`` ≥ 0.5
> ``poor``. A few problems make a number untrustworthy whatever its score — the camera too
far round to see the rotation, the lower leg hardly visible — and *block* it: the side's
peaks are then withheld (``None``, kept in the diagnostics) and the reason says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from hiprom.core.measurement import BLOCKING, MAJOR, MINOR, Quality

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.config import QualitySettings
    from hiprom.signal.movement import Excursion

__all__ = ["Quality", "assess_side", "MINOR", "MAJOR", "BLOCKING"]


def assess_side(side: str, *, detected_fraction: float, leg_visibility: float, roll_deg: float,
                yaw_deg: float | None, view_solved: bool | None, tested: bool, rest_found: bool,
                jitter_deg: float, excursions: Sequence["Excursion"], n_frames: int,
                settings: "QualitySettings", still: bool = False,
                uncertainty: tuple[float, str] | None = None, damaged_frames: int = 0) -> Quality:
    """Check one leg's measurement and explain what lowers trust in it.

    Parameters
    ----------
    side
        ``"left"`` or ``"right"`` (named in the reasons).
    detected_fraction
        Share of the frames with the person found.
    leg_visibility
        Mean visibility of this leg's knee and ankle over the frames with the person.
    roll_deg, yaw_deg
        Camera roll (corrected) and yaw (None = unknown).
    view_solved
        Whether the camera's view of this leg could be solved (None = no view estimated).
    tested, rest_found
        The leg moved; a rest phase was found.
    jitter_deg
        Frame-to-frame noise of the angle (NaN = unknown).
    excursions
        The excursions measured (their holds and edges are checked).
    n_frames
        Frames in the clip (an excursion reaching it is cut off by the clip's end).
    settings
        Thresholds (the ``[quality]`` section).
    still
        A photo: only the view checks, the uncertainty and damage apply.
    uncertainty
        The largest uncertainty of the side's readings (degrees, ~95 %) and what its main
        source means (see :mod:`hiprom.interpret.uncertainty`): beyond
        ``good_max_uncertainty_deg`` a reading is at best fair, beyond
        ``fair_max_uncertainty_deg`` poor, and beyond ``max_uncertainty_deg`` withheld.
    damaged_frames
        Frames (photos) in which this leg lies in a damaged part of the picture
        (:func:`hiprom.interpret.measure.damaged_leg_frames`). In a photo that withholds the
        reading; in a video it is a major problem from 5 % of the frames, else a minor one.
    """
    failed: list[tuple[float, str]] = []
    if damaged_frames:
        where = f"{damaged_frames} image(s)" if still else f"{damaged_frames} of {n_frames} frames"
        factor = BLOCKING if still else MAJOR if damaged_frames >= 0.05 * n_frames else MINOR
        failed.append((factor, f"the {side} lower leg lies in a damaged part of {where} (a uniform grey band where "
                               f"the picture data is missing); use an undamaged copy of the file"))
    detected = detected_fraction
    if detected < settings.min_detected_fraction:
        failed.append((MAJOR if detected < 0.6 else MINOR,
                       f"the person was found in only {detected:.0%} of frames; keep the whole "
                       f"body in frame and well lit"))
    mean_vis = leg_visibility
    if mean_vis < settings.min_leg_visibility:
        failed.append((BLOCKING if mean_vis < 0.4 else MINOR,
                       f"{side} knee/ankle poorly visible (mean visibility {mean_vis:.2f}); "
                       f"wear shorts or tight trousers and keep the feet in frame"))
    if abs(roll_deg) > settings.max_roll_deg:
        failed.append((MINOR, f"camera tilted by {roll_deg:+.1f}° (corrected); level the phone "
                              f"for best accuracy"))
    if view_solved is False:
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
    if uncertainty is not None and tested:
        failed += _uncertainty_checks(side, uncertainty[0], uncertainty[1], settings)
    if still or not tested:
        return Quality.from_checks(failed)
    jitter = jitter_deg
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
    edge = [e for e in excursions if e.start == 0 or e.stop >= n_frames]
    if edge:
        failed.append((MINOR, f"{side} leg: a movement is cut off by the start or end of the clip"))
    return Quality.from_checks(failed)


def _uncertainty_checks(side: str, u_deg: float, why: str,
                        settings: "QualitySettings") -> list[tuple[float, str]]:
    if not np.isfinite(u_deg) or u_deg <= settings.good_max_uncertainty_deg:
        return []
    if u_deg > settings.max_uncertainty_deg:
        factor = BLOCKING
        text = f"the {side} reading is too uncertain to report (±{u_deg:.0f}°)"
    else:
        factor = MINOR if u_deg <= settings.fair_max_uncertainty_deg else MAJOR
        text = f"the {side} reading is uncertain by ±{u_deg:.0f}°"
    return [(factor, f"{text}: {why}" if why else text)]

