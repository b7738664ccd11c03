"""Atomic writes: a file appears whole under its name, or not at all.

Everything hiprom writes goes through here: the data is written to a hidden temporary file
in the same folder, flushed to disk, and renamed over the target (``os.replace`` is atomic
on one filesystem). On any error — including Ctrl-C — the temporary file is removed and the
target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_file", "temp_name"]


def temp_name(path: Path, suffix: str = ".part") -> Path:
    """A hidden, unique name beside ``path`` (same folder, so the rename stays atomic)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """Open a binary file to write; on success it replaces ``path`` in one step.

    A new file opened exclusively gets the usual permissions (umask), unlike ``mkstemp``'s
    0600.
    """
    path = Path(path)
    tmp = temp_name(path)
    try:
        with open(tmp, "xb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
