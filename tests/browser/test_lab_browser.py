"""``make lab`` in headless Chromium: the whole series as a learner runs it, cell output and all.

The test starts ``make lab`` (the stand-in and JupyterLab) in a process group of its own and
opens the printed URL in Debian's Chromium, driven by Playwright (no downloaded browser
build). From JupyterLab's file browser it opens every notebook of the series in its order
(:data:`runner.series.SERIES`), runs each with Run > Run All Cells, waits until the run has
ended, saves it, and closes it with its kernel. Then it checks what a learner sees:

- no error output anywhere, except in continued pre-training, which stops on purpose at its
  preflight (Titan Text has reached end of life) with ``PreflightStop`` and runs no further;
- in the fine-tuning lesson: a progress widget in the job wait, the loss and score plots as
  PNG images, the table of base and fine-tuned scores;
- in every lesson: each plot the saved notebook holds, drawn on the page, and a progress
  widget in every job wait;
- after ``03_cleanup.ipynb``: "Nothing the workshop created is left.", and the stand-in,
  asked directly, holds nothing of the kinds the workshop creates.

JupyterLab autosaves notebooks with their outputs, so it serves a copy of the lessons
(``WORKSHOP_LAB_DIR``), and the state file lives in a temporary folder (``WORKSHOP_STATE``,
which the kernels inherit); the test checks that the repository is as it found it.
Screenshots go to ``runs/browser/``; ``docs/lab-fine-tuning.png`` is a copy of
``runs/browser/04-scores.png``, made by hand when the lesson's look changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import lab as runner_lab
from runner.series import SERIES
from tests.browser import jupyterlab as ui
from tests.helpers import NOTHING_LEFT
from utils import paths

pytestmark = [
    # It starts a stand-in of its own, but nothing it checks depends on the account played.
    pytest.mark.same_in_every_account,
    pytest.mark.timeout(3600),
]

SETUP = "00_setup.ipynb"
LESSON = "fine-tuning/01_fine_tune_and_evaluate.ipynb"
CONTINUED = "continued-pretraining/01_continued_pretraining.ipynb"
CLEANUP = "03_cleanup.ipynb"
ORDER = [nb.path for nb in SERIES]
COPIED = sorted({path.split("/", 1)[0] for path in ORDER} | {"data"})
"""What the served copy holds: the notebooks and the folders beside them."""

# Which cells show what, found by the call they make rather than by position.
LOSS_PLOT = "jobs.show_metrics("
SCORE_PLOT = "evaluation.plot_summary("
SCORE_TABLE = "result.table("
JOB_WAIT = "jobs.wait_for_model("
PREFLIGHT = "preflight.check_customization("
NOTHING_LEFT_LINE = "Nothing the workshop created is left."

# The stand-in asked directly after cleanup, in a process of its own: the test's process
# has its own stand-in (tests/conftest.py), and the lab's is found through its record.
REMAINING = """
import json
from tests.helpers import remaining
from utils import clients
clients.use_backend("local")
print(json.dumps(remaining()))
"""


def _repository_state() -> tuple[str | None, dict[str, bytes]]:
    """``git status --porcelain`` of the repository (None outside git) and the notebooks' bytes."""
    notebooks = {name: (paths.ROOT / name).read_bytes() for name in ORDER}
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=paths.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, notebooks
    return status, notebooks


def _copy_lessons(target: Path) -> None:
    """The notebooks JupyterLab serves, copied so that its saves never reach the repository."""
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    target.mkdir(parents=True)
    for name in COPIED:
        source = paths.ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=skip)
        else:
            shutil.copy2(source, target / name)


