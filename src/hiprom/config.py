"""Settings: defaults in dataclasses, documented in ``default_config.toml``.

Precedence: built-in defaults < a TOML file (``--config``) < command-line flags.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from hiprom.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Config", "ModelSettings", "VideoSettings", "GeometrySettings", "SignalSettings", "MovementSettings",
           "QualitySettings", "RecognitionSettings", "default_config_text", "check_range", "range_text", "shown"]


# -- the one range check of every number a user can set (settings, command-line options) --------
# ``check_range("max_gap_s", 0.35, 0.0, 5.0, unit=" s")`` returns the value or raises ValueError
# with one message style everywhere: "max_gap_s must be a number from 0 to 5 s, got nan". NaN and
# ±inf are never in range (``not lo <= nan``), and true/false are not numbers here.

def range_text(lo: float, hi: float, *, unit: str = "", lo_open: bool = False, integer: bool = False) -> str:
    """``"a number from 0 to 5 s"`` / ``"a whole number from 1 to 5"`` / ``"a number above 0
    and at most 30 Hz"``: the allowed range, as the error messages and help texts say it."""
    kind = "a whole number" if integer else "a number"
    if lo_open:
        return f"{kind} above {lo:g} and at most {hi:g}{unit}"
    return f"{kind} from {lo:g} to {hi:g}{unit}"


def check_range(name: str, value: Any, lo: float, hi: float, *, unit: str = "", lo_open: bool = False,
                integer: bool = False) -> Any:
    """``value`` if it is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``),
    a whole number with ``integer``; else :class:`ValueError` naming ``name`` and the range.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer())
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and v <= hi
    if not ok:
        raise ValueError(f"{name} must be {range_text(lo, hi, unit=unit, lo_open=lo_open, integer=integer)}, "
                         f"got {shown(value)}")
    return value


def shown(value: Any) -> str:
    """A value as a message quotes it: ``nan``, ``9``, ``0.5``, ``'abc'`` (numpy scalars plain)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


@dataclass(frozen=True)
class ModelSettings:
    path: str = ""
    variant: str = "full"
    download: bool = True
    max_people: int = 2
    follow_after_s: float = 1.0
    recheck_s: float = 2.0
    max_side_px: int = 1920
    detect_at_holds: bool = True
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    mirror_photos: bool = True

    def __post_init__(self) -> None:
        if self.variant not in ("lite", "full", "heavy"):
            raise ValueError(f"variant must be lite, full or heavy, got {self.variant!r}")
        check_range("max_people", self.max_people, 1, 5, integer=True)
        check_range("follow_after_s", self.follow_after_s, 0.0, 60.0, unit="s")
        check_range("recheck_s", self.recheck_s, 0.1, 3600.0, unit="s")
        if self.max_side_px != 0:
            check_range("max_side_px", self.max_side_px, 256, 8192, unit="px", integer=True)
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            check_range(name, getattr(self, name), 0.0, 1.0)


@dataclass(frozen=True)
class VideoSettings:
    mirrored: bool = False
    queue_size: int = 8
    decoder_threads: int | str = "auto"
    model_every: int = 3

    def __post_init__(self) -> None:
        check_range("queue_size", self.queue_size, 1, 1024, integer=True)
        check_range("model_every", self.model_every, 1, 4, integer=True)
        if isinstance(self.decoder_threads, str):
            if self.decoder_threads != "auto":
                raise ValueError(f"decoder_threads must be 'auto' or a number, got {self.decoder_threads!r}")
        else:
            check_range("decoder_threads", self.decoder_threads, 0, 64, integer=True)

    @property
    def decoder_threads_or_auto(self) -> int | None:
        """The thread count for :func:`hiprom.frames.open_source` (None = auto)."""
        return None if isinstance(self.decoder_threads, str) else int(self.decoder_threads)


