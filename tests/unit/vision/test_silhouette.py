"""Shank lines from the person mask: drawn shanks of known axis and width, exact expectations.

Masks are drawn analytically: each shape is an intersection of half-planes whose value rises
linearly from 0 to 1 over ``RAMP`` pixels across its border (0.5 exactly on the border). Bilinear
sampling reproduces a linear function exactly, and with a 6 px ramp every sample the 0.5
crossing is interpolated from lies on the linear part (≤ 1 px along the slice + ≤ √2 px of
bilinear support < 3 px), so the run borders found are the drawn borders up to float32 rounding.
That is why most tolerances below are 1e-3 px / 1e-3°; one test uses a binary mask drawn with
OpenCV and a tolerance derived from its pixel quantisation.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiprom.core.capture import ShankLines
from hiprom.core.landmarks import LM, N_LANDMARKS
from hiprom.vision.silhouette import N_POINTS, shank_lines

KEYS = ("mid_px", "lateral_px", "clean", "points_px")

RAMP = 6.0
SHAPE = (520, 600)           # (H, W)
#: float32 masks and sub-pixel interpolation: the drawn geometry is recovered to ~1e-5 px;
#: 1e-3 leaves a wide margin while any real error (a wrong sample, a biased border) is larger.
EXACT_PX = 1e-3
EXACT_DEG = 1e-3
#: slice positions along the landmark axis, as documented: N_POINTS evenly from knee to ankle
FRACS = np.arange(N_POINTS) / (N_POINTS - 1)
#: the fitted band (15 % .. 85 % of the knee→ankle length)
BAND = (FRACS >= 0.15) & (FRACS <= 0.85)


# -- drawing helpers ---------------------------------------------------------------------
@functools.cache
def grid() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]].astype(np.float64)
    return xx, yy                # pixel centres at integer coordinates, as cv2.remap samples


def direction(deg: float) -> np.ndarray:
    """Unit image vector ``deg`` from image-down, positive towards image-right (y down)."""
    r = np.radians(deg)
    return np.array([np.sin(r), np.cos(r)])


def right_normal(deg: float) -> np.ndarray:
    """Unit normal of a line at ``deg`` pointing to the image's right side."""
    r = np.radians(deg)
    return np.array([np.cos(r), -np.sin(r)])


def soft_strip(p0, p1, width: float) -> np.ndarray:
    """Anti-aliased rectangle of ``width`` whose centre line runs from ``p0`` to ``p1``."""
    xx, yy = grid()
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    length = np.hypot(*d)
    u = d / length
    n = np.array([-u[1], u[0]])
    along = (xx - p0[0]) * u[0] + (yy - p0[1]) * u[1]
    across = (xx - p0[0]) * n[0] + (yy - p0[1]) * n[1]
    side = np.clip((width / 2 - np.abs(across)) / RAMP + 0.5, 0.0, 1.0)
    ends = np.clip(np.minimum(along, length - along) / RAMP + 0.5, 0.0, 1.0)
    return np.minimum(side, ends).astype(np.float32)


