"""runner.series: one table of the series, written into every notebook and the README."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from runner import run as run_workshop
from runner import series
from tools import notebooks
from utils import paths


@pytest.fixture
def copy_of_repo(tmp_path: Path) -> Path:
    """The README and the notebooks, copied where a test may change them."""
    root = tmp_path / "repo"
    for nb in series.SERIES:
        (root / nb.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(paths.ROOT / nb.path, root / nb.path)
    shutil.copy(paths.ROOT / "README.md", root / "README.md")
    return root


def test_every_copy_in_the_repository_matches_the_source() -> None:
    assert notebooks.series_drift() == []


def test_the_runner_runs_the_series_in_its_order() -> None:
    assert [nb.path for nb in series.SERIES] == run_workshop.NOTEBOOKS
    assert run_workshop.NOTEBOOKS[0] == run_workshop.SETUP
    assert run_workshop.NOTEBOOKS[-1] == run_workshop.CLEANUP


def test_each_notebook_marks_itself_and_lists_all() -> None:
    path = "distillation/01_distillation_from_prompts.ipynb"
    table = series.notebook_table(path)
    marked = [line for line in table.splitlines() if "you are here" in line]
    summary = next(nb.summary for nb in series.SERIES if nb.path == path)
    assert marked == [f"| **▶ you are here** | `{path}` | {summary} |"]
    assert all(f"`{nb.path}`" in table for nb in series.SERIES)


def test_a_drifted_copy_fails_the_check_and_format_writes_it_back(copy_of_repo: Path) -> None:
    target = copy_of_repo / "fine-tuning/01_fine_tune_and_evaluate.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("Removes everything", "Deletes all")
    nbformat.write(nb, target)
    readme = copy_of_repo / "README.md"
    readme.write_text(readme.read_text().replace("| ~10 s |", "| ~30 s |", 1))

    assert notebooks.series_drift(copy_of_repo) == [
        "fine-tuning/01_fine_tune_and_evaluate.ipynb: the series table differs from "
        "runner/series.py",
        "README.md: the series table differs from runner/series.py",
    ]
    assert notebooks.write_series(copy_of_repo) == [
        "fine-tuning/01_fine_tune_and_evaluate.ipynb",
        "README.md",
    ]
    assert notebooks.series_drift(copy_of_repo) == []
    fixed = nbformat.read(target, as_version=4).cells[0].source
    assert "Removes everything the workshop created" in fixed
    assert fixed.startswith("# 01 · Fine-tune")  # the rest of the cell is untouched


def test_missing_markers_and_an_unlisted_notebook_are_named(copy_of_repo: Path) -> None:
    target = copy_of_repo / "03_cleanup.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace(series.START, "")
    nbformat.write(nb, target)
    extra = copy_of_repo / "fine-tuning/03_new_lesson.ipynb"
    shutil.copy(target, extra)

    problems = notebooks.series_drift(copy_of_repo)
    assert problems[0].startswith("runner/series.py lists")
    assert "fine-tuning/03_new_lesson.ipynb" in problems[0]
    assert problems[1] == (
        f"03_cleanup.ipynb: first cell: expected {series.START} ... {series.END} "
        "around the series table"
    )
