"""What a clip shows, before anything is measured: the seated span and each side's verdict.

Pure data filled in by :mod:`hiprom.signal.seated` (which explains the rules) and carried by
:class:`~hiprom.core.measurement.Measurement` (the span) and
:class:`~hiprom.core.measurement.SideResult` (the verdict) into ``result.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["VERDICTS", "SeatedSpan", "TestVerdict"]

#: A side's verdict: the leg was turned in the seated test; it stayed still (or only
#: fidgeted); what moved was not the seated test (standing up, walking, a kick...).
VERDICTS = ("tested", "not_tested", "not_a_seated_test")


@dataclass(frozen=True)
class SeatedSpan:
    """The frames ``[start, stop)`` of a series in which the person sits still: the part measured.

    Attributes
    ----------
    start, stop
        Frame positions in the series (``start == stop``: nobody sits still long enough).
    n_frames
        Frames in the whole series.
    start_s, end_s
        Times of the span's first and last frame (None when there is no span).
    reason
        When there is no span, what was seen instead (e.g. ``"the hips move 1.2 m across the
        picture (walking?)"``).
    notes
        What happens outside the span (e.g. ``"the person stands up at 8.9 s"``).
    """

    start: int
    stop: int
    n_frames: int
    start_s: float | None = None
    end_s: float | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.stop <= self.n_frames:
            raise ValueError(f"span [{self.start}, {self.stop}) does not fit {self.n_frames} frames")
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def found(self) -> bool:
        return self.stop > self.start

    @property
    def whole(self) -> bool:
        """The span is the whole series (nothing trimmed)."""
        return self.start == 0 and self.stop == self.n_frames

    def mask(self) -> np.ndarray:
        """``(n_frames,)`` bool: the frames in the span."""
        out = np.zeros(self.n_frames, bool)
        out[self.start:self.stop] = True
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "start_s": self.start_s, "end_s": self.end_s,
                "reason": self.reason, "notes": list(self.notes)}


@dataclass(frozen=True)
class TestVerdict:
    """Does one side of the clip hold the seated test?

    ``test`` one of :data:`VERDICTS`; ``reason`` what was seen, as a sentence fragment naming
    the side (``"the right leg stays within 3° of rest"``); ``span_s`` the time span concerned
    (the seated span measured, or where the movement that is not the test was seen);
    ``excursion_deg`` how far the leg turned from rest (99th percentile), when measured.
    """

    __test__ = False          # not a pytest test class, despite its name

    test: str
    reason: str
    span_s: tuple[float, float] | None = None
    excursion_deg: float | None = None

    def __post_init__(self) -> None:
        if self.test not in VERDICTS:
            raise ValueError(f"test must be one of {VERDICTS}, got {self.test!r}")

    @property
    def tested(self) -> bool:
        return self.test == "tested"

    def to_dict(self) -> dict[str, Any]:
        span = None if self.span_s is None else [round(float(v), 3) for v in self.span_s]
        return {"test": self.test, "test_reason": self.reason, "test_span_s": span}
