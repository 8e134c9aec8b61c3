"""The notebooks as files: stripped of outputs, one literal parameters cell (tools.notebooks).

These read the notebooks without running them; the runs are in tests/notebooks/.
"""

from __future__ import annotations

import nbformat
import papermill

from runner import run as run_workshop
from tests.helpers import MULTIMODAL
from tools import notebooks
from utils import paths


def test_notebooks_are_stripped_with_one_literal_parameters_cell() -> None:
    found = notebooks.find()
    assert [str(p.relative_to(paths.ROOT)) for p in found] == sorted(run_workshop.NOTEBOOKS)
    for path in found:
        nb = nbformat.read(path, as_version=4)
        assert not notebooks.has_outputs(nb), f"{path.name} has outputs: run `make format`"
        assert notebooks.parameter_problems(nb) == [], path.name
        params = papermill.inspect_notebook(str(path))
        assert {"backend", "region"} <= set(params), path.name
        assert params["backend"]["default"] == '"local"'


def test_parameter_rules_catch_violations() -> None:
    nb = nbformat.v4.new_notebook()
    assert notebooks.parameter_problems(nb) == ["expected one cell tagged 'parameters', found 0"]
    cell = nbformat.v4.new_code_cell("x = 1\ny = x + 1\nprint(y)")
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    assert notebooks.parameter_problems(nb) == [
        "line 2: value is not a literal",
        "line 3: only assignments belong in the parameters cell",
    ]
    cell.source = 'key = ""  # optional; "" = none\nname = "a"  # a "quoted" word is fine'
    assert notebooks.parameter_problems(nb) == [
        "line 1: papermill cannot read this line; keep quotes and '=' out of its comment"
    ]
    out = nbformat.v4.new_code_cell("1", execution_count=3)
    out.outputs = [nbformat.v4.new_output("stream", text="1")]
    nb.cells.append(out)
    ids = [c.id for c in nb.cells]
    assert notebooks.has_outputs(nb)
    assert not notebooks.has_outputs(notebooks.strip(nb))
    assert (out.outputs, out.execution_count) == ([], None)
    assert nb.cells[0].metadata["tags"] == ["parameters"]  # nbstripout keeps tags
    assert [c.id for c in nb.cells] == ids  # and, as make format runs it, cell ids


def test_notebook_is_stripped_with_one_literal_parameters_cell() -> None:
    nb = nbformat.read(paths.ROOT / MULTIMODAL, as_version=4)
    assert not notebooks.has_outputs(nb)
    assert notebooks.parameter_problems(nb) == []
    params = papermill.inspect_notebook(str(paths.ROOT / MULTIMODAL))
    assert params["backend"]["default"] == '"local"'
    assert params["base_model"]["default"] == '"amazon.nova-lite-v1:0"'
    assert params["keep_endpoint"]["default"] == "False"