@dataclass(frozen=True)
class GeometrySettings:
    reference: str = "vertical"
    roll_deg: float | str = "auto"
    silhouette: bool = True
    perspective: bool = True
    camera_fov_deg: float = 65.0
    femur_shank_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.reference not in ("vertical", "neutral"):
            raise ValueError(f"reference must be 'vertical' or 'neutral', got {self.reference!r}")
        if isinstance(self.roll_deg, str):
            if self.roll_deg != "auto":
                raise ValueError(f"roll_deg must be 'auto' or a number, got {self.roll_deg!r}")
        else:
            check_range("roll_deg", self.roll_deg, -45.0, 45.0, unit="°")
        check_range("camera_fov_deg", self.camera_fov_deg, 20.0, 150.0, unit="°")
        check_range("femur_shank_ratio", self.femur_shank_ratio, 0.6, 1.6)

    @property
    def fixed_roll_deg(self) -> float | None:
        return None if isinstance(self.roll_deg, str) else float(self.roll_deg)


@dataclass(frozen=True)
class SignalSettings:
    """Settings of :func:`clean_angle` (see the ``[signal]`` section of the config).

    ``cutoff_hz`` None = automatic: ``default_cutoff_hz`` capped at 0.4 × the frame rate.
    """

    min_visibility: float = 0.5
    max_gap_s: float = 0.35
    outlier_window_s: float = 0.2
    outlier_threshold: float = 4.0
    outlier_min_deg: float = 4.0
    cutoff_hz: float | None = None
    default_cutoff_hz: float = 3.0
    filter_order: int = 4

    def __post_init__(self) -> None:
        check_range("min_visibility", self.min_visibility, 0.0, 1.0)
        check_range("max_gap_s", self.max_gap_s, 0.0, 5.0, unit=" s")
        check_range("outlier_window_s", self.outlier_window_s, 0.0, 5.0, unit=" s", lo_open=True)
        check_range("outlier_threshold", self.outlier_threshold, 0.0, 100.0, lo_open=True)
        check_range("outlier_min_deg", self.outlier_min_deg, 0.0, 90.0, unit="°")
        if self.cutoff_hz is not None:
            try:
                check_range("cutoff_hz", self.cutoff_hz, 0.0, 100.0, unit=" Hz", lo_open=True)
            except ValueError as exc:                    # say that 0 is allowed (it means automatic)
                raise ValueError(str(exc).replace("must be ", "must be 0 (automatic) or ", 1)) from None
        check_range("default_cutoff_hz", self.default_cutoff_hz, 0.0, 100.0, unit=" Hz", lo_open=True)
        check_range("filter_order", self.filter_order, 2, 12, integer=True)
        if self.filter_order % 2:
            raise ValueError(f"filter_order must be even (2, 4, ... 12), got {self.filter_order}")

    def cutoff_for(self, fps: float) -> float:
        """The cutoff frequency used at a frame rate (always below Nyquist)."""
        wanted = self.cutoff_hz if self.cutoff_hz is not None else self.default_cutoff_hz
        return float(min(wanted, 0.4 * fps))


@dataclass(frozen=True)
class MovementSettings:
    """Thresholds of phase detection (the ``[movement]`` section of the config)."""

    still_velocity_deg_s: float = 12.0
    min_rest_s: float = 0.4
    tested_min_range_deg: float = 8.0
    excursion_enter_deg: float = 6.0
    excursion_exit_deg: float = 3.0
    min_excursion_s: float = 0.3
    hold_tolerance_deg: float = 2.0
    min_hold_s: float = 0.3
    photo_tested_min_deg: float = 12.0

    def __post_init__(self) -> None:
        for name, hi, unit in (("still_velocity_deg_s", 360.0, "°/s"), ("min_rest_s", 10.0, " s"),
                               ("tested_min_range_deg", 90.0, "°"), ("excursion_enter_deg", 90.0, "°"),
                               ("excursion_exit_deg", 90.0, "°"), ("min_excursion_s", 10.0, " s"),
                               ("hold_tolerance_deg", 30.0, "°"), ("photo_tested_min_deg", 90.0, "°")):
            check_range(name, getattr(self, name), 0.0, hi, unit=unit, lo_open=True)
        check_range("min_hold_s", self.min_hold_s, 0.0, 10.0, unit=" s")
        if self.excursion_exit_deg >= self.excursion_enter_deg:
            raise ValueError(f"excursion_exit_deg must be smaller than excursion_enter_deg "
                             f"({self.excursion_enter_deg:g}), got {self.excursion_exit_deg:g}")

    @property
    def min_clip_s(self) -> float:
        """The shortest clip the protocol fits in: a rest (``min_rest_s``), then an
        excursion (``min_excursion_s``) holding at end range (``min_hold_s``).

        .. math:: T_{min} = t_{rest} + t_{excursion} + t_{hold}

        With the defaults 0.4 + 0.3 + 0.3 = 1.0 s. A clip shorter than this cannot hold a
        test, however it was filmed.
        """
        return self.min_rest_s + self.min_excursion_s + self.min_hold_s


