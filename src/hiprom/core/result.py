"""The result of an analysis: per-side measurements plus everything needed to trust them.

``result.json`` (schema ``hiprom.result`` version 1) is the stable, versioned contract other
tools read. Its per-side keys ``peak_ir_deg`` (largest internal rotation) and ``peak_er_deg``
(largest external rotation, as a positive number of degrees) are ``null`` where a side was
not measured.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hiprom._version import __version__
from hiprom.config import Config
from hiprom.core.landmarks import LandmarkSeries
from hiprom.interpret.measure import SIDES, Measurement

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure
    import pandas as pd

    from hiprom.io.frames import SourceInfo
    from hiprom.vision.model_store import ModelInfo

__all__ = ["AnalysisResult", "RESULT_SCHEMA", "RESULT_SCHEMA_VERSION"]

RESULT_SCHEMA = "hiprom.result"
RESULT_SCHEMA_VERSION = 1


def _round(v: Any, nd: int = 2) -> Any:
    return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else round(float(v), nd)


@dataclass(eq=False)
class AnalysisResult:
    """Measurements of one clip (or photo), with provenance.

    Use :attr:`sides` for the numbers, :meth:`to_dict` / :meth:`to_json` for the saved form,
    :meth:`to_pandas` for the angle time series and :meth:`plot` for a figure.
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

    @classmethod
    def build(cls, series: LandmarkSeries, measurement: Measurement, config: Config, *,
              source_info: "SourceInfo | None" = None, model: "ModelInfo | None" = None) -> "AnalysisResult":
        source: dict[str, Any] = {"path": series.source, "kind": series.meta.get("kind", "video"),
                                  "width_px": series.frame_size_px[0], "height_px": series.frame_size_px[1],
                                  "fps": series.fps, "frames": series.n_frames,
                                  "duration_s": _round(series.duration_s, 3),
                                  "rotation_deg": series.meta.get("rotation_deg", 0),
                                  "mirrored": series.meta.get("mirrored", False),
                                  "codec": series.meta.get("codec")}
        if source_info is not None:
            source.update(path=str(source_info.path), frame_count_declared=source_info.frame_count)
        model_d: dict[str, Any] = {"description": series.model}
        if model is not None:
            model_d = {"path": str(model.path), "variant": model.variant, "source": model.source,
                       "sha256": model.sha256, "description": series.model}
        return cls(series, measurement, config, source, model_d)

    # -- numbers ------------------------------------------------------------------
    @property
    def sides(self):
        """``{"left": SideResult, "right": SideResult}``."""
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
        person = self.series.meta.get("person", {})
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
            cols[f"{side}_used"] = a.clean.valid
        return pd.DataFrame(cols)

    def plot(self, ax=None) -> "matplotlib.figure.Figure":
        """Angle against time for both sides with peaks marked (see :mod:`hiprom.plots`)."""
        from hiprom.outputs.plots import plot_angles

        return plot_angles(self, ax=ax)

    def save(self, out_dir: str | Path, *, force: bool = False, plot: bool = True, extras=()) -> Path:
        """Write the output folder (see :func:`hiprom.outputs.write_outputs`)."""
        from hiprom.outputs.folder import write_outputs

        return write_outputs(self, out_dir, force=force, plot=plot, extras=extras)
