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

import pytest
from helpers.synthetic_front import synthetic_series

from hiprom.apps.pipeline import analyze_landmarks
from hiprom.config import Config
from hiprom.core.result import AnalysisResult
from hiprom.errors import OutputExistsError, UnsafeOutputError
from hiprom.io.landmarks_npz import load_series
from hiprom.outputs import folder as folder_mod
from hiprom.outputs.folder import OUTPUT_FILES, check_output_dir, default_output_dir, is_hiprom_output, write_outputs


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


def _previous_output(tmp_path: Path, result: AnalysisResult) -> Path:
    """A folder a previous hiprom run wrote (without the plot), its result.json marked as old."""
    out = write_outputs(result, tmp_path / "clip_hiprom", plot=False)
    data = json.loads((out / "result.json").read_text())
    (out / "result.json").write_text(json.dumps({**data, "old": True}))
    return out


def test_force_replaces_a_previous_output(tmp_path: Path, result: AnalysisResult) -> None:
    out = _previous_output(tmp_path, result)
    write_outputs(result, out, force=True)
    assert listing(out) == set(OUTPUT_FILES)
    data = json.loads((out / "result.json").read_text())
    assert data["schema"] == "hiprom.result" and "old" not in data
    assert listing(tmp_path) == {"clip_hiprom"}, "the old folder or a temp folder was left behind"


def test_force_never_replaces_a_folder_with_other_files(tmp_path: Path, result: AnalysisResult) -> None:
    """--force only ever replaces hiprom's own output: the user's files are never deleted."""
    out = _old_folder(tmp_path)
    with pytest.raises(UnsafeOutputError, match=r"holds files hiprom did not write \(notes.txt\)") as info:
        write_outputs(result, out, force=True)
    assert info.value.exit_code == 2
    assert listing(tmp_path) == {"clip_hiprom"}
    assert listing(out) == {"result.json", "notes.txt"}
    previous = _previous_output(tmp_path / "p", result)
    (previous / "notes.txt").write_text("mine\n")
    with pytest.raises(UnsafeOutputError, match="notes.txt"):
        write_outputs(result, previous, force=True)
    assert (previous / "notes.txt").read_text() == "mine\n"


def test_force_never_replaces_a_folder_hiprom_did_not_write(tmp_path: Path, result: AnalysisResult) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").write_text('{"schema": "someone.else"}\n')
    with pytest.raises(UnsafeOutputError, match="not written by hiprom"):
        write_outputs(result, out, force=True)
    assert (out / "result.json").read_text() == '{"schema": "someone.else"}\n'
    assert is_hiprom_output(_previous_output(tmp_path / "p", result)) and not is_hiprom_output(out)


@pytest.mark.parametrize("where", ["the folder", "a subfolder"])
def test_an_output_folder_holding_the_input_is_refused(tmp_path: Path, result: AnalysisResult,
                                                       where: str) -> None:
    """``hiprom analyze c/clip.mp4 --out c --force`` used to delete the clip and everything in c."""
    clip = tmp_path / "c" / ("clip.mp4" if where == "the folder" else "sub/clip.mp4")
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"the user's clip")
    (tmp_path / "c" / "other.txt").write_text("x")
    for force in (False, True):
        with pytest.raises(UnsafeOutputError, match="holds the input") as info:
            write_outputs(result, tmp_path / "c", force=force, input_path=clip)
        assert info.value.exit_code == 2
    assert clip.read_bytes() == b"the user's clip" and (tmp_path / "c" / "other.txt").is_file()
    with pytest.raises(UnsafeOutputError, match="is the input"):
        check_output_dir(clip, force=True, input_path=clip)


def test_the_current_folder_is_never_replaced(tmp_path: Path, result: AnalysisResult, monkeypatch) -> None:
    out = _previous_output(tmp_path, result)
    monkeypatch.chdir(out)
    with pytest.raises(UnsafeOutputError, match="current folder"):
        write_outputs(result, Path("."), force=True)
    assert listing(out) == {"result.json", "angles.csv", "landmarks.npz"}


def test_an_empty_folder_may_be_replaced(tmp_path: Path, result: AnalysisResult) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    with pytest.raises(OutputExistsError):
        write_outputs(result, out)
    write_outputs(result, out, force=True, plot=False)
    assert listing(out) == set(OUTPUT_FILES) - {"angles.png"}


def test_force_keeps_the_old_folder_when_the_new_write_fails(tmp_path: Path, result: AnalysisResult,
                                                               monkeypatch) -> None:
    out = _previous_output(tmp_path, result)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(folder_mod, "plot_angles", _fail)
    with pytest.raises(Boom):
        write_outputs(result, out, force=True)
    assert listing(tmp_path) == {"clip_hiprom"}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_force_keeps_the_old_folder_when_the_swap_fails(tmp_path: Path, result: AnalysisResult,
                                                          monkeypatch) -> None:
    """The final rename fails (e.g. a disk error): the old folder is put back."""
    import hiprom.io.atomic as atomic

    out = _previous_output(tmp_path, result)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.endswith(".tmp") and Path(dst) == out:
            raise OSError("simulated failure renaming the new folder into place")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="simulated"):
        write_outputs(result, out, force=True)
    assert listing(tmp_path) == {"clip_hiprom"}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
