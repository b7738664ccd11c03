"""Arguments and options are judged before any work (reliability issue, items 8, 10, 15-17, 20).

Run in-process with typer's CliRunner (fast: no interpreter start per case). The pose model
is pointed at a file that does not exist, so a case that got as far as looking for the model
would fail with a model error instead: the expected message proves the check came first.
"""

from __future__ import annotations

import os
import shutil
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLES
from helpers.cli import invoke
from helpers.cli import run_cli as _run

SAMPLE = SAMPLES / "seated_ir_right.mp4"


def usage_error(result, message: str, *, whole_line: bool = True) -> None:
    """Exit 2, the exact one-line message (or its start), no traceback and no internal error."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert result.stderr.startswith(f"error: {message}" + ("\n" if whole_line else "")), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A copy of the sample clip in an empty folder (its default output folder lands there)."""
    return Path(shutil.copy(SAMPLE, tmp_path / "clip.mp4"))


# --- item 20: one range check for every numeric option ------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["analyze", "x.mp4", "--max-people", "9"], "--max-people must be a whole number from 1 to 5, got 9"),
    (["analyze", "x.mp4", "--max-people", "0"], "--max-people must be a whole number from 1 to 5, got 0"),
    (["analyze", "x.mp4", "--cutoff-hz", "nan"],
     "--cutoff-hz must be 0 (automatic) or a number above 0 and at most 100 Hz, got nan"),
    (["analyze", "x.mp4", "--cutoff-hz", "-3"],
     "--cutoff-hz must be 0 (automatic) or a number above 0 and at most 100 Hz, got -3.0"),
    (["analyze", "x.mp4", "--roll", "50"], "--roll must be a number from -45 to 45°, got 50.0"),
    (["analyze", "x.mp4", "--roll", "level"], "--roll must be a number from -45 to 45°, got 'level'"),
    (["analyze", "x.mp4", "--roll", "nan"], "--roll must be a number from -45 to 45°, got nan"),
    (["batch", "x", "--out", "y", "--workers", "0"], "--workers must be a whole number from 1 to 256, got 0"),
    (["batch", "x", "--out", "y", "--max-people", "6"], "--max-people must be a whole number from 1 to 5, got 6"),
    (["live", "--headless", "--max-people", "0"], "--max-people must be a whole number from 1 to 5, got 0"),
    (["live", "--headless", "--max-side", "100"],
     "--max-side must be 0 (full size) or a whole number from 160 to 8192, got 100"),
    (["live", "--headless", "--duration", "nan"], "--duration must be a number above 0 and at most 86400 s, got nan"),
    (["live", "--headless", "--camera", "-1"], "--camera must be a whole number from 0 to 99, got -1"),
    (["history", "P-1", "--mdc", "0"], "--mdc must be a number above 0 and at most 45°, got 0.0"),
    (["history", "P-1", "--mdc", "inf"], "--mdc must be a number above 0 and at most 45°, got inf"),
])
def test_numeric_options_share_one_range_check_and_message(args, message):
    result = invoke(*args)
    usage_error(result, message)
    option = message.split()[0]
    assert f"How to fix: give {option} as " in result.stderr


# --- item 10: --age, --subject before the analysis ------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--age", "999"], "expected an age in years between 0 and 120, got 999.0"),
    (["--age", "nan"], "expected an age in years between 0 and 120, got nan"),
    (["--sport", "quidditch"], "expected a known sport or activity, got 'quidditch'"),
    (["--subject", ""], "--subject: subject ID must be 1-200 printable characters, got ''"),
    (["--subject", "P\x0717"], "--subject: subject ID must be 1-200 printable characters, got 'P\\x0717'"),
    (["--subject", "P-1\nP-2"], "--subject: subject ID must be 1-200 printable characters, got 'P-1\\nP-2'"),
])
def test_bad_arguments_are_refused_before_the_analysis_and_leave_no_folder(clip, args, message):
    result = invoke("analyze", clip, *args)
    usage_error(result, message)
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip.mp4"]


# --- item 8: an output place that cannot be written ---------------------------------------------

def test_out_under_a_regular_file_is_refused_before_the_analysis(clip):
    result = invoke("analyze", clip, "--out", clip / "results")
    usage_error(result, f"{clip / 'results'}: cannot be created: {clip} is a file, and a folder cannot be made "
                        "inside it")
    assert "choose a folder you can write to with --out" in result.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", [["analyze", "CLIP"], ["batch", "CLIP"]])
def test_out_in_an_unwritable_place_is_refused_before_the_analysis(clip, command):
    args = [clip if a == "CLIP" else a for a in command]
    result = invoke(*args, "--out", "/proc/hiprom-out")
    usage_error(result, "/proc/hiprom-out: cannot be created: /proc does not accept new files (", whole_line=False)


