"""The report's norm, flag, drill and source sections, and the HTML helpers they share.

Part of :mod:`hiprom.outputs.report` (split off to keep each file short): every function
returns HTML fragments with all text escaped.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

from hiprom.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.interpret.norms import MeasureComparison, NormComparison

__all__ = ["load_drills"]


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)



def _table(head: list[str] | None, rows: list[list[str]], classes: list[str] | None = None) -> str:
    h = "<tr>" + "".join(f"<th>{_e(c)}</th>" for c in head) + "</tr>" if head else ""
    body = "".join(f"<tr class='{(classes or [''] * len(rows))[i]}'>" + "".join(rows[i]) + "</tr>"
                   for i in range(len(rows)))
    return f"<table>{h}{body}</table>"


def _td(v: Any, cls: str = "") -> str:
    return f"<td class='{cls}'>{_e(v)}</td>"


def load_drills() -> dict[str, Any]:
    """The drill list ``hiprom/data/drills.toml`` (validated: each drill has name, dose, how)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    data = tomllib.loads(resources.files("hiprom").joinpath("data", "drills.toml").read_text(encoding="utf-8"))
    for key in ("source", "frequency", "retest", "see_professional"):
        if not str(data.get(key, "")).strip():
            raise ConfigError(f"drills.toml: expected a non-empty {key!r}", fix="reinstall hiprom.")
    for d in data.get("drill", []):
        if not all(str(d.get(k, "")).strip() for k in ("name", "dose", "how")):
            raise ConfigError(f"drills.toml: expected name, dose and how in every drill, got {d}",
                              fix="reinstall hiprom.")
    return data


def _side_cell(s: dict[str, Any] | None, row_id: str) -> str:
    a = None if s is None else next((x for x in s["against"] if x["row"] == row_id), None)
    if a is None:
        return _td("")
    extra = "" if a["diff_from_mean_deg"] is None or a["band_lo"] is not None else f" ({a['diff_from_mean_deg']:+.1f}°)"
    return _td(a["position"] + extra, a["position"].split()[0] if a["band_lo"] is not None else "")


def _measure_section(m: "MeasureComparison", u: float) -> list[str]:
    from hiprom.interpret.norm_tables import EVIDENCE_TEXT, POSITION_TEXT, load_norms

    name = {"ir": "Internal rotation (IR)", "er": "External rotation (ER)"}[m.measure]
    out = [f"<h3>{name}</h3>"]
    for side in ("right", "left"):
        s = m.sides[side]
        if s is not None:
            pos = s["position"] or "compared with the mean"
            out.append(f"<p><span class='{_e(s['position'] or '')}'>{_e(pos)}</span> — {_e(s['text'])}</p>")
    measured = [x for x in ("right", "left") if m.sides[x] is not None]
    if m.rows:
        rows = []
        for r in m.rows:
            band = f"{r.band[0]:g}–{r.band[1]:g}° ({r.band_rule})" if r.band else "no band (no SD published)"
            rows.append([_td(r.label), _td(EVIDENCE_TEXT[r.evidence]), _td(r.who), _td(r.sex),
                         _td(r.value_text, "num"), _td(band)] + [_side_cell(m.sides[x], r.id) for x in measured])
        head = ["reference", "evidence", "who was measured", "sex", "value", "band"]
        out.append(_table(head + [f"{x} ({m.sides[x]['value']:.1f}°)" for x in measured], rows,
                          ["chosen"] + [""] * (len(rows) - 1)))
        orientation = "Used for orientation only: no row covers this person. " if m.orientation_only else ""
        out.append(f"<p class='sub'>Highlighted: the row the reading is compared with (peer-reviewed rows first, "
                   f"then seated). {orientation}A value within its own uncertainty of a band edge is called borderline "
                   "rather than below/within/above.</p>")
    other = [r for r in load_norms() if r.measure == m.measure and not r.comparable]
    if other:
        listed = "; ".join(f"{POSITION_TEXT[r.position]} {r.value_text} ({r.source.short})" for r in other)
        out.append(f"<p class='sub'>Measured with the hip extended, a different test (never compared): "
                   f"{_e(listed)}.</p>")
    return out


def _norm_section(cmp: "NormComparison") -> list[str]:
    out = ["<h2>Compared with norms (hip flexed 90°)</h2>"]
    out += [f"<div class='box note'>{_e(n)}</div>" for n in cmp.notes]
    for m in (cmp.ir, cmp.er):
        out += _measure_section(m, cmp.uncertainty_deg)
    d = cmp.sport_demand
    if d is not None:
        from hiprom.interpret.norm_tables import EVIDENCE_TEXT

        need = f"{d.lo_deg:g}°" if d.lo_deg == d.hi_deg else f"{d.lo_deg:g}–{d.hi_deg:g}°"
        verdicts = "; ".join(f"{side} hip {s['value']:.1f}°: "
                             + next(x["status"] for x in s["demands"] if x["id"] == d.id)
                             for side in ("right", "left") for s in [cmp.ir.sides[side]] if s is not None)
        out.append(f"<p><b>{_e(d.label)}</b> is said to need {_e(need)} of IR ({_e(EVIDENCE_TEXT[d.source.evidence])})"
                   f"{': ' + _e(verdicts) if verdicts else ''}.</p>")
    return out


