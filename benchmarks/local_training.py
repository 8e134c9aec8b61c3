"""Time the local stand-in's fine-tuning on the bundled dataset.

Run ``python benchmarks/local_training.py``; it trains on the first 300 rows of
``data/dialogues.jsonl`` with Bedrock's default hyperparameters (validating on the next
50) and prints the median wall-clock seconds of a few runs for each base model tier, then
the same for the image captioner on 100 seeded charts (validating on 20).
"""

from __future__ import annotations

import statistics
import sys
import time

from standin import learner, vision
from tools.synthetic import load
from utils import charts

MODELS = ("amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0")
REPEATS = 5


def main() -> int:
    """Print the median training seconds per base model and the slowest overall."""
    rows = load()
    pairs = [
        (f"Summarize the following conversation.\n\n{r['dialogue']}", r["summary"]) for r in rows
    ]
    train, validation = pairs[:300], pairs[300:350]
    slowest = 0.0
    for model in MODELS:
        seconds = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            run = learner.fine_tune(train, validation, {}, base_model_id=model)
            seconds.append(time.perf_counter() - started)
        median = statistics.median(seconds)
        slowest = max(slowest, max(seconds))
        print(
            f"{model}: {median:.3f} s median of {REPEATS} "
            f"({len(run.step_metrics)} steps, final validation loss "
            f"{run.validation_metrics[-1]['validation_loss']:.4f})"
        )
    print(f"slowest run: {slowest:.3f} s")
    train_charts, validation_charts, _ = charts.split(charts.make_examples(160, seed=11), 100, 20)
    images = [(c.png, c.caption) for c in train_charts]
    held = [(c.png, c.caption) for c in validation_charts]
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        vision.fine_tune(images, held, {}, "meta.llama3-2-11b-instruct-v1:0")
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    print(f"image captioner, {len(images)} charts: {median:.3f} s median of {REPEATS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
