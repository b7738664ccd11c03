"""What a seated hip IR reading means: norm bands, functional demands and screening flags.

The tables ship as package data (``hiprom/data/*.csv``), each row with a full ``source``
citation, and are loaded and validated on first use. :func:`compare` places each measured
side's peak internal rotation against the row that applies (by age; by sex and sport as
further references), against each functional demand, and checks the screening flags.

Everything here is *screening*, never diagnosis: a flag says a reading is worth a
professional look, not what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hiprom.errors import ConfigError
from hiprom.interpret.norm_tables import (
    _OPS,
    Demand,
    FlagRule,
    NormRow,
    known_sports,
    load_demands,
    load_flags,
    load_norms,
    normalise_sex,
)

__all__ = ["DEFAULT_UNCERTAINTY_DEG", "DEFAULT_AGE_ROW", "NormRow", "FlagRule", "Demand", "NormComparison",
           "compare", "load_norms", "load_flags", "load_demands", "place", "flag_status", "known_sports",
           "normalise_sex"]

#: Default uncertainty of one hiprom reading, degrees. On rendered clips hiprom's peaks are
#: within 1.1° of the truth (mean absolute error 0.24°, benchmarks/accuracy.py); real people,
#: clothes and cameras will do worse and no public data measures how much, so 2.0° is a
#: deliberately cautious figure. Pass ``uncertainty_deg`` to :func:`compare` to use your own.
DEFAULT_UNCERTAINTY_DEG = 2.0
#: The row used when no age is given (the widest adult group).
DEFAULT_AGE_ROW = "adults"

def place(value: float, lo: float, hi: float, u: float) -> str:
    """Where ``value ± u`` sits against the band ``[lo, hi]``.

    Notes
    -----
    The reading is treated as the interval ``[value - u, value + u]``:
    ``"below"`` when it lies wholly under ``lo`` (``value + u < lo``), ``"above"`` when wholly
    over ``hi`` (``value - u > hi``), ``"within"`` when wholly inside (``lo <= value - u`` and
    ``value + u <= hi``), otherwise ``"borderline"`` (it straddles an edge). So with ``u = 2``
    a 34.5° reading against 35-45° is borderline, 32.9° is below and 37° is within.
    """
    if value + u < lo:
        return "below"
    if value - u > hi:
        return "above"
    if lo <= value - u and value + u <= hi:
        return "within"
    return "borderline"


def flag_status(value: float, op: str, threshold: float, u: float) -> str | None:
    """Does ``value ± u`` meet ``value <op> threshold``: ``"clear"``, ``"possible"`` or ``None``.

    Notes
    -----
    ``"clear"`` when the whole interval ``[value - u, value + u]`` meets the condition,
    ``None`` (not flagged) when none of it does, ``"possible"`` when only part does. For
    ``IR ≤ 20`` with ``u = 2``: 18° is clear, 20° and 21.9° are possible, 22.1° is not flagged.
    """
    lo, hi = value - u, value + u
    test = {"le": lambda x: x <= threshold, "lt": lambda x: x < threshold,
            "gt": lambda x: x > threshold, "ge": lambda x: x >= threshold}[op]
    all_meet = test(lo) and test(hi)  # each condition is one-sided: both ends meeting = all meet
    if all_meet:
        return "clear"
    return "possible" if (test(lo) or test(hi)) else None


def _demand_status(value: float, d: Demand, u: float) -> str:
    """``"enough"`` (``value - u >= hi``), ``"short"`` (``value + u < lo``) or ``"borderline"``."""
    if value - u >= d.hi_deg:
        return "enough"
    return "short" if value + u < d.lo_deg else "borderline"


# -- the comparison -------------------------------------------------------------------
@dataclass(frozen=True)
class NormComparison:
    """One result placed against the norms; build it with :func:`compare`.

    ``sides[side]`` is ``None`` for a side without a peak IR; otherwise a dict with ``value``,
    ``band_lo``, ``band_hi``, ``position``, ``edge`` (which edge a borderline value is near),
    ``text``, ``others`` (positions against the sex/sport rows), ``by_age`` and ``demands``.
    """

    uncertainty_deg: float
    row: NormRow
    age_given: bool
    other_rows: tuple[NormRow, ...]
    sides: dict[str, dict[str, Any] | None]
    flags: tuple[dict[str, Any], ...]
    inputs: dict[str, Any] = field(default_factory=dict)
    sport_demand: Demand | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.uncertainty_deg) and 0.0 <= self.uncertainty_deg <= 20.0):
            raise ConfigError(f"expected an uncertainty of 0-20°, got {self.uncertainty_deg}",
                              fix="pass uncertainty_deg between 0 and 20 degrees.")
        if set(self.sides) != {"left", "right"}:
            raise ValueError(f"expected sides left and right, got {sorted(self.sides)}")

    @property
    def note(self) -> str | None:
        """What was assumed when no age was given (and which row would apply), else ``None``."""
        if self.age_given:
            return None
        rows = "; ".join(f"{r.label} {r.lo_deg:g}–{r.hi_deg:g}°" for r in load_norms() if r.kind == "age")
        return (f"No age given: compared with {self.row.label} ({self.row.lo_deg:g}–{self.row.hi_deg:g}°), "
                f"the row that applies to most adults. Rows by age: {rows}. Give an age to use your own row.")

    def flag_codes(self, side: str) -> list[str]:
        """Flag codes raised on ``side`` (or on both sides); a possible flag ends with ``?``."""
        return [f["code"] + ("?" if f["status"] == "possible" else "") for f in self.flags
                if f["side"] in (side, "both")]

    def summary_columns(self, side: str) -> dict[str, Any]:
        """Flat columns for a batch table: ``norm_row``, ``norm_lo_deg``, ``norm_hi_deg``,
        ``norm_position`` (``None`` when the side has no IR), ``flags`` (``;``-joined codes,
        ``?`` marking a possible flag)."""
        if side not in self.sides:
            raise ValueError(f"expected side 'left' or 'right', got {side!r}")
        s = self.sides[side]
        return {"norm_row": self.row.id, "norm_lo_deg": self.row.lo_deg, "norm_hi_deg": self.row.hi_deg,
                "norm_position": None if s is None else s["position"], "flags": ";".join(self.flag_codes(side))}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (rows with their sources, per-side positions, flags, demands, notes)."""
        return {"uncertainty_deg": self.uncertainty_deg, "inputs": dict(self.inputs),
                "row": self.row.to_dict(), "age_given": self.age_given,
                "other_rows": [r.to_dict() for r in self.other_rows],
                "age_rows": [r.to_dict() for r in load_norms() if r.kind == "age"],
                "sides": {k: (None if v is None else dict(v)) for k, v in self.sides.items()},
                "flags": [dict(f) for f in self.flags],
                "demands": [d.to_dict() for d in load_demands()],
                "sport_demand": None if self.sport_demand is None else self.sport_demand.to_dict(),
                "note": self.note, "notes": list(self.notes),
                "disclaimer": "Screening references, not a diagnosis."}


