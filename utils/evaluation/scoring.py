"""Where scores are computed: in this process, in the run's scoring process, or on Ray.

:func:`score` runs the transforms of :mod:`utils.evaluation.metrics` on one of two engines
with the same per-record results. ``"local"`` executes them record by record, in the run's
scoring process when :data:`utils.evaluation.remote.ENV_VAR` names one (the headless runner
starts it, so fmeval is imported once for every notebook) and otherwise in this process.
``"ray"`` applies fmeval's transforms to a Ray dataset
(:mod:`utils.evaluation.ray_engine`). ``"auto"`` picks Ray only above :data:`RAY_THRESHOLD`
records.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from utils.errors import WorkshopError
from utils.evaluation import metrics, ray_engine, remote
from utils.evaluation.metrics import METRICS

if TYPE_CHECKING:
    import pandas as pd

ENGINES = ("auto", "local", "ray")
"""Scoring engines :func:`score` accepts."""

RAY_THRESHOLD = 20_000
"""Records above which ``engine="auto"`` scores on Ray rather than in this process.

Ray never paid off on the 2-core machine the workshop targets (measured with
``benchmarks/eval_speed.py``): in-process scoring costs about 14 ms a record once fmeval
is imported (1,000 records in 14 s), while each call of fmeval's Ray path costs 37-47 s
before the first record (one fresh actor per transform, each importing fmeval and loading
WordNet) and then about 23 ms a record (1,000 records in 58 s), as the transforms are
CPU-bound and run one materialised stage after another. So the threshold is set high,
at the largest data set Bedrock customization accepts (Nova: 20,000 records), where a
cluster with more cores (``ray_address``) is what makes Ray worth it. ``engine="ray"``
forces it at any size.
"""

log = logging.getLogger(__name__)


def choose_engine(engine: str, records: int, ray_address: str | None) -> str:
    """Resolve ``engine`` to ``"local"`` or ``"ray"`` for ``records`` records to score."""
    if engine not in ENGINES:
        raise WorkshopError(
            f"Unknown scoring engine {engine!r}.",
            f"Use one of {', '.join(repr(e) for e in ENGINES)}.",
        )
    if engine == "local" and ray_address:
        raise WorkshopError(
            f"engine='local' scores in this process, so ray_address={ray_address!r} would "
            "be ignored.",
            "Pass engine='ray' (or 'auto') to use the cluster, or drop ray_address.",
        )
    if engine == "auto":
        return "ray" if records > RAY_THRESHOLD else "local"
    return engine


def _is_missing(output: object) -> bool:
    return output is None or (isinstance(output, float) and math.isnan(output))


def score(
    outputs: Sequence[str | None],
    references: Sequence[str],
    bertscore: bool = False,
    engine: str = "auto",
    ray_address: str | None = None,
) -> pd.DataFrame:
    """Score outputs against references with fmeval's ROUGE and METEOR transforms.

    ROUGE-1, ROUGE-2 and ROUGE-L are F-measures with stemming, as fmeval computes them;
    METEOR is NLTK's, on NLTK word tokens. A missing output (``None``, a failed call)
    gets NaN scores. Both engines run the same transforms and give the same scores.

    Args:
        outputs: Model outputs.
        references: Reference answers, one per output.
        bertscore: Add a ``bertscore`` column; needs the Hugging Face Hub.
        engine: ``"local"`` (in this process), ``"ray"`` (fmeval's transforms in Ray
            actors) or ``"auto"`` (Ray only above :data:`RAY_THRESHOLD` outputs).
        ray_address: Address of a running Ray cluster (``"ray://host:10001"``,
            ``"host:6379"``); without it (and without ``RAY_ADDRESS``), Ray starts
            locally and stops afterwards. The cluster's workers need the offline assets
            at the same path as here. fmeval sizes its actor pools from the environment
            variable ``PARALLELIZATION_FACTOR`` (default: this machine's cores less one).

    Returns:
        Columns ``rouge1, rouge2, rougeL, meteor`` (and ``bertscore``), one row per output.

    Raises:
        WorkshopError: When lengths differ, the engine is unknown, offline assets are
            missing, or BERTScore was asked for and the Hub cannot be reached.
    """
    import pandas as pd

    if len(outputs) != len(references):
        raise WorkshopError(
            f"score() got {len(outputs)} outputs but {len(references)} references.",
            "Pass one reference per output, in the same order.",
        )
    columns = list(METRICS) + (["bertscore"] if bertscore else [])
    todo = [i for i, output in enumerate(outputs) if not _is_missing(output)]
    chosen = choose_engine(engine, len(todo), ray_address)
    pairs = [(str(outputs[i]), references[i]) for i in todo]
    if chosen == "ray":
        scored = ray_engine.score_on_ray(metrics.pipeline(bertscore), pairs, columns, ray_address)
    else:
        scored = score_here_or_in_scorer(pairs, columns, bertscore)
    rows = [dict.fromkeys(columns, math.nan) for _ in outputs]
    for i, values in zip(todo, scored, strict=True):
        rows[i] = values
    return pd.DataFrame(rows, columns=columns, dtype=float)


def score_here_or_in_scorer(
    pairs: Sequence[tuple[str, str]], columns: Sequence[str], bertscore: bool
) -> list[dict[str, float]]:
    """Score in the run's scoring process when there is one, else in this process.

    The scoring process (:mod:`runner.scorer`) is named in :data:`utils.evaluation.remote.ENV_VAR`;
    BERTScore, and everything when that process does not answer, is scored here by
    :func:`utils.evaluation.metrics.score_pairs`.
    """
    url = os.environ.get(remote.ENV_VAR)
    if url and not bertscore and pairs:
        try:
            return remote.score_remotely(url, pairs, columns)
        except remote.ScorerUnavailable as exc:
            log.warning("%s; scoring in this process instead.", exc)
    return metrics.score_pairs(pairs, columns, bertscore)
