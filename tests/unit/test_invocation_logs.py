"""Model invocation logging and distillation from the logs, against the local stand-in."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from standin.bedrock import ACCOUNT_ID
from tests.helpers import NOTHING_LEFT, make_bucket, make_role, remaining
from utils import cleanup, clients, invocation_logs, jobs
from utils.errors import WorkshopError
from utils.state import State

TEACHER = "amazon.nova-pro-v1:0"
STUDENT = "amazon.nova-micro-v1:0"
TAGS = {"workshop": "distillation", "use-case": "summaries"}
SYSTEM = "You summarize dialogues."


def _config(bucket: str, prefix: str = "logs") -> dict[str, Any]:
    return {
        "s3Config": {"bucketName": bucket, "keyPrefix": prefix},
        "textDataDeliveryEnabled": True,
    }


def _policy(bucket: str) -> dict[str, Any]:
    return json.loads(clients.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])


def _ask(model_id: str, prompts: list[str], metadata: dict[str, str] | None) -> None:
    runtime = clients.client("bedrock-runtime")
    for prompt in prompts:
        request: dict[str, Any] = {
            "modelId": model_id,
            "system": [{"text": SYSTEM}],
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": 120},
        }
        if metadata:
            request["requestMetadata"] = metadata
        runtime.converse(**request)


def _prompts(n: int, start: int = 0) -> list[str]:
    from utils.datasets import load_bundled_dialogues, summary_prompt

    rows = load_bundled_dialogues()
    return [summary_prompt(r["dialogue"]) for r in rows[start : start + n]]


def test_logging_is_refused_until_the_bucket_policy_lets_bedrock_write(aws: StandIn) -> None:
    bucket = make_bucket()
    bedrock = clients.client("bedrock")
    with pytest.raises(ClientError) as caught:
        bedrock.put_model_invocation_logging_configuration(loggingConfig=_config(bucket))
    message = caught.value.response["Error"]["Message"]
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "bedrock.amazonaws.com" in message and f"s3://{bucket}/logs" in message

    # A statement for another account does not count: its condition does not hold.
    wrong = invocation_logs.bucket_policy_statement(bucket, "logs", "999999999999", "us-east-1")
    clients.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [wrong]})
    )
    with pytest.raises(ClientError):
        bedrock.put_model_invocation_logging_configuration(loggingConfig=_config(bucket))

    invocation_logs.allow_bedrock_logging(bucket, "logs", ACCOUNT_ID, "us-east-1")
    statements = _policy(bucket)["Statement"]
    assert len(statements) == 1  # the workshop's statement replaced its own older one
    assert statements[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:*"},
    }
    assert statements[0]["Resource"] == f"arn:aws:s3:::{bucket}/logs/AWSLogs/{ACCOUNT_ID}/*"
    bedrock.put_model_invocation_logging_configuration(loggingConfig=_config(bucket))
    got = bedrock.get_model_invocation_logging_configuration()["loggingConfig"]
    assert got["s3Config"] == {"bucketName": bucket, "keyPrefix": "logs"}


def test_allow_keeps_other_statements_of_the_bucket_policy(aws: StandIn) -> None:
    bucket = make_bucket()
    other = {
        "Sid": "SomeoneElse",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    clients.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]})
    )
    invocation_logs.allow_bedrock_logging(bucket, "logs", ACCOUNT_ID, "us-east-1")
    invocation_logs.allow_bedrock_logging(bucket, "logs", ACCOUNT_ID, "us-east-1")
    sids = [st["Sid"] for st in _policy(bucket)["Statement"]]
    assert sids == ["SomeoneElse", invocation_logs.POLICY_SID]


def test_calls_are_delivered_as_gzipped_log_records_with_their_metadata(
    aws: StandIn, state: State
) -> None:
    bucket = make_bucket()
    invocation_logs.enable(state, bucket, "logs")
    _ask(TEACHER, _prompts(3), TAGS)
    clients.client("bedrock-runtime").invoke_model(
        modelId="us.meta.llama3-1-8b-instruct-v1:0",
        body=json.dumps({"prompt": "Say hello.", "max_gen_len": 20}),
        requestMetadata=json.dumps({"workshop": "other"}),
    )
    records = invocation_logs.wait_for_logs(bucket, "logs", TAGS, 3, timeout=10, interval=0.1)
    assert len(records) == 3
    first = records[0]
    assert first["operation"] == "Converse" and first["modelId"] == TEACHER
    assert first["requestMetadata"] == TAGS
    assert first["accountId"] == ACCOUNT_ID and first["region"] == "us-east-1"
    prompt, system, answer = invocation_logs.parse_record(first)
    assert prompt == _prompts(1)[0] and system == SYSTEM and answer
    assert first["output"]["outputTokenCount"] == len(answer.split())

    everything = invocation_logs.read_logs(bucket, "logs")
    assert len(everything) == 4
    llama = next(r for r in everything if r["operation"] == "InvokeModel")
    assert llama["requestMetadata"] == {"workshop": "other"}
    assert invocation_logs.parse_record(llama)[2] == llama["output"]["outputBodyJson"]["generation"]
    keys = [k for k in clients.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    prefix = f"logs/AWSLogs/{ACCOUNT_ID}/BedrockModelInvocationLogs/us-east-1/"
    assert all(k["Key"].startswith(prefix) and k["Key"].endswith(".json.gz") for k in keys)
    raw = clients.client("s3").get_object(Bucket=bucket, Key=keys[0]["Key"])["Body"].read()
    assert json.loads(gzip.decompress(raw).splitlines()[0])["schemaType"] == "ModelInvocationLog"


def test_calls_made_while_logging_is_off_are_not_logged(aws: StandIn, state: State) -> None:
    bucket = make_bucket()
    _ask(TEACHER, _prompts(2), TAGS)
    invocation_logs.enable(state, bucket, "logs")
    _ask(TEACHER, _prompts(1, start=5), TAGS)
    records = invocation_logs.wait_for_logs(bucket, "logs", TAGS, 1, timeout=10, interval=0.1)
    assert [invocation_logs.parse_record(r)[0] for r in records] == _prompts(1, start=5)


def test_a_malformed_metadata_header_is_refused(aws: StandIn) -> None:
    with pytest.raises(ClientError) as caught:
        clients.client("bedrock-runtime").invoke_model(
            modelId="us.meta.llama3-1-8b-instruct-v1:0",
            body=json.dumps({"prompt": "Hi"}),
            requestMetadata="not json",
        )
    assert "X-Amzn-Bedrock-Request-Metadata" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("filters", "metadata", "expected"),
    [
        (None, None, True),
        ({"equals": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"equals": {"a": "1"}}, {"a": "2"}, False),
        ({"equals": {"a": "1"}}, None, False),
        ({"notEquals": {"a": "1"}}, {"a": "2"}, True),
        ({"notEquals": {"a": "1"}}, {}, True),
        ({"andAll": [{"equals": {"a": "1"}}, {"equals": {"b": "2"}}]}, {"a": "1", "b": "2"}, True),
        ({"andAll": [{"equals": {"a": "1"}}, {"equals": {"b": "2"}}]}, {"a": "1", "b": "3"}, False),
        ({"orAll": [{"equals": {"a": "1"}}, {"equals": {"b": "2"}}]}, {"a": "0", "b": "2"}, True),
        ({"orAll": [{"equals": {"a": "1"}}, {"notEquals": {"b": "2"}}]}, {"b": "2"}, False),
    ],
)
def test_metadata_filters_match_as_bedrock_describes(
    filters: dict[str, Any] | None, metadata: dict[str, str] | None, expected: bool
) -> None:
    assert invocation_logs.matches(filters, metadata) is expected


def test_several_tags_are_combined_with_and_all() -> None:
    assert invocation_logs.metadata_filters({"a": "1"}) == {"equals": {"a": "1"}}
    assert invocation_logs.metadata_filters(TAGS) == {
        "andAll": [
            {"equals": {"workshop": "distillation"}},
            {"equals": {"use-case": "summaries"}},
        ]
    }
    with pytest.raises(WorkshopError):
        invocation_logs.metadata_filters({})


def test_enable_refuses_to_replace_another_configuration_then_cleanup_restores_it(
    aws: StandIn, state: State
) -> None:
    theirs = make_bucket("someone-elses-logs")
    invocation_logs.allow_bedrock_logging(theirs, "theirs", ACCOUNT_ID, "us-east-1")
    bedrock = clients.client("bedrock")
    bedrock.put_model_invocation_logging_configuration(loggingConfig=_config(theirs, "theirs"))
    ours = make_bucket()
    with pytest.raises(WorkshopError) as caught:
        invocation_logs.enable(state, ours, "logs")
    assert "s3://someone-elses-logs/theirs" in str(caught.value)
    assert "replace_existing_logging=True" in str(caught.value)
    assert state.resources(invocation_logs.RESOURCE_KIND) == []

    invocation_logs.enable(state, ours, "logs", replace_existing=True)
    assert invocation_logs.current_configuration()["s3Config"]["bucketName"] == ours
    table = cleanup.cleanup(state)
    row = table[table["kind"] == invocation_logs.RESOURCE_KIND].iloc[0]
    assert row["action"] == "restored: delivers to s3://someone-elses-logs/theirs again"
    assert not row["remains"]
    assert invocation_logs.current_configuration()["s3Config"]["bucketName"] == theirs


def test_disable_leaves_alone_a_configuration_changed_since(aws: StandIn, state: State) -> None:
    ours = make_bucket()
    invocation_logs.enable(state, ours, "logs")
    theirs = make_bucket("someone-elses-logs")
    invocation_logs.allow_bedrock_logging(theirs, "theirs", ACCOUNT_ID, "us-east-1")
    clients.client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig=_config(theirs, "theirs")
    )
    assert invocation_logs.disable(state) == "left alone: it was changed since"
    assert invocation_logs.current_configuration()["s3Config"]["bucketName"] == theirs
    assert invocation_logs.disable(state) == "not switched on by the workshop"


def _start(
    state: State, bucket: str, role: str, *, use_prompt_response: bool = False, **tags: str
) -> jobs.Job:
    return jobs.start(
        state=state,
        key="distil-logs",
        base_model=STUDENT,
        training_data_config=invocation_logs.training_data_config(
            bucket, "logs", tags or TAGS, use_prompt_response=use_prompt_response
        ),
        output_uri=f"s3://{bucket}/output/",
        role_arn=role,
        customization_type="DISTILLATION",
        customization_config={
            "distillationConfig": {
                "teacherModelConfig": {
                    "teacherModelIdentifier": TEACHER,
                    "maxResponseLengthForInference": 200,
                }
            }
        },
    )


def test_distillation_learns_from_the_tagged_logged_calls_only(aws: StandIn, state: State) -> None:
    bucket = make_bucket()
    role = make_role()
    invocation_logs.enable(state, bucket, "logs")
    _ask(TEACHER, _prompts(110), TAGS)
    _ask(TEACHER, _prompts(20, start=110), {"workshop": "something-else"})
    logged = invocation_logs.wait_for_logs(bucket, "logs", TAGS, 110, timeout=20, interval=0.1)
    assert len(logged) == 110
    job = _start(state, bucket, role, use_prompt_response=True)
    final = jobs.wait(job, state, interval=0.1, progress=False)
    assert final["status"] == "Completed", final.get("failureMessage")
    logs_config = final["trainingDataConfig"]["invocationLogsConfig"]
    assert logs_config["requestMetadataFilters"]["andAll"][0] == {
        "equals": {"workshop": "distillation"}
    }
    training, validation = jobs.metrics(job)
    assert len(training) > 0
    # 110 logged calls with every tenth held back: 11 pairs measure each validation pass.
    assert validation is not None and validation["validation_loss"].notna().all()

    # With only 20 tagged calls, the job fails and says how many it found.
    retry = jobs.start(
        state=state,
        key="distil-few",
        base_model=STUDENT,
        training_data_config=invocation_logs.training_data_config(
            bucket, "logs", {"workshop": "something-else"}
        ),
        output_uri=f"s3://{bucket}/output/",
        role_arn=role,
        customization_type="DISTILLATION",
        customization_config=final["customizationConfig"],
    )
    with pytest.raises(WorkshopError) as caught:
        jobs.wait(retry, state, interval=0.1, progress=False)
    assert "hold 20 calls" in str(caught.value) and "at least 100" in str(caught.value)


def test_prompt_response_pairs_must_come_from_the_teacher(aws: StandIn, state: State) -> None:
    bucket = make_bucket()
    invocation_logs.enable(state, bucket, "logs")
    _ask("amazon.nova-lite-v1:0", _prompts(100), TAGS)
    invocation_logs.wait_for_logs(bucket, "logs", TAGS, 100, timeout=20, interval=0.1)
    job = _start(state, bucket, make_role(), use_prompt_response=True)
    with pytest.raises(WorkshopError) as caught:
        jobs.wait(job, state, interval=0.1, progress=False)
    assert f"hold 0 calls answered by the teacher {TEACHER}" in str(caught.value)
    assert "100 of 100 records matched" in str(caught.value)
    # Prompts only: any model's prompts do, and the teacher answers them itself.
    prompts_only = jobs.start(
        state=state,
        key="distil-prompts",
        base_model=STUDENT,
        training_data_config=invocation_logs.training_data_config(bucket, "logs", TAGS),
        output_uri=f"s3://{bucket}/output/",
        role_arn=make_role("second-role"),
        customization_type="DISTILLATION",
        customization_config={
            "distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": TEACHER}}
        },
    )
    assert jobs.wait(prompts_only, state, interval=0.1, progress=False)["status"] == "Completed"


@pytest.mark.parametrize(
    ("filters", "needle"),
    [
        ({"equals": {"a": "1"}, "notEquals": {"b": "2"}}, "Can only set one of"),
        ({"andAll": [{"equals": {"a": "1", "b": "2"}}]}, "one key"),
    ],
)
def test_a_filter_bedrock_would_refuse_is_refused_at_creation(
    aws: StandIn, filters: dict[str, Any], needle: str
) -> None:
    import boto3
    from botocore.config import Config

    bucket = make_bucket()
    # botocore refuses a two-member union itself; the service must refuse it too.
    raw = boto3.client(
        "bedrock", endpoint_url=aws.endpoint, config=Config(parameter_validation=False)
    )
    with pytest.raises(ClientError) as caught:
        raw.create_model_customization_job(
            jobName="bad-filter",
            customModelName="bad-filter-model",
            roleArn=make_role(),
            baseModelIdentifier="amazon.nova-micro-v1:0:128k",
            customizationType="DISTILLATION",
            customizationConfig={
                "distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": TEACHER}}
            },
            trainingDataConfig={
                "invocationLogsConfig": {
                    "invocationLogSource": {"s3Uri": f"s3://{bucket}/logs/"},
                    "requestMetadataFilters": filters,
                }
            },
            outputDataConfig={"s3Uri": f"s3://{bucket}/output/"},
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert needle in caught.value.response["Error"]["Message"]


def test_cleanup_switches_logging_off_before_the_bucket_goes_twice_safely(
    aws: StandIn, state: State
) -> None:
    from utils import s3

    bucket = s3.ensure_bucket("workshop-logs-bucket", "us-east-1", state)
    invocation_logs.enable(state, bucket, "logs")
    _ask(TEACHER, _prompts(2), TAGS)
    invocation_logs.wait_for_logs(bucket, "logs", TAGS, 2, timeout=10, interval=0.1)
    dry = cleanup.cleanup(state, dry_run=True)
    assert list(dry["kind"]) == [invocation_logs.RESOURCE_KIND, "s3-bucket"]
    table = cleanup.cleanup(state)
    assert list(table["action"]) == ["switched off", "deleted"]
    assert not table["remains"].any()
    assert remaining() == NOTHING_LEFT
    assert cleanup.cleanup(state).empty
