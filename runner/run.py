"""Run the workshop notebooks headless with papermill: ``python -m runner``.

For instructors and CI. With ``--backend local`` (the default) the runner starts the
local stand-in for AWS in this process and points every kernel at it, so a run needs no
account and starts from a clean state file. With ``--backend aws`` the notebooks create
real resources in a real account; the cleanup notebook runs last even when an earlier
notebook fails.

``00_setup.ipynb`` runs first and the cleanup notebook last; the lessons between them
share nothing but the state file (which is locked), so ``--jobs N`` runs up to N of them
at once. By default N is the number of cores locally and, against AWS, also at most the
account's "Scheduled customization jobs" quota, so a real-account run takes about as long
as its longest job. One scoring process (:mod:`runner.scorer`) imports fmeval once for
every kernel of the run.

Every run writes the executed notebooks and a ``summary.json`` under
``<out>/<UTC timestamp>/``; ``<out>/latest`` points at the newest run.

Examples:
    python -m runner
    python -m runner --jobs 1
    python -m runner --only 00_setup --job-seconds 5 --no-cleanup
    python -m runner --only 01_fine_tune_and_evaluate --param KEY=VALUE
    python -m runner --backend aws --region us-west-2

Exit codes: 0 all notebooks ran, 1 a notebook failed, 2 usage error (nothing ran),
130 interrupted (cleanup still ran).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import ipaddress
import json
import logging
import os
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from runner.series import SERIES
from utils import paths
from utils.errors import WorkshopError
from utils.state import State

if TYPE_CHECKING:
    from standin import StandIn

NOTEBOOKS: list[str] = [nb.path for nb in SERIES]
"""The series in the order it runs, relative to the repository root; cleanup stays last."""

CLEANUP = "03_cleanup.ipynb"
"""The notebook that removes what the others created; it runs even after a failure."""

SETUP = "00_setup.ipynb"
"""The notebook every other one needs first (bucket, role, state file); it runs alone."""

BACKENDS = ("local", "aws")
DEFAULT_REGION = "us-east-1"
KERNEL_NAME = "python3"
RUNNER_PARAMETERS = ("backend", "region")
"""Parameters the runner sets itself from ``--backend`` and ``--region``."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Papermill inserts marker cells into a failed notebook after it records the failing
# cell's index, so they are dropped before that index is looked up.
_ERROR_MARKER_TAG = "papermill-error-cell-tag"
_INJECTED_TAG = "injected-parameters"

Status = Literal["ok", "stopped", "failed", "skipped"]
STOP_ERRORS = frozenset({"PreflightStop", "NotServed"})
"""The exceptions a notebook raises to stop on purpose (utils.preflight): before anything
billable, or after training a model the account cannot serve yet."""

log = logging.getLogger("runner.run")
T = TypeVar("T")


