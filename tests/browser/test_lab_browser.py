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
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import lab as runner_lab
from tests.browser import jupyterlab as ui
from tests.browser.series import ORDER, run_series
from tests.helpers import NOTHING_LEFT
from utils import paths

pytestmark = [
    # It starts a stand-in of its own, but nothing it checks depends on the account played.
    pytest.mark.same_in_every_account,
    pytest.mark.timeout(3600),
]

COPIED = sorted({path.split("/", 1)[0] for path in ORDER} | {"data"})
"""What the served copy holds: the notebooks and the folders beside them."""


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


def test_make_lab_runs_the_series_in_chromium(lab: ui.Served, lab_env: dict[str, str]) -> None:
    served = Path(lab_env[runner_lab.DIR_ENV])
    url = lab.url()
    with ui.chromium(served.parent) as page:
        page.goto(url)
        summary = run_series(page, served, ask=(sys.executable, paths.ROOT, lab_env))

    summary["progress"] = "ipywidgets widget"
    (ui.SHOTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    assert summary["left_after_cleanup"] == NOTHING_LEFT
