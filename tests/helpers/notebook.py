"""The walkthrough notebook: where it is (tests/unit/test_notebook.py checks it as stored) and its
outputs in a form two runs can be compared in (tests/e2e/test_notebook.py runs it)."""

from __future__ import annotations

import re

from helpers import REPO

NOTEBOOK = REPO / "notebooks" / "hiprom_walkthrough.ipynb"


def output_texts(cells) -> list[list[str]]:
    """Per code cell, each output as its kind and its text with every number masked."""
    out = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        texts = []
        for o in cell["outputs"]:
            text = o.get("text") or o.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            kinds = ",".join(sorted(o.get("data", {}))) or o["output_type"]
            texts.append(kinds + ":" + re.sub(r"\d+(\.\d+)?", "#", text))
        out.append(texts)
    return out
