"""What a path given on the command line is, said before any work is done.

* :func:`check_input_path`: an input must exist and be a regular file or a folder. A
  symbolic link loop, a dangling link, a named pipe (FIFO), a device (``/dev/zero``) or a
  socket is named as what it is: reading a FIFO or a device would block or never end, and
  "does not exist" or "is empty (0 bytes)" would send the user looking for the wrong problem.
* :func:`check_can_create`: an output folder or file must be creatable. Found by trying
  (a uniquely named folder is made and removed at once, in the nearest existing folder):
  permission bits do not tell (root may write anywhere, ``/proc`` refuses everyone, a
  read-only disk refuses whatever the bits say), so asking the file system is the only
  answer that cannot be wrong.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from hiprom.errors import InputError, UsageError

__all__ = ["check_input_path", "special_file_kind", "check_can_create"]


def special_file_kind(mode: int) -> str | None:
    """``"a named pipe (FIFO)"``, ``"a device"``, ``"a socket"``, or None for a regular file
    or a folder (``mode`` from :func:`os.stat`)."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def check_input_path(path: str | Path, *, expected: str = "a video file, an image or a folder of images") -> Path:
    """``path`` if it is an existing regular file or folder; else :class:`InputError` saying
    what it is instead (exit 1).

    Parameters
    ----------
    path
        The input as given.
    expected
        What the command wanted, for the message (e.g. ``"a result.json"``).
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"is a symbolic link loop (following it leads back to itself): expected {expected}",
                             path=path, fix="point the link at the real file, or give the file itself.") from None
        if exc.errno == errno.ENOTDIR:
            raise InputError(f"does not exist: a part of this path is a file, not a folder; expected {expected}",
                             path=path, fix="check the path.") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise InputError(f"cannot be reached (permission denied): expected {expected}", path=path,
                             fix="check the permissions of the file and the folders above it.") from None
        if path.is_symlink():
            raise InputError(f"is a symbolic link to {os.readlink(path)}, which does not exist: expected {expected}",
                             path=path, fix="point the link at the real file, or give the file itself.") from None
        raise InputError(f"does not exist: expected {expected}", path=path,
                         fix="check the spelling and the current folder, or give the full path.") from None
    kind = special_file_kind(mode)
    if kind is not None:
        raise InputError(f"is {kind}, not a file: expected {expected}", path=path,
                         fix="save the recording to a file first and give that file.")
    return path


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (a dangling link counts as existing)."""
    p = path.absolute()
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_can_create(path: str | Path, *, option: str = "--out") -> Path:
    """Refuse (exit 2, before any analysis) an output folder or file that cannot be created.

    The output is written beside ``path`` (a temporary sibling renamed into place), so what
    must be writable is ``path``'s folder, or the nearest folder above it that exists (the
    missing ones are created). That folder is asked directly: a uniquely named folder is
    made in it and removed.

    Raises
    ------
    UsageError
        A folder on the way is a regular file, or the nearest existing folder refuses writes
        (read-only, permissions, a virtual file system such as ``/proc``).
    """
    path = Path(path)
    fix = f"choose a folder you can write to with {option}."
    base = _nearest_existing(path.parent if path.name else path)
    if not base.is_dir():
        what = "a file" if base.is_file() else "not a folder"
        raise UsageError(f"cannot be created: {base} is {what}, and a folder cannot be made inside it",
                         path=path, fix=fix)
    try:
        probe = tempfile.mkdtemp(prefix=".hiprom-write-check-", dir=base)
    except OSError as exc:
        raise UsageError(f"cannot be created: {base} does not accept new files "
                         f"({exc.strerror or exc})", path=path, fix=fix) from None
    os.rmdir(probe)
    return path
