"""The walkthrough notebook runs from top to bottom (so it never rots), and the outputs stored with
it are the current ones (that they are small and clean: tests/unit/test_notebook.py).

It is executed with nbclient on a ``python3`` kernel, from a temporary copy (the repository's
file is never written), with the repository root as the working folder. It analyses the bundled
samples, so it needs the pose model (``shared_model_path``: skipped outside CI when missing, a
failure in CI). The stored outputs must match a fresh run's (text with its numbers masked, so the
last digit of a model run on another CPU does not matter). To refresh them after changing the
notebook or what it prints: ``HIPROM_WRITE_NOTEBOOK=1 python -m pytest tests/e2e/test_notebook.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import REPO
from helpers.notebook import NOTEBOOK, output_texts


def need(module: str):
    """Import a test extra: skip without it locally, fail in CI (``CI=true``) where it is installed."""
    if os.environ.get("CI") == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is missing: pip install -e '.[test]'")


@pytest.mark.model
def test_notebook_runs(shared_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    nbformat, nbclient = need("nbformat"), need("nbclient")
    need("ipykernel")
    monkeypatch.setenv("HIPROM_MODEL", str(shared_model_path))  # the kernel inherits the environment
    monkeypatch.delenv("MPLBACKEND", raising=False)  # CI's Agg would hide the notebook's figures
    copy = tmp_path / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, copy)
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(REPO)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any failure
    nbformat.write(nb, tmp_path / "executed.ipynb")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "right: held IR" in text and "left: not tested (the left leg stays within" in text
    assert "Right hip IR" in text  # the norm comparison's sentence
    assert "2 clips measured, 0 failed" in text  # the batch over samples/
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"
    assert NOTEBOOK.read_bytes() == copy.read_bytes(), "the repository's notebook must not change"
    for cell in nb.cells:                                  # timestamps would change on every run
        cell.metadata.pop("execution", None)
    if os.environ.get("HIPROM_WRITE_NOTEBOOK") == "1":
        nbformat.write(nb, NOTEBOOK)
    stored = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    assert output_texts(stored) == output_texts(nb.cells), \
        "the stored outputs are stale: refresh them (HIPROM_WRITE_NOTEBOOK=1, see the module notes)"