def soft_box(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    """Anti-aliased axis-aligned rectangle."""
    xx, yy = grid()
    inside = np.minimum.reduce([xx - x0, x1 - xx, yy - y0, y1 - yy])
    return np.clip(inside / RAMP + 0.5, 0.0, 1.0).astype(np.float32)


def leg_mask(knee, deg: float, length: float, width: float) -> np.ndarray:
    """A straight shank from ``knee`` at ``deg``, drawn 40 % longer at both ends so every slice
    from the knee to the ankle crosses it completely."""
    u = direction(deg)
    knee = np.asarray(knee, float)
    return soft_strip(knee - 0.4 * length * u, knee + 1.4 * length * u, width)


def landmarks(left=None, right=None) -> np.ndarray:
    """``(33, 3)`` image landmarks with the given (knee, ankle) pairs, NaN elsewhere."""
    p = np.full((N_LANDMARKS, 3), np.nan)
    for (knee, ankle), (ki, ai) in (((left or (None, None)), (LM.LEFT_KNEE, LM.LEFT_ANKLE)),
                                    ((right or (None, None)), (LM.RIGHT_KNEE, LM.RIGHT_ANKLE))):
        if knee is not None:
            p[ki] = (*knee, 0.0)
            p[ai] = (*ankle, 0.0)
    return p


def line_deg(line: np.ndarray) -> float:
    """Image angle of a (proximal, distal) line, same convention as :func:`direction`."""
    d = line[1] - line[0]
    return float(np.degrees(np.arctan2(d[0], d[1])))


def offset_from_axis(points: np.ndarray, on_axis, deg: float) -> np.ndarray:
    """Signed distance of points from the true axis, positive on the image's right."""
    return (np.asarray(points) - np.asarray(on_axis, float)) @ right_normal(deg)


# -- a lone shank ------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(deg=st.floats(-50, 50), width=st.floats(20, 60),
       knee_off=st.tuples(st.floats(-8, 8), st.floats(-8, 8)),
       ankle_off=st.tuples(st.floats(-8, 8), st.floats(-8, 8)), front=st.booleans())
def test_midline_and_lateral_edge_recovered_for_any_angle_despite_off_axis_landmarks(
        deg, width, knee_off, ankle_off, front):
    # The landmarks sit up to 11 px off the axis and up to ~6° off its direction; the slices
    # then cross the leg obliquely, but a slanted cut through a straight strip still has its
    # middle on the strip's centre line, so the midline is the drawn axis exactly.
    knee, length = np.array([300.0, 110.0]), 200.0
    mask = leg_mask(knee, deg, length, width)
    lm_knee = knee + knee_off
    lm_ankle = knee + length * direction(deg) + ankle_off
    out = shank_lines(mask, landmarks(left=(lm_knee, lm_ankle)), left_is_image_right=front)

    mid, lat = out.mid_px[0][0], out.lateral_px[0][0]
    assert line_deg(mid) == pytest.approx(deg, abs=EXACT_DEG)
    assert np.abs(offset_from_axis(mid, knee, deg)).max() < EXACT_PX
    # lateral edge: parallel to the axis, half a width out on the lateral side, which for the
    # left leg is image-right in a front view and image-left from behind
    lateral_sign = 1.0 if front else -1.0
    np.testing.assert_allclose(offset_from_axis(lat, knee, deg), lateral_sign * width / 2, atol=EXACT_PX)
    assert out.clean[0][0] == 1.0
    # every slice's run middle is on the axis, at the documented slice positions
    points = out.points_px[0][0]
    assert np.abs(offset_from_axis(points, knee, deg)).max() < EXACT_PX
    d = lm_ankle - lm_knee
    along = (points - lm_knee) @ (d / np.hypot(*d))
    np.testing.assert_allclose(along, FRACS * np.hypot(*d), atol=EXACT_PX)
    # the fitted line's ends sit on the slices at 15 % and 85 % of the landmark length
    np.testing.assert_allclose((mid - lm_knee) @ (d / np.hypot(*d)), [0.15 * np.hypot(*d), 0.85 * np.hypot(*d)],
                               atol=EXACT_PX)
    # no right leg landmarks: nothing for it
    assert np.isnan(out.mid_px[0][1]).all() and np.isnan(out.lateral_px[0][1]).all()
    assert out.clean[0][1] == 0.0


def test_output_is_one_frame_of_shank_lines_with_n_points():
    knee = np.array([300.0, 110.0])
    out = shank_lines(leg_mask(knee, 0.0, 200.0, 40.0), landmarks(left=(knee, knee + [0, 200])), True)
    assert isinstance(out, ShankLines) and len(out) == 1
    assert out.mid_px[0].shape == (2, 2, 2)
    assert out.lateral_px[0].shape == (2, 2, 2)
    assert out.clean[0].shape == (2,)
    assert out.points_px[0].shape == (2, N_POINTS, 2)
    # a vertical leg at x = 300: the midline's points are at x = 300, y at 15 % / 85 % of 200 px
    np.testing.assert_allclose(out.mid_px[0][0], [[300.0, 140.0], [300.0, 280.0]], atol=EXACT_PX)


