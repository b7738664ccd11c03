"""Reading a photo twice: as taken and mirrored.

One photo is one reading, and the pose model's errors on it do not average out over frames.
Its errors on the same person seen in a mirror are largely different ones (the model is not
mirror-symmetric), so hiprom reads each photo as taken and mirrored and averages the two:
the difference between them is the photo's own uncertainty, and a photo and its mirror image
read the same. A mirrored person's left leg is seen as a right leg; :func:`unmirror` maps a
detection in the mirrored image back to the photo's pixels and the subject's own sides.
"""

from __future__ import annotations

import numpy as np

from hiprom.core.landmarks import LM
from hiprom.vision.pose import PoseCandidate

__all__ = ["mirror_image", "unmirror"]


def mirror_image(rgb: np.ndarray) -> np.ndarray:
    """The image flipped left to right (a contiguous copy, as the model wants it)."""
    return np.ascontiguousarray(rgb[:, ::-1])


def unmirror(candidate: PoseCandidate, width_px: int) -> PoseCandidate:
    """A person found in the mirrored image, in the original image's pixels and sides.

    Notes
    -----
    Landmark x (continuous, pixel edges at whole numbers) becomes ``width_px - x``; world x
    changes sign; each landmark takes its counterpart's place (:data:`LM.MIRRORED`); the
    mask is flipped back (a copy, so the model's native image is no longer needed).
    """
    order = list(LM.MIRRORED)
    image = np.array(candidate.image_px[order], float)
    image[:, 0] = width_px - image[:, 0]
    world = np.array(candidate.world_m[order], float)
    world[:, 0] = -world[:, 0]
    mask = None if candidate.mask is None else np.ascontiguousarray(candidate.mask[:, ::-1])
    return PoseCandidate(image, candidate.visibility[order], candidate.presence[order], world, mask)
