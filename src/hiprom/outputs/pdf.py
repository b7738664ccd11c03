"""The report as a PDF (A4), for the patient file and for sharing: the HTML report printed by Chromium.

>>> html_to_pdf("clip_hiprom/report.html", "clip_hiprom/report.pdf")   # doctest: +SKIP

The PDF has the HTML report's content: the report's print styles (``data/report.css``) set A4
pages and start each part (norms and flags, figures and key frames, drills and sources) on
a new page. Chromium runs headless on the local file with a throw-away profile and no
network (the report itself allows no requests); the PDF is written under a temporary name
and renamed into place (:func:`hiprom.io.atomic.atomic_path`). Chromium is found as
``$HIPROM_CHROMIUM``, else ``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH;
without it :func:`html_to_pdf` raises a :class:`~hiprom.errors.UsageError` saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hiprom.errors import OutputExistsError, UsageError
from hiprom.io.atomic import atomic_path

__all__ = ["find_chromium", "require_chromium", "html_to_pdf", "CHROMIUM_NAMES"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT_S = 180


def find_chromium() -> str | None:
    """The Chromium (or Chrome) to print with, or None."""
    given = os.environ.get("HIPROM_CHROMIUM")
    if given:
        return given if Path(given).is_file() else shutil.which(given)
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def require_chromium() -> str:
    """:func:`find_chromium`, or a :class:`UsageError` (exit 2) saying how to get it."""
    exe = find_chromium()
    if exe is None:
        where = f" (HIPROM_CHROMIUM={os.environ['HIPROM_CHROMIUM']!r} was not found)" \
            if os.environ.get("HIPROM_CHROMIUM") else ""
        raise UsageError(f"a PDF is printed by Chromium, which is not installed here{where}",
                         fix="install it (Debian/Ubuntu: sudo apt-get install chromium; macOS/Windows: install "
                             "Chrome) or set HIPROM_CHROMIUM to its path; or open report.html and print it.")
    return exe


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print an HTML report to an A4 PDF at ``pdf_path`` (replaced atomically); returns it."""
    exe = require_chromium()
    html, pdf = Path(html_path).resolve(), Path(pdf_path)
    if pdf.exists() and pdf.is_dir():
        raise OutputExistsError("is a folder: expected a PDF file name", path=pdf,
                                fix="give a file name, e.g. report.pdf.")
    with atomic_path(pdf) as tmp, tempfile.TemporaryDirectory(prefix="hiprom-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", f"--print-to-pdf={tmp}", html.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UsageError(f"Chromium could not print the report ({exc})", path=html,
                             fix="check that Chromium starts (chromium --headless --version).") from None
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = " ".join((proc.stderr or "").strip().splitlines()[-2:])
            raise UsageError(f"Chromium did not write the PDF (exit {proc.returncode}): {tail}", path=html,
                             fix="check that Chromium starts (chromium --headless --version) and the folder "
                                 "is writable.")
    return pdf
