"""Atomic writes: a file or a folder appears complete under its name, or not at all.

>>> with atomic_file("out/result.json", "w") as fh:          # doctest: +SKIP
...     fh.write(text)
>>> with atomic_path("out/angles.png") as tmp:                # doctest: +SKIP
...     fig.savefig(tmp, format="png")                        # writers that want a path
>>> with atomic_folder("clip_hiprom", replace=True) as tmp:   # doctest: +SKIP
...     (tmp / "result.json").write_text(text)

Every helper writes under a hidden temporary name in the target's own folder
(``.<name>.<8 hex>.tmp[<suffix>]``; the suffix is kept so that writers that choose a format
from the extension, such as OpenCV's video writer, still work), flushes it to the disk
(``fsync``), then renames it into place with :func:`os.replace` (atomic on one filesystem).
On any exception, including ``KeyboardInterrupt``, the temporary file or folder is removed and
the target is untouched. A folder that replaces an existing one is swapped in two renames (the
old one is moved aside to ``.<name>.<hex>.old`` and removed after); :func:`sweep` rolls back a
swap that a ``kill -9`` interrupted.

Write failures a user can act on (disk full, quota, read-only disk, no permission) become an
:class:`~hiprom.errors.OutputWriteError` naming the folder: ``no space left on <folder>``.
Inside :func:`atomic_folder` the folder named is the one the output folder is written in, not
the hidden temporary one.

Ctrl-C. A command that calls :func:`install_interrupt_handler` has every Ctrl-C recorded, even
one Python swallows (raised inside a ``__del__`` or a weak-reference callback, where it only
prints ``Exception ignored in ...``): no write commits after a recorded Ctrl-C, and
:func:`interrupt_requested` tells the command to exit 130. The renames that commit a write run
with Ctrl-C held back until they are done, so an interrupt never splits a folder swap.
"""

from __future__ import annotations

import contextvars
import errno
import os
import re
import secrets
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from hiprom.errors import OutputExistsError, OutputWriteError

__all__ = ["atomic_file", "atomic_path", "atomic_folder", "atomic_write_bytes", "atomic_write_text",
           "sweep", "write_error", "no_space_error", "install_interrupt_handler", "interrupt_requested",
           "clear_interrupt", "check_interrupt"]

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_ALWAYS_WRITE_ERRORS = _NO_SPACE | {errno.EFBIG, errno.EROFS}
_DENIED = frozenset({errno.EACCES, errno.EPERM})
#: A temporary or set-aside entry: ``.<visible name>.<8 hex>.tmp|old[.<suffix>]``.
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.(?P<kind>tmp|old)(\.[A-Za-z0-9]{1,8})?$")
#: The folder a write error names: the one an :func:`atomic_folder` is written in, if any.
_NAMED: contextvars.ContextVar[Path | None] = contextvars.ContextVar("hiprom_atomic_named", default=None)
_INTERRUPTED = threading.Event()


# -- errors ----------------------------------------------------------------------------------------
def no_space_error(folder: str | Path, fix: str = "free some space or choose --out elsewhere.") -> OutputWriteError:
    """The error for a full disk: ``no space left on <folder>``."""
    return OutputWriteError(f"no space left on {folder}", fix=fix)


def write_error(exc: BaseException, folder: str | Path, *, denied: bool = False) -> OutputWriteError | None:
    """The user-facing error for a failed write in ``folder``, or ``None`` if ``exc`` is not one.

    Disk full or over quota, a file too large for the filesystem, a read-only disk; with
    ``denied`` (the failing call was hiprom's own create or rename) also a missing permission.
    """
    if isinstance(exc, OutputWriteError):
        return exc
    if not isinstance(exc, OSError):
        return None
    code = exc.errno
    if code is None and "no space left on device" in str(exc).lower():  # e.g. pyarrow's IO errors
        code = errno.ENOSPC
    if code in _NO_SPACE:
        return no_space_error(folder)
    if code == errno.EROFS:
        return OutputWriteError(f"cannot write in {folder}: the disk is read-only",
                                fix="choose --out on a writable disk.")
    if code == errno.EFBIG:
        return OutputWriteError(f"cannot write in {folder}: the file is too large for that disk's filesystem",
                                fix="choose --out on another disk.")
    if denied and code in _DENIED:
        return OutputWriteError(f"no permission to write in {folder}",
                                fix="choose --out in a folder you can write to.")
    return None


def _translated(exc: BaseException, folder: Path, *, denied: bool = False) -> BaseException:
    return write_error(exc, _NAMED.get() or folder, denied=denied) or exc


