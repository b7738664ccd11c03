"""The saved landmark series: ``landmarks.npz`` (written atomically, read with checks).

>>> from hiprom.io.landmarks_npz import load_series, save_series
>>> save_series(result.series, "clip_hiprom/landmarks.npz")        # doctest: +SKIP
>>> series = load_series("clip_hiprom/landmarks.npz")               # doctest: +SKIP

Layout (version :data:`SCHEMA_VERSION`): a compressed NumPy archive with the arrays
``image_px``, ``visibility``, ``presence``, ``world_m``, ``time_s``, ``frame_index``, one
``extra__<name>`` array per entry of :attr:`LandmarkSeries.extras`, and ``header``: a JSON text
with ``schema_version``, ``dims``, ``landmark_names``, ``frame_size_px``, ``source``, ``model``,
``fps`` and ``meta``. Nothing is pickled: a file from elsewhere cannot run code when loaded.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from hiprom.core.landmarks import LANDMARK_NAMES, LandmarkSeries
from hiprom.errors import InputError
from hiprom.io.atomic import atomic_file

__all__ = ["SCHEMA_VERSION", "save_series", "load_series"]

#: Version of the saved ``landmarks.npz`` layout.
SCHEMA_VERSION = 1
_ARRAYS = ("image_px", "visibility", "presence", "world_m", "time_s", "frame_index")


def save_series(series: LandmarkSeries, path: str | Path) -> Path:
    """Write ``series`` to a compressed ``.npz`` file atomically; return ``path``."""
    path = Path(path)
    header = {
        "schema_version": SCHEMA_VERSION, "dims": list(series.dims),
        "landmark_names": list(LANDMARK_NAMES), "frame_size_px": list(series.frame_size_px),
        "source": series.source, "model": series.model, "fps": series.fps, "meta": series.meta,
    }
    with atomic_file(path, "wb") as fh:
        np.savez_compressed(fh, **{k: getattr(series, k) for k in _ARRAYS},
                            header=np.array(json.dumps(header)),
                            **{f"extra__{k}": v for k, v in series.extras.items()})
    return path


def load_series(path: str | Path) -> LandmarkSeries:
    """Read a series written by :func:`save_series`.

    Raises
    ------
    InputError
        The file is missing, not a hiprom landmarks archive, of another schema version, or
        inconsistent (arrays of the wrong shape).
    """
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
            extras = {k[len("extra__"):]: data[k] for k in data.files if k.startswith("extra__")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        detail = "not an .npz archive" if "pickle" in str(exc) else f"{exc.__class__.__name__}: {exc}"
        raise InputError(f"is not a hiprom landmarks file ({detail})",
                         path=path, fix="give the landmarks.npz from a hiprom output folder "
                                        "(or drop --from-landmarks to analyse a video).") from None
    version = header.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(f"landmarks schema version {version} is not supported "
                         f"(this hiprom reads version {SCHEMA_VERSION})", path=path,
                         fix="re-run 'hiprom analyze' on the clip to write a new file.")
    try:
        return LandmarkSeries(**arrays, frame_size_px=tuple(header["frame_size_px"]),
                              source=header.get("source", ""), model=header.get("model", ""),
                              fps=header.get("fps"), meta=header.get("meta", {}), extras=extras)
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"landmarks file is inconsistent: {exc.__class__.__name__}: {exc}", path=path,
                         fix="re-run 'hiprom analyze' on the clip to write a new file.") from None
