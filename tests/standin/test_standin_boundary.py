"""The stand-in is an emulator with its own facts: no file of it may import the workshop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from utils import paths

STANDIN = paths.ROOT / "standin"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_standin_file_imports_utils() -> None:
    files = sorted(STANDIN.rglob("*.py"))
    assert len(files) >= 10  # the package is really there
    offenders = [
        f"{path.relative_to(paths.ROOT)}:{line}: import {name}"
        for path in files
        for line, name in _imports(path)
        if name == "utils" or name.startswith("utils.")
    ]
    assert offenders == []


def test_importing_every_standin_module_loads_no_workshop_module() -> None:
    modules = sorted(
        "standin." + ".".join(p.relative_to(STANDIN).with_suffix("").parts)
        for p in STANDIN.rglob("*.py")
        if p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from standin import StandIn\n"
        "print(sorted(m for m in sys.modules if m == 'utils' or m.startswith('utils.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_policy_conditions_evaluate_iams_like_operators() -> None:
    from standin.s3policy import condition_holds

    context = {"s3:prefix": "models/merged/", "aws:SecureTransport": "true"}
    assert condition_holds({"StringLike": {"s3:prefix": ["models/", "models/*"]}}, context)
    assert condition_holds({"StringLike": {"s3:prefix": "data/*"}}, context) is False
    assert condition_holds({"StringNotLike": {"s3:prefix": "data/*"}}, context)
    assert condition_holds({"StringLike": {"s3:prefix": "models/merged?"}}, context)
    assert condition_holds({"StringLike": {"s3:prefix": "[m]odels/*"}}, context) is False
    assert condition_holds({"Bool": {"aws:SecureTransport": "True"}}, context)
    assert condition_holds({"StringEquals": {"s3:prefix": "Models/merged/"}}, context) is False
    assert condition_holds({"NumericLessThan": {"s3:prefix": "3"}}, context) is None
    assert condition_holds({"StringLike": {"s3:delimiter": "/"}}, context) is None
