"""The live guided protocol and running peaks, on synthetic angle sequences (no model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hiprom.apps.live.protocol import Peaks, Protocol, ProtocolSettings, QualityLight, Step

FPS = 30


def profile(keyframes: list[tuple[float, float]], t: np.ndarray) -> np.ndarray:
    """Cosine-eased angle through keyframes (as the benchmark renders), held after the last."""
    ts, values = zip(*keyframes)
    out = np.full(t.shape, values[-1], float)
    for (t0, a0), (t1, a1) in zip(keyframes[:-1], keyframes[1:]):
        inside = (t >= t0) & (t < t1)
        u = (t[inside] - t0) / (t1 - t0)
        out[inside] = a0 + (a1 - a0) * (1 - np.cos(np.pi * u)) / 2
    return out


# right: rest, IR 40 held 1 s, back, ER -30 held 1 s, back; then the left: IR 35, ER -25
RIGHT = [(0, 0), (1.5, 0), (2.7, 40), (3.7, 40), (4.9, 0), (5.3, 0), (6.5, -30), (7.5, -30), (8.7, 0)]
LEFT = [(0, 2), (9.5, 2), (10.7, 37), (11.7, 37), (12.9, 2), (13.3, 2), (14.5, -23), (15.5, -23), (16.7, 2)]


def run(protocol: Protocol, right, left, *, t_end: float = 17.5, noise: float = 0.3,
        person=lambda t: True) -> list:
    rng = np.random.default_rng(7)
    t = np.arange(0, t_end, 1 / FPS)
    r = profile(right, t) + rng.normal(0, noise, t.size)
    l_ = profile(left, t) + rng.normal(0, noise, t.size)
    return [(ti, protocol.update(ti, {"right": ri, "left": li}, person=person(ti)))
            for ti, ri, li in zip(t, r, l_)]


def steps(prompts) -> list[tuple[Step, str | None, str | None]]:
    """The distinct consecutive (step, side, goal) states."""
    out = []
    for _t, p in prompts:
        key = (p.step, p.side, p.goal)
        if not out or out[-1] != key:
            out.append(key)
    return out


def test_full_protocol_in_order():
    proto = Protocol()
    prompts = run(proto, RIGHT, LEFT)
    assert proto.neutral_deg == pytest.approx({"right": 0.0, "left": 2.0}, abs=0.3)
    assert proto.holds[("right", "ir")] == pytest.approx(40, abs=0.5)
    assert proto.holds[("right", "er")] == pytest.approx(-30, abs=0.5)
    assert proto.holds[("left", "ir")] == pytest.approx(37, abs=0.5)
    assert proto.holds[("left", "er")] == pytest.approx(-23, abs=0.5)
    seen = [s for s in steps(prompts) if s[0] != Step.ROTATE or s[1] is not None]
    compact = [(s.value, side, goal) for s, side, goal in seen]
    # the ROTATE prompt changes wording ("turn" -> "hold there") but not its state
    assert compact == [
        ("neutral", None, None),
        ("rotate", "right", "ir"), ("back", "right", "ir"), ("back", "right", None),
        ("rotate", "right", "er"), ("back", "right", "er"), ("back", "right", None),
        ("rotate", "left", "ir"), ("back", "left", "ir"), ("back", "left", None),
        ("rotate", "left", "er"), ("back", "left", "er"), ("back", "left", None),
        ("done", None, None),
    ]
    # neutral needs 1 s of stillness: found at 1.0 s; the right IR hold 0.8 s after the leg settles
    t_neutral = next(t for t, p in prompts if p.step == Step.ROTATE)
    assert t_neutral == pytest.approx(1.0, abs=0.05)
    t_ir = next(t for t, p in prompts if p.step == Step.BACK)
    assert 3.3 <= t_ir <= 3.7
    assert "Turn the RIGHT foot OUT" in prompts[40][1].text
    assert prompts[-1][1].text.startswith("Done")
    assert len(proto.events) == 5


def test_follows_what_it_sees_er_first_and_left_leg():
    """ER before IR, and the left leg moving while the right is asked for: both are taken."""
    proto = Protocol()
    right = [(0, 0), (1.5, 0), (2.7, -25), (3.7, -25), (4.9, 0), (5.3, 0), (6.5, 35), (7.5, 35), (8.7, 0)]
    left = [(0, 0), (9.0, 0), (10.2, 30), (11.2, 30), (12.4, 0)]
    run(proto, right, left, t_end=13.0)
    assert set(proto.holds) == {("right", "er"), ("right", "ir"), ("left", "ir")}
    assert proto.target() == ("left", "er")


def test_person_leaving_pauses_and_resumes():
    proto = Protocol()
    gone = lambda t: not (2.0 <= t < 3.0)  # noqa: E731
    prompts = run(proto, RIGHT, LEFT, t_end=9.0, person=gone)
    during = [p for t, p in prompts if 2.0 <= t < 3.0]
    assert all(p.step == Step.PERSON and "No person" in p.text for p in during)
    # the IR hold (leg at 40 from 2.7 s) is still taken once the person is back (hold needs 0.8 s)
    assert proto.holds[("right", "ir")] == pytest.approx(40, abs=0.5)


def test_legs_hidden_and_neutral_retake_and_reset():
    proto = Protocol()
    assert proto.update(0.0, {"right": 0.0, "left": 0.0}, legs=False).step == Step.POSITION
    run(proto, RIGHT, LEFT, t_end=4.5)
    assert ("right", "ir") in proto.holds
    proto.retake_neutral()
    assert proto.neutral_deg is None and ("right", "ir") in proto.holds
    for i in range(40):  # 1.3 s still at +5
        p = proto.update(20 + i / FPS, {"right": 5.0, "left": 0.0})
    assert proto.neutral_deg == {"right": 5.0, "left": 0.0}
    assert p.step == Step.ROTATE and p.goal == "er"
    proto.reset()
    assert proto.neutral_deg is None and not proto.holds and not proto.events


def test_neutral_is_not_taken_at_end_range():
    """Started while the leg is held rotated: that hold is not neutral; the rest after it is."""
    proto = Protocol()
    right = [(0, 40), (1.5, 40), (2.7, 0), (4.0, 0), (5.2, -30), (6.2, -30), (7.4, 0)]
    prompts = run(proto, right, [(0, 0)], t_end=8.0)
    assert proto.neutral_deg == pytest.approx({"right": 0.0, "left": 0.0}, abs=0.3)
    # the leg settles within 2.5° of rest from 2.53 s; 1 s later neutral is found
    assert next(t for t, p in prompts if p.step != Step.NEUTRAL) == pytest.approx(3.53, abs=0.05)
    assert set(proto.holds) == {("right", "er")}


def test_a_nan_leg_blocks_neutral():
    proto = Protocol()
    for i in range(60):
        p = proto.update(i / FPS, {"right": 0.0, "left": math.nan})
    assert p.step == Step.NEUTRAL and proto.neutral_deg is None


def test_settings_validated():
    with pytest.raises(ValueError, match="back_deg"):
        ProtocolSettings(enter_deg=3.0, back_deg=4.0)
    with pytest.raises(ValueError, match="hold_s"):
        ProtocolSettings(hold_s=0)


def test_peaks():
    peaks = Peaks()
    for r, l_ in [(5.0, 1.0), (38.5, math.nan), (-29.0, -2.0), (12.0, 0.5)]:
        peaks.update({"right": r, "left": l_})
    assert peaks.ir == {"right": 38.5, "left": None}                 # a resting leg's wobble is no reading
    assert peaks.er == {"right": 29.0, "left": None}                 # (was: "ER 2" for a leg at rest)
    peaks.reset()
    assert peaks.ir == {"right": None, "left": None}


def test_the_prompt_follows_the_leg_being_tested():
    """Right IR held, then the left leg is tested before the right ER: the prompts name the
    LEFT foot throughout the left leg's test, and only then go back to the right ER."""
    right = [(0, 0), (1.5, 0), (2.7, 40), (3.7, 40), (4.9, 0), (17.0, 0), (18.2, -30), (19.2, -30), (20.4, 0)]
    left = [(0, 2), (5.5, 2), (6.7, 37), (7.7, 37), (8.9, 2), (9.3, 2), (10.5, -23), (11.5, -23), (12.7, 2)]
    proto = Protocol()
    prompts = run(proto, right, left, t_end=21.0)
    # from the moment the left leg is turned (8° from neutral, 5.9 s) until it is back (12.4 s)
    during_left = [p for t, p in prompts if 5.95 <= t <= 12.35 and p.step in (Step.ROTATE, Step.BACK)]
    assert during_left and all(p.side == "left" for p in during_left), {p.text for p in during_left}
    assert not any("RIGHT foot IN" in p.text for p in during_left)
    waiting = [p for t, p in prompts if 13.5 <= t <= 16.5]
    assert {p.text for p in waiting} == {"Turn the RIGHT foot IN (external rotation) and hold"}
    assert set(proto.holds) == {("right", "ir"), ("left", "ir"), ("left", "er"), ("right", "er")}
    assert prompts[-1][1].step == Step.DONE


def test_quality_light():
    assert QualityLight(True, True, True, True).colour == "green"
    assert QualityLight(True, True, True, True).text == "good"
    assert QualityLight(False, False, True, True).text == "no person"
    amber = QualityLight(True, True, False, True, roll_deg=6.2)
    assert amber.colour == "amber" and amber.text == "camera not level (roll +6°)"
    red = QualityLight(True, False, True, False, yaw_deg=-21.0)
    assert red.colour == "red" and red.text == "legs not visible, camera not in front (yaw -21°)"
