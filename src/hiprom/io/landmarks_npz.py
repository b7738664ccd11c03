"""``landmarks.npz``: a :class:`~hiprom.core.landmarks.LandmarkSeries` on disk.

A compressed NumPy archive: the landmark arrays, the silhouette's shank lines
(``shank__<name>``), which frames the pose model saw (``model_seen``, when it skipped some)
and a JSON ``header`` (schema version, frame size, source, model, fps,
capture facts, scene lines, the person chosen). Version 1 files (a free ``meta`` dict and
``extra__`` arrays) are read too.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from hiprom.core.capture import Capture, PersonChoice, SceneLine, ShankLines
from hiprom.core.landmarks import LANDMARK_NAMES, LandmarkSeries
from hiprom.errors import InputError
from hiprom.io.atomic import atomic_file

__all__ = ["SCHEMA_VERSION", "save_series", "load_series"]

#: Version of the saved ``landmarks.npz`` layout (1: free ``meta`` and ``extras``; 2: typed).
SCHEMA_VERSION = 2
_ARRAYS = ("image_px", "visibility", "presence", "world_m", "time_s", "frame_index")
_V1_SHANK = {"shank_mid_px": "mid_px", "shank_lat_px": "lateral_px", "shank_clean": "clean",
             "shank_points_px": "points_px"}


def save_series(series: LandmarkSeries, path: str | Path) -> Path:
    """Write ``series`` to a compressed ``.npz`` file atomically; returns the path."""
    path = Path(path)
    header = {
        "schema_version": SCHEMA_VERSION, "dims": list(series.dims),
        "landmark_names": list(LANDMARK_NAMES), "frame_size_px": list(series.frame_size_px),
        "source": series.source, "model": series.model, "fps": series.fps,
        "capture": series.capture.to_dict(), "scene_lines": [s.to_dict() for s in series.scene_lines],
        "person": None if series.person is None else series.person.to_dict(),
    }
    lines = {} if series.shank_lines is None else {f"shank__{k}": v for k, v in series.shank_lines.arrays().items()}
    if series.model_seen is not None:
        lines["model_seen"] = series.model_seen
    with atomic_file(path) as fh:
        np.savez_compressed(fh, **{k: getattr(series, k) for k in _ARRAYS},
                            header=np.array(json.dumps(header)), **lines)
    return path


def _not_ours(path: Path, detail: str) -> InputError:
    return InputError(f"is not a hiprom landmarks file ({detail})", path=path,
                      fix="give the landmarks.npz from a hiprom output folder (or drop --from-landmarks "
                          "to analyse a video).")


def load_series(path: str | Path) -> LandmarkSeries:
    """Read a series written by :func:`save_series`; raise :class:`InputError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError("landmarks file does not exist", path=path,
                         fix="give the landmarks.npz written by a previous 'hiprom analyze'.")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with data:
            header = json.loads(str(data["header"]))
            if not isinstance(header, dict):
                raise ValueError("the header is not a JSON object")
            arrays = {k: data[k] for k in _ARRAYS}
            extra = {k: data[k] for k in data.files if k.startswith(("extra__", "shank__"))}
            seen = data["model_seen"] if "model_seen" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise _not_ours(path, "not an .npz archive" if "pickle" in str(exc)
                        else f"{exc.__class__.__name__}: {exc}") from None
    version = header.get("schema_version")
    if version not in (1, SCHEMA_VERSION):
        raise InputError(f"landmarks schema version {version} is not supported "
                         f"(this hiprom reads versions 1 and {SCHEMA_VERSION})", path=path,
                         fix="re-run 'hiprom analyze' on the clip to write a new file.")
    try:
        typed = _typed_v1(header, extra) if version == 1 else _typed_v2(header, extra)
        return LandmarkSeries(**arrays, frame_size_px=tuple(header["frame_size_px"]),
                              source=header.get("source", ""), model=header.get("model", ""),
                              fps=header.get("fps"), model_seen=seen, **typed)
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"landmarks file is inconsistent: {exc.__class__.__name__}: {exc}", path=path,
                         fix="re-run 'hiprom analyze' on the clip to write a new file.") from None


def _shank_lines(arrays: dict[str, np.ndarray]) -> ShankLines | None:
    """Shank lines from saved arrays; slice widths and crossings that older files lack are
    unknown (NaN) and none (0): their slices were kept only where clear."""
    if {"mid_px", "lateral_px", "clean", "points_px"} - set(arrays):
        return None
    n, _, k, _ = arrays["points_px"].shape
    return ShankLines(**{"width_px": np.full((n, 2, k), np.nan), "crossed": np.zeros((n, 2, k)), **arrays})


def _typed_v2(header: dict[str, Any], extra: dict[str, np.ndarray]) -> dict[str, Any]:
    lines = {k[len("shank__"):]: v for k, v in extra.items() if k.startswith("shank__")}
    return {"capture": Capture.from_dict(header.get("capture") or {}),
            "scene_lines": tuple(SceneLine.from_dict(s) for s in header.get("scene_lines") or ()),
            "shank_lines": _shank_lines(lines),
            "person": None if not header.get("person") else PersonChoice.from_dict(header["person"])}


def _typed_v1(header: dict[str, Any], extra: dict[str, np.ndarray]) -> dict[str, Any]:
    """Version 1: ``meta`` held the capture facts, scene lines and person; ``extra__shank_*``
    the silhouette lines."""
    meta = dict(header.get("meta") or {})
    capture = {k: meta[k] for k in ("kind", "rotation_deg", "mirrored", "codec", "files", "max_people", "live")
               if k in meta}
    capture["hand_held"] = bool(meta.get("camera_hand_held", False))
    lines = {_V1_SHANK[k[len("extra__"):]]: v for k, v in extra.items() if k[len("extra__"):] in _V1_SHANK}
    return {"capture": Capture.from_dict(capture),
            "scene_lines": tuple(SceneLine.from_dict(s) for s in meta.get("scene_lines") or ()),
            "shank_lines": _shank_lines(lines),
            "person": PersonChoice.from_dict(meta["person"]) if meta.get("person") else None}
