"""Reward function with a model as judge (RLAIF): a Bedrock model grades each answer.

For tasks without a checkable answer, a judge model scores the answer instead of a rule.
Zip this file alone (boto3 is part of Lambda's Python runtime) and set the handler to
``judge_reward.lambda_handler``; the function's role needs ``bedrock:InvokeModel`` on the
judge model (Converse is authorised as InvokeModel).

Environment:
    JUDGE_MODEL_ID: The judge (a model id or inference profile id Converse takes).
    JUDGE_MAX_TOKENS: Tokens the judge may write (default 64).

The event and response follow the arithmetic grader's (see arithmetic_reward.py for the
format and its sources, read 2026-12-02). A judge can fail: throttled, refused, or an answer
without a score. Each such sample is answered ``{"id": ..., "error": "..."}``: never a
neutral 0.5 or a 0, which would teach the model from the judge's outages (the AWS sample's
PandaLM judge scores 0.5 on any error).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

_SCORE = re.compile(r"\bSCORE\s*[:=]\s*(10|[0-9])\b", re.IGNORECASE)
_client: Any = None

INSTRUCTIONS = (
    "You grade answers. Compare the ANSWER with the REFERENCE for the QUESTION. Reply with "
    "one line, SCORE: <0-10>, where 10 means the answer is fully correct and 0 means wrong."
)


def _runtime() -> Any:
    global _client
    if _client is None:
        import boto3  # only when judging: the module imports without it, for local tests

        _client = boto3.client("bedrock-runtime")
    return _client


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(str(t) for t in texts)
    raise ValueError("a message's content is neither a string nor a list of text parts")


def _parts(sample: dict[str, Any]) -> tuple[str, str, str]:
    messages = sample.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        raise ValueError("'messages' must hold the prompt and the answer")
    answer = messages[-1]
    if not isinstance(answer, dict) or answer.get("role") != "assistant":
        raise ValueError("the last message is not the model's (assistant) answer")
    users = [m for m in messages[:-1] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise ValueError("no user question before the answer")
    found = sample.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    reference = metadata.get("reference_answer", sample.get("reference_answer"))
    if reference is None:
        raise ValueError("no reference_answer (looked in metadata and at the top level)")
    return _text(users[-1]["content"]), json.dumps(reference), _text(answer["content"])


def judge(question: str, reference: str, answer: str) -> float:
    """The judge's score in [0, 1]; raises when the judge fails or gives no score."""
    model = os.environ.get("JUDGE_MODEL_ID")
    if not model:
        raise ValueError("JUDGE_MODEL_ID is not set on the function")
    reply = _runtime().converse(
        modelId=model,
        system=[{"text": INSTRUCTIONS}],
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": f"QUESTION: {question}\nREFERENCE: {reference}\nANSWER: {answer}"}
                ],
            }
        ],
        inferenceConfig={
            "maxTokens": int(os.environ.get("JUDGE_MAX_TOKENS", "64")),
            "temperature": 0,
        },
    )
    blocks = reply["output"]["message"]["content"]
    said = " ".join(b["text"] for b in blocks if "text" in b)
    found = _SCORE.search(said)
    if found is None:
        raise ValueError(f"the judge's reply holds no SCORE line: {said[:120]!r}")
    return int(found.group(1)) / 10


def grade(sample: Any) -> dict[str, Any]:
    """One response entry: the sample's id with the judge's score, or with why there is none."""
    if not isinstance(sample, dict):
        return {"id": None, "error": f"the sample is {type(sample).__name__}, not an object"}
    sample_id = sample.get("id")
    if not isinstance(sample_id, str) or not sample_id:
        return {"id": sample_id, "error": "the sample has no string 'id'"}
    try:
        score = judge(*_parts(sample))
    except Exception as exc:  # the judge's own failures too: reported, never scored
        return {"id": sample_id, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "id": sample_id,
        "aggregate_reward_score": score,
        "metrics_list": [{"name": "judge_score", "value": score, "type": "Reward"}],
    }


def lambda_handler(event: Any, context: Any) -> list[dict[str, Any]]:
    """Score a batch with the judge: one entry per sample, in order, with the ids received."""
    if not isinstance(event, list):
        raise ValueError(
            f"expected a list of samples, got {type(event).__name__}: Bedrock sends a batch"
        )
    return [grade(sample) for sample in event]
