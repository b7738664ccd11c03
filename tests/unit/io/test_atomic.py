"""The one atomic writer (``hiprom.io.atomic``): all of a file or folder, or nothing; a full
disk becomes ``no space left on <folder>``; Ctrl-C is never lost. No model needed."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hiprom.io.atomic as atomic
from hiprom.errors import OutputExistsError, OutputWriteError
from hiprom.io.atomic import (
    atomic_file,
    atomic_folder,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    sweep,
    write_error,
)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


class DiskFull(io.RawIOBase):
    """A file object whose writes fail as on a full disk."""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_file_is_written_whole_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "r.json"
    assert atomic_write_text(target, "one\n") == target
    atomic_write_bytes(target, b"two\n")
    assert target.read_bytes() == b"two\n" and listing(target.parent) == ["r.json"]
    with atomic_file(target, "w") as fh:
        fh.write("three")
    assert target.read_text() == "three"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_file_write_leaves_the_old_file_and_no_temp(tmp_path: Path, exc: BaseException) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    with pytest.raises(type(exc)), atomic_file(target, "w") as fh:
        fh.write("new, half")
        raise exc
    assert target.read_text() == "old" and listing(tmp_path) == ["r.json"]


def test_path_variant_keeps_the_suffix_for_format_sniffing_writers(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "annotated.mp4") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".annotated.mp4.") and tmp.suffix == ".mp4"
        tmp.write_bytes(b"video")
    assert listing(tmp_path) == ["annotated.mp4"]


def test_disk_full_names_the_folder_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    real_open = open

    def full_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        if "x" in mode:                       # the temporary file: its writes fail
            fh.close()
            return io.BufferedWriter(DiskFull()) if "b" in mode else io.TextIOWrapper(io.BufferedWriter(DiskFull()))
        return fh

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(OutputWriteError) as info:
        atomic_write_text(tmp_path / "report.html", "x" * 100_000)
    assert info.value.message == (f"no space left on {tmp_path}\n"
                                  "  How to fix: free some space or choose --out elsewhere.")
    assert info.value.exit_code == 1
    monkeypatch.undo()
    assert [p for p in listing(tmp_path) if p != "report.html"] == [] and not (tmp_path / "report.html").exists()


def test_write_errors_map_to_clear_messages(tmp_path: Path) -> None:
    assert "no space left on" in write_error(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path).what
    assert "read-only" in write_error(OSError(errno.EROFS, "Read-only file system"), tmp_path).what
    assert write_error(OSError(errno.EACCES, "Permission denied"), tmp_path) is None   # could be a read
    assert "no permission" in write_error(OSError(errno.EACCES, "x"), tmp_path, denied=True).what
    assert "no space" in write_error(OSError("IOError: No space left on device"), tmp_path).what  # pyarrow
    assert write_error(ValueError("no"), tmp_path) is None


def test_folder_is_swapped_in_whole(tmp_path: Path) -> None:
    out = tmp_path / "clip_hiprom"
    with atomic_folder(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".clip_hiprom.") and tmp.name.endswith(".tmp")
        (tmp / "result.json").write_text("1")
    assert listing(tmp_path) == ["clip_hiprom"] and listing(out) == ["result.json"]
    with pytest.raises(OutputExistsError, match="appeared while hiprom was writing it"), atomic_folder(out) as tmp:
        (tmp / "result.json").write_text("2")
    with atomic_folder(out, replace=True) as tmp:
        (tmp / "angles.csv").write_text("2")
    assert listing(tmp_path) == ["clip_hiprom"] and listing(out) == ["angles.csv"]


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_folder_write_keeps_the_old_folder(tmp_path: Path, exc: BaseException) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "result.json").write_text("old")
    with pytest.raises(type(exc)), atomic_folder(out, replace=True) as tmp:
        (tmp / "result.json").write_text("new")
        raise exc
    assert listing(tmp_path) == ["o"] and (out / "result.json").read_text() == "old"


def test_disk_full_inside_a_folder_names_the_folder_written_in_not_the_temp_one(tmp_path: Path) -> None:
    with pytest.raises(OutputWriteError) as info, atomic_folder(tmp_path / "clip_hiprom") as tmp, \
            atomic_path(tmp / "angles.png") as png:
        png.write_bytes(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert info.value.what == f"no space left on {tmp_path}"
    assert listing(tmp_path) == []


def test_sweep_restores_a_half_swap_and_removes_temps(tmp_path: Path) -> None:
    (tmp_path / ".a.0123abcd.tmp").mkdir()
    (tmp_path / ".annotated.mp4.0123abcd.tmp.mp4").write_bytes(b"half")
    (tmp_path / ".b.0123abcd.old").mkdir()
    (tmp_path / "keep.txt").write_text("x")
    (tmp_path / ".hidden-user-file").write_text("x")
    assert sweep(tmp_path) == 2
    assert listing(tmp_path) == [".hidden-user-file", "b", "keep.txt"]


_SWALLOWED = textwrap.dedent("""
    import os, signal, sys, weakref
    from pathlib import Path
    from hiprom.io.atomic import atomic_folder, install_interrupt_handler, interrupt_requested

    install_interrupt_handler()

    class Thing:
        pass

    def on_collect(ref):                  # Ctrl-C lands here: Python swallows it
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass

    out = Path(sys.argv[1])
    try:
        with atomic_folder(out) as tmp:
            (tmp / "result.json").write_text("{}")
            thing = Thing()
            ref = weakref.ref(thing, on_collect)
            del thing
        print("committed")
    except KeyboardInterrupt:
        print("interrupted")
    print("flag", interrupt_requested())
""")


def test_a_ctrl_c_python_swallows_still_stops_the_commit(tmp_path: Path) -> None:
    """The Ctrl-C raised in a weak-reference callback is 'ignored' by Python; before, the write
    went on and the command exited 0. Now it is recorded: nothing is committed, no traceback."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", _SWALLOWED, str(out)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout.split() == ["interrupted", "flag", "True"], proc.stdout + proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert listing(tmp_path) == []


def test_ctrl_c_during_the_swap_is_held_until_the_swap_is_done(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "result.json").write_text("old")
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 1:               # between setting the old folder aside and the new one in
            os.kill(os.getpid(), signal.SIGINT)
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt), atomic_folder(out, replace=True) as tmp:
        (tmp / "result.json").write_text("new")
    atomic.clear_interrupt()
    assert len(calls) == 2 and (out / "result.json").read_text() == "new"
    assert listing(tmp_path) == ["o"]
