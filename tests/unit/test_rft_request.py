"""The workshop's reinforcement fine-tuning request: the grader and its settings, checked first."""

from __future__ import annotations

from typing import Any

import pytest

from utils import jobs
from utils.errors import WorkshopError
from utils.state import State

NOVA2 = "amazon.nova-2-lite-v1:0:256k"
GRADER = "arn:aws:lambda:us-east-1:123456789012:function:arithmetic-grader"


def test_rft_config_puts_the_grader_and_typed_settings_in_rftconfig() -> None:
    config = jobs.rft_config(
        NOVA2, GRADER, {"epochCount": "2", "learningRate": 1e-5, "reasoningEffort": "Low"}
    )
    assert config == {
        "rftConfig": {
            "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER}},
            "hyperParameters": {"epochCount": 2, "learningRate": 1e-5, "reasoningEffort": "low"},
        }
    }
    assert "hyperParameters" not in jobs.rft_config(NOVA2, GRADER)["rftConfig"]  # none invented


@pytest.mark.parametrize(
    ("grader", "settings", "says"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:layer:x", {}, "not a Lambda function ARN"),
        ("arithmetic-grader", {}, "not a Lambda function ARN"),
        (GRADER, {"batchSize": 8}, "batchSize"),
        (GRADER, {"trainingSamplePerPrompt": 32}, "trainingSamplePerPrompt"),
        (GRADER, {"epochs": 2}, "no hyperparameter epochs"),
    ],
)
def test_a_bad_grader_or_setting_is_refused_before_anything_is_sent(
    grader: str, settings: dict[str, Any], says: str
) -> None:
    with pytest.raises(WorkshopError, match=says):
        jobs.rft_config(NOVA2, grader, settings)


def _request(state: State, **extra: Any) -> jobs.Request:
    return jobs.request(
        state=state,
        key="rft",
        base_model=NOVA2,
        training_uri="s3://bucket/rft/train.jsonl",
        output_uri="s3://bucket/output/",
        role_arn="arn:aws:iam::123456789012:role/workshop",
        customization_type="REINFORCEMENT_FINE_TUNING",
        **extra,
    )


def test_the_request_has_no_top_level_hyperparameters(state: State) -> None:
    config = jobs.rft_config(NOVA2, GRADER, {"epochCount": 3})
    body = _request(state, customization_config=config).body
    assert body["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    assert body["customizationConfig"] == config and "hyperParameters" not in body
    with pytest.raises(WorkshopError, match="takes its hyperparameters in rftConfig"):
        _request(state, customization_config=config, hyperparameters={"epochCount": 3})
    with pytest.raises(WorkshopError, match="needs a grader"):
        _request(state)


def test_a_job_with_another_grader_or_settings_is_not_reused() -> None:
    asked = jobs.rft_config(NOVA2, GRADER, {"epochCount": 3})
    found = {
        "baseModelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA2}",
        "trainingDataConfig": {"s3Uri": "s3://b/train.jsonl"},
        "customizationConfig": asked,
    }
    assert jobs._same_request(found, NOVA2, "s3://b/train.jsonl", {}, asked)
    other = jobs.rft_config(NOVA2, GRADER + "-v2", {"epochCount": 3})
    assert not jobs._same_request(found, NOVA2, "s3://b/train.jsonl", {}, other)
    longer = jobs.rft_config(NOVA2, GRADER, {"epochCount": 4})
    assert not jobs._same_request(found, NOVA2, "s3://b/train.jsonl", {}, longer)
    # A field Bedrock does not echo counts as the same: a wrong "different" would bill twice.
    assert jobs._same_request({**found, "customizationConfig": None}, NOVA2, None, {}, longer)
