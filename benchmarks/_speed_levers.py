"""``python benchmarks/speed.py --levers``: what each of ``analyze``'s speed levers is worth.

Runs ``hiprom analyze`` on the speed clip with the default settings and with one lever
changed at a time (a ``--config`` file each), the runs interleaved over ``repeats`` rounds so a
busy moment of the machine hits every setting, and prints per setting the median wall time
(process start to exit), its ratio to the default, and on how many frames the pose model ran.
The levers kept are switched off one by one; the ones tried and left out are switched on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

#: (name, config text, what it shows); the first is the default.
LEVERS = (
    ("default", "", "one frame in three; one person in a box after the first second; holds whole-frame"),
    ("every frame", "[video]\nmodel_every = 1\n", "kept: one frame in three, off"),
    ("two people in every frame", "[model]\nfollow_after_s = 0.0\n", "kept: following one person, off"),
    ("both off (the path before)", "[video]\nmodel_every = 1\n[model]\nfollow_after_s = 0.0\n",
     "the model on every frame, looking for two people in each"),
    ("holds followed in the box", "[model]\ndetect_at_holds = false\n",
     "left out: holds misread by 3-4 deg with an examiner close behind (bench clip r05)"),
    ("frames shrunk to 640 px", "[model]\nmax_side_px = 640\n",
     "left out: more false motion of still legs, a tested leg missed (realism set)"),
)


def lever_table(clip: Path, model_path: str, repeats: int, tmp: Path,
                run_analyze: Callable[..., dict], frames_seen: Callable[[Path], tuple[int, int] | None]) -> None:
    """Print the table (see the module notes)."""
    files = {}
    for k, (name, text, _) in enumerate(LEVERS):
        if text:
            files[name] = tmp / f"lever{k}.toml"
            files[name].write_text(text, encoding="utf-8")
    walls: dict[str, list[float]] = {name: [] for name, _, _ in LEVERS}
    seen: dict[str, tuple[int, int] | None] = {}
    for r in range(repeats):
        for k, (name, _, _) in enumerate(LEVERS):
            out = tmp / f"lever{k}_{r}"
            extra = ["--config", str(files[name])] if name in files else []
            got = run_analyze(clip, model_path, out, extra)
            if "error" in got:
                print(f"  {name}: failed: {got['error']}")
                continue
            walls[name].append(got["wall_s"])
            seen[name] = frames_seen(out)
        print(f"  round {r + 1} of {repeats} done", flush=True)
    base = float(np.median(walls["default"])) if walls["default"] else float("nan")
    print(f"\n{'setting':30s} {'wall s (median)':>16s} {'vs default':>11s} {'model frames':>13s}  what it shows")
    for name, _, note in LEVERS:
        if not walls[name]:
            continue
        wall = float(np.median(walls[name]))
        s = seen.get(name)
        frames = f"{s[0]}/{s[1]}" if s else "?"
        print(f"{name:30s} {wall:16.1f} {wall / base:10.2f}x {frames:>13s}  {note}")
