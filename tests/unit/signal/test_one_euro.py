"""The One-Euro filter (display smoothing for live mode)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hiprom.signal.one_euro import OneEuroFilter, smoothing_factor

DT = 1 / 30


def test_smoothing_factor_known_value():
    # tau = 1 / (2 pi 1 Hz) = 0.159155 s; alpha = 1 / (1 + tau / dt) at 30 Hz
    assert smoothing_factor(1.0, DT) == pytest.approx(0.173171, abs=1e-6)
    assert smoothing_factor(1e6, DT) == pytest.approx(1.0, abs=1e-4)


def test_constant_passes_unchanged():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.05)
    out = [f(12.5, i * DT) for i in range(30)]
    assert out == [12.5] * 30


def test_beta_zero_is_a_first_order_lowpass():
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    assert f(0.0, 0.0) == 0.0
    a = smoothing_factor(1.0, DT)
    assert f(10.0, DT) == pytest.approx(10 * a)                     # 1.7317
    assert f(10.0, 2 * DT) == pytest.approx(10 * a + (1 - a) * 10 * a)  # 3.1635
    assert f.value == pytest.approx(3.1635, abs=1e-4)


def test_still_noise_is_reduced():
    rng = np.random.default_rng(1)
    noisy = 20 + rng.normal(0, 1.0, 600)
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.02)
    out = np.array([f(x, i * DT) for i, x in enumerate(noisy)])
    assert np.std(out[60:]) < 0.35 * np.std(noisy[60:])
    assert np.mean(out[60:]) == pytest.approx(20, abs=0.2)


def test_beta_cuts_the_lag_of_a_fast_move():
    # a ramp at 60 deg/s: a plain low-pass lags by tau * speed = 0.159 * 60 = 9.5 deg
    t = np.arange(90) * DT
    plain, adaptive = OneEuroFilter(1.0, 0.0), OneEuroFilter(1.0, 0.05)
    lag_plain = [60 * ti - plain(60 * ti, ti) for ti in t][-1]
    lag_adaptive = [60 * ti - adaptive(60 * ti, ti) for ti in t][-1]
    assert lag_plain == pytest.approx(60 / (2 * math.pi * 1.0), abs=0.1)
    # cutoff = 1 + 0.05 * 60 = 4 Hz -> lag 60 / (2 pi 4) = 2.39 deg
    assert lag_adaptive == pytest.approx(60 / (2 * math.pi * 4.0), abs=0.1)


def test_nan_and_repeated_times():
    f = OneEuroFilter(1.0, 0.0)
    f(5.0, 0.0)
    assert math.isnan(f(math.nan, DT))
    assert f.value == 5.0                        # state kept across the gap
    assert f(5.0, 0.0) == 5.0                    # a time that does not increase: previous output
    f.reset()
    assert math.isnan(f.value)
    assert f(7.0, 1.0) == 7.0


@pytest.mark.parametrize("kwargs", [{"min_cutoff_hz": 0}, {"beta": -1}, {"d_cutoff_hz": math.nan}])
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        OneEuroFilter(**kwargs)
