"""Where ``hiprom serve`` keeps each analysis: one folder per job under the data folder.

Layout of the data folder ``DATA`` (``--data``)::

    DATA/analyses/<id>/job.json        the job record (status, form fields, error), replaced atomically
    DATA/analyses/<id>/input/<name>    the uploaded clip or photo, as received
    DATA/analyses/<id>/progress.json   the worker's progress (0..1 and the stage), replaced atomically
    DATA/analyses/<id>/result/         the output folder (result.json, report.html, ...), renamed into place whole
    DATA/history.sqlite                the history database (unless --history-db / HIPROM_HISTORY)

A job's status is ``queued``, ``running``, ``done`` or ``failed``. The result folder appears
whole or not at all (:func:`hiprom.outputs.folder.write_outputs` builds it under a hidden name), so
on start-up :meth:`JobStore.recover` can tell: a job left ``queued``/``running`` whose result
folder exists is done (a finished result is never lost); one without it is queued again, and
marked failed once it has been started :data:`MAX_ATTEMPTS` times (a clip that kills the server).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import secrets
import threading
from pathlib import Path
from typing import Any

from hiprom.io.atomic import atomic_file

__all__ = ["JobStore", "STATUSES", "MAX_ATTEMPTS", "JOB_FILE", "RESULT_DIR", "valid_job_id", "safe_name", "now_utc"]

STATUSES = ("queued", "running", "done", "failed")
MAX_ATTEMPTS = 2
JOB_FILE = "job.json"
PROGRESS_FILE = "progress.json"
RESULT_DIR = "result"
INPUT_DIR = "input"
_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def valid_job_id(job_id: str) -> bool:
    """True for an ID this server makes (``20260101-120000-1a2b3c4d``): no path can hide in one."""
    return bool(_ID.match(job_id))


def safe_name(name: str, default: str = "upload") -> str:
    """A file name safe to store: the last path part of ``name``, letters, digits, ``.-_`` only,
    no leading dot, at most 100 characters (the extension kept)."""
    base = re.split(r"[\\/]", name or "")[-1]
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._")
    if not clean:
        return default
    if len(clean) > 100:
        stem, dot, ext = clean.rpartition(".")
        clean = (stem[: 100 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else clean[:100]
    return clean


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as JSON, atomically (:func:`hiprom.io.atomic.atomic_file`)."""
    with atomic_file(path) as fh:
        fh.write((json.dumps(data, indent=2, allow_nan=False) + "\n").encode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class JobStore:
    """The job folders under ``DATA/analyses``; every change of a record is one atomic write.

    Parameters
    ----------
    data_dir
        The server's data folder (created when missing).
    """

    def __init__(self, data_dir: str | Path):
        self.data = Path(data_dir).expanduser().resolve()
        self.root = self.data / "analyses"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    # -- places ---------------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        """The job's folder; ``KeyError`` for an ID that is not one of ours (no path escapes)."""
        if not valid_job_id(job_id):
            raise KeyError(job_id)
        return self.root / job_id

    def result_dir(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULT_DIR

    def input_path(self, record: dict[str, Any]) -> Path:
        return self.folder(record["id"]) / INPUT_DIR / record["input"]["file"]

    def inside(self, path: str | Path) -> Path | None:
        """``path`` resolved, if it lies inside the data folder; else None."""
        try:
            p = Path(path).resolve()
        except (OSError, RuntimeError):
            return None
        return p if p.is_relative_to(self.data) else None

    def job_of(self, result_dir: str | Path | None) -> str | None:
        """The job ID whose result folder is ``result_dir`` (a history row's), or None."""
        p = self.inside(result_dir) if result_dir else None
        if p is None or p.name != RESULT_DIR or p.parent.parent != self.root:
            return None
        return p.parent.name if valid_job_id(p.parent.name) else None

    # -- records --------------------------------------------------------------------------
    def new_id(self) -> str:
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        while True:
            job_id = f"{stamp}-{secrets.token_hex(4)}"
            try:
                (self.root / job_id).mkdir()
                return job_id
            except FileExistsError:  # pragma: no cover - 32 random bits
                continue

    def create(self, job_id: str, input_info: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        record = {"schema": "hiprom.serve.job", "schema_version": 1, "id": job_id, "status": "queued",
                  "created_utc": now_utc(), "started_utc": None, "finished_utc": None, "attempts": 0,
                  "input": input_info, "meta": meta, "error": None, "history": None}
        self.save(record)
        return record

    def save(self, record: dict[str, Any]) -> None:
        with self._lock:
            write_json(self.folder(record["id"]) / JOB_FILE, record)

    def get(self, job_id: str) -> dict[str, Any] | None:
        try:
            folder = self.folder(job_id)
        except KeyError:
            return None
        return read_json(folder / JOB_FILE)

    def update(self, job_id: str, **changes: Any) -> dict[str, Any]:
        """Read, change and write back one record (under the store's lock)."""
        with self._lock:
            record = self.get(job_id)
            if record is None:
                raise KeyError(job_id)
            record.update(changes)
            self.save(record)
            return record

    def all(self) -> list[dict[str, Any]]:
        """Every readable job record, newest first."""
        out = []
        for p in sorted(self.root.iterdir(), reverse=True):
            rec = read_json(p / JOB_FILE) if valid_job_id(p.name) else None
            if rec is not None:
                out.append(rec)
        return out

    def progress(self, job_id: str) -> dict[str, Any]:
        """``{"progress": 0..1, "stage": text}`` as the worker last wrote it."""
        data = read_json(self.folder(job_id) / PROGRESS_FILE) or {}
        value = data.get("progress")
        return {"progress": float(value) if isinstance(value, (int, float)) else 0.0,
                "stage": str(data.get("stage") or "")}

    def files(self, job_id: str) -> dict[str, Path]:
        """The downloadable outputs of a finished job that exist, by name (see :data:`DOWNLOADS`)."""
        folder = self.result_dir(job_id)
        return {name: folder / name for name in DOWNLOADS if (folder / name).is_file()}

    # -- start-up -------------------------------------------------------------------------
    def recover(self) -> tuple[list[str], list[str]]:
        """Settle what a stopped server left; return ``(requeued, finished)`` job IDs.

        Hidden half-built folders and files (``.*.tmp``, ``.*.old``, ``.*.part``) are removed
        (an interrupted replacement is rolled back, :func:`hiprom.io.atomic.sweep`).
        """
        from hiprom.io.atomic import sweep

        sweep(self.root)
        requeued, finished = [], []
        for rec in reversed(self.all()):                  # oldest first: the queue keeps its order
            job_id = rec["id"]
            folder = self.folder(job_id)
            sweep(folder)
            for part in [*folder.glob(".*.part*"), *(folder / INPUT_DIR).glob(".*.part*")]:
                part.unlink(missing_ok=True)          # a half-received upload, a half-written record
            if rec.get("status") not in ("queued", "running"):
                continue
            if (self.result_dir(job_id) / "result.json").is_file():
                self.update(job_id, status="done", finished_utc=rec.get("finished_utc") or now_utc())
                finished.append(job_id)
            elif rec.get("attempts", 0) >= MAX_ATTEMPTS:
                self.update(job_id, status="failed", finished_utc=now_utc(), error=stopped_error(rec))
            else:
                self.update(job_id, status="queued")
                requeued.append(job_id)
        return requeued, finished


def stopped_error(record: dict[str, Any]) -> dict[str, Any]:
    """The error of a job the server stopped (or crashed) during, :data:`MAX_ATTEMPTS` times."""
    name = record["input"]["name"]
    what = (f"the analysis was interrupted {record.get('attempts', 0)} times (the server stopped, or the "
            "worker process crashed while reading this file)")
    fix = ("try the file once more; if it fails again, copy it again from the phone or convert it to H.264 MP4 "
           "(ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p out.mp4).")
    return {"message": f"{name}: {what}\n  How to fix: {fix}", "what": what, "fix": fix, "exit_code": 70}


#: What a finished job offers for download, and its media type. The PDF and the browser-playable
#: video appear when the outputs hold them (written by the report/annotation steps when available).
DOWNLOADS = {
    "report.html": "text/html; charset=utf-8",
    "report.pdf": "application/pdf",
    "result.json": "application/json",
    "angles.csv": "text/csv; charset=utf-8",
    "landmarks.npz": "application/octet-stream",
    "angles.png": "image/png",
    "annotated.mp4": "video/mp4",
}
