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

from ._version import __version__

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
    "analyze": "pipeline",
    "analyze_landmarks": "pipeline",
    "detect_landmarks": "pipeline",
    "load_model": "pipeline",
    "measure": "measure",
    "Config": "config",
    "LandmarkSeries": "landmarks",
    "AnalysisResult": "result",
    "HipromError": "errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hiprom' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
