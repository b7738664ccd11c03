"""Batch inputs: the manifest CSV (every problem reported per row, before any work), folder
discovery (output trees and special files skipped) and output folder names. No model needed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hiprom.apps.batch.manifest import (
    COLUMNS,
    ClipItem,
    ManifestError,
    discover,
    folder_name,
    load_items,
    read_manifest,
)
from hiprom.errors import InputError

HEADER = ",".join(COLUMNS)


def touch(path: Path, data: bytes = b"\x00\x00\x00\x18ftypmp42") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_manifest(folder: Path, *rows: str, header: str = HEADER, name: str = "manifest.csv") -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_valid_manifest_rows(tmp_path: Path) -> None:
    touch(tmp_path / "p01" / "clip.mp4")
    touch(tmp_path / "p02" / "clip.mp4")
    outside = touch(tmp_path.parent / f"{tmp_path.name}_elsewhere" / "x.MOV")
    m = write_manifest(tmp_path,
                       "p01/clip.mp4,P-01,34,F,right,2024-03-28,first visit",
                       "",  # a blank line is skipped (it still counts as a spreadsheet row)
                       "./p02/clip.mp4,P-02,,m,B,,",
                       f"{outside},P-03,67.5,other,L,2024-01-02,\"notes, with a comma\"")
    items = read_manifest(m)
    assert [it.rel for it in items] == ["p01/clip.mp4", "p02/clip.mp4", outside.as_posix()]
    a, b, c = items
    assert (a.row, a.subject_id, a.age, a.sex, a.sides, a.date, a.notes) == \
        (2, "P-01", 34.0, "female", ("right",), dt.date(2024, 3, 28), "first visit")
    assert (b.row, b.age, b.sex, b.sides, b.date) == (4, None, "male", ("right", "left"), None)
    assert (c.row, c.age, c.sex, c.sides, c.notes) == (5, 67.5, None, ("left",), "notes, with a comma")
    assert a.path == tmp_path / "p01" / "clip.mp4" and c.path == outside
    assert a.folder != b.folder  # equal file names in different folders


def test_columns_in_any_order_semicolons_and_bom(tmp_path: Path) -> None:
    touch(tmp_path / "a.mp4")
    path = tmp_path / "m.csv"
    path.write_bytes("\ufeffnotes;date;side;sex;age;subject_id;path\r\n;;;;41,5;S1;a.mp4\r\n".encode("utf-8"))
    (item,) = read_manifest(path)
    assert (item.rel, item.subject_id, item.age) == ("a.mp4", "S1", 41.5)


def test_missing_columns_named(tmp_path: Path) -> None:
    m = write_manifest(tmp_path, "a.mp4,S1", header="path,subject_id")
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    assert err.value.exit_code == 2
    assert "missing column(s) age, sex, side, date, notes" in err.value.what
    assert "row 1" in err.value.what and str(m) in err.value.message


def test_every_bad_row_reported_with_its_number(tmp_path: Path) -> None:
    touch(tmp_path / "a.mp4")
    touch(tmp_path / "b.mp4")
    touch(tmp_path / "notes.txt", b"hello")
    m = write_manifest(tmp_path,
                       "a.mp4,S1,34,F,right,2024-03-28,",      # row 2: fine
                       "missing.mp4,S2,,,,,",                   # row 3: no such file
                       "b.mp4,S3,abc,,,,",                      # row 4: bad age
                       "b.mp4,S4,,,,2024-13-01,",               # row 5: bad date + duplicate of row 4
                       "./a.mp4,S5,,,,,",                       # row 6: duplicate of row 2
                       ",S6,,,,,",                              # row 7: empty path
                       "notes.txt,S7,,,,,",                     # row 8: not a video
                       "b.mp4,S8,130,X?,middle,03/28/2024,")    # row 9: age, sex, side, date; duplicate
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    text = err.value.what
    lines = [ln.strip() for ln in text.splitlines()[1:]]
    assert text.startswith("12 problem(s) in the manifest")
    assert lines == [
        f"row 3: path: 'missing.mp4' does not exist (looked for {tmp_path / 'missing.mp4'})",
        "row 4: age: expected a number of years above 0 and at most 120, got 'abc'",
        "row 5: date: expected a date as YYYY-MM-DD (e.g. 2024-03-28), got '2024-13-01'",
        "row 5: duplicate of row 4 (same input 'b.mp4')",
        "row 6: duplicate of row 2 (same input './a.mp4')",
        "row 7: path: expected the clip's path, got an empty cell",
        "row 8: path: expected a video, a photo or a folder of photos, got 'notes.txt' (extension '.txt')",
        "row 9: age: expected a number of years above 0 and at most 120, got '130'",
        "row 9: sex: expected F, M, female, male, other or blank, got 'X?'",
        "row 9: side: expected left, right, both (or L, R, B) or blank, got 'middle'",
        "row 9: date: expected a date as YYYY-MM-DD (e.g. 2024-03-28), got '03/28/2024'",
        "row 9: duplicate of row 4 (same input 'b.mp4')",
    ]
    assert err.value.exit_code == 2
    assert "nothing was analysed" in (err.value.fix or "")


def test_age_zero_and_no_rows(tmp_path: Path) -> None:
    touch(tmp_path / "a.mp4")
    with pytest.raises(ManifestError, match=r"row 2: age: .* got '0'"):
        read_manifest(write_manifest(tmp_path, "a.mp4,S,0,,,,"))
    with pytest.raises(ManifestError, match="has a header but no rows"):
        read_manifest(write_manifest(tmp_path, name="empty.csv"))


def test_folder_name_is_readable_and_collision_free() -> None:
    assert folder_name("p01/visit 2/clip.mp4") == "p01__visit_2__clip.mp4-f60adfde"
    assert folder_name("p02/visit 2/clip.mp4") == "p02__visit_2__clip.mp4-3b798408"
    assert folder_name("a/b_c.mp4") != folder_name("a_b/c.mp4")  # same slug, different hash
    assert not folder_name(".hidden/x.mp4").startswith(".")
    assert len(folder_name("x" * 300 + ".mp4")) == 80 + 9


def test_discover_recursive_natural_order_and_skips(tmp_path: Path) -> None:
    for rel in ("b/clip10.mp4", "b/clip2.mp4", "a/photo.JPG", "top.mov", "a/readme.txt", ".hidden/x.mp4",
                "a/.x.mp4", "old_hiprom/y.mp4", "out/clips/z.mp4"):
        touch(tmp_path / rel)
    items = discover(tmp_path, exclude=tmp_path / "out")
    assert [it.rel for it in items] == ["a/photo.JPG", "b/clip2.mp4", "b/clip10.mp4", "top.mov"]
    assert all(it.path.is_absolute() and it.row is None and it.sides == ("right", "left") for it in items)


def test_discover_skips_special_files_with_a_note(tmp_path: Path) -> None:
    touch(tmp_path / "a.mp4")
    os.mkfifo(tmp_path / "pipe.mp4")
    notes: list[tuple[Path, str]] = []
    items = discover(tmp_path, on_skip=lambda path, why: notes.append((path, why)))
    assert [it.rel for it in items] == ["a.mp4"]
    assert notes == [(tmp_path / "pipe.mp4", "is a named pipe (FIFO), not a regular file: skipped")]


def test_discover_never_takes_inputs_from_an_output_tree(tmp_path: Path) -> None:
    """``batch D --out D``: a second run must not measure the batch's own images."""
    touch(tmp_path / "a.mp4")
    touch(tmp_path / ".hiprom-batch.lock", b"")
    touch(tmp_path / "cohort.png")                                   # the batch's figure
    touch(tmp_path / "clips" / "a.mp4-1234abcd" / "angles.png")       # a clip folder
    renamed = tmp_path / "visit1"                                     # an analyze folder, renamed
    touch(renamed / "angles.png")
    touch(renamed / "result.json", b'{"schema": "hiprom.result"}')
    touch(tmp_path / "photos" / "cohort.png")                          # the user's own photo: kept
    assert [it.rel for it in discover(tmp_path)] == ["a.mp4", "photos/cohort.png"]
    (tmp_path / ".hiprom-batch.lock").unlink()                        # the --out folder itself
    assert [it.rel for it in discover(tmp_path, exclude=tmp_path)] == ["a.mp4", "photos/cohort.png"]
    with pytest.raises(InputError, match="is a hiprom output folder"):
        discover(renamed)


