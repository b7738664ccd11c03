"""``hiprom report``: rebuild the HTML report of a saved analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hiprom.apps.cli.common import DASH_NOTE, age_option, app, err_console, run_guarded, sex_option, sport_option


@app.command("report", epilog=DASH_NOTE)
def report(
    result_json: Path = typer.Argument(..., metavar="RESULT.json",
                                       help="A result.json written by hiprom analyze (or its output folder)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="HTML file to write (default: report.html beside RESULT.json)."),
    age: Optional[float] = age_option(" (default: the age saved in RESULT.json)"),
    sex: Optional[str] = sex_option(),
    sport: Optional[str] = sport_option(),
    video: Optional[Path] = typer.Option(None, "--video",
                                         help="The analysed clip, for the key frames "
                                              "(default: the path in result.json)."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing report file."),
    blur_faces: bool = typer.Option(False, "--blur-faces", help="Blur faces in the key frames."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write the report as an A4 PDF beside the HTML "
                                                  "(report.pdf; printed by Chromium, which must be installed)."),
) -> None:
    """Write a self-contained HTML report (norms, flags, figures, key frames) from a saved result."""
    run_guarded(_report, result_json, out, age, sex, sport, video, force, blur_faces, pdf)


def _report(result_json: Path, out: Optional[Path], age: Optional[float], sex: Optional[str],
            sport: Optional[str], video: Optional[Path], force: bool, blur_faces: bool, pdf: bool = False) -> None:
    from hiprom.apps.saved import build_report_from_folder
    from hiprom.errors import OutputExistsError
    from hiprom.interpret.norms import compare
    from hiprom.io.paths import check_can_create, check_input_path
    from hiprom.io.result_json import read_result

    check_input_path(result_json, expected="a result.json written by hiprom analyze, or its folder")
    base = result_json if result_json.is_dir() else result_json.parent
    out_path = out or base / "report.html"
    if out_path.exists() and not force:
        raise OutputExistsError("report file already exists", path=out_path,
                                fix="add --force to replace it, or choose another file with --out.")
    if out_path.exists() and out_path.is_dir():
        raise OutputExistsError("is a folder: expected an HTML file name", path=out_path,
                                fix="give a file name with --out, e.g. --out report.html.")
    check_can_create(out_path)
    pdf_path = out_path.with_suffix(".pdf")
    if pdf:
        from hiprom.outputs.pdf import require_chromium

        require_chromium()
        if pdf_path.exists() and not force:
            raise OutputExistsError("PDF report already exists", path=pdf_path,
                                    fix="add --force to replace it, or choose another name with --out.")
    data = read_result(result_json)  # a bad file fails before any work
    saved = data.get("subject") or {}                # what analyze was told, unless overridden here
    comparison = compare(data, age=saved.get("age") if age is None else age,
                         sex=saved.get("sex") if sex is None else sex,
                         sport=saved.get("sport") if sport is None else sport)
    written = build_report_from_folder(result_json, out_path, comparison=comparison, video_path=video,
                                       blur_faces=blur_faces)
    err_console.print(f"report written: {written}", soft_wrap=True, markup=False)
    if pdf:
        from hiprom.outputs.pdf import html_to_pdf

        err_console.print(f"PDF written: {html_to_pdf(written, pdf_path)}", soft_wrap=True, markup=False)
