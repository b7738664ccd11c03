"""The video writer behind annotated.mp4: H.264 4:2:0 that Chromium plays, frame rate and frames kept."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from helpers.browser import chromium

from hiprom.io.video_writer import VideoWriter, h264_encoder


def stripes(n: int, w: int, h: int):
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, (7 * i) % w:(7 * i) % w + 9] = (255, 40, 40)
        yield img


def test_h264_at_the_source_rate_with_every_frame(tmp_path: Path) -> None:
    assert h264_encoder() in ("libx264", "libopenh264", "h264")       # PyAV's wheel ships one
    out = tmp_path / "v.mp4"
    with VideoWriter(out, fps=29.97, size=(320, 240)) as w:
        for img in stripes(45, 320, 240):
            w.write(img)
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert (s.width, s.height) == (320, 240) and s.average_rate == Fraction(30000, 1001)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
    assert len(frames) == 45
    first = next(stripes(1, 320, 240))
    assert np.abs(frames[0].astype(int) - first).mean() < 3                 # the same picture back
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")                        # index first: faststart


def test_an_odd_size_repeats_the_last_row_and_column(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, fps=25, size=(161, 121)) as w:
        for img in stripes(5, 161, 121):
            w.write(img)
        with pytest.raises(ValueError, match="expected a 161×121 frame, got 160×120"):
            w.write(np.zeros((120, 160, 3), np.uint8))
    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (162, 122)


def test_chromium_plays_it(tmp_path: Path) -> None:
    exe = chromium()
    with VideoWriter(tmp_path / "v.mp4", fps=30, size=(320, 240)) as w:
        for img in stripes(30, 320, 240):
            w.write(img)
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><body><video id=v muted src='v.mp4'></video><script>"
                    "const v=document.getElementById('v');const say=t=>document.body.setAttribute('data-r',t);"
                    "v.addEventListener('loadeddata',()=>say('played '+v.videoWidth+'x'+v.videoHeight));"
                    "v.addEventListener('error',()=>say('error '+v.error.message));</script></body></html>",
                    encoding="utf-8")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=5000", "--disable-background-networking", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=180)
    assert 'data-r="played 320x240"' in proc.stdout, proc.stdout[-500:] + proc.stderr[-1500:]
