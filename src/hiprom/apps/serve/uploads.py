"""Receiving uploads: multipart streamed to disk, size-limited, checked by content like the CLI.

:func:`receive` parses ``multipart/form-data`` as it arrives (``python-multipart``'s streaming
parser): each file part is written in chunks to ``DATA/analyses/<new id>/input/<name>`` under a
hidden ``.part`` name, never held in memory whole. A file larger than the limit is refused as
soon as it passes it (HTTP 413), as is a request whose declared length is beyond every file's
limit. Text is refused after its first 4 KB (415). A complete file then gets the checks
``hiprom analyze`` makes before any work (:func:`hiprom.io.frames.open_source`: empty, text,
not a video or image, no index, undecodable first frame), with the same messages, naming the
file as the user named it. On any refusal or a dropped connection nothing is kept.

:func:`check_fields` judges the form's fields (subject, age, sex, sport, test date, examiner,
notes) as the CLI judges its options.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from hiprom.apps.serve.store import INPUT_DIR, JobStore, safe_name
from hiprom.apps.serve.worker import error_record
from hiprom.errors import HipromError, InputError, UsageError

__all__ = ["Refused", "Received", "receive", "check_fields", "FIELDS"]

#: The form's text fields and their longest accepted length (characters).
FIELDS = {"subject_id": 200, "age": 20, "sex": 20, "sport": 60, "test_date": 20, "examiner": 200, "notes": 2000,
          "blur_faces": 10}
_HEAD_BYTES = 4096
_MAX_PARTS = 40


class Refused(Exception):
    """An upload or form the server will not take: the HTTP status and the error record."""

    def __init__(self, status: int, exc: HipromError, name: str | None = None):
        self.status = status
        self.error = error_record(exc, name)
        self.fields: dict[str, str] = {}      # the form's text fields received so far (shown again)
        super().__init__(self.error["message"])


@dataclass
class ReceivedFile:
    name: str             # as the user's browser named it
    job_id: str
    path: Path
    size_bytes: int = 0
    head: bytes = b""


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)

    def discard(self, store: JobStore) -> None:
        """Remove every job folder this upload created."""
        for f in self.files:
            shutil.rmtree(store.folder(f.job_id), ignore_errors=True)


def _too_big(name: str | None, limit: int) -> Refused:
    mb = limit / 1e6
    return Refused(413, InputError(f"is larger than this server's upload limit of {mb:g} MB",
                                   fix="trim the clip to the test itself (a seated test takes well under a "
                                       "minute), or start hiprom serve with a larger --max-upload-mb."), name)


async def receive(request: Any, store: JobStore, *, max_bytes: int, max_files: int = 20) -> Received:
    """Stream a multipart request's files into new job folders; return them and the text fields.

    Raises
    ------
    Refused
        400 (not a form, no file, too many parts), 413 (too large), 415 (text), 422 (the CLI's
        checks refuse the file). Every file already written is removed first.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise Refused(400, UsageError("expected a form upload (multipart/form-data) with the clip in a 'file' field",
                                      fix="send the form from the page, or use curl -F file=@clip.mp4."))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_files * max_bytes + (1 << 20):
        raise _too_big(None, max_bytes)
    got = Received()
    state: dict[str, Any] = {"headers": [], "field": b"", "value": b"", "part": None}
    events: list[tuple[str, Any]] = []

    def header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def header_end() -> None:
        state["headers"].append((state["field"].lower(), state["value"]))
        state["field"], state["value"] = b"", b""

    callbacks = {
        "on_part_begin": lambda: state.update(headers=[]),
        "on_header_field": header_field, "on_header_value": header_value, "on_header_end": header_end,
        "on_headers_finished": lambda: events.append(("begin", list(state["headers"]))),
        "on_part_data": lambda data, start, end: events.append(("data", bytes(data[start:end]))),
        "on_part_end": lambda: events.append(("end", None)),
    }
    parser = MultipartParser(params[b"boundary"], callbacks)
    part: dict[str, Any] | None = None
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except Exception as exc:  # noqa: BLE001 - python-multipart's errors for a malformed body
                raise Refused(400, UsageError(f"the upload is not a well-formed form ({type(exc).__name__})",
                                              fix="send the form again from the page.")) from None
            for kind, payload in events:
                part = await _event(kind, payload, part, got, store, max_bytes, max_files)
            events.clear()
        parser.finalize()
        if part is not None:
            raise Refused(400, UsageError("the upload ended in the middle of a file (the connection was cut)",
                                          fix="send the file again."), part.get("name"))
        if not got.files:
            raise Refused(400, UsageError("no file was sent: choose or drop a clip or photo of the seated test",
                                          fix="add the video (or photo) of the test, then send the form again."))
        for f in got.files:
            await anyio.to_thread.run_sync(_cli_check, f)
    except BaseException as exc:
        if part is not None and part.get("fh") is not None:
            part["fh"].close()
        got.discard(store)
        if isinstance(exc, Refused):
            exc.fields = dict(got.fields)
        raise
    return got


