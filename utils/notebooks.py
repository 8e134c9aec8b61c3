"""Checks that keep the notebooks honest: stripped of outputs, one literal ``parameters`` cell.

``python -m utils.notebooks --check`` fails when a notebook carries outputs or breaks the
parameters rule; ``--strip`` removes outputs and execution counts but keeps cell tags.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import nbformat

from utils import paths

_SKIP_PARTS = {".venv", "runs", ".workshop", ".ipynb_checkpoints", "node_modules"}


def find(root: Path = paths.ROOT) -> list[Path]:
    """The workshop's notebooks under ``root`` (not run outputs or checkpoints), sorted."""
    return sorted(
        p for p in root.rglob("*.ipynb") if not _SKIP_PARTS.intersection(p.relative_to(root).parts)
    )


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    """Whether any code cell carries outputs or an execution count."""
    return any(
        c.cell_type == "code" and (c.get("outputs") or c.get("execution_count")) for c in nb.cells
    )


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs and execution counts in place, keeping tags and other cell metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def parameter_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why the notebook breaks the rule "one ``parameters`` cell of plain literal assignments"."""
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        return [f"expected one cell tagged 'parameters', found {len(cells)}"]
    problems = []
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        return [f"parameters cell does not parse: {exc}"]
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            problems.append(f"line {node.lineno}: only assignments belong in the parameters cell")
            continue
        try:
            # arg-type: a bare annotation has no value (None), which literal_eval refuses too.
            ast.literal_eval(node.value)  # type: ignore[arg-type]
        except ValueError:
            problems.append(f"line {node.lineno}: value is not a literal")
    return problems + _unseen_by_papermill(cells[0], tree)


def _unseen_by_papermill(cell: nbformat.NotebookNode, tree: ast.Module) -> list[str]:
    """Assignments papermill cannot read (it skips them with a warning, so nobody notices).

    Papermill parses the cell line by line with its own pattern, not with ``ast``: a comment
    holding ``"" = ...`` already defeats it, and the parameter then vanishes from
    ``papermill --help-notebook`` and ``inspect_notebook``.
    """
    import logging

    from papermill.translators import PythonTranslator

    quiet = logging.getLogger("papermill.translators")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its warning names the line; ours also says how to fix it
    try:
        seen = {p.name for p in PythonTranslator.inspect(cell)}
    finally:
        quiet.setLevel(level)
    return [
        f"line {node.lineno}: papermill cannot read this line; "
        "keep quotes and '=' out of its comment"
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and _target_name(node) not in seen
    ]


def _target_name(node: ast.Assign | ast.AnnAssign) -> str:
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    return target.id if isinstance(target, ast.Name) else ast.unparse(target)


def main(argv: list[str] | None = None) -> int:
    """Check or strip every notebook; exit 1 when a check fails."""
    parser = argparse.ArgumentParser(prog="python -m utils.notebooks", description=__doc__)
    parser.add_argument("--strip", action="store_true", help="strip outputs in place")
    parser.add_argument("--check", action="store_true", help="fail on outputs or bad parameters")
    args = parser.parse_args(argv)
    failed = False
    for path in find():
        nb = nbformat.read(path, as_version=4)
        rel = path.relative_to(paths.ROOT)
        if args.strip and has_outputs(nb):
            nbformat.write(strip(nb), path)
            print(f"stripped {rel}")
        if args.check:
            if has_outputs(nb):
                print(
                    f"{rel}: has outputs; run `make format` (or python -m utils.notebooks --strip)"
                )
                failed = True
            for problem in parameter_problems(nb):
                print(f"{rel}: {problem}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
