"""The batch's table and cohort figure, rebuilt from the clip folders (never from memory).

:func:`summary_rows` reads each input's ``clips/<folder>/batch.json`` and ``result.json`` and
gives one row per clip and side (the sides the manifest lists, both by default). Columns
(:data:`SUMMARY_COLUMNS`): the manifest values; ``status`` (``ok``, ``failed`` or ``missing``)
and ``error`` (the message of a clip that failed); per side ``tested``, ``test`` (the
recognition's verdict: ``tested``, ``not_tested`` or ``not_a_seated_test``, also for a clip
refused for holding no seated test), ``peak_ir_deg``,
``peak_er_deg``, ``total_arc_deg``, ``n_reps``; ``lr_ir_diff_deg`` (this side's peak IR minus
the other side's, when both were measured); ``quality_score``/``quality_level``/
``quality_reasons`` (empty for an untested side); ``warnings``; ``flags`` (``quality_fair``/``quality_poor``
and the screening flags of :func:`hiprom.interpret.norms.compare`, which do not depend on age,
``?`` marking a possible one); the IR norm comparison ``norm_row``, ``norm_evidence``
(``peer_reviewed`` or ``popular_article``), ``norm_lo_deg``, ``norm_hi_deg``, ``norm_position``
and the ER one ``er_norm_row``, ``er_norm_lo_deg``, ``er_norm_hi_deg``, ``er_norm_position``,
``er_norm_applies`` (``False``: the only ER norms, from college athletes, were used for
orientation) — all only when the age is known; and where the clip's outputs are.

:func:`write_summary` writes ``summary.csv``, ``summary.parquet`` and ``cohort.png`` (peak IR
per side by age group, against the band the report uses for that age), each atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from hiprom.apps.batch.manifest import SUMMARY_FILES, ClipItem
from hiprom.apps.batch.worker import read_record
from hiprom.errors import InputError
from hiprom.io.atomic import atomic_path
from hiprom.io.result_json import read_result
from hiprom.outputs.plots import SIDE_COLOURS

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure
    import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "summary_rows", "summary_frame", "cohort_figure", "write_summary", "spreadsheet_safe",
           "FORMULA_STARTS"]

SUMMARY_COLUMNS = (
    "clip", "row", "subject_id", "age", "sex", "date", "notes", "side", "status", "error", "tested",
    "test", "peak_ir_deg", "peak_er_deg", "total_arc_deg", "n_reps", "lr_ir_diff_deg", "quality_score",
    "quality_level", "quality_reasons", "warnings", "flags", "norm_row", "norm_evidence", "norm_lo_deg", "norm_hi_deg",
    "norm_position", "er_norm_row", "er_norm_lo_deg", "er_norm_hi_deg", "er_norm_position", "er_norm_applies",
    "reference", "input_sha256", "output_folder", "finished_utc",
)
_FLOATS = ("age", "peak_ir_deg", "peak_er_deg", "total_arc_deg", "lr_ir_diff_deg", "quality_score",
           "norm_lo_deg", "norm_hi_deg", "er_norm_lo_deg", "er_norm_hi_deg")


def _result_json(folder: Path) -> tuple[dict | None, str | None]:
    """The clip's validated result.json (:func:`hiprom.io.result_json.read_result`), or why not."""
    try:
        return read_result(folder / "result.json"), None
    except InputError as exc:
        return None, exc.message


def _norms(result: dict, item: ClipItem) -> Any:
    """The norm comparison of a clip; without an age it still gives the flags (which do not
    depend on age), and :meth:`~hiprom.interpret.norms.NormComparison.summary_columns` leaves the
    norm columns empty."""
    from hiprom.interpret import norms

    return norms.compare(result, age=item.age, sex=item.sex)


