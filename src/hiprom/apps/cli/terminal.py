"""Terminal output: the frame progress bar and the short results table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hiprom.core.measurement import SIDES

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult
    from hiprom.interpret.norms import NormComparison

__all__ = ["FrameProgress", "print_summary", "print_comparison", "MIN_FRAMES_FOR_BAR"]

#: Clips with fewer frames than this (about 3 s at 30 fps) get no progress bar.
MIN_FRAMES_FOR_BAR = 90


class FrameProgress:
    """A progress bar over frames, shown only for clips longer than a few seconds.

    Use as a context manager and pass :meth:`update` as the ``progress`` callback of
    :func:`hiprom.analyze`. The bar is redrawn from :meth:`update` only (no refresh
    thread), i.e. between frames, never while the pose model runs.
    """

    def __init__(self, console: Console, *, enabled: bool = True, label: str = "analysing"):
        self.console = console
        self.enabled = enabled
        self.label = label
        self._progress: Progress | None = None
        self._task = None
        self._last_draw = 0.0

    def __enter__(self) -> "FrameProgress":
        return self

    def update(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            if total is None or total < MIN_FRAMES_FOR_BAR:
                self.enabled = False
                return
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TextColumn("frames"),
                                      TimeRemainingColumn(), console=self.console, transient=True,
                                      auto_refresh=False)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total)
        self._progress.update(self._task, completed=min(done, total or done))
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or done >= (total or 0):
            self._last_draw = now
            self._progress.refresh()

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _fmt(value: float | None, unit: str = "°") -> str:
    return "–" if value is None else f"{value:.1f}{unit}"


def _held(value: float | None, u: float | None) -> str:
    """``"37.8° ±1.4"``: the held reading with its own uncertainty (degrees, ~95 %)."""
    return _fmt(value) + ("" if value is None or u is None else f" ±{u:.1f}")


#: What "held" means, printed under the table (the report says the same).
HELD_NOTE = "held = mean over the hold at end range (best rep) ± its uncertainty (~95 %)"
PHOTO_NOTE = "a photo: the angle at end range in the photo ± its uncertainty (~95 %)"


def print_summary(console: Console, result: "AnalysisResult", out_dir: Path | None = None, *,
                  comparison: "NormComparison | None" = None, report_path: Path | None = None) -> None:
    """The short table a clinician reads: per side held IR / ER with their uncertainty, arc,
    reps, quality; why a side has no reading; the test's date, examiner, pain and position;
    with a norm comparison (:func:`hiprom.interpret.norms.compare`), which row each reading is
    compared with and its evidence level, the notes (e.g. on the age), the screening flags
    (raised / possible), and the sources. "(details in the report)" is printed only when
    ``report_path`` names a report that exists. Every column keeps whole words at 80 columns."""
    ref = "from rest" if result.config.geometry.reference == "neutral" else "from vertical"
    name = escape(Path(result.source.get('path') or '').name)  # a file name is not markup
    table = Table(title=f"Hip rotation ({ref}) — {name}", title_justify="left")
    video = result.series.kind == "video"
    held = "held " if video else ""
    for col in ("side", f"{held}IR", f"{held}ER", "total arc", "reps", "quality"):
        table.add_column(col, justify="left" if col in ("side", "quality") else "right",
                         no_wrap=col != "quality", overflow="fold")
    reasons = []
    for side in SIDES:
        s = result.sides[side]
        if not s.tested:          # recognition: a movement that is not the test is named as such
            label = "not a seated test" if s.test.test == "not_a_seated_test" else "not tested"
            table.add_row(side, label, "", "", "", f"rest {_fmt(s.rest_deg)}")
            if s.test.reason:
                reasons.append(f"{side} {label}: {s.test.reason}")
            continue
        if s.quality.withheld:
            table.add_row(side, "withheld", "", "", "", f"{s.quality.level} ({s.quality.score:.2f})")
            reasons.append(f"{side} withheld: {'; '.join(s.quality.blocking)}")
            continue
        table.add_row(side, _held(s.peak_ir_deg, s.peak_ir_uncertainty_deg),
                      _held(s.peak_er_deg, s.peak_er_uncertainty_deg), _fmt(s.total_arc_deg),
                      str(s.n_reps), f"{s.quality.level} ({s.quality.score:.2f})")
    console.print(table)
    console.print(f"[dim]{HELD_NOTE if video else PHOTO_NOTE}[/]")
    for line in reasons:
        console.print(escape(line))
    d = result.to_dict()
    if d["left_right"]["ir_difference_deg"] is not None:
        console.print(f"Left–right IR difference: {d['left_right']['ir_difference_deg']:.1f}° "
                      f"({d['left_right']['larger_ir_side']} larger)")
    test = result.test
    facts = [f"test date {test.date.replace('T', ' ')}" + (" (clip)" if test.date_source == "clip" else "")
             if test.date else "test date not recorded", f"position {test.position}"]
    facts += [f"examiner {test.examiner}"] if test.examiner else []
    facts += [f"pain {test.pain}"] if test.pain else []
    console.print(escape("Test: " + ", ".join(facts) + (f"; notes: {test.notes}" if test.notes else "")))
    cam = d["camera"]
    console.print(f"Camera roll {round(cam['roll_deg'], 1) + 0.0:+.1f}° corrected (from {cam['roll_source']})"
                  if cam["roll_deg"] is not None else "Camera roll unknown")
    person = d.get("person") or {}
    if person.get("n_tracks", 0) > 1:
        console.print(f"Person: {escape(person.get('reason', ''))}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if comparison is not None:
        print_comparison(console, comparison, report_written=report_path is not None and report_path.is_file())
    if out_dir is not None:
        console.print(f"Results in [bold]{escape(str(out_dir))}[/]", soft_wrap=True)


def print_comparison(console: Console, comparison: "NormComparison", *, report_written: bool = False) -> None:
    """Norm sentences per measure and side, notes, screening flags (raised / possible / none
    raised) and the numbered sources with DOIs."""
    for m in (comparison.ir, comparison.er):
        for side in SIDES:
            s = m.sides[side]
            if s is not None:
                console.print(f"Norms ({m.measure.upper()}): {escape(s['text'])}")  # wrapped between words
    for note in comparison.notes:
        console.print(f"[dim]{escape(note)}[/]")
    details = " (details in the report)" if report_written else ""
    shown = comparison.shown_flags
    for flag in shown:
        colour = "red" if flag["status"] == "raised" else "yellow"
        where = "both sides" if flag["side"] == "both" else f"{flag['side']} hip"
        console.print(f"[{colour}]screening flag {flag['status']}:[/] {where} — {escape(flag['label'])} "
                      f"({flag['value_deg']:.1f}°); not a diagnosis{details}")
    if comparison.flags and not shown:
        checked = ", ".join(dict.fromkeys(f["label"] for f in comparison.flags))
        console.print(f"Screening flags: none raised (checked: {escape(checked)}).")
    console.print("Sources:")
    for i, src in enumerate(comparison.sources(brief=True), 1):
        console.print(f"  {i}. {escape(src.text)}")
