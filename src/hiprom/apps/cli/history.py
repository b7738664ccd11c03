"""``hiprom history``: a subject's measurements over time, with changes judged against the MDC."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer

from hiprom.apps.cli.common import age_option, app, in_range, run_guarded, sex_option

_MDC_NOTE = ("<MDC: the change is smaller than the minimal detectable change ({mdc:g}°{source}), so it is "
             "within measurement error and not evidence of progress.")


@app.command("history")
def history(
    subject_id: str = typer.Argument(..., metavar="SUBJECT_ID", help="The subject's (pseudonymous) ID."),
    db: Optional[Path] = typer.Option(None, "--history-db",
                                      help="History database, as for analyze (default: $HIPROM_HISTORY, "
                                           "else history.sqlite in the user data folder)."),
    db_alias: Optional[Path] = typer.Option(None, "--db", hidden=True),  # the option's former name
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also save the IR-over-time plot (.png, .svg, .pdf)."),
    json_out: bool = typer.Option(False, "--json", help="Print the series as JSON to stdout (for scripts)."),
    mdc: Optional[float] = typer.Option(None, "--mdc", callback=in_range(0, 45, unit="°", lo_open=True),
                                        help="Minimal detectable change in degrees (default: 5.4, seated digital "
                                             "inclinometer, Krause et al. 2015; see hiprom norms)."),
    norm_band: str = typer.Option("auto", "--norm-band",
                                  help="Seated IR band 'LOW,HIGH' to shade in the plot, 'none', or 'auto': the band "
                                       "the report uses for --age/--sex (see hiprom norms)."),
    age: Optional[float] = age_option(),
    sex: Optional[str] = sex_option(),
) -> None:
    """Print a subject's stored measurements (hiprom analyze ... --subject ID) and their changes."""
    auto = norm_band.strip().lower() == "auto"
    band = None if auto else _parse_band(norm_band)  # a bad band is a usage error, before any work
    run_guarded(_history, subject_id, db or db_alias, plot, json_out, mdc, auto, band, age, sex)


def _auto_band(age: Optional[float], sex: Optional[str]) -> tuple[tuple[float, float] | None, str | None]:
    """The band the report uses for this age and sex, and its legend with the evidence level."""
    from hiprom.interpret.norm_text import cite
    from hiprom.interpret.norms import reference_band

    _, row = reference_band(age=age, sex=sex)
    if row is None:
        return None, None
    return row.band, f"norm {row.band[0]:g}–{row.band[1]:g}°: {row.label} ({cite(row)})"


def _parse_band(text: str) -> tuple[float, float] | None:
    if text.strip().lower() == "none":
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected 'LOW,HIGH' in degrees or 'none', got {text!r}",
                                 param_hint="--norm-band") from None
    if not lo < hi:
        raise typer.BadParameter(f"LOW must be below HIGH, got {text!r}", param_hint="--norm-band")
    return lo, hi


def _num(value: float, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def _history(subject_id: str, db: Optional[Path], plot: Optional[Path], json_out: bool, mdc: Optional[float],
             auto: bool, band: tuple[float, float] | None, age: Optional[float], sex: Optional[str]) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from hiprom.errors import InputError
    from hiprom.interpret.norm_tables import reference_mdc
    from hiprom.outputs.history import History, default_history_path, with_changes
    from hiprom.outputs.history_plot import date_format

    band, band_label = _auto_band(age, sex) if auto else (band, None)
    source = ""
    if mdc is None:
        ref = reference_mdc()
        mdc, source = ref.hi_deg, f", {ref.method}, {ref.position}, {ref.source.short}"

    path = default_history_path(db)
    if plot is not None:
        from hiprom.io.paths import check_can_create

        check_can_create(plot, option="--plot")
    if not path.is_file():
        raise InputError("no history database here (nothing stored yet)", path=path,
                         fix="store results with 'hiprom analyze CLIP --subject ID', or point --history-db "
                             "(or HIPROM_HISTORY) at an existing history file.")
    with History(path) as hist:
        rows = hist.rows(subject_id)
        if rows.empty:
            known = hist.subjects()
            shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "") if known else "none"
            raise InputError(f"no measurements stored for subject {subject_id!r} (subjects: {shown})",
                             path=path, fix="check the ID (IDs are case-sensitive) or the --history-db file.")
        table = with_changes(rows, mdc)
        if plot is not None:
            from hiprom.io.atomic import atomic_path

            fig = hist.plot(subject_id, norm_band=band, norm_label=band_label, mdc_deg=mdc)
            with atomic_path(plot) as tmp:
                fig.savefig(tmp, dpi=110, format=plot.suffix.lstrip(".").lower() or "png")
    if json_out:
        out = table.assign(date=table["date"].map(lambda d: d.isoformat()))
        records = json.loads(out.to_json(orient="records"))
        sys.stdout.write(json.dumps({"subject_id": subject_id, "mdc_deg": mdc, "measurements": records},
                                    indent=2) + "\n")
        return
    console = Console(highlight=False)
    fmt = date_format(table["date"])
    # 80 columns hold the table without breaking a word: no vertical rules, numbers and dates never
    # wrap, only a long clip name is cut with …
    t = Table(title=f"Hip rotation over time: {escape(subject_id)}", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("test date", "R IR", "L IR", "R ER", "L ER", "quality", "clip"):
        t.add_column(col, justify="left" if col in ("test date", "quality", "clip") else "right",
                     no_wrap=True, overflow="ellipsis" if col == "clip" else "fold",
                     min_width=4 if col == "clip" else None)
    for _, r in table.iterrows():
        cells = [r["date"].strftime(fmt)]
        for side in ("right", "left"):
            change, within = _num(r[f"{side}_ir_change_deg"], signed=True), r[f"{side}_ir_within_mdc"]
            note = f" [dim]{change} <MDC[/]" if within else f" [bold]{change}[/]" if change else ""
            cells.append(_num(r[f"{side}_ir_deg"]) + note)
        cells += [_num(r["right_er_deg"]), _num(r["left_er_deg"]), escape(str(r["quality_level"] or "")),
                  escape(Path(str(r["clip"])).name)]
        t.add_row(*cells)
    console.print(t)
    console.print("[dim]held IR and ER per test; after an IR, its change since the previous test[/]")
    for side in ("right", "left"):
        ir = table[f"{side}_ir_deg"].dropna()
        if len(ir) >= 2:
            total = float(ir.iloc[-1] - ir.iloc[0])
            verdict = "within the MDC: no real change shown" if abs(total) < mdc else "larger than the MDC"
            console.print(f"{side} IR since the first measurement: {total:+.1f}° ({verdict})")
    console.print(_MDC_NOTE.format(mdc=mdc, source=source))          # wrapped between words
    if plot is not None:
        console.print(f"plot written: {escape(str(plot))}", soft_wrap=True)     # a path stays whole
