"""The walkthrough notebook is stored with its executed outputs, small and clean (that it runs and
that those outputs are the current ones: tests/e2e/test_notebook.py)."""

from __future__ import annotations

import json

from helpers.notebook import NOTEBOOK

#: Largest stored notebook (bytes): outputs are kept, but small.
MAX_BYTES = 400_000


def test_notebook_is_stored_with_small_outputs():
    raw = NOTEBOOK.read_bytes()
    nb = json.loads(raw)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cells"
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), "run it top to bottom once"
    assert all(c["outputs"] for c in code), "every code cell shows what it does"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2      # the two figures render on GitHub
    assert len(raw) < MAX_BYTES, f"{len(raw)} bytes: keep the stored outputs small"
    for private in (b"/tmp/", b"/work/", b"/home/", b"/root/"):                # no machine's paths leak
        assert private not in raw, private
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
