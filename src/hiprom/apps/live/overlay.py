"""What live mode shows: the overlay drawn on each frame, the window, the headless line.

:func:`draw_overlay` returns a BGR image ready for ``cv2.imshow``: the frame (mirrored for
the person facing the camera when asked: the drawing is mirrored with it, the text is not),
the leg skeleton, each shank line against the vertical reference, the current angle per
side, the running peaks, the quality light, the prompt and the recording state. Sides and
signs are always the subject's own: mirroring changes the picture only.

:class:`Window` is the thin OpenCV HighGUI layer (no display in CI: everything else is
tested through ``--headless``, whose output is :func:`headless_line`). :class:`LiveStats`
keeps the frames shown and their capture→display latency.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Mapping

import cv2
import numpy as np

from hiprom.apps.live.protocol import SIDES, LiveReading, Peaks, Prompt  # noqa: F401 (SIDES re-exported)
from hiprom.core.landmarks import LM
from hiprom.errors import InputError
from hiprom.geometry.angles import down_vector
from hiprom.outputs.drawing import angle_text, draw_text, shank_segment_px, text_size

__all__ = ["OverlayState", "draw_overlay", "headless_line", "Window", "LiveStats", "check_display", "fmt_deg"]

_BGR = {"green": (60, 190, 60), "amber": (0, 170, 255), "red": (40, 40, 225), "white": (245, 245, 245),
        "shank": (255, 200, 0), "vertical": (200, 200, 200), "bone": (230, 230, 230), "rec": (30, 30, 230)}
_SIDE_COLOUR = {"right": (80, 120, 255), "left": (255, 160, 60)}   # subject's right warm, left cool


def fmt_deg(value: float | None, signed: bool = False, unit: str = "") -> str:
    """``38.2`` → ``"38"`` (``signed``: ``"+38"``, then ``unit``); None / NaN → ``"--"``."""
    if value is None or not math.isfinite(value):
        return "--"
    whole = int(round(value))            # no "-0" for a value just below zero
    return (f"{whole:+d}" if signed else f"{whole:d}") + unit


@dataclass(frozen=True)
class OverlayState:
    """Everything besides the frame that the overlay shows."""

    reading: LiveReading
    prompt: Prompt
    peaks: Peaks
    measuring: bool
    mirror: bool = False
    note: str = ""          # a passing message ("saved to ...", "not saved: ...")
    stats: str = ""         # fps and latency, small, bottom right
    #: The holds the protocol took: ``{(side, "ir"|"er"): mean angle over the hold}`` (ER negative).
    held: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def held_deg(self, side: str, kind: str) -> float | None:
        """The held reading (ER as a positive number), or None before that hold."""
        value = self.held.get((side, kind))
        return None if value is None else abs(value)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thick: int = 1,
          box: bool = True) -> None:
    """Text whose baseline starts at ``org`` (as ``cv2.putText`` places it), on a dark box."""
    height = 30.0 * scale
    draw_text(img, text, (org[0], org[1] - 0.8 * height), height, colour, outline=not box,
              box=(20, 20, 20) if box else None, pad_px=3 if box else 0)


def _pt(xy: np.ndarray, width: int, mirror: bool) -> tuple[int, int]:
    x, y = float(xy[0]), float(xy[1])
    return (int(round(width - 1 - x if mirror else x)), int(round(y)))


def _draw_legs(img: np.ndarray, reading: LiveReading, mirror: bool, unit: float) -> None:
    person = reading.person
    if person is None:
        return
    w = img.shape[1]
    p = person.image_px[:, :2]
    thick = max(1, int(round(2 * unit)))
    for side in SIDES:
        leg = LM.leg(side)
        chain = [p[leg["hip"]], p[leg["knee"]], p[leg["ankle"]]]
        if not np.isfinite(chain).all():
            continue
        for a, b in zip(chain[:-1], chain[1:]):
            cv2.line(img, _pt(a, w, mirror), _pt(b, w, mirror), _BGR["bone"], thick, cv2.LINE_AA)
        for q in chain:
            cv2.circle(img, _pt(q, w, mirror), thick + 2, _SIDE_COLOUR[side], -1, cv2.LINE_AA)
        knee, ankle = p[leg["knee"]], p[leg["ankle"]]
        line = shank_segment_px(person.image_px[None], person.shank, 0, side) or (knee, ankle)
        length = float(np.linalg.norm(ankle - knee))
        down = down_vector(reading.roll_deg)
        ref_end = knee + down * length
        cv2.line(img, _pt(knee, w, mirror), _pt(ref_end, w, mirror), _BGR["vertical"], max(1, thick // 2),
                 cv2.LINE_AA)
        cv2.line(img, _pt(line[0], w, mirror), _pt(line[1], w, mirror), _BGR["shank"], thick + 1, cv2.LINE_AA)
        angle = reading.angle_deg[side]
        label = f"{side[0].upper()} {angle_text(angle, 0)}"
        kx, ky = _pt(knee, w, mirror)
        _text(img, label, (kx + int(12 * unit), ky - int(10 * unit)), 0.6 * unit, _SIDE_COLOUR[side],
              max(1, int(unit + 0.5)))


def draw_overlay(rgb: np.ndarray, state: OverlayState) -> np.ndarray:
    """The frame with everything live mode shows drawn on it (BGR, for ``cv2.imshow``)."""
    img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if state.mirror:
        img = cv2.flip(img, 1)
    h, w = img.shape[:2]
    unit = max(0.5, min(w, h) / 480.0)
    _draw_legs(img, state.reading, state.mirror, unit)
    small, big = 0.5 * unit, 0.7 * unit
    y = int(28 * unit)
    for side in SIDES:
        ir, er = state.peaks.ir[side], state.peaks.er[side]
        text = (f"{side.upper():5s} {angle_text(state.reading.angle_deg[side], 0):>6s}   held IR "
                f"{fmt_deg(state.held_deg(side, 'ir'), unit='°')} ER {fmt_deg(state.held_deg(side, 'er'), unit='°')}"
                f"   max IR {fmt_deg(ir, unit='°')} ER {fmt_deg(er, unit='°')}")
        _text(img, text, (int(10 * unit), y), big, _SIDE_COLOUR[side], max(1, int(unit + 0.5)))
        y += int(30 * unit)
    q = state.reading.quality
    centre = (int(18 * unit), y + int(2 * unit))
    cv2.circle(img, centre, int(9 * unit), _BGR[q.colour], -1, cv2.LINE_AA)
    _text(img, q.text, (int(34 * unit), y + int(8 * unit)), small, _BGR["white"])
    if state.measuring:
        cv2.circle(img, (w - int(60 * unit), int(22 * unit)), int(8 * unit), _BGR["rec"], -1, cv2.LINE_AA)
        _text(img, "REC", (w - int(46 * unit), int(29 * unit)), small, _BGR["rec"], box=False)
    else:
        _text(img, "space: measure", (w - int(150 * unit), int(29 * unit)), small * 0.8, _BGR["white"])
    _text(img, state.prompt.text, (int(10 * unit), h - int(40 * unit)), small, _BGR["white"])
    if state.note:
        _text(img, state.note, (int(10 * unit), h - int(68 * unit)), small, _BGR["amber"])
    keys = "space start/stop  n neutral  r reset  s save  q quit"
    _text(img, keys, (int(10 * unit), h - int(12 * unit)), small * 0.7, _BGR["vertical"])
    if state.stats:
        tw = text_size(state.stats, int(30.0 * small * 0.7))[0]
        _text(img, state.stats, (w - tw - int(10 * unit), h - int(12 * unit)), small * 0.7, _BGR["vertical"])
    return img


def headless_line(state: OverlayState) -> str:
    """One terminal line: time, per side the angle now, the held IR/ER (the protocol's holds:
    the mean over each hold, what is saved) and the largest seen, quality, prompt."""
    r = state.reading
    sides = "  ".join(f"{s[0].upper()} {angle_text(r.angle_deg[s], 0):>6s} "
                      f"(held IR {fmt_deg(state.held_deg(s, 'ir')):>2s} ER {fmt_deg(state.held_deg(s, 'er')):>2s}; "
                      f"max IR {fmt_deg(state.peaks.ir[s]):>2s} ER {fmt_deg(state.peaks.er[s]):>2s})"
                      for s in SIDES)
    rec = "REC" if state.measuring else "   "
    return f"{r.time_s:7.2f} s {rec} {sides}  [{r.quality.colour}: {r.quality.text}]  {state.prompt.text}"


@dataclass
class LiveStats:
    """Frames shown and capture→display latency (seconds).

    ``paced`` is false when every frame of a file is processed (no ``--realtime``): frames
    then wait for their turn by design and the latency says nothing about live use.
    """

    shown_at: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    grabbed: int = 0
    dropped: int = 0
    processed: int = 0          # frames the pose model ran on (shown, or dropped after it)
    paced: bool = True

    def add(self, captured_s: float, shown_s: float) -> None:
        self.shown_at.append(shown_s)
        self.latency_s.append(shown_s - captured_s)

    @property
    def fps(self) -> float | None:
        n = len(self.shown_at)
        span = self.shown_at[-1] - self.shown_at[0] if n > 1 else 0.0
        return (n - 1) / span if span > 0 else None

    def latency_ms(self, q: float = 50) -> float | None:
        return float(np.percentile(self.latency_s, q)) * 1000 if self.latency_s else None

    def recent(self, n: int = 60) -> str:
        """fps and median latency over the last ``n`` frames, for the overlay ("" at first)."""
        if len(self.shown_at) < 2:
            return ""
        span = self.shown_at[-1] - self.shown_at[-min(n, len(self.shown_at))]
        fps = (min(n, len(self.shown_at)) - 1) / span if span > 0 else 0.0
        return f"{fps:.0f} fps {1000 * float(np.median(self.latency_s[-n:])):.0f} ms"

    @property
    def dropped_share(self) -> float:
        return self.dropped / self.grabbed if self.grabbed else 0.0

    def summary(self) -> str:
        fps, med, p95 = self.fps, self.latency_ms(50), self.latency_ms(95)
        if fps is None or med is None or p95 is None:
            return f"live: {len(self.shown_at)} frame(s) shown"
        latency = (f"capture→display latency median {med:.0f} ms, p95 {p95:.0f} ms" if self.paced else
                   "every frame processed (latency applies with --realtime or a camera)")
        return (f"live: {len(self.shown_at)} frames shown at {fps:.1f} fps; {latency}; {self.dropped} of "
                f"{self.grabbed} frames dropped ({self.dropped_share:.0%})")


def check_display() -> None:
    """Raise :class:`~hiprom.errors.InputError` when no window can be shown here.

    Checked before any window is made: on Linux without a display, Qt would abort the
    whole process instead of raising.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError("no display to show the live window on (DISPLAY is not set)",
                         fix="run hiprom live --headless (readings are printed), or start it from a "
                             "desktop session.")


