"""The history's changes and figure: a subject's held IR and ER per side over time, changes judged
against the minimal detectable change (MDC). Re-exported by :mod:`hiprom.outputs.history`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hiprom.core.measurement import SIDES

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure
    import pandas as pd

__all__ = ["plot_history", "date_format", "with_changes", "default_mdc_deg"]

_MARKERS = {"ir": ("o", "-"), "er": ("v", "--")}


def default_mdc_deg() -> float:
    """The minimal detectable change hiprom uses everywhere, degrees: the reference row of
    ``measurement_error.csv`` (:func:`hiprom.interpret.norm_tables.reference_mdc`; 5.4° for a
    seated digital inclinometer, Krause et al. 2015). A change smaller than this is within
    clinical measurement error."""
    from hiprom.interpret.norm_tables import reference_mdc

    return reference_mdc().hi_deg


def with_changes(rows: "pd.DataFrame", mdc_deg: float | None = None) -> "pd.DataFrame":
    """``rows`` plus, per side, the IR change since the previous and the first measurement.

    Adds ``{side}_ir_change_deg`` (vs the previous measurement of that side),
    ``{side}_ir_since_first_deg`` and ``{side}_ir_within_mdc`` (True when the change vs the
    previous one is smaller than ``mdc_deg``, default :func:`default_mdc_deg`: not evidence of
    a real change; None where there is no change to judge).
    """
    mdc_deg = default_mdc_deg() if mdc_deg is None else mdc_deg
    if not mdc_deg > 0:
        raise ValueError(f"mdc_deg must be positive, got {mdc_deg!r}")
    out = rows.copy()
    for side in SIDES:
        ir = out[f"{side}_ir_deg"]
        have = ir.notna()
        change = ir[have].diff()
        out[f"{side}_ir_change_deg"] = change.reindex(out.index)
        first = ir[have].iloc[0] if have.any() else float("nan")
        out[f"{side}_ir_since_first_deg"] = ir - first
        out[f"{side}_ir_within_mdc"] = [None if c != c else bool(abs(c) < mdc_deg)
                                        for c in out[f"{side}_ir_change_deg"]]
    return out


def date_format(dates: "pd.Series") -> str:
    """``%Y-%m-%d``; with the time (``%H:%M``, never seconds) when two tests share a day."""
    same_day = dates.dt.strftime("%Y-%m-%d").duplicated(keep=False).any()
    return "%Y-%m-%d %H:%M" if same_day else "%Y-%m-%d"


def plot_history(rows: "pd.DataFrame", subject_id: str, *, norm_band: tuple[float, float] | None = None,
                 norm_label: str | None = None, mdc_deg: float | None = None) -> "matplotlib.figure.Figure":
    """Held IR (solid, ●) and ER (dashed, ▼) per side against the test date.

    The IR norm band is shaded (legend ``norm_label``, default ``"norm LO–HI°"``); each IR point
    after the first is labelled with its change, and drawn hollow when that change is smaller
    than ``mdc_deg`` (default :func:`~hiprom.outputs.history.default_mdc_deg`): within measurement
    error. The legend says what the markers mean and gives the IR change since the first test.
    Dates are ticked at the tests themselves (:func:`date_format`).
    """
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from hiprom.outputs.plots import SIDE_COLOURS, drawable_text

    if norm_band is not None and not norm_band[0] < norm_band[1]:
        raise ValueError(f"norm_band must be (low, high) with low < high, got {norm_band!r}")
    mdc_deg = default_mdc_deg() if mdc_deg is None else mdc_deg
    df = with_changes(rows, mdc_deg)
    fig = Figure(figsize=(9.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    if norm_band is not None:
        ax.axhspan(*norm_band, color="tab:green", alpha=0.12, lw=0,
                   label=norm_label or f"norm IR {norm_band[0]:g}–{norm_band[1]:g}°")
    dates = df["date"].dt.tz_convert(None).to_numpy()
    for side in SIDES:
        colour = SIDE_COLOURS[side]
        for kind in ("ir", "er"):
            y = df[f"{side}_{kind}_deg"].to_numpy(float)
            have = np.isfinite(y)
            if not have.any():
                continue
            marker, style = _MARKERS[kind]
            label = f"{side} {kind.upper()}"
            if kind == "ir" and have.sum() >= 2:
                since = df[f"{side}_ir_since_first_deg"].to_numpy()[have][-1]
                label += f", {since:+.1f}° since first" + (" (within MDC)" if abs(since) < mdc_deg else "")
            ax.plot(dates[have], y[have], style, marker=marker, color=colour, lw=1.6, ms=7, label=label)
        within = df[f"{side}_ir_within_mdc"].to_numpy()
        y = df[f"{side}_ir_deg"].to_numpy(float)
        hollow = np.array([w is True for w in within])
        if hollow.any():
            ax.scatter(dates[hollow], y[hollow], s=49, facecolor="white", edgecolor=colour, zorder=3)
        for d, v, c, w in zip(dates, y, df[f"{side}_ir_change_deg"], within):
            if w is not None:
                ax.annotate(f"{c:+.1f}°" + (" within MDC" if w else ""), (d, v), textcoords="offset points",
                            xytext=(0, 8), ha="center", fontsize=8, color=colour)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="", marker="o", color="0.3", ms=7),
                Line2D([], [], ls="", marker="o", mfc="white", mec="0.3", ms=7)]
    labels += [f"filled: IR changed by at least the {mdc_deg:g}° MDC", "hollow: IR change within the MDC"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_ylabel("held rotation (°)\n● IR   ▼ ER")
    ax.set_title(f"{drawable_text(subject_id)}: hip rotation over time", fontsize=10, loc="left")

    ax.grid(alpha=0.3)
    ax.margins(x=0.08, y=0.18)
    ax.set_xticks(dates)
    ax.xaxis.set_major_formatter(DateFormatter(date_format(df["date"])))
    for t in ax.get_xticklabels():
        t.set_rotation(30)
        t.set_ha("right")
    ax.set_xlabel(f"test date (a change under the {mdc_deg:g}° minimal detectable change is within\n"
                  "measurement error, not evidence of progress)", fontsize=9)
    return fig