def _band_text(side: str, v: float, u: float, row: NormRow, pos: str) -> str:
    band = f"the {row.lo_deg:g}–{row.hi_deg:g}° band for {row.label.lower()}"
    head = f"{side.capitalize()} hip IR {v:.1f}° (±{u:g}°)"
    if pos == "borderline":
        edge = row.lo_deg if abs(v - row.lo_deg) <= abs(v - row.hi_deg) else row.hi_deg
        return f"{head} is borderline: within its uncertainty of the {edge:g}° edge of {band}."
    return {"below": f"{head} is below {band}.", "above": f"{head} is above {band}.",
            "within": f"{head} is within {band}."}[pos]


def _side(side: str, v: float, u: float, row: NormRow, others: tuple[NormRow, ...]) -> dict[str, Any]:
    pos = place(v, row.lo_deg, row.hi_deg, u)
    edge = None if pos != "borderline" else ("lower" if abs(v - row.lo_deg) <= abs(v - row.hi_deg) else "upper")
    demands = [{"id": d.id, "label": d.label, "lo_deg": d.lo_deg, "hi_deg": d.hi_deg,
                "status": _demand_status(v, d, u)} for d in load_demands()]
    return {"value": round(v, 2), "band_lo": row.lo_deg, "band_hi": row.hi_deg, "row": row.id, "position": pos,
            "edge": edge, "text": _band_text(side, v, u, row, pos),
            "others": [{"row": r.id, "label": r.label, "lo_deg": r.lo_deg, "hi_deg": r.hi_deg,
                        "position": place(v, r.lo_deg, r.hi_deg, u)} for r in others],
            "by_age": {r.id: place(v, r.lo_deg, r.hi_deg, u) for r in load_norms() if r.kind == "age"},
            "demands": demands}


