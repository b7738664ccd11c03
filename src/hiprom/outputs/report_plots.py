"""Report figures: a result against its norm band, side by side, and against functional demands.

Each function takes an :class:`~hiprom.result.AnalysisResult` (the last two also accept its
``result.json`` dict) and the :class:`~hiprom.interpret.norms.NormComparison` made from it, returns a
:class:`matplotlib.figure.Figure` and touches no pyplot global state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hiprom.core.measurement import SIDES
from hiprom.outputs.plots import SIDE_COLOURS, plot_angles

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

    from hiprom.core.result import AnalysisResult
    from hiprom.interpret.norms import NormComparison, NormRow

__all__ = ["plot_angles_with_band", "plot_sides_vs_band", "plot_demands_gauge", "BAND_COLOUR", "ER_BAND_COLOUR",
           "STATUS_COLOURS"]

BAND_COLOUR = "#2ca02c"
ER_BAND_COLOUR = "#9467bd"
STATUS_COLOURS = {"enough": "#2ca02c", "borderline": "#ff9f1c", "short": "#d62728"}
_FLAG_COLOUR = "#b00020"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _values(comparison: "NormComparison") -> dict[str, float]:
    """Measured held IR per side (only sides that have one), right first."""
    return {side: comparison.sides[side]["value"] for side in SIDES if comparison.sides[side] is not None}


def _uncertainties(comparison: "NormComparison") -> dict[str, float]:
    """Each measured side's own IR uncertainty (degrees, ~95 %)."""
    return {side: float(comparison.sides[side].get("uncertainty_deg", comparison.uncertainty_deg))
            for side in _values(comparison)}


def _row_label(row: "NormRow", comparison: "NormComparison") -> str:
    """``"Adults over 50 (popular article): 25–35° — popular article, not peer-reviewed"``."""
    from hiprom.interpret.norm_text import cite

    lo, hi = row.band
    return f"{row.label}: {lo:g}–{hi:g}° — {cite(row)}" + ("" if comparison.age_given else " (no age given)")


def plot_angles_with_band(result: "AnalysisResult", comparison: "NormComparison") -> "matplotlib.figure.Figure":
    """Angle against time (both sides, reps and peaks marked) with the norm IR band shaded.

    Notes
    -----
    The IR band is the first IR row with a band (``comparison.row``); negative angles are
    external rotation, shaded (mirrored, as ``-hi``..``-lo``) with the ER row's band when there
    is one. The dotted lines are the IR screening thresholds (``flags.csv``).
    """
    from hiprom.interpret.norms import load_flags

    fig, ax = _figure(9.0, 4.4)
    plot_angles(result, ax=ax)
    row, er_row = comparison.row, comparison.er.band_row
    top, bottom = 0.0, 0.0
    if row is not None:
        ax.axhspan(*row.band, color=BAND_COLOUR, alpha=0.15, lw=0, label=f"norm IR — {_row_label(row, comparison)}")
        top = row.band[1]
    if er_row is not None:
        bottom = -er_row.band[1]
        ax.axhspan(-er_row.band[1], -er_row.band[0], color=ER_BAND_COLOUR, alpha=0.12, lw=0,
                   label=f"norm ER (drawn negative) — {_row_label(er_row, comparison)}"
                         + (" — orientation only" if comparison.er.orientation_only else ""))
    for t in sorted({r.threshold_deg for r in load_flags() if r.measure == "ir"}):
        ax.axhline(t, color=_FLAG_COLOUR, lw=0.8, ls=":", alpha=0.8)
        ax.annotate(f"{t:g}° screening", (0.0, t), xycoords=("axes fraction", "data"), xytext=(3, 2),
                    textcoords="offset points", fontsize=7, color=_FLAG_COLOUR)
    for side in SIDES:                     # the held IR (dashed) and ER (dotted) readings, like each other
        for kind, style in (("ir", "--"), ("er", ":")):
            t_peak = getattr(result.sides[side], f"peak_{kind}_t_s")
            if getattr(comparison, kind).sides[side] is not None and t_peak is not None:
                ax.axvline(t_peak, color=SIDE_COLOURS[side], lw=0.9, ls=style, alpha=0.7)
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, bottom, -10) - 3, max(hi, top) + 6)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), fontsize=7, ncols=1, frameon=False)
    return fig


