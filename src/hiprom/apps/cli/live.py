"""``hiprom live``: measure from a webcam (or a stream, or a file played like one) in real time."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hiprom.apps.cli.common import app, err_console, in_range, run_guarded


@app.command()
def live(
    camera: int = typer.Option(0, "--camera", callback=in_range(0, 99, integer=True),
                               help="Camera number (0 = the first webcam)."),
    source: Optional[str] = typer.Option(None, "--source",
                                         help="A video file or a stream URL instead of the camera."),
    realtime: bool = typer.Option(False, "--realtime",
                                  help="Play --source at its own frame rate like a camera, dropping "
                                       "frames when behind (default: process every frame)."),
    headless: bool = typer.Option(False, "--headless",
                                  help="No window: print a reading every 0.5 s; Ctrl-C saves and quits."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Output folder (default: <clip>_live_hiprom beside a file, "
                                            "hiprom_live_<date-time> for a camera)."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing output folder."),
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML config file."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file."),
    duration: Optional[float] = typer.Option(None, "--duration",
                                             callback=in_range(0, 86400, unit=" s", lo_open=True),
                                             help="Stop (and save) after this many seconds."),
    max_side: int = typer.Option(640, "--max-side", callback=in_range(160, 8192, integer=True, or_zero="full size"),
                                 help="Shrink frames to this long side before the pose model (speed); "
                                      "0 = full size."),
    max_people: int = typer.Option(1, "--max-people", callback=in_range(1, 5, integer=True),
                                   help="People the pose model looks for per frame. 1 keeps live mode fast; "
                                        "2 (as analyze) tells an examiner in the picture apart, about 40 % "
                                        "slower."),
    mirror: Optional[bool] = typer.Option(None, "--mirror-view/--no-mirror-view",
                                          help="Show the picture mirrored, as a mirror, for the person facing it "
                                               "(default: for a camera). Only the view: sides and signs stay "
                                               "anatomical (unlike analyze --mirrored, which says the input "
                                               "itself is mirrored)."),
) -> None:
    """Measure live: keys space start/stop, n neutral, r reset, s save, q quit (saves)."""
    overrides = {"model.path": str(model) if model else None}
    run_guarded(_live, camera, source, realtime, headless, out, force, config_file, overrides, duration,
                max_side, mirror, max_people)


def _live(camera: int, source: Optional[str], realtime: bool, headless: bool, out: Optional[Path],
          force: bool, config_file: Optional[Path], overrides: dict, duration: Optional[float],
          max_side: int, mirror: Optional[bool], max_people: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    from hiprom.apps.cli.terminal import print_summary
    from hiprom.apps.live.session import LiveOptions, run_live
    from hiprom.config import Config
    from hiprom.errors import AnalysisError

    config = Config.from_toml(config_file).with_overrides(overrides)
    if out is not None:
        from hiprom.io.paths import check_can_create

        check_can_create(out)
    options = LiveOptions(camera=camera, source=source, realtime=realtime, headless=headless, out=out,
                          force=force, duration_s=duration, max_side_px=max_side, mirror=mirror,
                          max_people=max_people)
    console = Console(highlight=False)

    def notify(message: str) -> None:
        err_console.print(escape(message), soft_wrap=True)

    report = run_live(options, config, emit=lambda line: console.print(escape(line), soft_wrap=True),
                      notify=notify)
    if report.ended:
        err_console.print(f"Session ended: {escape(report.ended)}", soft_wrap=True)
    err_console.print(escape(report.stats.summary()), soft_wrap=True)
    for result, folder in zip(report.results, report.saved):
        print_summary(console, result, folder)
    if report.source_error is not None:     # the same error (and exit code) as hiprom analyze gives
        raise report.source_error
    if report.errors:
        raise AnalysisError(f"{len(report.errors)} measurement(s) could not be analysed: "
                            + "; ".join(report.errors), path=out,
                            fix="record a second of both legs hanging still first, then the rotations, "
                                "with the whole body in the picture.")
