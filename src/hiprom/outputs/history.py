"""Progress over time: a local SQLite history of each subject's measurements.

>>> from hiprom.history import History
>>> with History() as h:                                   # doctest: +SKIP
...     h.add(result, "P-017")                             # False if this clip is already stored
...     h.rows("P-017")                                    # one row per measurement, oldest first
...     h.plot("P-017", norm_band=(35, 45)).savefig("p017.png")

Where: :func:`default_history_path` (an explicit path, else ``$HIPROM_HISTORY``, else
``history.sqlite`` in the user data folder, e.g. ``~/.local/share/hiprom`` on Linux). Use
pseudonymous subject IDs: the database keeps each ``result.json`` (with the clip's path).

Same clip, stored once: the key of a clip is the id of its input
(:func:`hiprom.io.hashing.input_sha256`: the sha256 of the file, or of a folder of photos'
names and contents; the same id batch mode uses), computed when the input is reachable, either at the
result's input path or, for an output folder given as ``result_dir``, beside it. When it is
not reachable (a result.json from elsewhere), a fingerprint of the result's input description
(file name, kind, size in pixels, frames, fps, duration, codec) stands in. A new result is a
duplicate of a stored one for the same subject when both have a sha256 and they are equal, or
when either lacks one and the fingerprints are equal. Re-analysing a clip with other settings
therefore does not add a second point; a renamed copy of a clip does not either.

Crash safety: the database runs in WAL journal mode with ``synchronous=FULL`` and every change
is one transaction, so a process killed mid-write (or a full disk: ``no space left on
<folder>``) leaves the last complete state; the schema
has a version table, and a database written by a newer hiprom is refused, not misread.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hiprom.core.measurement import SIDES
from hiprom.errors import InputError, OutputWriteError
from hiprom.io.atomic import no_space_error, write_error
from hiprom.io.hashing import try_input_sha256
from hiprom.outputs.history_plot import default_mdc_deg, plot_history, with_changes

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure
    import pandas as pd

    from hiprom.core.result import AnalysisResult

__all__ = ["History", "default_history_path", "check_subject_id", "with_changes", "plot_history", "SCHEMA_VERSION",
           "default_mdc_deg"]

#: Version of the database layout written by this hiprom (2: the test's own facts, see
#: :class:`hiprom.core.session.TestInfo`; a version-1 file gains those columns when opened).
SCHEMA_VERSION = 2
ROW_COLUMNS = ["date", "right_ir_deg", "right_er_deg", "left_ir_deg", "left_er_deg",
               "quality_level", "quality_score", "reference", "clip", "result_dir",
               "date_source", "examiner", "pain", "position", "notes"]
#: Columns added in version 2 (NULL for rows stored before).
_V2_COLUMNS = {"date_source": "TEXT", "examiner": "TEXT", "pain": "TEXT", "position": "TEXT", "notes": "TEXT"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY,
    subject_id TEXT NOT NULL,
    measured_utc TEXT NOT NULL,
    added_utc TEXT NOT NULL,
    clip TEXT NOT NULL,
    clip_sha256 TEXT,
    clip_fingerprint TEXT NOT NULL,
    right_ir_deg REAL, right_er_deg REAL, left_ir_deg REAL, left_er_deg REAL,
    quality_level TEXT, quality_score REAL,
    reference TEXT,
    result_dir TEXT,
    result_json TEXT NOT NULL,
    date_source TEXT, examiner TEXT, pain TEXT, position TEXT, notes TEXT
);
INSERT INTO schema_version (version) SELECT {version} WHERE NOT EXISTS (SELECT 1 FROM schema_version);
CREATE INDEX IF NOT EXISTS measurements_subject ON measurements (subject_id, measured_utc);
CREATE UNIQUE INDEX IF NOT EXISTS measurements_clip ON measurements (subject_id, clip_sha256)
    WHERE clip_sha256 IS NOT NULL;
"""


