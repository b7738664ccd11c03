"""Hostile inputs and faults, made at run time, each run through hiprom as a user runs it.

    python benchmarks/faults.py                 # every case (about 10 min on 2 cores)
    python benchmarks/faults.py --only disk     # the cases whose name contains "disk"
    python benchmarks/faults.py --list

The cases live in ``_faults_outputs.py`` (the output folder, a full disk, special files, a
killed batch, Ctrl-C, no network) and ``_faults_inputs.py`` (damaged pictures, settings and
arguments out of range, edited results, a swapped model bundle, short and damaged clips);
``_faults_common.py`` is the harness. Each case builds its input in a fresh temporary folder
(nothing third-party is stored in the repository: the clips are the repo's own samples,
everything else is generated), runs ``python -m hiprom`` in a subprocess, and checks the exit
code, the class of message, that no traceback was printed, and that nothing the user had was
lost and nothing half-written was left. It prints one line per case and
``N handled cleanly / M tried``; the exit code is 0 only when all were.

Needs the pose model (``HIPROM_MODEL``, else ``../shared/models/pose_landmarker_full.task``);
the full-disk cases mount a small tmpfs in a private mount namespace (``unshare -rm``) and the
no-network cases need ``strace``: a case whose tool is missing is reported as not run.
"""

from __future__ import annotations

import sys

import _faults_inputs  # noqa: F401  (registers its cases)
import _faults_outputs  # noqa: F401  (registers its cases)
from _faults_common import main

if __name__ == "__main__":
    sys.exit(main())