def _flag(rule: FlagRule, side: str, value: float, u: float) -> dict[str, Any] | None:
    status = flag_status(value, rule.op, rule.threshold_deg, u)
    if status is None:
        return None
    what = "left-right difference" if rule.measure == "lr_diff" else f"{side} hip IR"
    lead = ("Screening flag" if status == "clear" else
            f"Possible screening flag (the reading is within its ±{u:.1f}° uncertainty of the threshold)")
    return {"code": rule.code, "side": side, "status": status, "value_deg": round(value, 2),
            "threshold_deg": rule.threshold_deg, "uncertainty_deg": round(u, 2), "label": rule.label,
            "text": f"{lead}: {what} {value:.1f}° (threshold {_OPS[rule.op]} {rule.threshold_deg:g}°). {rule.text}",
            "source": rule.source}


def compare(result: Any, *, age: float | None = None, sex: str | None = None, sport: str | None = None,
            uncertainty_deg: float | None = None) -> NormComparison:
    """Place a result's peak IR per side against the norms, demands and screening flags.

    Parameters
    ----------
    result
        An :class:`~hiprom.result.AnalysisResult` or its ``result.json`` dict.
    age
        Age in years (completed years count: 50.9 is 50). Chooses the age row; without it the
        ``adults`` row is used and :attr:`NormComparison.note` says so.
    sex
        ``"female"``/``"male"`` (or ``f``/``m``/``woman``/``man``); adds that literature row.
    sport
        An activity from ``demands.csv`` (e.g. ``"running"``, ``"squat"``, ``"cycling"``,
        ``"baseball"``) or a population row (``"tennis"``); see :func:`known_sports`.
    uncertainty_deg
        The reading's uncertainty; default :data:`DEFAULT_UNCERTAINTY_DEG`.

    Returns
    -------
    NormComparison

    Raises
    ------
    ConfigError
        An age outside 0-120, an unknown sex or sport, or a bad uncertainty.

    Notes
    -----
    Positions use :func:`place` and flags :func:`flag_status` with ``u = uncertainty_deg``; the
    left-right difference of two independent readings gets ``u * sqrt(2)``.
    """
    d = result.to_dict() if hasattr(result, "to_dict") else result
    u = DEFAULT_UNCERTAINTY_DEG if uncertainty_deg is None else float(uncertainty_deg)
    norms = load_norms()
    by_id = {r.id: r for r in norms}
    notes: list[str] = []
    row = by_id[DEFAULT_AGE_ROW]
    if age is not None:
        if not (math.isfinite(float(age)) and 0 < float(age) <= 120):
            raise ConfigError(f"expected an age in years between 0 and 120, got {age!r}",
                              fix="give the age in whole years, e.g. --age 42.")
        years = math.floor(float(age))
        match = [r for r in norms if r.kind == "age" and r.age_min <= years < r.age_max]
        if match:
            row = match[0]
        else:
            notes.append(f"No norm row covers age {years}: the tables start at "
                         f"{min(r.age_min for r in norms if r.kind == 'age'):g} years; "
                         f"compared with {row.label} for orientation only.")
    sex_n = normalise_sex(sex)
    others = [r for r in norms if r.kind == "sex" and r.sex == sex_n] if sex_n else []
    demand = None
    if sport is not None and sport.strip():
        key = sport.strip().lower()
        demand = next((x for x in load_demands() if key in x.sports), None)
        sport_rows = [r for r in norms if r.kind == "sport" and r.population == key and (not sex_n or r.sex == sex_n)]
        if demand is None and not sport_rows:
            raise ConfigError(f"expected a known sport or activity, got {sport!r}",
                              fix=f"use one of: {', '.join(known_sports())}; or leave --sport out.")
        others += sport_rows
    if d.get("reference") == "neutral":
        notes.append("Angles were measured from the leg's rest position (--reference neutral); the norms are "
                     "for angles from the vertical, so the comparison is approximate.")
    sides: dict[str, dict[str, Any] | None] = {}
    flags: list[dict[str, Any]] = []
    rules = load_flags()
    for side in ("left", "right"):
        v = (d.get("sides", {}).get(side) or {}).get("peak_ir_deg")
        sides[side] = None if v is None else _side(side, float(v), u, row, tuple(others))
        if v is not None:
            flags += [f for r in rules if r.measure == "ir" and (f := _flag(r, side, float(v), u))]
    if sides["left"] is not None and sides["right"] is not None:
        diff = abs(sides["left"]["value"] - sides["right"]["value"])
        flags += [f for r in rules if r.measure == "lr_diff" and (f := _flag(r, "both", diff, u * math.sqrt(2)))]
    if all(s is None for s in sides.values()):
        notes.append("No side has a measured internal rotation, so nothing was compared.")
    return NormComparison(uncertainty_deg=u, row=row, age_given=age is not None, other_rows=tuple(others),
                          sides=sides, flags=tuple(flags), inputs={"age": age, "sex": sex_n, "sport": sport},
                          sport_demand=demand, notes=tuple(notes))
