"""A saved analysis brought back: ``result.json`` plus the analysis rebuilt from ``landmarks.npz``.

``hiprom report`` and the history rebuild a report from an output folder: the numbers come
from ``result.json`` exactly as saved, the time series and key frames from the saved
landmarks re-measured with the saved settings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hiprom.apps.analysis import Analysis
from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.io.landmarks_npz import load_series
from hiprom.io.result_json import check_landmarks_match, read_result, result_file
from hiprom.outputs.report import write_report

__all__ = ["load_result_folder", "build_report_from_folder", "build_pdf_from_folder"]


def load_result_folder(folder: str | Path) -> tuple[dict[str, Any], Analysis | None]:
    """``result.json`` of an output folder, and the analysis rebuilt from its ``landmarks.npz``
    (``None`` without landmarks)."""
    path = result_file(folder)
    data = read_result(path)                          # validated: a hand-edited value is refused
    npz = path.parent / "landmarks.npz"
    if not npz.is_file():
        return data, None
    config = Config().with_overrides(data.get("config") or {}, origin=str(path))
    series = load_series(npz)
    check_landmarks_match(data, series, npz)          # a landmarks.npz of another clip is refused
    result = analyze_landmarks(series, config)
    result = dataclasses.replace(result, source=data.get("input", result.source),
                                 model=data.get("model", result.model),
                                 created_utc=data.get("created_utc", result.created_utc))
    return data, result


def build_report_from_folder(folder: str | Path, out_path: str | Path | None = None, **kwargs: Any) -> Path:
    """Rebuild the report of an output folder (``result.json`` + ``landmarks.npz``) as
    ``<folder>/report.html`` (or ``out_path``); keyword arguments go to
    :func:`hiprom.outputs.report.write_report`."""
    folder = Path(folder)
    base = folder if folder.is_dir() else folder.parent
    data, result = load_result_folder(folder)
    return write_report(result, out_path or base / "report.html", data=data, folder=base, **kwargs)


def build_pdf_from_folder(folder: str | Path, out_path: str | Path | None = None, **kwargs: Any) -> Path:
    """The report of an output folder as an A4 PDF, ``<folder>/report.pdf`` (or ``out_path``):
    the same content as :func:`build_report_from_folder` (keyword arguments go there), printed
    by Chromium (:func:`hiprom.outputs.pdf.html_to_pdf`; a :class:`~hiprom.errors.UsageError`
    says how to install it when missing). Nothing but the PDF is written."""
    import tempfile

    from hiprom.outputs.pdf import html_to_pdf, require_chromium

    require_chromium()                                  # before any work
    folder = Path(folder)
    base = folder if folder.is_dir() else folder.parent
    with tempfile.TemporaryDirectory(prefix="hiprom-report-") as tmp:
        html = build_report_from_folder(folder, Path(tmp) / "report.html", **kwargs)
        return html_to_pdf(html, out_path or base / "report.pdf")