# -- Ctrl-C ----------------------------------------------------------------------------------------
def install_interrupt_handler() -> None:
    """Record every Ctrl-C of this process (main thread only; a no-op elsewhere).

    The handler raises ``KeyboardInterrupt`` as Python's own does, and also records it, so that
    a ``KeyboardInterrupt`` swallowed by Python (in a ``__del__`` or weak-reference callback)
    still stops the next commit and the command; those swallowed ones are not printed.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def on_sigint(signum: int, frame: object) -> None:
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    previous_hook = sys.unraisablehook

    def unraisable(info: "sys.UnraisableHookArgs") -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            _INTERRUPTED.set()          # recorded; the command exits 130 at its next check
            return
        previous_hook(info)

    sys.unraisablehook = unraisable


def interrupt_requested() -> bool:
    """Has a Ctrl-C been recorded (see :func:`install_interrupt_handler`)?"""
    return _INTERRUPTED.is_set()


def clear_interrupt() -> None:
    """Forget a recorded Ctrl-C that the caller has handled as a request (live mode: stop and save)."""
    _INTERRUPTED.clear()


def check_interrupt() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C was recorded, even one Python swallowed."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back for a few renames (main thread only); raise it when they are done."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    got: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if got:
            _INTERRUPTED.set()
            raise KeyboardInterrupt


# -- helpers ---------------------------------------------------------------------------------------
def _hidden(target: Path, kind: str, suffix: str = "") -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.{kind}{suffix}")


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:  # pragma: no cover - platforms that cannot open a folder (Windows)
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not directory or exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for here, _dirs, files in os.walk(folder):
        for name in files:
            _fsync_path(Path(here) / name)
        _fsync_path(Path(here), directory=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# -- files -----------------------------------------------------------------------------------------
@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path`` for a writer to create; then commit it.

    The temporary name keeps ``path``'s suffix. On a clean exit the file is flushed to the
    disk and renamed to ``path`` (replacing a file there); on any exception it is removed.

    Raises
    ------
    OutputWriteError
        The disk is full (``no space left on <folder>``), read-only, or not writable.
    """
    target = Path(path)
    folder = target.parent
    tmp = _hidden(target, "tmp", target.suffix)
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _translated(exc, folder, denied=True) from exc
        yield tmp
        check_interrupt()
        _fsync_path(tmp)
        with _sigint_held():
            os.replace(tmp, target)
        _fsync_path(folder, directory=True)
    except BaseException as exc:
        _remove(tmp)
        err = _translated(exc, folder, denied=True)
        if err is exc:
            raise
        raise err from exc


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb", *, encoding: str | None = None,
                newline: str | None = None) -> Iterator[IO]:
    """Yield a file object (``mode`` ``"wb"`` or ``"w"``) writing ``path`` atomically (see :func:`atomic_path`)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp:
        try:
            fh = open(tmp, mode.replace("w", "x"), encoding=encoding, newline=newline)  # noqa: SIM115 (with below)
        except OSError as exc:
            raise _translated(exc, tmp.parent, denied=True) from exc
        with fh:
            yield fh


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (newlines as given); return ``path``."""
    with atomic_file(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


# -- folders ---------------------------------------------------------------------------------------
@contextmanager
def atomic_folder(path: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a new hidden folder beside ``path`` to fill; then swap it into place as ``path``.

    Parameters
    ----------
    path
        The folder to create (its parent is created if needed).
    replace
        Replace an existing ``path`` (the caller has checked that it may); without it an
        existing ``path`` at commit time raises :class:`~hiprom.errors.OutputExistsError`.

    Raises
    ------
    OutputWriteError
        The disk is full or not writable; the folder named is ``path``'s parent.
    """
    target = Path(path)
    parent = target.parent
    token = _NAMED.set(_NAMED.get() or parent)
    tmp = None
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = _hidden(target, "tmp")
            tmp.mkdir()
        except OSError as exc:
            raise _translated(exc, parent, denied=True) from exc
        yield tmp
        check_interrupt()
        _fsync_tree(tmp)
        if not replace and (target.exists() or target.is_symlink()):
            raise OutputExistsError("appeared while hiprom was writing it", path=target,
                                    fix="run again with --force to replace it, or choose another folder.")
        with _sigint_held():
            old = _swap(tmp, target)
            _fsync_path(parent, directory=True)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        err = _translated(exc, parent)
        if err is exc:
            raise
        raise err from exc
    finally:
        _NAMED.reset(token)


def _swap(tmp: Path, target: Path) -> Path | None:
    """Rename ``tmp`` to ``target``, an existing ``target`` set aside first; return where it went."""
    old = None
    if target.exists() or target.is_symlink():
        old = _hidden(target, "old")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    return old


def sweep(folder: str | Path) -> int:
    """Remove what a killed run left in ``folder`` (hidden ``.*.tmp`` / ``.*.old`` entries).

    A set-aside ``.old`` folder whose visible name is missing is an interrupted swap: it is
    renamed back. Returns the number of entries removed.
    """
    folder = Path(folder)
    removed = 0
    if not folder.is_dir():
        return 0
    for p in folder.iterdir():
        m = _LEFTOVER.match(p.name)
        if m is None:
            continue
        visible = folder / m.group("name")
        if m.group("kind") == "old" and p.is_dir() and not (visible.exists() or visible.is_symlink()):
            os.replace(p, visible)
            continue
        _remove(p)
        removed += 1
    return removed