@dataclass(frozen=True)
class QualitySettings:
    min_detected_fraction: float = 0.9
    min_leg_visibility: float = 0.7
    max_jitter_deg: float = 1.5
    max_roll_deg: float = 8.0
    max_yaw_deg: float = 30.0
    good_max_uncertainty_deg: float = 3.0
    fair_max_uncertainty_deg: float = 6.0
    max_uncertainty_deg: float = 10.0

    def __post_init__(self) -> None:
        check_range("min_detected_fraction", self.min_detected_fraction, 0.0, 1.0)
        check_range("min_leg_visibility", self.min_leg_visibility, 0.0, 1.0)
        check_range("max_jitter_deg", self.max_jitter_deg, 0.0, 30.0, unit="°", lo_open=True)
        check_range("max_roll_deg", self.max_roll_deg, 0.0, 45.0, unit="°")
        check_range("max_yaw_deg", self.max_yaw_deg, 0.0, 90.0, unit="°", lo_open=True)
        for name in ("good_max_uncertainty_deg", "fair_max_uncertainty_deg", "max_uncertainty_deg"):
            check_range(name, getattr(self, name), 0.0, 90.0, unit="°", lo_open=True)
        if not self.good_max_uncertainty_deg <= self.fair_max_uncertainty_deg <= self.max_uncertainty_deg:
            raise ValueError("the uncertainty limits must grow: good_max_uncertainty_deg <= "
                             "fair_max_uncertainty_deg <= max_uncertainty_deg")


@dataclass(frozen=True)
class RecognitionSettings:
    """Recognising the seated test (the ``[recognition]`` section; see :mod:`hiprom.signal.seated`)."""

    min_excursion_deg: float = 10.0
    min_seated_s: float = 2.0
    max_thigh_drop: float = 0.6
    max_hip_shift: float = 0.35
    max_knee_shift: float = 0.5
    min_shank_ratio: float = 0.7

    def __post_init__(self) -> None:
        for name, hi, unit in (("min_excursion_deg", 90.0, "°"), ("min_seated_s", 60.0, " s"),
                               ("max_thigh_drop", 5.0, ""), ("max_hip_shift", 5.0, ""), ("max_knee_shift", 5.0, "")):
            check_range(name, getattr(self, name), 0.0, hi, unit=unit, lo_open=True)
        if not (isinstance(self.min_shank_ratio, float | int) and 0.0 < self.min_shank_ratio < 1.0):
            raise ValueError(f"min_shank_ratio must be between 0 and 1, got {shown(self.min_shank_ratio)}")


#: What a value written as each annotation may be (bool is never a number here).
_KINDS: dict[str, tuple[type, ...]] = {"bool": (bool,), "int": (numbers.Integral,),
                                       "float": (numbers.Real,), "str": (str,), "None": (type(None),)}


