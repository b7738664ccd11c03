"""The norm tables shipped with hiprom: loading and validating them.

The tables are package data (``hiprom/data/*.csv``): seated IR bands by age, sex and
sport (``norms_seated_ir.csv``), screening flags (``flags.csv``) and functional demands
(``demands.csv``), each row with a full ``source`` citation. They are read and validated
(schema, degrees 0-90, lo <= hi, non-empty sources, no overlapping age groups) on first
use; a damaged table raises :class:`~hiprom.errors.ConfigError` naming the file and row.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from hiprom.errors import ConfigError

__all__ = ["NormRow", "FlagRule", "Demand", "load_norms", "load_flags", "load_demands", "known_sports",
           "normalise_sex"]

_DATA = "data"
_SEX_ALIASES = {"male": "male", "m": "male", "man": "male", "men": "male",
                "female": "female", "f": "female", "woman": "female", "women": "female"}
_OPS = {"le": "≤", "lt": "<", "gt": ">", "ge": "≥"}


# -- tables ---------------------------------------------------------------------------
def _bad(file: str, what: str, fix: str = "the package data is damaged: reinstall hiprom.") -> ConfigError:
    return ConfigError(what, path=f"hiprom/data/{file}", fix=fix)


def _deg(file: str, row: dict[str, str], key: str, *, optional: bool = False) -> float | None:
    text = (row.get(key) or "").strip()
    if not text and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _bad(file, f"row {row.get('id') or row.get('code')!r}: expected a number in {key!r}, "
                         f"got {text!r}") from None
    if not 0.0 <= value <= 90.0:
        raise _bad(file, f"row {row.get('id') or row.get('code')!r}: expected {key} within 0-90°, got {value}")
    return value


def _read(file: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    text = resources.files("hiprom").joinpath(_DATA, file).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise _bad(file, f"expected columns {list(columns)}, missing {missing}")
    rows = list(reader)
    if not rows:
        raise _bad(file, "expected at least one row, got none")
    for r in rows:
        key = r.get("id") or r.get("code")
        if not (r.get("source") or "").strip():
            raise _bad(file, f"row {key!r}: expected a non-empty source citation")
        if not key:
            raise _bad(file, "expected every row to have an id")
    keys = [r.get("id") or r.get("code") for r in rows]
    if len(set(keys)) != len(keys):
        raise _bad(file, f"expected unique row ids, got {keys}")
    return rows


@dataclass(frozen=True)
class NormRow:
    """One reference band of seated hip IR (degrees, from the vertical)."""

    id: str
    kind: str  # "age" | "sex" | "sport"
    label: str
    lo_deg: float
    hi_deg: float
    source: str
    age_min: float | None = None
    age_max: float | None = None  # exclusive
    sex: str | None = None
    population: str = "general"
    mean_deg: float | None = None
    sd_deg: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("age", "sex", "sport"):
            raise ValueError(f"norm row {self.id}: kind must be age, sex or sport, got {self.kind!r}")
        if not (0.0 <= self.lo_deg <= self.hi_deg <= 90.0):
            raise ValueError(f"norm row {self.id}: expected 0 <= lo <= hi <= 90, got {self.lo_deg}-{self.hi_deg}")
        if self.kind == "age" and (self.age_min is None or self.age_max is None or self.age_min >= self.age_max):
            raise ValueError(f"norm row {self.id}: an age row needs age_min < age_max")
        if self.sex not in (None, "male", "female") or (self.kind == "sex" and self.sex is None):
            raise ValueError(f"norm row {self.id}: sex must be male or female (required in a sex row)")
        if not self.source.strip():
            raise ValueError(f"norm row {self.id}: source is empty")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FlagRule:
    """A screening threshold on peak IR (``measure="ir"``) or on the left-right IR difference."""

    code: str
    measure: str  # "ir" | "lr_diff"
    op: str  # "le" | "lt" | "gt" | "ge"
    threshold_deg: float
    label: str
    text: str
    source: str

    def __post_init__(self) -> None:
        if self.measure not in ("ir", "lr_diff") or self.op not in _OPS:
            raise ValueError(f"flag {self.code}: bad measure/op {self.measure!r}/{self.op!r}")
        if not (0.0 <= self.threshold_deg <= 90.0) or not self.source.strip():
            raise ValueError(f"flag {self.code}: threshold must be 0-90° and source non-empty")


@dataclass(frozen=True)
class Demand:
    """The hip IR an activity needs (``lo_deg``-``hi_deg``; equal when one figure is quoted)."""

    id: str
    label: str
    sports: tuple[str, ...]
    lo_deg: float
    hi_deg: float
    source: str

    def __post_init__(self) -> None:
        if not (0.0 <= self.lo_deg <= self.hi_deg <= 90.0) or not self.source.strip():
            raise ValueError(f"demand {self.id}: expected 0 <= lo <= hi <= 90 and a source")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sports": list(self.sports)}


@lru_cache(maxsize=None)
def load_norms() -> tuple[NormRow, ...]:
    """The norm table ``norms_seated_ir.csv``, validated (age rows sorted and non-overlapping)."""
    f = "norms_seated_ir.csv"
    cols = ("id", "kind", "label", "age_min", "age_max", "sex", "population", "lo_deg", "hi_deg",
            "mean_deg", "sd_deg", "source")
    out = []
    for r in _read(f, cols):
        try:
            age = [None if not (r[k] or "").strip() else float(r[k]) for k in ("age_min", "age_max")]
            out.append(NormRow(id=r["id"], kind=r["kind"], label=r["label"], lo_deg=_deg(f, r, "lo_deg"),
                               hi_deg=_deg(f, r, "hi_deg"), source=r["source"], age_min=age[0], age_max=age[1],
                               sex=(r["sex"] or None), population=r["population"] or "general",
                               mean_deg=_deg(f, r, "mean_deg", optional=True),
                               sd_deg=_deg(f, r, "sd_deg", optional=True)))
        except ValueError as exc:
            raise _bad(f, str(exc)) from None
    ages = sorted((r for r in out if r.kind == "age"), key=lambda r: r.age_min)
    for a, b in zip(ages, ages[1:]):
        if a.age_max > b.age_min:
            raise _bad(f, f"age rows {a.id} and {b.id} overlap")
    return tuple(out)


@lru_cache(maxsize=None)
def load_flags() -> tuple[FlagRule, ...]:
    """The screening flags ``flags.csv``, validated."""
    f = "flags.csv"
    rows = _read(f, ("code", "measure", "op", "threshold_deg", "label", "text", "source"))
    try:
        return tuple(FlagRule(r["code"], r["measure"], r["op"], _deg(f, r, "threshold_deg"), r["label"],
                              r["text"], r["source"]) for r in rows)
    except ValueError as exc:
        raise _bad(f, str(exc)) from None


@lru_cache(maxsize=None)
def load_demands() -> tuple[Demand, ...]:
    """The functional demands ``demands.csv``, validated."""
    f = "demands.csv"
    rows = _read(f, ("id", "label", "sports", "lo_deg", "hi_deg", "source"))
    try:
        return tuple(Demand(r["id"], r["label"], tuple(s.strip().lower() for s in r["sports"].split(";") if s.strip()),
                            _deg(f, r, "lo_deg"), _deg(f, r, "hi_deg"), r["source"]) for r in rows)
    except ValueError as exc:
        raise _bad(f, str(exc)) from None


def known_sports() -> list[str]:
    """Every sport or activity name :func:`compare` accepts."""
    names = {s for d in load_demands() for s in d.sports}
    names |= {r.population for r in load_norms() if r.kind == "sport"}
    return sorted(names)


def normalise_sex(sex: str | None) -> str | None:
    """``"F"``, ``"woman"`` … → ``"female"``; ``None``/``""``/``"other"`` → ``None``."""
    if sex is None or not sex.strip() or sex.strip().lower() in ("other", "x", "unknown", "-"):
        return None
    key = sex.strip().lower()
    if key not in _SEX_ALIASES:
        raise ConfigError(f"expected sex female, male or other, got {sex!r}",
                          fix="use --sex female, --sex male, or leave it out.")
    return _SEX_ALIASES[key]


# -- the uncertainty rule -------------------------------------------------------------
