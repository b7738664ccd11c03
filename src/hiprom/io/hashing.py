"""One identity for an input: the SHA-256 of its content.

Batch (which clips are done) and the history (is this clip already stored) both ask "is this
the same input?" and must agree, so both use :func:`input_sha256`:

* a file: the SHA-256 of its bytes (streamed, 1 MiB at a time);
* a folder of photos: the SHA-256 of the text ``"<name>\\0<file sha256>\\n"`` for each photo
  (:func:`hiprom.io.filetypes.image_files`: regular, non-hidden, image extension), in name
  order. Renaming, adding or changing a photo changes the id; the folder's own name and
  other files in it do not.

Only regular files are read: a named pipe, socket or device is refused before it is opened
for reading (opening a FIFO, or reading from it, can block forever).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from hiprom.errors import InputError
from hiprom.io.filetypes import image_files, special_kind

__all__ = ["file_sha256", "input_sha256", "try_input_sha256"]

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a regular file's bytes.

    Raises
    ------
    InputError
        ``path`` is a special file (FIFO, socket, device) or a folder.
    OSError
        It cannot be read.
    """
    path = Path(path)
    kind = special_kind(path)
    if kind is not None or path.is_dir():
        raise InputError(f"is {kind or 'a folder'}, not a regular file", path=path,
                         fix="give a video or photo file (or the folder of photos itself).")
    # O_NONBLOCK: should the path become a FIFO after the check above, opening it cannot hang
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError("is not a regular file", path=path, fix="give a video or photo file.")
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def input_sha256(path: str | Path) -> str:
    """The id of an input: a file's SHA-256, or a folder of photos' (see the module docs).

    Raises
    ------
    InputError
        A special file, or a folder without photos.
    OSError
        It cannot be read.
    """
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    files = image_files(path)
    if not files:
        raise InputError("is a folder with no photos directly inside it", path=path,
                         fix="give a video, a photo or a folder of photos.")
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}\0{file_sha256(f)}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def try_input_sha256(path: str | Path) -> str | None:
    """:func:`input_sha256`, or ``None`` when the input cannot be read now (missing, special...)."""
    try:
        return input_sha256(path)
    except (OSError, InputError):
        return None
