"""Frame by frame from pixels to people: the per-frame half of the pipeline.

A :class:`LandmarkRecorder` runs the pose model on the frames it is given, measures the
shank lines in each person's silhouette, samples level lines in the scene for the camera
roll, and keeps what it found. Which frames the model sees, and how many people it looks
for, follow :mod:`hiprom.vision.schedule` and :mod:`hiprom.vision.people`.
:meth:`LandmarkRecorder.series` then chooses the seated subject and returns the
:class:`~hiprom.core.landmarks.LandmarkSeries`, one row per frame (rows of frames the model
did not see filled in, ``model_seen`` False). Offline analysis
(:func:`hiprom.detect_landmarks`) and live mode use the same recorder, so a live recording
analysed afterwards gives the numbers ``hiprom analyze`` would.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hiprom.config import Config
from hiprom.core.capture import Capture, PersonChoice, SceneLine
from hiprom.core.landmarks import LM, LandmarkSeries
from hiprom.vision.mirror import mirror_image, unmirror
from hiprom.vision.model_store import ModelInfo
from hiprom.vision.people import PeoplePolicy
from hiprom.vision.person import choose_subject
from hiprom.vision.pose import ModelView, PoseCandidate, PoseModel
from hiprom.vision.scene import level_line_roll_deg, sample_every
from hiprom.vision.schedule import FrameSchedule, fill_skipped, leg_angles_deg
from hiprom.vision.silhouette import shank_lines

__all__ = ["LandmarkRecorder", "MAX_SCENE_SAMPLES"]

#: For the first ``PROBE_S`` seconds a frame every ``PROBE_EVERY_S`` is searched for level
#: lines; if the roll found there varies by more than ``HANDHELD_SPREAD_DEG`` the camera is
#: hand-held and the search goes on at that rate for the whole clip, so the roll can be
#: followed frame by frame.
PROBE_S = 1.0
PROBE_EVERY_S = 0.1
#: A fixed camera (its roll does not change): after the probe, at most this many more frames,
#: spread over the clip, are searched.
MAX_SCENE_SAMPLES = 16
HANDHELD_SPREAD_DEG = 0.3


def _with_shank_lines(person: PoseCandidate) -> PoseCandidate:
    """Measure the shank lines in the person's silhouette, then drop the mask (memory)."""
    if person.mask is None:
        return person
    p = person.image_px
    front = bool(p[LM.LEFT_HIP, 0] >= p[LM.RIGHT_HIP, 0])
    v = person.view
    if v is None:
        lines = shank_lines(person.mask, p, front)
    else:   # the mask covers the view's box, resized
        scale = (person.mask.shape[1] / (v.x1 - v.x0), person.mask.shape[0] / (v.y1 - v.y0))
        lines = shank_lines(person.mask, p, front, mask_origin_px=(v.x0, v.y0), mask_scale=scale)
    return dataclasses.replace(person, mask=None, mask_owner=None, shank=lines)


def model_text(model: ModelInfo) -> str:
    """Short description of a model for the series (variant, file, sha256 prefix)."""
    return f"{model.variant or 'custom'}:{model.path.name}:sha256={model.sha256[:12]}"


