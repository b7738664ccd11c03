"""What a ``result.json`` (``hiprom.result`` version 1) may hold: one pure validator.

``validate_result_dict(d)`` returns ``d`` when every field it has is of the right type and,
for a number, finite and within a plausible range; otherwise it raises
:class:`ResultSchemaError` naming the first bad field by its path (``sides.left.peak_ir_deg``)
with what was expected and what was found. The readers of saved results (``hiprom report``,
``hiprom history``, the batch summary) go through it (:func:`hiprom.io.result_json.read_result`),
so a hand-edited or damaged file is refused instead of being shown as a reading.

What is required: ``schema``, ``schema_version`` and ``sides`` with a ``left`` and a
``right`` object. Every other field is optional (a result written by another tool may leave
some out), but checked when present. Ranges (degrees unless said):

=====================================================  ==========================
peaks, means and rest (``peak_ir_deg``, ``rest_deg``)   −90 … 90 (a shank swings at most
                                                        90° either side of vertical)
``total_arc_deg``                                       −180 … 180
spreads, ``ir_difference_deg``                          0 … 180
camera roll and yaw                                     −90 … 90
quality ``score``                                       0 … 1
times (``*_t_s``, ``*_hold_s``, ``duration_s``)        0 … 10⁶ s
=====================================================  ==========================

and a side that was not tested has no peak. Pure: no I/O.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from hiprom.config import check_range, shown
from hiprom.core.session import TestInfo

__all__ = ["ResultSchemaError", "validate_result_dict", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA = "hiprom.result"
SCHEMA_VERSION = 1

_ANGLE = (-90.0, 90.0)
_ARC = (-180.0, 180.0)
_SPREAD = (0.0, 180.0)
_TIME = (0.0, 1e6)
_SIDE_ANGLES = ("peak_ir_deg", "peak_er_deg", "mean_ir_deg", "mean_er_deg", "rest_deg")
_SIDE_PEAKS = ("peak_ir_deg", "peak_er_deg", "mean_ir_deg", "mean_er_deg", "total_arc_deg")
_LEVELS = ("good", "fair", "poor")


class ResultSchemaError(ValueError):
    """A field of a result that is missing, of the wrong type or out of range.

    Attributes
    ----------
    field
        Its path, e.g. ``sides.left.peak_ir_deg``.
    problem
        What was expected and what was found.
    """

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}" if field else problem)


class _Fields:
    """Checks of the fields of one JSON object at ``where`` (a dotted path)."""

    def __init__(self, d: Any, where: str):
        if not isinstance(d, dict):
            raise ResultSchemaError(where, f"expected an object {{...}}, got {_kind(d)}")
        self.d, self.where = d, where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return key in self.d and self.d[key] is not None

    def number(self, key: str, lo: float, hi: float, *, unit: str = "", required: bool = False,
               integer: bool = False) -> None:
        if key not in self.d and not required:
            return
        value = self.d.get(key)
        if value is None and not required:
            return
        try:
            check_range(self.path(key), value, lo, hi, unit=unit, integer=integer)
        except ValueError as exc:                  # "<path> must be a number from lo to hi, got x"
            expected, got = str(exc).split(" must be ", 1)[1].rsplit(", got ", 1)
            raise ResultSchemaError(self.path(key), f"expected {expected}{'' if required else ' (or null)'}, "
                                                    f"got {_json(value) if not _is_number(value) else got}") from None

    def choice(self, key: str, allowed: tuple, *, required: bool = False) -> None:
        if key not in self.d and not required:
            return
        value = self.d.get(key)
        if not any(value == a and type(value) is type(a) for a in allowed):   # false is not 0
            raise ResultSchemaError(self.path(key), f"expected one of {', '.join(map(_json, allowed))}, "
                                                    f"got {_json(value)}")

    def boolean(self, key: str) -> None:
        if key in self.d and not isinstance(self.d[key], bool):
            raise ResultSchemaError(self.path(key), f"expected true or false, got {_json(self.d[key])}")

    def text(self, key: str, *, nullable: bool = True) -> None:
        if key not in self.d or (nullable and self.d[key] is None):
            return
        if not isinstance(self.d[key], str):
            raise ResultSchemaError(self.path(key), f"expected a string, got {_json(self.d[key])}")

    def texts(self, key: str) -> None:
        if key not in self.d:
            return
        items = self.d[key]
        if not isinstance(items, list):
            raise ResultSchemaError(self.path(key), f"expected a list of strings, got {_kind(items)}")
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ResultSchemaError(f"{self.path(key)}[{i}]", f"expected a string, got {_json(item)}")

    def child(self, key: str) -> "_Fields | None":
        """The object at ``key``, or None when the key is absent."""
        return self.required(key) if key in self.d else None

    def required(self, key: str) -> "_Fields":
        """The object at ``key``, which must be there."""
        if key not in self.d:
            raise ResultSchemaError(self.path(key), "is missing")
        return _Fields(self.d[key], self.path(key))


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), f"the number {shown(value)}" if isinstance(value, (int, float)) else
                     type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if _is_number(value):
        return shown(value)
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else _kind(value)


def _check_input(f: _Fields) -> None:
    f.text("path", nullable=False)
    f.choice("kind", ("video", "image", "images"))
    f.number("width_px", 1, 100_000, integer=True)
    f.number("height_px", 1, 100_000, integer=True)
    f.number("fps", 0.001, 10_000)
    f.number("frames", 0, 10**9, integer=True)
    f.number("frame_count_declared", 0, 10**9, integer=True)
    f.number("duration_s", *_TIME, unit=" s")
    f.choice("rotation_deg", (0, 90, 180, 270))
    f.boolean("mirrored")
    f.text("codec")


def _check_side(f: _Fields) -> None:
    f.boolean("tested")
    f.boolean("rest_found")
    f.choice("reference", ("vertical", "neutral"))
    for key in _SIDE_ANGLES:
        f.number(key, *_ANGLE, unit="°")
    f.number("total_arc_deg", *_ARC, unit="°")
    for key in ("ir_spread_deg", "er_spread_deg"):
        f.number(key, *_SPREAD, unit="°")
    for key in ("peak_ir_t_s", "peak_er_t_s"):
        f.number(key, *_TIME, unit=" s")
    for key in ("peak_ir_frame", "peak_er_frame"):
        f.number(key, 0, 10**9, integer=True)
    f.number("n_reps", 0, 100_000, integer=True)
    if f.d.get("tested") is False:
        for key in _SIDE_PEAKS:
            if f.has(key):
                raise ResultSchemaError(f.path(key), f"a side that was not tested has no reading, got "
                                                     f"{shown(f.d[key])}")
    if "reps" in f.d:
        reps = f.d["reps"]
        if not isinstance(reps, list):
            raise ResultSchemaError(f.path("reps"), f"expected a list, got {_kind(reps)}")
        for i, rep in enumerate(reps):
            r = _Fields(rep, f"{f.path('reps')}[{i}]")
            r.number("rep", 1, 100_000, integer=True)
            r.number("image", 0, 10**9, integer=True)
            for kind in ("ir", "er"):
                r.number(f"{kind}_deg", *_ANGLE, unit="°")
                r.number(f"{kind}_t_s", *_TIME, unit=" s")
                r.number(f"{kind}_hold_s", *_TIME, unit=" s")
    q = f.child("quality")
    if q is not None:
        _check_quality(q)
        q.texts("reasons")
        q.boolean("withheld")
    f.child("diagnostics")


def _check_quality(q: _Fields) -> None:
    q.number("score", 0.0, 1.0)
    q.choice("level", _LEVELS)


def _check_test(f: _Fields) -> None:
    for key in ("date", "date_source", "examiner", "notes", "pain"):
        f.text(key)
    f.text("position", nullable=False)
    try:
        TestInfo.from_dict(f.d)
    except (TypeError, ValueError) as exc:
        raise ResultSchemaError(f.where, str(exc)) from None


def validate_result_dict(d: Any) -> dict[str, Any]:
    """``d`` itself if it is a valid ``hiprom.result`` v1; else :class:`ResultSchemaError`
    naming the first bad field (see the module notes for what is checked)."""
    if not isinstance(d, dict) or d.get("schema") != SCHEMA or d.get("schema_version") != SCHEMA_VERSION:
        got = (f"schema {_json(d.get('schema'))} version {_json(d.get('schema_version'))}" if isinstance(d, dict)
               else _kind(d))
        raise ResultSchemaError("", f"expected a {SCHEMA} version {SCHEMA_VERSION} result, got {got}")
    top = _Fields(d, "")
    if "created_utc" in d:
        top.text("created_utc", nullable=False)
        try:
            _dt.datetime.fromisoformat(d["created_utc"])
        except ValueError:
            raise ResultSchemaError("created_utc", f"expected an ISO date-time, got {d['created_utc']!r}") from None
    for key in ("software", "model", "person", "norms"):
        top.child(key)
    inp = top.child("input")
    if inp is not None:
        _check_input(inp)
    config = top.child("config")
    if config is not None:
        for section, values in config.d.items():
            _Fields(values, config.path(section))
    top.choice("reference", ("vertical", "neutral"))
    cam = top.child("camera")
    if cam is not None:
        for key in ("roll_deg", "yaw_deg_estimate", "body_roll_deg", "scene_roll_deg"):
            cam.number(key, *_ANGLE, unit="°")
        cam.text("roll_source")
    sides = top.required("sides")
    if set(sides.d) != {"left", "right"}:
        got = ", ".join(map(repr, sides.d)) or "none"
        raise ResultSchemaError("sides", f"expected exactly left and right, got {got}")
    for side in ("left", "right"):
        _check_side(sides.required(side))
    lr = top.child("left_right")
    if lr is not None:
        lr.number("ir_difference_deg", *_SPREAD, unit="°")
        lr.choice("larger_ir_side", (None, "left", "right", "equal"))
    quality = top.child("quality")
    if quality is not None:
        _check_quality(quality)
    top.texts("warnings")
    test = top.child("test")
    if test is not None:
        _check_test(test)
    subject = top.child("subject")
    if subject is not None:
        subject.text("id")
        subject.number("age", 0.0, 150.0)
        subject.text("sex")
        subject.text("sport")
    return d
