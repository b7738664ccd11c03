"""Report figures on a synthetic result: Figures (not pyplot), with the band, bars, flags and demands."""

from __future__ import annotations

import io

import numpy as np
import pytest
from helpers.synthetic_subject import RIGHT, series_from_body
from matplotlib.figure import Figure

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.interpret.norms import compare
from hiprom.outputs.report_plots import STATUS_COLOURS, plot_angles_with_band, plot_demands_gauge, plot_sides_vs_band


@pytest.fixture(scope="module")
def result():
    """Right leg IR 38° (hold) / ER 26°, left resting at -5° (not tested)."""
    return analyze_landmarks(series_from_body(RIGHT), Config())


def both_sides(left: float, right: float) -> dict:
    return {"reference": "vertical", "sides": {"left": {"peak_ir_deg": left}, "right": {"peak_ir_deg": right}}}


def spans(ax) -> list[tuple[float, float]]:
    """(y0, y1) of every horizontal span (axhspan) in ``ax``."""
    out = []
    for p in ax.patches:
        if p.get_width() > 0 and hasattr(p, "get_xy") and p.get_transform() is not ax.transData:
            ys = np.asarray(p.get_xy())[:, 1] if np.ndim(p.get_xy()) == 2 else [p.get_y(), p.get_y() + p.get_height()]
            out.append((round(float(min(ys)), 2), round(float(max(ys)), 2)))
    return out


def renders(fig: Figure) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_are_plain_figures_not_pyplot_state(result) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    c = compare(result, age=60)
    for fn in (plot_angles_with_band, plot_sides_vs_band, plot_demands_gauge):
        fig = fn(result, c)
        assert isinstance(fig, Figure)
        renders(fig)
    assert plt.get_fignums() == before


def test_angle_plot_shades_the_chosen_row_and_marks_the_thresholds(result) -> None:
    ax = plot_angles_with_band(result, compare(result, age=60)).axes[0]
    assert (25.0, 35.0) in spans(ax)                       # over-50 band
    ys = sorted(round(line.get_ydata()[0], 2) for line in ax.lines if len(set(line.get_ydata())) == 1
                and line.get_linestyle() == ":")
    assert ys == [15.0, 20.0]                               # the two IR screening thresholds
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("IR 37.") or t.startswith("IR 38.") for t in texts)   # peak marked
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "norm IR — Adults over 50 (popular article): 25–35° — popular article, not peer-reviewed" in legend
    assert (-55.6, -33.8) not in spans(ax)                 # no sex given: no ER norm to draw


def test_angle_plot_draws_the_er_band_below_zero_with_its_source(result) -> None:
    ax = plot_angles_with_band(result, compare(result, age=60, sex="male")).axes[0]
    assert (25.0, 35.0) in spans(ax) and (-55.6, -33.8) in spans(ax)      # Czuppon men ER 44.7 ± 10.9, negated
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("norm ER (drawn negative) — College athletes about 18: men") and
               t.endswith("Czuppon et al. 2017, peer-reviewed — orientation only") for t in legend)


def test_side_bars_are_the_values_with_the_asymmetry_flag() -> None:
    c = compare(both_sides(18.0, 40.0))
    ax = plot_sides_vs_band(both_sides(18.0, 40.0), c).axes[0]
    from matplotlib.container import BarContainer

    heights = sorted(round(p.get_height(), 2) for c in ax.containers if isinstance(c, BarContainer) for p in c)
    assert heights == [18.0, 40.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["right", "left"]      # right first, as everywhere
    from matplotlib.colors import to_hex

    from hiprom.outputs.plots import SIDE_COLOURS

    bars = [p for c in ax.containers if isinstance(c, BarContainer) for p in c]
    assert [to_hex(b.get_facecolor()[:3]) for b in sorted(bars, key=lambda b: b.get_x())] == \
        [SIDE_COLOURS["right"], SIDE_COLOURS["left"]]
    assert (35.0, 45.0) in spans(ax)
    assert any(t.get_text() == "Healthy adults 20–60, seated: 37.9° (mean)" for t in ax.texts)  # peer-reviewed mean
    assert 37.9 in [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert ax.get_title() == "left–right difference 22.0° > 10°: screening flag raised"
    assert any("flag: IR_LE_20" in t.get_text() for t in ax.texts)   # the left bar carries its own flag
    ax = plot_sides_vs_band(both_sides(33.0, 42.0), compare(both_sides(33.0, 42.0))).axes[0]
    assert "9.0° > 10°: possible screening flag" in ax.get_title()   # 9 + 2.83 > 10
    ax = plot_sides_vs_band(both_sides(38.0, 40.0), compare(both_sides(38.0, 40.0))).axes[0]
    assert ax.get_title() == "left–right difference 2.0° (sides within 10°)"


def test_one_side_only_says_so(result) -> None:
    ax = plot_sides_vs_band(result, compare(result)).axes[0]
    assert ax.get_title() == "one side measured: no left–right comparison"
    assert any(t.get_text() == "not\nmeasured" for t in ax.texts)


def test_gauge_has_a_row_per_demand_and_the_verdicts() -> None:
    c = compare(both_sides(24.0, 40.0), sport="squat")
    ax = plot_demands_gauge(both_sides(24.0, 40.0), c).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["norm: Adults 20–50 (popular article)", "Walking and running (stance)", "Deep squat",
                      "Cycling (about 25°)", "Baseball pitching (50° or more in the follow-through)"]  # top to bottom
    assert ax.get_title() == "Demands as given by a popular article (not peer-reviewed)"
    assert [round(t, 1) for t in ax.get_yticks()] == [4, 3, 2, 1, 0]
    assert [t for t in ax.get_yticklabels() if t.get_text() == "Deep squat"][0].get_fontweight() == "bold"
    verdicts = {t.get_text(): t.get_color() for t in ax.texts}
    assert verdicts["L: borderline"] == STATUS_COLOURS["borderline"]          # 24 ± 2 against 20–30
    assert verdicts["R: short"] == STATUS_COLOURS["short"]                    # 40 + 2 < 50 (pitching)
    assert sum(t == "R: enough" for t in verdicts) == 1 and len(ax.texts) == 8
    xs = sorted(line.get_xdata()[0] for line in ax.lines)
    assert xs == [24.0, 40.0]


def test_gauge_without_a_measured_side() -> None:
    c = compare(both_sides(None, None))
    fig = plot_demands_gauge(both_sides(None, None), c)
    assert fig.axes[0].get_title() == "no side measured"
    renders(fig)
