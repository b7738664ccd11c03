"""Settings: defaults in dataclasses, documented in ``default_config.toml``.

Precedence: built-in defaults < a TOML file (``--config``) < command-line flags.
"""

from __future__ import annotations

import dataclasses
import numbers
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from hiprom.errors import ConfigError
from hiprom.signal.filtering import SignalSettings
from hiprom.signal.movement import MovementSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Config", "ModelSettings", "VideoSettings", "GeometrySettings", "QualitySettings",
           "default_config_text"]


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

    def __post_init__(self) -> None:
        if self.variant not in ("lite", "full", "heavy"):
            raise ValueError(f"variant must be lite, full or heavy, got {self.variant!r}")
        if not 1 <= self.max_people <= 5:
            raise ValueError(f"max_people must be between 1 and 5, got {self.max_people}")
        if not 0.0 <= self.follow_after_s <= 60.0:
            raise ValueError(f"follow_after_s must be between 0 and 60, got {self.follow_after_s}")
        if not 0.1 <= self.recheck_s <= 3600.0:
            raise ValueError(f"recheck_s must be between 0.1 and 3600, got {self.recheck_s}")
        if self.max_side_px != 0 and not 256 <= self.max_side_px <= 8192:
            raise ValueError(f"max_side_px must be 0 (as decoded) or 256-8192, got {self.max_side_px}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class VideoSettings:
    mirrored: bool = False
    queue_size: int = 8
    decoder_threads: int | str = "auto"
    model_every: int = 3

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {self.queue_size}")
        if not 1 <= self.model_every <= 4:
            raise ValueError(f"model_every must be between 1 and 4, got {self.model_every}")
        if isinstance(self.decoder_threads, str):
            if self.decoder_threads != "auto":
                raise ValueError(f"decoder_threads must be 'auto' or a number, got {self.decoder_threads!r}")
        elif isinstance(self.decoder_threads, bool) or not 0 <= self.decoder_threads <= 64:
            raise ValueError(f"decoder_threads must be 'auto' or 0-64, got {self.decoder_threads!r}")

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
        elif not -45.0 <= float(self.roll_deg) <= 45.0:
            raise ValueError(f"roll_deg must be within ±45, got {self.roll_deg}")
        if not 20.0 <= self.camera_fov_deg <= 150.0:
            raise ValueError(f"camera_fov_deg must be between 20 and 150, got {self.camera_fov_deg}")
        if not 0.6 <= self.femur_shank_ratio <= 1.6:
            raise ValueError(f"femur_shank_ratio must be between 0.6 and 1.6, got {self.femur_shank_ratio}")

    @property
    def fixed_roll_deg(self) -> float | None:
        return None if isinstance(self.roll_deg, str) else float(self.roll_deg)


@dataclass(frozen=True)
class QualitySettings:
    min_detected_fraction: float = 0.9
    min_leg_visibility: float = 0.7
    max_jitter_deg: float = 1.5
    max_roll_deg: float = 8.0
    max_yaw_deg: float = 30.0


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
