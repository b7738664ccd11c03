"""What every ``hiprom`` command shares: the app, error printing, option types.

Each command lives in its own module of this package and registers itself on :data:`app`.
Heavy modules are imported inside the commands so that ``hiprom --help`` is instant.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Any, Callable

import click
import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from hiprom._version import __version__
from hiprom.errors import HipromError, UsageError


class _PlainHelp:
    """Help that shows what to type: ``INPUT`` on the usage line (typer writes ``{INPUT}``)
    and no ``<bool>`` after a flag (a flag takes no value)."""

    params: list[Any]

    def _plain_flags(self) -> None:
        for param in self.params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""

    def get_help_option(self, ctx: click.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [piece[1:-1] if piece.startswith("{") and piece.endswith("}") else piece
                for piece in super().collect_usage_pieces(ctx)]  # type: ignore[misc]


class HipromCommand(_PlainHelp, TyperCommand):
    """A command with :class:`_PlainHelp`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_flags()


class HipromGroup(_PlainHelp, TyperGroup):
    """The ``hiprom`` group with :class:`_PlainHelp`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_flags()


class _Typer(typer.Typer):
    """Every command of this app is a :class:`HipromCommand`."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or HipromCommand, **kwargs)


app = _Typer(
    name="hiprom",
    cls=HipromGroup,
    help="Measure hip internal/external rotation (seated test) from a video, photo or webcam.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
err_console = Console(stderr=True, highlight=False)


class Variant(str, Enum):
    lite = "lite"
    full = "full"
    heavy = "heavy"


class Reference(str, Enum):
    vertical = "vertical"
    neutral = "neutral"


# The norm comparison's options, the same for every command that compares (analyze, report).
def age_option(default_note: str = "") -> Any:
    return typer.Option(None, "--age", help="Age in years: chooses the norm rows for that age (see hiprom norms)"
                                            + default_note + ".")


#: The values ``--sex`` accepts (exactly these: an abbreviation or another word is refused).
SEXES = ("female", "male", "other")


def _sex_callback(ctx: typer.Context, param: Any, value: Any) -> Any:
    if value is None or ctx.resilient_parsing or value in SEXES:
        return value
    fail(UsageError(f"--sex must be one of {', '.join(SEXES)}, got {value!r}",
                    fix="give --sex female, --sex male or --sex other, or leave it out."))


def sex_option() -> Any:
    return typer.Option(None, "--sex", callback=_sex_callback, metavar="female|male|other",
                        help="Adds the norm rows for that sex (none for other).")


def sport_option() -> Any:
    return typer.Option(None, "--sport", help="An activity to compare with its demand (running, squat, cycling, "
                                              "baseball...), or 'athlete' to add the norms measured in athletes.")


def in_range(lo: float, hi: float, *, unit: str = "", lo_open: bool = False, integer: bool = False,
             or_zero: str | None = None, fix: str | None = None) -> Callable[..., Any]:
    """A typer option callback: the one range check of every numeric option.

    The value (``None`` = not given, passes) must be a finite number in ``[lo, hi]``
    (``(lo, hi]`` with ``lo_open``), whole with ``integer``; ``or_zero`` also allows 0 and
    says what it means. Otherwise the command stops before any work with exit 2::

        error: --max-people must be a whole number from 1 to 5, got 9
          How to fix: give --max-people as a whole number from 1 to 5 (see hiprom analyze --help).
    """
    from hiprom.config import check_range, range_text

    allowed = range_text(lo, hi, unit=unit, lo_open=lo_open, integer=integer)
    allowed = f"0 ({or_zero}) or {allowed}" if or_zero else allowed

    def callback(ctx: typer.Context, param: Any, value: Any) -> Any:
        if value is None or ctx.resilient_parsing or (or_zero and value == 0):
            return value
        name = max(param.opts, key=len)
        try:
            check_range(name, value, lo, hi, unit=unit, lo_open=lo_open, integer=integer)
        except ValueError as exc:
            what = str(exc).replace("must be ", f"must be 0 ({or_zero}) or ", 1) if or_zero else str(exc)
            fail(UsageError(what, fix=fix or f"give {name} as {allowed} (see hiprom {ctx.info_name} --help)."))
        return value

    return callback


def _subject_callback(ctx: typer.Context, param: Any, value: Any) -> Any:
    if value is None or ctx.resilient_parsing:
        return value
    from hiprom.errors import InputError
    from hiprom.outputs.history import check_subject_id

    try:
        return check_subject_id(value)
    except InputError as exc:                     # judged before any work: a usage error
        fail(UsageError(f"--subject: {exc.what}", fix=exc.fix))


def subject_option() -> Any:
    return typer.Option(None, "--subject", callback=_subject_callback,
                        help="Store the result in the local history under this subject ID "
                             "(1-200 printable characters, e.g. P-017).")


def _test_date_callback(ctx: typer.Context, param: Any, value: Any) -> Any:
    if value is None or ctx.resilient_parsing:
        return value
    from hiprom.core.session import parse_test_date

    try:
        return parse_test_date(value)
    except ValueError as exc:
        fail(UsageError(f"--test-date: {exc}", fix="give the day of the test, e.g. --test-date 2024-05-01."))


def _choice_callback(name: str, allowed: tuple[str, ...]) -> Callable[..., Any]:
    def callback(ctx: typer.Context, param: Any, value: Any) -> Any:
        if value is None or ctx.resilient_parsing or value in allowed:
            return value
        fail(UsageError(f"{name} must be one of {', '.join(allowed)}, got {value!r}",
                        fix=f"give {name} {'|'.join(allowed)}."))

    return callback


def test_options() -> dict[str, Any]:
    """The test's own facts (:class:`hiprom.core.session.TestInfo`), as options of analyze."""
    from hiprom.core.session import PAIN_CHOICES, POSITION_CHOICES

    return {
        "test_date": typer.Option(None, "--test-date", callback=_test_date_callback, metavar="YYYY-MM-DD",
                                  help="Day (or YYYY-MM-DD HH:MM) of the test (default: the clip's own "
                                       "creation time, when the file has one)."),
        "examiner": typer.Option(None, "--examiner", help="Who did the test (initials or a code)."),
        "notes": typer.Option(None, "--notes", help="Free text kept with the result and shown in the report."),
        "pain": typer.Option(None, "--pain", callback=_choice_callback("--pain", PAIN_CHOICES),
                             metavar="|".join(PAIN_CHOICES), help="Pain during the test, and on which side."),
        "position": typer.Option("seated", "--position", callback=_choice_callback("--position", POSITION_CHOICES),
                                 metavar="|".join(POSITION_CHOICES),
                                 help="Test position (default: seated, the test hiprom measures)."),
    }


#: Where ``--help`` says how to give a file whose name starts with a dash.
DASH_NOTE = ("A file name that starts with '-' would be read as an option: put '--' before it, after "
             "the options, e.g. hiprom analyze --quiet -- -clip.mp4 (or write ./-clip.mp4).")


def model_overrides(model: Any, model_variant: Any, reference: Any, max_people: int | None,
                    mirrored: bool | None) -> dict[str, Any]:
    """The config overrides of the options ``analyze`` and ``batch`` share (None = not given)."""
    return {
        "model.path": str(model) if model else None,
        "model.variant": model_variant.value if model_variant else None,
        "geometry.reference": reference.value if reference else None,
        "model.max_people": max_people,
        "video.mirrored": mirrored,
    }


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
    """Run a command body: user errors print cleanly, Ctrl-C exits 130, bugs say so.

    Every Ctrl-C is recorded (:func:`hiprom.io.atomic.install_interrupt_handler`), also one
    Python swallowed inside a ``__del__`` or weak-reference callback: no output is committed
    after it and the command exits 130, never 0.
    """
    from hiprom.io.atomic import install_interrupt_handler, interrupt_requested

    install_interrupt_handler()
    try:
        value = fn(*args, **kwargs)
        if interrupt_requested():
            raise KeyboardInterrupt
        return value
    except HipromError as exc:
        if interrupt_requested():
            _interrupted()
        fail(exc)
    except KeyboardInterrupt:
        _interrupted()
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - last-resort report of a bug
        if interrupt_requested():
            _interrupted()
        if os.environ.get("HIPROM_DEBUG"):
            raise
        from rich.markup import escape

        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                          "  This is a bug in hiprom. Re-run with HIPROM_DEBUG=1 for the traceback "
                          "and report it.", soft_wrap=True)
        raise typer.Exit(EXIT_INTERNAL) from exc


def _interrupted() -> None:
    err_console.print("interrupted (Ctrl-C): nothing half-written was left behind.")
    raise typer.Exit(EXIT_INTERRUPTED)
