"""``hiprom analyze``: measure one clip, photo or folder of photos."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from hiprom.apps.cli.common import (
    DASH_NOTE,
    Reference,
    Variant,
    age_option,
    app,
    err_console,
    in_range,
    model_overrides,
    run_guarded,
    sex_option,
    sport_option,
    subject_option,
    test_options,
)

_TEST = test_options()


def _roll_callback(ctx: typer.Context, param: Any, text: Optional[str]) -> Any:
    """``--roll``: 'auto' or degrees in [-45, 45] (the range check every numeric option uses)."""
    if text is None or text == "auto" or ctx.resilient_parsing:
        return text
    try:
        value = float(text)
    except ValueError:
        value = text                                  # the range check names it
    return in_range(-45, 45, unit="°", fix="give --roll as 'auto' or a number of degrees from -45 to 45.")(
        ctx, param, value)


@app.command(epilog=DASH_NOTE)
def analyze(
    input_path: Path = typer.Argument(..., metavar="INPUT",
                                      help="A seated-test video, a photo, or a folder of photos "
                                           "(or a landmarks.npz with --from-landmarks). A name that starts "
                                           "with '-' goes last, after '--': hiprom analyze --quiet -- -clip.mp4"),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Output folder (default: beside INPUT, <name>_hiprom)."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing output folder."),
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="A TOML config file."),
    model: Optional[Path] = typer.Option(None, "--model", help="Pose model .task file."),
    model_variant: Optional[Variant] = typer.Option(None, "--model-variant",
                                                    help="Model to download if none is found (default: full)."),
    reference: Optional[Reference] = typer.Option(None, "--reference",
                                                  help="Angles from the vertical (goniometer) or from the "
                                                       "leg's own rest position (default: vertical)."),
    roll: Optional[str] = typer.Option(None, "--roll", callback=_roll_callback,
                                       help="Camera roll in degrees (-45 to 45), or 'auto' (default: auto)."),
    cutoff_hz: Optional[float] = typer.Option(None, "--cutoff-hz",
                                              callback=in_range(0, 100, unit=" Hz", lo_open=True,
                                                                or_zero="automatic"),
                                              help="Low-pass cutoff in Hz (0 = auto, 3 Hz)."),
    max_people: Optional[int] = typer.Option(None, "--max-people", callback=in_range(1, 5, integer=True),
                                             help="People to look for while choosing the subject, 1-5 (default: 2)."),
    mirrored: Optional[bool] = typer.Option(None, "--mirrored/--no-mirrored",
                                            help="The video is mirrored (selfie camera)."),
    from_landmarks: bool = typer.Option(False, "--from-landmarks",
                                        help="INPUT is a saved landmarks.npz: re-run the analysis without the model."),
    json_out: bool = typer.Option(False, "--json", help="Print result.json to stdout (for scripts)."),
    no_plot: bool = typer.Option(False, "--no-plot", help="Do not draw angles.png."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    report: bool = typer.Option(False, "--report",
                                help="Also write report.html: norms, flags, plots, key frames, drills."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (A4; implies --report; printed by "
                                                  "Chromium, which must be installed)."),
    age: Optional[float] = age_option(),
    sex: Optional[str] = sex_option(),
    sport: Optional[str] = sport_option(),
    annotate: bool = typer.Option(False, "--annotate",
                                  help="Also write annotated.mp4: leg skeleton, shank lines, live angle, peaks."),
    blur_faces: bool = typer.Option(False, "--blur-faces",
                                    help="Blur the head in every image and video written (report, annotated.mp4)."),
    subject: Optional[str] = subject_option(),
    history_db: Optional[Path] = typer.Option(None, "--history-db",
                                              help="History database (default: user data folder, or HIPROM_HISTORY)."),
    test_date: Optional[str] = _TEST["test_date"],
    examiner: Optional[str] = _TEST["examiner"],
    notes: Optional[str] = _TEST["notes"],
    pain: Optional[str] = _TEST["pain"],
    position: str = _TEST["position"],
) -> None:
    """Measure hip rotation per side in a seated-test clip and write its output folder."""
    overrides = {**model_overrides(model, model_variant, reference, max_people, mirrored),
                 "geometry.roll_deg": roll, "signal.cutoff_hz": cutoff_hz}
    test = {"date": test_date, "examiner": examiner, "notes": notes, "pain": pain, "position": position}
    extra = Extras(report or pdf, age, sex, sport, annotate, blur_faces, subject, history_db, test, pdf)
    run_guarded(_analyze, input_path, out, force, config_file, overrides, from_landmarks,
                json_out, not no_plot, quiet, extra)


@dataclass(frozen=True)
class Extras:
    """What ``analyze`` does beyond the measurement (issue: norms, report, video, history)."""

    report: bool = False
    age: Optional[float] = None
    sex: Optional[str] = None
    sport: Optional[str] = None
    annotate: bool = False
    blur_faces: bool = False
    subject: Optional[str] = None
    history_db: Optional[Path] = None
    #: ``--test-date``, ``--examiner``, ``--notes``, ``--pain``, ``--position`` (None: not given).
    test: Optional[dict] = None
    pdf: bool = False

    @property
    def compares(self) -> bool:
        return self.report or any(v is not None for v in (self.age, self.sex, self.sport))

    def writers(self, result, input_path: Path, comparison) -> list:
        """Callables that add report.html / annotated.mp4 to the (temporary) output folder."""
        out = []
        if self.report:
            from hiprom.outputs.report import write_report

            out.append(lambda folder: write_report(result, folder / "report.html", comparison=comparison,
                                                   video_path=input_path, blur_faces=self.blur_faces))
        if self.pdf:
            from hiprom.outputs.pdf import html_to_pdf

            out.append(lambda folder: html_to_pdf(folder / "report.html", folder / "report.pdf"))
        if self.annotate:
            from hiprom.outputs.annotate import write_annotated_video

            out.append(lambda folder: write_annotated_video(result, input_path, folder / "annotated.mp4",
                                                            blur_faces=self.blur_faces))
        return out


def _analyze(input_path: Path, out: Optional[Path], force: bool, config_file: Optional[Path],
             overrides: dict, from_landmarks: bool, json_out: bool, plot: bool, quiet: bool,
             extra: Extras | None = None) -> None:
    from hiprom.config import Config
    from hiprom.errors import InputError
    from hiprom.io.paths import check_can_create, check_input_path
    from hiprom.outputs.folder import check_output_dir, default_output_dir

    # Everything the user gave is judged before any work (and before any folder is made).
    extra = extra or Extras()
    config = Config.from_toml(config_file).with_overrides(overrides)
    check_input_path(input_path, expected="a landmarks.npz" if from_landmarks else
                     "a video file, a photo or a folder of photos")
    if from_landmarks:
        out_dir = out or input_path.parent / f"{input_path.stem}_reanalysed_hiprom"
    else:
        out_dir = out or default_output_dir(input_path)
    check_output_dir(out_dir, force=force, input_path=input_path)
    check_can_create(out_dir)
    if extra.annotate and (from_landmarks or not input_path.is_file()):
        raise InputError("--annotate needs the video itself", path=input_path,
                         fix="run --annotate on the clip, not on a landmarks file or a folder of photos.")
    if extra.pdf:
        from hiprom.outputs.pdf import require_chromium

        require_chromium()
    if extra.compares:
        from hiprom.interpret.norms import compare

        compare({"sides": {}}, age=extra.age, sex=extra.sex, sport=extra.sport)  # bad --age/--sex/--sport
    if extra.subject is not None:
        from hiprom.outputs.history import default_history_path

        check_can_create(default_history_path(extra.history_db), option="--history-db")
    show = not quiet and not json_out
    if from_landmarks:
        from hiprom.apps.pipeline import analyze_landmarks
        from hiprom.io.landmarks_npz import load_series

        result = analyze_landmarks(load_series(input_path), config)
    else:
        from hiprom.apps.cli.terminal import FrameProgress
        from hiprom.apps.pipeline import analyze as run
        from hiprom.apps.pipeline import load_model
        from hiprom.io.frames import open_source

        with open_source(input_path):  # a bad input fails now, before a model download
            pass
        model_info = load_model(config, progress=not quiet)
        with FrameProgress(err_console, enabled=not quiet, label=input_path.name) as progress:
            result = run(input_path, config, model=model_info, progress=progress.update)
    if extra.test:
        result = result.with_test(**extra.test)
    comparison = None
    if extra.compares:
        from hiprom.interpret.norms import compare

        comparison = compare(result, age=extra.age, sex=extra.sex, sport=extra.sport)
        result = result.with_subject(id=extra.subject, age=extra.age, sex=extra.sex, sport=extra.sport)
        result = result.with_norms(comparison.to_dict())
    elif extra.subject is not None:
        result = result.with_subject(id=extra.subject)
    video = input_path if not from_landmarks else None
    from hiprom.outputs.folder import write_outputs

    written = write_outputs(result, out_dir, force=force, plot=plot, input_path=input_path,
                            extras=extra.writers(result, video, comparison))
    if extra.subject is not None:
        from hiprom.outputs.history import History

        with History(extra.history_db) as history:
            stored = history.add(result, extra.subject, result_dir=written)
        if show:
            err_console.print(f"History: {'stored' if stored else 'already stored (same clip)'} "
                              f"for subject {extra.subject!r} ({history.path})", markup=False)
    if json_out:
        sys.stdout.write(result.to_json() + "\n")
    elif show:
        from hiprom.apps.cli.terminal import print_summary

        print_summary(Console(highlight=False), result, written, comparison=comparison,
                      report_path=written / "report.html" if extra.report else None)
