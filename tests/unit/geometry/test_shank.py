"""Shank angle per frame: band fit of silhouette points, resting pose, silhouette/landmark
choice and the camera-view correction, on synthetic points and series of known angles.

Angles in the image are drawn with :func:`direction` (degrees from image-down, + towards
image-right). With roll ``r`` gravity points along ``direction(-r)``, so a line drawn at
``deg`` is ``deg + r`` from gravity, and hiprom reads it as ``side_sign · (deg + r)``
(+ = foot lateral, ``side_sign`` = +1 when lateral is image-right).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers.synthetic_leg import Body, Camera, image_joints
from hypothesis import given, settings
from hypothesis import strategies as st

from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries
from hiprom.geometry import angles as geo
from hiprom.geometry.projection import leg_view, rest_pose
from hiprom.geometry.shank import band_fit_deg, shank_angle

#: Points exactly on a line: only float rounding separates the fit from the drawn angle.
EXACT_DEG = 1e-6


def direction(deg) -> np.ndarray:
    r = np.radians(np.asarray(deg, float))
    return np.stack([np.sin(r), np.cos(r)], axis=-1)


def line_points(pivot, deg: float, shank_px: float, fracs, offset_px: float = 0.0) -> np.ndarray:
    """Points at ``fracs`` of ``shank_px`` along a line at ``deg``, shifted ``offset_px``
    sideways (so the line need not pass through the pivot)."""
    u = direction(deg)
    n = np.array([u[1], -u[0]])
    return np.asarray(pivot, float) + offset_px * n + np.asarray(fracs, float)[:, None] * shank_px * u


def make_series(n_frames: int, **points: np.ndarray) -> LandmarkSeries:
    """A series whose landmarks are 0 except those given as ``name=(T, 2)`` arrays, where
    ``name`` is e.g. ``right_knee`` (names of :class:`LM` attributes, lower case)."""
    img = np.zeros((n_frames, N_LANDMARKS, 3))
    lines = points.pop("shank_lines", None)
    for name, xy in points.items():
        img[:, getattr(LM, name.upper()), :2] = xy
    vis = np.ones((n_frames, N_LANDMARKS))
    return LandmarkSeries(img, vis, vis.copy(), np.zeros_like(img), np.arange(n_frames) / 30.0,
                          np.arange(n_frames), (720, 1280), shank_lines=lines)


# -- band_fit_deg -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(deg=st.floats(-60, 60), side_sign=st.sampled_from([1.0, -1.0]), roll=st.floats(-10, 10),
       offset=st.floats(-15, 15), shank_px=st.floats(120, 320))
def test_band_fit_of_points_on_a_line_gives_its_angle(deg, side_sign, roll, offset, shank_px):
    # Points on a straight line (not necessarily through the knee) from the knee to past the
    # ankle: every weighted point is on the line, so its principal direction is the line's.
    pivot = np.array([360.0, 420.0])
    pts = line_points(pivot, deg, shank_px, np.linspace(0.0, 1.2, 24), offset)
    got = band_fit_deg(pts[None], pivot, shank_px, side_sign, roll)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(side_sign * (deg + roll), abs=EXACT_DEG)


def test_band_fit_ignores_points_outside_the_band():
    # Points nearer the knee than 25 % or further than 95 % of the shank (thigh, foot) are
    # bent 25° off the line *about the knee*, so their distance from it is unchanged: they
    # get no weight and the angle stays. Bending points inside the band moves the fit.
    pivot, shank_px, deg = np.array([360.0, 420.0]), 200.0, 12.0
    fracs = np.linspace(0.0, 1.2, 24)          # no point exactly on a band edge
    pts = line_points(pivot, deg, shank_px, fracs)
    outside = (fracs < 0.25) | (fracs > 0.95)
    bent = pts.copy()
    bent[outside] = line_points(pivot, deg + 25.0, shank_px, fracs[outside])
    assert band_fit_deg(bent[None], pivot, shank_px, 1.0, 0.0)[0] == pytest.approx(deg, abs=EXACT_DEG)
    inside = (fracs > 0.4) & (fracs < 0.6)
    bent_inside = pts.copy()
    bent_inside[inside] = line_points(pivot, deg + 25.0, shank_px, fracs[inside])
    assert abs(band_fit_deg(bent_inside[None], pivot, shank_px, 1.0, 0.0)[0] - deg) > 1.0


def test_band_fit_changes_continuously_as_a_point_enters_the_band():
    # A calf-bulge point 8° off the line (rotated about the knee, so its distance from it is
    # exact) moves into the band through its 25 % edge. Just outside it weighs nothing; just
    # inside (d = 0.2505) its weight is 0.005 of a full one. At full weight (d = 0.40) it tilts
    # the fit by over 1°; at the edge its lever on the axis is at most ~2× longer, so the
    # small weight may move the angle by no more than 2 % of that: no jump at the edge.
    pivot, shank_px, deg = np.array([360.0, 420.0]), 200.0, -15.0
    base = line_points(pivot, deg, shank_px, np.linspace(0.4, 0.9, 11))

    def with_bulge(d: float) -> float:
        bulge = line_points(pivot, deg + 8.0, shank_px, [d])
        return float(band_fit_deg(np.vstack([base, bulge])[None], pivot, shank_px, 1.0, 0.0)[0])

    assert with_bulge(0.2495) == pytest.approx(deg, abs=EXACT_DEG)
    full = abs(with_bulge(0.40) - deg)
    assert full > 1.0
    assert abs(with_bulge(0.2505) - deg) < 0.02 * full


def test_band_fit_needs_five_weighted_points():
    # A vertical line, 200 px shank: points at exactly 25 % and 95 % weigh 0 (band edges).
    pivot, shank_px = np.array([300.0, 300.0]), 200.0
    four = line_points(pivot, 0.0, shank_px, [0.25, 0.4, 0.5, 0.6, 0.7, 0.95])
    five = line_points(pivot, 0.0, shank_px, [0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95])
    nan_padded = np.vstack([five, np.full((5, 2), np.nan)])          # NaN points are not counted
    got = band_fit_deg(np.stack([np.vstack([four, np.full((6, 2), np.nan)]), nan_padded]), pivot, shank_px,
                       1.0, 0.0)
    assert np.isnan(got[0])
    assert got[1] == pytest.approx(0.0, abs=EXACT_DEG)


def test_band_fit_per_frame_roll_and_point_order():
    # Three frames with their own angles and rolls; the second lists its points ankle first
    # (the axis is oriented away from the knee whatever the order); the third has none.
    pivot, shank_px = np.array([300.0, 300.0]), 180.0
    fracs = np.linspace(0.0, 1.0, 24)
    a = line_points(pivot, 30.0, shank_px, fracs, 4.0)
    b = line_points(pivot, -22.0, shank_px, fracs, -6.0)[::-1]
    c = np.full_like(a, np.nan)
    roll = np.array([2.0, -3.0, 0.0])
    got = band_fit_deg(np.stack([a, b, c]), pivot, shank_px, -1.0, roll)
    assert got[:2] == pytest.approx([-(30.0 + 2.0), -(-22.0 - 3.0)], abs=EXACT_DEG)
    assert np.isnan(got[2])


# -- rest_pose ----------------------------------------------------------------------------
#: seen angle per frame: near rest (|seen| <= 8) in frames 0, 1 and 2 (8.0 counts); 3 is
#: just out, 4 unknown, 5 far out, 6 near but its hip is missing.
SEEN = np.array([2.0, -7.9, 8.0, 8.5, np.nan, -30.0, 1.0])


def rest_series() -> LandmarkSeries:
    knee = np.array([[300, 400], [304, 402], [302, 398], [250, 380], [100, 100], [100, 100], [90, 90]], float)
    hip = np.array([[330, 380], [334, 378], [332, 382], [280, 360], [10, 10], [10, 10], [np.nan, np.nan]])
    length = np.array([200.0, 210.0, 190.0, 260.0, 50.0, 50.0, 50.0])
    ankle = knee + length[:, None] * [0.0, 1.0]
    # the right leg holds other values, to show the side is taken from the right landmarks
    return make_series(len(SEEN), left_knee=knee, left_hip=hip, left_ankle=ankle,
                       right_knee=knee + [-200, 0], right_hip=hip + [-200, 0], right_ankle=knee + [-200, 120])


def test_rest_pose_is_the_median_over_frames_within_8_degrees():
    rest = rest_pose(rest_series(), "left", SEEN)
    assert rest.frames == 3
    np.testing.assert_allclose(rest.knee_px, [302.0, 400.0])     # medians of frames 0-2
    np.testing.assert_allclose(rest.hip_px, [332.0, 380.0])
    assert rest.shank_px == pytest.approx(200.0)


def test_rest_pose_within_deg_widens_the_selection():
    rest = rest_pose(rest_series(), "left", SEEN, within_deg=9.0)   # frame 3 (8.5) joins
    assert rest.frames == 4
    np.testing.assert_allclose(rest.knee_px, [(300 + 302) / 2, (398 + 400) / 2])
    np.testing.assert_allclose(rest.hip_px, [(330 + 332) / 2, (378 + 380) / 2])
    assert rest.shank_px == pytest.approx((200.0 + 210.0) / 2)


def test_rest_pose_reads_the_requested_side():
    rest = rest_pose(rest_series(), "right", SEEN)
    np.testing.assert_allclose(rest.knee_px, [102.0, 400.0])
    np.testing.assert_allclose(rest.hip_px, [132.0, 380.0])
    assert rest.shank_px == pytest.approx(120.0)


def test_rest_pose_skips_a_near_rest_frame_without_its_knee():
    knee = rest_series().image_px[:, LM.LEFT_KNEE, :2].copy()
    knee[1] = np.nan                                         # frame 1 is near rest but has no knee
    s = rest_series()
    series = make_series(len(SEEN), left_knee=knee, left_hip=s.image_px[:, LM.LEFT_HIP, :2],
                         left_ankle=s.image_px[:, LM.LEFT_ANKLE, :2])
    rest = rest_pose(series, "left", SEEN)
    assert rest.frames == 2                                  # frames 0 and 2
    np.testing.assert_allclose(rest.knee_px, [(300 + 302) / 2, (400 + 398) / 2])
    assert rest.shank_px == pytest.approx((200.0 + 190.0) / 2)


def test_rest_pose_is_none_when_the_leg_never_hangs_near_vertical():
    assert rest_pose(rest_series(), "left", np.array([9.0, -12.0, 30.0, np.nan, 45.0, -8.01, 20.0])) is None


# -- shank_angle --------------------------------------------------------------------------
KNEE = np.array([260.0, 500.0])
LENGTH = 220.0
#: the right leg's true rotation per frame (+ = IR = foot lateral)
IR = np.array([0.0, 5.0, 12.0, 20.0, 28.0, 35.0, 28.0, 15.0, 4.0, -10.0])


def right_leg_series(landmark_deg, mid_deg=None, points_deg=None) -> LandmarkSeries:
    """Front view (the right leg's lateral side is image-left: side_sign -1), no roll: an
    angle ``a`` is drawn at image angle ``-a``. Optional silhouette extras at their own angles
    (NaN angle = not found in that frame)."""
    n = len(landmark_deg)
    knee = np.tile(KNEE, (n, 1))
    lines = None
    if mid_deg is not None or points_deg is not None:
        empty = ShankLines.empty(n)
        mid, pts = np.array(empty.mid_px), np.array(empty.points_px)
        for t, a in enumerate(mid_deg if mid_deg is not None else []):
            mid[t, 1] = line_points(KNEE, -a, LENGTH, [0.15, 0.85], offset_px=3.0)
        for t, a in enumerate(points_deg if points_deg is not None else []):
            pts[t, 1] = line_points(KNEE, -a, LENGTH, np.linspace(0.0, 1.0, 24))
        lines = dataclasses.replace(empty, mid_px=mid, points_px=pts)
    return make_series(n, right_knee=knee, right_ankle=knee + LENGTH * direction(-np.asarray(landmark_deg)),
                       right_hip=knee + [10.0, -40.0], shank_lines=lines)


def test_landmark_angle_without_silhouette():
    s = shank_angle(right_leg_series(IR), "right", -1.0, 0.0)
    np.testing.assert_allclose(s.angle_deg, IR, atol=EXACT_DEG)
    np.testing.assert_allclose(s.seen_deg, IR, atol=EXACT_DEG)
    np.testing.assert_allclose(s.landmark_deg, IR, atol=EXACT_DEG)
    assert not s.from_silhouette.any() and s.silhouette_share == 0.0
    assert s.landmark_offset_deg == 0.0


def test_silhouette_axis_wins_and_gaps_take_the_landmark_angle_shifted_by_the_median_offset():
    # The landmarks read 5° low (one frame 12° low: the median ignores it); the silhouette is
    # missing in frames 2 and 6, which then read landmark + 5.
    low = np.full(len(IR), 5.0)
    low[4] = 12.0
    mid = IR.copy()
    mid[[2, 6]] = np.nan
    s = shank_angle(right_leg_series(IR - low, points_deg=mid), "right", -1.0, 0.0)
    expected = np.where(np.isnan(mid), IR - low + 5.0, IR)
    np.testing.assert_allclose(s.angle_deg, expected, atol=EXACT_DEG)
    np.testing.assert_allclose(s.landmark_deg, IR - low, atol=EXACT_DEG)
    np.testing.assert_array_equal(s.from_silhouette, np.isfinite(mid))
    assert s.landmark_offset_deg == pytest.approx(5.0, abs=EXACT_DEG)
    assert s.silhouette_share == pytest.approx(8 / 10)


def test_an_outline_far_from_the_landmark_axis_is_not_the_shank():
    # The landmarks read 5° low throughout; in frame 4 the outline reads 15° away from them
    # (beyond the 5° offset by 10° or more: another leg or a shadow merged with it), so that
    # frame falls back to landmark + offset.
    points = IR.copy()
    points[4] = IR[4] - 5.0 - 10.5
    s = shank_angle(right_leg_series(IR - 5.0, points_deg=points), "right", -1.0, 0.0)
    np.testing.assert_allclose(s.angle_deg, IR, atol=EXACT_DEG)
    assert not s.from_silhouette[4] and s.from_silhouette.sum() == len(IR) - 1
    assert s.landmark_offset_deg == pytest.approx(5.0, abs=EXACT_DEG)


def test_no_offset_reported_when_no_frame_needed_the_landmarks():
    s = shank_angle(right_leg_series(IR - 5.0, points_deg=IR), "right", -1.0, 0.0)
    np.testing.assert_allclose(s.angle_deg, IR, atol=EXACT_DEG)
    assert s.landmark_offset_deg == 0.0 and s.silhouette_share == 1.0


def test_fewer_than_three_shared_frames_leave_the_landmark_angle_unshifted():
    mid = np.full(len(IR), np.nan)
    mid[[1, 3]] = IR[[1, 3]]
    s = shank_angle(right_leg_series(IR - 5.0, points_deg=mid), "right", -1.0, 0.0)
    np.testing.assert_allclose(s.angle_deg, np.where(np.isnan(mid), IR - 5.0, IR), atol=EXACT_DEG)
    assert s.landmark_offset_deg == 0.0


def test_silhouette_off_uses_the_landmarks_only():
    s = shank_angle(right_leg_series(IR - 5.0, points_deg=IR), "right", -1.0, 0.0, silhouette=False)
    np.testing.assert_allclose(s.angle_deg, IR - 5.0, atol=EXACT_DEG)
    assert not s.from_silhouette.any()


def test_the_angle_is_the_band_fit_of_the_slice_points_with_or_without_a_rest_pose():
    # The fitted midline (drawn only) is 10° off the slice points: the angle never reads it.
    # With a rest pose the band is fixed at the resting knee, without one at each frame's knee.
    series = right_leg_series(IR - 5.0, mid_deg=IR + 10.0, points_deg=IR)
    rest = rest_pose(series, "right", np.zeros(len(IR)))
    np.testing.assert_allclose(shank_angle(series, "right", -1.0, 0.0, rest=rest).angle_deg, IR, atol=EXACT_DEG)
    np.testing.assert_allclose(shank_angle(series, "right", -1.0, 0.0).angle_deg, IR, atol=EXACT_DEG)


def test_silhouette_share_is_zero_when_no_angle_is_known():
    series = right_leg_series(np.full(4, np.nan), points_deg=np.full(4, np.nan))
    s = shank_angle(series, "right", -1.0, 0.0)
    assert np.isnan(s.angle_deg).all() and s.silhouette_share == 0.0


def test_camera_view_turns_the_seen_angle_into_the_rotation_about_the_femur():
    # A seated body filmed from 30° round to its left at knee height (3° roll): the image
    # angles read low (foreshortened), the view from the resting leg undoes it. With the true
    # focal length and femur/shank ratio this inversion is exact (see test_projection), so
    # the rotation comes back within 0.05° (its table's resolution, 0.1°, interpolated).
    frame = (720, 1280)
    cam, body = Camera(2.6, 30.0, 0.0, 3.0, 1200.0, *frame), Body()
    fov = float(np.degrees(2 * np.arctan(max(frame) / 2 / cam.focal_px)))
    ir = np.concatenate([np.zeros(12), [15.0, 25.0, 40.0, 50.0, -20.0, -35.0]])   # rest, then away from it
    joints = [image_joints(body, cam, 0.0, a) for a in ir]
    xy = {name: np.array([j[key] for j in joints]) for name, key in
          (("right_knee", "knee_R"), ("right_ankle", "ankle_R"), ("right_hip", "hip_R"),
           ("left_knee", "knee_L"), ("left_ankle", "ankle_L"), ("left_hip", "hip_L"))}
    series = make_series(len(ir), **xy)
    sign = geo.lateral_sign(xy["right_hip"], xy["left_hip"])
    seen = shank_angle(series, "right", sign, 3.0).seen_deg
    rest = rest_pose(series, "right", seen)
    assert rest.frames == 12
    view = leg_view(rest.knee_px, rest.hip_px, rest.shank_px, frame, roll_deg=3.0, fov_deg=fov)
    s = shank_angle(series, "right", sign, 3.0, view=view)
    np.testing.assert_allclose(s.angle_deg, ir, atol=0.05)
    np.testing.assert_allclose(s.landmark_deg, ir, atol=0.05)   # no silhouette: the same angle
    np.testing.assert_allclose(s.seen_deg, seen)
    assert np.abs(seen - ir).max() > 2.0                       # without the view it reads low
