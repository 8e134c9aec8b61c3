"""Where a lesson's time goes: its slow cells and its total, against a goal.

Runs ``00_setup``, the lesson and ``03_cleanup`` through the runner against the local
stand-in, then prints each of the lesson's cells that took more than a second, the total in
its cells and with the kernel's start, and what the lesson recorded for the run summary::

    .venv/bin/python benchmarks/lesson_time.py \
        fine-tuning/03_reinforcement_fine_tuning.ipynb --goal 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def time_lesson(lesson: str, goal_seconds: float) -> None:
    """Run the lesson after setup and print its slow cells, its totals and its headlines."""
    import nbformat

    from runner import run as run_workshop

    with tempfile.TemporaryDirectory() as tmp:
        summary = run_workshop.run(["00_setup", lesson], out=Path(tmp) / "runs")
        if summary.exit_code != 0:
            print(f"the run failed:\n{summary.table()}")
            return
        executed = nbformat.read(Path(tmp) / "runs" / "latest" / lesson, as_version=4)
    total = 0.0
    print(f"\n{lesson}")
    for cell in executed.cells:
        seconds: Any = cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
        total += float(seconds)
        if cell.cell_type == "code" and seconds > 1:
            first = cell.source.splitlines()[0]
            label = first.split("=", 1)[1] if "papermill_description=" in first else first[2:]
            print(f"  {seconds:6.1f} s  {label[:70]}")
    print(
        f"  {total:6.1f} s  in all cells ({total / goal_seconds:.2f}x the {goal_seconds:g} s goal)"
    )
    wall = float(executed.metadata.get("papermill", {}).get("duration") or 0.0)
    if wall:
        share = wall / goal_seconds
        print(f"  {wall:6.1f} s  the notebook, kernel start included ({share:.2f}x the goal)")
    for line in run_workshop.headlines(summary.notebook(lesson).results):
        print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="the notebook, as a path from the repository root")
    parser.add_argument("--goal", type=float, default=60.0, help="seconds the lesson should take")
    args = parser.parse_args()
    time_lesson(args.lesson, args.goal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
