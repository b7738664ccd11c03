"""One range check for every number a user can set: settings, command-line options.

``check_range("max_gap_s", 0.35, 0.0, 5.0, unit=" s")`` returns the value or raises
:class:`ValueError` with one message style everywhere::

    max_gap_s must be a number from 0 to 5 s, got nan
    max_people must be a whole number from 1 to 5, got 9
    cutoff_hz must be a number above 0 and at most 30 Hz, got -1

NaN and ±inf are never in range (``not lo <= nan`` is true, so the comparison itself
refuses them), and ``True``/``False`` are not numbers here. Pure: no I/O, no imports
beyond the standard library.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_range", "range_text", "shown"]


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