def test_a_manifest_row_naming_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.mp4")
    with pytest.raises(ManifestError, match=r"row 2: path: 'pipe.mp4' is a named pipe \(FIFO\), not a video"):
        read_manifest(write_manifest(tmp_path, "pipe.mp4,,,,,,"))


def test_load_items_rejects_other_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_items(tmp_path / "nope")
    with pytest.raises(InputError, match="no videos or photos"):
        load_items(tmp_path)
    with pytest.raises(InputError, match="expected a folder of clips or a manifest .csv"):
        load_items(touch(tmp_path / "one.mp4"))


def test_clip_item_validates() -> None:
    with pytest.raises(ValueError, match="absolute"):
        ClipItem(path=Path("rel.mp4"), rel="rel.mp4")
    with pytest.raises(ValueError, match="age"):
        ClipItem(path=Path("/x.mp4").resolve(), rel="x.mp4", age=0)


def test_cli_reports_manifest_rows_before_any_work(tmp_path: Path) -> None:
    """Exit 2, rows listed, no traceback, no output folder; the model is never looked for."""
    m = write_manifest(tmp_path, "missing.mp4,S1,abc,,,,")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIPROM_")}
    env.update(HIPROM_MODEL=str(tmp_path / "no_model.task"), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "hiprom", "batch", str(m), "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    assert "row 2: path: 'missing.mp4' does not exist" in proc.stderr
    assert "row 2: age: expected a number of years above 0 and at most 120, got 'abc'" in proc.stderr
    assert not out.exists()


def test_formula_notes_are_neutralised_in_summary_csv(tmp_path: Path) -> None:
    """A note or ID a spreadsheet would run as a formula gets a leading ' in summary.csv
    (reliability issue, item 18); the parquet keeps the text as written."""
    import csv

    import pandas as pd

    from hiprom.apps.batch.summary import write_summary

    notes = ['=HYPERLINK("http://example.invalid","open")', "+1 fine", "-2 worse", "@SUM(A1:A9)", "plain - text"]
    for i in range(len(notes)):
        touch(tmp_path / f"c{i}.mp4")
    rows = [f'c{i}.mp4,{"=cmd|x" if i == 0 else "S" + str(i)},40,,right,,"{n.replace(chr(34), chr(34) * 2)}"'
            for i, n in enumerate(notes)]
    items = read_manifest(write_manifest(tmp_path, *rows))
    assert [it.notes for it in items] == notes
    (tmp_path / "out").mkdir()
    files = write_summary(tmp_path / "out", items, figure=False)
    with open(files["csv"], newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["notes"] for r in table] == ["'" + n for n in notes[:4]] + ["plain - text"]
    assert table[0]["subject_id"] == "'=cmd|x" and table[1]["subject_id"] == "S1"
    assert table[0]["status"] == "missing" and table[0]["age"] == "40.00"
    assert pd.read_parquet(files["parquet"])["notes"].tolist() == notes
