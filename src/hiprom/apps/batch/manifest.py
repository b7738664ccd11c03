"""What a batch measures: a clinic's manifest CSV, or every clip found in a folder.

A manifest is a CSV file with the header ``path,subject_id,age,sex,side,date,notes`` (all seven
columns, in any order; extra columns are ignored) and one row per clip:

* ``path`` (required): a video, a photo or a folder of photos; relative paths resolve against
  the manifest's own folder, absolute paths are used as they are.
* ``age``: years, ``0 < age <= 120`` (blank: unknown, no norm comparison).
* ``sex``: ``F``/``female``, ``M``/``male``, ``other`` or blank.
* ``side``: the leg(s) tested, ``left``, ``right``, ``both`` (or ``L``/``R``/``B``); blank
  means both. The summary gets one row per listed side.
* ``date``: ``YYYY-MM-DD`` or blank. ``subject_id`` and ``notes``: free text.

Every problem (a missing column, a path that does not exist, a bad age, sex, side or date, a
duplicate row) is collected and reported at once, each with its row number as a spreadsheet
shows it (the header is row 1), before any work starts.

Nothing heavy is imported here: this module is imported by every batch worker first.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from hiprom.errors import HipromError, InputError
from hiprom.io.filetypes import IMAGE_EXTENSIONS, special_kind

__all__ = ["COLUMNS", "VIDEO_EXTENSIONS", "CLIPS_DIR", "LOCK_FILE", "SUMMARY_FILES", "ClipItem", "ManifestError",
           "read_manifest", "discover", "load_items", "folder_name"]

COLUMNS = ("path", "subject_id", "age", "sex", "side", "date", "notes")
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg",
                              ".wmv", ".3gp", ".mts", ".m2ts"})
#: The batch output folder's layout: ``DIR/clips/<folder>/`` per input, the summary files, and
#: the lock file every batch run leaves (which marks a folder as a batch's output).
CLIPS_DIR = "clips"
LOCK_FILE = ".hiprom-batch.lock"
SUMMARY_FILES = {"csv": "summary.csv", "parquet": "summary.parquet", "figure": "cohort.png"}
_SIDES = {"left": ("left",), "l": ("left",), "right": ("right",), "r": ("right",),
          "both": ("right", "left"), "b": ("right", "left"), "": ("right", "left")}
_MAX_LISTED = 50


class ManifestError(HipromError):
    """The manifest cannot be used as it is (a usage error: exit code 2, nothing was run)."""

    exit_code = 2


@dataclass(frozen=True)
class ClipItem:
    """One input of a batch: where it is, how it is named, and who it is.

    Attributes
    ----------
    path
        The input (video, photo or folder of photos), absolute.
    rel
        Its name in the batch: the path relative to the input folder or the manifest's folder
        (``/``-separated), or the absolute path for a manifest row outside that folder.
    row
        The manifest row number (header = 1), or ``None`` for a clip found in a folder.
    sides
        The sides to report, from the manifest's ``side`` column (default both).
    """

    path: Path
    rel: str
    row: int | None = None
    subject_id: str = ""
    age: float | None = None
    sex: str | None = None
    sides: tuple[str, ...] = ("right", "left")
    date: _dt.date | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.path.is_absolute():
            raise ValueError(f"ClipItem.path must be absolute, got {self.path}")
        if not self.rel:
            raise ValueError("ClipItem.rel must not be empty")
        if self.age is not None and not (math.isfinite(self.age) and 0 < self.age <= 120):
            raise ValueError(f"age must be in (0, 120], got {self.age}")
        if not self.sides or any(s not in ("left", "right") for s in self.sides):
            raise ValueError(f"sides must be left and/or right, got {self.sides}")

    @property
    def folder(self) -> str:
        """The clip's output folder name (see :func:`folder_name`)."""
        return folder_name(self.rel)

    def meta(self) -> dict:
        """The manifest values, JSON-able (recorded in ``batch.json``)."""
        return {"row": self.row, "subject_id": self.subject_id, "age": self.age, "sex": self.sex,
                "sides": list(self.sides), "date": self.date.isoformat() if self.date else None,
                "notes": self.notes}


def folder_name(rel: str) -> str:
    """A readable, collision-free folder name for an input's relative path.

    ``"p01/visit 2/clip.mp4"`` → ``"p01__visit_2__clip.mp4-<8 hex>"``: a slug of the path
    (at most 80 characters, never hidden) plus the first 8 hex digits of the SHA-256 of the
    path itself, so equal file names in different folders (and paths whose slugs happen to
    agree) get different folders.
    """
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    slug = "__".join(re.sub(r"[^A-Za-z0-9._-]+", "_", p) for p in parts[-4:])
    slug = slug.lstrip("._-")[-80:].lstrip("._-") or "clip"
    return f"{slug}-{hashlib.sha256(rel.encode('utf-8')).hexdigest()[:8]}"


