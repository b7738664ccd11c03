"""One identity for an input (``hiprom.io.hashing``): batch and history agree on "the same
input", for a clip and for a folder of photos; special files are refused, never read. No model."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from helpers import REPO

from hiprom.apps.batch.manifest import ClipItem
from hiprom.apps.batch.run import CLIPS_DIR, BatchReport, _plan
from hiprom.config import Config
from hiprom.errors import InputError
from hiprom.io.hashing import file_sha256, input_sha256, try_input_sha256
from hiprom.outputs.history import History
from hiprom.vision.model_store import ModelInfo


def photos(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "2.png").write_bytes(b"two")
    (folder / "10.png").write_bytes(b"ten")
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".hidden.png").write_bytes(b"hidden")
    return folder


def test_a_file_is_its_content_sha256(tmp_path: Path) -> None:
    clip = tmp_path / "c.mp4"
    clip.write_bytes(b"x" * 3_000_000)
    assert input_sha256(clip) == file_sha256(clip) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_a_folder_is_its_photos_names_and_contents(tmp_path: Path) -> None:
    folder = photos(tmp_path / "p")
    expected = hashlib.sha256(b"10.png\0" + hashlib.sha256(b"ten").hexdigest().encode() + b"\n"
                              + b"2.png\0" + hashlib.sha256(b"two").hexdigest().encode() + b"\n").hexdigest()
    assert input_sha256(folder) == expected
    renamed = tmp_path / "renamed"
    folder.rename(renamed)                                   # the folder's own name does not count
    assert input_sha256(renamed) == expected
    (renamed / "notes.txt").write_text("changed")            # nor do other files
    assert input_sha256(renamed) == expected
    (renamed / "2.png").write_bytes(b"TWO")
    assert input_sha256(renamed) != expected
    with pytest.raises(InputError, match="no photos"):
        input_sha256((tmp_path / "empty").mkdir() or tmp_path / "empty")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    box: list[object] = []
    reader = threading.Thread(target=lambda: box.append(try_input_sha256(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "hashing a FIFO blocked"
    assert box == [None]
    with pytest.raises(InputError, match="is a named pipe \\(FIFO\\), not a regular file"):
        input_sha256(fifo)
    folder = photos(tmp_path / "p")
    os.mkfifo(folder / "3.png")                               # a FIFO among the photos is not one
    assert input_sha256(folder) == input_sha256(photos(tmp_path / "q"))


def _batch_id(path: Path, tmp_path: Path) -> str:
    item = ClipItem(path=path, rel=path.name)
    model = ModelInfo(Path("/m.task"), "full", "argument", "f" * 64, 1)
    out = tmp_path / "out"
    (task,) = _plan([item], out / CLIPS_DIR, Config(), model, False, False, BatchReport(out, [item]))
    return task.input_sha256


def _history_id(path: Path, tmp_path: Path) -> str:
    result = {"schema": "hiprom.result", "schema_version": 1, "created_utc": "2024-05-01T10:00:00+00:00",
              "input": {"path": str(path), "kind": "images" if path.is_dir() else "video"},
              "sides": {"right": {}, "left": {}}}
    with History(tmp_path / "h.sqlite") as h:
        assert h.add(result, "P1")
        return h.conn.execute("SELECT clip_sha256 FROM measurements WHERE clip = ?",
                              (str(path.resolve()),)).fetchone()[0]


def test_batch_and_history_give_the_same_id(tmp_path: Path) -> None:
    """Before, a folder of photos had one id in batch (names + hex digests) and another in the
    history (names + raw bytes): they disagreed about "the same input"."""
    folder = photos(tmp_path / "photos")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes((REPO / "samples" / "seated_ir_right.mp4").read_bytes())
    for path in (folder, clip):
        assert _batch_id(path, tmp_path) == _history_id(path, tmp_path) == input_sha256(path)