class Window:
    """An OpenCV HighGUI window: :meth:`show` a frame, get the key pressed (-1 = none)."""

    def __init__(self, title: str = "hiprom live"):
        check_display()
        self.title = title
        fonts = "/usr/share/fonts/truetype/dejavu"       # Qt inside opencv-python ships no fonts
        if "QT_QPA_FONTDIR" not in os.environ and os.path.isdir(fonts):
            os.environ["QT_QPA_FONTDIR"] = fonts
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise InputError(f"this OpenCV cannot open windows ({str(exc).strip().splitlines()[-1]})",
                             fix="pip install opencv-python (not the -headless build), or use --headless.") from None
        self._shown = False

    def show(self, bgr: np.ndarray) -> int:
        """Show a frame (the first one also sizes the window: long side about 900 px)."""
        cv2.imshow(self.title, bgr)
        if not self._shown:
            h, w = bgr.shape[:2]
            k = 900 / max(h, w)
            cv2.resizeWindow(self.title, int(w * k), int(h * k))
        self._shown = True
        key = cv2.waitKey(1)
        return -1 if key < 0 else key & 0xFF

    def poll(self) -> int:
        """Keep the window responsive while no new frame came; the key pressed or -1."""
        key = cv2.waitKey(1)
        return -1 if key < 0 else key & 0xFF

    def closed(self) -> bool:
        """True once the user closed the window (same as q)."""
        try:
            return self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
