"""``hiprom serve`` in a real browser: the page a clinic uses, driven in headless Chromium.

Starts ``python -m hiprom serve`` on a free 127.0.0.1 port, opens the new-test page in Debian's
chromium (Playwright with ``executable_path``: no browser download), fills the form, drops the
bundled sample, waits for the result and checks the displayed peak IR against the sample's
truth (38° right, ``samples/gt.json``) within 1°, on the upload page and on the result page;
then a text file is refused with the CLI's message. Every request the page makes stays on
the server. The screenshots go to ``$HIPROM_SCREENSHOTS`` when set (the README's picture).
Needs the pose model and chromium: skipped outside CI when missing, failed in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import _missing
from helpers import REPO
from helpers.serve_util import CHROMIUM_FLAGS, SAMPLE, ServerProcess, chromium_path

pytestmark = pytest.mark.model

TRUTH_RIGHT_IR_DEG = json.loads((REPO / "samples" / "gt.json").read_text())["clips"]["seated_ir_right"][
    "summary"]["right"]["peak_ir_deg"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    exe = chromium_path()
    if exe is None:
        _missing("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def _value_deg(text: str) -> float:
    m = re.search(r"(-?\d+(?:\.\d+)?)°", text)
    assert m, f"no angle in {text!r}"
    return float(m.group(1))


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    keep = os.environ.get("HIPROM_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def test_a_clinic_measures_the_sample_in_the_browser(browser, shared_model_path: Path, tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", shared_model_path, "--workers", "1") as server:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:"))
                else outside.append(r.url))
        page.goto(server.url + "new")
        page.fill("input[name=subject_id]", "P-017")
        page.fill("input[name=age]", "34")
        page.select_option("select[name=sex]", "female")
        page.fill("input[name=sport]", "running")
        page.fill("input[name=test_date]", "2026-03-02")
        page.fill("input[name=examiner]", "A. Physio")
        page.set_input_files("#files", str(SAMPLE))
        t0 = time.monotonic()
        page.click("#send")
        page.wait_for_selector(".clip.done, .clip.failed", timeout=600_000)
        upload_to_result_s = time.monotonic() - t0
        assert page.locator(".clip.failed").count() == 0, page.inner_text("#uploads")
        shown = _value_deg(page.inner_text(".clip-result p.ir[data-side=right] .value"))
        print(f"\nupload to result: {upload_to_result_s:.1f} s; right IR shown {shown:.1f}° "
              f"(truth {TRUTH_RIGHT_IR_DEG:g}°)")
        assert abs(shown - TRUTH_RIGHT_IR_DEG) <= 1.0
        _shot(page, tmp_path, "serve-new-test.png")

        page.click("a.open-result")
        page.wait_for_selector("td[data-side=right][data-kind=ir]")
        on_result_page = _value_deg(page.inner_text("td[data-side=right][data-kind=ir]"))
        assert abs(on_result_page - TRUTH_RIGHT_IR_DEG) <= 1.0
        report = page.frame_locator("iframe.report")
        assert "Hip rotation report" in report.locator("h1").inner_text()
        links = page.locator("ul.downloads a").all_inner_texts()
        assert {"Report (HTML)", "Result (JSON)", "Angles (CSV)", "Landmarks (NPZ)"} <= set(links)
        _shot(page, tmp_path, "serve-result.png")

        page.goto(server.url + "subjects/P-017")
        assert "P-017" in page.inner_text("h1")
        assert page.locator("table tbody tr").count() == 1
        assert page.inner_text("table tbody tr td").startswith("2026-03-02")   # dated by the form's test date
        _shot(page, tmp_path, "serve-patient.png")

        text = tmp_path / "notes.mp4"
        text.write_text("patient notes, not a video\n" * 10)
        page.goto(server.url + "new")
        page.set_input_files("#files", str(text))
        page.click("#send")
        page.wait_for_selector(".clip.failed")
        assert page.inner_text(".clip.failed .clip-name") == "notes.mp4"
        refused = page.inner_text(".clip.failed .clip-result")
        assert refused.startswith("is not a video: it looks like a text file (it starts with b'patient notes")
        assert "How to fix: Pass a video (.mp4" in refused
        assert outside == []
        page.close()
    assert server.proc.returncode == 0                                    # Ctrl-C: a clean stop
    log = server.log.read_text()
    assert f"hiprom serve: open {server.url}" in log and "hiprom serve stopped" in log
    assert "Traceback" not in log
