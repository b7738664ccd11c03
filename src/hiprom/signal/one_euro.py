"""The One-Euro filter: adaptive low-pass smoothing for values shown live.

>>> f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.02)
>>> [round(f(x, t), 2) for x, t in [(10.0, 0.0), (10.0, 0.033), (10.0, 0.066)]]
[10.0, 10.0, 10.0]

Casiez, Roussel & Vogel (2012), "1€ Filter: A Simple Speed-based Low-pass Filter for
Noisy Input in Interactive Systems", CHI '12. A first-order low-pass whose cutoff rises with
the signal's speed: still values are smoothed hard (little jitter), fast ones lightly
(little lag). It is causal and costs a few multiplications per sample.

hiprom uses it **for display only** (the live overlay); saved numbers never pass through it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["OneEuroFilter", "smoothing_factor"]


def smoothing_factor(cutoff_hz: float, dt_s: float) -> float:
    """Weight of the new sample in a first-order low-pass step.

    Parameters
    ----------
    cutoff_hz
        Cutoff frequency of the low-pass (> 0).
    dt_s
        Time since the previous sample (> 0).

    Returns
    -------
    float
        ``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi cutoff)``, in (0, 1).
    """
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


@dataclass
class OneEuroFilter:
    """One-Euro filter of a scalar signal sampled at irregular times.

    Parameters
    ----------
    min_cutoff_hz
        Cutoff when the signal is still (lower = smoother and more lag at rest).
    beta
        How fast the cutoff rises with speed: ``cutoff = min_cutoff + beta * |speed|``
        (speed in units per second; higher = less lag in fast moves).
    d_cutoff_hz
        Cutoff of the low-pass applied to the speed estimate.

    Notes
    -----
    The speed is the low-passed derivative of the raw input, as in the authors' reference
    implementation. Call the filter with ``(value, time_s)`` in time order. A NaN value (nothing seen)
    returns NaN and leaves the state alone, so the next real value continues from the last
    one; :meth:`reset` forgets the past. A time that does not increase is treated as a
    repeat of the previous sample and returns the previous output.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.0
    d_cutoff_hz: float = 1.0
    _x: float | None = field(default=None, init=False, repr=False)      # last output
    _raw: float = field(default=0.0, init=False, repr=False)            # last input
    _dx: float = field(default=0.0, init=False, repr=False)             # smoothed speed
    _t: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("min_cutoff_hz", "d_cutoff_hz"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of hertz, got {value!r}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a non-negative number, got {self.beta!r}")

    def __call__(self, value: float, time_s: float) -> float:
        """Filter one sample; returns the smoothed value (NaN for a NaN input)."""
        x = float(value)
        if not math.isfinite(x):
            return math.nan
        t = float(time_s)
        if self._x is None or self._t is None:
            self._x, self._raw, self._dx, self._t = x, x, 0.0, t
            return x
        dt = t - self._t
        if not dt > 0:
            return self._x
        dx = (x - self._raw) / dt
        self._dx += smoothing_factor(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self._x += smoothing_factor(cutoff, dt) * (x - self._x)
        self._raw, self._t = x, t
        return self._x

    @property
    def value(self) -> float:
        """The last output (NaN before the first sample)."""
        return math.nan if self._x is None else self._x

    def reset(self) -> None:
        """Forget the past: the next sample is passed through unchanged."""
        self._x, self._dx, self._t = None, 0.0, None
