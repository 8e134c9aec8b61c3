"""Tests of the headless runner, with tiny notebooks in a temporary series.

The notebooks run in real kernels through papermill; only the interrupt and run-folder
tests replace the execution of a notebook, to keep the file fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import pytest

from runner import run as rw
from utils import paths
from utils.evaluation import remote

FIRST = "00_first.ipynb"
SECOND = "part/01_second.ipynb"
BROKEN = "part/01_broken.ipynb"
LATER = "02_later.ipynb"
CLEANUP = "cleanup.ipynb"

RECORD = "from utils import state\n"
REAL_SCORING_PROCESS = rw._scoring_process
REAL_JOB_SLOTS = rw.aws_job_slots


def write_notebook(path: Path, parameters: str, *cells: str | tuple[str, list[str]]) -> None:
    """A notebook: a title, a cell tagged ``parameters``, then code cells (or (code, tags))."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), params]
    for cell in cells:
        source, tags = (cell, []) if isinstance(cell, str) else cell
        code = nbformat.v4.new_code_cell(source)
        if tags:
            code.metadata["tags"] = tags
        nb.cells.append(code)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the learner's state file, stand-in endpoints, AWS and the scorer out of every test.

    The tiny notebooks score nothing, so no test here starts a scoring process (one test
    checks the runner's own), and no test asks a real account for its quotas.
    """
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    for var in list(os.environ):
        if var.startswith("AWS_ENDPOINT_URL") or var in (
            "WORKSHOP_STATE",
            "WORKSHOP_NOTEBOOK",
            remote.ENV_VAR,
        ):
            monkeypatch.delenv(var)
    monkeypatch.setattr(rw, "_scoring_process", lambda run_dir: contextlib.nullcontext())
    monkeypatch.setattr(rw, "aws_job_slots", lambda region: None)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A series of tiny notebooks that the command line runs instead of the workshop's."""
    root = tmp_path / "repo"
    write_notebook(
        root / FIRST,
        'greeting = "hi"  # a string\ncount = 1  # a number\nbackend = "local"\nregion = "x"',
        RECORD + "import os\n"
        "st = state.load()\n"
        "st.record_result('answer', 42)\n"
        "st.record_result('greeting', greeting)\n"
        "st.record_result('count', count)\n"
        "st.record_result('backend', backend)\n"
        "st.record_result('region', region)\n"
        "st.record_result('cwd', os.path.basename(os.getcwd()))",
    )
    write_notebook(
        root / SECOND,
        "flag = False  # a switch",
        RECORD + "import os\n"
        "state.load().record_result('flag', flag)\n"
        "state.load().record_result('cwd', os.path.basename(os.getcwd()))",
    )
    write_notebook(
        root / BROKEN,
        "count = 1",
        "ok = True",
        ("raise ValueError('boom')", ["explode"]),
        RECORD + "state.load().record_result('unreachable', True)",
    )
    write_notebook(root / LATER, "", RECORD + "state.load().record_result('ran', True)")
    write_notebook(
        root / CLEANUP, 'backend = "local"', RECORD + "state.load().record_result('cleaned', True)"
    )
    monkeypatch.setattr(paths, "ROOT", root)
    monkeypatch.setattr(rw, "NOTEBOOKS", [FIRST, SECOND, BROKEN, LATER, CLEANUP])
    monkeypatch.setattr(rw, "CLEANUP", CLEANUP)
    monkeypatch.setattr(rw, "SETUP", FIRST)
    return root


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def by_name(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {nb["name"]: nb for nb in summary["notebooks"]}


def injected_source(executed: Path) -> str:
    """Source of the cell papermill injected, or '' when it injected none."""
    cells = nbformat.read(executed, as_version=4).cells
    tagged = [c for c in cells if "injected-parameters" in c.metadata.get("tags", [])]
    return tagged[0].source if tagged else ""


# -- selection and parameters (no kernels) -------------------------------------------------


@pytest.mark.parametrize(
    ("only", "expected"),
    [
        (None, [FIRST, SECOND, LATER, CLEANUP]),
        (["01_second"], [SECOND, CLEANUP]),
        (["part/01_second.ipynb"], [SECOND, CLEANUP]),
        (["part/01_second", "00_first.ipynb"], [FIRST, SECOND, CLEANUP]),
        (["cleanup"], [CLEANUP]),
    ],
)
def test_select_matches_paths_and_stems_in_series_order(
    only: list[str] | None, expected: list[str]
) -> None:
    series = [FIRST, SECOND, LATER, CLEANUP]
    assert rw.select(only, series=series, cleanup_notebook=CLEANUP) == expected


def test_select_without_cleanup_and_unknown_names() -> None:
    series = [FIRST, SECOND, CLEANUP]
    assert rw.select(None, series=series, cleanup_notebook=CLEANUP, cleanup=False) == [
        FIRST,
        SECOND,
    ]
    with pytest.raises(rw.RunnerError, match="Nothing to run"):
        rw.select(["cleanup"], series=series, cleanup_notebook=CLEANUP, cleanup=False)
    with pytest.raises(rw.RunnerError, match=r"'nope'.*00_first\.ipynb, part/01_second\.ipynb"):
        rw.select(["nope"], series=series, cleanup_notebook=CLEANUP)


def test_default_series_ends_with_cleanup() -> None:
    assert rw.NOTEBOOKS[-1] == rw.CLEANUP == "03_cleanup.ipynb"
    assert rw.NOTEBOOKS[0] == "00_setup.ipynb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n=3", ("n", 3)),
        ("rate=1e-5", ("rate", 1e-5)),
        ("on=True", ("on", True)),
        ("ids=[1, 2]", ("ids", [1, 2])),
        ("name=hello", ("name", "hello")),
        ("name='x y'", ("name", "x y")),
        ("expr=a=b", ("expr", "a=b")),
        ("empty=", ("empty", "")),
    ],
)
def test_parse_param(text: str, expected: tuple[str, Any]) -> None:
    assert rw.parse_param(text) == expected


