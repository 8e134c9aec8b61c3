"""utils.bootstrap: what a kernel's environment lacks, what pip is given, and what it says."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
import pytest

from tools import notebooks
from utils import bootstrap, paths
from utils.bootstrap import InstallFailed, RestartKernel

REQUIREMENTS = """\
# direct dependencies
boto3==1.44.5
moto[server]==5.2.5  # the stand-in
torch==2.13.0
ipykernel==6.31.0
"""
LOCK = """\
# pinned
boto3==1.44.5
moto==5.2.5
torch==2.13.0
ipykernel==6.31.0
traitlets==5.14.3
six==1.17.0
"""


def repo(tmp_path: Path, requirements: str = REQUIREMENTS, lock: str = LOCK) -> Path:
    (tmp_path / "requirements.txt").write_text(requirements)
    (tmp_path / "requirements.lock").write_text(lock)
    return tmp_path


def versions(**have: str) -> Callable[[str], str | None]:
    return lambda name: have.get(name.replace("-", "_"))


def test_pins_read_names_extras_and_comments() -> None:
    assert bootstrap.pins(REQUIREMENTS) == {
        "boto3": "1.44.5",
        "moto": "5.2.5",
        "torch": "2.13.0",
        "ipykernel": "6.31.0",
    }
    assert bootstrap.pins("Jupyter_Server==2.1\n-e .\nfoo>=1\n") == {"jupyter-server": "2.1"}
    assert bootstrap.repinned(REQUIREMENTS, {"ipykernel": "7.0.1"}) == [
        "boto3==1.44.5",
        "moto[server]==5.2.5",
        "torch==2.13.0",
        "ipykernel==7.0.1",
    ]


def test_a_bare_environment_lacks_everything_but_what_runs_the_kernel(tmp_path: Path) -> None:
    plan = bootstrap.plan(
        repo(tmp_path),
        version=versions(ipykernel="7.0.1", traitlets="5.0.0", six="1.16.0"),
        loaded={"ipykernel", "traitlets"},
        home=None,
    )
    assert plan.missing == ["boto3", "moto", "torch"]
    # What the running kernel imported keeps its version; six is not in use: it is re-pinned.
    assert plan.kept == {"ipykernel": "7.0.1", "traitlets": "5.0.0"}
    assert "ipykernel==7.0.1" in plan.requirements and "moto[server]==5.2.5" in plan.requirements
    assert "traitlets==5.0.0" in plan.constraints and "six==1.17.0" in plan.constraints
    assert plan.project and plan.needed


def test_an_environment_make_built_needs_nothing(tmp_path: Path) -> None:
    root = repo(tmp_path)
    everything = versions(
        boto3="1.44.5", moto="5.2.5", torch="2.13.0+cpu", ipykernel="6.31.0", traitlets="5.14.3"
    )
    plan = bootstrap.plan(root, version=everything, loaded=set(), home=root)
    assert plan.missing == [] and not plan.project and not plan.needed
    # The same packages with the project installed from another clone: only the project.
    elsewhere = bootstrap.plan(root, version=everything, loaded=set(), home=tmp_path / "other")
    assert elsewhere.missing == [] and elsewhere.project


def test_a_wrong_version_is_missing_unless_the_kernel_uses_it(tmp_path: Path) -> None:
    plan = bootstrap.plan(
        repo(tmp_path),
        version=versions(boto3="1.40.0", moto="5.2.5", torch="2.13.0", ipykernel="6.0"),
        loaded=set(),
        home=tmp_path,
    )
    assert plan.missing == ["boto3"]  # ipykernel is part of the Jupyter stack: kept


def test_this_environment_has_what_make_installs() -> None:
    plan = bootstrap.plan()
    assert plan.missing == [] and not plan.project
    assert bootstrap.project_home() == paths.ROOT.resolve()
    assert bootstrap.same_version("2.13.0+cpu", "2.13.0")
    assert not bootstrap.same_version("2.13.1", "2.13.0") and not bootstrap.same_version(None, "1")


def test_ensure_does_nothing_where_everything_is_installed() -> None:
    said: list[str] = []

    def pip(args: Sequence[str], log: Path, say: Callable[[str], None]) -> None:
        raise AssertionError(f"pip was called: {args}")

    bootstrap.ensure(say=said.append, pip=pip)
    assert said == [
        f"The workshop's packages are installed for this kernel ({sys.executable}): nothing to do."
    ]


def test_ensure_installs_the_pinned_set_then_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo(tmp_path, REQUIREMENTS + "not-a-real-dist-xyz==1.0\n", LOCK)
    calls: list[tuple[list[str], list[str]]] = []

    def pip(args: Sequence[str], log: Path, say: Callable[[str], None]) -> None:
        files = [Path(a).read_text().splitlines() for a in args if a.endswith(".txt")]
        calls.append((list(args), [line for f in files for line in f]))
        assert log == paths.workshop_dir() / bootstrap.PIP_LOG  # not in the repository

    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(root)])
    said: list[str] = []
    plan = bootstrap.ensure(root, say=said.append, pip=pip, environ={})
    assert plan.missing == ["not-a-real-dist-xyz"]
    (first, pinned), (second, _) = calls
    assert first[:2] == ["install", "-r"] and first[3] == "-c"
    assert "not-a-real-dist-xyz==1.0" in pinned and "boto3==1.44.5" in pinned
    assert second == ["install", "--no-deps", "-e", str(root)]
    assert str(root) in sys.path  # this kernel imports the project without a restart
    assert "lacks 1 of the workshop's 5 packages (not-a-real-dist-xyz)" in said[0]
    assert said[1].startswith("Kept as installed (this kernel and JupyterLab use them): ")
    assert said[-1].startswith("Installed in ")


def test_ensure_asks_for_a_restart_when_a_package_the_workshop_uses_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo(tmp_path)
    versions_now = {"boto3": "1.40.0", "six": "1.16.0"}
    monkeypatch.setattr(bootstrap, "installed", lambda name: versions_now.get(name))
    monkeypatch.setattr(bootstrap, "loaded_distributions", lambda: {"boto3", "six"})
    attempts: list[list[str]] = []

    def pip(args: Sequence[str], log: Path, say: Callable[[str], None]) -> None:
        if "-r" not in args:
            return
        pinned = Path(args[args.index("-c") + 1]).read_text().splitlines()
        attempts.append(pinned)
        if len(attempts) == 1:  # the kernel's own versions conflict with the pins
            raise InstallFailed("pip failed (exit 1): ... ERROR: ResolutionImpossible ...")
        versions_now.update(boto3="1.44.5", six="1.17.0")

    said: list[str] = []
    with pytest.raises(RestartKernel, match=r"changed under this kernel: boto3\. Restart the"):
        bootstrap.ensure(root, say=said.append, pip=pip, environ={})
    first, second = attempts
    assert "six==1.16.0" in first and "boto3==1.40.0" in first  # kept as loaded
    assert "six==1.17.0" in second and "boto3==1.44.5" in second  # then the workshop's pins
    assert any("installing again, keeping only the Jupyter packages" in s for s in said)


def test_a_changed_package_only_the_kernel_uses_is_said_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo(tmp_path)
    versions_now = {"six": "1.16.0"}
    monkeypatch.setattr(bootstrap, "installed", lambda name: versions_now.get(name))
    monkeypatch.setattr(bootstrap, "loaded_distributions", lambda: {"six"})

    def pip(args: Sequence[str], log: Path, say: Callable[[str], None]) -> None:
        versions_now["six"] = "1.17.0"

    said: list[str] = []
    bootstrap.ensure(root, say=said.append, pip=pip, environ={})
    assert said[-1].startswith(
        "Changed under the running kernel, which keeps the versions it loaded until it "
        "restarts: six 1.16.0 -> 1.17.0."
    )


def test_a_failing_pip_says_its_last_lines_and_what_to_do(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    with pytest.raises(InstallFailed) as failed:
        bootstrap._pip(["install", "--no-index", "not-a-real-dist-xyz==1.0"], log, print)
    message = str(failed.value)
    assert "pip failed (exit 1)" in message and "not-a-real-dist-xyz" in message
    assert f"The whole output is in {log}" in message and "PIP_INDEX_URL" in message
    assert "No matching distribution found for not-a-real-dist-xyz" in log.read_text()


def lessons() -> list[Path]:
    return [p for p in notebooks.find() if p.name != "00_setup.ipynb"]


@pytest.mark.parametrize("lesson", lessons(), ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_a_lesson_opened_before_setup_says_what_to_run_first(lesson: Path) -> None:
    nb = nbformat.read(lesson, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code" and "from utils" in c.source)
    # -S: no site-packages, as in a kernel whose environment has never seen the workshop.
    ran = subprocess.run(
        [sys.executable, "-S", "-c", first.source],
        cwd=lesson.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 1
    last = ran.stderr.strip().splitlines()[-1]
    missing = "utils" if lesson.parent != paths.ROOT else "botocore"  # utils/ is in the root
    assert last == (
        f"ModuleNotFoundError: This kernel lacks the workshop ({missing!r} is not installed): "
        "run 00_setup.ipynb first, its first cell installs it."
    )


def test_setup_installs_in_its_first_code_cell() -> None:
    nb = nbformat.read(paths.ROOT / "00_setup.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "bootstrap.ensure()" in first.source
    assert "parameters" not in first.metadata.get("tags", [])
