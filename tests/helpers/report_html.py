"""Checks of a report's HTML (tests/unit/outputs/test_report.py, tests/e2e/test_report.py)."""

from __future__ import annotations

import base64
import re


def data_uris(html: str, kind: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf"data:image/{kind};base64,([A-Za-z0-9+/=]+)", html)]


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert re.search(r"""(src|href)\s*=\s*['"](?!data:)""", html) is None   # every image is a data: URI
    for needle in ("<script", "<link", "@import", "url(", "http://", "https://"):
        assert needle not in html, needle
