"""Camera roll from level lines in synthetic scenes rotated by a known roll (hiprom.vision.scene)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hiprom.vision.scene import MAX_TILT_DEG, MIN_SEGMENT_FRACTION, LineRoll, level_line_roll_deg, sample_every

H, W = 480, 640            # frame size (max side 640 = the default max_side_px: not downscaled)
WALL, WHITE, FLOOR, TABLE, SHELF = (200, 190, 170), (245, 245, 245), (90, 70, 50), (120, 60, 30), (60, 60, 60)

#: Roll accuracy asked of the estimate: LSD's sub-pixel segments on long (>=220 px) clean
#: edges give the angle to a few hundredths of a degree; 0.2° leaves room for resampling.
ROLL_TOL_DEG = 0.2

#: Level edge length drawn in the H×W crop at roll 0 (each band or bar has 2 edges):
#: skirting board 2×640 (full width), table top 2×500, two shelves 2×2×220.
LEVEL_EDGE_PX = 2 * W + 2 * 500 + 4 * 220


def room(scale: int = 1) -> np.ndarray:
    """A level room on a canvas twice the frame size (rotated, then cropped: no black corners).

    Relative to the centre (cx, cy) of the canvas: skirting board across the whole width at
    rows cy+130..cy+150 with the floor below it, a table top (rows cy+20..cy+60, 500 px wide),
    two shelves (12 px thick, 220 px wide) at the upper left.
    """
    s = scale
    img = np.full((2 * H * s, 2 * W * s, 3), WALL, np.uint8)
    cy, cx = H * s, W * s
    img[cy + 150 * s:] = FLOOR
    img[cy + 130 * s:cy + 150 * s] = WHITE
    img[cy + 20 * s:cy + 60 * s, cx - 250 * s:cx + 250 * s] = TABLE
    for y in (-180, -110):
        img[cy + y * s:cy + (y + 12) * s, cx - 280 * s:cx - 60 * s] = SHELF
    return img


def rolled(canvas: np.ndarray, roll_deg: float, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """Turn ``canvas`` by ``roll_deg`` about its centre (+ = clockwise on screen, y down) and
    crop the central ``size``.

    The affine map sends the unit vector (1, 0) to (cos r, sin r): with y down, a level line's
    right end moves down, i.e. the scene turns clockwise (the convention of hiprom.geometry.angles).
    """
    ch, cw = canvas.shape[:2]
    c, s = np.cos(np.radians(roll_deg)), np.sin(np.radians(roll_deg))
    cx, cy = cw / 2, ch / 2
    m = np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy]])
    out = cv2.warpAffine(canvas, m, (cw, ch), flags=cv2.INTER_LINEAR)
    h, w = size
    return np.ascontiguousarray(out[(ch - h) // 2:(ch + h) // 2, (cw - w) // 2:(cw + w) // 2])


def white_band_row(img: np.ndarray, col: int) -> float:
    """Mean row of the skirting board (the only near-white pixels) in one column."""
    rows = np.nonzero(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, col] > 230)[0]
    return float(rows.mean())


@pytest.fixture(scope="module")
def canvas() -> np.ndarray:
    return room()


@pytest.mark.parametrize("roll", [0.0, 0.5, 3.0, -3.0, 7.5, -10.0, 12.0, -14.0])
def test_roll_of_a_rotated_room_is_recovered(canvas, roll):
    found = level_line_roll_deg(rolled(canvas, roll))
    assert isinstance(found, LineRoll)
    assert found.roll_deg == pytest.approx(roll, abs=ROLL_TOL_DEG)
    assert found.support == pytest.approx(1.0, abs=0.01)      # every long near-horizontal edge is level


def test_positive_roll_means_the_scene_turned_clockwise(canvas):
    img = rolled(canvas, 5.0)
    # the synthetic image itself: the skirting board is lower (larger y) at the right,
    # by (620 - 20)·tan 5° ≈ 52.5 rows (±2 rows: band edges are anti-aliased)
    drop = white_band_row(img, 620) - white_band_row(img, 20)
    assert drop == pytest.approx(600 * np.tan(np.radians(5.0)), abs=2.0)
    assert level_line_roll_deg(img).roll_deg == pytest.approx(5.0, abs=ROLL_TOL_DEG)
    # the mirror-image roll (counter-clockwise) gives the opposite sign
    assert level_line_roll_deg(rolled(canvas, -5.0)).roll_deg == pytest.approx(-5.0, abs=ROLL_TOL_DEG)


def test_length_is_the_summed_level_edge_length(canvas):
    found = level_line_roll_deg(rolled(canvas, 0.0))
    # LSD trims a pixel or two at segment ends and corners: 2% of 3160 px
    assert found.length_px == pytest.approx(LEVEL_EDGE_PX, rel=0.02)


def test_sensor_noise_does_not_move_the_estimate(canvas):
    img = rolled(canvas, -6.0).astype(np.float64)
    img += np.random.default_rng(1).normal(0.0, 8.0, img.shape)     # σ = 8 grey levels
    found = level_line_roll_deg(np.clip(img, 0, 255).astype(np.uint8))
    assert found.roll_deg == pytest.approx(-6.0, abs=ROLL_TOL_DEG)


def _with_line(canvas: np.ndarray, angle_deg: float, length: float = 280.0) -> np.ndarray:
    """The room with a dark 10 px line at ``angle_deg`` on the bare wall (a receding edge)."""
    img = canvas.copy()
    cy, cx = canvas.shape[0] // 2, canvas.shape[1] // 2
    a = np.radians(angle_deg)
    p0 = (cx - 40, cy - 200)           # right of the shelves, above the table
    p1 = (int(round(p0[0] + length * np.cos(a))), int(round(p0[1] + length * np.sin(a))))
    cv2.line(img, p0, p1, (20, 20, 20), 10, cv2.LINE_AA)
    return img


@pytest.mark.parametrize("roll", [0.0, 2.0, -5.0])
def test_a_receding_line_loses_to_the_level_majority_and_lowers_support(canvas, roll):
    # A 280 px line 8° off level (2 edges, 560 px) against 3160 px of level edges: the level
    # direction wins; support = 3160 / (3160 + 560) = 0.849 (±0.03 for LSD end trimming).
    found = level_line_roll_deg(rolled(_with_line(canvas, 8.0), roll))
    assert found.roll_deg == pytest.approx(roll, abs=ROLL_TOL_DEG)
    assert found.support == pytest.approx(LEVEL_EDGE_PX / (LEVEL_EDGE_PX + 560), abs=0.03)


@pytest.mark.parametrize("roll", [0.0, 3.0])
def test_lines_close_to_the_peak_are_averaged_by_length(canvas, roll):
    # A 600 px bar 0.8° off level (1200 px of edges, within 1° of the level peak) beside
    # 3160 px of level edges: the length-weighted mean is roll + 0.8·1200/4360 = roll + 0.22°
    # (a plain mean over the segments gives about roll + 0.15°). ±0.03°: LSD trims
    # segment ends by a few pixels, which shifts the length shares by ~1%.
    img = canvas.copy()
    cy, cx = canvas.shape[0] // 2, canvas.shape[1] // 2
    a = np.radians(0.8)
    p0 = (cx - 300, cy - 60)                         # between the shelves and the table
    cv2.line(img, p0, (int(round(p0[0] + 600 * np.cos(a))), int(round(p0[1] + 600 * np.sin(a)))),
             (20, 20, 20), 10, cv2.LINE_AA)
    found = level_line_roll_deg(rolled(img, roll))
    assert found.roll_deg == pytest.approx(roll + 0.8 * 1200 / (LEVEL_EDGE_PX + 1200), abs=0.03)
    assert found.support == pytest.approx(1.0, abs=0.01)


def test_lines_steeper_than_the_tilt_limit_are_not_counted(canvas):
    assert MAX_TILT_DEG < 25.0
    found = level_line_roll_deg(rolled(_with_line(canvas, 25.0), 3.0))
    assert found.roll_deg == pytest.approx(3.0, abs=ROLL_TOL_DEG)
    assert found.support == pytest.approx(1.0, abs=0.01)     # the 25° line is not in the share


def test_a_bigger_frame_is_downscaled_and_lengths_reported_in_its_pixels(canvas):
    small = rolled(canvas, -4.0)
    big = cv2.resize(small, None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)   # 1920×2560, same angles
    ref = level_line_roll_deg(small)
    found = level_line_roll_deg(big)                 # downscaled by 4 to the default 640 px
    assert found.roll_deg == pytest.approx(-4.0, abs=ROLL_TOL_DEG)
    assert found.length_px == pytest.approx(4 * ref.length_px, rel=0.02)   # back in full-size pixels


def test_max_side_px_keeps_angle_and_length_units(canvas):
    img = rolled(canvas, 9.0)
    ref = level_line_roll_deg(img)
    half = level_line_roll_deg(img, max_side_px=W // 2)          # analysed at 240×320
    assert half.roll_deg == pytest.approx(9.0, abs=ROLL_TOL_DEG)
    # lengths stay in the input frame's pixels: resampling changes them by <2%
    assert half.length_px == pytest.approx(ref.length_px, rel=0.02)


def test_a_frame_drawn_large_is_measured_like_a_small_one():
    # drawn at 3× (1440×1920 crop), not resampled from a small one
    found = level_line_roll_deg(rolled(room(scale=3), 2.5, size=(3 * H, 3 * W)))
    assert found.roll_deg == pytest.approx(2.5, abs=ROLL_TOL_DEG)
    assert found.length_px == pytest.approx(3 * LEVEL_EDGE_PX, rel=0.02)


def test_blank_frame_has_no_level_line():
    assert level_line_roll_deg(np.full((H, W, 3), 128, np.uint8)) is None


def test_pixel_noise_has_no_level_line():
    noise = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    assert level_line_roll_deg(noise) is None


def test_vertical_lines_only_give_none():
    img = np.full((H, W, 3), 200, np.uint8)
    for x in range(50, W, 80):
        img[:, x:x + 15] = 40                          # door frames, table legs
    assert level_line_roll_deg(img) is None


def test_oblique_lines_only_give_none():
    big = np.full((2 * H, 2 * W, 3), 200, np.uint8)
    rise = int(round(2 * W * np.tan(np.radians(30.0))))
    for y in range(-rise, 2 * H, 90):
        cv2.line(big, (0, y), (2 * W, y + rise), (40, 40, 40), 12, cv2.LINE_AA)
    assert level_line_roll_deg(big[H // 2:H // 2 + H, W // 2:W // 2 + W].copy()) is None


def _dashes(dash_px: int) -> np.ndarray:
    """Rows of level dashes ``dash_px`` long with equal gaps (10 px thick)."""
    img = np.full((H, W, 3), 200, np.uint8)
    for y in range(60, H - 20, 60):
        for x in range(20, W - 20, 2 * dash_px):
            img[y:y + 10, x:x + dash_px] = 40
    return img


def test_short_segments_are_ignored_long_ones_found():
    limit = MIN_SEGMENT_FRACTION * H            # 28.8 px for a 480 px high frame
    assert 20 < limit < 40
    assert level_line_roll_deg(_dashes(20)) is None
    found = level_line_roll_deg(_dashes(40))
    assert found.roll_deg == pytest.approx(0.0, abs=ROLL_TOL_DEG)


# -- sample_every -----------------------------------------------------------------------
@pytest.mark.parametrize("frames", [None, 0, -5])
def test_sample_every_unknown_length_uses_the_fallback(frames):
    assert sample_every(frames) == 15
    assert sample_every(frames, fallback=7) == 7


@pytest.mark.parametrize(("frames", "samples", "stride"), [(240, 8, 30), (1000, 8, 125), (250, 8, 31),
                                                          (100, 4, 25), (7, 8, 1), (1, 8, 1)])
def test_sample_every_spreads_about_n_samples(frames, samples, stride):
    assert sample_every(frames, samples=samples) == stride          # frames // samples, at least 1
    n_taken = len(range(0, frames, stride))
    assert samples <= n_taken <= samples + 1 or (frames < samples and n_taken == frames)
