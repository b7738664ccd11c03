"""The analysis path: frames → pose → subject → landmark series → measurement.

>>> import hiprom
>>> result = hiprom.analyze("samples/seated_ir_right.mp4")        # doctest: +SKIP
>>> result.sides["right"].peak_ir_deg                              # doctest: +SKIP

The CLI, live mode and batch mode are thin layers over :func:`analyze`,
:func:`detect_landmarks` and :func:`analyze_landmarks`.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from hiprom.apps.analysis import Analysis
from hiprom.config import Config
from hiprom.core.capture import Capture
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.core.measurement import Measurement
from hiprom.errors import AnalysisError, NoTestError
from hiprom.interpret.measure import measure
from hiprom.io.creation_time import creation_time
from hiprom.io.frames import SourceInfo, iter_frames_threaded, open_source
from hiprom.signal.seated import no_test_message
from hiprom.vision.model_store import ModelInfo, resolve_model
from hiprom.vision.recorder import LandmarkRecorder

__all__ = ["analyze", "detect_landmarks", "analyze_landmarks", "load_model"]

#: progress(frames_done, frames_expected_or_None)
ProgressFn = Callable[[int, "int | None"], None]


def load_model(config: Config | None = None, *, progress: bool = True) -> ModelInfo:
    """Find the pose model as the config says (path, environment, cache, download)."""
    m = (config or Config()).model
    return resolve_model(m.path or None, m.variant, download=m.download, progress=progress)


def detect_landmarks(path: str | Path, config: Config | None = None, *, model: ModelInfo | None = None,
                     progress: ProgressFn | None = None) -> tuple[LandmarkSeries, SourceInfo]:
    """Run the pose model over a clip, an image or a folder of images.

    Frames are decoded on a reader thread while the model runs (bounded queue), so memory
    does not grow with the clip's length beyond the landmarks themselves.

    Returns
    -------
    series, info
        The chosen subject's landmarks (NaN rows where nobody was found) and what the
        source is (size, fps, rotation...).
    """
    config = config or Config()
    model = model or load_model(config)
    with open_source(path, mirrored=config.video.mirrored,
                     decoder_threads=config.video.decoder_threads_or_auto) as source:
        info = source.info
        mode = "video" if info.kind == "video" else "image"
        with LandmarkRecorder(model, config, mode=mode, expected_frames=info.frame_count) as recorder:
            frames = iter_frames_threaded(source, queue_size=config.video.queue_size)
            try:
                for frame in frames:
                    recorder.add(frame.rgb, frame.time_s, frame.index)
                    if progress is not None:
                        progress(len(recorder), info.frame_count)
            finally:
                close = getattr(frames, "close", None)
                if close is not None:
                    close()
            files = tuple(str(p) for p in info.files) if info.kind == "images" else ()
            capture = Capture(kind=info.kind, rotation_deg=info.rotation_deg, mirrored=info.mirrored,
                              codec=info.codec, files=files, damaged_frames=tuple(source.damaged))
            series, _choice = recorder.series((info.width_px, info.height_px), source=str(path),
                                              fps=info.fps, capture=capture)
    return series, info


def _check_usable(series: LandmarkSeries, path: str | Path, config: Config) -> None:
    """Refuse, with a clear reason, a series no measurement can come from."""
    movement = config.movement
    fps = series.median_fps
    clip_s = series.duration_s + (1.0 / fps if fps else 0.0)      # the last frame lasts a period too
    if series.kind == "video" and clip_s < movement.min_clip_s - 1e-9:
        raise AnalysisError(
            f"is too short to hold a test: {clip_s:.2f} s, and the seated test needs at least "
            f"{movement.min_clip_s:g} s (the legs still for {movement.min_rest_s:g} s, then a rotation lasting "
            f"at least {movement.min_excursion_s:g} s that holds at end range for {movement.min_hold_s:g} s)",
            path=path, fix="record the whole test: a second with the legs hanging still, then the leg rotated "
                           "out and in, holding each end position for about a second.")
    damaged = len(series.capture.damaged_frames)
    why = (f" ({damaged} of the {series.n_frames} frames are damaged: their lower part is a uniform grey band, "
           "where the picture data is missing)") if damaged else ""
    recopy = "copy the file again from the phone or camera: this copy is damaged."
    if not series.detected.any():
        raise AnalysisError(f"no person was found in any frame{why}", path=path,
                            fix=recopy if damaged else "film the whole body from the front, in good light, with "
                                                       "the person filling at least a third of the frame.")
    legs = [LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE]
    vis = np.nan_to_num(series.visibility[:, legs], nan=0.0)
    seen = (vis >= 0.5).all(axis=1)
    if not seen.any():
        raise AnalysisError(f"a person was found but the knees and ankles are never visible "
                            f"(out of frame or hidden){why}", path=path,
                            fix=recopy if damaged else "frame the person from head to feet, with the lower legs "
                                                       "bare or in tight clothing and nothing in front of them.")


#: What to do when a clip holds no seated test (recognition, :mod:`hiprom.signal.seated`).
_FILM_THE_TEST = ("film the seated test: the person sits with hips and knees at 90°, the camera in front "
                  "at knee height; each leg hangs still for a second, then is turned out and in to end "
                  "range, holding each end for about a second.")


def _check_seated(m: Measurement, series: LandmarkSeries) -> None:
    """Refuse a clip in which nobody sits still long enough to hold the test."""
    if m.seated is not None and not m.seated.found:
        raise NoTestError(no_test_message(m.seated, {}), path=series.source or None, fix=_FILM_THE_TEST,
                          verdicts={side: s.test.test for side, s in m.sides.items()})


def _check_tested(m: Measurement, series: LandmarkSeries) -> None:
    """Refuse a clip in which no leg holds the test: no number comes from anything else."""
    if m.seated is not None and not any(s.tested for s in m.sides.values()):
        verdicts = {side: s.test for side, s in m.sides.items()}
        raise NoTestError(no_test_message(m.seated, verdicts), path=series.source or None,
                          fix=_FILM_THE_TEST + " A hip too stiff to turn 10° either way cannot be measured "
                                               "from video: use a goniometer.",
                          verdicts={side: v.test for side, v in verdicts.items()})


def _check_photo_tested(m: Measurement, series: LandmarkSeries, config: Config) -> None:
    """Refuse photos in which neither leg is clearly turned: a hanging leg is not a reading."""
    if not series.capture.still or any(s.tested for s in m.sides.values()):
        return
    limit = config.movement.photo_tested_min_deg
    where = "this photo" if series.kind == "image" else "these photos"
    angles = ", ".join(f"{side} {s.rest_deg:+.0f}°" for side, s in m.sides.items() if s.rest_deg is not None)
    raise NoTestError(f"no test in {where}: both legs hang within {limit:g}° of vertical"
                      + (f" ({angles})" if angles else ""), path=series.source or None,
                      fix="photograph the leg held at end range: the foot turned out (internal rotation) or in "
                          "(external rotation), the other leg hanging; or film the whole test.",
                      verdicts={side: "not_tested" for side in m.sides})


def analyze_landmarks(series: LandmarkSeries, config: Config | None = None, *,
                      source_info: SourceInfo | None = None, model: ModelInfo | None = None) -> Analysis:
    """Measure both legs from a landmark series (no model needed).

    Raises
    ------
    AnalysisError
        A video shorter than the protocol (``config.movement.min_clip_s``), nobody in the
        clip, legs never visible, no rest phase, or no seated test in it (nobody sits still,
        or no leg is turned about a still knee).
    """
    config = config or Config()
    _check_usable(series, series.source or "landmarks", config)
    m = measure(series, config)
    _check_seated(m, series)                     # recognition: nobody sits still long enough
    _check_photo_tested(m, series, config)       # a photo: neither leg clearly turned
    if series.kind == "video" and not any(s.rest_found for s in m.sides.values()):
        raise AnalysisError(
            f"no rest phase found: neither leg is still for {config.movement.min_rest_s:g} s "
            f"in this {series.duration_s:.1f} s clip, so there is no neutral to measure from",
            path=series.source or None,
            fix="record the whole test: a second with the legs hanging still, then the leg "
                "rotated out and in, holding each end position for about a second.")
    _check_tested(m, series)                     # recognition: seated, but no leg turned
    source = None if source_info is None else {"path": str(source_info.path),
                                                "frame_count_declared": source_info.frame_count}
    return Analysis.build(series, m, config, source=source, model=None if model is None else model.to_dict())


def analyze(path: str | Path, config: Config | None = None, *, model: ModelInfo | None = None,
            progress: ProgressFn | None = None) -> Analysis:
    """Measure hip rotation per side in a seated-test clip, photo or folder of photos.

    Parameters
    ----------
    path
        A video file, an image, or a folder of images.
    config
        Settings (:class:`hiprom.config.Config`); defaults suit the standard protocol.
    model
        A resolved pose model; by default found as ``config.model`` says.
    progress
        Called after each frame with (frames done, frames expected or None).

    Returns
    -------
    AnalysisResult
        Per-side measurements, quality, warnings, the landmark series and angle series; its
        ``test.date`` is the file's own creation time when it has one
        (:func:`hiprom.io.creation_time.creation_time`).
    """
    config = config or Config()
    model = model or load_model(config)
    _import_in_background("scipy.signal", "pandas")       # the measurement's and the outputs' modules
    series, info = detect_landmarks(path, config, model=model, progress=progress)
    result = analyze_landmarks(series, config, source_info=info, model=model)
    taken = creation_time(path)                   # the test date, as the file itself says
    return result if taken is None else result.with_test(date=taken, date_source="clip")


def _import_in_background(*modules: str) -> None:
    """Import ``modules`` on a daemon thread, so their import time overlaps the pose model's
    run (which releases the GIL) instead of adding to the time a user waits. An import that
    fails here fails again, with its message, where the module is used."""
    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:
                return

    threading.Thread(target=run, name="hiprom-imports", daemon=True).start()
