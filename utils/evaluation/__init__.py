"""Compare models on reference answers with fmeval's ROUGE and METEOR.

The flow is ``generate`` (call each model on each prompt through the Bedrock Converse
API), ``score`` (fmeval's ``RougeScore`` and ``MeteorScore`` transforms in a
``TransformPipeline``) and ``compare``, which does both and adds bootstrap confidence
intervals. fmeval's ``SummarizationAccuracy`` is not used: it always computes BERTScore,
which needs a model from the Hugging Face Hub.

Scoring runs on one of two engines with the same transforms and the same per-record
results. ``"local"`` executes the pipeline record by record in this process (or in the
run's scoring process, when there is one). ``"ray"`` applies the same transforms to a Ray
dataset in one pool of actors, on a local Ray instance or an existing cluster. ``"auto"``
picks Ray only above :data:`RAY_THRESHOLD` records.

Notebooks use the names below, as ``evaluation.compare(...)``; each lives in the module
that does one part of the work:

- :mod:`~utils.evaluation.runners`: calling models (:class:`ConverseRunner`,
  :func:`generate`, :func:`generate_batch`);
- :mod:`~utils.evaluation.metrics`: fmeval's transforms and scoring with them in process
  (:data:`METRICS`, :func:`score_pairs`);
- :mod:`~utils.evaluation.scoring`: choosing where to score (:func:`score`, the engines);
- :mod:`~utils.evaluation.remote`: asking the run's scoring process (:mod:`runner.scorer`);
- :mod:`~utils.evaluation.ray_engine`: scoring on Ray;
- :mod:`~utils.evaluation.comparison`: :func:`compare`, :func:`score_outputs` and their
  :class:`EvaluationResult`;
- :mod:`~utils.evaluation.plots`: charts of a result.

The constants here are copies: to change the threshold for a run, set
``utils.evaluation.scoring.RAY_THRESHOLD``, which is the one :func:`score` reads.

Heavy libraries (fmeval, Ray, pandas, matplotlib) are imported inside the functions that
need them, so ``import utils.evaluation`` stays cheap.
"""

from __future__ import annotations

from utils.evaluation.comparison import (
    EvaluationResult,
    bootstrap_summary,
    compare,
    record_scores,
    score_outputs,
)
from utils.evaluation.metrics import METRICS, score_pairs
from utils.evaluation.plots import plot_distributions, plot_summary
from utils.evaluation.ray_engine import RAY_LOCAL_CPUS
from utils.evaluation.runners import (
    RETRYABLE_ERRORS,
    BatchSettings,
    ConverseRunner,
    Reply,
    Runner,
    generate,
    generate_batch,
    register_with_fmeval,
)
from utils.evaluation.scoring import ENGINES, RAY_THRESHOLD, score

__all__ = [
    "ENGINES",
    "METRICS",
    "RAY_LOCAL_CPUS",
    "RAY_THRESHOLD",
    "RETRYABLE_ERRORS",
    "BatchSettings",
    "ConverseRunner",
    "EvaluationResult",
    "Reply",
    "Runner",
    "bootstrap_summary",
    "compare",
    "generate",
    "generate_batch",
    "plot_distributions",
    "plot_summary",
    "record_scores",
    "register_with_fmeval",
    "score",
    "score_outputs",
    "score_pairs",
]
