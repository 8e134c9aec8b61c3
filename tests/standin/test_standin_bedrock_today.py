"""The stand-in plays Bedrock as its catalog says it is: lifecycle, Regions, profiles, accounts."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from standin import StandIn, catalog
from tests.helpers import conversation, make_bucket, make_role, put_jsonl
from utils import clients

MESSAGE = [{"role": "user", "content": [{"text": "Summarize: #Person1#: Hello there."}]}]
TITAN_ACTIVE = "2025-01-15"
TITAN_LEGACY = "2025-06-01"


def _error(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def _wait(fetch: Any, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while (found := fetch())["status"] not in wanted:
        assert time.monotonic() < deadline, found["status"]
        time.sleep(0.05)
    return found


def test_a_model_at_end_of_life_is_gone_from_listing_and_refuses_calls(aws: StandIn) -> None:
    bedrock, runtime = clients.client("bedrock"), clients.client("bedrock-runtime")
    listed = {m["modelId"] for m in bedrock.list_foundation_models()["modelSummaries"]}
    assert "amazon.nova-micro-v1:0" in listed
    assert not listed & {"anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-text-lite-v1"}
    error = _error(
        runtime.converse, modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=MESSAGE
    )
    assert error["Code"] == "ResourceNotFoundException"
    assert "This model version has reached the end of its life." in error["Message"]
    error = _error(bedrock.get_foundation_model, modelIdentifier="amazon.titan-text-lite-v1:0:4k")
    assert error["Code"] == "ResourceNotFoundException"
    # The same model on a day it was active answers and is listed as such.
    aws.play("established", TITAN_ACTIVE)
    details = bedrock.get_foundation_model(modelIdentifier="amazon.titan-text-lite-v1:0:4k")
    assert details["modelDetails"]["modelLifecycle"]["status"] == "ACTIVE"
    assert details["modelDetails"]["customizationsSupported"] == [
        "CONTINUED_PRE_TRAINING",
        "FINE_TUNING",
    ]


def test_legacy_refuses_new_throughput_and_a_new_account(aws: StandIn) -> None:
    bedrock, runtime = clients.client("bedrock"), clients.client("bedrock-runtime")
    aws.play("established", TITAN_LEGACY)
    details = bedrock.get_foundation_model(modelIdentifier="amazon.titan-text-express-v1")
    life = details["modelDetails"]["modelLifecycle"]
    assert life["status"] == "LEGACY" and life["legacyTime"].year == 2025
    body = json.dumps({"inputText": "Hello", "textGenerationConfig": {"maxTokenCount": 20}})
    assert runtime.invoke_model(modelId="amazon.titan-text-express-v1", body=body)["body"].read()
    error = _error(
        bedrock.create_provisioned_model_throughput,
        modelUnits=1,
        provisionedModelName="legacy-pt",
        modelId="amazon.titan-text-express-v1",
    )
    assert error["Code"] == "ValidationException"
    assert "no new Provisioned Throughput" in error["Message"]
    aws.play("new", TITAN_LEGACY)
    error = _error(runtime.invoke_model, modelId="amazon.titan-text-express-v1", body=body)
    assert error["Code"] == "AccessDeniedException" and "new customers" in error["Message"]
    found = bedrock.get_foundation_model_availability(modelId="amazon.titan-text-express-v1")
    assert found["authorizationStatus"] == "NOT_AUTHORIZED"
    active = bedrock.get_foundation_model_availability(modelId="amazon.nova-micro-v1:0")
    assert active["authorizationStatus"] == "AUTHORIZED"


def test_a_bare_id_that_needs_a_profile_is_refused_and_the_profile_answers(aws: StandIn) -> None:
    bedrock, runtime = clients.client("bedrock"), clients.client("bedrock-runtime")
    error = _error(runtime.converse, modelId="amazon.nova-2-lite-v1:0", messages=MESSAGE)
    assert error["Code"] == "ValidationException"
    assert "with on-demand throughput isn’t supported" in error["Message"]
    profiles = bedrock.list_inference_profiles()["inferenceProfileSummaries"]
    nova2 = next(p for p in profiles if p["inferenceProfileId"] == "us.amazon.nova-2-lite-v1:0")
    assert any(m["modelArn"].endswith("/amazon.nova-2-lite-v1:0") for m in nova2["models"])
    reply = runtime.converse(modelId=nova2["inferenceProfileArn"], messages=MESSAGE)
    assert reply["output"]["message"]["content"][0]["text"].strip()
    by_id = runtime.converse(modelId="us.amazon.nova-2-lite-v1:0", messages=MESSAGE)
    assert by_id["output"] == reply["output"]
    # Profiles of retired models are gone with them.
    ids = {p["inferenceProfileId"] for p in profiles}
    assert "us.meta.llama3-2-11b-instruct-v1:0" not in ids
    error = _error(
        bedrock.get_inference_profile,
        inferenceProfileIdentifier="us.meta.llama3-2-11b-instruct-v1:0",
    )
    assert error["Code"] == "ResourceNotFoundException"


def test_customization_runs_only_in_the_regions_bedrock_offers_it(aws: StandIn) -> None:
    bucket = make_bucket()
    records = [{"prompt": f"Question {i}?", "completion": f"Answer {i}."} for i in range(100)]
    train = put_jsonl(bucket, "llama/train.jsonl", records)
    request = {
        "jobName": "llama-region",
        "customModelName": "llama-region-model",
        "roleArn": make_role(),
        "baseModelIdentifier": "meta.llama3-1-8b-instruct-v1:0:128k",
        "trainingDataConfig": {"s3Uri": train},
        "outputDataConfig": {"s3Uri": f"s3://{bucket}/out/"},
    }
    error = _error(clients.client("bedrock").create_model_customization_job, **request)
    assert error["Code"] == "ValidationException"
    assert "cannot be customized in us-east-1; it can be in us-west-2" in error["Message"]
    west = clients.client("bedrock", "us-west-2")
    arn = west.create_model_customization_job(**request)["jobArn"]
    assert arn.startswith("arn:aws:bedrock:us-west-2:")
    job = _wait(
        lambda: west.get_model_customization_job(jobIdentifier=arn), {"Completed", "Failed"}
    )
    assert job["status"] == "Completed", job.get("failureMessage")


def _trained_nova(name: str) -> str:
    bucket = make_bucket()
    train = put_jsonl(
        bucket,
        f"{name}/train.jsonl",
        [conversation(f"Question {i}?", f"Answer {i}.") for i in range(12)],
    )
    bedrock = clients.client("bedrock")
    arn = bedrock.create_model_customization_job(
        jobName=name,
        customModelName=f"{name}-model",
        roleArn=make_role(),
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": train},
        outputDataConfig={"s3Uri": f"s3://{bucket}/out/"},
    )["jobArn"]
    job = _wait(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Completed"})
    return str(job["outputModelArn"])


def test_a_new_account_has_no_model_units_and_batch_refuses_endpoints(aws: StandIn) -> None:
    bedrock = clients.client("bedrock")
    model = _trained_nova("units")
    aws.play("new")
    error = _error(
        bedrock.create_provisioned_model_throughput,
        modelUnits=1,
        provisionedModelName="no-units",
        modelId=model,
    )
    assert error["Code"] == "ServiceQuotaExceededException"
    assert "does not currently have any no commitment model units" in error["Message"]
    assert catalog.CUSTOM_MODEL_UNITS in error["Message"]
    aws.play("established")
    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="with-units", modelId=model
    )["provisionedModelArn"]
    error = _error(
        bedrock.create_model_invocation_job,
        jobName="batch-on-pt",
        roleArn=make_role("batch-role"),
        modelId=pt,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://workshop-test-bucket/in/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://workshop-test-bucket/o/"}},
    )
    assert error["Code"] == "ValidationException"
    assert "provisioned models and custom model deployments are not supported" in error["Message"]


def test_the_account_and_day_come_from_the_environment_at_reset(
    aws: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOP_STANDIN_ACCOUNT", "new")
    monkeypatch.setenv("WORKSHOP_STANDIN_DATE", TITAN_ACTIVE)
    aws.reset()
    bedrock = aws.bedrock
    assert bedrock.account.kind == "new" and bedrock.today().isoformat() == TITAN_ACTIVE
    assert bedrock.quotas.value(catalog.CUSTOM_MODEL_UNITS) == 0
    monkeypatch.delenv("WORKSHOP_STANDIN_ACCOUNT")
    monkeypatch.delenv("WORKSHOP_STANDIN_DATE")
    aws.reset()
    assert bedrock.account.kind == "established" and bedrock.day is None
    assert bedrock.quotas.value(catalog.CUSTOM_MODEL_UNITS) == 2
    with pytest.raises(ValueError, match="account must be one of"):
        aws.play("brand-new")
