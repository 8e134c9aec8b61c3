"""Run a reward function file locally, as the Lambda grader would, before deploying it.

The grader is a single file under ``fine-tuning/rewards/`` with a ``lambda_handler(event,
context)``; it is loaded from its path (it is no package module, since Lambda runs it alone).
:func:`sample` builds the batch entry Bedrock sends for a training record and a model answer,
and :func:`grade` calls the handler and checks that every answer carries the id of its sample.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from utils.errors import WorkshopError
from utils.paths import ROOT

ARITHMETIC_REWARD = ROOT / "fine-tuning" / "rewards" / "arithmetic_reward.py"
"""The arithmetic lesson's reward function."""

JUDGE_REWARD = ROOT / "fine-tuning" / "rewards" / "judge_reward.py"
"""The model-as-judge reward function (a Bedrock model scores each answer)."""

Handler = Callable[[Any, Any], Any]


def load(path: str | Path = ARITHMETIC_REWARD) -> ModuleType:
    """Import a reward function file as a fresh module (edits to it are picked up).

    Raises:
        WorkshopError: The file is missing or has no ``lambda_handler``.
    """
    path = Path(path)
    if not path.is_file():
        raise WorkshopError(f"No reward function file at {path}.", "Check the path.")
    # A unique name: loading twice gives two modules, so a notebook sees its latest edit.
    spec = importlib.util.spec_from_file_location(f"reward_{uuid.uuid4().hex}", path)
    if spec is None or spec.loader is None:
        raise WorkshopError(f"{path} cannot be loaded as Python.", "Give a .py file.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "lambda_handler", None)):
        raise WorkshopError(
            f"{path} has no lambda_handler(event, context).",
            "Define one: Lambda calls it with the batch of samples.",
        )
    return module


def sample(record: dict[str, Any], answer: str, sample_id: str | None = None) -> dict[str, Any]:
    """The grader's input for one training record answered with ``answer``.

    Shaped as Bedrock's reward-functions page shows it (read 2026-12-02): the record's
    messages with the answer appended as the assistant turn, an ``id``, and the
    ``reference_answer`` with the record's other fields under ``metadata``.
    """
    extra = {k: v for k, v in record.items() if k not in ("messages", "id")}
    return {
        "id": sample_id or str(record.get("id") or uuid.uuid4().hex),
        "messages": [*record["messages"], {"role": "assistant", "content": answer}],
        "metadata": extra,
    }


def grade(samples: Sequence[dict[str, Any]], path: str | Path = ARITHMETIC_REWARD) -> list[Any]:
    """Call the reward function on ``samples``; return its answers after checking their ids.

    Raises:
        WorkshopError: The answer is not a list of one entry per sample with the same ids in
            the same order, or an entry has neither a number score nor an error.
    """
    handler: Handler = load(path).lambda_handler
    answers = handler(list(samples), None)
    if not isinstance(answers, list) or len(answers) != len(samples):
        raise WorkshopError(
            f"The reward function answered {type(answers).__name__} "
            f"{len(answers) if isinstance(answers, list) else ''} for {len(samples)} samples.",
            "Return a list with one entry per sample, in the same order.",
        )
    for position, (asked, got) in enumerate(zip(samples, answers, strict=True)):
        if not isinstance(got, dict) or got.get("id") != asked.get("id"):
            raise WorkshopError(
                f"Answer {position} has id {got.get('id') if isinstance(got, dict) else got!r}, "
                f"but sample {position} has id {asked.get('id')!r}.",
                "Copy each sample's id into its answer: Bedrock matches scores by id.",
            )
        score = got.get("aggregate_reward_score")
        if "error" not in got and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise WorkshopError(
                f"Answer {position} ({got['id']}) has no number aggregate_reward_score.",
                "Return a score for each sample, or an error for one it cannot score.",
            )
    return answers