def default_history_path(path: str | Path | None = None) -> Path:
    """The history database: ``path`` if given, else ``$HIPROM_HISTORY``, else
    ``<user data dir>/hiprom/history.sqlite`` (:func:`platformdirs.user_data_dir`)."""
    if path:
        return Path(path).expanduser()
    if os.environ.get("HIPROM_HISTORY"):
        return Path(os.environ["HIPROM_HISTORY"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hiprom", appauthor=False)) / "history.sqlite"


def check_subject_id(subject_id: str) -> str:
    """The subject ID stripped of surrounding spaces: 1-200 printable characters (no control
    characters, tabs or line breaks: an ID is printed in tables and stored as one line)."""
    sid = str(subject_id).strip()
    if not sid or len(sid) > 200 or not sid.isprintable():
        raise InputError(f"subject ID must be 1-200 printable characters, got {subject_id!r}",
                         fix="use a short pseudonymous code such as P-017 (not a name).")
    return sid


def _db_write_error(exc: sqlite3.Error, path: Path) -> OutputWriteError | None:
    """The user-facing error for a write SQLite could not make (a full disk), else ``None``."""
    text = str(exc).lower()
    full = "full" in text
    if not full and "disk i/o error" in text:
        try:
            full = shutil.disk_usage(path.parent).free < (1 << 20)
        except OSError:
            full = False
    if full:
        return no_space_error(path.parent, fix="free some space, or keep the history elsewhere with "
                                               "--history-db (or HIPROM_HISTORY).")
    return None


def _fingerprint(inp: dict[str, Any]) -> str:
    keys = ("kind", "width_px", "height_px", "frames", "fps", "duration_s", "codec")
    desc = {k: inp.get(k) for k in keys}
    desc["name"] = Path(str(inp.get("path", ""))).name
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


def _as_dict(result: "AnalysisResult | dict | str | Path") -> tuple[dict[str, Any], Path | None]:
    """The result.json content, validated (:mod:`hiprom.io.result_json`), and the folder it
    came from (for a path)."""
    from hiprom.io.result_json import check_result, read_result, result_file

    if isinstance(result, (str, Path)):
        file = result_file(result)
        return read_result(file), file.parent
    return check_result(result if isinstance(result, dict) else result.to_dict()), None


class History:
    """A subject-by-subject history of measurements in one SQLite file.

    Parameters
    ----------
    path
        The database file (created with its folder when missing); see
        :func:`default_history_path` for the default.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = default_history_path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, self.path.parent, denied=True) or exc from None
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript("BEGIN IMMEDIATE;" + _SCHEMA.format(version=SCHEMA_VERSION) + "COMMIT;")
            found = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            if found is not None and found < SCHEMA_VERSION:
                self._migrate()
                found = SCHEMA_VERSION
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            full = _db_write_error(exc, self.path)
            if full is not None:
                raise full from None
            raise InputError(f"is not a usable hiprom history database ({exc})", path=self.path,
                             fix="point --history-db / HIPROM_HISTORY at another file, or move this one "
                                 "away.") from None
        if found is not None and found > SCHEMA_VERSION:
            self._close_quietly()
            raise InputError(f"history database version {found} was written by a newer hiprom "
                             f"(this one reads version {SCHEMA_VERSION})", path=self.path,
                             fix="upgrade hiprom (pip install -U hiprom).")

    def _migrate(self) -> None:
        """Bring an older file up to :data:`SCHEMA_VERSION` in one transaction (rows kept: columns
        are only added)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            have = {r[1] for r in self._conn.execute("PRAGMA table_info(measurements)")}
            for name, kind in _V2_COLUMNS.items():
                if name not in have:
                    self._conn.execute(f"ALTER TABLE measurements ADD COLUMN {name} {kind}")
            self._conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    # -- lifetime -------------------------------------------------------------------------
    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._conn = None

    def close(self) -> None:
        """Close the database (further use raises)."""
        self._close_quietly()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self.path}: this history is closed")
        return self._conn

    # -- writing ----------------------------------------------------------------------------
    def add(self, result: "AnalysisResult | dict | str | Path", subject_id: str, *,
            result_dir: str | Path | None = None, measured_utc: str | _dt.datetime | None = None) -> bool:
        """Store one measurement; return False (storing nothing) if this clip is already stored.

        Parameters
        ----------
        result
            An :class:`~hiprom.result.AnalysisResult`, its ``to_dict()``, a ``result.json``
            or an output folder.
        subject_id
            Pseudonymous ID of the person.
        result_dir
            The output folder written for this result (kept for reference; also where the
            clip is looked for when the result's input path is not reachable).
        measured_utc
            When the test was done; default the result's test date (``test.date``), else
            its ``created_utc`` (when it was analysed).
        """
        sid = check_subject_id(subject_id)
        data, folder = _as_dict(result)
        result_dir = Path(result_dir) if result_dir is not None else folder
        inp = data.get("input", {})
        clip = Path(str(inp.get("path", "")))
        candidates = [clip] + ([result_dir.parent / clip.name] if result_dir is not None else [])
        found = [(c, h) for c in candidates if str(c) not in ("", ".") for h in [try_input_sha256(c)] if h]
        sha = found[0][1] if found else None
        clip = found[0][0].resolve() if found else clip
        test = data.get("test") or {}
        when = _utc_text(measured_utc or test.get("date") or data.get("created_utc") or _now())
        source = "given" if measured_utc else test.get("date_source") if test.get("date") else "analysis"
        sides = data.get("sides", {})
        values = [sides.get(s, {}).get(k) for s in SIDES for k in ("peak_ir_deg", "peak_er_deg")]
        quality = data.get("quality", {})
        row = (sid, when, _now(), str(clip), sha, _fingerprint(inp), *values, quality.get("level"),
               quality.get("score"), data.get("reference"),
               None if result_dir is None else str(result_dir), json.dumps(data, allow_nan=False),
               source, test.get("examiner"), test.get("pain"), test.get("position"), test.get("notes"))
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")  # check and insert in one write transaction
                if self._stored(sid, sha, row[5]):
                    return False
                self.conn.execute(
                    "INSERT INTO measurements (subject_id, measured_utc, added_utc, clip, clip_sha256, "
                    "clip_fingerprint, right_ir_deg, right_er_deg, left_ir_deg, left_er_deg, quality_level, "
                    "quality_score, reference, result_dir, result_json, date_source, examiner, pain, position, "
                    "notes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        except sqlite3.OperationalError as exc:  # the transaction was rolled back: nothing half-stored
            raise _db_write_error(exc, self.path) or exc from None
        return True

    def _stored(self, sid: str, sha: str | None, fingerprint: str) -> bool:
        q = ("SELECT 1 FROM measurements WHERE subject_id = ? AND ((? IS NOT NULL AND clip_sha256 = ?) OR "
             "((? IS NULL OR clip_sha256 IS NULL) AND clip_fingerprint = ?)) LIMIT 1")
        return self.conn.execute(q, (sid, sha, sha, sha, fingerprint)).fetchone() is not None

    # -- reading ----------------------------------------------------------------------------
    def subjects(self) -> list[str]:
        """The subject IDs with at least one measurement, sorted."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT subject_id FROM measurements ORDER BY subject_id")]

    def rows(self, subject_id: str) -> "pd.DataFrame":
        """One row per stored measurement of a subject, oldest first.

        Columns: ``date`` (UTC timestamp of the test: its test date, else when it was
        analysed), ``right_ir_deg``, ``right_er_deg``, ``left_ir_deg``, ``left_er_deg`` (NaN
        where not measured), ``quality_level``, ``quality_score``, ``reference``, ``clip``,
        ``result_dir``, ``date_source`` (``given``, ``clip``, ``analysis``; None for rows stored
        by hiprom before version 2), ``examiner``, ``pain``, ``position``, ``notes``. Empty
        for an unknown ID.
        """
        import pandas as pd

        sid = check_subject_id(subject_id)
        cur = self.conn.execute(
            "SELECT measured_utc, right_ir_deg, right_er_deg, left_ir_deg, left_er_deg, quality_level, "
            "quality_score, reference, clip, result_dir, date_source, examiner, pain, position, notes "
            "FROM measurements WHERE subject_id = ? "
            "ORDER BY measured_utc, id", (sid,))
        df = pd.DataFrame(cur.fetchall(), columns=ROW_COLUMNS)
        df["date"] = pd.to_datetime(df["date"], utc=True, format="ISO8601")
        for col in ROW_COLUMNS[1:5] + ["quality_score"]:
            df[col] = pd.to_numeric(df[col]).astype(float)
        return df

    def plot(self, subject_id: str, *, norm_band: tuple[float, float] | None = None, norm_label: str | None = None,
             mdc_deg: float | None = None) -> "matplotlib.figure.Figure":
        """Peak IR per side over time (see :func:`plot_history`)."""
        return plot_history(self.rows(subject_id), subject_id, norm_band=norm_band, norm_label=norm_label,
                            mdc_deg=mdc_deg)


def _utc_text(when: "str | _dt.datetime") -> str:
    """An ISO date-time in UTC (naive times are taken as UTC), so text order is time order."""
    try:
        t = when if isinstance(when, _dt.datetime) else _dt.datetime.fromisoformat(str(when))
    except ValueError:
        raise InputError(f"measurement time must be an ISO date-time, got {when!r}",
                         fix="pass e.g. measured_utc='2024-05-01T10:00:00+00:00'.") from None
    t = t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)
    return t.isoformat()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