def _type_problem(cls: type, name: str, value: Any) -> str | None:
    """Why ``value`` does not fit the annotation of field ``name`` of ``cls`` (None = fits).

    TOML has real booleans and numbers, so ``mirrored = "false"`` (a string, which is true) or
    ``max_people = 1.5`` are mistakes to report, not values to use.
    """
    annotation = str(next(f.type for f in dataclasses.fields(cls) if f.name == name))
    allowed = [a.strip() for a in annotation.split("|")]
    if any(a not in _KINDS for a in allowed):
        return None                                     # an annotation we do not judge
    for a in allowed:
        if isinstance(value, bool) and a != "bool":
            continue
        if isinstance(value, _KINDS[a]):
            return None
    wanted = " or ".join({"bool": "true or false", "int": "a whole number", "float": "a number",
                          "str": "a string"}[a] for a in allowed if a != "None")
    return f"{name} must be {wanted}, got {value!r}"


_SECTIONS = {
    "model": ModelSettings,
    "video": VideoSettings,
    "geometry": GeometrySettings,
    "signal": SignalSettings,
    "movement": MovementSettings,
    "quality": QualitySettings,
    "recognition": RecognitionSettings,
}


@dataclass(frozen=True)
class Config:
    """All of hiprom's settings, one frozen dataclass per config-file section."""

    model: ModelSettings = field(default_factory=ModelSettings)
    video: VideoSettings = field(default_factory=VideoSettings)
    geometry: GeometrySettings = field(default_factory=GeometrySettings)
    signal: SignalSettings = field(default_factory=SignalSettings)
    movement: MovementSettings = field(default_factory=MovementSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (what ``result.json`` records); auto values as in the file."""
        out = {name: dataclasses.asdict(getattr(self, name)) for name in _SECTIONS}
        if out["signal"]["cutoff_hz"] is None:
            out["signal"]["cutoff_hz"] = 0
        return out

    def with_overrides(self, overrides: Mapping[str, Any], *, origin: str = "command line") -> "Config":
        """A new config with ``{"section.key": value}`` or ``{"section": {...}}`` applied.

        ``None`` values are ignored (an option that was not given).
        """
        nested: dict[str, dict[str, Any]] = {}
        for key, value in overrides.items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                nested.setdefault(key, {}).update(value)
            else:
                section, _, name = key.partition(".")
                nested.setdefault(section, {})[name] = value
        changes = {}
        for section, values in nested.items():
            if section not in _SECTIONS:
                raise ConfigError(f"unknown section [{section}] in the {origin}",
                                  fix=f"use one of: {', '.join(_SECTIONS)}.")
            cls = _SECTIONS[section]
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(values) - known)
            if unknown:
                raise ConfigError(f"unknown setting {section}.{unknown[0]} in the {origin}",
                                  fix=f"settings of [{section}]: {', '.join(sorted(known))}.")
            values = dict(values)
            if section == "signal" and values.get("cutoff_hz") in (0, 0.0) \
                    and not isinstance(values.get("cutoff_hz"), bool):
                values["cutoff_hz"] = None
            for name, value in values.items():
                problem = _type_problem(cls, name, value)
                if problem:
                    raise ConfigError(f"bad value in [{section}] of the {origin}: {problem}",
                                      fix="see the commented defaults: hiprom config")
            try:
                changes[section] = dataclasses.replace(getattr(self, section), **values)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"bad value in [{section}] of the {origin}: {exc}",
                                  fix="see the commented defaults: hiprom config") from None
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_toml(cls, path: str | Path | None = None) -> "Config":
        """Defaults, overridden by a TOML file if given."""
        config = cls()
        if path is None:
            return config
        path = Path(path)
        if not path.is_file():
            raise ConfigError("config file does not exist", path=path,
                              fix="write one with: hiprom config > hiprom.toml")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"is not valid TOML: {exc}", path=path,
                              fix="compare with the commented defaults: hiprom config") from None
        for section, values in data.items():
            if not isinstance(values, dict):
                raise ConfigError(f"top-level key {section!r} is not a [section]", path=path,
                                  fix=f"put settings under one of: {', '.join(_SECTIONS)}.")
        return config.with_overrides(data, origin=f"config file {path}")


def default_config_text() -> str:
    """The commented default config file shipped with hiprom."""
    return resources.files("hiprom").joinpath("default_config.toml").read_text(encoding="utf-8")