def _natural(name: str) -> tuple:
    parts = re.split(r"(\d+)", name.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


SkipFn = Callable[[Path, str], None]


def _paths(exclude: str | Path | Iterable[str | Path] | None) -> list[Path]:
    if exclude is None:
        return []
    if isinstance(exclude, (str, Path)):
        exclude = [exclude]
    return [Path(p).expanduser().resolve() for p in exclude]


def discover(folder: str | Path, *, exclude: str | Path | Iterable[str | Path] | None = None,
             on_skip: SkipFn | None = None) -> list[ClipItem]:
    """Every video and image under ``folder`` (recursively), in natural order.

    Never taken as inputs: hidden files and folders; output trees (``*_hiprom`` folders and any
    folder :func:`hiprom.outputs.folder.is_hiprom_output` recognises; in a batch output folder,
    marked by :data:`LOCK_FILE`, its ``clips/`` and summary files); the ``exclude`` folders
    (the batch's own ``--out``: skipped whole when it lies inside ``folder``, its batch files
    skipped when it is ``folder``); and special files (a FIFO named ``pipe.mp4`` would block
    the batch forever), each reported to ``on_skip(path, reason)``. Each image is measured on
    its own (a photo at end range).

    Raises
    ------
    InputError
        ``folder`` is itself an output tree, or holds no videos or photos.
    """
    from hiprom.outputs.folder import is_hiprom_output

    root = Path(folder).expanduser().resolve()
    skip = _paths(exclude)
    if is_hiprom_output(root) or any(root == s / CLIPS_DIR or s / CLIPS_DIR in root.parents for s in skip):
        raise InputError("is a hiprom output folder, not a folder of clips", path=root,
                         fix="give the folder holding the clips themselves.")
    found: list[ClipItem] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        batch_out = here in skip or (here / LOCK_FILE).is_file()
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".") and not d.endswith("_hiprom")
                              and here / d not in skip and not (batch_out and d == CLIPS_DIR)
                              and not is_hiprom_output(here / d)), key=_natural)
        for name in sorted(filenames, key=_natural):
            ext = Path(name).suffix.lower()
            if name.startswith(".") or ext not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
                continue
            path = here / name
            if batch_out and name in SUMMARY_FILES.values():
                continue
            kind = special_kind(path)
            if kind is not None:
                if on_skip is not None:
                    on_skip(path, f"is {kind}, not a regular file: skipped")
                continue
            found.append(ClipItem(path=path, rel=path.relative_to(root).as_posix()))
    found.sort(key=lambda it: tuple(_natural(part) for part in it.rel.split("/")))
    if not found:
        raise InputError("is a folder with no videos or photos in it (searched recursively)", path=root,
                         fix=f"give a folder holding clips ({', '.join(sorted(VIDEO_EXTENSIONS))}) or "
                             "photos, or a manifest CSV listing them.")
    return found


def _sniff_delimiter(header: str) -> str:
    """``;`` for the CSVs that spreadsheets write in locales with a decimal comma, else ``,``."""
    return ";" if header.count(";") > header.count(",") else ","


def read_manifest(path: str | Path) -> list[ClipItem]:
    """Read and check a manifest CSV; return one :class:`ClipItem` per row.

    Raises
    ------
    ManifestError
        Listing every problem with its row number (missing columns, empty or missing paths,
        unsupported files, bad ages, sexes, sides or dates, duplicate rows, no rows).
    """
    manifest = Path(path).expanduser().resolve()
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", path=manifest,
                            fix="save the manifest as CSV UTF-8 from your spreadsheet program.") from None
    except OSError as exc:
        raise ManifestError(f"cannot be read: {exc.strerror or exc}", path=manifest,
                            fix="check the path and the file's permissions.") from None
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"row 1 (the header): missing column(s) {', '.join(missing)}; expected the "
                            f"columns {','.join(COLUMNS)}, got {','.join(header) or 'an empty file'}",
                            path=manifest, fix="add the missing columns to the first row (values may be "
                                                "blank, except path).")
    col = {name: header.index(name) for name in COLUMNS}
    base = manifest.parent
    items: list[ClipItem] = []
    problems: list[str] = []
    seen: dict[Path, int] = {}
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {name: (record[i].strip() if i < len(record) else "") for name, i in col.items()}
        item, errs = _parse_row(number, cells, base)
        if item is not None:
            key = Path(os.path.realpath(item.path))
            if key in seen:
                errs.append(f"duplicate of row {seen[key]} (same input {cells['path']!r})")
            else:
                seen[key] = number
        problems += [f"row {number}: {e}" for e in errs]
        if item is not None and not errs:
            items.append(item)
    if problems:
        shown = problems[:_MAX_LISTED] + ([f"... and {len(problems) - _MAX_LISTED} more"]
                                          if len(problems) > _MAX_LISTED else [])
        raise ManifestError(f"{len(problems)} problem(s) in the manifest (rows numbered as in a spreadsheet, "
                            "header = row 1):\n    " + "\n    ".join(shown), path=manifest,
                            fix="correct these rows and run again; nothing was analysed.")
    if not items:
        raise ManifestError("has a header but no rows", path=manifest,
                            fix="add one row per clip: path,subject_id,age,sex,side,date,notes")
    return items


