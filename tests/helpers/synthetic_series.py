"""Synthetic angle series like the seated test, for signal and movement tests."""

from __future__ import annotations

import numpy as np


def eased(t: np.ndarray, knots) -> np.ndarray:
    """Cosine-eased path through ``(time_s, deg)`` knots (equal neighbours = a hold)."""
    kt = np.array([k[0] for k in knots], float)
    ky = np.array([k[1] for k in knots], float)
    i = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
    u = np.clip((t - kt[i]) / (kt[i + 1] - kt[i]), 0.0, 1.0)
    return ky[i] + (ky[i + 1] - ky[i]) * (1.0 - np.cos(np.pi * u)) / 2.0


def clip_time(fps: float, duration: float = 9.0) -> np.ndarray:
    """Frame times of a constant-rate clip."""
    return np.arange(int(round(duration * fps))) / fps
