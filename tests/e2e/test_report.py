"""The HTML report of a real analysis of the bundled sample (key frames from the video), and
the report rendered by a real browser (headless Chromium; a failure in CI when it is missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLES
from helpers.report_html import assert_self_contained, data_uris
from helpers.synthetic_subject import RIGHT, series_from_body

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.apps.saved import build_report_from_folder
from hiprom.config import Config
from hiprom.interpret.norms import compare
from hiprom.outputs.report import read_result_json

SAMPLE = SAMPLES / "seated_ir_right.mp4"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The synthetic result of tests/unit/outputs/test_report.py, saved (right IR 38° / ER 26°)."""
    return analyze_landmarks(series_from_body(RIGHT), Config()).save(tmp_path_factory.mktemp("syn") / "clip_hiprom")


@pytest.fixture(scope="module")
def sample_folder(landmarks, tmp_path_factory) -> Path:
    """A real analysis of the bundled sample (the run's cached one), saved once."""
    res = landmarks.analyze(SAMPLE)
    return res.save(tmp_path_factory.mktemp("sample") / "seated_ir_right_hiprom")


def test_report_of_the_sample_has_a_key_frame(sample_folder: Path) -> None:
    html = build_report_from_folder(sample_folder, video_path=SAMPLE, blur_faces=True).read_text(encoding="utf-8")
    assert_self_contained(html)
    saved = json.loads((sample_folder / "result.json").read_text(encoding="utf-8"))
    assert f"{saved['sides']['right']['peak_ir_deg']:.1f}°" in html
    import cv2

    jpegs = data_uris(html, "jpeg")
    held = [k for k in ("ir", "er") if saved["sides"]["right"][f"peak_{k}_frame"] is not None]
    assert len(jpegs) == len(held) >= 1                                       # right side only, IR and ER
    img = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and max(img.shape[:2]) >= 720 and img.std() > 20


# -- a real browser -----------------------------------------------------------------------
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium not found on PATH (CI=true: install it, see .ci/run)", pytrace=False)
        pytest.skip("chromium not found on PATH (apt-get install chromium)")
    return exe


def render(report: Path, png: Path, tmp_path: Path) -> np.ndarray:
    import cv2

    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", f"--screenshot={png}", "--window-size=1200,3000",
           report.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert png.is_file(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    img = cv2.imread(str(png))
    assert img is not None, "the screenshot does not decode"
    return img


@pytest.mark.parametrize("which", ["synthetic", "sample"])
def test_chromium_renders_the_report(which: str, request, tmp_path: Path) -> None:
    chromium()
    src = request.getfixturevalue("folder" if which == "synthetic" else "sample_folder")
    kwargs = {"video_path": SAMPLE} if which == "sample" else {}
    report = build_report_from_folder(src, tmp_path / "report.html",
                                      comparison=compare(read_result_json(src), age=35), **kwargs)
    img = render(report, tmp_path / "report.png", tmp_path)
    assert img.shape == (3000, 1200, 3)
    assert img.std() > 20                                                     # not a blank page
    title = img[20:80, 60:700]
    assert (title.max(axis=2) < 60).sum() > 1000                               # the dark heading text is there
    plot_band = img[1000:3000]
    greens = (plot_band[..., 1].astype(int) - plot_band[..., 2] > 15) & (plot_band[..., 1] > 180)
    assert greens.sum() > 500                                                 # the shaded norm band in the figures
    keep = os.environ.get("HIPROM_REPORT_PNG_DIR")          # set it to look at the screenshots yourself
    if keep:
        shutil.copy(tmp_path / "report.png", Path(keep) / f"report_{which}.png")
