"""Shared fixtures: a local stand-in for the whole session and a fresh state file per test.

Under pytest-xdist every worker is a session of its own: its own WORKSHOP_HOME, its own copy
of the offline assets and its own stand-in on a free port, so workers never share a file or
a server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner import scorer
from standin import StandIn
from standin.bedrock import ACCOUNT_ENV
from utils import clients
from utils.state import State


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep tests away from the learner's own .workshop folder; copy built assets if present."""
    from utils import paths

    saved = dict(os.environ)
    assets = paths.assets_dir()
    models = paths.models_dir()
    home = tmp_path_factory.mktemp("workshop-home")
    os.environ["WORKSHOP_HOME"] = str(home)
    if assets.exists():
        # A copy of the session's own: evaluate writes lock and cache files next to the assets
        # (hf_metrics, hf_modules), and parallel workers, or a learner's own run, must not meet
        # there. The computation cache is left behind; copytree keeps the folders private.
        copy = home / "assets"
        shutil.copytree(
            assets, copy, ignore=shutil.ignore_patterns("hf_metrics", "*.lock", "models")
        )
        os.environ["WORKSHOP_ASSETS_DIR"] = str(copy)
    # The open model (270 MB) is only read, never written: tests use the session's own.
    os.environ["WORKSHOP_MODELS_DIR"] = str(models)
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
    """The session stand-in, emptied before the test.

    Clients stay cached from test to test (a fresh set costs about a second per test): a
    change to the ``AWS_*`` environment gets clients of its own anyway. After a test whose
    injected faults failed calls they are dropped, since botocore's adaptive retries slow
    a client down that met throttling.
    """
    standin.reset()
    served = standin.faults_served()
    yield standin
    if standin.faults_served() != served:
        clients.clear_cache()


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


@dataclass(frozen=True)
class SetUp:
    """What ``00_setup.ipynb`` leaves behind: the state file it wrote and the account it built."""

    state_text: str
    account: dict[str, Any]


@pytest.fixture(scope="session")
def setup_once(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> SetUp:
    """``00_setup.ipynb`` executed once per session with its defaults, and what it left.

    Tests of the lessons start from it (:func:`set_up`) instead of running the notebook each
    time; the tests of setup itself still run it.
    """
    from tests.helpers import SETUP, account_snapshot, execute

    folder = tmp_path_factory.mktemp("setup-once")
    saved = os.environ.get("WORKSHOP_STATE")
    standin.reset()
    clients.clear_cache()
    os.environ["WORKSHOP_STATE"] = str(folder / "state.json")
    try:
        execute(SETUP, folder)
        made = SetUp((folder / "state.json").read_text(), account_snapshot())
    finally:
        if saved is None:
            os.environ.pop("WORKSHOP_STATE", None)
        else:
            os.environ["WORKSHOP_STATE"] = saved
        standin.reset()
    return made


@pytest.fixture
def set_up(run_state: State, setup_once: SetUp) -> State:
    """The account and state file as ``00_setup.ipynb`` with its defaults leaves them."""
    from tests.helpers import restore_account

    restore_account(setup_once.account)
    run_state.path.write_text(setup_once.state_text)
    return run_state


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


KINDS = {
    "unit": "unit",
    "standin": "standin",
    "contract": "contract",
    "notebooks": "notebook",
    "browser": "browser",
}
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


ACCOUNT_PINNED = {"established", "before_retirements"}
"""Fixtures that make the stand-in play a given account, whatever the lane asks for."""


def meets_the_account(item: pytest.Item) -> bool:
    """Whether a test's outcome can depend on the account the stand-in plays by default.

    It does when the test meets the session stand-in (the ``standin`` fixture, directly or
    through ``aws``, ``run_state``...) without pinning an account, or is marked
    ``own_standin`` (it starts one of its own, e.g. through the runner, which reads
    ``WORKSHOP_STANDIN_ACCOUNT`` as the session's does). A test marked
    ``same_in_every_account`` does not: Custom Model Import, for one, uses neither model
    units nor any model a new account lacks.
    """
    if item.get_closest_marker("own_standin"):
        return True
    if item.get_closest_marker("same_in_every_account"):
        return False
    names = set(getattr(item, "fixturenames", ()))
    return "standin" in names and not ACCOUNT_PINNED & names


def _new_account_lane(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the new-account lane, run only the tests that lane can change.

    The rest (pure functions, tests that pin an account) give the same result in both lanes
    and already ran in ``make test``.
    """
    if not os.environ.get(ACCOUNT_ENV):
        return
    kept, left = [], []
    for item in items:
        (kept if meets_the_account(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which lane this is, so a log shows why fewer tests ran."""
    account = os.environ.get(ACCOUNT_ENV)
    if not account:
        return None
    return (
        f"stand-in account: {account} (only tests that meet the stand-in's default "
        "account run; the others ran in `make test`)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its folder's kind, so that no test can forget its marker.

    Under ``--dist loadgroup`` the tests that share a costly fixture share one worker: those
    that build the offline assets, and those of a module with a module-scoped fixture. This
    runs before xdist's own hook, which reads the groups (``tryfirst``): after it, a group
    marker is ignored and every worker builds those fixtures again.
    """
    _new_account_lane(config, items)
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
