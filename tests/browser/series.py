"""The series run in JupyterLab, notebook by notebook, and what each must show a learner.

Shared by the browser tests: ``make lab`` (test_lab_browser.py) and a JupyterLab that
starts without the workshop (test_bare_lab_browser.py).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from runner.series import SERIES
from tests.browser import jupyterlab as ui
from tests.helpers import text_of

SETUP = "00_setup.ipynb"
LESSON = "fine-tuning/01_fine_tune_and_evaluate.ipynb"
CONTINUED = "continued-pretraining/01_continued_pretraining.ipynb"
CLEANUP = "03_cleanup.ipynb"
ORDER = [nb.path for nb in SERIES]

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


def check_plots(page: Any, panel: Any, saved: Any, stem: str) -> None:
    """Each cell whose saved outputs hold PNGs draws that many, of a plot's size, on the page.

    The screenshot ``<stem>-plot.png`` shows the last of them.
    """
    plotted = [i for i, c in enumerate(saved.cells) if c.cell_type == "code" and ui.pngs(c)]
    for i in plotted:
        images = ui.show(page, ui.cell(panel, i), f"{stem}-plot.png")
        big = [im for im in images if im["png"] and im["width"] > 100 and im["height"] > 100]
        assert len(big) == ui.pngs(saved.cells[i]), (stem, i, images)


def run_notebook(page: Any, served: Path, path: str) -> tuple[Any, dict[str, Any], Any, float]:
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


def check_fine_tuning(
    page: Any, panel: Any, look: dict[str, Any], saved: Any, shots: str = ""
) -> dict[str, Any]:
    """The lesson a learner reaches first, looked at closely; what was seen, for the summary."""
    ui.show(
        page, ui.cell(panel, ui.last_code_cell(look)), f"{shots}05-fine-tuning-end.png", block="end"
    )

    # Progress: an ipywidgets bar in the cell that waits for the job, at some point.
    wait_cell = ui.cell_index(saved, JOB_WAIT)
    ui.show(page, ui.cell(panel, wait_cell), f"{shots}02-job-progress.png")
    assert wait_cell in set(look["seen"]), (
        f"no progress widget in cell {wait_cell} (widgets seen in {sorted(look['seen'])}); "
        f"its text: {ui.cell(panel, wait_cell).inner_text()[:500]}"
    )

    loss_cell = ui.cell(panel, ui.cell_index(saved, LOSS_PLOT))
    loss_images = ui.show(page, loss_cell, f"{shots}03-loss-plot.png")
    score_cell = ui.cell(panel, ui.cell_index(saved, SCORE_PLOT))
    table_cell = ui.cell(panel, ui.cell_index(saved, SCORE_TABLE))
    # From the table's output down: the table and the score plots in one view.
    ui.show(page, table_cell.locator(".jp-OutputArea").first, f"{shots}04-scores.png")
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


def remaining(python: str, cwd: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """What the stand-in the lab's notebooks use still holds, of the kinds the workshop creates.

    Asked by ``python`` in ``cwd`` with ``env``, as the lab's kernels would find it.
    """
    answer = subprocess.run(
        [python, "-c", REMAINING],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout.strip().splitlines()[-1])


def run_series(
    page: Any,
    served: Path,
    *,
    ask: tuple[str, Path, dict[str, str]],
    shots: str = "",
) -> dict[str, Any]:
    """Run every notebook of the series from the page, in order, and check each; what was seen.

    ``served`` is the folder JupyterLab serves; ``ask`` the python, folder and environment
    that find the lab's stand-in, asked after cleanup; ``shots`` a prefix for screenshots.
    """
    summary: dict[str, Any] = {"seconds": {}, "widgets_seen": {}}
    for path in ORDER:
        panel, look, saved, seconds = run_notebook(page, served, path)
        summary["seconds"][path] = round(seconds, 1)
        summary["widgets_seen"][path] = sorted(look["seen"])
        stem = shots + path.rsplit("/", 1)[-1].removesuffix(".ipynb")
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
            check_plots(page, panel, saved, stem)
            if any(JOB_WAIT in c.source for c in saved.cells):
                wait_cell = ui.cell_index(saved, JOB_WAIT)
                assert wait_cell in look["seen"], (path, wait_cell, look["seen"])
        if path == LESSON:
            summary["fine_tuning"] = check_fine_tuning(page, panel, look, saved, shots)
        if path == CLEANUP:
            assert NOTHING_LEFT_LINE in text_of(saved)
            summary["left_after_cleanup"] = remaining(*ask)
        ui.close_and_shut_down(page, path.rsplit("/", 1)[-1])
    return summary