class RunnerError(Exception):
    """A problem found before any notebook runs; :func:`main` prints it and exits.

    Args:
        message: What is wrong and what to do about it.
        exit_code: The exit status :func:`main` returns for it.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class NotebookRun:
    """The outcome of one notebook in a run.

    Attributes:
        name: Path of the notebook relative to the root, as listed in the series.
        status: ``ok``, ``stopped`` (at its preflight, on purpose, before anything billable;
            the reason is in ``error``), ``failed`` or ``skipped``.
        seconds: Wall time spent executing it.
        output: Path of the executed notebook relative to the run folder, or None if skipped.
        results: What the notebook recorded with ``State.record_result``.
        error: ``cell_index`` (in the source notebook), ``execution_count``, ``tags``,
            ``ename`` and ``evalue`` of the failure, or None.
    """

    name: str
    status: Status
    seconds: float = 0.0
    output: str | None = None
    results: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def describe_error(self) -> str:
        """One line saying where and how the notebook failed ('' when it did not)."""
        err = self.error
        if not err:
            return ""
        details = []
        if err.get("execution_count") is not None:
            details.append(f"In [{err['execution_count']}]")
        if err.get("tags"):
            details.append("tags " + ",".join(err["tags"]))
        where = "" if err.get("cell_index") is None else f"cell {err['cell_index']}"
        if details:
            where = f"{where} ({', '.join(details)})".lstrip()
        first_line = next(iter(str(err.get("evalue") or "").strip().splitlines()), "")
        message = f"{err.get('ename')}: {first_line}" if first_line else str(err.get("ename"))
        return f"{where}: {message}" if where else message


def headlines(results: Mapping[str, Any]) -> list[str]:
    """Lines for the run's table from what a notebook recorded: its held-out accuracy."""
    accuracy = results.get("accuracy")
    if not isinstance(accuracy, Mapping):
        return []
    parts = []
    for model, got in accuracy.items():
        try:
            parts.append(
                f"{model} {float(got['accuracy %']):.1f}% "
                f"[{float(got['95% low']):.1f}-{float(got['95% high']):.1f}]"
            )
        except (KeyError, TypeError, ValueError):
            parts.append(f"{model} ?")
    n = next((g.get("n") for g in accuracy.values() if isinstance(g, Mapping)), None)
    size = f" on {n} prompts" if n else ""
    return [f"held-out accuracy{size} (95% interval): " + ", ".join(parts)]


@dataclass
class RunSummary:
    """What a run did; :meth:`to_dict` is the content of ``summary.json``.

    Attributes:
        run: UTC timestamp that names the run folder.
        backend: ``local`` or ``aws``.
        region: AWS region passed to the notebooks.
        ok: True when no notebook failed and the run was not interrupted.
        seconds: Wall time of the whole run.
        notebooks: One entry per selected notebook, in execution order.
        run_dir: Folder that holds the executed notebooks and ``summary.json``.
        interrupted: True when the run was stopped with Ctrl-C.
    """

    run: str
    backend: str
    region: str
    ok: bool
    seconds: float
    notebooks: list[NotebookRun]
    run_dir: Path
    interrupted: bool = False

    @property
    def summary_path(self) -> Path:
        """Path of ``summary.json``."""
        return self.run_dir / "summary.json"

    @property
    def exit_code(self) -> int:
        """The exit status of the command line for this outcome."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if self.ok else EXIT_FAILED

    def notebook(self, name: str) -> NotebookRun:
        """The entry of one notebook, by its relative path."""
        return next(nb for nb in self.notebooks if nb.name == name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form written to ``summary.json``."""
        return {
            "run": self.run,
            "backend": self.backend,
            "region": self.region,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "seconds": self.seconds,
            "notebooks": [asdict(nb) for nb in self.notebooks],
        }

    def table(self) -> str:
        """A short plain-text table of the notebooks, their status and time."""
        width = max([len("notebook"), *(len(nb.name) for nb in self.notebooks)])
        lines = [f"{'notebook':<{width}}  {'status':<7}  {'seconds':>7}"]
        for nb in self.notebooks:
            row = f"{nb.name:<{width}}  {nb.status:<7}  {nb.seconds:>7.1f}"
            if nb.error:
                row += f"  {nb.describe_error()}"
            lines.append(row)
            lines.extend(f"  {line}" for line in headlines(nb.results))
        verdict = "ok" if self.ok else ("interrupted" if self.interrupted else "FAILED")
        lines.append(f"{'run ' + verdict:<{width}}  {'':<7}  {self.seconds:>7.1f}")
        return "\n".join(lines)


# -- selection and parameters --------------------------------------------------------------


def _aliases(name: str) -> set[str]:
    """Names a notebook answers to: its relative path, with or without suffix, and its stem."""
    path = Path(name)
    return {name, path.with_suffix("").as_posix(), path.name, path.stem}


