"""Time the local stand-in's fine-tuning on the bundled dataset.

Run ``python benchmarks/local_training.py``; it trains on the first 300 rows of
``data/dialogues.jsonl`` with Bedrock's default hyperparameters (validating on the next
50) and prints the median wall-clock seconds of a few runs for each base model tier.
"""

from __future__ import annotations

import statistics
import sys
import time

from standin import learner
from tools.synthetic import load

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
