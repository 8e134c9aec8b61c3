"""Figures for the series: wall time of `make workshop` and the stand-in's answer time.

Run after set-up (``make setup``): ``.venv/bin/python benchmarks/workshop_time.py``.
Goals: every notebook of the series (all customization paths, cleanup included) under
3 minutes of wall time on 2 cores, and ``get_model_customization_job`` answered in under
5 ms median. It also prints which customization types ended with a Completed job.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERIES_GOAL_SECONDS = 180.0


def workshop_seconds(out: Path) -> tuple[float, dict]:
    """Wall time of ``make workshop`` (set-up already done) and its summary."""
    start = time.perf_counter()
    subprocess.run(
        ["make", "--no-print-directory", "workshop", f"ARGS=--out {out}"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads((out / "latest" / "summary.json").read_text())


def completed_types(summary: dict) -> dict[str, int]:
    """How many Completed jobs of each customization type the run's notebooks recorded."""
    counts: dict[str, int] = {}
    for nb in summary["notebooks"]:
        for key, value in (nb.get("results") or {}).items():
            if key.startswith("job:") and value.get("status") == "Completed":
                counts[value["type"]] = counts.get(value["type"], 0) + 1
    return counts


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


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500, help="lookups to time")
    parser.add_argument("--skip-workshop", action="store_true", help="only time the stand-in")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_MAX_ATTEMPTS", "1")

    times = job_lookup_ms(args.calls)
    median = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"get_model_customization_job: median {median:.2f} ms, p95 {p95:.2f} ms over "
        f"{len(times)} calls (goal < 5 ms median: {median / 5:.2f}x of the goal)"
    )

    if not args.skip_workshop:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, summary = workshop_seconds(Path(tmp))
        print(
            f"make workshop: {seconds:.1f} s wall for {len(summary['notebooks'])} notebooks "
            f"(goal < {SERIES_GOAL_SECONDS:.0f} s: {seconds / SERIES_GOAL_SECONDS:.2f}x of goal)"
        )
        for nb in summary["notebooks"]:
            print(f"  {nb['name']:<58} {nb['status']:<7} {nb['seconds']:>6.1f} s")
        print(f"Completed jobs by customization type: {completed_types(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
