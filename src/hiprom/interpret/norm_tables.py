"""The reference tables shipped with hiprom: loading and validating them.

The tables are package data (``hiprom/data/``), each row pointing at one entry of
``sources.csv`` (full citation, DOI where one was verified, evidence level
``peer_reviewed`` or ``popular_article``):

- ``norms.csv``: hip IR and ER norms, one row per published figure, with its value(s) (mean,
  SD, or a published range), n, population, age range, sex, test position (seated, prone,
  supine, or ``not_stated``), hip flexion (90° rows are comparable with the seated test; 0° rows
  are listed only) and measurement method;
- ``flags.csv``: screening thresholds, with who they were described in and the test position;
- ``demands.csv``: the IR that activities are said to need;
- ``measurement_error.csv``: how much a clinical measurement must change to be real (the
  ``reference`` row is the one minimal detectable change hiprom uses everywhere).

Every table is read and validated on first use; a damaged table raises
:class:`~hiprom.errors.ConfigError` naming the file and the row.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from hiprom.errors import ConfigError

__all__ = ["Source", "NormRow", "FlagRule", "Demand", "MeasurementError", "EVIDENCE_TEXT", "POSITION_TEXT",
           "load_sources", "load_norms", "load_flags", "load_demands", "load_measurement_error", "reference_mdc",
           "known_sports", "normalise_sex", "ADULT_AGE_SPAN"]

_DATA = "data"
_SEX_ALIASES = {"male": "male", "m": "male", "man": "male", "men": "male",
                "female": "female", "f": "female", "woman": "female", "women": "female"}
_OPS = {"le": "≤", "lt": "<", "gt": ">", "ge": "≥"}
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
#: How each evidence level is written for a reader.
EVIDENCE_TEXT = {"peer_reviewed": "peer-reviewed", "popular_article": "popular article, not peer-reviewed"}
#: How each test position is written for a reader.
POSITION_TEXT = {"seated": "seated", "prone": "prone", "supine": "supine", "not_stated": "test position not stated"}
#: Ages (years, [min, max)) a row must cover to be used for an adult whose age was not given.
ADULT_AGE_SPAN = (20, 51)


def _bad(file: str, what: str, fix: str = "the package data is damaged: reinstall hiprom.") -> ConfigError:
    return ConfigError(what, path=f"hiprom/data/{file}", fix=fix)


def _num(file: str, row: dict[str, str], key: str, *, optional: bool = False, lo: float = 0.0,
         hi: float = 90.0) -> float | None:
    """The number in ``row[key]`` (``None`` when empty and ``optional``), checked to lie in ``[lo, hi]``."""
    text = (row.get(key) or "").strip()
    name = row.get("id") or row.get("code")
    if not text:
        if optional:
            return None
        raise _bad(file, f"row {name!r}: expected a number in {key!r}, got nothing")
    try:
        value = float(text)
    except ValueError:
        raise _bad(file, f"row {name!r}: expected a number in {key!r}, got {text!r}") from None
    if not lo <= value <= hi:
        raise _bad(file, f"row {name!r}: expected {key} within {lo:g}-{hi:g}, got {value:g}")
    return value


def _read(file: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of ``file`` as dicts: every column present, unique ids, no empty required cell."""
    text = resources.files("hiprom").joinpath(_DATA, file).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise _bad(file, f"expected columns {list(columns)}, missing {missing}")
    rows = [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise _bad(file, "expected at least one row, got none")
    keys = [r.get("id") or r.get("code") for r in rows]
    if not all(keys):
        raise _bad(file, "expected every row to have an id")
    if len(set(keys)) != len(keys):
        raise _bad(file, f"expected unique row ids, got {keys}")
    return rows


def _source(file: str, name: str, source_id: str) -> "Source":
    sources = load_sources()
    if source_id not in sources:
        raise _bad(file, f"row {name!r}: source {source_id!r} is not in sources.csv")
    return sources[source_id]


# -- the records ------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """A publication: ``citation`` in full, ``doi`` (``None`` where none was verified)."""

    id: str
    short: str
    evidence: str  # "peer_reviewed" | "popular_article"
    citation: str
    doi: str | None = None

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE_TEXT:
            raise ValueError(f"source {self.id}: evidence must be peer_reviewed or popular_article, "
                             f"got {self.evidence!r}")
        if len(self.citation) < 40 or not self.short:
            raise ValueError(f"source {self.id}: expected a full citation and a short name")
        if self.doi is not None and not _DOI.match(self.doi):
            raise ValueError(f"source {self.id}: expected a DOI like 10.1234/abc, got {self.doi!r}")

    @property
    def text(self) -> str:
        """The citation with its DOI, e.g. ``"… 2017;9(7):660-667. doi:10.1016/…"``."""
        return self.citation + (f" doi:{self.doi}" if self.doi else "")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "evidence_text": EVIDENCE_TEXT[self.evidence]}


