"""Batch inference: the stand-in's model invocation jobs and the client that uses them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from tests.helpers import (
    BEDROCK,
    NOTHING_LEFT,
    checked,
    dialogue_records,
    make_bucket,
    make_role,
    put_jsonl,
    remaining,
)
from utils import batch, cleanup, clients, s3
from utils.errors import WorkshopError
from utils.state import State


def _prompts(n: int) -> list[str]:
    records = dialogue_records(n)
    return [r["messages"][0]["content"][0]["text"] for r in records]


@pytest.fixture
def place(aws: StandIn) -> dict[str, str]:
    return {"bucket": make_bucket(), "role": make_role()}


def test_batch_answers_every_prompt_like_converse(
    place: dict[str, str], state: State, aws: StandIn
) -> None:
    prompts = _prompts(120)
    table = batch.generate(
        "amazon.nova-micro-v1:0",
        prompts,
        state=state,
        bucket=place["bucket"],
        role_arn=place["role"],
        system="Summarize.",
        interval=0.05,
        progress=False,
    )
    assert list(table["record"]) == list(range(120))
    assert table["error"].isna().all()
    # The same local model answers on demand: batch output must be identical.
    reply = clients.client("bedrock-runtime").converse(
        modelId="amazon.nova-micro-v1:0",
        messages=[{"role": "user", "content": [{"text": prompts[7]}]}],
        system=[{"text": "Summarize."}],
    )
    assert table.loc[7, "output"] == reply["output"]["message"]["content"][0]["text"]
    job = state.resources("batch-inference-job")[0]
    assert job["status"] == "Completed"
    described = clients.client("bedrock").get_model_invocation_job(jobIdentifier=job["arn"])
    checked(BEDROCK, "GetModelInvocationJob", described)
    assert described["successRecordCount"] == 120
    keys = s3.list_keys(place["bucket"], "batch/")
    assert any(k.endswith("manifest.json.out") for k in keys)
    manifest_key = next(k for k in keys if k.endswith("manifest.json.out"))
    manifest = json.loads(s3.read_bytes(s3.uri(place["bucket"], manifest_key)))
    assert manifest["totalRecordCount"] == 120 and manifest["errorRecordCount"] == 0


def test_too_few_records_are_refused_before_any_job(place: dict[str, str], state: State) -> None:
    with pytest.raises(WorkshopError, match="at least 100"):
        batch.generate(
            "amazon.nova-micro-v1:0",
            _prompts(5),
            state=state,
            bucket=place["bucket"],
            role_arn=place["role"],
        )
    assert state.resources() == []


def _create(place: dict[str, str], key: str, **extra: Any) -> str:
    return clients.client("bedrock").create_model_invocation_job(
        jobName=extra.pop("jobName", "bj"),
        roleArn=place["role"],
        modelId=extra.pop("modelId", "amazon.nova-lite-v1:0"),
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{place['bucket']}/{key}"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{place['bucket']}/out/"}},
        **extra,
    )["jobArn"]


def _wait(arn: str) -> dict[str, Any]:
    bedrock = clients.client("bedrock")
    for _ in range(200):
        job = bedrock.get_model_invocation_job(jobIdentifier=arn)
        if job["status"] in batch.TERMINAL:
            return job
        time.sleep(0.05)
    raise AssertionError("batch job never ended")


def test_small_input_fails_the_job_like_bedrock(place: dict[str, str]) -> None:
    body = "".join(
        json.dumps({"recordId": f"r{i}", "modelInput": batch.converse_input("hi")}) + "\n"
        for i in range(3)
    )
    clients.client("s3").put_object(Bucket=place["bucket"], Key="few.jsonl", Body=body.encode())
    job = _wait(_create(place, "few.jsonl", modelInvocationType="Converse"))
    assert job["status"] == "Failed"
    assert "at least 100" in job["message"]


def test_bad_records_get_errors_and_a_partial_status(
    place: dict[str, str], before_retirements: StandIn
) -> None:
    lines = [{"recordId": f"r{i}", "modelInput": {"inputText": f"text {i}"}} for i in range(100)]
    lines[4]["modelInput"] = {"neither": "format"}
    body = "".join(json.dumps(line) + "\n" for line in lines)
    clients.client("s3").put_object(Bucket=place["bucket"], Key="in/a.jsonl", Body=body.encode())
    arn = _create(place, "in/", modelId="amazon.titan-text-lite-v1")
    job = _wait(arn)
    assert job["status"] == "PartiallyCompleted"
    assert (job["successRecordCount"], job["errorRecordCount"]) == (99, 1)
    out = s3.read_bytes(f"s3://{place['bucket']}/out/{arn.rsplit('/', 1)[-1]}/a.jsonl.out")
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert "error" in records[4] and "modelOutput" not in records[4]
    assert records[0]["modelOutput"]["results"][0]["completionReason"] == "FINISH"


def test_image_records_are_answered_as_invoke_model_answers_them(place: dict[str, str]) -> None:
    from utils import charts, models

    shown = charts.make_examples(4, seed=9)
    question = "Describe this chart in one sentence."
    inputs = [
        models.invoke_request("amazon.nova-lite-v1:0", question, images=[shown[i % 4].png])
        for i in range(100)
    ]
    body = "".join(
        json.dumps({"recordId": f"r{i}", "modelInput": model_input}) + "\n"
        for i, model_input in enumerate(inputs)
    )
    clients.client("s3").put_object(Bucket=place["bucket"], Key="img.jsonl", Body=body.encode())
    arn = _create(place, "img.jsonl")
    assert _wait(arn)["status"] == "Completed"
    out = s3.read_bytes(f"s3://{place['bucket']}/out/{arn.rsplit('/', 1)[-1]}/img.jsonl.out")
    answers = [
        models.invoke_text("amazon.nova-lite-v1:0", json.loads(line)["modelOutput"])
        for line in out.decode().splitlines()
    ]
    runtime = clients.client("bedrock-runtime")
    for i in range(4):
        raw = runtime.invoke_model(modelId="amazon.nova-lite-v1:0", body=json.dumps(inputs[i]))
        assert answers[i] == models.invoke_text(
            "amazon.nova-lite-v1:0", json.loads(raw["body"].read())
        )
    assert len(set(answers[:4])) > 1  # the pixels, not the shared question, decide the answer


def test_unknown_model_and_unassumable_role_are_refused(place: dict[str, str]) -> None:
    with pytest.raises(ClientError) as caught:
        _create(place, "x.jsonl", modelId="acme.nothing-v1")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_list_stop_and_cleanup_stop_a_running_batch_job(
    place: dict[str, str], state: State, aws: StandIn
) -> None:
    aws.bedrock.job_seconds = 30
    try:
        arn = _create(place, "x.jsonl", jobName="long-job")
        listed = clients.client("bedrock").list_model_invocation_jobs()
        checked(BEDROCK, "ListModelInvocationJobs", listed)
        assert [j["jobName"] for j in listed["invocationJobSummaries"]] == ["long-job"]
        state.add_resource("batch-inference-job", "long-job", arn=arn)
        state.add_resource("s3-bucket", place["bucket"])
        state.add_resource("iam-role", "workshop-test-role")
        report = cleanup.cleanup(state)
        assert "stopped" in set(report["action"])
        assert _wait(arn)["status"] == "Stopped"
    finally:
        aws.bedrock.job_seconds = 0.3
    assert remaining() == NOTHING_LEFT


def test_compare_uses_one_batch_job_per_model_above_the_threshold(
    place: dict[str, str], state: State, aws: StandIn
) -> None:
    from utils import evaluation

    rows = dialogue_records(100)
    records = [
        {
            "prompt": r["messages"][0]["content"][0]["text"],
            "reference": "A customer returns an item.",
        }
        for r in rows
    ]
    settings = evaluation.BatchSettings(
        state=state, bucket=place["bucket"], role_arn=place["role"], threshold=100
    )
    runners = {
        "micro": evaluation.ConverseRunner("amazon.nova-micro-v1:0", system="Summarize."),
        "pro": evaluation.ConverseRunner("amazon.nova-pro-v1:0", system="Summarize."),
    }
    batched = evaluation.compare(runners, records, batch=settings, progress=False)
    online = evaluation.compare(runners, records, progress=False)
    assert len(state.resources("batch-inference-job")) == 2  # one job per model
    assert batched.failures == 0
    # Same local models either way, so the same outputs and scores.
    assert list(batched.outputs["output"]) == list(online.outputs["output"])
    assert batched.table().equals(online.table())
    small = evaluation.compare(
        runners, records[:10], batch=settings, progress=False
    )  # below the threshold: on demand, no new job
    assert small.failures == 0 and len(state.resources("batch-inference-job")) == 2


def test_compare_calls_endpoints_one_record_at_a_time_since_batch_refuses_them(
    place: dict[str, str], state: State, aws: StandIn
) -> None:
    from utils import deploy, evaluation, jobs

    rows = dialogue_records(100)
    train = put_jsonl(place["bucket"], "ft/train.jsonl", rows[:24])
    job = jobs.start(state=state, key="ft", base_model="amazon.nova-micro-v1:0",
                     training_uri=train, output_uri=f"s3://{place['bucket']}/ft/out/",
                     role_arn=place["role"], hyperparameters={"epochCount": 1})  # fmt: skip
    model_arn = jobs.wait(job, state, interval=0.05, progress=False)["outputModelArn"]
    endpoint = deploy.serve(state=state, key="ft", model_arn=model_arn,
                            base_model="amazon.nova-micro-v1:0", name_prefix="ft")  # fmt: skip
    deploy.wait_ready(endpoint, state, interval=0.05, progress=False)
    records = [{"prompt": r["messages"][0]["content"][0]["text"], "reference": "x"} for r in rows]
    settings = evaluation.BatchSettings(
        state=state, bucket=place["bucket"], role_arn=place["role"], threshold=100
    )
    runners = {
        "base": evaluation.ConverseRunner("amazon.nova-micro-v1:0"),
        "tuned": evaluation.ConverseRunner(endpoint.arn),
    }
    result = evaluation.compare(runners, records, batch=settings, progress=False)
    assert result.failures == 0
    assert len(state.resources("batch-inference-job")) == 1  # the base model only
    assert result.outputs.groupby("model")["output"].count().to_dict() == {
        "base": 100,
        "tuned": 100,
    }