def test_binary_opencv_mask_recovers_angle_within_quantisation():
    # A hard-edged 0/1 mask, like a thresholded segmentation. OpenCV's fill is inclusive (it
    # also sets pixels whose centres lie up to ~0.65 px outside the polygon) and bilinear
    # sampling puts the 0.5 crossing of a staircase edge up to half a pixel either way, so a
    # border is found between 0.5 px inside and 1.2 px outside the drawn edge. The same rule
    # acts on both borders, so run middles stay within ~0.6 px of the axis; over the fitted
    # band (70 % of a 300 px shank = 210 px) that tilts the midline by at most
    # atan(1.2 / 210) = 0.33°, the lateral edge (one border, 1.7 px of spread) by 0.46°.
    length, width = 300.0, 40.0
    for deg in (-40.0, -17.0, 0.0, 9.0, 33.0):
        knee = np.array([300.0, 60.0])
        u = direction(deg)
        n = right_normal(deg)
        a, b = knee - 0.2 * length * u, knee + 1.2 * length * u
        poly = np.array([a + n * width / 2, b + n * width / 2, b - n * width / 2, a - n * width / 2])
        mask = np.zeros(SHAPE, np.float32)
        cv2.fillConvexPoly(mask, np.round(poly * 16).astype(np.int32), 1.0, lineType=cv2.LINE_8, shift=4)
        out = shank_lines(mask, landmarks(right=(knee + [4, -3], knee + length * u + [-5, 2])), True)
        assert line_deg(out.mid_px[0][1]) == pytest.approx(deg, abs=0.35)
        assert line_deg(out.lateral_px[0][1]) == pytest.approx(deg, abs=0.5)
        # right leg in a front view: lateral is image-left, half a width out (-0.5..+1.2 px)
        lateral = -offset_from_axis(out.lateral_px[0][1], knee, deg)
        assert np.all((lateral > width / 2 - 0.5) & (lateral < width / 2 + 1.2))


# -- front and back views ----------------------------------------------------------------
@pytest.mark.parametrize("front", [True, False])
def test_lateral_edge_of_each_leg_is_away_from_the_other_leg_in_front_and_back_views(front):
    # Two legs of different lengths and widths, 110 px apart: each leg's slices (±0.6 of its
    # length = ±120 / ±90 px) also cut the other leg, so this also checks that the run at the
    # landmark axis is the one taken, and that each leg is sliced over its own length.
    knee_a, deg_a, len_a, width_a = np.array([245.0, 110.0]), -10.0, 200.0, 40.0   # image-left leg
    knee_b, deg_b, len_b, width_b = np.array([355.0, 110.0]), 20.0, 150.0, 32.0    # image-right leg
    mask = np.maximum(leg_mask(knee_a, deg_a, len_a, width_a), leg_mask(knee_b, deg_b, len_b, width_b))
    leg_a = (knee_a, knee_a + len_a * direction(deg_a))
    leg_b = (knee_b, knee_b + len_b * direction(deg_b))
    # front view: the subject's left leg is on the image's right; from behind, on its left
    lm = landmarks(left=leg_b, right=leg_a) if front else landmarks(left=leg_a, right=leg_b)
    out = shank_lines(mask, lm, left_is_image_right=front)
    row = {"a": 1 if front else 0, "b": 0 if front else 1}      # (left, right) row of each drawn leg
    for name, (knee, ankle), deg, width, lateral in (("a", leg_a, deg_a, width_a, -1.0),
                                                     ("b", leg_b, deg_b, width_b, +1.0)):
        i = row[name]
        mid = out.mid_px[0][i]
        assert line_deg(mid) == pytest.approx(deg, abs=EXACT_DEG)
        assert np.abs(offset_from_axis(mid, knee, deg)).max() < EXACT_PX
        # the fitted segment spans 15 %..85 % of this leg's own landmark length
        np.testing.assert_allclose(mid, [knee + 0.15 * (ankle - knee), knee + 0.85 * (ankle - knee)], atol=EXACT_PX)
        # lateral = away from the midline: image-left for leg a, image-right for leg b, either view
        np.testing.assert_allclose(offset_from_axis(out.lateral_px[0][i], knee, deg), lateral * width / 2,
                                   atol=EXACT_PX)
    np.testing.assert_array_equal(out.clean[0], [1.0, 1.0])


