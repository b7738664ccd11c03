"""The ``hiprom`` command line, run as a user runs it: in a subprocess.

Every bad input must give one clear message that names the file, a non-zero exit code, no
Python traceback and no output folder. These cases run with ``HIPROM_MODEL`` pointing at a file
that does not exist, which also checks that the input is judged before any model is looked for
(the cases that need the pose model: tests/e2e/test_cli.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SAMPLES
from helpers.cli import assert_clean_failure, closed_port, listing, run_cli
from helpers.videos import write_mp4

from hiprom.config import Config
from hiprom.errors import ConfigError, InputError, OutputExistsError, UnsafeOutputError

SAMPLE = SAMPLES / "seated_ir_right.mp4"


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def no_model_env(tmp_path: Path) -> dict[str, str]:
    """HIPROM_MODEL points at a file that does not exist: any model lookup fails at once."""
    return {"HIPROM_MODEL": str(tmp_path / "no-such-model.task"),
            "HIPROM_CACHE_DIR": str(tmp_path / "no-cache")}


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """The repo's sample clip copied into tmp_path (default outputs go beside the input)."""
    return Path(shutil.copy(SAMPLE, tmp_path / "clip.mp4"))


# --- bad inputs that are refused before any model is needed --------------------------------

def _missing(d: Path) -> Path:
    return d / "missing.mp4"


def _empty_folder(d: Path) -> Path:
    (d / "photos").mkdir()
    (d / "photos" / "notes.txt").write_text("not a photo\n")
    return d / "photos"


def _text_as_mp4(d: Path) -> Path:
    path = d / "notes.mp4"
    path.write_text("These are my notes about the hip test, not a video.\n" * 20)
    return path


def _zero_bytes(d: Path) -> Path:
    path = d / "empty.mp4"
    path.write_bytes(b"")
    return path


def _zero_frames(d: Path) -> Path:
    return write_mp4(d / "noframes.mp4", [])


@pytest.mark.parametrize("make, expected", [
    (_missing, "does not exist"),
    (_empty_folder, "no images"),
    (_text_as_mp4, "text file"),
    (_zero_bytes, "empty (0 bytes)"),
    (_zero_frames, "no video frames"),
], ids=["missing-file", "folder-without-images", "text-renamed-mp4", "zero-bytes", "zero-frames"])
def test_bad_input_is_refused_cleanly(tmp_path: Path, no_model_env, make, expected: str) -> None:
    bad = make(tmp_path)
    before = listing(tmp_path)
    proc = run_cli("analyze", bad, env=no_model_env, cwd=tmp_path)
    err = assert_clean_failure(proc, code=InputError.exit_code)
    assert str(bad) in err, f"the message does not name {bad}:\n{err}"
    assert expected in err, err
    assert "How to fix" in err, err
    assert listing(tmp_path) == before, "an output folder (or a temp folder) was left behind"


def test_bad_input_is_reported_before_a_missing_model(tmp_path: Path) -> None:
    """A text file is called a text file even with no model anywhere (no download first)."""
    bad = _text_as_mp4(tmp_path)
    env = {"HIPROM_CACHE_DIR": str(tmp_path / "cache"),
           "HIPROM_MODEL_URL": f"http://127.0.0.1:{closed_port()}/x.task"}
    err = assert_clean_failure(run_cli("analyze", bad, env=env, cwd=tmp_path))
    assert "text file" in err and str(bad) in err, err


def test_path_with_brackets_is_printed_literally(tmp_path: Path, no_model_env) -> None:
    """File names are not rich markup: ``clip[red].mp4`` must not print as ``clip.mp4``."""
    bad = tmp_path / "clip[red].mp4"
    bad.write_text("hello\n")
    err = assert_clean_failure(run_cli("analyze", bad, env=no_model_env, cwd=tmp_path))
    assert str(bad) in err, err


# --- the output folder -----------------------------------------------------------------------

def test_existing_output_folder_needs_force(tmp_path: Path, no_model_env, sample_copy: Path) -> None:
    out = tmp_path / "clip_hiprom"  # the default output folder of clip.mp4
    out.mkdir()
    (out / "keep.txt").write_text("the user's own file\n")
    before = listing(tmp_path)
    err = assert_clean_failure(run_cli("analyze", sample_copy, env=no_model_env, cwd=tmp_path),
                               code=OutputExistsError.exit_code)
    assert "--force" in err and str(out) in err, err
    assert listing(tmp_path) == before
    assert listing(out) == {"keep.txt"}
    assert (out / "keep.txt").read_text() == "the user's own file\n"