def _parse_row(number: int, c: dict[str, str], base: Path) -> tuple[ClipItem | None, list[str]]:
    """One manifest row → (item or None, problems)."""
    errs: list[str] = []
    age = sex = date = None
    if c["age"]:
        try:
            age = float(c["age"].replace(",", "."))
        except ValueError:
            age = None
        if age is None or not (math.isfinite(age) and 0 < age <= 120):
            errs.append(f"age: expected a number of years above 0 and at most 120, got {c['age']!r}")
            age = None
    if c["sex"]:
        sex = _sex(c["sex"])
        if sex is False:
            errs.append(f"sex: expected F, M, female, male, other or blank, got {c['sex']!r}")
            sex = None
    sides = _SIDES.get(c["side"].lower())
    if sides is None:
        errs.append(f"side: expected left, right, both (or L, R, B) or blank, got {c['side']!r}")
    if c["date"]:
        try:
            date = _dt.date.fromisoformat(c["date"])
        except ValueError:
            errs.append(f"date: expected a date as YYYY-MM-DD (e.g. 2024-03-28), got {c['date']!r}")
    if not c["path"]:
        return None, ["path: expected the clip's path, got an empty cell"] + errs
    raw = Path(c["path"]).expanduser()
    path = raw if raw.is_absolute() else base / raw
    path = Path(os.path.abspath(path))
    if not path.exists():
        return None, [f"path: {c['path']!r} does not exist (looked for {path})"] + errs
    kind = special_kind(path)
    if kind is not None:
        return None, [f"path: {c['path']!r} is {kind}, not a video, a photo or a folder of photos"] + errs
    if path.is_file() and path.suffix.lower() not in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
        return None, [f"path: expected a video, a photo or a folder of photos, got {c['path']!r} "
                      f"(extension {path.suffix or 'none'!r})"] + errs
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        rel = path.as_posix()
    item = ClipItem(path=path, rel=rel, row=number, subject_id=c["subject_id"], age=age, sex=sex or None,
                    sides=sides or ("right", "left"), date=date, notes=c["notes"])
    return item, errs


def _sex(text: str) -> str | None | bool:
    """``"F"`` → ``"female"``, ``"other"`` → ``None``; ``False`` when not understood."""
    key = text.strip().lower()
    if key in ("f", "female", "w", "woman"):
        return "female"
    if key in ("m", "male", "man"):
        return "male"
    if key in ("other", "x", "d", "diverse", "unknown", "-"):
        return None
    return False


def load_items(input_path: str | Path, *, exclude: str | Path | Iterable[str | Path] | None = None,
               on_skip: SkipFn | None = None) -> list[ClipItem]:
    """A folder → :func:`discover`; a ``.csv`` file → :func:`read_manifest`."""
    p = Path(input_path).expanduser()
    if p.is_dir():
        return discover(p, exclude=exclude, on_skip=on_skip)
    if p.is_file() and p.suffix.lower() == ".csv":
        return read_manifest(p)
    if not p.exists():
        raise InputError("does not exist: expected a folder of clips or a manifest CSV", path=p,
                         fix="check the path; give a folder (searched recursively) or a .csv manifest.")
    raise InputError(f"expected a folder of clips or a manifest .csv, got a {p.suffix or 'extensionless'} file",
                     path=p, fix="to measure one clip use: hiprom analyze CLIP; for many, give their folder "
                                 "or a manifest CSV with columns " + ",".join(COLUMNS) + ".")