def test_view_flag_alone_decides_which_border_is_lateral():
    # Same image and landmarks, only the flag changes: the midline stays, the edge flips.
    knee, deg, width = np.array([300.0, 110.0]), 12.0, 36.0
    mask = leg_mask(knee, deg, 200.0, width)
    lm = landmarks(left=(knee, knee + 200.0 * direction(deg)))
    front = shank_lines(mask, lm, True)
    back = shank_lines(mask, lm, False)
    np.testing.assert_allclose(front.mid_px[0], back.mid_px[0], equal_nan=True)
    np.testing.assert_allclose(offset_from_axis(front.lateral_px[0][0], knee, deg), width / 2, atol=EXACT_PX)
    np.testing.assert_allclose(offset_from_axis(back.lateral_px[0][0], knee, deg), -width / 2, atol=EXACT_PX)


# -- the other leg in the way ------------------------------------------------------------
def test_slices_crossed_by_the_other_legs_landmark_axis_are_not_clear():
    # Left leg vertical at x = 300 from y = 110 (knee) to 310 (ankle), 40 px wide, so its run
    # spans x in [280, 320] on every slice. The right leg's landmark segment crosses it
    # obliquely from (270, 140) to (330, 280), like legs crossed at the shin. Its mask is left
    # out, so only the landmark rule can make a slice unclear.
    knee, length, width = np.array([300.0, 110.0]), 200.0, 40.0
    mask = leg_mask(knee, 0.0, length, width)
    ok, oa = np.array([270.0, 140.0]), np.array([330.0, 280.0])
    out = shank_lines(mask, landmarks(left=(knee, knee + [0, length]), right=(ok, oa)), True)

    # slice i is the row y_i; the other segment is at x(y_i); crossed when inside the run.
    # (Both ends of the segment lie outside [280, 320], so its extension does not matter.)
    y = knee[1] + FRACS * length
    lam = (y - ok[1]) / (oa[1] - ok[1])
    x = ok[0] + lam * (oa[0] - ok[0])
    crossed = (lam >= 0) & (lam <= 1) & (np.abs(x - knee[0]) <= width / 2)
    assert 0 < crossed[BAND].sum() < BAND.sum() - 5          # the geometry does what it says
    expected_clean = (BAND & ~crossed).sum() / BAND.sum()
    assert out.clean[0][0] == pytest.approx(expected_clean)
    points = out.points_px[0][0]
    # every slice keeps its run middle; the crossed ones are flagged for the fit to leave out
    np.testing.assert_array_equal(out.crossed[0][0].astype(bool), crossed)
    np.testing.assert_allclose(points[~crossed, 0], knee[0], atol=EXACT_PX)
    # the midline is fitted to the remaining (≥ 5) clear slices and is still the axis
    np.testing.assert_allclose(out.mid_px[0][0][:, 0], knee[0], atol=EXACT_PX)
    # the lateral edge does not care about clearness: x = 320 (left leg, front view)
    np.testing.assert_allclose(out.lateral_px[0][0][:, 0], knee[0] + width / 2, atol=EXACT_PX)