@dataclass(frozen=True)
class NormRow:
    """One published figure for hip IR or ER (degrees), with who, how and where it comes from.

    The band a reading is placed in (:attr:`band`) is ``mean ± 1 SD`` when the source gives a
    mean and an SD, the published range for a ``popular_article`` row, and ``None`` for a
    mean without an SD (then a reading is compared with the mean only).
    """

    id: str
    measure: str  # "ir" | "er"
    label: str
    population: str
    population_key: str  # "general" | "athlete"
    n: int | None  # people measured; None only for a popular article (no sample)
    age_min: float
    age_max: float  # exclusive
    age_text: str
    sex: str  # "male" | "female" | "both"
    position: str  # see POSITION_TEXT
    hip_flexion_deg: float  # 90: comparable with the seated test; 0: hip extended, listed only
    method: str
    source: Source
    mean_deg: float | None = None
    sd_deg: float | None = None
    lo_deg: float | None = None
    hi_deg: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        bad = []
        if self.measure not in ("ir", "er"):
            bad.append(f"measure must be ir or er, got {self.measure!r}")
        if self.population_key not in ("general", "athlete"):
            bad.append(f"population_key must be general or athlete, got {self.population_key!r}")
        if self.sex not in ("male", "female", "both"):
            bad.append(f"sex must be male, female or both, got {self.sex!r}")
        if self.position not in POSITION_TEXT:
            bad.append(f"position must be one of {sorted(POSITION_TEXT)}, got {self.position!r}")
        if self.hip_flexion_deg not in (0.0, 90.0):
            bad.append(f"hip_flexion_deg must be 0 or 90, got {self.hip_flexion_deg:g}")
        if not 0 <= self.age_min < self.age_max <= 121:
            bad.append(f"expected 0 <= age_min < age_max <= 121, got {self.age_min:g}-{self.age_max:g}")
        if not all((self.label, self.population, self.age_text, self.method)):
            bad.append("label, population, age_text and method must not be empty")
        if self.source.evidence == "peer_reviewed":
            if self.n is None or self.n < 1 or self.mean_deg is None or self.lo_deg is not None:
                bad.append("a peer-reviewed row needs n and a mean (its band is mean ± 1 SD), not a range")
        elif self.n is not None or self.mean_deg is not None or self.lo_deg is None or self.hi_deg is None:
            bad.append("a popular-article row has no sample (n empty) and gives a range lo-hi, not a mean")
        if (self.lo_deg is None) != (self.hi_deg is None) or (self.lo_deg is not None and self.lo_deg > self.hi_deg):
            bad.append(f"expected lo <= hi, got {self.lo_deg}-{self.hi_deg}")
        if bad:
            raise ValueError(f"norm row {self.id}: " + "; ".join(bad))

    @property
    def evidence(self) -> str:
        return self.source.evidence

    @property
    def comparable(self) -> bool:
        """True for rows measured with the hip flexed 90° (the seated test's hip position)."""
        return self.hip_flexion_deg == 90.0

    @property
    def band(self) -> tuple[float, float] | None:
        """``(lo, hi)``: mean ± 1 SD (0.1° steps), or the published range; ``None`` for a mean alone."""
        if self.mean_deg is not None and self.sd_deg is not None:
            return round(self.mean_deg - self.sd_deg, 1), round(self.mean_deg + self.sd_deg, 1)
        return None if self.lo_deg is None else (self.lo_deg, self.hi_deg)

    @property
    def band_rule(self) -> str | None:
        if self.band is None:
            return None
        return "mean ± 1 SD" if self.sd_deg is not None else "range given by the source"

    @property
    def value_text(self) -> str:
        """``"37.9°"``, ``"33.0 ± 8.5°"`` or ``"35–45°"``."""
        if self.mean_deg is None:
            return f"{self.lo_deg:g}–{self.hi_deg:g}°"
        return f"{self.mean_deg:.1f} ± {self.sd_deg:.1f}°" if self.sd_deg is not None else f"{self.mean_deg:.1f}°"

    @property
    def who(self) -> str:
        """Who was measured and how, for a sentence: ``"120 healthy adults …, 20–60 years, seated"``."""
        head = f"{self.n} {self.population}" if self.n else "a popular article's figure"
        return f"{head}, {self.age_text}, {POSITION_TEXT[self.position]}"

    def covers_age(self, years: float) -> bool:
        return self.age_min <= years < self.age_max

    def to_dict(self) -> dict[str, Any]:
        band = self.band
        out = {k: v for k, v in asdict(self).items() if k != "source"}
        return {**out, "source": self.source.to_dict(), "evidence": self.evidence,
                "band_lo_deg": None if band is None else band[0], "band_hi_deg": None if band is None else band[1],
                "band_rule": self.band_rule, "value_text": self.value_text}


