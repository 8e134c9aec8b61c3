"""Comparing models: generate with each on the same records, score, summarise.

:func:`compare` generates (:mod:`utils.evaluation.runners`) and scores
(:mod:`utils.evaluation.scoring`), then adds bootstrap confidence intervals
(:func:`bootstrap_summary`); :func:`score_outputs` does the same for outputs generated
earlier. Both return an :class:`EvaluationResult`, whose means :func:`record_scores` files
in the run summary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError
from utils.evaluation import scoring
from utils.evaluation.metrics import METRICS, pipeline
from utils.evaluation.runners import BatchSettings, Runner, batch_minimum, generate, generate_batch

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class EvaluationResult:
    """Scores of several models on the same records.

    Attributes:
        outputs: What :func:`generate` returned (one row per model and record).
        per_sample: One row per model and record with the reference and the scores;
            failed generations are kept with NaN scores and their error.
        summary: One row per model and metric: mean, bootstrap CI, n scored, n failed.
        failures: How many model calls failed.
        metrics: The metric columns scored.
    """

    outputs: pd.DataFrame
    per_sample: pd.DataFrame
    summary: pd.DataFrame
    failures: int
    metrics: tuple[str, ...] = METRICS

    @property
    def models(self) -> list[str]:
        """Model labels, in the order given."""
        return list(dict.fromkeys(self.per_sample["model"]))

    @property
    def local(self) -> bool:
        """Whether any answer came from the local stand-in rather than Amazon Bedrock."""
        return bool(self.outputs["local"].eq(True).any())

    def table(self, stat: str = "mean") -> pd.DataFrame:
        """The summary as a model x metric table of one statistic."""
        wide = self.summary.pivot(index="model", columns="metric", values=stat)
        return wide.loc[self.models, list(self.metrics)]


def bootstrap_summary(
    per_sample: pd.DataFrame,
    metrics: Sequence[str] = METRICS,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and percentile-bootstrap confidence interval per model and metric.

    Each (model, metric) group draws from its own generator seeded with ``seed``, so a
    result does not depend on which other models are in the table.

    Args:
        per_sample: Rows with a ``model`` column and the metric columns (NaN = not scored).
        metrics: Metric columns to summarise.
        n_boot: Bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed for the resampling.

    Returns:
        Columns ``model, metric, mean, ci_low, ci_high, n_scored, n_failed``.
    """
    import numpy as np
    import pandas as pd

    tail = (1.0 - confidence) / 2.0
    rows = []
    for model in dict.fromkeys(per_sample["model"]):
        group = per_sample[per_sample["model"] == model]
        for metric in metrics:
            values = group[metric].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            n = len(values)
            if n == 0:
                mean = low = high = math.nan
            else:
                mean = float(values.mean())
                rng = np.random.default_rng(seed)
                picks = rng.integers(0, n, size=(n_boot, n))
                means = values[picks].mean(axis=1)
                low, high = (float(q) for q in np.quantile(means, [tail, 1.0 - tail]))
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n_scored": n,
                    "n_failed": int(len(group) - n),
                }
            )
    return pd.DataFrame(rows)


def _result(
    outputs: pd.DataFrame,
    references: Sequence[str],
    bertscore: bool,
    n_boot: int,
    seed: int,
    engine: str,
    ray_address: str | None,
) -> EvaluationResult:
    import pandas as pd

    texts = [None if pd.isna(text) else str(text) for text in outputs["output"]]
    scores = scoring.score(
        texts,
        [references[i] for i in outputs["record"]],
        bertscore=bertscore,
        engine=engine,
        ray_address=ray_address,
    )
    per_sample = pd.concat(
        [
            outputs[["model", "record", "prompt"]].reset_index(drop=True),
            pd.Series([references[i] for i in outputs["record"]], name="reference"),
            outputs[["output", "error"]].reset_index(drop=True),
            scores,
        ],
        axis=1,
    )
    metrics = tuple(scores.columns)
    summary = bootstrap_summary(per_sample, metrics, n_boot=n_boot, seed=seed)
    return EvaluationResult(
        outputs=outputs,
        per_sample=per_sample,
        summary=summary,
        failures=int(outputs["error"].notna().sum()),
        metrics=metrics,
    )