@pytest.mark.parametrize("blob_left", [200.0, 250.0])
def test_run_wider_than_40_percent_of_the_shank_is_two_legs_merged(blob_left):
    # The other leg merges with this one on its medial side (image-left of a left leg in a
    # front view) from y_m down, halfway between slices 12 and 13. Below y_m the run spans
    # [blob_left, 320]: 120 px (> 0.4 · 200 = 80: merged) or 70 px (< 80: still clear).
    knee, length, width = np.array([300.0, 110.0]), 200.0, 40.0
    y_m = knee[1] + 12.5 / (N_POINTS - 1) * length
    mask = np.maximum(leg_mask(knee, 0.0, length, width), soft_box(blob_left, 300.0, y_m, 500.0))
    out = shank_lines(mask, landmarks(left=(knee, knee + [0, length])), True)

    merged = (knee[0] + width / 2 - blob_left) > 0.4 * length
    below = knee[1] + FRACS * length > y_m
    unclear = below if merged else np.zeros(N_POINTS, bool)
    assert out.clean[0][0] == pytest.approx((BAND & ~unclear).sum() / BAND.sum())
    points = out.points_px[0][0]
    # every slice keeps its run middle and width: the middle of [280, 320], or of
    # [blob_left, 320] below y_m; the width says which slices are merged
    expected_x = np.where(below, (blob_left + knee[0] + width / 2) / 2, knee[0])
    np.testing.assert_allclose(points[:, 0], expected_x, atol=EXACT_PX)
    expected_w = np.where(below, knee[0] + width / 2 - blob_left, width)
    np.testing.assert_allclose(out.width_px[0][0], expected_w, atol=2 * EXACT_PX)
    if merged:      # only the slices above the merge are used: the true axis
        np.testing.assert_allclose(out.mid_px[0][0][:, 0], knee[0], atol=EXACT_PX)
    # the lateral border is untouched by a medial merge: x = 320 all the way
    np.testing.assert_allclose(out.lateral_px[0][0][:, 0], knee[0] + width / 2, atol=EXACT_PX)


def test_merged_legs_over_the_whole_band_give_no_midline_but_keep_the_lateral_edge():
    # A 90 px wide run (> 80 = 0.4 · 200) on every slice: not one clear slice.
    knee, width = np.array([300.0, 110.0]), 90.0
    out = shank_lines(leg_mask(knee, 5.0, 200.0, width), landmarks(left=(knee, knee + 200 * direction(5.0))), True)
    assert out.clean[0][0] == 0.0
    assert np.isnan(out.mid_px[0][0]).all()
    np.testing.assert_allclose(out.width_px[0][0], width, atol=2 * EXACT_PX)    # recorded, for the fit to judge
    np.testing.assert_allclose(offset_from_axis(out.lateral_px[0][0], knee, 5.0), width / 2, atol=EXACT_PX)


# -- what is not a shank -----------------------------------------------------------------
@pytest.mark.parametrize("offset, found", [(25.0, True), (-25.0, True), (80.0, False)])
def test_run_beside_the_landmarks_is_taken_only_when_near(offset, found):
    # A 30 px wide leg whose centre line is ``offset`` px to the image-right of the landmark
    # axis (length 200). At ±25 px the axis misses the run (its border is 10 px away, within
    # 0.25 · 200 = 50 px): the run is still the shank. At 80 px its border is 65 px away: not.
    knee, width = np.array([300.0, 110.0]), 30.0
    mask = leg_mask(knee + [offset, 0.0], 0.0, 200.0, width)
    out = shank_lines(mask, landmarks(left=(knee, knee + [0, 200.0])), True)
    if found:
        np.testing.assert_allclose(out.mid_px[0][0][:, 0], knee[0] + offset, atol=EXACT_PX)
        np.testing.assert_allclose(out.lateral_px[0][0][:, 0], knee[0] + offset + width / 2, atol=EXACT_PX)
        assert out.clean[0][0] == 1.0
    else:
        assert np.isnan(out.mid_px[0][0]).all() and np.isnan(out.lateral_px[0][0]).all()
        assert np.isnan(out.points_px[0][0]).all()
        assert out.clean[0][0] == 0.0