@dataclass(frozen=True)
class FlagRule:
    """A screening threshold on peak IR (``measure="ir"``) or on the left-right IR difference."""

    code: str
    measure: str  # "ir" | "lr_diff"
    op: str  # "le" | "lt" | "gt" | "ge"
    threshold_deg: float
    label: str
    text: str
    described_in: str
    position: str
    sources: tuple[Source, ...]

    def __post_init__(self) -> None:
        if self.measure not in ("ir", "lr_diff") or self.op not in _OPS:
            raise ValueError(f"flag {self.code}: bad measure/op {self.measure!r}/{self.op!r}")
        if not (0.0 <= self.threshold_deg <= 90.0) or not self.sources:
            raise ValueError(f"flag {self.code}: threshold must be 0-90° and at least one source given")
        if not (self.text and self.described_in and self.position):
            raise ValueError(f"flag {self.code}: text, described_in and position must not be empty")

    @property
    def source_text(self) -> str:
        return " ".join(s.text for s in self.sources)


@dataclass(frozen=True)
class Demand:
    """The hip IR an activity is said to need (``lo_deg``-``hi_deg``; equal when one figure is quoted)."""

    id: str
    label: str
    sports: tuple[str, ...]
    lo_deg: float
    hi_deg: float
    source: Source

    def __post_init__(self) -> None:
        if not (0.0 <= self.lo_deg <= self.hi_deg <= 90.0):
            raise ValueError(f"demand {self.id}: expected lo <= hi within 0-90°, got {self.lo_deg}-{self.hi_deg}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sports": list(self.sports), "source": self.source.to_dict(),
                "evidence": self.source.evidence}


@dataclass(frozen=True)
class MeasurementError:
    """How large a change in a clinical measurement must be to exceed its error (degrees)."""

    id: str
    method: str
    position: str
    statistic: str
    lo_deg: float
    hi_deg: float
    reference: bool
    source: Source
    note: str = ""

    @property
    def value_text(self) -> str:
        return f"{self.lo_deg:g}°" if self.lo_deg == self.hi_deg else f"{self.lo_deg:g}–{self.hi_deg:g}°"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "source": self.source.to_dict()}


# -- loading ----------------------------------------------------------------------------
@lru_cache(maxsize=None)
def load_sources() -> dict[str, Source]:
    """``sources.csv`` by id, validated (evidence level, full citation, DOI form)."""
    f = "sources.csv"
    try:
        return {r["id"]: Source(r["id"], r["short"], r["evidence"], r["citation"], r["doi"] or None)
                for r in _read(f, ("id", "short", "evidence", "citation", "doi"))}
    except ValueError as exc:
        raise _bad(f, str(exc)) from None


