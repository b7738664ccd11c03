"""hiprom: measure hip internal/external rotation from a seated-test video or photo.

>>> import hiprom
>>> result = hiprom.analyze("samples/seated_ir_right.mp4")   # doctest: +SKIP
>>> result.sides["right"].peak_ir_deg                         # doctest: +SKIP
38.4

Heavy modules (numpy, scipy, mediapipe) load on first use, so importing hiprom is cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from hiprom._version import __version__

__all__ = [
    "__version__",
    "analyze",
    "analyze_landmarks",
    "detect_landmarks",
    "load_model",
    "measure",
    "Config",
    "LandmarkSeries",
    "AnalysisResult",
    "HipromError",
]

_LAZY = {
    "analyze": "hiprom.apps.pipeline",
    "analyze_landmarks": "hiprom.apps.pipeline",
    "detect_landmarks": "hiprom.apps.pipeline",
    "load_model": "hiprom.apps.pipeline",
    "measure": "hiprom.interpret.measure",
    "Config": "hiprom.config",
    "LandmarkSeries": "hiprom.core.landmarks",
    "AnalysisResult": "hiprom.core.result",
    "HipromError": "hiprom.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hiprom' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