def summary_rows(out_dir: str | Path, items: Iterable[ClipItem], *, clips_dir: str = "clips") -> list[dict]:
    """One dict per clip and side, in the inputs' order, from the clip folders under ``out_dir``."""
    out = Path(out_dir)
    rows: list[dict] = []
    for item in items:
        folder = out / clips_dir / item.folder
        rec = read_record(folder) or {}
        result, unreadable = _result_json(folder) if rec.get("status") == "ok" else (None, None)
        status = "ok" if result is not None else ("failed" if rec else "missing")
        error = " ".join(ln.strip() for ln in (unreadable or rec.get("error") or "").splitlines()) \
            if status == "failed" else ("not analysed yet: run the batch again to finish it" if status == "missing"
                                        else None)
        comparison = _norms(result, item) if result is not None else None
        for side in item.sides:
            row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS)
            row.update(clip=item.rel, row=item.row, subject_id=item.subject_id or None, age=item.age,
                       sex=item.sex, date=item.date, notes=item.notes or None, side=side, status=status,
                       error=error, input_sha256=(rec.get("input") or {}).get("sha256"),
                       output_folder=f"{clips_dir}/{item.folder}" if rec else None,
                       finished_utc=rec.get("finished_utc"))
            verdict = (rec.get("test") or {}).get(side)       # a clip refused for holding no seated test
            if verdict is not None:
                row.update(test=verdict, tested=False)
            if result is not None:
                row.update(_side_columns(result, side))
                if comparison is not None:
                    cols = comparison.summary_columns(side)
                    extra = [f for f in (cols.pop("flags") or "").split(";") if f]
                    row.update(cols)
                    row["flags"] = ";".join(filter(None, [row["flags"], *extra])) or None
            rows.append(row)
    return rows


def _side_columns(result: dict, side: str) -> dict[str, Any]:
    s = result["sides"][side]
    other = result["sides"]["left" if side == "right" else "right"]
    # an untested leg has no quality (nothing was measured) and no flag: its `test` column says why
    quality = (s.get("quality") or {}) if s.get("tested") else {}
    flags = []
    if quality.get("level") in ("fair", "poor"):
        flags.append(f"quality_{quality['level']}")
    ir, ir_other = s.get("peak_ir_deg"), other.get("peak_ir_deg")
    return {"tested": bool(s.get("tested")), "test": s.get("test"), "peak_ir_deg": ir,
            "peak_er_deg": s.get("peak_er_deg"),
            "total_arc_deg": s.get("total_arc_deg"), "n_reps": s.get("n_reps"),
            "lr_ir_diff_deg": None if ir is None or ir_other is None else round(ir - ir_other, 2),
            "quality_score": quality.get("score"), "quality_level": quality.get("level"),
            "quality_reasons": "; ".join(quality.get("reasons") or []) or None,
            "warnings": "; ".join(result.get("warnings") or []) or None, "flags": ";".join(flags) or None,
            "reference": result.get("reference")}


def summary_frame(rows: list[dict]) -> "pd.DataFrame":
    """The rows as a table with stable column order and types (floats, nullable ints, dates)."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for c in _FLOATS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in ("row", "n_reps"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    df["tested"] = df["tested"].astype("boolean")
    df["er_norm_applies"] = df["er_norm_applies"].astype("boolean")
    return df


def _age_groups() -> list[tuple[str, float, float, float | None, float | None]]:
    """``(label, age_min, age_max, band_lo, band_hi)``: the age spans of the seated IR rows
    that have a band, each with the band :func:`hiprom.interpret.norms.reference_band` gives
    for that age (the band the report shows for a person of that age and unknown sex)."""
    from hiprom.interpret.norms import load_norms, reference_band

    spans = sorted({(r.age_min, r.age_max) for r in load_norms()
                    if r.measure == "ir" and r.comparable and r.band is not None and r.population_key == "general"
                    and r.sex == "both"})
    out = []
    for lo_age, hi_age in spans:
        _, row = reference_band(age=lo_age)
        top = "+" if hi_age > 120 else f"–{hi_age - 1:g}"
        out.append((f"ages {lo_age:g}{top}", lo_age, hi_age, *(row.band if row is not None else (None, None))))
    return out


def _band_label() -> str:
    """The cohort figure's legend entry for the bands, with their evidence level."""
    from hiprom.interpret.norm_tables import EVIDENCE_TEXT
    from hiprom.interpret.norms import reference_band

    levels = {reference_band(age=g[1])[1].evidence for g in _age_groups() if g[3] is not None}
    return "norm band (" + "; ".join(EVIDENCE_TEXT[e] for e in sorted(levels)) + ")"


