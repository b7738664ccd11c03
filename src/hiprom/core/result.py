"""The result of an analysis: per-side measurements plus everything needed to trust them.

``result.json`` (schema ``hiprom.result`` version 1) is the stable, versioned contract other
tools read. Its per-side keys ``peak_ir_deg`` (largest internal rotation) and ``peak_er_deg``
(largest external rotation, as a positive number of degrees) are ``null`` where a side was
not measured.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from hiprom._version import __version__
from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.core.measurement import SIDES, Measurement, SideResult
from hiprom.core.measurement import round_or_none as _round
from hiprom.core.session import TestInfo

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["AnalysisResult", "RESULT_SCHEMA", "RESULT_SCHEMA_VERSION"]

RESULT_SCHEMA = "hiprom.result"
RESULT_SCHEMA_VERSION = 1


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Measurements of one clip (or photo), with provenance. Immutable: :meth:`with_subject`
    and :meth:`with_norms` return a new result.

    Use :attr:`sides` for the numbers, :meth:`to_dict` / :meth:`to_json` for the saved form
    and :meth:`to_pandas` for the angle time series. (The result that :func:`hiprom.analyze`
    returns can also :meth:`~hiprom.apps.analysis.Analysis.plot` and
    :meth:`~hiprom.apps.analysis.Analysis.save` itself.)
    """

    series: LandmarkSeries
    measurement: Measurement
    config: Config
    source: dict[str, Any]
    model: dict[str, Any]
    created_utc: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc)
                             .replace(microsecond=0).isoformat())
    #: Who was measured (``id``, ``age``, ``sex``, ``sport``), when given.
    subject: dict[str, Any] = field(default_factory=dict)
    #: The comparison with the norm tables (:func:`hiprom.norms.compare`), when made.
    norms: dict[str, Any] | None = None
    #: When, by whom, pain, position, notes (:class:`hiprom.core.session.TestInfo`).
    test: TestInfo = field(default_factory=TestInfo)

    @classmethod
    def build(cls, series: LandmarkSeries, measurement: Measurement, config: Config, *,
              source: Mapping[str, Any] | None = None, model: Mapping[str, Any] | None = None) -> "AnalysisResult":
        """A result for a measured series.

        ``source`` adds to (or corrects) what the series says of its input (e.g. ``path``
        and ``frame_count_declared`` from the file); ``model`` describes the pose model
        (``path``, ``variant``, ``source``, ``sha256``).
        """
        cap = series.capture
        facts: dict[str, Any] = {"path": series.source, "kind": cap.kind,
                                 "width_px": series.frame_size_px[0], "height_px": series.frame_size_px[1],
                                 "fps": series.fps, "frames": series.n_frames,
                                 "duration_s": _round(series.duration_s, 3),
                                 "rotation_deg": cap.rotation_deg, "mirrored": cap.mirrored, "codec": cap.codec,
                                 **dict(source or {})}
        model_d: dict[str, Any] = {**dict(model or {}), "description": series.model}
        return cls(series, measurement, config, facts, model_d)

    def with_subject(self, **subject: Any) -> "AnalysisResult":
        """The same result with who was measured (``id``, ``age``, ``sex``, ``sport``...)."""
        return dataclasses.replace(self, subject=dict(subject))

    def with_test(self, **fields: Any) -> "AnalysisResult":
        """The same result with test facts (``date``, ``examiner``, ``notes``, ``pain``,
        ``position``; None keeps the current value); see :class:`~hiprom.core.session.TestInfo`."""
        return dataclasses.replace(self, test=self.test.updated(**fields))

    def with_norms(self, norms: Mapping[str, Any] | None) -> "AnalysisResult":
        """The same result with its comparison against the norm tables."""
        return dataclasses.replace(self, norms=None if norms is None else dict(norms))

    # -- numbers ------------------------------------------------------------------
    @property
    def sides(self) -> dict[str, SideResult]:
        """``{"right": SideResult, "left": SideResult}``."""
        return self.measurement.sides

    @property
    def warnings(self) -> list[str]:
        return list(self.measurement.warnings)

    @property
    def quality(self) -> dict[str, Any]:
        """Overall verdict: the worst tested side."""
        tested = [s.quality for s in self.sides.values() if s.tested] or [s.quality for s in self.sides.values()]
        worst = min(tested, key=lambda q: q.score)
        return {"score": worst.score, "level": worst.level}

    def to_dict(self) -> dict[str, Any]:
        m = self.measurement
        diff = m.left_right_ir_diff_deg
        person = {} if self.series.person is None else self.series.person.to_dict()
        return {
            "schema": RESULT_SCHEMA,
            "schema_version": RESULT_SCHEMA_VERSION,
            "software": {"name": "hiprom", "version": __version__, "python": platform.python_version()},
            "created_utc": self.created_utc,
            "input": self.source,
            "model": self.model,
            "config": self.config.to_dict(),
            "reference": self.config.geometry.reference,
            "camera": {**m.roll.to_dict(), "yaw_deg_estimate": _round(m.yaw_deg, 1)},
            "person": person,
            "sides": {side: m.sides[side].to_dict() for side in SIDES},
            "left_right": {
                "ir_difference_deg": _round(abs(diff)) if diff is not None else None,
                "larger_ir_side": (None if diff is None else "right" if diff > 0 else "left" if diff < 0 else "equal"),
            },
            "quality": self.quality,
            "warnings": self.warnings,
            "test": self.test.to_dict(),
            **({"subject": self.subject} if self.subject else {}),
            **({"norms": self.norms} if self.norms is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_pandas(self) -> "pd.DataFrame":
        """The angle time series: one row per frame (the ``angles.csv`` table).

        Columns: ``frame``, ``time_s``, and per side ``{side}_raw_deg`` (before cleaning),
        ``{side}_deg`` (filtered, in the result's reference), ``{side}_visibility``,
        ``{side}_used`` (kept by the cleaning).
        """
        import pandas as pd

        cols: dict[str, Any] = {"frame": self.series.frame_index, "time_s": np.round(self.series.time_s, 6)}
        for side in SIDES:
            a = self.measurement.angles[side]
            res = self.sides[side]
            offset = res.rest_deg if (res.reference == "neutral" and res.rest_deg is not None) else 0.0
            cols[f"{side}_raw_deg"] = np.round(a.raw_deg - offset, 3)
            cols[f"{side}_deg"] = np.round(a.filtered_deg - offset, 3)
            cols[f"{side}_visibility"] = np.round(a.visibility, 3)
            cols[f"{side}_used"] = a.valid
        return pd.DataFrame(cols)