@pytest.fixture
def lab_env(tmp_path: Path) -> dict[str, str]:
    """The environment of ``make lab``: a learner's, with every file it writes in tmp_path."""
    ui.require_browser()
    served = tmp_path / "lab"
    _copy_lessons(served)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The display a learner's JupyterLab picks (utils.progress), not one a caller forced; and
    # not the flags of the make that runs the tests (`make test`), which the inner make takes.
    for name in ("WORKSHOP_PROGRESS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    env |= ui.jupyter_dirs(tmp_path)
    env |= {
        runner_lab.DIR_ENV: str(served),
        "WORKSHOP_STATE": str(tmp_path / "state.json"),
        "WORKSHOP_HOME": str(tmp_path / "home"),
        "WORKSHOP_LAB_PORT": str(runner_lab.free_port(0)),
        # Kernels run in the served copy, outside the repository: make them import this
        # checkout's utils even where the environment's editable install points elsewhere
        # (a git worktree sharing another checkout's .venv).
        "PYTHONPATH": os.pathsep.join(
            [str(paths.ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    return env


@pytest.fixture
def lab(lab_env: dict[str, str], tmp_path: Path) -> Iterator[ui.Served]:
    """``make lab`` in a process group of its own, stopped and checked gone afterwards."""
    ui.SHOTS.mkdir(parents=True, exist_ok=True)
    before = _repository_state()
    running = ui.serve(
        ["make", "--no-print-directory", "lab"],
        cwd=paths.ROOT,
        env=lab_env,
        log=ui.SHOTS / "make-lab.log",
    )
    try:
        yield running
    finally:
        # Every path of the run is under tmp_path: JupyterLab's folder, its kernels'
        # connection files, Chromium's profile.
        left = running.stop(str(tmp_path))
    assert left == [], f"still running after SIGTERM to make lab: {left}"
    port = int(lab_env["WORKSHOP_LAB_PORT"])
    assert not ui.listening(port), f"JupyterLab still listens on {port}"
    if running.said:
        standin = running.standin_port()
        assert not ui.listening(standin), f"the stand-in still listens on {standin}"
    assert not (Path(lab_env["WORKSHOP_HOME"]) / "standin.json").exists()
    # JupyterLab saved outputs into its copy only; make's setup installed nothing new.
    assert _repository_state() == before, "make lab changed the repository's files"


def _check_plots(page: Any, panel: Any, saved: Any, stem: str) -> dict[int, list[Any]]:
    """Each cell whose saved outputs hold PNGs draws that many, of a plot's size, on the page.

    Returns the images found, by cell; screenshots the last such cell.
    """
    drawn: dict[int, list[Any]] = {}
    plotted = [i for i, c in enumerate(saved.cells) if c.cell_type == "code" and ui.pngs(c)]
    for i in plotted:
        images = ui.show(page, ui.cell(panel, i), f"{stem}-plot.png")
        big = [im for im in images if im["png"] and im["width"] > 100 and im["height"] > 100]
        assert len(big) == ui.pngs(saved.cells[i]), (stem, i, images)
        drawn[i] = images
    return drawn


def _run_notebook(page: Any, served: Path, path: str) -> tuple[Any, dict[str, Any], Any, float]:
    """Open, run, save: the panel, the last look at its cells, the saved notebook, seconds."""
    started = time.monotonic()
    panel = ui.open_notebook(page, path)
    ui.file_browser(page, shown=False)  # the notebook in a wider view
    look = ui.run_all(page, panel, path.replace("/", "-"))
    seconds = time.monotonic() - started
    ui.save(page, path.rsplit("/", 1)[-1])
    saved = ui.read_saved(served / path)
    assert len(look["cells"]) == len(saved.cells), path  # page cells are the notebook's
    return panel, look, saved, seconds


def _check_fine_tuning(page: Any, panel: Any, look: dict[str, Any], saved: Any) -> dict[str, Any]:
    """The lesson a learner reaches first, looked at closely; what was seen, for the summary."""
    ui.show(page, ui.cell(panel, ui.last_code_cell(look)), "05-fine-tuning-end.png", block="end")

    # Progress: an ipywidgets bar in the cell that waits for the job, at some point.
    wait_cell = ui.cell_index(saved, JOB_WAIT)
    ui.show(page, ui.cell(panel, wait_cell), "02-job-progress.png")
    assert wait_cell in set(look["seen"]), (
        f"no progress widget in cell {wait_cell} (widgets seen in {sorted(look['seen'])}); "
        f"its text: {ui.cell(panel, wait_cell).inner_text()[:500]}"
    )

    loss_cell = ui.cell(panel, ui.cell_index(saved, LOSS_PLOT))
    loss_images = ui.show(page, loss_cell, "03-loss-plot.png")
    score_cell = ui.cell(panel, ui.cell_index(saved, SCORE_PLOT))
    table_cell = ui.cell(panel, ui.cell_index(saved, SCORE_TABLE))
    # From the table's output down: the table and the score plots in one view.
    ui.show(page, table_cell.locator(".jp-OutputArea").first, "04-scores.png")
    score_images = score_cell.evaluate(ui.IMAGES_JS)
    tables = table_cell.evaluate(ui.TABLES_JS)

    # The plots, drawn as PNG images on the page and saved as such.
    for what, images, at in (("loss", loss_images, LOSS_PLOT), ("score", score_images, SCORE_PLOT)):
        drawn = [i for i in images if i["png"] and i["width"] > 100 and i["height"] > 100]
        assert drawn, f"no {what} plot on the page: {images}"
        assert ui.pngs(saved.cells[ui.cell_index(saved, at)]) == len(images), what

    # The table of scores: one row per model, a column per metric, each a score in [0, 1].
    (table,) = tables
    rows = {row["name"]: row["values"] for row in table["rows"]}
    assert set(rows) == {"base model", "fine-tuned"}, table
    assert {"rouge1", "meteor"} <= set(table["columns"]), table
    for name, values in rows.items():
        scores = [float(v) for v in values]
        assert len(scores) >= 2 and all(0 <= s <= 1 for s in scores), (name, values)
    return {"job_wait_cell": wait_cell, "loss_images": loss_images, "score_table": table}


def _remaining(lab_env: dict[str, str]) -> dict[str, list[str]]:
    """What the lab's stand-in still holds, of the kinds the workshop creates."""
    answer = subprocess.run(
        [sys.executable, "-c", REMAINING],
        cwd=paths.ROOT,
        env=lab_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_make_lab_runs_the_series_in_chromium(lab: ui.Served, lab_env: dict[str, str]) -> None:
    served = Path(lab_env[runner_lab.DIR_ENV])
    url = lab.url()
    summary: dict[str, Any] = {"progress": "ipywidgets widget", "seconds": {}, "widgets_seen": {}}
    with ui.chromium(served.parent) as page:
        page.goto(url)
        for path in ORDER:
            panel, look, saved, seconds = _run_notebook(page, served, path)
            summary["seconds"][path] = round(seconds, 1)
            summary["widgets_seen"][path] = sorted(look["seen"])
            stem = path.rsplit("/", 1)[-1].removesuffix(".ipynb")
            ui.show(page, ui.cell(panel, ui.last_code_cell(look)), f"{stem}-end.png", block="end")

            if path == CONTINUED:
                # Stopped on purpose at its preflight, with the reason, and nothing after it.
                stop = ui.cell_index(saved, PREFLIGHT)
                ui.show(page, ui.cell(panel, stop), f"{stem}-stop.png")
                ((at, name, message),) = ui.errors(saved)
                assert (at, name) == (stop, "PreflightStop"), (at, name, message)
                assert "end of its life" in message, message
                code = [i for i, c in enumerate(saved.cells) if c.cell_type == "code"]
                assert ui.not_run(saved) == [i for i in code if i > stop]
            else:
                assert ui.problems(saved) == [], path
                _check_plots(page, panel, saved, stem)
            if JOB_WAIT in "".join(c.source for c in saved.cells) and path != CONTINUED:
                wait_cell = ui.cell_index(saved, JOB_WAIT)
                assert wait_cell in look["seen"], (path, wait_cell, look["seen"])
            if path == SETUP:
                ui.show(page, ui.cell(panel, ui.last_code_cell(look)), "01-setup.png", block="end")
            if path == LESSON:
                summary["fine_tuning"] = _check_fine_tuning(page, panel, look, saved)
            if path == CLEANUP:
                assert NOTHING_LEFT_LINE in ui.printed(saved)
                summary["left_after_cleanup"] = _remaining(lab_env)
            ui.close_and_shut_down(page, path.rsplit("/", 1)[-1])

    (ui.SHOTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    assert summary["left_after_cleanup"] == NOTHING_LEFT
