"""The fast tier: no pose model and no ../shared data. Tests here make their inputs themselves
(synthetic series, tiny files in tmp_path, the repository's samples/ read as files).

Asking for the shared folder or the model here is a mistake: the test belongs in tests/e2e.
"""

from __future__ import annotations

import pytest


def _belongs_in_e2e(what: str) -> None:
    pytest.fail(f"a test in tests/unit asked for {what}: move it to tests/e2e "
                "(tests/unit needs neither the pose model nor ../shared)", pytrace=False)


@pytest.fixture(scope="session")
def shared_dir():
    _belongs_in_e2e("the shared data folder (shared_dir)")


@pytest.fixture(scope="session")
def shared_model_path():
    _belongs_in_e2e("the pose model (shared_model_path)")
