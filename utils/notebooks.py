"""Checks that keep the notebooks honest: stripped of outputs, one literal ``parameters`` cell.

Stripping is nbstripout's (the pinned version, with cell ids kept so diffs stay small; it
keeps cell tags): ``make format`` runs ``nbstripout --keep-id`` and ``make lint`` runs it with
``--verify``. ``python -m utils.notebooks --check`` adds the rule papermill needs, one cell
tagged ``parameters`` of plain literal assignments, and fails when a notebook breaks it.
"""

from __future__ import annotations

import argparse
import ast
import copy
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


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as ``nbstripout --keep-id`` leaves it (changed in place)."""
    from nbstripout import strip_output

    stripped: nbformat.NotebookNode = strip_output(
        nb, keep_output=False, keep_count=False, keep_id=True
    )
    return stripped


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    """Whether nbstripout would change the notebook (outputs, counts, volatile metadata)."""
    return bool(nbformat.writes(strip(copy.deepcopy(nb))) != nbformat.writes(nb))


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
    """Check every notebook's parameters cell (and list the notebooks); exit 1 on a problem."""
    parser = argparse.ArgumentParser(prog="python -m utils.notebooks", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail on a bad parameters cell")
    parser.add_argument("--list", action="store_true", help="print the notebooks' paths")
    args = parser.parse_args(argv)
    failed = False
    for path in find():
        rel = path.relative_to(paths.ROOT)
        if args.list:
            print(rel)
        if args.check:
            for problem in parameter_problems(nbformat.read(path, as_version=4)):
                print(f"{rel}: {problem}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
