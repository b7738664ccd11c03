"""The package's shape: layers that only import downwards, no import cycles, small modules.

The layers, lowest first (a module may import its own layer and the ones below)::

    config < core < io < signal | geometry < vision < interpret < outputs < apps

``errors`` and ``_version`` sit below everything; ``config`` (the settings) only above them.
``signal`` and ``geometry`` are independent of each other. Every import counts, including
function-level and ``TYPE_CHECKING`` ones.
"""

from __future__ import annotations

import pytest
from helpers import REPO

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (pip install -e '.[test]')")

SRC = REPO / "src" / "hiprom"

#: Layer rank of each top-level part of the package (equal rank = may not import each other).
LAYERS = {
    "hiprom._version": 0, "hiprom.errors": 0, "hiprom.config": 1,
    "hiprom.core": 2, "hiprom.io": 3, "hiprom.signal": 4, "hiprom.geometry": 4,
    "hiprom.vision": 5, "hiprom.interpret": 6, "hiprom.outputs": 7,
    "hiprom.apps": 8, "hiprom.__main__": 9,
}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("hiprom", include_external_packages=False)


def _part(module: str) -> str | None:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def test_every_module_belongs_to_a_layer(graph) -> None:
    stray = sorted(m for m in graph.modules if m != "hiprom" and _part(m) not in LAYERS)
    assert stray == []


def test_layers_only_import_downwards(graph) -> None:
    wrong = []
    for module in sorted(graph.modules):
        part = _part(module)
        if part is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            other = _part(imported)
            if other is None or other == part:
                continue
            if LAYERS[other] >= LAYERS[part]:
                wrong.append(f"{module} -> {imported}")
    assert wrong == []


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles(graph) -> None:
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    class Fake:
        modules = {"a", "b", "c"}

        @staticmethod
        def find_modules_directly_imported_by(m: str) -> set[str]:
            return {"a": {"b"}, "b": {"a"}, "c": {"a"}}[m]

    assert _cycles(Fake()) == [["a", "b"]]


def test_modules_are_small_enough_to_read() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def test_few_modules_directly_under_the_package() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= 12, top