def plot_sides_vs_band(result: "AnalysisResult | dict[str, Any]",
                       comparison: "NormComparison") -> "matplotlib.figure.Figure":
    """Peak IR of left and right as bars (± uncertainty) against the norm band, with the
    left-right difference and its screening flag.

    Notes
    -----
    Error bars are ± each reading's own uncertainty; right first, as everywhere. The shaded band is ``comparison.row``;
    the other IR rows are dashed (their band edges) or dotted (a mean without SD). The
    difference is titled in red when the ``LR_DIFF_GT_10`` flag is raised and in orange when
    only possible (see :func:`hiprom.interpret.norms.flag_status`).
    """
    fig, ax = _figure(5.6, 4.4)
    row = comparison.row
    values = _values(comparison)
    unc = _uncertainties(comparison)
    u = max(unc.values(), default=comparison.uncertainty_deg)
    if row is not None:
        ax.axhspan(*row.band, color=BAND_COLOUR, alpha=0.18, lw=0, label=_row_label(row, comparison))
    tops = [] if row is None else [row.band[1]]
    for other in (r for r in comparison.ir.rows if r is not row):
        lines = other.band if other.band is not None else (other.mean_deg,)
        for y in lines:
            ax.axhline(y, color="0.45", lw=0.8, ls="--" if other.band is not None else ":")
        what = f"{other.label}: {other.value_text}" + ("" if other.band is not None else " (mean)")
        ax.annotate(what, (1.0, max(lines)), xycoords=("axes fraction", "data"), xytext=(-3, 2),
                    textcoords="offset points", ha="right", fontsize=7, color="0.35")
        tops.append(max(lines))
    for x, side in enumerate(SIDES):
        if side in values:
            v = values[side]
            ax.bar(x, v, width=0.55, color=SIDE_COLOURS[side], alpha=0.85, yerr=unc[side], capsize=6,
                   ecolor="black")
            pos = comparison.sides[side]["position"]
            codes = [c for c in comparison.flag_codes(side) if not c.startswith("LR_")]
            text = f"{v:.1f}° ± {unc[side]:g}°\n{pos}" + (f"\nflag: {', '.join(codes)}" if codes else "")
            ax.annotate(text, (x, v + unc[side]), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=9)
        else:
            ax.annotate("not\nmeasured", (x, 1.0), ha="center", va="bottom", fontsize=9, color="0.4")
    top = max([*tops, *values.values(), 0.0]) + u + 14
    ax.set_ylim(0, top)
    ax.set_xticks([0, 1], list(SIDES))
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("peak internal rotation (°)")
    lr = [f for f in comparison.shown_flags if f["side"] == "both"]
    if len(values) == 2:
        diff = abs(values["left"] - values["right"])
        if lr:
            colour = _FLAG_COLOUR if lr[0]["status"] == "raised" else STATUS_COLOURS["borderline"]
            word = "screening flag raised" if lr[0]["status"] == "raised" else "possible screening flag"
            text = f"left–right difference {diff:.1f}° > {lr[0]['threshold_deg']:g}°: {word}"
        else:
            colour, text = "0.2", f"left–right difference {diff:.1f}° (sides within 10°)"
        ax.set_title(text, fontsize=9, color=colour)
    else:
        ax.set_title("one side measured: no left–right comparison", fontsize=9, color="0.3")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_demands_gauge(result: "AnalysisResult | dict[str, Any]",
                       comparison: "NormComparison") -> "matplotlib.figure.Figure":
    """Where each side's peak IR sits against each functional demand (and the norm band).

    One row per activity: its demand range as a bar (a tick when one figure is quoted), the
    measured values as vertical lines in the side colours with ± uncertainty shaded, and per
    side the verdict (enough / borderline / short, see :mod:`hiprom.interpret.norms`). The
    demands come from a popular article (not peer-reviewed); the title says so.
    """
    from hiprom.interpret.norms import load_demands

    demands = load_demands()
    values = _values(comparison)
    unc = _uncertainties(comparison)
    fig, ax = _figure(9.0, 0.75 * (len(demands) + 1) + 1.4)
    row = comparison.row
    labels = [f"norm: {row.label}" if row is not None else "norm: none"] + [d.label for d in demands]
    y = np.arange(len(labels))[::-1]
    if row is not None:
        ax.barh(y[0], row.band[1] - row.band[0], left=row.band[0], height=0.5, color=BAND_COLOUR, alpha=0.35)
    chosen = comparison.sport_demand.id if comparison.sport_demand is not None else None
    for yi, d in zip(y[1:], demands):
        width = max(d.hi_deg - d.lo_deg, 0.6)
        ax.barh(yi, width, left=d.lo_deg - (0.3 if d.hi_deg == d.lo_deg else 0), height=0.5,
                color="0.35" if d.id != chosen else "#6a3d9a", alpha=0.75)
        verdicts = []
        for side in values:
            st = next(x["status"] for x in comparison.sides[side]["demands"] if x["id"] == d.id)
            verdicts.append((side, st))
        for k, (side, st) in enumerate(verdicts):
            ax.annotate(f"{side[0].upper()}: {st}", (1.0, yi), xycoords=("axes fraction", "data"),
                        xytext=(6, 6 - 13 * k), textcoords="offset points", va="center", fontsize=8,
                        color=STATUS_COLOURS[st])
    xmax = max(60.0, *(v + unc[k] + 5 for k, v in values.items())) if values else 60.0
    for side, v in values.items():
        ax.axvspan(v - unc[side], v + unc[side], color=SIDE_COLOURS[side], alpha=0.12, lw=0)
        ax.axvline(v, color=SIDE_COLOURS[side], lw=2.2, label=f"{side} {v:.1f}° ± {unc[side]:g}°")
    ax.set_yticks(y, labels, fontsize=9)
    if chosen is not None:
        ax.get_yticklabels()[1 + [d.id for d in demands].index(chosen)].set_fontweight("bold")
    ax.set_xlim(0, xmax)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("hip internal rotation (°)")
    ax.grid(axis="x", alpha=0.3)
    evidence = sorted({d.source.evidence for d in demands})
    if values:
        ax.legend(loc="lower right", fontsize=8)
        if evidence == ["popular_article"]:
            ax.set_title("Demands as given by a popular article (not peer-reviewed)", fontsize=9)
    else:
        ax.set_title("no side measured", fontsize=9)
    return fig