def select(
    only: Sequence[str] | None = None,
    *,
    series: Sequence[str] | None = None,
    cleanup_notebook: str | None = CLEANUP,
    cleanup: bool = True,
) -> list[str]:
    """The notebooks to run, in series order, with the cleanup notebook last.

    Args:
        only: Names to run (relative path or stem, e.g. ``00_setup``); None runs the series.
        series: The ordered notebooks to choose from (default :data:`NOTEBOOKS`).
        cleanup_notebook: The series' cleanup notebook, if it has one.
        cleanup: Whether the cleanup notebook runs (it is added to any selection).

    Raises:
        RunnerError: A name matches no notebook, or nothing is left to run.
    """
    series = NOTEBOOKS if series is None else series
    chosen = set(series) if only is None else set()
    for name in only or ():
        matches = [nb for nb in series if name.strip() in _aliases(nb)]
        if not matches:
            valid = ", ".join(series)
            raise RunnerError(f"Unknown notebook {name!r} in --only. Valid names: {valid}")
        chosen.update(matches)
    ordered = [nb for nb in series if nb in chosen and nb != cleanup_notebook]
    if cleanup and cleanup_notebook is not None and cleanup_notebook in series:
        ordered.append(cleanup_notebook)
    if not ordered:
        raise RunnerError("Nothing to run: the selection is empty once cleanup is left out.")
    return ordered


def parse_param(text: str) -> tuple[str, Any]:
    """Split ``KEY=VALUE``; VALUE is a Python literal when it parses as one, else a string.

    Raises:
        ValueError: There is no ``=`` or the key is not an identifier.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise ValueError(f"expected KEY=VALUE with KEY a Python name, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
    return key, value


def declared_parameters(root: Path, notebooks: Sequence[str]) -> dict[str, set[str]]:
    """The names each notebook declares in its ``parameters`` cell.

    Raises:
        RunnerError: A notebook is missing or cannot be read.
    """
    declared: dict[str, set[str]] = {}
    for name in notebooks:
        path = root / name
        if not path.is_file():
            raise RunnerError(f"Notebook {name} not found under {root}.")
        try:
            declared[name] = set(papermill.inspect_notebook(str(path)))
        except Exception as exc:  # a damaged file is reported like a missing one
            raise RunnerError(f"Could not read the parameters of {name}: {exc}") from exc
    return declared


def check_parameters(params: Mapping[str, Any], declared: Mapping[str, set[str]]) -> None:
    """Refuse parameters no selected notebook declares (papermill itself only warns).

    Raises:
        RunnerError: A parameter is unknown or is one the runner sets itself.
    """
    reserved = sorted(set(params) & set(RUNNER_PARAMETERS))
    if reserved:
        raise RunnerError(
            f"Set {', '.join(reserved)} with --{' / --'.join(reserved)}, not with --param."
        )
    known = set().union(*declared.values()) - set(RUNNER_PARAMETERS)
    unknown = sorted(set(params) - known)
    if unknown:
        listed = ", ".join(sorted(known)) or "(none)"
        raise RunnerError(
            f"Unknown parameter {', '.join(unknown)}: no selected notebook declares it. "
            f"Declared parameters: {listed}"
        )


# -- environment ---------------------------------------------------------------------------


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_aws_environment(environ: Mapping[str, str]) -> None:
    """Refuse a run against AWS while the environment points boto3 at a local endpoint.

    Raises:
        RunnerError: ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) is loopback.
    """
    local = {k: v for k, v in environ.items() if k.startswith("AWS_ENDPOINT_URL") and v}
    local = {k: v for k, v in local.items() if _is_loopback(v)}
    if local:
        found = ", ".join(f"{k}={v}" for k, v in sorted(local.items()))
        raise RunnerError(
            f"--backend aws, but {found} points at a loopback address (a local stand-in), "
            "so the notebooks would not reach AWS. Unset it, or use --backend local."
        )


@contextlib.contextmanager
def _restored_environ() -> Iterator[None]:
    """Undo every change to ``os.environ`` made inside the block."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


