"""The output folder is written atomically: all of it or nothing, and ``--force`` never
loses the old folder when the new one cannot be written.

No pose model needed: the result comes from a synthetic landmark series (a seated subject
whose right leg turns in to 35° and out to 25°, projected by ``synthetic_leg``).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from synthetic_leg import Body, Camera, image_joints

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.core.landmarks import LM, N_LANDMARKS, LandmarkSeries
from hiprom.core.result import AnalysisResult
from hiprom.errors import OutputExistsError
from hiprom.io.landmarks_npz import load_series
from hiprom.outputs import folder as folder_mod
from hiprom.outputs.folder import OUTPUT_FILES, default_output_dir, write_outputs

FPS = 30.0
# (time s, right-leg angle °): rest, IR 35 held, rest, ER -25 held, rest; cosine-eased.
KEYFRAMES = [(0, 0), (1, 0), (2, 35), (3, 35), (4, 0), (4.5, 0), (5.5, -25), (6.5, -25),
             (7.5, 0), (8.5, 0)]


def _profile(t: np.ndarray) -> np.ndarray:
    ts, vs = (np.array(v, float) for v in zip(*KEYFRAMES))
    i = np.clip(np.searchsorted(ts, t, side="right") - 1, 0, len(ts) - 2)
    u = np.clip((t - ts[i]) / (ts[i + 1] - ts[i]), 0.0, 1.0)
    return vs[i] + (vs[i + 1] - vs[i]) * (1 - np.cos(np.pi * u)) / 2


def synthetic_series() -> LandmarkSeries:
    """A front view of a seated subject: legs from ``synthetic_leg``, trunk placed above."""
    t = np.arange(int(8.5 * FPS)) / FPS
    body, cam = Body(abduction_deg=4.0), Camera()
    n = len(t)
    img, world = np.zeros((n, N_LANDMARKS, 3)), np.zeros((n, N_LANDMARKS, 3))
    ids = {"hip": (LM.LEFT_HIP, LM.RIGHT_HIP), "knee": (LM.LEFT_KNEE, LM.RIGHT_KNEE),
           "ankle": (LM.LEFT_ANKLE, LM.RIGHT_ANKLE)}
    for k, ir in enumerate(_profile(t)):
        j2, j3 = image_joints(body, cam, 0.0, ir), body.joints(0.0, ir)
        img[k, :, :2] = (j2["hip_L"] + j2["hip_R"]) / 2 + (0.0, -300.0)  # head and arms
        for joint, (left, right) in ids.items():
            for s, i in (("L", left), ("R", right)):
                img[k, i, :2] = j2[f"{joint}_{s}"]
                x, y, z = j3[f"{joint}_{s}"]
                world[k, i] = (x, -z, -y)  # model frame: x image right, y down, z away
        for ankle, heel, toe in ((LM.LEFT_ANKLE, LM.LEFT_HEEL, LM.LEFT_TOE),
                                 (LM.RIGHT_ANKLE, LM.RIGHT_HEEL, LM.RIGHT_TOE)):
            img[k, heel, :2] = img[k, ankle, :2] + (0.0, 10.0)
            img[k, toe, :2] = img[k, ankle, :2] + (0.0, 20.0)
        for shoulder, hip in ((LM.LEFT_SHOULDER, LM.LEFT_HIP), (LM.RIGHT_SHOULDER, LM.RIGHT_HIP)):
            img[k, shoulder, :2] = img[k, hip, :2] + (0.0, -220.0)
            world[k, shoulder] = world[k, hip] + (0.0, -0.5, 0.0)
    vis = np.full((n, N_LANDMARKS), 0.95)
    return LandmarkSeries(img, vis, vis.copy(), world, t, np.arange(n), (cam.width_px, cam.height_px),
                          source="synthetic.mp4", model="none", fps=FPS)


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    res = analyze_landmarks(synthetic_series(), Config())
    assert res.sides["right"].tested and not res.sides["left"].tested
    return res


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


class Boom(RuntimeError):
    pass


def _fail(*args, **kwargs):
    raise Boom("the plot could not be drawn")


# --- normal writes ------------------------------------------------------------------------

def test_write_outputs(tmp_path: Path, result: AnalysisResult) -> None:
    out = write_outputs(result, tmp_path / "clip_hiprom")
    assert out == tmp_path / "clip_hiprom"
    assert listing(tmp_path) == {"clip_hiprom"}, "temp folders left behind"
    assert listing(out) == set(OUTPUT_FILES)
    data = json.loads((out / "result.json").read_text())
    assert data["schema"] == "hiprom.result" and data["schema_version"] == 1
    assert data["sides"]["right"]["peak_ir_deg"] == pytest.approx(result.sides["right"].peak_ir_deg, abs=0.01)
    assert data["sides"]["left"]["peak_ir_deg"] is None and data["sides"]["left"]["peak_er_deg"] is None
    assert load_series(out / "landmarks.npz").n_frames == result.series.n_frames
    assert (out / "angles.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_no_plot(tmp_path: Path, result: AnalysisResult) -> None:
    out = write_outputs(result, tmp_path / "out", plot=False)
    assert listing(out) == set(OUTPUT_FILES) - {"angles.png"}


def test_creates_missing_parent_folders(tmp_path: Path, result: AnalysisResult) -> None:
    out = write_outputs(result, tmp_path / "a" / "b" / "out", plot=False)
    assert (out / "result.json").is_file()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_follow_the_umask(tmp_path: Path, result: AnalysisResult) -> None:
    """Not private (0700/0600) as tempfile would make them: like any folder the user makes."""
    old = os.umask(0o022)
    try:
        out = write_outputs(result, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for name in OUTPUT_FILES:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_default_output_dir(tmp_path: Path) -> None:
    assert default_output_dir(tmp_path / "clip.mp4") == tmp_path / "clip_hiprom"
    (tmp_path / "photos").mkdir()
    assert default_output_dir(tmp_path / "photos") == tmp_path / "photos_hiprom"


# --- atomicity ------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["plot", "csv", "landmarks"])
def test_failure_leaves_nothing(tmp_path: Path, result: AnalysisResult, monkeypatch, where: str) -> None:
    target = {"plot": (folder_mod, "plot_angles"), "csv": (AnalysisResult, "to_pandas"),
              "landmarks": (folder_mod, "save_series")}[where]
    monkeypatch.setattr(*target, _fail)
    with pytest.raises(Boom):
        write_outputs(result, tmp_path / "clip_hiprom")
    assert listing(tmp_path) == set(), "an output or temp folder was left behind"


def test_failure_while_saving_the_figure_leaves_nothing(tmp_path: Path, result: AnalysisResult,
                                                         monkeypatch) -> None:
    from matplotlib.figure import Figure

    monkeypatch.setattr(Figure, "savefig", _fail)
    with pytest.raises(Boom):
        write_outputs(result, tmp_path / "clip_hiprom")
    assert listing(tmp_path) == set()


def test_interrupt_leaves_nothing(tmp_path: Path, result: AnalysisResult, monkeypatch) -> None:
    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_mod, "plot_angles", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(result, tmp_path / "clip_hiprom")
    assert listing(tmp_path) == set()


def _old_folder(tmp_path: Path) -> Path:
    out = tmp_path / "clip_hiprom"
    out.mkdir()
    (out / "result.json").write_text('{"old": true}\n')
    (out / "notes.txt").write_text("keep me\n")
    return out


def test_existing_folder_without_force(tmp_path: Path, result: AnalysisResult) -> None:
    out = _old_folder(tmp_path)
    with pytest.raises(OutputExistsError) as info:
        write_outputs(result, out)
    assert "--force" in str(info.value)
    assert listing(tmp_path) == {"clip_hiprom"}
    assert listing(out) == {"result.json", "notes.txt"}
    assert (out / "result.json").read_text() == '{"old": true}\n'


def test_existing_file_is_refused_even_with_force(tmp_path: Path, result: AnalysisResult) -> None:
    out = tmp_path / "clip_hiprom"
    out.write_text("a file, not a folder\n")
    with pytest.raises(OutputExistsError):
        write_outputs(result, out, force=True)
    assert out.read_text() == "a file, not a folder\n"
    assert listing(tmp_path) == {"clip_hiprom"}


def test_force_replaces(tmp_path: Path, result: AnalysisResult) -> None:
    out = _old_folder(tmp_path)
    write_outputs(result, out, force=True)
    assert listing(out) == set(OUTPUT_FILES)
    assert json.loads((out / "result.json").read_text())["schema"] == "hiprom.result"
    assert listing(tmp_path) == {"clip_hiprom"}, "the old folder or a temp folder was left behind"


def test_force_keeps_the_old_folder_when_the_new_write_fails(tmp_path: Path, result: AnalysisResult,
                                                               monkeypatch) -> None:
    out = _old_folder(tmp_path)
    monkeypatch.setattr(folder_mod, "plot_angles", _fail)
    with pytest.raises(Boom):
        write_outputs(result, out, force=True)
    assert listing(tmp_path) == {"clip_hiprom"}
    assert listing(out) == {"result.json", "notes.txt"}
    assert (out / "notes.txt").read_text() == "keep me\n"


def test_force_keeps_the_old_folder_when_the_swap_fails(tmp_path: Path, result: AnalysisResult,
                                                          monkeypatch) -> None:
    """The final rename fails (e.g. a disk error): the old folder is put back."""
    import hiprom.outputs.folder as outputs

    out = _old_folder(tmp_path)
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.endswith(".tmp") and Path(dst) == out:
            raise OSError("simulated failure renaming the new folder into place")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(OSError, match="simulated"):
        write_outputs(result, out, force=True)
    assert listing(tmp_path) == {"clip_hiprom"}
    assert listing(out) == {"result.json", "notes.txt"}
