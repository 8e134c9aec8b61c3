"""Where the series' time goes: per notebook, kernel, imports, waiting and compute.

Run after set-up (``make setup``)::

    .venv/bin/python benchmarks/workshop_time.py            # a fresh run, default --jobs
    .venv/bin/python benchmarks/workshop_time.py --jobs 1   # the lessons one after another
    .venv/bin/python benchmarks/workshop_time.py --run runs/latest   # analyse a past run

For each executed notebook it splits the wall time papermill recorded into:

- ``kernel``: before the first cell and after the last (kernel start and shutdown);
- ``imports``: the notebook's own import statements, timed again in a fresh interpreter
  (less the start-up of an empty one), since they run inside cells;
- ``waiting``: cells labelled ``waiting-for-*`` or ``creating-*`` (jobs, endpoints, logs),
  next to the stand-in's simulated time for them;
- ``compute``: the rest of the cells.

The floor of a notebook is its time with waits cut to the simulated time; the floor of
the series is setup, then the lessons spread over ``--jobs`` workers (longest first),
then cleanup. Goal: the series under 60 s after set-up on 2 cores. It also prints the
stand-in's answer time for ``get_model_customization_job`` (goal under 5 ms median).
"""

from __future__ import annotations

import argparse
import ast
import heapq
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERIES_GOAL_SECONDS = 60.0
WAIT_LABELS = ("waiting-for-", "creating-")
SETUP, CLEANUP = "00_setup.ipynb", "03_cleanup.ipynb"


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _ran(cell: dict[str, Any]) -> bool:
    return bool(cell.get("metadata", {}).get("papermill", {}).get("duration"))


def _label(source: str) -> str:
    first = source.splitlines()[0] if source else ""
    return first.split("papermill_description=", 1)[1] if "papermill_description=" in first else ""


def import_lines(cells: list[dict[str, Any]]) -> list[str]:
    """The import statements of the code cells, in order, as source lines."""
    lines: list[str] = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                lines.append(ast.unparse(node))
    return lines


def import_seconds(lines: list[str], cwd: Path) -> float:
    """Seconds ``lines`` take to import in a fresh interpreter, less an empty one's start."""

    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True)
        return time.perf_counter() - start

    empty = min(timed("pass") for _ in range(3))
    return max(0.0, timed("\n".join(lines) or "pass") - empty)


def breakdown(run_dir: Path, job_seconds: float, endpoint_seconds: float) -> list[dict[str, Any]]:
    """One row per executed notebook of ``run_dir``."""
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = []
    for entry in summary["notebooks"]:
        if not entry.get("output"):
            continue
        path = run_dir / entry["output"]
        nb = json.loads(path.read_text())
        meta = nb["metadata"]["papermill"]
        timed = [c for c in nb["cells"] if _ran(c)]
        cells = sum(c["metadata"]["papermill"]["duration"] for c in timed)
        total = float(meta["duration"])
        waiting = simulated = 0.0
        for cell in timed:
            label = _label("".join(cell["source"]))
            if label.startswith(WAIT_LABELS):
                waiting += cell["metadata"]["papermill"]["duration"]
                simulated += job_seconds if label.startswith("waiting-for-") else endpoint_seconds
        imports = import_seconds(import_lines(nb["cells"]), ROOT / Path(entry["name"]).parent)
        compute = max(0.0, cells - waiting - imports)
        kernel = max(0.0, total - cells)
        rows.append(
            {
                "name": entry["name"],
                "status": entry["status"],
                "total": total,
                "kernel": kernel,
                "imports": imports,
                "waiting": waiting,
                "simulated": simulated,
                "compute": compute,
                "floor": kernel + imports + min(waiting, simulated) + compute,
                "began": _when(meta["start_time"]),
                "ended": _when(meta["end_time"]),
            }
        )
    return rows


def makespan(seconds: list[float], workers: int) -> float:
    """Time to run jobs of these lengths on ``workers``, longest first."""
    loads = [0.0] * max(1, workers)
    for length in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + length)
    return max(loads)


def series_floor(rows: list[dict[str, Any]], workers: int, key: str) -> float:
    """Setup, then the lessons on ``workers``, then cleanup, using each row's ``key``."""
    ends = [r[key] for r in rows if r["name"] in (SETUP, CLEANUP)]
    lessons = [r[key] for r in rows if r["name"] not in (SETUP, CLEANUP)]
    return sum(ends) + makespan(lessons, workers)