class LandmarkRecorder:
    """Feed frames in time order with :meth:`add`; get the subject's series with :meth:`series`.

    Parameters
    ----------
    model
        A resolved pose model.
    config
        Settings (``config.model`` for the landmarker, ``config.geometry.silhouette``).
    mode
        ``"video"`` (frames of one clip or a live stream) or ``"image"`` (separate photos).
    expected_frames
        Frames expected (spreads the scene-line samples over the clip); None = unknown.
    skip_frames
        Let the model skip frames (video mode, one in ``config.video.model_every`` seen,
        see :class:`~hiprom.vision.schedule.FrameSchedule`); False = every frame (live mode,
        which already keeps only the newest frame).

    Notes
    -----
    Memory grows with the number of frames only by the landmarks and shank lines kept
    (about 3 kB a frame); frames and masks are not kept. ``people[f]`` is None for a frame
    the model did not see.
    """

    def __init__(self, model: ModelInfo, config: Config | None = None, *, mode: str = "video",
                 expected_frames: int | None = None, skip_frames: bool = True):
        config = config or Config()
        m = config.model
        self.model = model
        self.config = config
        self.mode = mode
        video = mode == "video"
        self._mirror_photos = not video and m.mirror_photos
        self._policy = PeoplePolicy(m.max_people if video else 1, choose_s=m.follow_after_s,
                                    recheck_s=m.recheck_s)
        self._schedule = FrameSchedule(config.video.model_every if video and skip_frames else 1)
        self._wide = self._new_model(m.max_people)
        self._narrow: PoseModel | None = None       # one person in a box: made when first needed
        self._stride = sample_every(expected_frames)
        self.people: list[list[PoseCandidate] | None] = []
        self.times: list[float] = []
        self.indices: list[int] = []
        self.scene_lines: list[SceneLine] = []
        self._restart_schedule()

    def _new_model(self, people: int) -> PoseModel:
        m = self.config.model
        return PoseModel(self.model, mode=self.mode, max_people=people,
                         min_detection_confidence=m.min_detection_confidence,
                         min_presence_confidence=m.min_presence_confidence,
                         min_tracking_confidence=m.min_tracking_confidence,
                         segmentation=self.config.geometry.silhouette)

    def _restart_schedule(self) -> None:
        self._t0: float | None = None
        self._last_probe_s: float | None = None
        self._sparse_searched = 0
        self.hand_held: bool | None = None       # None until the probe second is over
        self._policy.restart()
        self._schedule.restart()

    def forget(self) -> None:
        """Drop every frame and scene line kept so far and probe the camera afresh (live
        mode: a new measurement starts)."""
        for items in (self.people, self.times, self.indices, self.scene_lines):
            items.clear()
        self._restart_schedule()

    def add(self, rgb: np.ndarray, time_s: float, index: int | None = None) -> list[PoseCandidate]:
        """Take one upright RGB frame; return the people found in it (none when the model
        skipped it, see :class:`~hiprom.vision.schedule.FrameSchedule`)."""
        index = (self.indices[-1] + 1 if self.indices else 0) if index is None else int(index)
        people = self._detect(rgb, float(time_s))
        if self._wants_scene_sample(index, float(time_s)):
            found = level_line_roll_deg(rgb)
            if found is not None:
                self.scene_lines.append(SceneLine(index, found.roll_deg, found.support, found.length_px))
        self.people.append(people)
        self.times.append(float(time_s))
        self.indices.append(index)
        if self._mirror_photos:   # the photo read again, mirrored: a second, largely independent reading
            width = rgb.shape[1]
            self.people.append([_with_shank_lines(unmirror(c, width))
                                for c in self._wide.detect(mirror_image(rgb), time_s)])
            self.times.append(float(time_s))
            self.indices.append(index)
        return people or []

    def _detect(self, rgb: np.ndarray, time_s: float) -> list[PoseCandidate] | None:
        """The people the model finds in the frame as the policies say (None: not looked at).

        While following the subject, a re-check, and every frame seen while a leg holds
        (when ``config.model.detect_at_holds``), is a wide look: the person detector on the
        whole frame, as while choosing."""
        look = self._policy.look(time_s)
        if not self._schedule.wants(time_s):
            return None
        size = (rgb.shape[1], rgb.shape[0])
        whole = self._scaled(ModelView.whole(*size))
        if look.wide:
            people = self._policy.found(time_s, look, self._measured(self._wide, rgb, time_s, whole), size)
        elif look.recheck or (self.config.model.detect_at_holds and self._schedule.holding):
            people = self._policy.found_wide(time_s, self._measured(self._wide, rgb, time_s, whole), size)
        else:
            if self._narrow is None:
                self._narrow = self._new_model(1)
            found = self._measured(self._narrow, rgb, time_s, self._scaled(look.view))
            people = self._policy.found(time_s, look, found, size)
        self._schedule.saw(time_s, leg_angles_deg(self._policy.subject_of(people, size)))
        return people

    @staticmethod
    def _measured(model: PoseModel, rgb: np.ndarray, time_s: float, view: ModelView) -> list[PoseCandidate]:
        return [_with_shank_lines(c) for c in model.detect(rgb, time_s, view)]

    def _scaled(self, view: ModelView) -> ModelView:
        """``view`` shrunk so its longer side is at most ``config.model.max_side_px``
        (videos only: photos are few and shown to the model as they are)."""
        limit = self.config.model.max_side_px
        longer = max(view.x1 - view.x0, view.y1 - view.y0)
        if not limit or longer <= limit or self.mode != "video":
            return view
        return dataclasses.replace(view, scale=limit / longer)

    def _wants_scene_sample(self, index: int, time_s: float) -> bool:
        """Whether to search this frame for level lines (see ``PROBE_S``)."""
        if self.mode != "video":
            return len(self.scene_lines) < MAX_SCENE_SAMPLES
        if self._t0 is None:
            self._t0 = time_s
        if self.hand_held is None and time_s - self._t0 >= PROBE_S:
            rolls = [s.roll_deg for s in self.scene_lines if s.support >= 0.3]
            self.hand_held = len(rolls) >= 3 and max(rolls) - min(rolls) > HANDHELD_SPREAD_DEG
        if self.hand_held is None or self.hand_held:
            # 1 ms of slack: frame times are rounded (3 frames at 30 fps are 0.1 s apart)
            due = self._last_probe_s is None or time_s - self._last_probe_s >= PROBE_EVERY_S - 1e-3
            if due:
                self._last_probe_s = time_s
            return due
        if index % self._stride == 0 and self._sparse_searched < MAX_SCENE_SAMPLES:
            self._sparse_searched += 1
            return True
        return False

    def __len__(self) -> int:
        return len(self.times)

    def series(self, frame_size_px: tuple[int, int], *, source: str = "", fps: float | None = None,
               capture: Capture | None = None) -> tuple[LandmarkSeries, PersonChoice]:
        """The seated subject's landmark series over every frame added so far.

        ``capture`` describes the frames (kind, rotation...); the recorder fills in how many
        people it looked for and whether the camera is hand-held.
        """
        time_s = np.asarray(self.times, float)
        if self.mode != "video":
            time_s = np.arange(len(self.times), dtype=float)
        capture = dataclasses.replace(capture or Capture(), max_people=self.config.model.max_people,
                                      hand_held=bool(self.hand_held), mirror_pairs=self._mirror_photos)
        seen = np.array([p is not None for p in self.people], bool)
        series, choice = choose_subject([p or [] for p in self.people], time_s,
                                        np.asarray(self.indices, dtype=np.int64), frame_size_px,
                                        source=source, model=model_text(self.model), fps=fps, capture=capture,
                                        scene_lines=tuple(self.scene_lines))
        if seen.all():
            return series, choice
        return fill_skipped(series, seen, max_gap_frames=self._schedule.every - 1), choice

    def close(self) -> None:
        for model in (self._wide, self._narrow):
            if model is not None:
                model.close()

    def __enter__(self) -> "LandmarkRecorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