@contextlib.contextmanager
def _scoring_process(run_dir: Path) -> Iterator[None]:
    """One fmeval process for the run's kernels, warming up while setup runs."""
    from runner import scorer

    try:
        process = scorer.Scorer.start(log_file=run_dir / "scorer.log")
    except OSError as exc:  # kernels then score in their own process, as without a runner
        log.warning("No shared scoring process (%s); each notebook imports fmeval itself.", exc)
        yield
        return
    try:
        with process.exported():
            yield
    finally:
        process.stop()


def _start_standin(job_seconds: float | None, region: str) -> StandIn:
    # Imported here so that --help and the aws backend do not load the server stack.
    from standin import StandIn

    return StandIn.start(job_seconds=job_seconds, region=region)


# -- run folder ----------------------------------------------------------------------------


def _make_run_dir(out: Path) -> tuple[str, Path]:
    """Create ``<out>/<UTC timestamp>``, adding a suffix when a run of the same second exists."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        name = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (out / name).mkdir()
        except FileExistsError:
            continue
        return name, out / name
    raise RunnerError(f"Could not create a new run folder under {out}.", EXIT_FAILED)


def _point_latest(out: Path, run_name: str) -> None:
    """Make ``<out>/latest`` a relative symlink to the run, replacing it in one step."""
    tmp = out / f".latest-{secrets.token_hex(4)}"
    try:
        tmp.symlink_to(run_name, target_is_directory=True)
        os.replace(tmp, out / "latest")
    except OSError as exc:
        # A missing 'latest' link is an inconvenience, not a reason to fail the run.
        with contextlib.suppress(OSError):
            tmp.unlink()
        log.warning("Could not update %s: %s", out / "latest", exc)


# -- executing one notebook ----------------------------------------------------------------


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _papermill_meta(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = cell.get("metadata", {}).get("papermill", {})
    return meta


def _source_index(source: Path, executed: list[Any], index: int) -> int:
    """Map a cell index of the executed notebook back to the source notebook."""
    cell_id = executed[index].get("id")
    if cell_id:
        with contextlib.suppress(OSError, ValueError, nbformat.reader.NotJSONError):
            src_cells = nbformat.read(source, as_version=4).cells
            for i, cell in enumerate(src_cells):
                if cell.get("id") == cell_id:
                    return i
    # Without cell ids, only the injected parameters cell shifts the index.
    injected = sum(1 for cell in executed[:index] if _INJECTED_TAG in _tags(cell))
    return index - injected


def _executed_cells(output: Path) -> list[Any]:
    """Cells of a saved executed notebook without papermill's error marker cells."""
    try:
        cells = nbformat.read(output, as_version=4).cells
    except (OSError, ValueError, nbformat.reader.NotJSONError):
        return []
    return [c for c in cells if _ERROR_MARKER_TAG not in _tags(c)]


def _cell_error(source: Path, output: Path, index: int | None) -> dict[str, Any]:
    """Where a failure happened: source cell index, execution count and tags, when known."""
    cells = _executed_cells(output)
    if index is None:
        # A dead kernel or a timeout leaves no error output; the failing cell is the
        # last one papermill started.
        started = [i for i, c in enumerate(cells) if _papermill_meta(c).get("start_time")]
        index = started[-1] if started else None
    if index is None or index >= len(cells):
        return {"cell_index": None, "execution_count": None, "tags": []}
    cell = cells[index]
    return {
        "cell_index": _source_index(source, cells, index),
        "execution_count": cell.get("execution_count"),
        "tags": [t for t in _tags(cell) if t != _INJECTED_TAG],
    }


def _kernel_manager(env: Mapping[str, str], cwd: Path) -> type[Any]:
    """A kernel manager class that starts kernels with ``env`` in ``cwd``.

    Papermill's own ``cwd`` changes the working directory of this whole process, and a
    kernel inherits ``os.environ``; neither works for notebooks that run side by side.
    """
    from jupyter_client.manager import AsyncKernelManager

    class NotebookKernelManager(AsyncKernelManager):
        async def _async_start_kernel(self, **kw: Any) -> None:
            kw["env"] = {**os.environ, **env}
            kw["cwd"] = str(cwd)
            await super()._async_start_kernel(**kw)

        start_kernel = _async_start_kernel

    return NotebookKernelManager


