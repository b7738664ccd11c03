"""Start-up: what ``hiprom analyze`` must import before the first frame reaches the pose model.

scipy (the signal filter) and pandas (the CSV) are imported beside the model's run
(:func:`hiprom.apps.pipeline.analyze`), not before it: importing the pipeline must not load them.
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_pipeline_leaves_scipy_and_pandas_for_later():
    code = ("import sys, hiprom.apps.pipeline, hiprom.apps.cli.analyze; "
            "print(sorted(m for m in ('scipy.signal', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_background_import_brings_them_in():
    code = ("import sys, time, hiprom.apps.pipeline as p; p._import_in_background('scipy.signal', 'pandas'); "
            "t = time.time()\n"
            "while not {'scipy.signal', 'pandas'} <= set(sys.modules) and time.time() - t < 60: time.sleep(0.05)\n"
            "print(sorted(m for m in ('scipy.signal', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['pandas', 'scipy.signal']"
