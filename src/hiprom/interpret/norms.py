"""What a seated hip IR/ER reading means: published norms, functional demands and screening flags.

The tables ship as package data and are validated on load (:mod:`hiprom.interpret.norm_tables`).
:func:`compare` places each measured side's peak IR and peak ER against the norm rows that apply
to the person (:func:`applicable_rows`): only rows measured with the hip flexed 90° (the
seated test's hip position), peer-reviewed rows first and seated before other positions; a
popular article's figures are shown beside them and always labelled as such. It also checks
each IR against the functional demands and the screening flags.

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
    ADULT_AGE_SPAN,
    Demand,
    FlagRule,
    MeasurementError,
    NormRow,
    Source,
    known_sports,
    load_demands,
    load_flags,
    load_measurement_error,
    load_norms,
    load_sources,
    normalise_sex,
    reference_mdc,
)
from hiprom.interpret.norm_text import FLAG_STATUSES, flag_text, row_notes, side_text

__all__ = ["DEFAULT_UNCERTAINTY_DEG", "FLAG_STATUSES", "NormRow", "FlagRule", "Demand", "Source",
           "MeasurementError", "NormComparison", "MeasureComparison", "compare", "applicable_rows",
           "reference_band", "load_norms", "load_flags", "load_demands", "load_sources", "load_measurement_error",
           "reference_mdc", "place", "place_mean", "flag_status", "known_sports", "normalise_sex"]

#: Default uncertainty of one hiprom reading, degrees. On rendered clips hiprom's peaks are
#: within 1.1° of the truth (mean absolute error 0.24°, benchmarks/accuracy.py); real people,
#: clothes and cameras will do worse and no public data measures how much, so 2.0° is a
#: deliberately cautious figure. Pass ``uncertainty_deg`` to :func:`compare` to use your own.
DEFAULT_UNCERTAINTY_DEG = 2.0


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


def place_mean(value: float, mean: float, u: float) -> str:
    """``"near mean"`` when ``|value - mean| <= u``, else ``"above mean"`` or ``"below mean"``."""
    if abs(value - mean) <= u:
        return "near mean"
    return "above mean" if value > mean else "below mean"


def flag_status(value: float, op: str, threshold: float, u: float) -> str:
    """Does ``value ± u`` meet ``value <op> threshold``: ``"raised"``, ``"possible"`` or ``"not raised"``.

    Notes
    -----
    ``"raised"`` when the whole interval ``[value - u, value + u]`` meets the condition,
    ``"not raised"`` when none of it does, ``"possible"`` when only part does. For
    ``IR ≤ 20`` with ``u = 2``: 18° is raised, 20° and 21.9° are possible, 22.1° is not raised.
    """
    test = {"le": lambda x: x <= threshold, "lt": lambda x: x < threshold,
            "gt": lambda x: x > threshold, "ge": lambda x: x >= threshold}[op]
    ends = (test(value - u), test(value + u))  # one-sided conditions: both ends meeting = all meet
    return "raised" if all(ends) else ("possible" if any(ends) else "not raised")


def _demand_status(value: float, d: Demand, u: float) -> str:
    """``"enough"`` (``value - u >= hi``), ``"short"`` (``value + u < lo``) or ``"borderline"``."""
    if value - u >= d.hi_deg:
        return "enough"
    return "short" if value + u < d.lo_deg else "borderline"


# -- choosing the rows -------------------------------------------------------------------
def _order(r: NormRow) -> tuple:
    """Peer-reviewed first, then seated, then the more specific population and sex, then larger n."""
    return (r.evidence != "peer_reviewed", r.position != "seated", r.population_key == "general",
            r.sex == "both", -(r.n or 0))


def applicable_rows(measure: str, *, age: float | None = None, sex: str | None = None,
                    population: str = "general") -> tuple[tuple[NormRow, ...], bool]:
    """The norm rows a ``measure`` (``"ir"``/``"er"``) reading of this person is compared with.

    Returns ``(rows, orientation_only)``, ``rows`` in comparison order (:func:`_order`). A row
    applies when it was measured with the hip flexed 90°, its sex is ``both`` or the person's,
    its population is ``general`` or the person's (``"athlete"``) and its age range holds the
    completed years of ``age`` (without an age: it covers all of :data:`ADULT_AGE_SPAN`). When
    none applies, the rows for an adult of that sex (else any row of that sex) are returned
    with ``orientation_only=True``; ``()`` when even those are missing (ER with no sex given).
    """
    sex = normalise_sex(sex)
    comparable = [r for r in load_norms() if r.measure == measure and r.comparable
                  and (r.sex == "both" or r.sex == sex)]

    def fits_age(r: NormRow) -> bool:
        if age is None:
            return r.age_min <= ADULT_AGE_SPAN[0] and r.age_max >= ADULT_AGE_SPAN[1]
        return r.covers_age(math.floor(float(age)))

    rows = [r for r in comparable if fits_age(r) and r.population_key in ("general", population)]
    if rows:
        return tuple(sorted(rows, key=_order)), False
    adult = [r for r in comparable if r.age_min <= ADULT_AGE_SPAN[0] and r.age_max >= ADULT_AGE_SPAN[1]]
    return tuple(sorted(adult or comparable, key=_order)), True


def _band_row(rows: tuple[NormRow, ...]) -> NormRow | None:
    return next((r for r in rows if r.band is not None), None)


def reference_band(*, age: float | None = None, sex: str | None = None,
                   population: str = "general") -> tuple[NormRow | None, NormRow | None]:
    """``(first row, first row with a band)`` for seated IR: what a reading is compared with and
    the band that is shaded (history plots, the batch's cohort figure, the report)."""
    rows, _ = applicable_rows("ir", age=age, sex=sex, population=population)
    return (rows[0] if rows else None), _band_row(rows)


# -- the comparison -------------------------------------------------------------------
@dataclass(frozen=True)
class MeasureComparison:
    """The readings of one measure (``"ir"`` or ``"er"``) against the rows that apply.

    ``sides[side]`` is ``None`` for a side without that peak; otherwise a dict with ``value``,
    ``row`` (the first row, what the reading is compared with), ``evidence``, ``band_row``,
    ``band_lo``/``band_hi`` and ``position`` (against the first row that has a band; ``None``
    when no row has one), ``edge``, ``text`` and ``against`` (the placement against every row).
    """

    measure: str
    rows: tuple[NormRow, ...]
    orientation_only: bool
    sides: dict[str, dict[str, Any] | None]

    @property
    def primary(self) -> NormRow | None:
        return self.rows[0] if self.rows else None

    @property
    def band_row(self) -> NormRow | None:
        return _band_row(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"measure": self.measure, "orientation_only": self.orientation_only,
                "primary_row": None if self.primary is None else self.primary.id,
                "band_row": None if self.band_row is None else self.band_row.id,
                "rows": [r.to_dict() for r in self.rows],
                "sides": {k: (None if v is None else dict(v)) for k, v in self.sides.items()}}


@dataclass(frozen=True)
class NormComparison:
    """One result placed against the norms; build it with :func:`compare`.

    ``ir``/``er`` hold the per-measure comparisons; ``flags`` every screening rule checked,
    each with ``status`` ``"raised"``, ``"possible"`` or ``"not raised"``; ``mdc`` the minimal
    detectable change hiprom uses.
    """

    uncertainty_deg: float
    ir: MeasureComparison
    er: MeasureComparison
    age_given: bool
    flags: tuple[dict[str, Any], ...]
    mdc: MeasurementError
    inputs: dict[str, Any] = field(default_factory=dict)
    sport_demand: Demand | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.uncertainty_deg) and 0.0 <= self.uncertainty_deg <= 20.0):
            raise ConfigError(f"expected an uncertainty of 0-20°, got {self.uncertainty_deg}",
                              fix="pass uncertainty_deg between 0 and 20 degrees.")
        if set(self.ir.sides) != {"left", "right"} or set(self.er.sides) != {"left", "right"}:
            raise ValueError(f"expected sides left and right, got {sorted(self.ir.sides)}")

    @property
    def row(self) -> NormRow | None:
        """The IR row whose band is shaded and placed against (may be a popular article's)."""
        return self.ir.band_row

    @property
    def sides(self) -> dict[str, dict[str, Any] | None]:
        """The IR placement per side (see :class:`MeasureComparison`)."""
        return self.ir.sides

    @property
    def shown_flags(self) -> tuple[dict[str, Any], ...]:
        """The flags that are raised or possible."""
        return tuple(f for f in self.flags if f["status"] != "not raised")

    def flag_codes(self, side: str) -> list[str]:
        """Flag codes raised on ``side`` (or on both sides); a possible flag ends with ``?``."""
        return [f["code"] + ("?" if f["status"] == "possible" else "") for f in self.shown_flags
                if f["side"] in (side, "both")]

    def sources(self, *, brief: bool = False) -> list[Source]:
        """Every source this comparison cites, in order of first use: the rows, the flags, the
        demands and the MDC (``brief``: only the rows, the raised or possible flags and the chosen
        sport's demand, as the terminal prints them)."""
        rules = {r.code: r for r in load_flags()}
        srcs = [r.source for m in (self.ir, self.er) for r in m.rows]
        srcs += [s for f in (self.shown_flags if brief else self.flags) for s in rules[f["code"]].sources]
        demands = [] if (brief and self.sport_demand is None) else [self.sport_demand] if brief else load_demands()
        srcs += [x.source for x in demands] + ([] if brief else [self.mdc.source])
        return list({s.id: s for s in srcs}.values())

    def summary_columns(self, side: str) -> dict[str, Any]:
        """Flat columns for a batch table.

        ``norm_row``, ``norm_evidence``, ``norm_lo_deg``, ``norm_hi_deg``, ``norm_position``: the
        IR band row and the side's place in it, only when an age was given (else ``None``: no
        row is chosen for an unknown age); ``er_norm_row``, ``er_norm_lo_deg``, ``er_norm_hi_deg``,
        ``er_norm_position``, ``er_norm_applies`` (``False`` when the ER row was used for
        orientation only); ``flags`` (``;``-joined codes, ``?`` marking a possible flag; flags do
        not depend on age).
        """
        if side not in ("left", "right"):
            raise ValueError(f"expected side 'left' or 'right', got {side!r}")
        out: dict[str, Any] = {"flags": ";".join(self.flag_codes(side))}
        for prefix, m in (("norm", self.ir), ("er_norm", self.er)):
            row, s = m.band_row, m.sides[side]
            use = row is not None and self.age_given
            out.update({f"{prefix}_row": row.id if use else None,
                        f"{prefix}_lo_deg": row.band[0] if use else None,
                        f"{prefix}_hi_deg": row.band[1] if use else None,
                        f"{prefix}_position": s["position"] if use and s is not None else None})
        out["norm_evidence"] = self.ir.band_row.evidence if out["norm_row"] else None
        out["er_norm_applies"] = (not self.er.orientation_only) if out["er_norm_row"] else None
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: rows with their sources, per-side placements, flags, demands, MDC, notes."""
        return {"uncertainty_deg": self.uncertainty_deg, "inputs": dict(self.inputs), "age_given": self.age_given,
                "ir": self.ir.to_dict(), "er": self.er.to_dict(),
                "flags": [dict(f) for f in self.flags],
                "demands": [d.to_dict() for d in load_demands()],
                "sport_demand": None if self.sport_demand is None else self.sport_demand.to_dict(),
                "mdc": self.mdc.to_dict(), "notes": list(self.notes),
                "sources": [s.to_dict() for s in self.sources()],
                "disclaimer": "Screening references, not a diagnosis."}


def _side(measure: str, side: str, v: float, u: float, rows: tuple[NormRow, ...],
          orientation: bool) -> dict[str, Any]:
    against = []
    for r in rows:
        band = r.band
        pos = place(v, *band, u) if band is not None else place_mean(v, r.mean_deg, u)
        against.append({"row": r.id, "label": r.label, "evidence": r.evidence, "value_text": r.value_text,
                        "band_lo": None if band is None else band[0], "band_hi": None if band is None else band[1],
                        "position": pos,
                        "diff_from_mean_deg": None if r.mean_deg is None else round(v - r.mean_deg, 2)})
    band_row = _band_row(rows)
    pos = edge = None
    if band_row is not None:
        lo, hi = band_row.band
        pos = place(v, lo, hi, u)
        edge = None if pos != "borderline" else ("lower" if abs(v - lo) <= abs(v - hi) else "upper")
    return {"value": round(v, 2), "uncertainty_deg": round(u, 1), "row": rows[0].id if rows else None,
            "evidence": rows[0].evidence if rows else None, "band_row": None if band_row is None else band_row.id,
            "band_lo": None if band_row is None else band_row.band[0],
            "band_hi": None if band_row is None else band_row.band[1], "position": pos, "edge": edge,
            "text": side_text(measure, side, v, u, rows, orientation, {a["row"]: a["position"] for a in against}),
            "against": against}


def _flag(rule: FlagRule, side: str, value: float, u: float) -> dict[str, Any]:
    status = flag_status(value, rule.op, rule.threshold_deg, u)
    return {"code": rule.code, "side": side, "status": status, "value_deg": round(value, 2),
            "threshold_deg": rule.threshold_deg, "op": _OPS[rule.op], "uncertainty_deg": round(u, 2),
            "label": rule.label, "text": flag_text(rule, side, value, u, status),
            "described_in": rule.described_in, "position": rule.position,
            "source": rule.source_text, "sources": [s.to_dict() for s in rule.sources]}


def compare(result: Any, *, age: float | None = None, sex: str | None = None, sport: str | None = None,
            uncertainty_deg: float | None = None) -> NormComparison:
    """Place a result's peak IR and ER per side against the norms, demands and screening flags.

    Parameters
    ----------
    result
        An :class:`~hiprom.core.result.AnalysisResult` or its ``result.json`` dict.
    age
        Age in years (completed years count: 50.9 is 50). Without it the person is compared as
        an adult (rows covering ages 20-50) and a note says so.
    sex
        ``"female"``/``"male"`` (or ``f``/``m``/``woman``/``man``): adds the rows for that sex.
    sport
        An activity from ``demands.csv`` (e.g. ``"running"``, ``"squat"``), or ``"athlete"`` to
        add the rows measured in athletes; see :func:`known_sports`.
    uncertainty_deg
        Use this uncertainty for every reading; default: each reading's own
        (``peak_ir_uncertainty_deg`` / ``peak_er_uncertainty_deg`` in the result), else
        :data:`DEFAULT_UNCERTAINTY_DEG`.

    Returns
    -------
    NormComparison

    Raises
    ------
    ConfigError
        An age outside 0-120, an unknown sex or sport, or a bad uncertainty.

    Notes
    -----
    Positions use :func:`place` (or :func:`place_mean` for a mean without SD) and flags
    :func:`flag_status` with each reading's ``u``; the left-right difference of two
    independent readings gets ``sqrt(u_left² + u_right²)``.
    """
    d = result.to_dict() if hasattr(result, "to_dict") else result
    u = DEFAULT_UNCERTAINTY_DEG if uncertainty_deg is None else float(uncertainty_deg)
    if age is not None and not (math.isfinite(float(age)) and 0 < float(age) <= 120):
        raise ConfigError(f"expected an age in years between 0 and 120, got {age!r}",
                          fix="give the age in whole years, e.g. --age 42.")
    sex_n = normalise_sex(sex)
    population, demand = "general", None
    if sport is not None and sport.strip():
        key = sport.strip().lower()
        demand = next((x for x in load_demands() if key in x.sports), None)
        if demand is None and key not in known_sports():
            raise ConfigError(f"expected a known sport or activity, got {sport!r}",
                              fix=f"use one of: {', '.join(known_sports())}; or leave --sport out.")
        population = key if demand is None else "general"
    notes: list[str] = []
    if age is None:
        notes.append("No age given: compared as an adult (rows covering ages 20–50). Give the age to use the "
                     "rows for that age.")
    sides_in = d.get("sides", {})
    measures = {}
    own_u: dict[tuple[str, str], float] = {}
    for measure, key in (("ir", "peak_ir_deg"), ("er", "peak_er_deg")):
        rows, orientation = applicable_rows(measure, age=age, sex=sex_n, population=population)
        values = {s: (sides_in.get(s) or {}).get(key) for s in ("left", "right")}
        for s in values:
            stated = (sides_in.get(s) or {}).get(f"peak_{measure}_uncertainty_deg")
            own_u[(measure, s)] = u if uncertainty_deg is not None or stated is None else float(stated)
        measures[measure] = MeasureComparison(measure, rows, orientation, {
            s: None if v is None else _side(measure, s, float(v), own_u[(measure, s)], rows, orientation)
            for s, v in values.items()})
        notes += row_notes(measure, rows, orientation, age, sex_n, population)
    flags: list[dict[str, Any]] = []
    for side, s in measures["ir"].sides.items():
        if s is not None:
            us = own_u[("ir", side)]
            flags += [_flag(r, side, s["value"], us) for r in load_flags() if r.measure == "ir"]
            s["demands"] = [{"id": x.id, "label": x.label, "lo_deg": x.lo_deg, "hi_deg": x.hi_deg,
                             "evidence": x.source.evidence, "status": _demand_status(s["value"], x, us)}
                            for x in load_demands()]
    ir_sides = measures["ir"].sides
    if ir_sides["left"] is not None and ir_sides["right"] is not None:
        diff = abs(ir_sides["left"]["value"] - ir_sides["right"]["value"])
        u_diff = math.hypot(own_u[("ir", "left")], own_u[("ir", "right")])
        flags += [_flag(r, "both", diff, u_diff) for r in load_flags() if r.measure == "lr_diff"]
    if d.get("reference") == "neutral":
        notes.append("Angles were measured from the leg's rest position (--reference neutral); the norms are "
                     "for angles from the vertical, so the comparison is approximate.")
    if all(s is None for m in measures.values() for s in m.sides.values()):
        notes.append("No side has a measured rotation, so nothing was compared.")
    return NormComparison(uncertainty_deg=u, ir=measures["ir"], er=measures["er"], age_given=age is not None,
                          flags=tuple(flags), mdc=reference_mdc(), sport_demand=demand, notes=tuple(notes),
                          inputs={"age": age, "sex": sex_n, "sport": sport})