@lru_cache(maxsize=None)
def load_norms() -> tuple[NormRow, ...]:
    """``norms.csv``, validated: every row complete, with its source joined in."""
    f = "norms.csv"
    cols = ("id", "measure", "label", "population", "population_key", "n", "age_min", "age_max", "age_text", "sex",
            "position", "hip_flexion_deg", "method", "mean_deg", "sd_deg", "lo_deg", "hi_deg", "source", "note")
    out = []
    for r in _read(f, cols):
        n = _num(f, r, "n", optional=True, lo=1, hi=1e6)
        try:
            out.append(NormRow(
                id=r["id"], measure=r["measure"], label=r["label"], population=r["population"],
                population_key=r["population_key"], n=None if n is None else int(n),
                age_min=_num(f, r, "age_min", hi=121), age_max=_num(f, r, "age_max", hi=121), age_text=r["age_text"],
                sex=r["sex"], position=r["position"], hip_flexion_deg=_num(f, r, "hip_flexion_deg"),
                method=r["method"], source=_source(f, r["id"], r["source"]),
                mean_deg=_num(f, r, "mean_deg", optional=True), sd_deg=_num(f, r, "sd_deg", optional=True),
                lo_deg=_num(f, r, "lo_deg", optional=True), hi_deg=_num(f, r, "hi_deg", optional=True),
                note=r["note"]))
        except ValueError as exc:
            raise _bad(f, str(exc)) from None
    return tuple(out)


@lru_cache(maxsize=None)
def load_flags() -> tuple[FlagRule, ...]:
    """``flags.csv``, validated; ``sources`` is a ``;``-separated list of source ids."""
    f = "flags.csv"
    rows = _read(f, ("code", "measure", "op", "threshold_deg", "label", "text", "described_in", "position",
                     "sources"))
    try:
        return tuple(FlagRule(r["code"], r["measure"], r["op"], _num(f, r, "threshold_deg"), r["label"], r["text"],
                              r["described_in"], r["position"],
                              tuple(_source(f, r["code"], s.strip()) for s in r["sources"].split(";") if s.strip()))
                     for r in rows)
    except ValueError as exc:
        raise _bad(f, str(exc)) from None


@lru_cache(maxsize=None)
def load_demands() -> tuple[Demand, ...]:
    """``demands.csv``, validated."""
    f = "demands.csv"
    rows = _read(f, ("id", "label", "sports", "lo_deg", "hi_deg", "source"))
    try:
        return tuple(Demand(r["id"], r["label"], tuple(s.strip().lower() for s in r["sports"].split(";") if s.strip()),
                            _num(f, r, "lo_deg"), _num(f, r, "hi_deg"), _source(f, r["id"], r["source"]))
                     for r in rows)
    except ValueError as exc:
        raise _bad(f, str(exc)) from None


@lru_cache(maxsize=None)
def load_measurement_error() -> tuple[MeasurementError, ...]:
    """``measurement_error.csv``, validated: exactly one ``reference`` row."""
    f = "measurement_error.csv"
    rows = _read(f, ("id", "method", "position", "statistic", "lo_deg", "hi_deg", "reference", "source", "note"))
    out = tuple(MeasurementError(r["id"], r["method"], r["position"], r["statistic"], _num(f, r, "lo_deg"),
                                 _num(f, r, "hi_deg"), r["reference"] == "yes", _source(f, r["id"], r["source"]),
                                 r["note"]) for r in rows)
    refs = [m.id for m in out if m.reference]
    if len(refs) != 1 or any(m.lo_deg > m.hi_deg for m in out):
        raise _bad(f, f"expected exactly one reference row and lo <= hi in every row, got references {refs}")
    return out


def reference_mdc() -> MeasurementError:
    """The minimal detectable change hiprom uses everywhere (report, history, terminal)."""
    return next(m for m in load_measurement_error() if m.reference)


def known_sports() -> list[str]:
    """Every sport, activity or population name :func:`hiprom.interpret.norms.compare` accepts."""
    names = {s for d in load_demands() for s in d.sports}
    names |= {r.population_key for r in load_norms() if r.population_key != "general"}
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
