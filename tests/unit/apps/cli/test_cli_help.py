"""What a clinician types and reads: one name per option, help without placeholders, strict values."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hiprom.apps.cli import app

COMMANDS = ("analyze", "report", "history", "norms", "live", "batch", "config")


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.mark.parametrize("command", ("",) + COMMANDS)
def test_help_has_no_bool_placeholders_or_braces(command: str) -> None:
    res = run(*([command] if command else []), "--help")
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output and "{" not in res.output and "}" not in res.output
    assert "Usage:" in res.output


def test_one_name_per_option_across_commands() -> None:
    options = {c: set(re.findall(r"--[a-z][a-z-]+", run(c, "--help").output)) for c in COMMANDS}
    assert "--history-db" in options["analyze"] and "--history-db" in options["history"]
    assert "--db" not in options["history"]                                    # the old name is hidden
    for c in ("analyze", "batch"):
        assert {"--mirrored", "--no-mirrored"} <= options[c] and "--not-mirrored" not in options[c]
    assert {"--mirror-view", "--no-mirror-view"} <= options["live"] and "--mirror" not in options["live"]
    for name in ("--test-date", "--examiner", "--notes", "--pain", "--position", "--pdf"):
        assert name in options["analyze"], name


@pytest.mark.parametrize("args, message", [
    (("norms", "--sex", "f"), "--sex must be one of female, male, other, got 'f'"),
    (("norms", "--sex", "X"), "--sex must be one of female, male, other, got 'X'"),
    (("analyze", "x.mp4", "--pain", "yes"), "--pain must be one of no, left, right, both, got 'yes'"),
    (("analyze", "x.mp4", "--position", "standing"), "--position must be one of seated, prone, supine"),
    (("analyze", "x.mp4", "--test-date", "1.5.2024"), "--test-date: expected a date YYYY-MM-DD"),
])
def test_only_documented_values_are_accepted(args: tuple[str, ...], message: str) -> None:
    res = run(*args)
    assert res.exit_code == 2 and message in res.output.replace("\n", " ")


def test_documented_values_work() -> None:
    res = run("norms", "--sex", "other", "--age", "40")
    assert res.exit_code == 0, res.output


def test_the_user_install_needs_no_test_tools() -> None:
    """README: `pip install .` (no extras) runs hiprom; the H.264 writer (PyAV) is a run-time need."""

    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    from helpers import REPO as root
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {re.split(r"[<>=;\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert "av" in runtime and not runtime & {"pytest", "hypothesis", "nbclient", "ruff", "mypy", "dask"}
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "without the test tools: `pip install .`" in readme


def test_the_summary_keeps_whole_words_at_80_columns() -> None:
    from helpers.synthetic_subject import RIGHT, series_from_body
    from rich.console import Console

    from hiprom.apps.cli.terminal import print_summary
    from hiprom.apps.pipeline import analyze_landmarks
    from hiprom.config import Config
    from hiprom.interpret.norms import compare

    result = analyze_landmarks(series_from_body(RIGHT), Config()).with_test(date="2024-05-01", examiner="AB")
    console = Console(width=80, record=True, highlight=False)
    print_summary(console, result, comparison=compare(result, age=8, sex="female"))
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(ln) <= 80 for ln in lines)
    right = next(ln for ln in lines if ln.startswith("│ right"))
    s = result.sides["right"]
    assert f"{s.peak_ir_deg:.1f}° ±{s.peak_ir_uncertainty_deg:.1f}" in right                 # whole, on its row
    assert "left not tested: the left leg stays within 1° of rest" in text                  # the reason
    assert "Test: test date 2024-05-01, position seated, examiner AB" in text
    assert "No IR norm covers a woman aged 8" in " ".join(lines)                           # the age note
    for word in ("Kouyoumdjian", "peer-reviewed)", "orientation"):                            # never cut
        assert not any(ln.rstrip().endswith(word[: len(word) // 2]) for ln in lines), word
