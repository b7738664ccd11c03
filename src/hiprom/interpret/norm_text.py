"""The sentences a clinician reads about a norm comparison: which row, its evidence, where the reading sits.

Kept apart from :mod:`hiprom.interpret.norms` (the decisions) so the wording can be read and
reviewed in one place. Every sentence names the row's source and its evidence level.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hiprom.interpret.norm_tables import _OPS, EVIDENCE_TEXT, load_norms

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.interpret.norm_tables import FlagRule, NormRow

__all__ = ["FLAG_STATUSES", "cite", "side_text", "flag_text", "who_text", "position_phrase", "row_notes"]

#: The statuses of a screening flag, as printed: the whole reading ± uncertainty meets the
#: threshold ("raised"), part of it does ("possible"), none of it does ("not raised").
FLAG_STATUSES = ("raised", "possible", "not raised")
_NAMES = {"ir": "IR", "er": "ER"}


def cite(row: "NormRow") -> str:
    """``"Kouyoumdjian et al. 2012, peer-reviewed"`` or ``"popular article, not peer-reviewed"``."""
    if row.evidence == "popular_article":
        return EVIDENCE_TEXT[row.evidence]
    return f"{row.source.short}, {EVIDENCE_TEXT[row.evidence]}"


def position_phrase(pos: str, v: float, lo: float, hi: float, *, short: bool = False) -> str:
    """``"within"``, ``"below"``, ``"above"``; a borderline reading names the edge it is near:
    ``"borderline, within its uncertainty of the 35° edge of"`` (``short``: ``"borderline (near the 35° edge)"``)."""
    if pos != "borderline":
        return pos
    edge = lo if abs(v - lo) <= abs(v - hi) else hi
    if short:
        return f"borderline (near the {edge:g}° edge)"
    return f"borderline, within its uncertainty of the {edge:g}° edge of"


def _band_words(row: "NormRow") -> str:
    lo, hi = row.band
    if row.evidence == "popular_article":
        return f"the {lo:g}–{hi:g}° range given for {row.age_text}"
    return f"the {lo:g}–{hi:g}° band ({row.band_rule}, {row.value_text}) of {row.who}"


def _against(head: str, v: float, u: float, row: "NormRow", pos: str) -> str:
    """One sentence placing ``v ± u`` against ``row`` (``pos``: its place in the row's band)."""
    if row.band is None:
        diff = v - row.mean_deg
        rel = (f"is within its uncertainty of the mean {row.mean_deg:.1f}°" if abs(diff) <= u else
               f"is {abs(diff):.1f}° {'above' if diff > 0 else 'below'} the mean {row.mean_deg:.1f}°")
        return f"{head} {rel} of {row.who} ({cite(row)}); no SD was published, so there is no band."
    lo, hi = row.band
    return f"{head} is {position_phrase(pos, v, lo, hi)} {_band_words(row)} ({cite(row)})."


def side_text(measure: str, side: str, v: float, u: float, rows: tuple["NormRow", ...], orientation: bool,
              positions: dict[str, str]) -> str:
    """What one side's reading means against its rows (the first row, and the first row with a band).

    ``positions`` maps each row id to the reading's place against it (:func:`hiprom.interpret.norms.place`).

    Example: ``"Right hip IR 40.0° (±2°) is 2.1° above the mean 37.9° of 120 healthy adults …
    (Kouyoumdjian et al. 2012, peer-reviewed); no SD was published, so there is no band.
    Beside it, the 35–45° range given for 20–50 years (popular article, not peer-reviewed): within."``
    """
    name = _NAMES[measure]
    head = f"{side.capitalize()} hip {name} {v:.1f}° (±{u:g}°)"
    if not rows:
        return f"{head}: no {name} norm to compare with."
    text = ("For orientation only (no row covers this person): " if orientation else "")
    text += _against(head, v, u, rows[0], positions[rows[0].id])
    band_row = next((r for r in rows if r.band is not None), None)
    if band_row is not None and band_row is not rows[0]:
        lo, hi = band_row.band
        pos = position_phrase(positions[band_row.id], v, lo, hi, short=True)
        text += f" Beside it, {_band_words(band_row)} ({cite(band_row)}): {pos}."
    return text


def flag_text(rule: "FlagRule", side: str, value: float, u: float, status: str) -> str:
    """The flag's sentence: its status, the value against the threshold, and (unless not raised) its meaning."""
    what = "left-right IR difference" if rule.measure == "lr_diff" else f"{side} hip IR"
    measured = f"{what} {value:.1f}° (threshold {_OPS[rule.op]} {rule.threshold_deg:g}°)"
    if status == "not raised":
        return f"Not raised: {measured}."
    lead = ("Screening flag raised" if status == "raised" else
            f"Possible screening flag (the reading is within its ±{u:.1f}° uncertainty of the threshold)")
    return f"{lead}: {measured}. {rule.text}"


def who_text(age: float | None, sex: str | None, population: str = "general") -> str:
    """``"a woman aged 45"``, ``"a person aged 16"``, ``"a man (athlete) of unknown age"``."""
    base = {"female": "a woman", "male": "a man"}.get(sex or "", "a person")
    if population != "general":
        base += f" ({population})"
    return base + (" of unknown age" if age is None else f" aged {math.floor(float(age))}")


def row_notes(measure: str, rows: tuple[NormRow, ...], orientation: bool, age: float | None, sex: str | None,
              population: str) -> list[str]:
    """What the reader must know about the rows chosen for ``measure``."""
    name = {"ir": "IR", "er": "ER"}[measure]
    who = who_text(age, sex, population)
    peer = [r for r in load_norms() if r.measure == measure and r.comparable and r.evidence == "peer_reviewed"]
    listed = "; ".join(f"{r.source.short}: {r.label}" for r in peer)
    if not rows:
        return [f"No {name} norm is shown: the published {name} norms at 90° hip flexion are by sex ({listed}); "
                f"give the sex to see them."]
    if orientation:
        return [f"No {name} norm covers {who}: compared with {', '.join(r.label for r in rows)} for orientation "
                f"only. Peer-reviewed {name} norms here: {listed}."]
    if rows[0].evidence != "peer_reviewed":
        return [f"No peer-reviewed {name} norm at 90° hip flexion covers {who} ({listed}); the row used is "
                f"from a {EVIDENCE_TEXT[rows[0].evidence]}."]
    return []
