"""A photo's figure: the photo with each reading drawn, not an empty angle-against-time axis."""

from __future__ import annotations

from pathlib import Path

import pytest

from hiprom.config import Config


@pytest.mark.model
def test_a_photo_shows_the_annotated_photo_not_an_empty_time_axis(shared_model_path: Path, shared_dir: Path,
                                                                  tmp_path: Path) -> None:
    import cv2

    import hiprom

    photo = shared_dir / "bench" / "synthetic" / "png" / "s01_man_front_R45.png"
    config = Config().with_overrides({"model.path": str(shared_model_path)})
    result = hiprom.analyze(photo, config)
    fig = result.plot()
    (ax,) = fig.axes
    assert ax.get_xlabel() == "" and len(ax.get_images()) == 1           # the photo, not an angle-time axis
    assert ax.get_title() == f"right IR {result.sides['right'].peak_ir_deg:.1f}°"
    shown = ax.get_images()[0].get_array()
    assert shown.shape[:2] == cv2.imread(str(photo)).shape[:2]
    out = result.save(tmp_path / "out")
    png = cv2.imread(str(out / "angles.png"))
    assert png is not None and png.std() > 30