def test_report_out_under_a_file_is_refused(tmp_path):
    (tmp_path / "result.json").write_text("{}")
    result = invoke("report", tmp_path / "result.json", "--out", tmp_path / "result.json" / "r.html")
    usage_error(result, f"{tmp_path / 'result.json' / 'r.html'}: cannot be created: {tmp_path / 'result.json'} is a "
                        "file, and a folder cannot be made inside it")


# --- item 15: what a path is, named -----------------------------------------------------------------

def test_symlink_loop_fifo_and_device_are_named(tmp_path):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    dangling = tmp_path / "gone.mp4"
    dangling.symlink_to(tmp_path / "deleted.mp4")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    for path, what in ((loop, "is a symbolic link loop (following it leads back to itself)"),
                       (dangling, f"is a symbolic link to {tmp_path / 'deleted.mp4'}, which does not exist"),
                       (fifo, "is a named pipe (FIFO), not a file"),
                       (Path("/dev/zero"), "is a device, not a file")):
        result = invoke("analyze", path, "--out", tmp_path / "out")
        assert result.exit_code == 1, result.stderr
        assert result.stderr.startswith(f"error: {path}: {what}: expected a video file"), result.stderr
    assert not (tmp_path / "out").exists()


def test_open_source_names_special_files(tmp_path):
    from hiprom.errors import InputError
    from hiprom.io.frames import open_source

    fifo = tmp_path / "cam.mp4"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a named pipe \(FIFO\), not a file"):
        open_source(fifo)
    with pytest.raises(InputError, match="is a device, not a file"):
        open_source("/dev/zero")


def test_a_unix_socket_is_named(tmp_path):
    from hiprom.errors import InputError
    from hiprom.io.paths import check_input_path

    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "s.mp4"))
        with pytest.raises(InputError, match="is a socket, not a file"):
            check_input_path(tmp_path / "s.mp4")


# --- item 16: file names --------------------------------------------------------------------------

def test_help_says_how_to_give_a_name_starting_with_a_dash(tmp_path):
    for command in ("analyze", "batch"):
        text = " ".join(invoke(command, "--help").stdout.split())
        assert "put '--' before it, after the options, e.g. hiprom analyze --quiet -- -clip.mp4" in text
    result = invoke("analyze", "--", tmp_path / "-clip.mp4")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / '-clip.mp4'}: does not exist")


def test_plot_of_a_file_named_with_an_emoji_draws_without_a_glyph_warning():
    import io

    from helpers.synthetic_subject import RIGHT, series_from_body

    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.config import Config

    series = series_from_body(RIGHT).replace(source="knee \U0001F9B5 漢.mp4")
    result = analyze_landmarks(series, Config())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result.plot().savefig(io.BytesIO(), format="png")
    assert result.plot().axes[0].get_title() == "knee ? ?.mp4"


# --- item 17: one name for the history database option ------------------------------------------

def test_history_takes_history_db_like_analyze_and_every_fix_says_so(tmp_path):
    db = tmp_path / "h.sqlite"
    result = invoke("history", "P-1", "--history-db", db)
    assert result.exit_code == 1
    assert "point --history-db (or HIPROM_HISTORY) at an existing history file" in result.stderr
    assert "--db " not in result.stderr
    assert invoke("history", "P-1", "--db", db).stderr == result.stderr     # the old name still works
    text = invoke("history", "--help").stdout
    assert "--history-db" in text and "--db " not in text.replace("--history-db", "")


def test_unusable_history_database_fix_names_history_db(tmp_path):
    from hiprom.errors import InputError
    from hiprom.outputs.history import History

    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 200)
    with pytest.raises(InputError) as info:
        History(bad)
    assert info.value.fix.startswith("point --history-db / HIPROM_HISTORY at another file")


def test_drawable_text_keeps_what_the_font_has():
    from hiprom.outputs.plots import drawable_text

    assert drawable_text("Ærø 37.5° – ok") == "Ærø 37.5° – ok"
    assert drawable_text("\U0001F9B5a") == "?a"
    assert np.all([c == "?" for c in drawable_text("漢字")])


# --- item 19: live mode follows analyze's rule, and FFmpeg stays quiet ------------------------------

def test_live_on_an_unreachable_url_prints_only_its_own_message(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/clip.mp4"
    proc = _run("live", "--source", url, "--headless", "--out", tmp_path / "o",
                env={"HIPROM_MODEL": str(tmp_path / "none.task")})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error: stream {url}: cannot be opened or gave no frame within 5 s (tried OpenCV's FFmpeg backend)",
        "  How to fix: check the URL in a media player; for a file give its path."]
