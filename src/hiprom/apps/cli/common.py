"""What every ``hiprom`` command shares: the app, error printing, option types.

Each command lives in its own module of this package and registers itself on :data:`app`.
Heavy modules are imported inside the commands so that ``hiprom --help`` is instant.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

import typer
from rich.console import Console

from hiprom._version import __version__
from hiprom.errors import HipromError

app = typer.Typer(
    name="hiprom",
    help="Measure hip internal/external rotation (seated test) from a video, photo or webcam.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_INTERNAL = 70
err_console = Console(stderr=True, highlight=False)


class Variant(str, Enum):
    lite = "lite"
    full = "full"
    heavy = "heavy"


class Reference(str, Enum):
    vertical = "vertical"
    neutral = "neutral"


# The norm comparison's options, the same for every command that compares (analyze, report).
def age_option() -> Any:
    return typer.Option(None, "--age", help="Age in years: chooses the norm rows for that age (see hiprom norms).")


def sex_option() -> Any:
    return typer.Option(None, "--sex", help="female, male or other: adds the norm rows for that sex (none for other).")


def sport_option() -> Any:
    return typer.Option(None, "--sport", help="An activity to compare with its demand (running, squat, cycling, "
                                              "baseball...), or 'athlete' to add the norms measured in athletes.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hiprom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """hiprom: hip rotation range of motion from video."""


def fail(exc: HipromError) -> None:
    """Print a user-facing error (no traceback) and exit with its code.

    Paths and messages are printed literally (rich markup escaped: a file named
    ``clip[1].mp4`` or a ``[section]`` name must not be eaten as a style tag) and are not
    hard-wrapped, so a long path or URL stays on one line when stderr is not a terminal.
    """
    from rich.markup import escape

    text = escape(exc.what) if exc.path is None else f"[bold]{escape(str(exc.path))}[/]: {escape(exc.what)}"
    err_console.print(f"[bold red]error:[/] {text}", soft_wrap=True)
    if exc.fix:
        err_console.print(f"  [yellow]How to fix:[/] {escape(exc.fix)}", soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def run_guarded(fn, *args: Any, **kwargs: Any) -> Any:
    """Run a command body: user errors print cleanly, Ctrl-C exits 130, bugs say so."""
    try:
        return fn(*args, **kwargs)
    except HipromError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was written.")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - last-resort report of a bug
        if os.environ.get("HIPROM_DEBUG"):
            raise
        from rich.markup import escape

        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                          "  This is a bug in hiprom. Re-run with HIPROM_DEBUG=1 for the traceback "
                          "and report it.", soft_wrap=True)
        raise typer.Exit(EXIT_INTERNAL) from exc


