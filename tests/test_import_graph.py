"""Imports point one way: no module of grader/ imports, directly or through others, itself.

Every import counts, at the top of a module or inside a function (a deferred import is still
a dependency, only hidden). Two modules that import each other are one module, or a third is
missing (STYLE.md).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "grader"
# What the sandbox's bin/ holds beside the programs that run inside it: core's modules,
# imported there by their bare names.
INSIDE = "grader.classgrade.sandbox.inside"  # run from the sandbox's bin/
BESIDE_IN_BIN = {"calling": "grader.core.calling", "wire": "grader.core.wire",
                 "archive": "grader.core.archive"}


def module_name(path: Path) -> str:
    """``grader/classgrade/run.py`` -> ``grader.classgrade.run`` (a package: its folder)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = GRADER) -> dict[str, Path]:
    """Every module under ``root``, by dotted name."""
    return {module_name(path): path for path in sorted(root.rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The grader modules that module ``name`` (the file ``path``) imports, anywhere in it.

    ``from package import thing`` is an import of the submodule when ``thing`` is one, else of
    the package; relative imports are resolved; a bare name that is a file beside the module
    (how the sandbox's programs import each other in its bin/) is that file.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {resolve_bare(alias.name, package, known) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = resolve_bare(node.module or "", package, known)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                targets.add(sub if sub in known else module)
    return {target for target in targets if target in known and target != name} | (
        {name} if name in targets else set())


def resolve_bare(module: str, package: str, known: dict[str, Path]) -> str:
    """A module name as imported: absolute everywhere but in the sandbox, whose programs run
    from its bin/ and import each other, and core's modules copied beside them, by bare name."""
    if module in known or "." in module or package != INSIDE:
        return module
    if f"{package}.{module}" in known:
        return f"{package}.{module}"
    return BESIDE_IN_BIN.get(module, module)


def import_graph(root: Path = GRADER) -> dict[str, set[str]]:
    """``{module: the grader modules it imports}`` for every module under ``root``."""
    known = modules(root)
    return {name: imported(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules, each as the modules in import
    order with the first repeated at the end; ``[]`` when imports point one way."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):  # Tarjan's algorithm; grader/ is shallow enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [one_cycle(graph, group) for group in groups]


def one_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A path through ``group`` from its first module back to it (breadth first: the shortest)."""
    start = min(group)
    came_from = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    path = [node]
                    while came_from[path[-1]] is not None:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {sorted(group)}")


@pytest.mark.parametrize("graph, want", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
    ({"a": {"a"}}, [["a", "a"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c", "a"]]),
    ({"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}, [["a", "c", "a"]]),
    ({"a": {"b"}, "b": {"a"}, "x": {"y"}, "y": {"x"}}, [["a", "b", "a"], ["x", "y", "x"]]),
])
def test_cycles_finds_every_circle_and_names_its_modules(graph, want):
    assert sorted(cycles(graph)) == want


@pytest.mark.parametrize("name, source, want", [
    ("grader.core.probe", "import grader.core.calling", {"grader.core.calling"}),
    ("grader.core.probe", "from grader.core import calling", {"grader.core.calling"}),
    ("grader.core.probe", "from grader.core.calling import call_once", {"grader.core.calling"}),
    ("grader.core.probe", "def f():\n    from grader.client import paths", {"grader.client.paths"}),
    ("grader.core.probe", "from . import wire", {"grader.core.wire"}),
    ("grader.core.probe", "from .wire import Anything", {"grader.core.wire"}),
    ("grader.core.probe", "import numpy\nimport json", set()),
    ("grader.classgrade.probe", "import distributed", set()),  # Dask's, not classgrade's
    (f"{INSIDE}.probe", "import worker", {f"{INSIDE}.worker"}),  # beside it in bin/
    (f"{INSIDE}.probe", "from wire import encode_chunk", {"grader.core.wire"}),  # core's, in bin/
    ("grader.core.probe", "import grader.core.probe", {"grader.core.probe"}),  # itself: a cycle
])
def test_imports_are_read_wherever_they_are(tmp_path, name, source, want):
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert imported(name, path, {**modules(), name: path}) == want


def test_the_graph_sees_the_cli_use_the_servers_commands():
    assert "grader.server.commands" in import_graph()["grader.cli"]


def test_grader_has_no_import_cycle():
    found = cycles(import_graph())
    assert found == [], "modules that import each other: " + "; ".join(
        " -> ".join(cycle) for cycle in found)
