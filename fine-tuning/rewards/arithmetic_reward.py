"""Reward function (Lambda grader) for the arithmetic reinforcement fine-tuning lesson.

Standard library only, one file: zip it as it is and set the handler to
``arithmetic_reward.lambda_handler``.

What Bedrock sends and expects (all read 2026-12-02):

- Event: a JSON list of samples, each ``{"id": str, "messages": [...], ...}``; ``messages``
  is the training prompt with the model's answer appended as the last, ``assistant``, turn.
  Bedrock's "Setting up reward functions for Amazon Nova models" (reward-functions.html,
  section "Lambda function implementation details") puts the record's reference answer and
  its other fields under ``metadata``: ``{"metadata": {"reference_answer": ..., "my_key":
  ...}}``. SageMaker AI's "Implementing reward functions" for Nova 2
  (nova-implementing-reward-functions.html) shows ``reference_answer`` at the top level of the
  sample instead. The sources disagree, so both places are read; if both are present and
  differ, the sample is refused rather than guessed.
- Message ``content`` is a string in every example; a list of ``{"type": "text", "text":
  ...}`` parts (OpenAI chat format, which the data pages name) is read too.
- Response: a JSON list with one object per sample, the same ``id``, a number
  ``aggregate_reward_score`` and optionally ``metrics_list``: ``[{"name": str, "value":
  number, "type": "Reward" | "Metric"}]`` (reward-functions.html, output structure).
- Errors: no page documents how a grader reports a sample it cannot score. This function
  answers ``{"id": <the sample's id>, "error": "<why>"}`` with no score, so no score is ever
  made up; whether Bedrock then skips the sample or fails the step is not documented. An
  event that is not a list cannot be answered sample by sample, so it raises.

The AWS sample grader (aws-samples/amazon-bedrock-samples,
custom-models/bedrock-reinforcement-fine-tuning/reward-functions/gsm8k_rew_func.py, read
2026-12-02) differs on purpose here: it reads ``metadata.reference_answer`` only, so records
with a top-level ``reference_answer`` score 0; it scores a sample without a reference 0.0
instead of reporting it; and it answers a sample without an id as ``"unknown"``.

Scoring: 1.0 when the final number of the answer equals the reference, else 0.0. There is
no partial credit: a close number is still wrong arithmetic, and a bonus for the format alone
would reward answers that look right. The final number is the one after the last
``Answer:`` when there is one (the system prompt asks for it), else the last number in the
text; ``1,234`` and ``12.0`` are read as 1234 and 12.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_ANSWER = re.compile(r"answer\s*[:=]?\s*\**\s*(-?\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_TAIL = 2000
"""Characters read from the end of an answer: the final answer is at the end, and a regular
expression over a very long reasoning text is slow."""


class SampleError(ValueError):
    """A sample this grader cannot score; its message says why."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        texts = [t for t in parts if isinstance(t, str)]
        if texts and len(texts) == len(parts) == len(content):
            return "\n".join(texts)
    raise SampleError("the answer's content is neither a string nor a list of text parts")


def _answer_text(sample: dict[str, Any]) -> str:
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        raise SampleError("'messages' is missing or empty")
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        raise SampleError("the last message is not the model's (assistant) answer")
    return _text(last.get("content"))


def _reference(sample: dict[str, Any]) -> int:
    metadata = sample.get("metadata")
    found = []
    if isinstance(metadata, dict) and "reference_answer" in metadata:
        found.append(metadata["reference_answer"])
    if "reference_answer" in sample:
        found.append(sample["reference_answer"])
    if not found:
        raise SampleError("no reference_answer (looked in metadata and at the top level)")
    if len(found) == 2 and found[0] != found[1]:
        raise SampleError("metadata.reference_answer and reference_answer disagree")
    ref = found[0]
    value = ref.get("answer") if isinstance(ref, dict) else ref
    number = _to_number(value) if isinstance(value, (int, str)) else None
    if isinstance(value, bool) or number is None or number != number.to_integral_value():
        raise SampleError(f"the reference answer {value!r} is not a whole number")
    return int(number)


def _to_number(text: str | int) -> Decimal | None:
    try:
        return Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        return None


def final_number(text: str) -> Decimal | None:
    """The model's final answer in ``text``: after the last ``Answer:``, else the last number."""
    tail = text[-_TAIL:]
    marked = _ANSWER.findall(tail)
    numbers = marked or _NUMBER.findall(tail)
    return _to_number(numbers[-1]) if numbers else None


def grade(sample: Any) -> dict[str, Any]:
    """The response entry for one sample: its id with a score, or with an error."""
    if not isinstance(sample, dict):
        return {"id": None, "error": f"the sample is {type(sample).__name__}, not an object"}
    sample_id = sample.get("id")
    if not isinstance(sample_id, str) or not sample_id:
        # Keep its place in the list with the id as sent; never invent one.
        return {"id": sample_id, "error": "the sample has no string 'id'"}
    try:
        expected = _reference(sample)
        got = final_number(_answer_text(sample))
    except SampleError as err:
        return {"id": sample_id, "error": str(err)}
    score = 1.0 if got is not None and got == expected else 0.0
    return {
        "id": sample_id,
        "aggregate_reward_score": score,
        "metrics_list": [
            {"name": "correct", "value": score, "type": "Reward"},
            {"name": "answer_found", "value": 0.0 if got is None else 1.0, "type": "Metric"},
        ],
    }


def lambda_handler(event: Any, context: Any) -> list[dict[str, Any]]:
    """Score a batch: one entry per sample, in the order and with the ids received."""
    if not isinstance(event, list):
        raise ValueError(
            f"expected a list of samples, got {type(event).__name__}: Bedrock sends a batch"
        )
    return [grade(sample) for sample in event]
