"""Figures. Each function returns a matplotlib Figure and touches no global state."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

    from hiprom.core.result import AnalysisResult

__all__ = ["plot_angles", "SIDE_COLOURS", "drawable_text"]

SIDE_COLOURS = {"right": "#d62728", "left": "#1f77b4"}


@lru_cache(maxsize=1)
def _drawable_codepoints() -> frozenset[int]:
    from matplotlib import font_manager

    font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    return frozenset(font.get_charmap())


def drawable_text(text: str) -> str:
    """``text`` with every character the figures' font has no glyph for (an emoji in a file
    name, say) replaced by ``?``, so matplotlib draws it without a "Glyph ... missing" warning."""
    codes = _drawable_codepoints()
    return "".join(c if ord(c) in codes or c.isspace() else "?" for c in text)


def _new_figure(width: float = 9.0, height: float = 4.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def plot_angles(result: "AnalysisResult", ax=None) -> "matplotlib.figure.Figure":
    """Hip rotation angle against time for both sides, peaks and holds marked.

    Thin dots are the raw per-frame angle, lines the filtered angle; ▲ marks each rep's IR
    value and ▼ its ER value (at the middle of its hold), shaded spans the holds.
    """
    if ax is None:
        fig, ax = _new_figure()
    else:
        fig = ax.figure
    df = result.to_pandas()
    t = df["time_s"].to_numpy()
    for side in ("right", "left"):
        res = result.sides[side]
        colour = SIDE_COLOURS[side]
        ax.plot(t, df[f"{side}_raw_deg"], ".", ms=2, color=colour, alpha=0.35)
        label = f"{side}" + ("" if res.tested else " (not tested)")
        ax.plot(t, df[f"{side}_deg"], "-", lw=1.8, color=colour, label=label)
        for rep in res.reps:
            for kind, marker in (("ir", "^"), ("er", "v")):
                value, when = rep.get(f"{kind}_deg"), rep.get(f"{kind}_t_s")
                if value is None or when is None:
                    continue
                y = value if kind == "ir" else -value
                ax.plot([when], [y], marker, color=colour, ms=9, mec="black", mew=0.6)
                ax.annotate(f"{kind.upper()} {value:.1f}°", (when, y), textcoords="offset points",
                            xytext=(0, 9 if kind == "ir" else -15), ha="center", fontsize=8, color=colour)
    ax.axhline(0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("time (s)")
    ref = "from rest" if result.config.geometry.reference == "neutral" else "from vertical"
    ax.set_ylabel(f"hip rotation (°, {ref})\n+ internal / − external")
    ax.set_title(drawable_text(f"{result.source.get('path', '')}".split("/")[-1]), fontsize=10)
    finite = df[[f"{s}_deg" for s in ("left", "right")]].to_numpy()
    if np.isfinite(finite).any():
        lo, hi = np.nanmin(finite), np.nanmax(finite)
        ax.set_ylim(min(lo, -5) - 8, max(hi, 5) + 10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return fig