KERNEL_START_ATTEMPTS = 3
"""Starts of a kernel that dies before it answers ``kernel_info``, before giving up.

jupyter_client picks a kernel's ports by binding and releasing them, and another process can
take one before the kernel binds it (``ZMQError: Address already in use``, then
``RuntimeError: Kernel died before replying to kernel_info``). It is a known race of the
Jupyter protocol; papermill's maintainer suggests retrying with a fresh set of ports
(nteract/papermill#511, also jupyter/jupyter_client#276). A new kernel manager picks new
ports, and nothing of the notebook has run yet, so starting again is safe. Seen here in CI
with kernels, JupyterLab and Chromium starting side by side (2026-12-03)."""

_NEVER_STARTED = "Kernel died before replying to kernel_info"


def with_kernel_start_retries(execute: Callable[[], T], name: str) -> T:
    """``execute()``, run again (at most :data:`KERNEL_START_ATTEMPTS` in all) while the
    kernel dies before answering; every other failure is raised at once."""
    for attempt in range(2, KERNEL_START_ATTEMPTS + 1):
        try:
            return execute()
        except RuntimeError as exc:
            if _NEVER_STARTED not in str(exc):
                raise
            log.warning(
                "%s: its kernel died before answering (a port taken meanwhile?); "
                "starting a new one (attempt %d of %d)",
                name,
                attempt,
                KERNEL_START_ATTEMPTS,
            )
    return execute()  # the last attempt: whatever it raises is the notebook's failure


def _execute(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    env: Mapping[str, str],
    log_output: bool,
    cell_timeout: float | None,
) -> None:
    """Run one notebook with papermill in its own folder, its kernel given ``env`` too."""
    with_kernel_start_retries(
        lambda: papermill.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=log_output,
            execution_timeout=cell_timeout,
            kernel_manager_class=_kernel_manager(env, source.parent),
        ),
        source.name,
    )


def _results(state_file: Path, name: str) -> dict[str, Any]:
    try:
        return dict(State(state_file).results(name))
    except WorkshopError as exc:
        log.warning("Could not read the results of %s: %s", name, exc)
        return {}


# -- the run -------------------------------------------------------------------------------