async def _event(kind: str, payload: Any, part: dict[str, Any] | None, got: Received, store: JobStore,
                 max_bytes: int, max_files: int) -> dict[str, Any] | None:
    """Handle one parser event; return the part being received (None between parts)."""
    from python_multipart.multipart import parse_options_header

    if kind == "begin":
        if len(got.fields) + len(got.files) >= _MAX_PARTS:
            raise Refused(400, UsageError(f"the form has more than {_MAX_PARTS} parts",
                                          fix="send at most 20 files at once."))
        headers = dict(payload)
        _, opts = parse_options_header(headers.get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in opts:
            return {"field": name, "value": b""}
        filename = opts[b"filename"].decode("utf-8", "replace")
        if not filename:
            return {"skip": True}                     # a file input left empty
        if len(got.files) >= max_files:
            raise Refused(400, UsageError(f"more than {max_files} files in one upload",
                                          fix=f"send at most {max_files} files at once."))
        job_id = store.new_id()
        folder = store.folder(job_id) / INPUT_DIR
        folder.mkdir()
        rf = ReceivedFile(filename, job_id, folder / safe_name(filename))
        got.files.append(rf)
        part_path = folder / f".{rf.path.stem}.part{rf.path.suffix}"     # the suffix kept: the CLI's checks read it
        return {"file": rf, "name": filename, "tmp": part_path, "fh": open(part_path, "xb")}
    if part is None:
        return None
    if kind == "data":
        if "field" in part:
            part["value"] += payload
            if len(part["value"]) > 4 * FIELDS.get(part["field"], 200):
                raise Refused(400, UsageError(f"the form field {part['field']!r} is too long",
                                              fix="shorten it (notes: at most 2000 characters)."))
        elif "file" in part:
            rf: ReceivedFile = part["file"]
            rf.size_bytes += len(payload)
            if rf.size_bytes > max_bytes:
                raise _too_big(rf.name, max_bytes)
            await anyio.to_thread.run_sync(part["fh"].write, payload)
            if len(rf.head) < _HEAD_BYTES:
                rf.head += payload[: _HEAD_BYTES - len(rf.head)]
                if len(rf.head) == _HEAD_BYTES:
                    await anyio.to_thread.run_sync(_sniff, part)    # the first 4 KB: refuse text now
        return part
    # end of a part
    if "field" in part:
        got.fields[part["field"]] = part["value"].decode("utf-8", "replace")
    elif "file" in part:
        fh = part.pop("fh")
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(part["tmp"], part["file"].path)
    return None


def _sniff(part: dict[str, Any]) -> None:
    """Refuse text after its first 4 KB, with the message the CLI gives for that file."""
    from hiprom.io.video_probe import looks_like_text

    if looks_like_text(part["file"].head):
        part["fh"].flush()
        try:
            _cli_check(part["file"], part["tmp"])
        except Refused as exc:
            exc.status = 415
            raise


def _cli_check(f: ReceivedFile, path: Path | None = None) -> None:
    """What ``hiprom analyze`` checks before any work (:func:`hiprom.io.frames.open_source`)."""
    from hiprom.io.frames import open_source
    from hiprom.io.video_probe import looks_like_text

    try:
        with open_source(path or f.path):
            pass
    except HipromError as exc:
        raise Refused(415 if looks_like_text(f.head) else 422, exc, f.name) from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}", fix=f"give the {what} in years, e.g. 34.") from None
    return value


def check_fields(fields: dict[str, str]) -> dict[str, Any]:
    """The form's fields judged as the CLI judges its options; the job's ``meta``.

    Raises
    ------
    Refused
        400 with the CLI's message (a bad subject ID, age, sex, sport or date).
    """
    from hiprom.interpret.norms import compare
    from hiprom.outputs.history import check_subject_id

    f = {k: (fields.get(k) or "").strip() for k in FIELDS}
    try:
        for k, limit in FIELDS.items():
            if len(f[k]) > limit:
                raise UsageError(f"{k.replace('_', ' ')} is longer than {limit} characters", fix="shorten it.")
        meta: dict[str, Any] = {"subject_id": check_subject_id(f["subject_id"]) if f["subject_id"] else None,
                                "age": _number(f["age"], "age") if f["age"] else None,
                                "sex": f["sex"].lower() or None, "sport": f["sport"] or None,
                                "test_date": _date(f["test_date"]) if f["test_date"] else None,
                                "examiner": _printable(f["examiner"], "examiner") or None,
                                "notes": f["notes"] or None,
                                "blur_faces": f["blur_faces"].lower() in ("on", "true", "1", "yes")}
        compare({"sides": {}}, age=meta["age"], sex=meta["sex"], sport=meta["sport"])  # the CLI's range checks
    except HipromError as exc:
        raise Refused(400, exc) from None
    return meta


def _printable(text: str, what: str) -> str:
    if text and not text.isprintable():
        raise UsageError(f"{what} must be one line of printable text", fix="remove line breaks and tabs.")
    return text


def _date(text: str) -> str:
    """``YYYY-MM-DD``, not after tomorrow (a clinic's clock and the server's may differ by a day)."""
    try:
        day = _dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"test date must be a date written YYYY-MM-DD, got {text!r}",
                         fix="pick the date in the form, e.g. 2026-03-01.") from None
    if day > _dt.date.today() + _dt.timedelta(days=1):
        raise UsageError(f"test date {text} is in the future", fix="give the day the clip was filmed.")
    return day.isoformat()