def cohort_figure(rows: list[dict]) -> "matplotlib.figure.Figure":
    """Peak IR of every measured side, by age group, over the norm band of each group.

    Ages outside every norm row and unknown ages get their own groups, without a band.
    """
    from matplotlib.figure import Figure

    groups = [list(g) for g in _age_groups()]
    pts = [r for r in rows if r["status"] == "ok" and r["peak_ir_deg"] is not None]

    def group_of(age: float | None) -> int:
        label = "age unknown" if age is None else "other ages"
        for i, g in enumerate(groups):
            if age is not None and g[1] <= int(age) < g[2]:
                return i
        if not any(g[0] == label for g in groups):
            groups.append([label, 0, 0, None, None])
        return next(i for i, g in enumerate(groups) if g[0] == label)

    placed = [(group_of(r["age"]), r) for r in pts]
    fig = Figure(figsize=(max(6.0, 1.9 * len(groups) + 1.5), 4.6))
    ax = fig.add_subplot(1, 1, 1)
    for i, (_label, _lo_age, _hi_age, lo, hi) in enumerate(groups):
        if lo is not None:
            ax.fill_between([i - 0.42, i + 0.42], lo, hi, color="0.85", zorder=0,
                            label=_band_label() if i == 0 else None)
    for side, dx in (("right", -0.15), ("left", 0.15)):
        xs, ys = [], []
        for k, (g, r) in enumerate((g, r) for g, r in placed if r["side"] == side):
            xs.append(g + dx + ((k * 0.618) % 1 - 0.5) * 0.16)
            ys.append(r["peak_ir_deg"])
        ax.scatter(xs, ys, s=22, color=SIDE_COLOURS[side], marker="o" if side == "right" else "^",
                   label=f"{side} (n={len(ys)})", zorder=3)
    counts = [len({r["clip"] for g, r in placed if g == i}) for i in range(len(groups))]
    ax.set_xticks(range(len(groups)), [f"{g[0]}\n{n} clip(s)" for g, n in zip(groups, counts)], fontsize=8)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("peak internal rotation (°)")
    refs = {r["reference"] for r in pts}
    ref = " (from rest)" if refs == {"neutral"} else ""
    ax.set_title(f"Peak hip IR{ref} by age group — {len({r['clip'] for r in pts})} clips", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


#: A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
#: (OWASP "CSV injection"): ``=HYPERLINK(...)`` in a manifest note would become a live link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula
    (:data:`FORMULA_STARTS`); the quote makes it plain text and is not shown. Other values as
    they are."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def spreadsheet_safe_frame(df: "pd.DataFrame") -> "pd.DataFrame":
    """A copy of ``df`` with :func:`spreadsheet_safe` applied to every text column."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = df.copy()
    for col in out.columns:
        if is_object_dtype(out[col]) or is_string_dtype(out[col]):
            out[col] = out[col].map(spreadsheet_safe)
    return out


def write_summary(out_dir: str | Path, items: Iterable[ClipItem], *, figure: bool = True) -> dict[str, Path]:
    """Write ``summary.csv``, ``summary.parquet`` and ``cohort.png`` into ``out_dir``; return their paths.

    In ``summary.csv`` (the file people open in a spreadsheet) text that would run as a
    formula is prefixed with ``'`` (:func:`spreadsheet_safe`); ``summary.parquet`` keeps the
    values as they are.
    """
    out = Path(out_dir)
    rows = summary_rows(out, list(items))
    df = summary_frame(rows)
    files = {key: out / SUMMARY_FILES[key] for key in ("csv", "parquet")}
    safe = spreadsheet_safe_frame(df)
    with atomic_path(files["csv"]) as tmp:
        safe.to_csv(tmp, index=False, float_format="%.2f")
    with atomic_path(files["parquet"]) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow")
    if figure:
        files["figure"] = out / SUMMARY_FILES["figure"]
        fig = cohort_figure(rows)
        with atomic_path(files["figure"]) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    return files