def test_param_without_equals_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        rw.main(["--param", "oops"])
    assert exc.value.code == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_unknown_param_exits_2_before_running(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    code = rw.main(
        ["--backend", "aws", "--only", "01_second", "--param", "nope=1", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "nope" in err
    # Only the selected notebooks' parameters are listed: 01_second and cleanup.
    assert "Declared parameters: flag" in err
    assert not out.exists()


def test_runner_parameters_are_not_params(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rw.main(["--backend", "aws", "--param", "region='eu-west-1'"]) == 2
    assert "--region" in capsys.readouterr().err


def test_unknown_only_is_a_usage_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rw.main(["--backend", "aws", "--only", "99_missing"]) == 2
    err = capsys.readouterr().err
    assert "99_missing" in err
    assert f"Valid names: {FIRST}, {SECOND}" in err


@pytest.mark.parametrize(
    ("var", "url"),
    [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("AWS_ENDPOINT_URL", "http://localhost:4566"),
        ("AWS_ENDPOINT_URL_BEDROCK", "http://[::1]:8080"),
    ],
)
def test_aws_backend_refuses_loopback_endpoint(
    root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    var: str,
    url: str,
) -> None:
    monkeypatch.setenv(var, url)
    out = tmp_path / "runs"
    assert rw.main(["--backend", "aws", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert var in err
    assert "loopback" in err
    assert not out.exists()


def test_aws_backend_accepts_a_real_endpoint() -> None:
    rw.check_aws_environment({"AWS_ENDPOINT_URL": "https://bedrock.us-east-1.amazonaws.com"})


# -- real kernels -------------------------------------------------------------------------


def test_cli_run_injects_parameters_and_writes_summary(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    argv = ["--backend", "aws", "--region", "eu-west-1", "--out", str(out)]
    argv += ["--only", FIRST, "01_second"]
    argv += ["--param", "greeting=hello", "--param", "count=3", "--param", "flag=True"]
    code = rw.main(argv)
    stdout = capsys.readouterr().out
    assert code == 0

    # Layout: <out>/<timestamp>/ mirrors the sources; latest is a relative link to it.
    latest = out / "latest"
    assert latest.is_symlink()
    target = os.readlink(latest)
    assert "/" not in target
    run_dir = out / target
    assert (run_dir / FIRST).is_file()
    assert (run_dir / SECOND).is_file()
    assert (run_dir / CLEANUP).is_file()
    assert not (run_dir / LATER).exists()

    summary = read_summary(run_dir)
    assert summary["run"] == target
    assert (summary["backend"], summary["region"], summary["ok"]) == ("aws", "eu-west-1", True)
    assert summary["seconds"] > 0
    assert [nb["name"] for nb in summary["notebooks"]] == [FIRST, SECOND, CLEANUP]
    first, second, cleanup = summary["notebooks"]
    assert first["status"] == second["status"] == cleanup["status"] == "ok"
    assert first["output"] == FIRST
    assert second["output"] == SECOND
    assert first["error"] is None
    assert first["results"] == {
        "answer": 42,
        "greeting": "hello",
        "count": 3,
        "backend": "aws",
        "region": "eu-west-1",
        "cwd": "repo",
    }
    # Each notebook runs in its own folder and gets only the parameters it declares.
    assert second["results"] == {"flag": True, "cwd": "part"}
    assert cleanup["results"] == {"cleaned": True}
    assert "greeting" not in injected_source(run_dir / CLEANUP)
    assert "flag" not in injected_source(run_dir / FIRST)
    assert 'backend = "aws"' in injected_source(run_dir / CLEANUP)

    # The aws backend keeps the learner's state file so cleanup can be rerun by hand.
    assert (tmp_path / "home" / "state.json").is_file()
    assert "WORKSHOP_STATE" not in os.environ
    assert f"Summary: {run_dir / 'summary.json'}" in stdout
    assert "01_second.ipynb" in stdout


def test_failing_cell_skips_the_rest_but_runs_cleanup(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    code = rw.main(["--backend", "aws", "--out", str(out), "--only", "01_broken", "02_later"])
    stdout = capsys.readouterr().out
    assert code == 1

    run_dir = out / "latest"
    summary = read_summary(run_dir)
    assert summary["ok"] is False
    notebooks = by_name(summary)
    assert list(notebooks) == [BROKEN, LATER, CLEANUP]

    broken = notebooks[BROKEN]
    assert broken["status"] == "failed"
    # The index is the cell's position in the source notebook (title, parameters, ok, raise).
    assert broken["error"]["cell_index"] == 3
    assert broken["error"]["ename"] == "ValueError"
    assert broken["error"]["evalue"] == "boom"
    assert broken["error"]["tags"] == ["explode"]
    assert broken["output"] == BROKEN
    assert (run_dir / BROKEN).is_file()

    assert notebooks[LATER]["status"] == "skipped"
    assert notebooks[LATER]["output"] is None
    assert not (run_dir / LATER).exists()

    assert notebooks[CLEANUP]["status"] == "ok"
    assert notebooks[CLEANUP]["results"] == {"cleaned": True}
    assert (run_dir / CLEANUP).is_file()

    assert "failed" in stdout
    assert "cell 3" in stdout
    assert "ValueError: boom" in stdout


@pytest.mark.parametrize(
    ("cell", "ename"),
    [
        ("import time\ntime.sleep(60)", "CellTimeoutError"),
        ("import os\nos._exit(1)", "DeadKernelError"),
    ],
    ids=["timeout", "dead-kernel"],
)
def test_timeout_and_dead_kernel_are_failures(tmp_path: Path, cell: str, ename: str) -> None:
    root = tmp_path / "repo"
    write_notebook(root / "stuck.ipynb", "", "x = 1", cell)
    summary = rw.run(
        root=root,
        series=["stuck.ipynb"],
        cleanup_notebook=None,
        backend="aws",
        out=tmp_path / "runs",
        cell_timeout=2,
    )
    assert not summary.ok
    assert summary.exit_code == 1
    error = summary.notebook("stuck.ipynb").error
    assert error is not None
    assert error["ename"] == ename
    assert error["cell_index"] == 3


def _failing_starts(monkeypatch: pytest.MonkeyPatch, failures: int, message: str) -> list[str]:
    """papermill's first ``failures`` runs raise ``message``, as a dying kernel does."""
    real = rw.papermill.execute_notebook
    calls: list[str] = []

    def execute(source: str, output: str, **kw: Any) -> Any:
        calls.append(source)
        if len(calls) <= failures:
            raise RuntimeError(message)
        return real(source, output, **kw)

    monkeypatch.setattr(rw.papermill, "execute_notebook", execute)
    return calls


def test_a_kernel_that_dies_before_answering_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "repo"
    write_notebook(root / "one.ipynb", "", RECORD + "state.load().record_result('ran', 1)")
    calls = _failing_starts(monkeypatch, 2, "Kernel died before replying to kernel_info")
    summary = rw.run(
        root=root, series=["one.ipynb"], cleanup_notebook=None, backend="aws", out=tmp_path / "r"
    )
    assert summary.ok, summary.table()
    assert len(calls) == 3  # two starts lost, the third ran the notebook
    assert summary.notebook("one.ipynb").results == {"ran": 1}
    assert "starting a new one (attempt 3 of 3)" in caplog.text


@pytest.mark.parametrize(
    ("failures", "message", "calls"),
    [
        (5, "Kernel died before replying to kernel_info", rw.KERNEL_START_ATTEMPTS),
        (1, "Kernel didn't respond in 60 seconds", 1),  # not the start race: no new start
    ],
    ids=["gives-up", "other-error"],
)
def test_kernel_starts_are_retried_only_for_the_start_race_and_only_so_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: int, message: str, calls: int
) -> None:
    root = tmp_path / "repo"
    write_notebook(root / "one.ipynb", "", "x = 1")
    made = _failing_starts(monkeypatch, failures, message)
    summary = rw.run(
        root=root, series=["one.ipynb"], cleanup_notebook=None, backend="aws", out=tmp_path / "r"
    )
    assert not summary.ok
    assert len(made) == calls
    error = summary.notebook("one.ipynb").error
    assert error is not None
    assert (error["ename"], error["evalue"]) == ("RuntimeError", message)


class FakeStandIn:
    """Records how the runner uses the stand-in; points at a port nobody listens on."""

    instances: ClassVar[list[FakeStandIn]] = []

    def __init__(self, job_seconds: float | None, region: str) -> None:
        self.job_seconds = job_seconds
        self.region = region
        self.stopped = False
        self.env = {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": region,
        }
        FakeStandIn.instances.append(self)

    def apply_env(self, environ: Any) -> None:
        environ.update(self.env)

    def stop(self) -> None:
        self.stopped = True


ENV_PROBE = (
    RECORD + "import os\n"
    "st = state.load()\n"
    "st.record_result('endpoint', os.environ.get('AWS_ENDPOINT_URL'))\n"
    "st.record_result('state', os.environ.get('WORKSHOP_STATE'))\n"
    "st.record_result('notebook', os.environ.get('WORKSHOP_NOTEBOOK'))\n"
    "st.record_result('backend', backend)"
)


def test_local_backend_exports_the_standin_and_restores_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeStandIn.instances.clear()
    monkeypatch.setattr(rw, "_start_standin", FakeStandIn)
    root = tmp_path / "repo"
    write_notebook(root / "probe.ipynb", 'backend = "aws"', ENV_PROBE)
    before = dict(os.environ)

    summary = rw.run(
        root=root,
        series=["probe.ipynb"],
        cleanup_notebook=None,
        region="eu-central-1",
        out=tmp_path / "runs",
        job_seconds=7,
    )

    assert summary.ok, summary.table()
    [standin] = FakeStandIn.instances
    assert (standin.job_seconds, standin.region, standin.stopped) == (7, "eu-central-1", True)
    assert summary.notebook("probe.ipynb").results == {
        "endpoint": "http://127.0.0.1:9",
        # A fresh state file inside the run folder: every local run starts clean.
        "state": str(summary.run_dir / "state.json"),
        "notebook": "probe.ipynb",
        "backend": "local",
    }
    assert dict(os.environ) == before


def test_local_backend_with_the_real_standin(tmp_path: Path) -> None:
    from standin import StandIn

    try:
        StandIn.start().stop()
    except Exception as exc:  # the stand-in is optional for the rest of this file
        pytest.skip(f"local stand-in unavailable: {exc}")
    root = tmp_path / "repo"
    write_notebook(root / "probe.ipynb", 'backend = "aws"', ENV_PROBE)

    summary = rw.run(root=root, series=["probe.ipynb"], cleanup_notebook=None, out=tmp_path / "o")

    assert summary.ok, summary.table()
    endpoint = summary.notebook("probe.ipynb").results["endpoint"]
    assert endpoint.startswith("https://127.0.0.1:")
    assert "AWS_ENDPOINT_URL" not in os.environ
    # Stopped: the connection is refused (checked without the certificate, which is gone too).
    unverified = ssl._create_unverified_context()
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(endpoint + "/_workshop/health", timeout=2, context=unverified)
    assert isinstance(caught.value.reason, ConnectionRefusedError)


# -- orchestration with a stand-in for papermill -------------------------------------------


@pytest.fixture
def fake_execute(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace notebook execution: copy the source, interrupt on ``01_second``."""
    calls: list[str] = []

    def execute(
        source: Path, output: Path, parameters: dict[str, Any], *, env: Any, **_: Any
    ) -> None:
        calls.append(env["WORKSHOP_NOTEBOOK"])
        output.write_bytes(source.read_bytes())
        if source.name == "01_second.ipynb":
            raise KeyboardInterrupt

    monkeypatch.setattr(rw, "_execute", execute)
    return calls


def test_interrupt_still_runs_cleanup_and_exits_130(
    root: Path, tmp_path: Path, fake_execute: list[str]
) -> None:
    out = tmp_path / "runs"
    assert rw.main(["--backend", "aws", "--out", str(out)]) == 130
    assert fake_execute == [FIRST, SECOND, CLEANUP]
    summary = read_summary(out / "latest")
    assert summary["interrupted"] is True
    assert summary["ok"] is False
    statuses = {nb["name"]: nb["status"] for nb in summary["notebooks"]}
    assert statuses == {
        FIRST: "ok",
        SECOND: "failed",
        BROKEN: "skipped",
        LATER: "skipped",
        CLEANUP: "ok",
    }
    assert by_name(summary)[SECOND]["error"]["ename"] == "KeyboardInterrupt"


def test_no_cleanup_and_latest_moves_to_the_newest_run(
    root: Path, tmp_path: Path, fake_execute: list[str]
) -> None:
    out = tmp_path / "runs"
    first = rw.run(
        [FIRST],
        root=root,
        series=rw.NOTEBOOKS,
        cleanup_notebook=CLEANUP,
        backend="aws",
        out=out,
        cleanup=False,
    )
    second = rw.run(
        [LATER],
        root=root,
        series=rw.NOTEBOOKS,
        cleanup_notebook=CLEANUP,
        backend="aws",
        out=out,
        cleanup=False,
    )
    assert fake_execute == [FIRST, LATER]
    # Two runs within one second still get separate folders.
    assert first.run_dir != second.run_dir
    assert first.run_dir.is_dir() and second.run_dir.is_dir()
    assert os.readlink(out / "latest") == second.run
    assert (out / "latest" / LATER).is_file()
    assert [p.name for p in out.iterdir() if p.name.startswith(".latest")] == []


def test_a_preflight_stop_is_recorded_and_the_series_goes_on(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stopping = "part/01_stops.ipynb"
    write_notebook(
        root / stopping,
        "count = 1",
        "from utils.preflight import PreflightStop\n"
        "raise PreflightStop('The model reached end of life.', 'Use another one.')",
        RECORD + "state.load().record_result('unreachable', True)",
    )
    monkeypatch.setattr(rw, "NOTEBOOKS", [FIRST, stopping, LATER, CLEANUP])
    out = tmp_path / "runs"
    assert rw.main(["--backend", "aws", "--out", str(out)]) == 0
    summary = read_summary(out / "latest")
    assert summary["ok"] is True
    notebooks = by_name(summary)
    assert [n["status"] for n in notebooks.values()] == ["ok", "stopped", "ok", "ok"]
    stop = notebooks[stopping]
    assert stop["error"]["ename"] == "PreflightStop"
    assert "reached end of life" in stop["error"]["evalue"]
    assert "unreachable" not in stop["results"]
    assert notebooks[LATER]["results"] == {"ran": True}
    assert "stopped" in capsys.readouterr().out


# -- lessons side by side ------------------------------------------------------------------

TIMED = (
    RECORD + "import os, pathlib, time\n"
    "start = time.monotonic()\n"
    "name = os.environ.get('WORKSHOP_NOTEBOOK')\n"
    "meet = pathlib.Path(os.environ['MEETING'])\n"
    "met = None\n"
    "if name in os.environ['LESSONS'].split(','):\n"
    "    # Each lesson waits for the other: only lessons that run side by side meet.\n"
    "    (meet / pathlib.Path(name).stem).touch()\n"
    "    deadline = time.monotonic() + 60\n"
    "    while len(list(meet.iterdir())) < 2 and time.monotonic() < deadline:\n"
    "        time.sleep(0.05)\n"
    "    met = len(list(meet.iterdir())) == 2\n"
    "st = state.load()\n"
    "st.record_result('window', [start, time.monotonic()])\n"
    "st.record_result('met', met)\n"
    "st.record_result('notebook', name)\n"
    "st.record_result('cwd', os.path.basename(os.getcwd()))"
)


def test_lessons_run_side_by_side_between_setup_and_cleanup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    series = ["00_setup.ipynb", "a/01_one.ipynb", "b/02_two.ipynb", "cleanup.ipynb"]
    for name in series:
        write_notebook(root / name, "", TIMED)
    cwd = os.getcwd()
    (tmp_path / "meet").mkdir()
    monkeypatch.setenv("MEETING", str(tmp_path / "meet"))
    monkeypatch.setenv("LESSONS", ",".join(series[1:3]))

    summary = rw.run(
        root=root,
        series=series,
        setup_notebook="00_setup.ipynb",
        cleanup_notebook="cleanup.ipynb",
        backend="aws",
        out=tmp_path / "runs",
        jobs=2,
    )

    assert summary.ok, summary.table()
    results = {nb.name: nb.results for nb in summary.notebooks}
    setup, one, two, cleanup = (results[name]["window"] for name in series)
    assert setup[1] <= min(one[0], two[0])  # setup finished before any lesson began
    # Each lesson waited for the other, so they ran side by side, however slow the machine.
    assert [results[n]["met"] for n in series] == [None, True, True, None]
    assert cleanup[0] >= max(one[1], two[1])  # cleanup began after both ended
    # Each kernel had its own notebook name and folder, and this process kept its own.
    assert {n: r["notebook"] for n, r in results.items()} == {n: n for n in series}
    assert [results[n]["cwd"] for n in series] == ["repo", "a", "b", "repo"]
    assert os.getcwd() == cwd
    assert "WORKSHOP_NOTEBOOK" not in os.environ


def test_after_a_failure_no_new_lesson_starts_but_cleanup_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def execute(
        source: Path, output: Path, parameters: dict[str, Any], *, env: Any, **_: Any
    ) -> None:
        started.append(env["WORKSHOP_NOTEBOOK"])
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(source.read_bytes())
        if source.stem == "fails":
            raise RuntimeError("kernel died")
        if source.stem == "slow":
            time.sleep(0.5)

    monkeypatch.setattr(rw, "_execute", execute)
    root = tmp_path / "repo"
    series = ["setup.ipynb", "fails.ipynb", "slow.ipynb", "later.ipynb", "last.ipynb", "end.ipynb"]
    for name in series:
        write_notebook(root / name, "")

    summary = rw.run(
        root=root,
        series=series,
        setup_notebook="setup.ipynb",
        cleanup_notebook="end.ipynb",
        backend="aws",
        out=tmp_path / "runs",
        jobs=2,
    )

    statuses = {nb.name: nb.status for nb in summary.notebooks}
    assert statuses == {
        "setup.ipynb": "ok",
        "fails.ipynb": "failed",
        "slow.ipynb": "ok",  # already running: it finishes
        "later.ipynb": "skipped",
        "last.ipynb": "skipped",
        "end.ipynb": "ok",
    }
    # fails and slow start side by side (jobs=2): either thread may reach execute first.
    assert started[0] == "setup.ipynb"
    assert sorted(started[1:3]) == ["fails.ipynb", "slow.ipynb"]
    assert started[3:] == ["end.ipynb"]
    assert summary.exit_code == rw.EXIT_FAILED


def test_an_interrupt_in_a_parallel_run_still_runs_cleanup(
    root: Path, tmp_path: Path, fake_execute: list[str]
) -> None:
    out = tmp_path / "runs"
    assert rw.main(["--backend", "aws", "--out", str(out), "--jobs", "3"]) == 130
    summary = read_summary(out / "latest")
    statuses = {nb["name"]: nb["status"] for nb in summary["notebooks"]}
    assert statuses[SECOND] == "failed"
    assert statuses[CLEANUP] == "ok"
    assert fake_execute[0] == FIRST and fake_execute[-1] == CLEANUP
    assert summary["interrupted"] is True


def test_default_jobs_follow_the_cores_locally_and_the_job_quota_on_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rw, "cores", lambda: 2)
    assert rw.default_jobs("local", "us-east-1") == 2
    monkeypatch.setattr(rw, "aws_job_slots", lambda region: 4)
    assert rw.default_jobs("aws", "us-east-1") == 4
    monkeypatch.setattr(rw, "aws_job_slots", lambda region: None)
    assert rw.default_jobs("aws", "us-east-1") == 1


def test_the_job_quota_is_read_from_service_quotas(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env: dict[str, str] = {}
    aws.apply_env(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(rw, "aws_job_slots", REAL_JOB_SLOTS)
    # The stand-in's Service Quotas lists Bedrock's default: 10 scheduled jobs.
    assert rw.default_jobs("aws", "us-east-1") == 10


def test_an_unreadable_quota_means_one_lesson_at_a_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(rw, "aws_job_slots", REAL_JOB_SLOTS)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert rw.default_jobs("aws", "us-east-1") == 1
    assert "Could not read the Bedrock customization job quota" in caplog.text


def test_jobs_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(rw.RunnerError, match="at least 1"):
        rw.run(root=tmp_path, series=["x.ipynb"], cleanup_notebook=None, jobs=0)


def test_the_run_shares_one_scoring_process_with_its_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rw, "_scoring_process", REAL_SCORING_PROCESS)
    root = tmp_path / "repo"
    probe = (
        RECORD + "import os\n"
        f"state.load().record_result('scorer', os.environ.get({remote.ENV_VAR!r}))"
    )
    write_notebook(root / "probe.ipynb", "", probe)

    summary = rw.run(
        root=root, series=["probe.ipynb"], cleanup_notebook=None, backend="aws", out=tmp_path
    )

    url = summary.notebook("probe.ipynb").results["scorer"]
    assert url.startswith("http://127.0.0.1:")
    assert (summary.run_dir / "scorer.log").is_file()
    assert remote.ENV_VAR not in os.environ
    with pytest.raises(remote.ScorerUnavailable):  # stopped with the run
        remote.score_remotely(url, [("a", "a")], ["rouge1"])


def test_the_run_table_prints_the_held_out_accuracy_a_lesson_recorded(tmp_path: Path) -> None:
    accuracy = {
        "base model": {"accuracy %": 12.5, "95% low": 2.5, "95% high": 25.0, "n": 40},
        "tuned": {"accuracy %": 97.5, "95% low": 92.5, "95% high": 100.0, "n": 40},
    }
    ran = rw.NotebookRun(name="fine-tuning/x.ipynb", status="ok", results={"accuracy": accuracy})
    bare = rw.NotebookRun(name="00_setup.ipynb", status="ok", results={"records": 3})
    summary = rw.RunSummary(
        run="r",
        backend="local",
        region="us-east-1",
        ok=True,
        seconds=1.0,
        notebooks=[bare, ran],
        run_dir=tmp_path,
    )
    lines = summary.table().splitlines()
    assert lines[3] == (
        "  held-out accuracy on 40 prompts (95% interval): base model 12.5% [2.5-25.0], "
        "tuned 97.5% [92.5-100.0]"
    )
    assert len(lines) == 5  # header, two notebooks, one accuracy line, the verdict
    assert rw.headlines({"accuracy": {"m": {"accuracy %": "?"}}}) == [
        "held-out accuracy (95% interval): m ?"
    ]
