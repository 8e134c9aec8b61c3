"""00_setup.ipynb in a kernel whose environment has never seen the workshop, through papermill.

A learner in SageMaker Studio or a plain JupyterLab opens the notebook in a kernel with only
ipykernel: its first code cell must install the workshop there, the rest of the notebook
must then run in the same kernel, and a lesson in a subfolder must import ``utils``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest

from runner.run import with_kernel_start_retries
from tests.helpers import SETUP, bare_venv, text_of
from utils import paths
from utils.state import State

# Nothing here depends on the account the stand-in plays: the new-account lane skips it.
pytestmark = [pytest.mark.slow, pytest.mark.same_in_every_account, pytest.mark.timeout(2400)]


def bare_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new venv with nothing but ipykernel, registered as the kernel ``bare``; its python."""
    python = bare_venv(tmp_path / "bare-venv", "ipykernel", timeout=600)
    prefix = tmp_path / "jupyter"
    subprocess.run(
        [python, "-m", "ipykernel", "install", "--name", "bare", "--prefix", str(prefix)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    return python


def run_setup(out: Path) -> nbformat.NotebookNode:
    with_kernel_start_retries(
        lambda: papermill.execute_notebook(
            str(paths.ROOT / SETUP),
            str(out),
            kernel_name="bare",
            cwd=str(paths.ROOT),
            progress_bar=False,
        ),
        SETUP,
    )
    return nbformat.read(out, as_version=4)


def test_setup_installs_the_workshop_into_a_bare_kernel_once(
    run_state: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = bare_kernel(tmp_path, monkeypatch)
    missing = subprocess.run([python, "-c", "import boto3"], capture_output=True, cwd=tmp_path)
    assert missing.returncode == 1  # bare indeed

    kernel = subprocess.run(
        [python, "-c", "import ipykernel; print(ipykernel.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if int(kernel.split(".")[0]) >= 7:
        # fmeval caps ipykernel below 7: the running kernel's own package must change, so the
        # cell installs everything, then asks for a restart (a new papermill run is one).
        with pytest.raises(papermill.PapermillExecutionError) as stopped:
            run_setup(tmp_path / "first.ipynb")
        assert stopped.value.ename == "RestartKernel"
        assert "Packages the workshop uses changed under this kernel: ipykernel" in str(
            stopped.value.evalue
        )
        first = nbformat.read(tmp_path / "first.ipynb", as_version=4)
        said = text_of(first)
        assert "installing again, keeping only the Jupyter server." in said
        after = run_setup(tmp_path / "after-restart.ipynb")
        assert "nothing to do." in text_of(after)
    else:
        after = run_setup(tmp_path / "first.ipynb")
        said = text_of(after)
    assert f"This kernel's environment ({python}) lacks " in said
    assert "Kept as installed (this kernel and JupyterLab use them): " in said
    assert "Installed in " in said
    assert "LOCAL STAND-IN" in text_of(after)  # then the notebook sets the workshop up
    assert run_state.get("bucket")

    # A lesson in a subfolder imports the workshop in a new kernel of that environment.
    lesson = subprocess.run(
        [python, "-c", "import utils.clients, boto3, fmeval; print(utils.clients.__file__)"],
        cwd=paths.ROOT / "fine-tuning",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lesson.returncode == 0, lesson.stderr
    assert lesson.stdout.strip() == str(paths.ROOT / "utils" / "clients.py")
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True
    )
    have = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    assert have["boto3"] == "1.44.5" and have["torch"].startswith("2.13.0")  # the pins

    again = run_setup(tmp_path / "again.ipynb")
    assert f"installed for this kernel ({python}): nothing to do." in text_of(again)
    assert "Installed in " not in text_of(again)
