"""What kind of file a path is: image extensions, the images of a folder, special files.

Pure standard library (no OpenCV), so that batch workers and the history can use it cheaply.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "special_kind", "image_files"]

#: Image files hiprom reads (a photo, or the photos of a folder).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

_SPECIAL = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def special_kind(path: str | Path) -> str | None:
    """``"a named pipe (FIFO)"``, ``"a socket"``... for a special file, else ``None``.

    Symbolic links are followed; a missing path, a regular file and a folder give ``None``.
    Reading a special file can block forever (a FIFO with no writer), so hiprom never does.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((what for test, what in _SPECIAL if test(mode)), None)


def image_files(folder: str | Path) -> list[Path]:
    """The photos directly inside ``folder``: regular, non-hidden files with an image
    extension (:data:`IMAGE_EXTENSIONS`), sorted by name."""
    out = []
    for p in Path(folder).iterdir():
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        try:
            if stat.S_ISREG(p.stat().st_mode):
                out.append(p)
        except OSError:
            continue
    return sorted(out, key=lambda p: p.name)
