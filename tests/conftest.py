"""Shared fixtures: a local stand-in for the whole session and a fresh state file per test.

Under pytest-xdist every worker is a session of its own: its own WORKSHOP_HOME, its own copy
of the offline assets and its own stand-in on a free port, so workers never share a file or
a server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import scorer
from standin import StandIn
from utils import clients
from utils.state import State


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep tests away from the learner's own .workshop folder; copy built assets if present."""
    from utils import paths

    saved = dict(os.environ)
    assets = paths.assets_dir()
    home = tmp_path_factory.mktemp("workshop-home")
    os.environ["WORKSHOP_HOME"] = str(home)
    if assets.exists():
        # A copy of the session's own: evaluate writes lock and cache files next to the assets
        # (hf_metrics, hf_modules), and parallel workers, or a learner's own run, must not meet
        # there. The computation cache is left behind; copytree keeps the folders private.
        copy = home / "assets"
        shutil.copytree(assets, copy, ignore=shutil.ignore_patterns("hf_metrics", "*.lock"))
        os.environ["WORKSHOP_ASSETS_DIR"] = str(copy)
    # One attempt only: a stand-in error should fail a test at once, not after retries.
    os.environ["AWS_MAX_ATTEMPTS"] = "1"
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(var, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def standin() -> Iterator[StandIn]:
    """A stand-in for the session, its environment applied to this process (and kernels)."""
    saved = dict(os.environ)
    server = StandIn.start(job_seconds=0.3)
    server.apply_env()
    clients.clear_cache()
    yield server
    server.stop()
    os.environ.clear()
    os.environ.update(saved)
    clients.clear_cache()


@pytest.fixture
def aws(standin: StandIn) -> Iterator[StandIn]:
    """The session stand-in, emptied before the test."""
    standin.reset()
    clients.clear_cache()
    yield standin


@pytest.fixture
def state(tmp_path: Path) -> State:
    """A state file of the test's own."""
    return State(tmp_path / "state.json")


@pytest.fixture(scope="session")
def scoring_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[scorer.Scorer]:
    """One fmeval process for every notebook kernel of the session, as the runner has."""
    process = scorer.Scorer.start(log_file=tmp_path_factory.mktemp("scorer") / "scorer.log")
    yield process
    process.stop()


@pytest.fixture
def run_state(
    aws: StandIn,
    scoring_process: scorer.Scorer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> State:
    """A state file for one series run; notebook kernels find it through WORKSHOP_STATE.

    Kernels score in the session's scoring process, as under the runner; the tests of
    scoring itself (tests/unit/test_evaluation.py, tests/unit/test_scorer.py) score in process too.
    """
    path = tmp_path / "state.json"
    monkeypatch.setenv("WORKSHOP_STATE", str(path))
    monkeypatch.setenv(scorer.ENV_VAR, scoring_process.url)
    return State(path)


BEFORE_RETIREMENTS = "2025-01-15"
"""A day when Titan Text G1, Claude 3 Haiku and Llama 3.2 were all active on Bedrock."""


@pytest.fixture
def before_retirements(aws: StandIn) -> StandIn:
    """The stand-in as an established account on :data:`BEFORE_RETIREMENTS`.

    For tests of the workshop's code paths for families Bedrock has since retired (request
    bodies, data formats, serving by provisioned throughput); ``aws`` resets it afterwards.
    """
    aws.play("established", BEFORE_RETIREMENTS)
    return aws


@pytest.fixture
def established(aws: StandIn) -> StandIn:
    """The stand-in as an established account (model units granted), whatever the default.

    For tests of serving with provisioned throughput; the suite also runs with
    ``WORKSHOP_STANDIN_ACCOUNT=new``, where every other test meets a new account.
    """
    aws.play("established", aws.bedrock.day)
    return aws


KINDS = {"unit": "unit", "standin": "standin", "contract": "contract", "notebooks": "notebook"}
"""Each folder of tests/ and the marker its tests carry: ``-m "not notebook"`` and the like."""

ASSET_BUILDS = {"built_assets", "offline_scoring"}
"""Session fixtures that build the offline assets from PyPI (about 15 s and 37 MB each time)."""


def _xdist_group(item: pytest.Item) -> str | None:
    """The worker group of a test: what it shares with others that is costly to make twice."""
    if ASSET_BUILDS & set(getattr(item, "fixturenames", ())):
        return "offline-assets"
    # A module-scoped fixture of the test's own module (trained models, a scoring process)
    # is made once per worker that runs a test of the module: keep the module together.
    module = item.nodeid.split("::", 1)[0]
    info = getattr(item, "_fixtureinfo", None)
    for fixturedefs in getattr(info, "name2fixturedefs", {}).values():
        if any(d.scope == "module" and d.baseid == module for d in fixturedefs):
            return module
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its folder's kind, so that no test can forget its marker.

    Under ``--dist loadgroup`` the tests that share a costly fixture share one worker: those
    that build the offline assets, and those of a module with a module-scoped fixture.
    """
    tests = Path(__file__).parent
    grouping = config.pluginmanager.hasplugin("xdist")
    for item in items:
        group = _xdist_group(item) if grouping else None
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
        try:
            folder = item.path.relative_to(tests).parts[0]
        except ValueError:
            continue  # a test outside tests/, e.g. given on the command line
        if folder not in KINDS:
            raise pytest.UsageError(
                f"{item.nodeid}: tests live in a folder by kind, one of "
                f"{', '.join(f'tests/{name}/' for name in KINDS)}; move it there."
            )
        item.add_marker(KINDS[folder])