def run(
    notebooks: Sequence[str] | None = None,
    *,
    root: Path = paths.ROOT,
    backend: str = "local",
    region: str = DEFAULT_REGION,
    params: Mapping[str, Any] | None = None,
    out: Path | None = None,
    job_seconds: float | None = None,
    cleanup: bool = True,
    log_output: bool = False,
    cell_timeout: float | None = None,
    series: Sequence[str] | None = None,
    cleanup_notebook: str | None = CLEANUP,
    setup_notebook: str | None = SETUP,
    jobs: int = 1,
    scorer: bool = True,
) -> RunSummary:
    """Execute notebooks of the series and write ``summary.json``.

    ``setup_notebook`` runs first and ``cleanup_notebook`` last; up to ``jobs`` of the
    notebooks between them run at once. After a failing notebook, no other starts (they
    are ``skipped``) except the cleanup notebook, which always runs unless ``cleanup`` is
    False. Ctrl-C also runs cleanup, then returns a summary with ``interrupted`` set.
    ``os.environ`` is restored before returning.

    Args:
        notebooks: Names to run (relative path or stem); None runs the whole series.
        root: Folder the notebook paths are relative to.
        backend: ``local`` (start the stand-in here) or ``aws`` (real account).
        region: AWS region, passed to every notebook that declares ``region``.
        params: Papermill parameters; each notebook gets the ones it declares.
        out: Folder for runs (default ``<root>/runs``).
        job_seconds: Simulated customization-job duration of the local stand-in.
        cleanup: Whether the cleanup notebook runs.
        log_output: Stream cell outputs to the log while notebooks run.
        cell_timeout: Seconds a cell may run before it counts as failed (default: no limit).
        series: The ordered notebooks to choose from (default :data:`NOTEBOOKS`).
        cleanup_notebook: The series' cleanup notebook (default :data:`CLEANUP`).
        setup_notebook: The notebook the others need first (default :data:`SETUP`).
        jobs: Notebooks that may run at once between setup and cleanup.
        scorer: Start one scoring process for every kernel (see :mod:`runner.scorer`).

    Returns:
        What ran, how it went, and where the executed notebooks are.

    Raises:
        RunnerError: Bad selection, parameters or environment, found before anything ran,
            or the local stand-in did not start.
    """
    if backend not in BACKENDS:
        raise RunnerError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    if jobs < 1:
        raise RunnerError(f"--jobs must be at least 1, not {jobs}.")
    root = Path(root).resolve()
    selected = select(
        notebooks,
        series=series,
        cleanup_notebook=cleanup_notebook,
        cleanup=cleanup,
    )
    params = dict(params or {})
    declared = declared_parameters(root, selected)
    check_parameters(params, declared)
    if backend == "aws":
        check_aws_environment(os.environ)
    settings = {**params, "backend": backend, "region": region}
    out = Path(out) if out is not None else root / "runs"

    started = time.monotonic()
    with _restored_environ(), contextlib.ExitStack() as services:
        standin = None
        if backend == "local":
            try:
                standin = _start_standin(job_seconds, region)
            except Exception as exc:
                raise RunnerError(
                    f"Could not start the local stand-in for AWS: {exc}", EXIT_FAILED
                ) from exc
        try:
            run_name, run_dir = _make_run_dir(out.resolve())
            if scorer:
                services.enter_context(_scoring_process(run_dir))
            if standin is not None:
                standin.apply_env(os.environ)
                # A state file per run: every local run starts from nothing.
                state_file = run_dir / "state.json"
            else:
                # The learner's own state file, so 03_cleanup.ipynb can still be run by hand.
                state_file = paths.state_path().resolve()
            # Set explicitly so kernels and this process agree on one file.
            os.environ["WORKSHOP_STATE"] = str(state_file)
            # Plain progress lines: a widget in a notebook no browser shows leaves only
            # "HBox(...)" in the saved notebook and nothing in the log (utils.progress).
            os.environ.setdefault("WORKSHOP_PROGRESS", "text")
            plan = _Plan(
                root=root,
                run_dir=run_dir,
                state_file=state_file,
                declared=declared,
                settings=settings,
                log_output=log_output,
                cell_timeout=cell_timeout,
            )
            entries, interrupted = _run_selected(
                selected,
                plan,
                setup_notebook=setup_notebook,
                cleanup_notebook=cleanup_notebook if cleanup else None,
                jobs=jobs,
            )
        finally:
            if standin is not None:
                standin.stop()

    summary = RunSummary(
        run=run_name,
        backend=backend,
        region=region,
        ok=not interrupted and all(nb.status in ("ok", "stopped") for nb in entries),
        seconds=round(time.monotonic() - started, 1),
        notebooks=entries,
        run_dir=run_dir,
        interrupted=interrupted,
    )
    summary.summary_path.write_text(
        json.dumps(summary.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    _point_latest(run_dir.parent, run_name)
    return summary


@dataclass(frozen=True)
class _Plan:
    """What every notebook of a run shares."""

    root: Path
    run_dir: Path
    state_file: Path
    declared: Mapping[str, set[str]]
    settings: Mapping[str, Any]
    log_output: bool
    cell_timeout: float | None


def _run_one(name: str, plan: _Plan, position: int, total: int) -> NotebookRun:
    """Execute one notebook and describe how it went; KeyboardInterrupt is recorded, not raised."""
    source = plan.root / name
    output = plan.run_dir / name
    output.parent.mkdir(parents=True, exist_ok=True)
    parameters = {k: v for k, v in plan.settings.items() if k in plan.declared[name]}
    log.info("[%d/%d] %s", position, total, name)
    t0 = time.monotonic()
    error: dict[str, Any] | None = None
    try:
        _execute(
            source,
            output,
            parameters,
            env={"WORKSHOP_NOTEBOOK": name},
            log_output=plan.log_output,
            cell_timeout=plan.cell_timeout,
        )
    except PapermillExecutionError as exc:
        error = {**_cell_error(source, output, exc.cell_index), "ename": exc.ename}
        error["evalue"] = exc.evalue
    except KeyboardInterrupt:
        error = {**_cell_error(source, output, None), "ename": "KeyboardInterrupt"}
        error["evalue"] = "interrupted by the user"
    except Exception as exc:  # a dead kernel, a timeout, a kernel that never started
        error = {**_cell_error(source, output, None), "ename": type(exc).__name__}
        error["evalue"] = str(exc)
    stopped_on_purpose = error is not None and error.get("ename") in STOP_ERRORS
    entry = NotebookRun(
        name=name,
        status="ok" if error is None else ("stopped" if stopped_on_purpose else "failed"),
        seconds=round(time.monotonic() - t0, 1),
        output=output.relative_to(plan.run_dir).as_posix() if output.exists() else None,
        results=_results(plan.state_file, name),
        error=error,
    )
    if stopped_on_purpose:
        log.warning("%s stopped at its preflight: %s", name, entry.describe_error())
    elif error is not None:
        log.error("%s failed at %s", name, entry.describe_error())
    return entry


def _stages(
    selected: Sequence[str], setup_notebook: str | None, cleanup_notebook: str | None
) -> list[list[str]]:
    """The run in stages: setup alone, then the lessons (which may overlap), then cleanup."""
    first = [nb for nb in selected if nb == setup_notebook]
    last = [nb for nb in selected if nb == cleanup_notebook]
    middle = [nb for nb in selected if nb not in first and nb not in last]
    return [stage for stage in (first, middle, last) if stage]


def _run_selected(
    selected: Sequence[str],
    plan: _Plan,
    *,
    setup_notebook: str | None,
    cleanup_notebook: str | None,
    jobs: int,
) -> tuple[list[NotebookRun], bool]:
    """Execute the notebooks; returns their outcomes (in series order) and whether Ctrl-C came.

    After a failure or Ctrl-C no notebook starts except ``cleanup_notebook``; lessons
    already running finish. With ``jobs`` above 1, up to that many lessons run at once.
    """
    done: dict[str, NotebookRun] = {}
    halted = False  # a failure or Ctrl-C: only cleanup starts after that
    interrupted = False
    started = 0

    def record(entry: NotebookRun) -> None:
        nonlocal halted, interrupted
        done[entry.name] = entry
        if entry.error and entry.error.get("ename") == "KeyboardInterrupt":
            interrupted = halted = True
        elif entry.status == "failed":
            halted = True

    for stage in _stages(selected, setup_notebook, cleanup_notebook):
        todo = [nb for nb in stage if not halted or nb == cleanup_notebook]
        if len(todo) == 1 or jobs <= 1:
            for name in todo:
                if halted and name != cleanup_notebook:
                    break
                started += 1
                record(_run_one(name, plan, started, len(selected)))
            continue
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures: set[concurrent.futures.Future[NotebookRun]] = set()
            waiting = list(todo)
            try:
                while waiting or futures:
                    while waiting and len(futures) < jobs and not halted:
                        name = waiting.pop(0)
                        started += 1
                        futures.add(pool.submit(_run_one, name, plan, started, len(selected)))
                    if not futures:
                        break
                    finished, _ = concurrent.futures.wait(
                        futures, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in finished:
                        futures.discard(future)
                        record(future.result())
            except KeyboardInterrupt:
                # The kernels got the same SIGINT; their notebooks end and are recorded.
                interrupted = halted = True
                for future in futures:
                    record(future.result())
    entries = [done.get(nb) or NotebookRun(name=nb, status="skipped") for nb in selected]
    return entries, interrupted


# -- command line --------------------------------------------------------------------------


def _param_arg(text: str) -> tuple[str, Any]:
    try:
        return parse_param(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m runner``."""
    parser = argparse.ArgumentParser(
        prog="python -m runner",
        description="Run the workshop notebooks in order with papermill and summarise the run.",
        epilog="Exit status: 0 ok, 1 a notebook failed, 2 usage error, 130 interrupted.",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local: start the offline stand-in for AWS here (default); aws: a real account",
    )
    parser.add_argument("--region", default=DEFAULT_REGION, help="AWS region (default %(default)s)")
    parser.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="run only these notebooks (relative path or stem, e.g. 00_setup); cleanup still runs",
    )
    parser.add_argument(
        "--param",
        action="append",
        type=_param_arg,
        default=[],
        metavar="KEY=VALUE",
        help="notebook parameter; VALUE is a Python literal or else a string (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="folder for runs (default <root>/runs)"
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        metavar="SECONDS",
        help="simulated duration of customization jobs on the local stand-in",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        metavar="SECONDS",
        help="seconds a cell may run before the notebook counts as failed (default: no limit)",
    )
    parser.add_argument(
        "--no-cleanup",
        dest="cleanup",
        action="store_false",
        help=f"do not run {CLEANUP} (resources stay; run it later by hand)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="lessons run at once between setup and cleanup (default: the cores here; "
        "against AWS, the 'Scheduled customization jobs' quota; 1 runs them in order)",
    )
    parser.add_argument(
        "--no-scorer",
        dest="scorer",
        action="store_false",
        help="no shared scoring process: every notebook imports fmeval itself",
    )
    parser.add_argument(
        "--log-output", action="store_true", help="stream cell outputs while notebooks run"
    )
    return parser


def cores() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def aws_job_slots(region: str) -> int | None:
    """The account's "Scheduled customization jobs" quota in ``region``, or None if unknown."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from utils.preflight import QUOTA_NAMES

    try:
        pages = boto3.client("service-quotas", region_name=region).get_paginator(
            "list_service_quotas"
        )
        for page in pages.paginate(ServiceCode="bedrock"):
            for quota in page["Quotas"]:
                if quota["QuotaName"].lower().startswith(QUOTA_NAMES["jobs"]):
                    return max(1, int(quota["Value"]))
    except (BotoCoreError, ClientError) as exc:
        log.warning("Could not read the Bedrock customization job quota: %s", exc)
    return None


def default_jobs(backend: str, region: str) -> int:
    """Lessons run at once when ``--jobs`` is not given.

    Locally the lessons are CPU work, so one per core. Against AWS they mostly wait for
    Bedrock, and Bedrock schedules at most the quota's number of customization jobs at once
    (more would queue or be refused, and the undocumented one is not worth finding out), so
    one per job slot; without the quota, one at a time.
    """
    if backend == "local":
        return cores()
    slots = aws_job_slots(region)
    if slots is None:
        log.warning("Running the lessons one at a time; --jobs N runs N at once.")
        return 1
    log.info("Scheduled customization jobs quota: %d; that many lessons run at once.", slots)
    return slots


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not args.log_output:
        # Papermill's INFO lines repeat what the runner already says.
        logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        summary = run(
            args.only,
            root=paths.ROOT,
            backend=args.backend,
            region=args.region,
            params=dict(args.param),
            out=args.out,
            job_seconds=args.job_seconds,
            cleanup=args.cleanup,
            log_output=args.log_output,
            cell_timeout=args.cell_timeout,
            series=NOTEBOOKS,
            cleanup_notebook=CLEANUP,
            setup_notebook=SETUP,
            jobs=args.jobs if args.jobs is not None else default_jobs(args.backend, args.region),
            scorer=args.scorer,
        )
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        # A second Ctrl-C, while cleanup ran after the first: stop without a traceback.
        print("Interrupted; cleanup may not have finished.", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary.table())
    print(f"Summary: {summary.summary_path}")
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
