"""The layout holds: lessons' library, runner, build tools and stand-in depend one way.

Read from the source with ``ast`` (every import, those inside functions too, except the
ones under ``if TYPE_CHECKING``), so an import hidden in a function counts like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from utils import paths

PACKAGES = ("utils", "standin", "runner", "tools")
ALLOWED = {
    "utils": {"utils"},  # what the lessons import stands on its own
    "standin": {"standin"},  # an emulator: it must not share the workshop's beliefs
    "runner": {"runner", "utils", "standin"},
    "tools": {"tools", "utils", "runner"},
}
"""Which of the project's packages each package may import."""


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((paths.ROOT / package).rglob("*.py")):
            parts = path.relative_to(paths.ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _under_type_checking(tree: ast.Module) -> set[int]:
    """Line numbers of imports that exist only for the type checker."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for inner in ast.walk(node):
                lines.add(getattr(inner, "lineno", -1))
    return lines


def imports(name: str, path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every project import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _under_type_checking(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if getattr(node, "lineno", -1) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                base = ".".join(parent[: len(parent) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] in PACKAGES:
                yield base, [a.name for a in node.names], node.lineno


def test_each_package_imports_only_what_it_stands_on() -> None:
    wrong = []
    for name, path in modules().items():
        own = name.split(".")[0]
        for target, _, line in imports(name, path):
            if target.split(".")[0] not in ALLOWED[own]:
                wrong.append(f"{path.relative_to(paths.ROOT)}:{line} imports {target}")
    assert wrong == []


def test_no_private_name_is_taken_from_another_module() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        for target, names, line in imports(name, path):
            if target == name:
                continue
            for taken in names:
                submodule = f"{target}.{taken}"
                if taken.startswith("_") and submodule not in known:
                    wrong.append(f"{path.relative_to(paths.ROOT)}:{line}: {taken} from {target}")
    assert wrong == []


def test_no_private_attribute_is_read_from_another_module() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> project module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in known:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in known and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and aliases.get(node.value.id, name) != name
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                where = f"{path.relative_to(paths.ROOT)}:{node.lineno}"
                wrong.append(f"{where}: {node.value.id}.{node.attr}")
    assert wrong == []


def test_no_import_cycles() -> None:
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target, names, _ in imports(name, path):
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in known and candidate != name:
                    graph[name].add(candidate)
                    break
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
