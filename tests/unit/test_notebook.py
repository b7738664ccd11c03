"""The walkthrough notebook is kept stripped of outputs (that it runs: tests/e2e/test_notebook.py)."""

from __future__ import annotations

import json

from helpers import REPO

NOTEBOOK = REPO / "notebooks" / "hiprom_walkthrough.ipynb"


def test_notebook_is_stored_without_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, \
            "strip the notebook's outputs before committing (e.g. jupyter nbconvert --clear-output --inplace)"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
