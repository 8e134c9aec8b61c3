"""Custom Model Import figures: the stand-in's overhead, and where the lesson's time goes.

Run after ``make setup`` (the offline model must be built)::

    .venv/bin/python benchmarks/model_import.py                  # both parts
    .venv/bin/python benchmarks/model_import.py --skip-notebook  # the overhead only
    .venv/bin/python benchmarks/model_import.py --skip-overhead  # the notebook only

1. **Overhead.** The offline model is imported into a local stand-in and called through
   ``invoke_model_with_response_stream``; the same weights are then run here with
   transformers, greedy, on one thread as the stand-in runs them. It prints time to first
   token and tokens per second of both, and their ratios (stand-in / direct).
2. **The notebook.** ``00_setup``, the lesson and ``03_cleanup`` through the runner; it
   prints each of the lesson's cells that took more than a second, and the lesson's total
   (in its cells, and with the kernel's start) against the 60 s goal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LESSON = "custom-model-import/01_adapt_and_import.ipynb"
GOAL_SECONDS = 60.0
PROMPT = "Amazon Bedrock is a fully managed service that"


def _direct(folder: Path, tokens: int, repeats: int) -> tuple[float, float]:
    """Median time to first token and tokens/s of the weights run here, greedy, one thread."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto").eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(PROMPT, return_tensors="pt", return_token_type_ids=False)
    first, rates = [], []
    with torch.no_grad():
        model.generate(**ids, max_new_tokens=2, do_sample=False)  # warm up
        for _ in range(repeats):
            began = time.perf_counter()
            model.generate(**ids, max_new_tokens=1, do_sample=False)
            first.append(time.perf_counter() - began)
            began = time.perf_counter()
            out = model.generate(
                **ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False
            )
            made = out.shape[1] - ids["input_ids"].shape[1]
            rates.append((made - 1) / max(1e-9, time.perf_counter() - began - first[-1]))
    return statistics.median(first), statistics.median(rates)


def overhead(tokens: int, repeats: int) -> None:
    """Part 1: the stand-in's imported model against the same weights run directly."""
    from standin import StandIn
    from utils import clients, iam, imported, open_model, s3
    from utils import imported_inference as ii
    from utils.state import State

    folder = open_model.resolve(None)
    server = StandIn.start(job_seconds=0.1)
    server.apply_env()
    clients.clear_cache()
    server.bedrock.import_load_seconds = 0.0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = State(Path(tmp) / "state.json")
            account, region = "123456789012", "us-east-1"
            bucket = s3.ensure_bucket("benchmark-import", region, state)
            role = iam.ensure_import_role(
                "bench-import", "bench-import-s3", account, region, bucket, state
            )
            began = time.perf_counter()
            job = imported.start_import(
                folder, state=state, bucket=bucket, role_arn=role, progress=False
            )
            upload_and_start = time.perf_counter() - began
            model = imported.wait_for_import(job, state, interval=0.05, progress=False)
            body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=tokens)
            began = time.perf_counter()
            ii.invoke_with_backoff(model, body, first_delay=0.2, progress=False)
            cold = time.perf_counter() - began
            runs = [ii.stream(model, body, progress=False) for _ in range(repeats)]
    finally:
        server.stop()
    first = statistics.median(r.first_token_s or 0.0 for r in runs)
    rate = statistics.median(r.tokens_per_s or 0.0 for r in runs)
    direct_first, direct_rate = _direct(folder, tokens, repeats)
    print(f"upload and start the import: {upload_and_start:.1f} s; first call (cold): {cold:.1f} s")
    print(f"{'':28}{'first token':>14}{'tokens/s':>12}")
    print(f"{'stand-in (stream)':28}{first:13.3f}s{rate:12.1f}")
    print(f"{'transformers, in process':28}{direct_first:13.3f}s{direct_rate:12.1f}")
    print(
        f"ratio stand-in / direct: first token {first / direct_first:.2f}x, "
        f"tokens/s {rate / direct_rate:.2f}x"
    )


def notebook() -> None:
    """Part 2: the lesson through the runner, its slow cells and its total."""
    from benchmarks.lesson_time import time_lesson

    time_lesson(LESSON, GOAL_SECONDS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=24, help="tokens per answer")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls of each kind")
    parser.add_argument("--skip-notebook", action="store_true", help="only the overhead")
    parser.add_argument("--skip-overhead", action="store_true", help="only the notebook")
    args = parser.parse_args()
    if not args.skip_overhead:
        overhead(args.tokens, args.repeats)
    if not args.skip_notebook:
        notebook()
    return 0


if __name__ == "__main__":
    sys.exit(main())
