"""The model-as-judge reward file: scores from the judge's reply, failures as errors."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from utils import rewards
from utils.paths import ROOT

JUDGE = ROOT / "fine-tuning" / "rewards" / "judge_reward.py"


def _sample(sample_id: str, answer: str = "Answer: 12") -> dict[str, Any]:
    record = {
        "messages": [{"role": "user", "content": "3 boxes of 4 apples: how many apples?"}],
        "reference_answer": {"answer": 12},
    }
    return rewards.sample(record, answer, sample_id)


def _reply(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 30, "outputTokens": 4, "totalTokens": 34},
        "metrics": {"latencyMs": 5},
    }


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The judge file loaded with a stubbed bedrock-runtime client."""
    module = rewards.load(JUDGE)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    module._client = client
    monkeypatch.setenv("JUDGE_MODEL_ID", "amazon.nova-micro-v1:0")
    return module, Stubber(client)


def test_the_judges_score_becomes_the_reward(judged: Any) -> None:
    module, stub = judged
    stub.add_response("converse", _reply("SCORE: 8"))
    stub.add_response("converse", _reply("The answer is wrong. score = 0"))
    with stub:
        out = module.lambda_handler([_sample("a"), _sample("b", "Answer: 13")], None)
    assert [o["id"] for o in out] == ["a", "b"]
    assert [o["aggregate_reward_score"] for o in out] == [0.8, 0.0]
    stub.assert_no_pending_responses()  # both answers came from the judge


def test_a_failing_or_unreadable_judge_is_an_error_never_a_score(judged: Any) -> None:
    module, stub = judged
    stub.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    stub.add_response("converse", _reply("I think it is probably fine."))
    with stub:
        out = module.lambda_handler([_sample("a"), _sample("b")], None)
    assert [o["id"] for o in out] == ["a", "b"]
    assert all("aggregate_reward_score" not in o for o in out)
    assert "ThrottlingException" in out[0]["error"]
    assert "no SCORE line" in out[1]["error"]


def test_a_malformed_sample_keeps_its_id_and_needs_no_judge(judged: Any) -> None:
    module, stub = judged
    broken = {"id": "c", "messages": [{"role": "user", "content": "q"}]}
    with stub:  # no call stubbed: a call would fail the test
        out = module.lambda_handler([broken, {"messages": []}], None)
    assert out[0]["id"] == "c" and "prompt and the answer" in out[0]["error"]
    assert out[1] == {"id": None, "error": "the sample has no string 'id'"}
    with pytest.raises(ValueError, match="a list of samples"):
        module.lambda_handler({"id": "x"}, None)


def test_without_a_judge_model_every_sample_says_so(
    judged: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = judged
    monkeypatch.delenv("JUDGE_MODEL_ID")
    out = module.lambda_handler([_sample("a")], None)
    assert out == [{"id": "a", "error": "ValueError: JUDGE_MODEL_ID is not set on the function"}]
