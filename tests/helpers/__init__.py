"""Helpers shared by the tests (importable as ``helpers``: pyproject puts ``tests/`` on the path).

``REPO`` is the repository root and ``SAMPLES`` its bundled sample clips.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
