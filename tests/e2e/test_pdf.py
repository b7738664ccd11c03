"""The report as a PDF: A4 pages, one part per page, the HTML's content; its pages rendered with pdftoppm."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.browser import chromium, pdftoppm
from helpers.synthetic_subject import RIGHT, series_from_body

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.apps.saved import build_pdf_from_folder
from hiprom.config import Config
from hiprom.errors import UsageError
from hiprom.outputs.pdf import html_to_pdf

A4_MM = (210.0, 297.0)
DPI = 50


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A synthetic analysis (right IR 38° / ER 26°, left not tested), saved."""
    return analyze_landmarks(series_from_body(RIGHT), Config()).save(tmp_path_factory.mktemp("syn") / "clip_hiprom")


def pages(pdf: Path, tmp_path: Path) -> list[np.ndarray]:
    subprocess.run([pdftoppm(), "-r", str(DPI), "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    files = sorted(tmp_path.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    keep = os.environ.get("HIPROM_REPORT_PNG_DIR")          # set it to look at the pages yourself
    if keep:
        for f in files:
            shutil.copy(f, Path(keep) / f"pdf_{f.name}")
    return [cv2.imread(str(f)) for f in files]


def test_the_pdf_has_a4_pages_each_part_on_its_own(folder: Path, tmp_path: Path) -> None:
    chromium()
    pdf = build_pdf_from_folder(folder, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-") and sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
    imgs = pages(pdf, tmp_path)
    # the test and results; norms; flags; figures; key frames; drills and sources (some parts run over)
    assert 4 <= len(imgs) <= 8
    w_px, h_px = (round(mm / 25.4 * DPI) for mm in A4_MM)
    for img in imgs:
        assert abs(img.shape[1] - w_px) <= 1 and abs(img.shape[0] - h_px) <= 1      # A4 portrait
        ink = (img.max(axis=2) < 120).mean()
        assert ink > 0.002, "a blank page"                                             # text on every page
    first = imgs[0]
    assert (first[: h_px // 6].max(axis=2) < 60).mean() > 0.01                          # the title at the top
    red = lambda im: ((im[..., 2].astype(int) - im[..., 0] > 80) & (im[..., 2] > 150)).sum()
    assert sum(red(im) > 200 for im in imgs) >= 1                                      # the right side's figures


def test_report_pdf_cli_and_a_missing_chromium(folder: Path, tmp_path: Path) -> None:
    chromium()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = tmp_path / "r.html"
    cmd = [sys.executable, "-m", "hiprom", "report", str(folder), "--out", str(out), "--pdf"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    proc = subprocess.run(cmd + ["--force"], env={**env, "HIPROM_CHROMIUM": str(tmp_path / "no-chromium")},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "a PDF is printed by Chromium, which is not installed here" in proc.stderr
    assert "sudo apt-get install chromium" in proc.stderr


def test_html_to_pdf_without_chromium_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HIPROM_CHROMIUM", str(tmp_path / "nope"))
    (tmp_path / "r.html").write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(UsageError, match="not installed here") as err:
        html_to_pdf(tmp_path / "r.html", tmp_path / "r.pdf")
    assert err.value.exit_code == 2 and "HIPROM_CHROMIUM" in err.value.fix
    assert not (tmp_path / "r.pdf").exists()
