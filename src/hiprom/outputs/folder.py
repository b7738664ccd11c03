"""Writing an analysis to its output folder, atomically.

One folder per clip (default: beside the clip, ``<clip name>_hiprom/``) holding
``result.json``, ``angles.csv``, ``landmarks.npz`` and ``angles.png``. The folder is built
under a temporary name and renamed into place, so a crash never leaves half a result, and an
existing folder is only replaced with ``force=True``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from hiprom.errors import OutputExistsError
from hiprom.io.landmarks_npz import save_series
from hiprom.outputs.plots import plot_angles

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult

__all__ = ["default_output_dir", "check_output_dir", "write_outputs", "OUTPUT_FILES"]

OUTPUT_FILES = ("result.json", "angles.csv", "landmarks.npz", "angles.png")


def default_output_dir(input_path: str | Path) -> Path:
    """``clip.mp4`` → ``clip_hiprom/`` beside it (a folder of photos → ``folder_hiprom/``)."""
    p = Path(input_path)
    name = p.name if p.is_dir() else p.stem
    return p.parent / f"{name}_hiprom"


def check_output_dir(out_dir: str | Path, *, force: bool) -> Path:
    """Refuse an existing output folder without ``force``, before any work is done."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise OutputExistsError("output folder already exists", path=out,
                                fix="add --force to replace it, or choose another folder with --out.")
    if out.exists() and not out.is_dir():
        raise OutputExistsError("output path exists and is a file, not a folder", path=out,
                                fix="choose another folder with --out.")
    return out


def write_outputs(result: "AnalysisResult", out_dir: str | Path, *, force: bool = False,
                  plot: bool = True, extras: Sequence[Callable[[Path], object]] = ()) -> Path:
    """Write ``result.json``, ``angles.csv``, ``landmarks.npz`` (and ``angles.png``).

    ``extras`` are called with the (temporary) folder after those files are written and
    before it is renamed into place, to add more files (report, annotated video): if any
    of them fails, nothing is left behind.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    OutputExistsError
        The folder exists and ``force`` is false.
    """
    out = check_output_dir(out_dir, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_dir(out.parent, f".{out.name}.", ".tmp")
    try:
        (tmp / "result.json").write_text(result.to_json() + "\n", encoding="utf-8")
        result.to_pandas().to_csv(tmp / "angles.csv", index=False, float_format="%.3f")
        save_series(result.series, tmp / "landmarks.npz")
        if plot:
            fig = plot_angles(result)
            fig.savefig(tmp / "angles.png", dpi=110)
        for write_more in extras:
            write_more(tmp)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _new_dir(parent: Path, prefix: str, suffix: str) -> Path:
    """A new, uniquely named folder created with the usual permissions (umask respected;
    ``tempfile.mkdtemp`` would make it private, 0700, and the output folder with it)."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not create a temporary folder in {parent}")


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first, then removed."""
    old = None
    if out.exists():
        old = _new_dir(out.parent, f".{out.name}.", ".old")
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
