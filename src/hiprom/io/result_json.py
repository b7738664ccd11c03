"""The one reader of a saved ``result.json``, validated (used by report, history and batch).

>>> data = read_result("clip_hiprom")                  # doctest: +SKIP
>>> data["sides"]["right"]["peak_ir_deg"]              # doctest: +SKIP

:func:`read_result` takes the file or its output folder, parses it and checks every field
with :func:`hiprom.core.result_schema.validate_result_dict`; anything wrong is an
:class:`~hiprom.errors.InputError` (exit 1) naming the file and the field. A hand-edited
NaN, ``1e308``, ``-999``, a string where a number belongs or ``"quality": "good"`` are
refused, never shown as a reading.

:func:`check_landmarks_match` says whether a ``landmarks.npz`` found beside a result is the
one that result was measured from (same source, frame count, frame rate and frame size),
so a file copied in from another clip is not used silently.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hiprom.core.result_schema import ResultSchemaError, validate_result_dict
from hiprom.errors import InputError
from hiprom.io.paths import check_input_path

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.landmarks import LandmarkSeries

__all__ = ["read_result", "result_file", "check_result", "check_landmarks_match"]

_FIX = "re-run hiprom analyze on the clip to write a new result.json (a result.json is not meant to be edited)."


def result_file(path: str | Path) -> Path:
    """``path/result.json`` for an output folder, else ``path`` (not checked)."""
    path = Path(path)
    return path / "result.json" if path.is_dir() else path


def check_result(data: Any, path: str | Path | None = None) -> dict[str, Any]:
    """``data`` if it is a valid ``hiprom.result`` v1 dict; else :class:`InputError` naming
    ``path`` (when given) and the bad field."""
    try:
        return validate_result_dict(data)
    except ResultSchemaError as exc:
        raise InputError(str(exc), path=path, fix=_FIX) from None


def read_result(path: str | Path) -> dict[str, Any]:
    """A validated ``result.json`` (``hiprom.result`` v1) from the file or its output folder.

    Raises
    ------
    InputError
        No such file, not JSON, or a field missing, of the wrong type, not finite or out of
        range (named: ``sides.left.peak_ir_deg: expected a number from -90 to 90° ...``).
    """
    path = Path(path)
    if os.path.lexists(path):          # a FIFO, a device or a link loop is named as what it is
        check_input_path(path, expected="a result.json written by hiprom analyze, or its folder")
    path = result_file(path)
    if not path.is_file():
        raise InputError("no result.json here: expected an output folder of hiprom analyze", path=path,
                         fix="give the folder hiprom analyze wrote (…_hiprom/) or its result.json.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"is not valid JSON: {exc}", path=path, fix=_FIX) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", path=path,
                         fix="check that the file is readable.") from None
    return check_result(data, path)


def check_landmarks_match(data: dict[str, Any], series: "LandmarkSeries", npz: str | Path) -> None:
    """Refuse a ``landmarks.npz`` that is not the one ``data`` was measured from.

    Compared: the source path, the number of frames, the frame rate (within 1e-6 relative)
    and the frame size. Raises :class:`InputError` naming the first difference.
    """
    inp = data.get("input") or {}
    found = {"input.path": series.source, "input.frames": series.n_frames, "input.fps": series.fps,
             "input.width_px": series.frame_size_px[0], "input.height_px": series.frame_size_px[1]}
    for field, have in found.items():
        want = inp.get(field.split(".", 1)[1])
        if want is None or have is None:
            same = want is None and have is None
        elif field == "input.fps":
            same = math.isclose(float(want), float(have), rel_tol=1e-6)
        elif field == "input.path":
            same = Path(str(want)) == Path(str(have))       # ./clip.mp4 is clip.mp4
        else:
            same = str(want) == str(have)
        if not same:
            raise InputError(f"belongs to another clip: its {field.split('.', 1)[1]} is {have!r} but result.json "
                             f"says {field} = {want!r}", path=npz,
                             fix="put the landmarks.npz of this analysis beside its result.json, or remove the "
                                 "stray file (the report is then made without the time series).")
