"""fmeval's ROUGE and METEOR transforms (BERTScore on request), and scoring with them here.

:func:`pipeline` builds fmeval's ``RougeScore`` and ``MeteorScore`` transforms in a
``TransformPipeline`` once per process; :func:`score_pairs` runs it record by record. Each
engine of :mod:`utils.evaluation.scoring` computes exactly these scores: in this process,
in the run's scoring process (:mod:`runner.scorer`, which calls :func:`score_pairs`) or on
Ray (:mod:`utils.evaluation.ray_engine`, which runs :func:`pipeline`'s transforms in Ray actors).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from utils import assets
from utils.errors import WorkshopError

METRICS = ("rouge1", "rouge2", "rougeL", "meteor")
"""Scores computed for every sample, in column order."""

TARGET_KEY = "target_output"
"""Where fmeval's transforms read the reference answer of a record."""
OUTPUT_KEY = "model_output"
"""Where fmeval's transforms read the model output of a record."""
_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_score_lock = threading.Lock()


@contextlib.contextmanager
def quiet_evaluate() -> Iterator[None]:
    """Silence ``evaluate``'s notice, on every load, that it used its cached module.

    Offline, using the cached module is the plan.
    """
    logger = logging.getLogger("evaluate.loading")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@functools.lru_cache(maxsize=2)
def pipeline(bertscore: bool) -> Any:
    """fmeval's transforms for our metrics, built once per process."""
    assets.activate(online=bertscore)
    with quiet_evaluate():
        # Importing this module loads evaluate's "bertscore": activate() must come first.
        from fmeval.transforms.summarization_accuracy_metrics import MeteorScore, RougeScore
        from fmeval.transforms.transform_pipeline import TransformPipeline

        transforms: list[Any] = [
            RougeScore(
                target_output_keys=[TARGET_KEY],
                model_output_keys=[OUTPUT_KEY],
                output_keys=[rouge_type],
                allow_duplicate_input_keys=False,
                rouge_type=rouge_type,
                use_stemmer=True,
            )
            for rouge_type in _ROUGE_TYPES
        ]
        # The data is already in place (activate checked); fmeval would call nltk.download.
        transforms.append(
            MeteorScore(
                target_output_keys=[TARGET_KEY],
                model_output_keys=[OUTPUT_KEY],
                output_keys=["meteor"],
                allow_duplicate_input_keys=False,
                load_modules=False,
            )
        )
        if bertscore:
            transforms.append(_bertscore_transform())
        return TransformPipeline(transforms)


def _bertscore_transform() -> Any:
    from fmeval.constants import BERTSCORE_DEFAULT_MODEL
    from fmeval.eval_algorithms.helper_models.helper_model import BertscoreHelperModel
    from fmeval.transforms.summarization_accuracy_metrics import BertScore

    unavailable = WorkshopError(
        "BERTScore needs the Hugging Face Hub (a model download), which cannot be reached.",
        "Use bertscore=False: ROUGE and METEOR work offline. For BERTScore, run where "
        "huggingface.co is reachable.",
    )
    try:
        model = BertscoreHelperModel(BERTSCORE_DEFAULT_MODEL)
        # One tiny score proves the Hub script and the model are both there.
        model.get_helper_scores("a test", "a test")
    except WorkshopError:
        raise
    except Exception as exc:
        raise unavailable from exc
    return BertScore(
        target_output_keys=[TARGET_KEY],
        model_output_keys=[OUTPUT_KEY],
        output_keys=["bertscore"],
        allow_duplicate_input_keys=False,
        bertscore_model=model,
    )


def score_pairs(
    pairs: Sequence[tuple[str, str]], columns: Sequence[str] = METRICS, bertscore: bool = False
) -> list[dict[str, float]]:
    """fmeval's scores of (output, reference) pairs, computed in this process.

    This is what every local score runs, here or in the run's scoring process
    (:mod:`runner.scorer`).
    """
    transforms = pipeline(bertscore)
    rows = []
    with _score_lock, quiet_evaluate():
        # evaluate's metric objects keep per-call writer state; one caller at a time.
        for output, reference in pairs:
            record = transforms.execute_record({TARGET_KEY: reference, OUTPUT_KEY: output})
            rows.append({name: float(record[name]) for name in columns})
    return rows