def test_force_never_deletes_the_users_files(tmp_path: Path, no_model_env, sample_copy: Path) -> None:
    """--force replaces a previous hiprom output only; the check runs before the model is needed."""
    out = tmp_path / "clip_hiprom"
    out.mkdir()
    (out / "keep.txt").write_text("the user's own file\n")
    err = assert_clean_failure(run_cli("analyze", sample_copy, "--force", env=no_model_env, cwd=tmp_path),
                               code=UnsafeOutputError.exit_code)
    assert "holds files hiprom did not write (keep.txt)" in err, err
    assert listing(out) == {"keep.txt"}
    err = assert_clean_failure(run_cli("analyze", sample_copy, "--out", tmp_path, "--force", env=no_model_env,
                                       cwd=tmp_path), code=2)
    assert f"the output folder holds the input {sample_copy}" in err, err
    assert sample_copy.is_file()


# --- config ----------------------------------------------------------------------------------

@pytest.mark.parametrize("toml, names", [
    ("[signal]\nno_such_key = 1\n", "signal.no_such_key"),
    ("[nosuch]\nkey = 1\n", "[nosuch]"),
], ids=["unknown-key", "unknown-section"])
def test_unknown_config_setting(tmp_path: Path, no_model_env, sample_copy: Path, toml: str,
                                names: str) -> None:
    cfg = tmp_path / "my.toml"
    cfg.write_text(toml)
    before = listing(tmp_path)
    proc = run_cli("analyze", sample_copy, "--config", cfg, env=no_model_env, cwd=tmp_path)
    err = assert_clean_failure(proc, code=ConfigError.exit_code)
    assert ConfigError.exit_code == 2
    assert names in err and str(cfg) in err, err
    assert listing(tmp_path) == before


def test_bad_roll_option(tmp_path: Path, no_model_env, sample_copy: Path) -> None:
    proc = run_cli("analyze", sample_copy, "--roll", "sideways", env=no_model_env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "--roll" in proc.stderr


def test_config_command_prints_the_defaults(tmp_path: Path) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    proc = run_cli("config", env={})
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(proc.stdout)
    assert set(data) == {"model", "video", "geometry", "signal", "movement", "quality", "recognition"}
    saved = tmp_path / "hiprom.toml"
    saved.write_text(proc.stdout)
    assert Config.from_toml(saved) == Config(), "the printed file differs from the built-in defaults"


# --- help, start-up cost ------------------------------------------------------------------

def test_help() -> None:
    top = run_cli("--help", env={})
    assert top.returncode == 0, top.stderr
    assert "analyze" in top.stdout and "config" in top.stdout
    sub = run_cli("analyze", "--help", env={})
    assert sub.returncode == 0, sub.stderr
    for option in ("--out", "--force", "--config", "--model", "--json", "--from-landmarks"):
        assert option in sub.stdout, option


def test_console_script_help() -> None:
    script = Path(sys.executable).with_name("hiprom")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "analyze" in proc.stdout, proc.stderr


def test_importing_the_cli_is_light() -> None:
    code = ("import json, sys, hiprom.apps.cli; "
            "print(json.dumps(sorted(m for m in ('mediapipe', 'cv2', 'scipy', 'pandas', "
            "'matplotlib') if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


# --- model missing -----------------------------------------------------------------------

def test_no_model_anywhere(tmp_path: Path, sample_copy: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"HIPROM_CACHE_DIR": str(cache),
           "HIPROM_MODEL_URL": f"http://127.0.0.1:{closed_port()}/x.task"}
    before = listing(tmp_path)
    err = assert_clean_failure(run_cli("analyze", sample_copy, env=env, cwd=tmp_path))
    assert "--model" in err and "HIPROM_MODEL" in err, err
    assert listing(tmp_path) == before
    assert listing(cache) == set(), "a partial download was left in the cache"


# --- --json -----------------------------------------------------------------------------------

def test_from_landmarks_with_a_video(tmp_path: Path, no_model_env, sample_copy: Path) -> None:
    """``--from-landmarks`` given a video instead of a landmarks.npz: a clear refusal."""
    before = listing(tmp_path)
    proc = run_cli("analyze", sample_copy, "--from-landmarks", env=no_model_env, cwd=tmp_path)
    err = assert_clean_failure(proc, code=InputError.exit_code)
    assert str(sample_copy) in err and "landmarks" in err, err
    assert listing(tmp_path) == before