def run_series(out: Path, jobs: int | None) -> tuple[float, Path]:
    """Wall time of one headless run (set-up done) and its run folder."""
    command = [sys.executable, "-m", "runner", "--out", str(out)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, (out / "latest").resolve()


def job_lookup_ms(calls: int) -> list[float]:
    """Client-side milliseconds of ``get_model_customization_job`` against the stand-in."""
    sys.path.insert(0, str(ROOT))
    from standin import StandIn
    from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl
    from utils import clients

    with StandIn.start(job_seconds=3600) as standin:
        standin.apply_env()
        clients.clear_cache()
        bucket = make_bucket()
        train = put_jsonl(bucket, "train.jsonl", dialogue_records(10))
        bedrock = clients.client("bedrock")
        arn = bedrock.create_model_customization_job(
            jobName="bench",
            customModelName="bench-model",
            roleArn=make_role(),
            baseModelIdentifier="amazon.nova-micro-v1:0:128k",
            trainingDataConfig={"s3Uri": train},
            outputDataConfig={"s3Uri": f"s3://{bucket}/out/"},
        )["jobArn"]
        for _ in range(20):  # warm up connections and caches
            bedrock.get_model_customization_job(jobIdentifier=arn)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            bedrock.get_model_customization_job(jobIdentifier=arn)
            times.append((time.perf_counter() - start) * 1000)
        return times


def print_table(rows: list[dict[str, Any]]) -> None:
    """The per-notebook figures, in seconds."""
    width = max(len(r["name"]) for r in rows)
    heads = ("total", "kernel", "imports", "waiting", "(sim)", "compute", "floor")
    print(f"{'notebook':<{width}}  " + " ".join(f"{h:>7}" for h in heads))
    for r in rows:
        values = [r[k] for k in ("total", "kernel", "imports", "waiting", "simulated")]
        values += [r["compute"], r["floor"]]
        print(f"{r['name']:<{width}}  " + " ".join(f"{v:>7.1f}" for v in values))
    sums = [sum(r[k] for r in rows) for k in ("total", "kernel", "imports", "waiting")]
    sums += [sum(r["simulated"] for r in rows), sum(r["compute"] for r in rows)]
    sums.append(sum(r["floor"] for r in rows))
    print(f"{'sum':<{width}}  " + " ".join(f"{v:>7.1f}" for v in sums))


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="analyse this run folder instead of running")
    parser.add_argument("--jobs", type=int, help="--jobs for the run (default: the runner's)")
    parser.add_argument("--calls", type=int, default=500, help="stand-in lookups to time")
    parser.add_argument("--job-seconds", type=float, default=3.0, help="simulated job time")
    parser.add_argument("--endpoint-seconds", type=float, default=1.0, help="simulated endpoint")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_MAX_ATTEMPTS", "1")
    sys.path.insert(0, str(ROOT))
    from runner.run import cores

    workers = args.jobs or cores()
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            wall, run_dir = None, args.run.resolve()
        else:
            wall, run_dir = run_series(Path(tmp), args.jobs)
        rows = breakdown(run_dir, args.job_seconds, args.endpoint_seconds)
    print_table(rows)
    span = max(r["ended"] for r in rows) - min(r["began"] for r in rows)
    serial = sum(r["total"] for r in rows)
    print(
        f"\nseries: {span:.1f} s from the first kernel to the last"
        + (f", {wall:.1f} s wall for the command" if wall is not None else "")
        + f"; one after another the notebooks take {serial:.1f} s "
        f"({serial / span:.2f}x the series)"
    )
    print(
        f"floor with {workers} worker(s): {series_floor(rows, workers, 'floor'):.1f} s "
        f"(this run's times on the same schedule: {series_floor(rows, workers, 'total'):.1f} s)"
    )
    print(
        f"goal < {SERIES_GOAL_SECONDS:.0f} s: {span / SERIES_GOAL_SECONDS:.2f}x of the goal "
        f"({'met' if span < SERIES_GOAL_SECONDS else 'NOT met'})"
    )
    times = job_lookup_ms(args.calls)
    median = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"get_model_customization_job: median {median:.2f} ms, p95 {p95:.2f} ms over "
        f"{len(times)} calls (goal < 5 ms median)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
