"""What a clinician records about a test besides the numbers: when, by whom, pain, position, notes.

:class:`TestInfo` is the ``test`` object of ``result.json``::

    "test": {"date": "2024-05-01T10:12:00+00:00", "date_source": "clip", "examiner": "AB",
             "notes": "after warm-up", "pain": "left", "position": "seated"}

``date`` is when the test was done (an ISO date ``2024-05-01`` or date-time), with where it
came from in ``date_source``: ``"given"`` (``--test-date``, a manifest's ``date``), ``"clip"``
(the file's own creation time: the video container's ``creation_time`` or a photo's EXIF
``DateTimeOriginal``) or ``None`` when not known (the analysis time stands in, in the history).
``pain`` is ``"no"``, ``"left"``, ``"right"``, ``"both"`` or ``None`` (not recorded);
``position`` is the test position, ``"seated"`` (the test hiprom measures) by default. Pure: no I/O.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Any, Mapping

__all__ = ["TestInfo", "PAIN_CHOICES", "POSITION_CHOICES", "DATE_SOURCES", "parse_test_date", "MAX_TEXT"]

PAIN_CHOICES = ("no", "left", "right", "both")
POSITION_CHOICES = ("seated", "prone", "supine")
DATE_SOURCES = ("given", "clip")
#: Longest examiner or notes text kept (characters).
MAX_TEXT = 2000


def parse_test_date(text: str) -> str:
    """``"2024-05-01"`` stays a date; ``"2024-05-01 10:12"`` or ``"…T10:12:00Z"`` becomes an ISO
    date-time (a naive time is kept as given: local time). Raises ``ValueError`` naming the
    accepted forms."""
    value = str(text).strip()
    try:
        if len(value) == 10:
            return _dt.date.fromisoformat(value).isoformat()
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD or a date-time YYYY-MM-DD HH:MM, got {text!r}") from None
    return t.replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class TestInfo:
    """The test's own facts (see the module notes); every field optional but ``position``."""

    __test__ = False                     # not a pytest test class

    date: str | None = None
    date_source: str | None = None
    examiner: str | None = None
    notes: str | None = None
    pain: str | None = None
    position: str = "seated"

    def __post_init__(self) -> None:
        if self.date is not None:
            object.__setattr__(self, "date", parse_test_date(self.date))
            if self.date_source not in DATE_SOURCES:
                raise ValueError(f"date_source must be one of {', '.join(DATE_SOURCES)}, got {self.date_source!r}")
        elif self.date_source is not None:
            raise ValueError(f"date_source {self.date_source!r} without a date")
        for name in ("examiner", "notes"):
            value = getattr(self, name)
            if value is not None:
                value = str(value).strip() or None
                if value is not None and len(value) > MAX_TEXT:
                    raise ValueError(f"{name} must be at most {MAX_TEXT} characters, got {len(value)}")
                object.__setattr__(self, name, value)
        if self.pain is not None and self.pain not in PAIN_CHOICES:
            raise ValueError(f"pain must be one of {', '.join(PAIN_CHOICES)}, got {self.pain!r}")
        if self.position not in POSITION_CHOICES:
            raise ValueError(f"position must be one of {', '.join(POSITION_CHOICES)}, got {self.position!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "TestInfo":
        """From a ``result.json``'s ``test`` object (unknown keys ignored; ``{}`` or None: defaults)."""
        d = dict(d or {})
        return cls(**{k: d[k] for k in ("date", "date_source", "examiner", "notes", "pain", "position")
                      if d.get(k) is not None})

    def updated(self, **given: Any) -> "TestInfo":
        """A copy with the fields given (None = keep); a date given here has ``date_source="given"``."""
        fields = {k: v for k, v in given.items() if v is not None}
        if "date" in fields:
            fields.setdefault("date_source", "given")
        return TestInfo(**{**asdict(self), **fields})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
