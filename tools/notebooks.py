"""Checks that keep the notebooks honest: stripped of outputs, one literal ``parameters`` cell.

Stripping is nbstripout's (the pinned version, with cell ids kept so diffs stay small; it
keeps cell tags): ``make format`` runs ``nbstripout --keep-id`` and ``make lint`` runs it with
``--verify``. ``python -m tools.notebooks --check`` adds the rule papermill needs, one cell
tagged ``parameters`` of plain literal assignments, and the series table of
:mod:`runner.series` in every copy (``--write-series`` writes them, as ``make format`` does).
"""

from __future__ import annotations

import argparse
import ast
import copy
import sys
from pathlib import Path

import nbformat

from runner import series
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


def with_series_table(nb: nbformat.NotebookNode, rel: str) -> nbformat.NotebookNode:
    """The notebook with the series table of :mod:`runner.series` in its first cell."""
    first = nb.cells[0]
    first.source = series.replace_marked(first.source, series.notebook_table(rel))
    return nb


def readme_with_series_table(text: str) -> str:
    """The README with the series table of :mod:`runner.series`."""
    return series.replace_marked(text, series.readme_table())


def series_drift(root: Path = paths.ROOT) -> list[str]:
    """Where a written copy of the series table differs from :mod:`runner.series`."""
    problems = []
    listed = [nb.path for nb in series.SERIES]
    found = [p.relative_to(root).as_posix() for p in find(root)]
    if sorted(listed) != found:
        problems.append(f"runner/series.py lists {sorted(listed)}, the folders hold {found}")
    for rel in listed:
        path = root / rel
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        try:
            fresh = with_series_table(copy.deepcopy(nb), rel)
        except ValueError as exc:
            problems.append(f"{rel}: first cell: {exc}")
            continue
        if fresh.cells[0].source != nb.cells[0].source:
            problems.append(f"{rel}: the series table differs from runner/series.py")
    readme = (root / "README.md").read_text(encoding="utf-8")
    try:
        if readme_with_series_table(readme) != readme:
            problems.append("README.md: the series table differs from runner/series.py")
    except ValueError as exc:
        problems.append(f"README.md: {exc}")
    return problems


def write_series(root: Path = paths.ROOT) -> list[str]:
    """Rewrite every copy of the series table; returns the files changed."""
    changed = []
    for nb_entry in series.SERIES:
        path = root / nb_entry.path
        nb = nbformat.read(path, as_version=4)
        before = nb.cells[0].source
        if with_series_table(nb, nb_entry.path).cells[0].source != before:
            nbformat.write(nb, path)
            changed.append(nb_entry.path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if readme_with_series_table(text) != text:
        readme.write_text(readme_with_series_table(text), encoding="utf-8")
        changed.append("README.md")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Check the notebooks (parameters, series table) or write the table; exit 1 on a problem."""
    parser = argparse.ArgumentParser(prog="python -m tools.notebooks", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail on a bad parameters cell or series table"
    )
    parser.add_argument("--list", action="store_true", help="print the notebooks' paths")
    parser.add_argument(
        "--write-series", action="store_true", help="write the series table into each copy"
    )
    args = parser.parse_args(argv)
    failed = False
    if args.write_series:
        for changed in write_series():
            print(f"wrote the series table into {changed}")
    for path in find():
        rel = path.relative_to(paths.ROOT)
        if args.list:
            print(rel)
        if args.check:
            for problem in parameter_problems(nbformat.read(path, as_version=4)):
                print(f"{rel}: {problem}")
                failed = True
    if args.check:
        for problem in series_drift():
            print(f"{problem}; run `make format`")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
