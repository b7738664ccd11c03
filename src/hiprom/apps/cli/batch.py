"""``hiprom batch``: score a folder of clips or a manifest into one table, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from hiprom.apps.cli.common import (
    DASH_NOTE,
    Reference,
    Variant,
    app,
    err_console,
    in_range,
    model_overrides,
    run_guarded,
)


@app.command(epilog=DASH_NOTE)
def batch(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="A folder (searched recursively for videos and photos) or a manifest "
                                           "CSV with columns path,subject_id,age,sex,side,date,notes."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: clips/<name>/ per input, summary.csv, "
                                                      "summary.parquet, cohort.png."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", callback=in_range(1, 256, integer=True),
                                          help="Worker processes, 1-256 (default: the cores available)."),
    force: bool = typer.Option(False, "--force", "-f", help="Redo clips that are already done."),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS",
                                       help="Run on a Dask cluster (scheduler address, e.g. tcp://host:8786)."),
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML config file."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file."),
    model_variant: Optional[Variant] = typer.Option(None, "--model-variant",
                                                    help="Model to download if none is found (default: full)."),
    reference: Optional[Reference] = typer.Option(None, "--reference",
                                                  help="Angles from the vertical or from rest (default: vertical)."),
    max_people: Optional[int] = typer.Option(None, "--max-people", callback=in_range(1, 5, integer=True),
                                             help="People to look for while choosing the subject, 1-5 (default: 2)."),
    mirrored: Optional[bool] = typer.Option(None, "--mirrored/--no-mirrored",
                                            help="All clips are mirrored (selfie camera)."),
    no_plot: bool = typer.Option(False, "--no-plot", help="No angles.png per clip."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, only errors."),
) -> None:
    """Score many clips: one output folder each plus a summary table and a cohort figure.

    Clips already done with the same input content and settings are skipped, so an
    interrupted batch continues where it stopped. Exit codes: 0 all clips measured,
    3 some clips failed (see the error column of summary.csv), 2 usage or manifest error
    (nothing was run), 1 model or input folder problem.
    """
    overrides = model_overrides(model, model_variant, reference, max_people, mirrored)
    run_guarded(_batch, input_path, out, workers, force, dask, config_file, overrides, not no_plot, quiet)


class _Reporter:
    """A progress bar over clips (ETA, failures so far) on a terminal; one line per clip otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.live = err_console.is_terminal and not quiet
        self.progress = None
        self.total = self.n = self.failed = 0

    def start(self, todo: int, skipped: int) -> None:
        self.total = todo
        if self.quiet:
            return
        err_console.print(f"{todo} clip(s) to analyse, {skipped} already done (skipped).")
        if self.live and todo:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(TextColumn("clips"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
                                     TextColumn("ETA"), TimeRemainingColumn(), console=err_console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("clips", total=todo, failed=0)

    def note(self, path: Path, reason: str) -> None:
        """A file passed over while searching the input folder (a FIFO, a socket...)."""
        from rich.markup import escape

        if not self.quiet:
            err_console.print(f"note: {escape(str(path))} {escape(reason)}", soft_wrap=True)

    def done(self, outcome: Any) -> None:
        from rich.markup import escape

        self.n += 1
        self.failed += outcome.status == "failed"
        if self.progress is not None:
            self.progress.update(self.task, advance=1, failed=self.failed)
        if outcome.status == "failed" and not self.quiet:
            first = (outcome.error or "").splitlines()[0]
            err_console.print(f"[red]failed[/] {escape(outcome.rel)}: {escape(first)}", soft_wrap=True)
        elif not self.live and not self.quiet:
            err_console.print(f"[{self.n}/{self.total}] ok {escape(outcome.rel)} ({outcome.elapsed_s:.1f} s)",
                              soft_wrap=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _batch(input_path: Path, out: Path, workers: Optional[int], force: bool, dask: Optional[str],
           config_file: Optional[Path], overrides: dict, plot: bool, quiet: bool) -> None:
    from rich.markup import escape

    from hiprom.apps.batch.run import run_batch
    from hiprom.config import Config
    from hiprom.io.paths import check_can_create

    config = Config.from_toml(config_file).with_overrides(overrides)
    check_can_create(out)
    reporter = _Reporter(quiet)
    try:
        report = run_batch(input_path, out, config, workers=workers, force=force, plot=plot, dask=dask,
                           reporter=reporter)
    except KeyboardInterrupt:
        reporter.close()
        err_console.print(f"interrupted: the clips already finished are kept in {escape(str(out))}; run the same "
                          "command again to finish the rest.", soft_wrap=True)
        raise typer.Exit(130) from None
    finally:
        reporter.close()
    failed = report.failed_in_table
    if not quiet:
        err_console.print(f"{len(report.items)} clip(s): {report.count('ok')} analysed, {report.count('skipped')} "
                          f"skipped (already done), {len(failed)} failed. Table: "
                          f"{escape(str(report.files.get('csv')))}", soft_wrap=True)
    if failed:
        if not quiet:
            err_console.print("failed (see the error column of summary.csv): "
                              + ", ".join(escape(f) for f in failed[:10])
                              + (f" and {len(failed) - 10} more" if len(failed) > 10 else ""), soft_wrap=True)
        raise typer.Exit(report.exit_code)
