"""Live mode: measure from a webcam (or a stream, or a file played like one) in real time.

How frames flow (three threads, two one-slot boxes, nothing queues)
--------------------------------------------------------------------
1. The **capture thread** reads frames (``cv2.VideoCapture`` for a camera index or a stream
   URL; hiprom's own reader for a file), shrinks them to the processing size, stamps them
   with ``time.perf_counter()`` and puts each into a :class:`LatestFrame` box. A frame not
   yet taken is **replaced** by the next one (a drop). With ``realtime`` a file is paced by
   its presentation times, and frames already late when decoded are dropped too; without it
   every frame of a file is processed (the thread waits for the slot: deterministic).
2. The **pose thread** (:class:`PoseWorker`) takes the latest frame and runs
   :class:`hiprom.recorder.LandmarkRecorder` on it: the same per-frame path as ``analyze``
   (full model, silhouette). Frames outside a measurement are forgotten at once, so the
   recorder holds exactly the current measurement. What it found goes into a second box.
3. The **main thread** takes the latest result, reads the angles
   (:class:`hiprom.live_protocol.LiveAngles`), advances the guided protocol, and shows the
   overlay (window, keys) or prints a line every ``line_every_s`` of source time (headless).
   Drawing overlaps with the model working on the next frame.

Saving runs :func:`hiprom.pipeline.analyze_landmarks` on the recorded frames and writes the
same folder as ``analyze``. The recorder gets a file's presentation times (a dropped frame is
simply missing) or, for a camera or stream, capture times.

Speed (≥ 25 fps shown on 2 cores): frames are shrunk to ``max_side_px`` (640) on their long
side (the pose model works at 256 px anyway: peaks of five benchmark clips move by at most 0.3°
against full size, and a 720×1280 frame costs about half the time), and the model looks for
``LIVE_MAX_PEOPLE`` (1) person. Together: saved peaks within 0.9° of ``analyze`` on those clips.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from hiprom.apps.live.capture import Capture, Grab, LatestFrame, open_camera
from hiprom.apps.live.options import LIVE_MAX_PEOPLE, LiveOptions
from hiprom.apps.live.overlay import LiveStats, check_display
from hiprom.config import Config
from hiprom.core.capture import Capture as CaptureFacts
from hiprom.core.capture import LiveInfo
from hiprom.errors import HipromError
from hiprom.vision.model_store import ModelInfo

__all__ = ["LiveOptions", "LiveReport", "LiveStats", "LatestFrame", "Grab", "run_live", "open_camera",
           "LIVE_MAX_PEOPLE"]

#: Below this many frames shown per second, the session ends with a hint on speeding up.
SLOW_FPS = 25
KEYS = {ord(" "): "toggle", ord("n"): "neutral", ord("r"): "reset", ord("s"): "save", ord("q"): "quit",
        27: "quit"}


@dataclass(frozen=True, eq=False)
class Seen:
    """A frame after the pose model: the grab, the people found, and whether it was recorded."""

    grab: Grab
    people: list
    recorded: bool


class PoseWorker(threading.Thread):
    """Runs the recorder on the latest frame and hands what it found to the display loop.

    ``lock`` guards the recorder and ``measuring``: frames added while not measuring are
    forgotten at once, so the recorder always holds exactly the current measurement.
    """

    def __init__(self, recorder, frames: LatestFrame, results: LatestFrame, *, wait: bool,
                 duration_s: float | None):
        super().__init__(name="hiprom-live-pose", daemon=True)
        self.recorder, self.frames, self.results = recorder, frames, results
        self.wait, self.duration_s = wait, duration_s
        self.lock = threading.Lock()
        self.measuring = False
        self.ended: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        first = None
        try:
            while True:
                grab = self.frames.get(0.25)
                if grab is None:
                    if self.frames.closed:
                        return
                    continue
                first = grab.time_s if first is None else first
                if self.duration_s is not None and grab.time_s - first >= self.duration_s:
                    self.ended = f"the {self.duration_s:g} s duration was reached"
                    return
                with self.lock:
                    people = self.recorder.add(grab.rgb, grab.time_s, grab.index)
                    recorded = self.measuring
                    if not recorded:
                        for items in (self.recorder.people, self.recorder.times, self.recorder.indices):
                            items.pop()
                if not self.results.put(Seen(grab, people, recorded), wait=self.wait):
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            self.error = exc
        finally:
            self.frames.close()
            self.results.close()

    def clear(self) -> None:
        """Forget the recorded frames and scene lines (a new measurement starts)."""
        with self.lock:
            self.recorder.forget()


@dataclass
class LiveReport:
    """What a live session did: stats, folders saved (with their results), how it ended."""

    stats: LiveStats
    saved: list[Path] = field(default_factory=list)
    results: list = field(default_factory=list)
    ended: str = ""
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: A file source that turned out unusable (truncated, damaged): what ``analyze`` refuses it
    #: with. The measurement it ended is not saved (the same rule as ``analyze``).
    source_error: HipromError | None = None


def default_live_dir(options: LiveOptions) -> Path:
    """``clip.mp4`` → ``clip_live_hiprom/`` beside it; a camera or stream → ``hiprom_live_<time>/``."""
    if options.kind == "file":
        p = Path(options.source or "")
        return p.parent / f"{p.stem}_live_hiprom"
    return Path(time.strftime("hiprom_live_%Y%m%d-%H%M%S"))


class _Session:
    """The display loop on the main thread: read, prompt, draw or print, keys, save."""

    def __init__(self, options: LiveOptions, config: Config, model: ModelInfo | None,
                 emit: Callable[[str], None], notify: Callable[[str], None]):
        from hiprom.apps.live.protocol import Peaks, Protocol
        from hiprom.apps.pipeline import load_model
        from hiprom.outputs.folder import check_output_dir
        from hiprom.vision.recorder import LandmarkRecorder

        if options.max_people is not None:
            config = config.with_overrides({"model.max_people": options.max_people}, origin="live mode")
        self.o, self.config, self.emit, self.notify = options, config, emit, notify
        if not options.headless:
            check_display()
        self.out = Path(options.out) if options.out is not None else default_live_dir(options)
        check_output_dir(self.out, force=options.force,
                         input_path=options.source if options.kind == "file" else None)
        deterministic = options.kind == "file" and not options.realtime
        self.report = LiveReport(LiveStats(paced=not deterministic))
        self.frames, self.results = LatestFrame(), LatestFrame()
        self.capture = Capture(options, config, self.frames, time.perf_counter())
        try:
            self.model = model or load_model(config)
            # every frame the worker takes is seen: it already keeps only the newest one
            self.recorder = LandmarkRecorder(self.model, config, mode="video",
                                             expected_frames=self.capture.frame_count, skip_frames=False)
        except BaseException:
            self.capture.release()
            raise
        self.worker = PoseWorker(self.recorder, self.frames, self.results, wait=deterministic,
                                 duration_s=options.duration_s)
        self.worker.measuring = options.headless if options.measure_from_start is None else options.measure_from_start
        self.protocol, self.peaks = Protocol(), Peaks()
        self.angles = None
        self.size: tuple[int, int] | None = None
        self.mirror = options.mirror if options.mirror is not None else options.kind == "camera"
        self.draw = options.draw if options.draw is not None else not options.headless
        self.note, self.unsaved, self.next_line = "", self.worker.measuring, -np.inf

    def say(self, message: str) -> None:
        self.report.messages.append(message)
        self.notify(message)

    def run(self) -> LiveReport:
        from hiprom.apps.live.overlay import Window

        try:
            window = None if self.o.headless else Window(f"hiprom live - {self.o.name}")
        except BaseException:
            self.capture.release()
            self.recorder.close()
            raise
        self.capture.start()
        self.worker.start()
        ended = ""
        try:
            while True:
                seen = self.results.get(0.25)
                if seen is None and self.results.closed:
                    ended = self.worker.ended or self.capture.ended or "the source ended"
                    break
                key = self._show(seen, window) if seen is not None else (window.poll() if window else -1)
                if window is not None and window.closed():
                    ended = "quit (window closed)"
                    break
                action = KEYS.get(key)
                if action == "quit":
                    ended = "quit"
                    break
                self._act(action)
        except KeyboardInterrupt:
            from hiprom.io.atomic import clear_interrupt

            clear_interrupt()  # handled: Ctrl-C ends the session and saves, like q
            ended = "interrupted (Ctrl-C)"
        finally:
            self.capture.stop.set()
            self.frames.close()
            self.results.close()
            self.worker.join()
            self.capture.join(timeout=2.0)
            if window is not None:
                window.close()
        return self._finish(ended)

    def _show(self, seen: Seen, window) -> int:
        from hiprom.apps.live.overlay import OverlayState, draw_overlay, headless_line
        from hiprom.apps.live.protocol import LiveAngles, Prompt, Step

        grab = seen.grab
        self.size = (grab.rgb.shape[1], grab.rgb.shape[0])
        self.angles = self.angles or LiveAngles(self.config, self.size)
        reading = self.angles.update(seen.people, grab.time_s)
        prompt = self.protocol.update(grab.time_s, reading.angle_deg, person=reading.person is not None,
                                      legs=reading.quality.legs)
        if self.protocol.neutral_deg is not None and self.angles.locked_roll_deg is None:
            with self.worker.lock:
                self.angles.lock_roll(list(self.recorder.scene_lines))
        if seen.recorded:
            self.peaks.update(reading.angle_deg)
        elif prompt.step not in (Step.PERSON, Step.POSITION):
            prompt = Prompt(prompt.step, "Press space to start a measurement (then hold still for neutral)")
        stats = self.report.stats
        state = OverlayState(reading, prompt, self.peaks, self.worker.measuring, self.mirror, self.note,
                             stats.recent(), held=dict(self.protocol.holds))
        image = draw_overlay(grab.rgb, state) if self.draw else None
        key = -1
        if window is not None:
            key = window.show(image)
        elif grab.time_s >= self.next_line:
            self.emit(headless_line(state))
            self.next_line = grab.time_s + self.o.line_every_s
        stats.add(grab.captured_s, time.perf_counter())
        return key

    def _act(self, action: str | None) -> None:
        if action == "toggle" and not self.worker.measuring:
            if self.unsaved:
                self._save()
            self.worker.clear()
            self.peaks.reset()
            self.protocol.reset()            # the guided test starts with neutral, inside the recording
            if self.angles is not None:
                self.angles.locked_roll_deg = None
            self.worker.measuring, self.unsaved, self.note = True, True, "measuring"
        elif action in ("toggle", "save"):
            self.worker.measuring = False
            self.note = "stopped: s saves"
            if action == "save" and self.unsaved:
                self._save()
        elif action == "neutral":
            self.protocol.retake_neutral()
            if self.angles is not None:
                self.angles.locked_roll_deg = None
        elif action == "reset":
            self.protocol.reset()
            self.peaks.reset()
            if self.angles is not None:
                self.angles.reset()
            self.worker.clear()
            self.unsaved, self.note = self.worker.measuring, "reset"

    def _folder(self) -> Path:
        """The k-th save's folder: ``out``, then ``out_2``, ``out_3``... (the next free one)."""
        k = len(self.report.saved) + len(self.report.errors) + 1
        while k > 1 and not self.o.force and self.out.with_name(f"{self.out.name}_{k}").exists():
            k += 1
        return self.out if k == 1 else self.out.with_name(f"{self.out.name}_{k}")

    def _save(self) -> None:
        from hiprom.apps.pipeline import analyze_landmarks

        self.unsaved = False
        with self.worker.lock:
            if not len(self.recorder) or self.size is None:
                return
            info = self.capture.info
            live = LiveInfo(source_kind=self.o.kind, realtime=self.o.realtime, processed_size_px=tuple(self.size),
                            # not processed (never reached the model); processed frames whose
                            # overlay was skipped for a newer one are recorded all the same
                            frames_dropped=self.frames.dropped + self.capture.late,
                            frames_not_shown=self.results.dropped)
            facts = CaptureFacts(kind="video", rotation_deg=info.rotation_deg if info else 0,
                                 mirrored=bool(self.config.video.mirrored), codec=info.codec if info else None,
                                 live=live)
            series, _ = self.recorder.series(self.size, source=self.o.name, fps=self.capture.fps, capture=facts)
        if self.o.kind != "file":          # capture times: the measurement starts at 0 s
            series = series.replace(time_s=series.time_s - series.time_s[0])
        folder = self._folder()
        try:
            result = analyze_landmarks(series, self.config, source_info=info, model=self.model)
        except HipromError as exc:
            from hiprom.io.landmarks_npz import save_series

            save_series(series, folder / "landmarks.npz")
            self.report.errors.append(exc.what)
            self.note = f"not measurable: {exc.what}"
            self.say(f"Not measurable: {exc.what}. The landmarks were saved to {folder / 'landmarks.npz'}")
            return
        self.report.saved.append(result.save(folder, force=self.o.force or folder != self.out))
        self.report.results.append(result)
        self.note = f"saved {series.duration_s:.1f} s to {folder}"
        self.say(f"Saved the measurement ({series.n_frames} frames, {series.duration_s:.1f} s) to {folder}")

    def _finish(self, ended: str) -> LiveReport:
        report = self.report
        report.ended = ended
        report.stats.grabbed = self.capture.grabbed
        report.stats.dropped = self.frames.dropped + self.results.dropped + self.capture.late
        report.stats.processed = self.capture.grabbed - self.frames.dropped - self.capture.late
        fps = report.stats.fps
        if report.stats.paced and fps is not None and fps < SLOW_FPS and len(report.stats.shown_at) > 30:
            self.say(f"The picture was updated {fps:.0f} times a second (below {SLOW_FPS}): close other busy "
                     "programs" + (", or use --max-people 1 (about 40 % faster)"
                                   if self.config.model.max_people > 1 else "") + ", or use a smaller --max-side")
        try:
            if self.worker.error is not None:
                raise self.worker.error
            failure = self.capture.failure if self.o.kind == "file" else None
            if failure is not None:             # analyze refuses this file: so does live mode
                report.source_error = failure
                if self.unsaved and len(self.recorder):
                    self.say(f"Not saved: {failure.what}")
            elif self.unsaved and len(self.recorder):
                if self.worker.measuring and ended == self.capture.ended and self.worker.ended is None:
                    self.say(f"The source ended during the measurement ({ended}): saving what was measured")
                self._save()
            elif not report.saved and not report.errors:
                self.say("Nothing was measured, so nothing was saved"
                         + ("" if self.o.headless else " (space starts a measurement)"))
        finally:
            self.recorder.close()
        return report


def run_live(options: LiveOptions, config: Config | None = None, *, model: ModelInfo | None = None,
             emit: Callable[[str], None] = print, notify: Callable[[str], None] | None = None) -> LiveReport:
    """Run a live session until the source ends, q, the window closes, Ctrl-C or ``duration_s``.

    Parameters
    ----------
    options
        Source, display and output choices.
    config
        Settings, as for ``analyze`` (the saved numbers use them).
    model
        A resolved pose model; by default found as ``config.model`` says.
    emit, notify
        Where headless lines and messages go as they happen (messages are also in the report).

    Raises
    ------
    InputError
        No camera, or the source cannot be opened (before any model is loaded).
    OutputExistsError
        The output folder exists and ``force`` is not set (before the session starts).
    """
    config = config or Config()
    return _Session(options, config, model, emit, notify or emit).run()
