"""The result :func:`hiprom.analyze` returns: the core result plus ``plot()`` and ``save()``.

:class:`~hiprom.core.result.AnalysisResult` is pure data and knows nothing of figures or
files; this facade, above both the core and the outputs, adds the two conveniences of the
documented API::

    result = hiprom.analyze("clip.mp4")
    result.plot()                      # a matplotlib Figure
    result.save("out/", force=True)    # the output folder
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from hiprom.core.result import AnalysisResult

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

__all__ = ["Analysis"]


@dataclass(frozen=True, eq=False)
class Analysis(AnalysisResult):
    """An :class:`~hiprom.core.result.AnalysisResult` that can draw and save itself."""

    def plot(self, ax=None) -> "matplotlib.figure.Figure":
        """Angle against time for both sides with peaks marked (see :mod:`hiprom.outputs.plots`);
        for a photo, the readings drawn on it (:func:`hiprom.outputs.folder.result_figure`)."""
        from hiprom.outputs.plots import plot_angles

        if ax is None and self.series.kind != "video":
            from hiprom.outputs.folder import result_figure

            return result_figure(self)
        return plot_angles(self, ax=ax)

    def save(self, out_dir: str | Path, *, force: bool = False, plot: bool = True,
             extras: Sequence[Callable[[Path], object]] = ()) -> Path:
        """Write the output folder (see :func:`hiprom.outputs.folder.write_outputs`)."""
        from hiprom.outputs.folder import write_outputs

        return write_outputs(self, out_dir, force=force, plot=plot, extras=extras)