@pytest.mark.parametrize("length, found", [(19.0, False), (24.0, True)])
def test_shank_shorter_than_20_px_gives_nan(length, found):
    # The same thin, clear leg; only the landmark knee→ankle distance changes.
    knee, deg, width = np.array([300.0, 200.0]), 10.0, 6.0
    mask = leg_mask(knee, deg, 40.0, width)
    out = shank_lines(mask, landmarks(left=(knee, knee + length * direction(deg))), True)
    if found:
        # a short leg is still a straight strip: exact (the strip's 6 px ramp keeps it linear)
        assert line_deg(out.mid_px[0][0]) == pytest.approx(deg, abs=EXACT_DEG)
        assert out.clean[0][0] == 1.0
    else:
        for key in ("mid_px", "lateral_px", "points_px"):
            assert np.isnan(getattr(out, key)[0][0]).all()
        assert out.clean[0][0] == 0.0


def test_empty_mask_gives_nan_lines_and_zero_clean_share():
    knee_l, knee_r = np.array([360.0, 110.0]), np.array([240.0, 110.0])
    lm = landmarks(left=(knee_l, knee_l + [0, 200]), right=(knee_r, knee_r + [0, 200]))
    out = shank_lines(np.zeros(SHAPE, np.float32), lm, True)
    for key in ("mid_px", "lateral_px", "points_px"):
        assert np.isnan(getattr(out, key)).all()
    np.testing.assert_array_equal(out.clean[0], [0.0, 0.0])


def test_missing_landmarks_of_one_leg_leave_the_other_leg_measured():
    knee_l, knee_r = np.array([360.0, 110.0]), np.array([240.0, 110.0])
    mask = np.maximum(leg_mask(knee_l, 0.0, 200.0, 40.0), leg_mask(knee_r, 0.0, 200.0, 40.0))
    lm = landmarks(left=(knee_l, knee_l + [0, 200]), right=(knee_r, knee_r + [0, 200]))
    lm[LM.RIGHT_KNEE] = np.nan
    out = shank_lines(mask, lm, True)
    assert np.isnan(out.mid_px[0][1]).all() and out.clean[0][1] == 0.0
    np.testing.assert_allclose(out.mid_px[0][0][:, 0], knee_l[0], atol=EXACT_PX)
    assert out.clean[0][0] == 1.0


def test_mask_with_a_channel_axis_reads_like_the_plain_mask():
    knee = np.array([300.0, 110.0])
    mask = leg_mask(knee, -20.0, 200.0, 40.0)
    lm = landmarks(left=(knee, knee + 200 * direction(-20.0)))
    plain = shank_lines(mask, lm, True)
    channel = shank_lines(mask[..., None], lm, True)
    assert line_deg(channel.mid_px[0][0]) == pytest.approx(-20.0, abs=EXACT_DEG)
    for key in KEYS:
        np.testing.assert_array_equal(getattr(channel, key), getattr(plain, key))


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_a_mask_of_a_box_of_the_frame_gives_the_lines_in_frame_pixels(scale):
    """The model saw only a box of the frame, resized: the lines come back where they are in
    the frame (a drawn 25° shank), as from the whole frame's mask."""
    knee, length, deg = np.array([300.0, 150.0]), 220.0, 25.0
    mask = leg_mask(knee, deg, length, 44.0)
    lm = landmarks(left=(knee, knee + length * direction(deg)))
    whole = shank_lines(mask, lm, left_is_image_right=True)
    x0, y0, x1, y1 = 120, 60, 560, 500
    box = mask[y0:y1, x0:x1]
    if scale != 1.0:
        box = cv2.resize(box, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    part = shank_lines(box, lm, left_is_image_right=True, mask_origin_px=(x0, y0), mask_scale=(scale, scale))
    # the same lines and run widths: exact for the box at full size; within 0.05 px when halved
    # (the soft border, averaged over 2x2 pixels, is no longer exactly linear where it meets 0 and 1)
    tol = EXACT_PX if scale == 1.0 else 0.05
    np.testing.assert_allclose(part.mid_px[0, 0], whole.mid_px[0, 0], atol=tol)
    np.testing.assert_allclose(part.width_px[0, 0], whole.width_px[0, 0], atol=2 * tol)
    assert line_deg(part.mid_px[0][0]) == pytest.approx(deg, abs=EXACT_DEG if scale == 1.0 else 0.02)
    np.testing.assert_array_equal(part.clean, whole.clean)
