"""A learner with only a clone and JupyterLab runs the series from the browser.

No ``make``: a new venv holds nothing but JupyterLab (from PyPI, its newest release), which
serves a copy of the repository's files as a fresh clone has them (no ``.venv``, no
``.workshop``). In headless Chromium the test then does what the README's "Running in
SageMaker Studio (or any JupyterLab)" says:

1. open ``00_setup.ipynb`` and Run All: its first cell installs the workshop into
   JupyterLab's own environment and, since the kernel's ipykernel had to change (fmeval caps
   it below 7), asks for a restart with ``RestartKernel``;
2. start the stand-in in that environment with ``python -m runner.lab``, from the clone;
3. reload the page (ipywidgets' frontend was only now installed), restart the kernel and
   run setup again, which builds the offline scoring data and the open model;
4. run every lesson and ``03_cleanup.ipynb`` as the ``make lab`` test does, with its checks.

It downloads what a learner's first setup downloads (PyTorch and the rest, about 2 GB with
pip's cache cold), so it is marked slow as well.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner import lab as runner_lab
from tests.browser import jupyterlab as ui
from tests.browser.series import ORDER, SETUP, run_series
from tests.helpers import NOTHING_LEFT, bare_venv
from utils import paths

pytestmark = [
    pytest.mark.slow,
    pytest.mark.same_in_every_account,  # it plays the stand-in's default account only
    pytest.mark.timeout(3600),
]

SHOTS = "bare/"
"""Screenshots go to runs/browser/bare/."""

INSTALL_TIMEOUT = 1800.0
"""Seconds for the setup's first run: pip installs everything into the bare environment."""


def _clone(target: Path) -> None:
    """The repository's files as a clone has them: what git tracks, as it is on disk."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        source = paths.ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@dataclass
class BareLab:
    """JupyterLab running from an environment that has never seen the workshop."""

    clone: Path
    python: Path
    env: dict[str, str]
    url: str


@pytest.fixture
def bare_lab(tmp_path: Path) -> Iterator[BareLab]:
    """A clone, a venv with only JupyterLab, and JupyterLab serving the clone from that venv."""
    ui.require_browser()
    if shutil.which("git") is None or not (paths.ROOT / ".git").exists():
        pytest.skip("needs the repository's git checkout to copy a clone from")
    (ui.SHOTS / SHOTS).mkdir(parents=True, exist_ok=True)
    clone = tmp_path / "clone"
    _clone(clone)
    venv = tmp_path / "venv"
    python = bare_venv(venv, "jupyterlab")
    # A learner's environment: the venv first on PATH (as in Studio's terminal), nothing of
    # this test run's workshop (its home, assets, stand-in, progress choice, Python path).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "WORKSHOP_", "JUPYTER", "VIRTUAL_ENV"))
        and k not in ("PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "NLTK_DATA")
        and not k.startswith(("HF_", "TRANSFORMERS_"))
    }
    env |= ui.jupyter_dirs(tmp_path)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    port = runner_lab.free_port(0)
    token = secrets.token_hex(16)
    command = runner_lab.lab_command(
        port, token, as_root=runner_lab.running_as_root(), folder=clone
    )
    command[0] = str(python)
    command.append("--ServerApp.open_browser=False")
    jupyter = ui.serve(command, cwd=clone, env=env, log=ui.SHOTS / SHOTS / "jupyterlab.log")
    try:
        jupyter.wait_for(r"http://127\.0\.0\.1:\d+/lab", "JupyterLab's URL")
        yield BareLab(clone, python, env, runner_lab.lab_url(port, token))
    finally:
        left = jupyter.stop(str(tmp_path))
    assert left == [], f"still running after SIGTERM to JupyterLab: {left}"
    assert not ui.listening(port), f"JupyterLab still listens on {port}"


def test_a_clone_and_jupyterlab_run_the_series(bare_lab: BareLab) -> None:
    lab = bare_lab
    missing = subprocess.run([lab.python, "-c", "import boto3"], capture_output=True)
    assert missing.returncode == 1  # bare indeed

    with ui.chromium(lab.clone.parent) as page:
        page.goto(lab.url)

        # 1. The first run installs the workshop, then asks for a restart (or, with an
        # ipykernel the pins allow, goes on until it finds no stand-in running).
        panel = ui.open_notebook(page, SETUP)
        ui.file_browser(page, shown=False)
        ui.run_all(page, panel, "bare-setup-install", timeout=INSTALL_TIMEOUT)
        ui.save(page, SETUP)
        first = ui.read_saved(lab.clone / SETUP)
        install = ui.cell_index(first, "bootstrap.ensure()")
        ui.show(page, ui.cell(panel, install), f"{SHOTS}00-install.png")
        ((at, name, message),) = ui.errors(first)
        if name == "RestartKernel":
            assert at == install, (at, message)
            assert "ipykernel" in message, message
        else:  # no restart needed: setup went on to its first call, with no stand-in yet
            assert (at, name) == (ui.cell_index(first, "clients.use_backend("), "WorkshopError")
            assert "no local stand-in is running" in message, message
        log = (lab.clone / ".workshop" / "bootstrap-pip.log").read_text()
        assert "Successfully installed" in log

        # 2. The stand-in, started in JupyterLab's environment as the README says.
        standin = ui.serve(
            [str(lab.python), "-m", "runner.lab"],
            cwd=lab.clone,
            env=lab.env,
            log=ui.SHOTS / SHOTS / "standin.log",
        )
        try:
            standin.wait_for(r"export AWS_ENDPOINT_URL=", "the stand-in's endpoint")

            # 3. Reload for the widgets' frontend, restart the kernel, and set up for real.
            page.reload()
            panel = ui.open_notebook(page, SETUP)
            ui.focus(page)
            ui.menu(page, "Kernel", "Restart Kernel…")
            ui.accept_dialog(page)
            ui.wait_for_kernel(page, SETUP)
            ui.close_and_shut_down(page, SETUP)

            # 4. The series, setup first, as a learner runs it.
            summary = run_series(
                page, lab.clone, ask=(str(lab.python), lab.clone, lab.env), shots=SHOTS
            )
        finally:
            left = standin.stop()  # its group: by path it would find JupyterLab too
        assert left == [], f"still running after SIGTERM to the stand-in: {left}"

    assets = json.loads((lab.clone / ".workshop" / "assets" / "assets.json").read_text())
    summary["assets_built"] = assets.get("sources", {})
    (ui.SHOTS / SHOTS / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    assert set(summary["seconds"]) == set(ORDER)
    assert summary["left_after_cleanup"] == NOTHING_LEFT
    assert (lab.clone / ".workshop" / "assets" / "models").is_dir()  # the open model, built