def compare(
    runners: Mapping[str, Runner],
    records: Sequence[Mapping[str, str]],
    max_workers: int = 4,
    bertscore: bool = False,
    progress: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    engine: str = "auto",
    ray_address: str | None = None,
    batch: BatchSettings | None = None,
    **generate_options: Any,
) -> EvaluationResult:
    """Generate with every model on every record's prompt and score against its reference.

    Args:
        runners: Model label to runner.
        records: Dicts with ``prompt`` and ``reference``.
        max_workers: Concurrent model calls at most.
        bertscore: Add BERTScore (needs the Hugging Face Hub).
        progress: Show progress bars.
        n_boot: Bootstrap resamples for the confidence intervals.
        seed: Seed for the bootstrap, so summaries are reproducible.
        engine: Scoring engine: ``"auto"``, ``"local"`` or ``"ray"`` (see :func:`scoring.score`).
        ray_address: Ray cluster to score on when Ray is used (see :func:`scoring.score`).
        batch: Generate with Bedrock batch inference when there are at least
            ``batch.threshold`` records (see :class:`BatchSettings`); otherwise, or when
            ``None``, one call per record.
        **generate_options: Passed to :func:`generate` (``attempts``, ``base_delay``, ...).

    Returns:
        The outputs, per-sample scores, summary and failure count.
    """
    bad = [i for i, r in enumerate(records) if "prompt" not in r or "reference" not in r]
    if bad:
        raise WorkshopError(
            f"Records {bad[:5]} lack a 'prompt' or 'reference' key.",
            "Give every record both keys, e.g. {'prompt': ..., 'reference': ...}.",
        )
    total = len(records) * len(runners)
    # Fail before spending on generation: a bad engine or an unreachable Hub.
    scoring.choose_engine(engine, total, ray_address)
    if bertscore:
        pipeline(True)
    # All generation goes through this one call; its frame (generate()'s columns) is all
    # that scoring needs, so another way of generating can slot in here.
    prompts = [r["prompt"] for r in records]
    if batch is not None and len(records) >= max(batch.threshold, batch_minimum()):
        outputs = generate_batch(runners, prompts, batch, progress=progress)
    else:
        outputs = generate(
            runners, prompts, max_workers=max_workers, progress=progress, **generate_options
        )
    references = [r["reference"] for r in records]
    return _result(outputs, references, bertscore, n_boot, seed, engine, ray_address)


def score_outputs(
    outputs_by_model: Mapping[str, Sequence[str | None]],
    references: Sequence[str],
    bertscore: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    prompts: Sequence[str] | None = None,
    engine: str = "auto",
    ray_address: str | None = None,
) -> EvaluationResult:
    """Like :func:`compare` for outputs generated earlier (``None`` marks a failed call).

    Args:
        outputs_by_model: Model label to outputs, one per reference.
        references: Reference answers.
        bertscore: Add BERTScore (needs the Hugging Face Hub).
        n_boot: Bootstrap resamples.
        seed: Seed for the bootstrap.
        prompts: Optional prompts, for the tables.
        engine: Scoring engine: ``"auto"``, ``"local"`` or ``"ray"`` (see :func:`scoring.score`).
        ray_address: Ray cluster to score on when Ray is used (see :func:`scoring.score`).

    Returns:
        The outputs, per-sample scores, summary and failure count.
    """
    import pandas as pd

    rows = []
    for label, outputs in outputs_by_model.items():
        if len(outputs) != len(references):
            raise WorkshopError(
                f"Model {label!r} has {len(outputs)} outputs for {len(references)} references.",
                "Give every model one output per reference, in the same order.",
            )
        for i, output in enumerate(outputs):
            rows.append(
                {
                    "model": label,
                    "record": i,
                    "prompt": prompts[i] if prompts is not None else None,
                    "output": output,
                    "error": None if output is not None else "no output",
                    "seconds": math.nan,
                    "attempts": 0,
                    "local": None,
                }
            )
    frame = pd.DataFrame(rows)
    frame.attrs["failures"] = int(frame["error"].notna().sum()) if len(frame) else 0
    return _result(frame, references, bertscore, n_boot, seed, engine, ray_address)


def record_scores(result: EvaluationResult, state: Any, key: str = "scores") -> pd.DataFrame:
    """Record each model's mean scores in the run summary; returns the summary with its CIs."""
    means = result.table().round(4)
    state.record_result(key, {model: means.loc[model].to_dict() for model in means.index})
    return result.summary.round(3)
