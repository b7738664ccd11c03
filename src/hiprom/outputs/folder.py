"""Writing an analysis to its output folder, atomically, and never over anything else.

One folder per clip (default: beside the clip, ``<clip name>_hiprom/``) holding
``result.json``, ``angles.csv``, ``landmarks.npz`` and ``angles.png`` (plus ``report.html``
and ``annotated.mp4`` when asked for). The folder is built under a hidden temporary name and
swapped into place (:func:`hiprom.io.atomic.atomic_folder`), so a crash, a full disk or Ctrl-C
never leaves half a result.

Which folders may be written. Whatever ``force`` says, an output folder is refused
(:class:`~hiprom.errors.UnsafeOutputError`, exit code 2) when it is the input, holds the input
(it is the input's folder or one above it), is the current folder (or one above it) and would
be replaced, or would be replaced while it holds anything hiprom did not write. ``force`` only
ever replaces **a previous hiprom output**: a folder whose every entry is a file hiprom writes
(:data:`HIPROM_FILES`) and whose ``result.json`` (an analysis) or ``batch.json`` (a batch clip
folder) carries hiprom's schema. That schema is the marker; no extra file is written. An empty
folder may be replaced too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from hiprom.errors import OutputExistsError, UnsafeOutputError
from hiprom.io.atomic import atomic_folder
from hiprom.io.landmarks_npz import save_series
from hiprom.outputs.plots import plot_angles

if TYPE_CHECKING:  # pragma: no cover
    from hiprom.core.result import AnalysisResult

__all__ = ["default_output_dir", "check_output_dir", "write_outputs", "write_files", "is_hiprom_output",
           "result_figure", "OUTPUT_FILES", "HIPROM_FILES"]

OUTPUT_FILES = ("result.json", "angles.csv", "landmarks.npz", "angles.png")
#: Every file hiprom writes into an output folder (analysis or batch clip folder).
HIPROM_FILES = frozenset(OUTPUT_FILES + ("report.html", "report.pdf", "annotated.mp4", "batch.json"))
#: The files whose schema marks a folder as hiprom's own.
_MARKERS = {"result.json": "hiprom.result", "batch.json": "hiprom.batch"}
_LISTED = 5


def default_output_dir(input_path: str | Path) -> Path:
    """``clip.mp4`` → ``clip_hiprom/`` beside it (a folder of photos → ``folder_hiprom/``)."""
    p = Path(input_path)
    name = p.name if p.is_dir() else p.stem
    return p.parent / f"{name}_hiprom"


def _marked(folder: Path) -> bool:
    for name, schema in _MARKERS.items():
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("schema") == schema:
            return True
    return False


def _foreign(folder: Path) -> list[str]:
    """Entries of ``folder`` that hiprom does not write there (sorted)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in HIPROM_FILES or p.is_symlink() or not p.is_file())


def is_hiprom_output(folder: str | Path) -> bool:
    """Is ``folder`` a previous hiprom output (see the module docs)? False for a missing folder."""
    folder = Path(folder)
    try:
        return folder.is_dir() and not _foreign(folder) and _marked(folder)
    except OSError:
        return False


def _within(path: Path, folder: Path) -> bool:
    """Is ``path`` the folder itself or inside it (both resolved)?"""
    return path == folder or folder in path.parents


def check_output_dir(out_dir: str | Path, *, force: bool, input_path: str | Path | None = None) -> Path:
    """Refuse an output folder that must not be written, before any work is done.

    Raises
    ------
    UnsafeOutputError
        (exit code 2, even with ``force``) The folder is or holds the input; or it exists and
        would be replaced while it is the current folder or holds files hiprom did not write.
    OutputExistsError
        The folder exists and ``force`` is false, or it is a file.
    """
    out = Path(out_dir)
    real = out.expanduser().resolve()
    if input_path is not None and Path(input_path).exists():
        inp = Path(input_path).expanduser().resolve()
        if _within(inp, real):
            what = "is the input" if inp == real else f"holds the input {inp}"
            raise UnsafeOutputError(f"the output folder {what}: replacing it would delete the input", path=out,
                                    fix="choose an output folder that does not contain the input, or omit --out "
                                        "to write <input name>_hiprom beside it.")
    if not (out.exists() or out.is_symlink()):
        return out
    if not out.is_dir():
        raise OutputExistsError("output path exists and is a file, not a folder", path=out,
                                fix="choose another folder with --out.")
    if not force:
        raise OutputExistsError("output folder already exists", path=out,
                                fix="add --force to replace it, or choose another folder with --out.")
    if _within(Path.cwd().resolve(), real):
        raise UnsafeOutputError("the output folder is the current folder (or holds it), which --force "
                                "would replace", path=out,
                                fix="run hiprom from another folder, or choose another folder with --out.")
    foreign = _foreign(out)
    if foreign:
        shown = ", ".join(foreign[:_LISTED]) + (f" and {len(foreign) - _LISTED} more" if len(foreign) > _LISTED else "")
        raise UnsafeOutputError(f"the output folder holds files hiprom did not write ({shown}); --force only "
                                "replaces a previous hiprom output folder", path=out,
                                fix="move those files away, or choose another folder with --out.")
    if os.listdir(out) and not _marked(out):
        raise UnsafeOutputError("the output folder was not written by hiprom (its result.json has no hiprom "
                                "schema); --force only replaces a previous hiprom output folder", path=out,
                                fix="move it away, or choose another folder with --out.")
    return out


def write_files(result: "AnalysisResult", folder: Path, *, plot: bool = True,
                extras: Sequence[Callable[[Path], object]] = ()) -> None:
    """Write an analysis's files into an existing (temporary) folder: ``result.json``,
    ``angles.csv``, ``landmarks.npz``, ``angles.png`` (with ``plot``), then each of ``extras``."""
    (folder / "result.json").write_text(result.to_json() + "\n", encoding="utf-8")
    result.to_pandas().to_csv(folder / "angles.csv", index=False, float_format="%.3f")
    save_series(result.series, folder / "landmarks.npz")
    if plot:
        result_figure(result).savefig(folder / "angles.png", dpi=110)
    for write_more in extras:
        write_more(folder)


def write_outputs(result: "AnalysisResult", out_dir: str | Path, *, force: bool = False,
                  plot: bool = True, extras: Sequence[Callable[[Path], object]] = (),
                  input_path: str | Path | None = None) -> Path:
    """Write the output folder of an analysis atomically (see :func:`write_files`).

    ``extras`` are called with the (temporary) folder after the standard files are written
    and before it is swapped into place, to add more files (report, annotated video): if any
    of them fails, nothing is left behind. ``input_path`` (default: the result's input) is
    never inside the folder written.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    OutputExistsError
        The folder exists and ``force`` is false.
    UnsafeOutputError
        The folder holds the input, or holds files hiprom did not write (see the module docs).
    OutputWriteError
        The disk is full or not writable; nothing was written.
    """
    source = input_path if input_path is not None else (result.source or {}).get("path")
    out = check_output_dir(out_dir, force=force, input_path=source or None)
    with atomic_folder(out, replace=force) as tmp:
        write_files(result, tmp, plot=plot, extras=extras)
    return out


def result_figure(result: "AnalysisResult"):
    """The angle against time for a video; for a photo (no time), each reading drawn on its
    photo (:func:`hiprom.outputs.keyframes.plot_photo`), else the plot when the photo is gone."""
    if result.series.kind != "video":
        from hiprom.errors import HipromError
        from hiprom.outputs.keyframes import plot_photo

        try:
            return plot_photo(result)
        except HipromError:
            pass
    return plot_angles(result)
