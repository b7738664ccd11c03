"""``hiprom norms``: print the reference tables with their sources (and which rows apply to a person)."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from hiprom.apps.cli.common import age_option, app, run_guarded, sex_option, sport_option


@app.command("norms")
def norms(
    json_out: bool = typer.Option(False, "--json", help="Print the tables as JSON to stdout (for scripts)."),
    age: Optional[float] = age_option(),
    sex: Optional[str] = sex_option(),
    sport: Optional[str] = sport_option(),
) -> None:
    """Print the norm tables, screening flags, functional demands and minimal detectable change,
    each row with its population, test position, method, evidence level and source (with DOI).
    With --age/--sex/--sport, also say which rows a reading of that person is compared with."""
    run_guarded(_norms, json_out, age, sex, sport)


def tables_dict() -> dict:
    """Every table as JSON-able dicts, rows with their sources joined in."""
    from hiprom.interpret.norm_tables import (
        load_demands,
        load_flags,
        load_measurement_error,
        load_norms,
        load_sources,
    )

    return {"norms": [r.to_dict() for r in load_norms()],
            "flags": [{"code": f.code, "measure": f.measure, "op": f.op, "threshold_deg": f.threshold_deg,
                       "label": f.label, "text": f.text, "described_in": f.described_in, "position": f.position,
                       "sources": [s.to_dict() for s in f.sources]} for f in load_flags()],
            "demands": [d.to_dict() for d in load_demands()],
            "measurement_error": [m.to_dict() for m in load_measurement_error()],
            "sources": [s.to_dict() for s in load_sources().values()]}


def _norms(json_out: bool, age: Optional[float], sex: Optional[str], sport: Optional[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    from hiprom.interpret.norm_tables import (
        EVIDENCE_TEXT,
        POSITION_TEXT,
        load_demands,
        load_flags,
        load_measurement_error,
        load_norms,
        load_sources,
    )

    chosen = _chosen(age, sex, sport) if any(v is not None for v in (age, sex, sport)) else None
    if json_out:
        sys.stdout.write(json.dumps({**tables_dict(), **({"applies": chosen} if chosen else {})}, indent=2,
                                    ensure_ascii=False) + "\n")
        return
    console = Console(highlight=False)
    numbers = {sid: i for i, sid in enumerate(load_sources(), 1)}

    def ref(src) -> str:
        return f"[{numbers[src.id]}] {src.short}"

    norm_columns = ("row", "measure", "value", "band", "n", "population", "ages", "sex", "position", "method",
                    "evidence", "source")
    for comparable, title in ((True, "Norms for the seated test (hip flexed 90°): readings are compared with these"),
                              (False, "Measured with the hip extended: a different test, listed only, never compared")):
        rows = []
        for r in (x for x in load_norms() if x.comparable == comparable):
            band = f"{r.band[0]:g}–{r.band[1]:g}° ({r.band_rule})" if r.band else "no band (mean only)"
            rows.append((r.id, r.measure.upper(), r.value_text, band, r.n or "no sample", r.population, r.age_text,
                         r.sex, POSITION_TEXT[r.position], r.method, EVIDENCE_TEXT[r.evidence], ref(r.source)))
        print_rows(console, title, norm_columns, rows)
    ops = {"le": "≤", "lt": "<", "gt": ">", "ge": "≥"}
    print_rows(console, "Screening flags (never a diagnosis)",
               ("flag", "threshold", "described in", "test position", "source"),
               [(f.label, f"{'left–right IR difference' if f.measure == 'lr_diff' else 'IR'} {ops[f.op]} "
                 f"{f.threshold_deg:g}°", f.described_in, f.position, "; ".join(ref(s) for s in f.sources))
                for f in load_flags()])
    print_rows(console, "Functional demands (IR an activity is said to need)",
               ("activity", "IR", "--sport names", "evidence", "source"),
               [(d.label, f"{d.lo_deg:g}–{d.hi_deg:g}°" if d.lo_deg != d.hi_deg else f"{d.lo_deg:g}°",
                 ", ".join(d.sports), EVIDENCE_TEXT[d.source.evidence], ref(d.source)) for d in load_demands()])
    print_rows(console, "How large a change must be to be real (the starred row is used everywhere)",
               ("method", "position", "statistic", "value", "notes", "source"),
               [(("* " if m.reference else "") + m.method, m.position, m.statistic, m.value_text, m.note,
                 ref(m.source)) for m in load_measurement_error()])
    console.print("[bold]Sources[/]")
    for sid, src in load_sources().items():
        console.print(f"  [{numbers[sid]}] {escape(src.text)} ({EVIDENCE_TEXT[src.evidence]})", soft_wrap=True)
    if chosen:
        console.print(f"[bold]For {escape(chosen['who'])}[/]")
        for m in ("ir", "er"):
            rows = chosen[m]["rows"]
            extra = " (orientation only: no row covers this person)" if chosen[m]["orientation_only"] else ""
            console.print(f"  {m.upper()} compared with: {escape(', '.join(rows) or 'no row')}{extra}", soft_wrap=True)
        for note in chosen["notes"]:
            if not note.startswith("No side has"):
                console.print(f"  [dim]{escape(note)}[/]", soft_wrap=True)


def print_rows(console, title: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A table of ``rows`` under ``title`` where the terminal is wide enough for each column to
    hold its longest word with room to spare; else each row as a block: its first value in
    bold, then one line per column, wrapped between words under the value (an 80-column
    terminal would otherwise break the cells in the middle of their words)."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table

    cells = [[escape(str(c)) for c in row] for row in rows]
    longest = [max(len(w) for text in (col, *(row[i] for row in rows)) for w in str(text).split() or [""])
               for i, col in enumerate(columns)]
    # a cell: its longest word, a space each side and a rule; half as much again for rich to
    # share out, which otherwise may squeeze a column below its longest word
    if console.width >= 1.5 * (sum(n + 3 for n in longest) + 1):
        t = Table(title=title, title_justify="left")
        for col in columns:
            t.add_column(col, overflow="fold")
        for row in cells:
            t.add_row(*row)
        console.print(t)
        return
    console.print(f"[bold]{escape(title)}[/]")
    for row in cells:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for col, value in zip(columns[1:], row[1:]):
            grid.add_row(escape(col), value)
        console.print(Padding(f"[bold]{row[0]}[/]", (0, 0, 0, 2)))
        console.print(Padding(grid, (0, 0, 1, 4)))


def _chosen(age: Optional[float], sex: Optional[str], sport: Optional[str]) -> dict:
    """Which rows a reading of this person is compared with, in order (validates the inputs)."""
    from hiprom.interpret.norm_text import who_text
    from hiprom.interpret.norms import compare

    # the same choice, and the same checks of age, sex and sport, as analyze and report
    c = compare({"sides": {"left": {}, "right": {}}}, age=age, sex=sex, sport=sport)
    population = sport.strip().lower() if sport and sport.strip() and c.sport_demand is None else "general"
    out = {"who": who_text(age, c.inputs["sex"], population), "notes": list(c.notes)}
    for m in (c.ir, c.er):
        out[m.measure] = {"rows": [r.id for r in m.rows], "orientation_only": m.orientation_only}
    return out
