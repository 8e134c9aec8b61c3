"""Throughput and peak memory of the dataset validator against a plain ``json.loads`` loop.

Generates a conversation file (Amazon Nova format, 100,000 records by default) in a
temporary folder, then measures, each in a fresh Python process so that one run's
memory and caches cannot affect another:

- the floor: ``for line in file: json.loads(line)``, the least any JSON Lines reader does;
- the validator: :func:`utils.validation.validate_file` on the same file (no S3 fetches).

Time is the best of ``--repeat`` runs; peak memory is the process's maximum resident set
size (``ru_maxrss``, interpreter and imports included) and, in a separate run, the peak
of Python allocations traced by ``tracemalloc`` (which slows the run, so it is not timed).
Goal: the validator within 3x of the floor's time, peak memory under 100 MB.

Usage::

    python benchmarks/validate_throughput.py [--records 100000] [--repeat 3] [--images] [--check]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = "amazon.nova-lite-v1:0"
GOAL_RATIO = 3.0
GOAL_PEAK_MB = 100.0
# fmt: off
WORDS = [
    "order", "refund", "delivery", "account", "password", "invoice", "meeting", "schedule",
    "printer", "network", "laptop", "update", "shipping", "tracking", "balance", "payment",
]
# fmt: on


def make_record(rng: random.Random, index: int, with_image: bool) -> dict[str, Any]:
    """One conversation record with one to three turns of varied length."""
    messages: list[dict[str, Any]] = []
    for turn in range(rng.randint(1, 3)):
        question = " ".join(rng.choices(WORDS, k=rng.randint(8, 60)))
        answer = " ".join(rng.choices(WORDS, k=rng.randint(5, 30)))
        content: list[dict[str, Any]] = [{"text": f"#{index}.{turn} {question}?"}]
        if with_image and turn == 0:
            uri = f"s3://workshop-bench/images/{index}.png"
            content.append({"image": {"format": "png", "source": {"s3Location": {"uri": uri}}}})
        messages.append({"role": "user", "content": content})
        messages.append({"role": "assistant", "content": [{"text": answer.capitalize() + "."}]})
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You answer customer support questions in two sentences."}],
        "messages": messages,
    }


def generate(path: Path, records: int, with_image: bool) -> int:
    """Write ``records`` records to ``path``; return the file size in bytes."""
    rng = random.Random(20_241_101)
    with path.open("w", encoding="utf-8") as fh:
        for index in range(records):
            fh.write(json.dumps(make_record(rng, index, with_image)) + "\n")
    return path.stat().st_size


# --------------------------------------------------------------------------- measured runs


def _floor(path: str) -> dict[str, Any]:
    records = 0
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
            records += 1
    return {"records": records}


def _validator(path: str) -> dict[str, Any]:
    from utils.validation import validate_file

    report = validate_file(path, model=MODEL, check_media=False)
    return {
        "records": report.records_read,
        "records_valid": report.records_valid,
        "counts_by_rule": dict(report.counts_by_rule),
    }


TARGETS = {"floor": _floor, "validator": _validator}


def measure(target: str, path: str, traced: bool) -> dict[str, Any]:
    """Run one target once in this process; return its figures."""
    if target == "validator":
        import utils.validation  # noqa: F401  # imported before timing, as a user would

    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    result = TARGETS[target](path)
    result["seconds"] = time.perf_counter() - start
    if traced:
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    # Linux reports ru_maxrss in KiB.
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_fresh(target: str, path: Path, traced: bool = False) -> dict[str, Any]:
    """Measure ``target`` in a new Python process and return what it printed."""
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", target, str(path)]
    if traced:
        command.append("--traced")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    """Generate the file, measure both targets and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="default: %(default)s")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs each; best counts")
    parser.add_argument(
        "--images", action="store_true", help="one image per record (the full check path)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--measure", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.file, args.traced)))
        return 0

    with tempfile.TemporaryDirectory(prefix="validate-bench-") as tmp:
        path = Path(tmp) / "train.jsonl"
        size = generate(path, args.records, args.images)
        print(f"File: {args.records:,} {MODEL} conversation records, {size / 2**20:.1f} MiB")
        figures: dict[str, dict[str, Any]] = {}
        for target in TARGETS:
            runs = [run_fresh(target, path) for _ in range(max(1, args.repeat))]
            best = min(runs, key=lambda r: r["seconds"])
            best["max_rss_mb"] = max(r["max_rss_mb"] for r in runs)
            best["traced_peak_mb"] = run_fresh(target, path, traced=True)["traced_peak_mb"]
            figures[target] = best

    floor, validator = figures["floor"], figures["validator"]
    if validator["records"] != floor["records"]:
        print(f"error: validator read {validator['records']} records, floor {floor['records']}")
        return 1
    print(f"{'':12}{'records/s':>12}{'seconds':>10}{'peak RSS MB':>14}{'traced MB':>12}")
    for name, row in figures.items():
        rate = row["records"] / row["seconds"]
        print(
            f"{name:12}{rate:>12,.0f}{row['seconds']:>10.2f}"
            f"{row['max_rss_mb']:>14.1f}{row['traced_peak_mb']:>12.2f}"
        )
    ratio = validator["seconds"] / floor["seconds"]
    peak = validator["max_rss_mb"]
    print(f"validator / floor time: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)")
    print(f"validator peak RSS: {peak:.1f} MB (goal < {GOAL_PEAK_MB:g} MB)")
    print(
        f"records valid: {validator['records_valid']:,} of {validator['records']:,}; "
        f"file-level problems: {validator['counts_by_rule'] or 'none'}"
    )
    met = ratio <= GOAL_RATIO and peak < GOAL_PEAK_MB
    print("goals met" if met else "goals NOT met")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
