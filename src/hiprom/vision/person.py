"""Choosing the seated subject when more than one person is in frame.

An examiner often stands beside the patient. The pose model returns up to ``max_people``
people per frame, in no stable order. People are linked across frames into tracks by
position, each track is scored for how much it looks like the seated test subject, and the
best track becomes the landmark series.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hiprom.core.capture import PersonChoice, ShankLines
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries
from hiprom.vision.pose import PoseCandidate

__all__ = ["PersonChoice", "choose_subject", "drop_duplicates", "seated_score"]

_LEGS = [LM.LEFT_HIP, LM.RIGHT_HIP, LM.LEFT_KNEE, LM.RIGHT_KNEE, LM.LEFT_ANKLE, LM.RIGHT_ANKLE]


def seated_score(c: PoseCandidate) -> float:
    """How much a detected person looks like the seated subject, in [0, 1].

    Notes
    -----
    ``visibility`` (mean over hips, knees and ankles) times ``seated``: sitting with the
    thighs towards the camera, the knees are about level with the hips in the image while
    the shanks hang down, so ``r = |knee_y - hip_y| / |ankle_y - knee_y|`` is small
    (standing: r ≈ 1). ``seated = clip(1.2 - r, 0.2, 1)``.
    """
    vis = float(np.nanmean(c.visibility[_LEGS]))
    p = c.image_px
    thigh = np.mean([abs(p[LM.LEFT_KNEE, 1] - p[LM.LEFT_HIP, 1]), abs(p[LM.RIGHT_KNEE, 1] - p[LM.RIGHT_HIP, 1])])
    shank = np.mean([abs(p[LM.LEFT_ANKLE, 1] - p[LM.LEFT_KNEE, 1]), abs(p[LM.RIGHT_ANKLE, 1] - p[LM.RIGHT_KNEE, 1])])
    ratio = thigh / shank if shank > 1e-6 else 1.0
    return vis * float(np.clip(1.2 - ratio, 0.2, 1.0))


def _centre_and_size(c: PoseCandidate) -> tuple[np.ndarray, float]:
    p = c.image_px[:, :2]
    hips = (p[LM.LEFT_HIP] + p[LM.RIGHT_HIP]) / 2
    pts = p[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER] + _LEGS]
    size = float(np.max(np.ptp(pts, axis=0)))
    return hips, max(size, 1.0)


def drop_duplicates(people: Sequence[PoseCandidate]) -> list[PoseCandidate]:
    """Remove detections of a person already found in the same frame.

    The model sometimes returns one person twice. A detection is a duplicate when the
    median distance of its landmarks to those of a more visible detection is below 0.15 ×
    that person's size.
    """
    kept: list[PoseCandidate] = []
    for c in sorted(people, key=lambda c: -float(np.nanmean(c.visibility))):
        _, size = _centre_and_size(c)
        if all(np.nanmedian(np.linalg.norm(c.image_px[:, :2] - k.image_px[:, :2], axis=1)) >= 0.15 * size
               for k in kept):
            kept.append(c)
    return kept


def choose_subject(people: Sequence[Sequence[PoseCandidate]], time_s: np.ndarray,
                   frame_index: np.ndarray, frame_size_px: tuple[int, int],
                   **series_fields) -> tuple[LandmarkSeries, PersonChoice]:
    """Link detections into tracks and keep the seated subject's track.

    Parameters
    ----------
    people
        For each frame, the people found (possibly none).
    time_s, frame_index, frame_size_px, series_fields
        Passed on to :class:`LandmarkSeries`.

    Notes
    -----
    Duplicate detections of one person are dropped first (:func:`drop_duplicates`).
    Linking is greedy, best match first: a detection joins the track whose last position
    is nearest, if within ``0.5 + 0.02 × frames unseen`` (at most 1.5) × that person's size
    (hip-centre distance), so a person the model lost for a while is picked up again;
    otherwise it starts a new track. A track's score is the sum over its frames of :func:`seated_score` times
    the person's size relative to the frame (the subject is usually the largest seated
    body). Frames where the chosen track has no detection stay empty (NaN).
    """
    n = len(people)
    track_of: list[list[int]] = []       # per frame: track id of each detection
    last_pos: list[np.ndarray] = []
    last_size: list[float] = []
    last_seen: list[int] = []
    scores: list[float] = []
    counts: list[int] = []
    diag = float(np.hypot(*frame_size_px))
    people = [drop_duplicates(p) if len(p) > 1 else list(p) for p in people]
    for f, frame_people in enumerate(people):
        ids = [-1] * len(frame_people)
        geo = [_centre_and_size(c) for c in frame_people]
        pairs = sorted((float(np.linalg.norm(g[0] - last_pos[t])) / max(g[1], last_size[t]), i, t)
                       for i, g in enumerate(geo) for t in range(len(last_pos)))
        used: set[int] = set()
        for dist, i, t in pairs:
            gate = min(0.5 + 0.02 * (f - last_seen[t] - 1), 1.5)
            if dist <= gate and ids[i] < 0 and t not in used:
                ids[i] = t
                used.add(t)
        for i, (pos, size) in enumerate(geo):
            if ids[i] < 0:
                ids[i] = len(last_pos)
                last_pos.append(pos)
                last_size.append(size)
                last_seen.append(f)
                scores.append(0.0)
                counts.append(0)
            t = ids[i]
            last_pos[t], last_size[t], last_seen[t] = pos, size, f
            scores[t] += seated_score(frame_people[i]) * min(1.0, 2.0 * size / diag)
            counts[t] += 1
        track_of.append(ids)

    series = LandmarkSeries.empty(time_s, frame_index, frame_size_px, **series_fields)
    several = sum(1 for p in people if len(p) > 1)
    max_people = max((len(p) for p in people), default=0)
    if not scores:
        nobody = PersonChoice(0, 0, 0, -1, 0, None, "nobody was detected in any frame")
        return series.replace(person=nobody), nobody
    best = int(np.argmax(scores))
    image = np.full((n, N_LANDMARKS, 3), np.nan)
    world, vis, pres = image.copy(), np.full((n, N_LANDMARKS), np.nan), np.full((n, N_LANDMARKS), np.nan)
    lines: list[ShankLines | None] = [None] * n
    for f, (frame_people, ids) in enumerate(zip(people, track_of)):
        for c, t in zip(frame_people, ids):
            if t == best:
                image[f], world[f], vis[f], pres[f] = c.image_px, c.world_m, c.visibility, c.presence
                lines[f] = c.shank
    chosen = int(np.isfinite(image[:, 0, 0]).sum())
    hips = np.nanmedian((image[:, LM.LEFT_HIP, :2] + image[:, LM.RIGHT_HIP, :2]) / 2, axis=0)
    if max_people <= 1 and len(scores) == 1:
        reason = "one person in the clip"
    else:
        reason = (f"{len(scores)} people tracked ({several} frames with more than one); kept the "
                  f"one that looks most like a seated subject with visible legs, hips at about "
                  f"x={hips[0]:.0f}, y={hips[1]:.0f} px (score {scores[best]:.1f} vs next best "
                  f"{sorted(scores)[-2] if len(scores) > 1 else 0.0:.1f})")
    choice = PersonChoice(max_people, several, len(scores), best, chosen,
                          (float(hips[0]), float(hips[1])), reason)
    series = series.replace(image_px=image, world_m=world, visibility=vis, presence=pres,
                            person=choice,
                            shank_lines=ShankLines.stack(lines) if any(x is not None for x in lines) else None)
    return series, choice
