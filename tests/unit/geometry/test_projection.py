"""Undoing the projection: exact recovery on a pinhole camera, robustness to the assumptions."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.synthetic_leg import Body, Camera, image_joints
from hypothesis import given, settings
from hypothesis import strategies as st

from hiprom.geometry import angles as geo
from hiprom.geometry.projection import focal_px, leg_view, true_rotation_deg

FRAME = (720, 1280)


def seen_and_view(body: Body, cam: Camera, ir: float, *, fov_deg: float, ratio: float):
    """The left leg's image angle (roll known) and its estimated view, as hiprom would get them."""
    j = image_joints(body, cam, ir, 0.0)
    rest = image_joints(body, cam, 0.0, 0.0)
    sign = geo.lateral_sign(j["hip_L"][None], j["hip_R"][None])
    seen = geo.shank_angle_2d_deg(j["knee_L"][None], j["ankle_L"][None], sign, cam.roll_deg)[0]
    view = leg_view(rest["knee_L"], rest["hip_L"], float(np.linalg.norm(rest["ankle_L"] - rest["knee_L"])), FRAME,
                    roll_deg=cam.roll_deg, fov_deg=fov_deg, femur_shank_ratio=ratio)
    return seen, view, sign


def fov_of(cam: Camera) -> float:
    return float(np.degrees(2 * np.arctan(max(FRAME) / 2 / cam.focal_px)))


@settings(max_examples=1500, deadline=None)
@given(ir=st.floats(-50, 55), yaw=st.floats(-35, 35), roll=st.floats(-10, 10), distance=st.floats(1.8, 4.5),
       abduction=st.floats(0, 8))
def test_exact_at_knee_height_for_any_yaw(ir, yaw, roll, distance, abduction):
    # Camera at knee height (its line of sight to the knees is level): known focal length and
    # femur/shank ratio give back the rotation exactly, whatever the yaw.
    body = Body(abduction_deg=abduction)
    cam = Camera(distance, yaw, 0.0, roll, 1200.0, *FRAME)
    seen, view, sign = seen_and_view(body, cam, ir, fov_deg=fov_of(cam), ratio=body.femur_m / body.shank_m)
    assert view.solved
    assert true_rotation_deg(seen, view, roll, sign) == pytest.approx(ir, abs=0.05)


@pytest.mark.parametrize("fov_error, ratio_error, bound_deg", [(0.85, 1.0, 0.5), (1.2, 1.0, 0.5),
                                                               (1.0, 0.9, 1.8), (1.0, 1.1, 1.3)])
def test_wrong_assumptions_cost_little(fov_error, ratio_error, bound_deg):
    # Up to 30° of yaw, a focal length 15-20 % off costs < 0.5°; a femur/shank ratio 10 % off
    # costs up to 1.1-1.6° at the largest yaws (a body's ratio is about 1.0 ± 0.05).
    rng = np.random.default_rng(4)
    before, after = [], []
    for _ in range(400):
        ir, yaw = rng.uniform(-45, 55), rng.uniform(-30, 30)
        body, cam = Body(abduction_deg=4.0), Camera(rng.uniform(2, 4), yaw, 0.0, rng.uniform(-8, 8), 1200.0, *FRAME)
        fov = float(np.degrees(2 * np.arctan(max(FRAME) / 2 / (cam.focal_px * fov_error))))
        seen, view, sign = seen_and_view(body, cam, ir, fov_deg=fov, ratio=ratio_error)
        before.append(seen - ir)
        after.append(true_rotation_deg(seen, view, cam.roll_deg, sign) - ir)
    assert np.abs(after).max() < bound_deg
    assert np.abs(after).mean() < bound_deg / 4
    assert np.abs(before).max() > 5.0            # uncorrected: up to ~6° at 30° of yaw


def test_front_view_changes_nothing():
    body, cam = Body(abduction_deg=0.0), Camera(2.6, 0.0, 0.0, 3.0, 1200.0, *FRAME)
    for ir in (-30.0, 0.0, 20.0, 45.0):
        seen, view, sign = seen_and_view(body, cam, ir, fov_deg=65.0, ratio=1.0)
        assert seen == pytest.approx(ir, abs=1e-6)
        assert true_rotation_deg(seen, view, 3.0, sign) == pytest.approx(ir, abs=0.05)
        assert view.femur_yaw_deg == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("yaw", [-30.0, -15.0, 15.0, 30.0])
def test_femur_yaw_follows_the_camera(yaw):
    # Moving the camera round towards the subject's left makes the femurs point image-left.
    body, cam = Body(abduction_deg=0.0), Camera(2.6, yaw, 0.0, 0.0, 1200.0, *FRAME)
    _, view, _ = seen_and_view(body, cam, 0.0, fov_deg=fov_of(cam), ratio=1.0)
    assert view.femur_yaw_deg == pytest.approx(-yaw, abs=0.5)


def test_thigh_longer_than_a_femur_is_flagged():
    view = leg_view(np.array([360.0, 700.0]), np.array([760.0, 690.0]), 200.0, FRAME)
    assert not view.solved


def test_focal_from_field_of_view():
    assert focal_px((720, 1280), 90.0) == pytest.approx(640.0)