def _flags_section(cmp: "NormComparison") -> list[str]:
    out = ["<h2>Screening flags</h2>"]
    shown = cmp.shown_flags
    if not shown:
        out.append("<div class='box ok'>No screening flag raised.</div>")
    for f in shown:
        cls = "flag" if f["status"] == "raised" else "possible"
        where = "both sides" if f["side"] == "both" else f"{f['side']} hip"
        out.append(f"<div class='box {cls}'><b>{_e(f['label'])}</b> ({_e(where)}) — {_e(f['status'])}: "
                   f"{_e(f['text'])}<div class='src'>Described in: {_e(f['described_in'])}. Test position: "
                   f"{_e(f['position'])}. Source: {_e(f['source'])}</div></div>")
    quiet = [f for f in cmp.flags if f["status"] == "not raised"]
    if quiet:
        listed = "; ".join(f"{f['label']} ({'both sides' if f['side'] == 'both' else f['side']}: "
                           f"{f['value_deg']:.1f}°)" for f in quiet)
        out.append(f"<p class='sub'>Checked and not raised: {_e(listed)}.</p>")
    out.append("<p class='sub'>Flags are screening signs from published thresholds, never a diagnosis. Raised: the "
               "reading and its whole uncertainty meet the threshold; possible: only part of it does.</p>")
    return out


def _short_sides(cmp: "NormComparison") -> tuple[list[str], str | None, str]:
    """The sides whose IR is short (below the band, at its lower edge, flagged, or clearly the
    lower of the two), the shorter side when the sides differ by more than the minimal
    detectable change (else ``None``), and the sentence that says so."""
    ir = {k: s for k, s in cmp.ir.sides.items() if s is not None}
    short = [k for k, s in ir.items() if s["position"] == "below" or s["edge"] == "lower"
             or any(f["side"] == k for f in cmp.shown_flags)]
    sentence, shorter = "", None
    if len(ir) == 2:
        lo, hi = sorted(ir, key=lambda k: ir[k]["value"])
        diff = ir[hi]["value"] - ir[lo]["value"]
        if diff > cmp.mdc.hi_deg:
            shorter = lo
            sentence = (f"The {lo} hip is the shorter side: IR {ir[lo]['value']:.1f}° against {ir[hi]['value']:.1f}° "
                        f"on the {hi} ({diff:.1f}° less, more than the {cmp.mdc.value_text} minimal detectable "
                        f"change). ")
            short = short if lo in short else [lo] + short
    return [k for k in ("right", "left") if k in short], shorter, sentence


def _drills_section(cmp: "NormComparison") -> list[str]:
    drills = load_drills()
    short, shorter, sentence = _short_sides(cmp)
    if short:
        where = f"the {short[0]} side" if len(short) == 1 else "both sides"
        focus = short[0] if len(short) == 1 else shorter
        lead = (f"Internal rotation is short on {where}. {sentence}These drills are commonly used to improve it"
                + (f"; work mainly the {focus} side:" if focus else ":"))
    else:
        lead = "No deficit found. If you want to keep or build the range, these drills are commonly used:"
    items = "".join(f"<li><b>{_e(x['name'])}</b> — {_e(x['dose'])}. {_e(x['how'])}</li>" for x in drills["drill"])
    return ["<h2>What you can do</h2>", f"<p>{_e(lead)}</p><ul>{items}</ul>",
            f"<p>{_e(drills['frequency'])} {_e(drills['retest'])}</p>",
            f"<div class='box flag'><b>{_e(drills['see_professional'])}</b></div>",
            f"<p class='src'>Source: {_e(drills['source'])}</p>"]


def _sources_section(cmp: "NormComparison") -> list[str]:
    from hiprom.interpret.norm_tables import EVIDENCE_TEXT

    items = "".join(f"<li>{_e(s.text)} <i>({_e(EVIDENCE_TEXT[s.evidence])})</i></li>" for s in cmp.sources())
    return ["<h2>Sources</h2>", f"<ol class='src'>{items}</ol>"]


def _mdc_text() -> str:
    from hiprom.interpret.norm_tables import load_measurement_error

    rows = "; ".join(f"{m.method}, {m.position}: {m.value_text} ({m.source.short})"
                     for m in load_measurement_error() if m.statistic == "minimal detectable change")
    return ("A change between two sessions must exceed the minimal detectable change of clinical measurement to "
            f"be real: {rows}.")
