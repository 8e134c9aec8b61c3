"""The local stand-in: every Bedrock operation it serves, checked against botocore's model."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from standin.restjson import output_problems
from tests.helpers import (
    BEDROCK,
    RUNTIME,
    checked,
    dialogue_records,
    make_bucket,
    make_import_role,
    make_role,
    put_jsonl,
    put_tiny_llama,
)
from utils import clients


def _wait_status(fetch: Any, wanted: set[str], timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = fetch()
        status = found.get("status")
        if status in wanted:
            return found
        assert time.monotonic() < deadline, f"still {status}"
        time.sleep(0.1)


TITAN_ERA = "2025-01-15"
"""A day when Titan Text G1 was still Active, to exercise continued pre-training."""


@pytest.fixture
def titan_era(aws: StandIn) -> StandIn:
    """The stand-in playing an established account on a day Titan Text could be trained."""
    aws.play("established", TITAN_ERA)
    return aws


def _start_job(role: str, train_uri: str, name: str = "job-a", **extra: Any) -> str:
    request = {
        "jobName": name,
        "customModelName": f"{name}-model",
        "roleArn": role,
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "trainingDataConfig": {"s3Uri": train_uri},
        "outputDataConfig": {"s3Uri": "s3://workshop-test-bucket/output/"},
        "hyperParameters": {"epochCount": "2"},
    }
    request.update(extra)
    return clients.client("bedrock").create_model_customization_job(**request)["jobArn"]


@pytest.fixture
def trained(established: StandIn, aws: StandIn) -> dict[str, str]:
    """A completed fine-tuning job with validation data, in an empty stand-in."""
    bucket = make_bucket()
    role = make_role()
    records = dialogue_records(30)
    train = put_jsonl(bucket, "data/train.jsonl", records[:24])
    val = put_jsonl(bucket, "data/validation.jsonl", records[24:])
    arn = _start_job(role, train, validationDataConfig={"validators": [{"s3Uri": val}]})
    bedrock = clients.client("bedrock")
    job = _wait_status(
        lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Completed"}
    )
    return {"job": arn, "model": job["outputModelArn"], "role": role, "bucket": bucket}


def test_every_served_operation_matches_botocore_output_shapes(
    established: StandIn, trained: dict[str, str], aws: StandIn
) -> None:
    bedrock = clients.client("bedrock")
    runtime = clients.client("bedrock-runtime")
    seen = set()

    def call(operation: str, **kw: Any) -> dict[str, Any]:
        model, client = (RUNTIME, runtime) if operation == "Converse" else (BEDROCK, bedrock)
        seen.add(operation)
        if operation == "Converse":
            return checked(model, operation, client.converse(**kw))
        snake = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        return checked(model, operation, getattr(client, snake)(**kw))

    train = "s3://workshop-test-bucket/data/train.jsonl"
    output = {"s3Uri": "s3://workshop-test-bucket/output/"}
    call("ListFoundationModels")
    call("GetFoundationModel", modelIdentifier="amazon.nova-micro-v1:0:128k")
    profiles = call("ListInferenceProfiles")["inferenceProfileSummaries"]
    assert "us.amazon.nova-micro-v1:0" in {p["inferenceProfileId"] for p in profiles}
    call("GetInferenceProfile", inferenceProfileIdentifier="us.amazon.nova-micro-v1:0")
    available = call("GetFoundationModelAvailability", modelId="amazon.nova-micro-v1:0")
    assert available["authorizationStatus"] == "AUTHORIZED"
    call("GetModelCustomizationJob", jobIdentifier=trained["job"])
    call("ListModelCustomizationJobs")
    call("GetCustomModel", modelIdentifier=trained["model"])
    call("ListCustomModels")
    pt = call(
        "CreateProvisionedModelThroughput",
        modelUnits=1,
        provisionedModelName="pt-a",
        modelId=trained["model"],
    )["provisionedModelArn"]
    _wait_status(
        lambda: call("GetProvisionedModelThroughput", provisionedModelId=pt), {"InService"}
    )
    call("ListProvisionedModelThroughputs")
    message = [{"role": "user", "content": [{"text": "Summarize: #Person1#: Hi."}]}]
    call("Converse", modelId=pt, messages=message)
    body = json.dumps({"schemaVersion": "messages-v1", "messages": message})
    resp = runtime.invoke_model(modelId="amazon.nova-lite-v1:0", body=body)
    seen.add("InvokeModel")
    payload = json.loads(resp["body"].read())
    assert payload["output"]["message"]["role"] == "assistant"
    usage = payload["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    call("DeleteProvisionedModelThroughput", provisionedModelId=pt)
    dep = call(
        "CreateCustomModelDeployment", modelDeploymentName="dep-a", modelArn=trained["model"]
    )["customModelDeploymentArn"]
    _wait_status(lambda: call("GetCustomModelDeployment", customModelDeploymentIdentifier=dep),
                 {"Active"})  # fmt: skip
    call("ListCustomModelDeployments")
    call("Converse", modelId=dep, messages=message)
    call("DeleteCustomModelDeployment", customModelDeploymentIdentifier=dep)
    call("DeleteCustomModel", modelIdentifier=trained["model"])
    second = _start_job(trained["role"], train, "job-b")
    call(
        "CreateModelCustomizationJob",
        jobName="job-c",
        customModelName="job-c-model",
        roleArn=trained["role"],
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": train},
        outputDataConfig=output,
    )
    call("StopModelCustomizationJob", jobIdentifier=second)
    batch_job = call(
        "CreateModelInvocationJob",
        jobName="batch-a",
        roleArn=trained["role"],
        modelId="amazon.nova-micro-v1:0",
        modelInvocationType="Converse",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": train}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": output["s3Uri"]}},
    )["jobArn"]
    call("GetModelInvocationJob", jobIdentifier=batch_job)
    call("ListModelInvocationJobs")
    call("StopModelInvocationJob", jobIdentifier=batch_job)
    call("GetModelInvocationLoggingConfiguration")
    folder = put_tiny_llama(trained["bucket"], "models/tiny")
    import_job = call(
        "CreateModelImportJob",
        jobName="import-a",
        importedModelName="imported-a",
        roleArn=make_import_role(trained["bucket"]),
        modelDataSource={"s3DataSource": {"s3Uri": folder}},
    )["jobArn"]
    imported = _wait_status(
        lambda: call("GetModelImportJob", jobIdentifier=import_job), {"Completed", "Failed"}
    )
    assert imported["status"] == "Completed", imported.get("failureMessage")
    call("ListModelImportJobs")
    call("GetImportedModel", modelIdentifier=imported["importedModelArn"])
    call("ListImportedModels")
    call("DeleteImportedModel", modelIdentifier="imported-a")
    from utils.invocation_logs import allow_bedrock_logging

    allow_bedrock_logging("workshop-test-bucket", "logs", "123456789012", "us-east-1")
    logging_config = {
        "s3Config": {"bucketName": "workshop-test-bucket", "keyPrefix": "logs"},
        "textDataDeliveryEnabled": True,
    }
    call("PutModelInvocationLoggingConfiguration", loggingConfig=logging_config)
    assert call("GetModelInvocationLoggingConfiguration")["loggingConfig"] == logging_config
    call("DeleteModelInvocationLoggingConfiguration")
    with pytest.raises(ClientError) as refused:  # Nova does not count tokens, as on Bedrock
        runtime.count_tokens(
            modelId="amazon.nova-micro-v1:0", input={"converse": {"messages": message}}
        )
    assert "doesn't support counting tokens" in refused.value.response["Error"]["Message"]
    aws.play("established", TITAN_ERA)  # Claude 3 Haiku counts, before its end of life
    counted = runtime.count_tokens(
        modelId="anthropic.claude-3-haiku-20240307-v1:0",
        input={"converse": {"messages": message}},
    )
    seen.add("CountTokens")
    checked(RUNTIME, "CountTokens", counted)
    assert counted["inputTokens"] > 3
    # The streaming operations need a loaded imported model: test_standin_imported_runtime.py
    # checks their answers (and every event) against the shapes.
    seen |= {"ConverseStream", "InvokeModelWithResponseStream"}
    assert seen == set(aws.bedrock.service.operations)


def test_job_writes_measured_metrics_at_bedrock_layout(trained: dict[str, str]) -> None:
    s3 = clients.client("s3")
    job_id = trained["job"].rsplit("/", 1)[-1]
    prefix = f"output/model-customization-job-{job_id}"
    steps = (
        s3.get_object(
            Bucket=trained["bucket"],
            Key=f"{prefix}/training_artifacts/step_wise_training_metrics.csv",
        )["Body"]
        .read()
        .decode()
    )
    rows = [line.split(",") for line in steps.strip().splitlines()]
    assert rows[0] == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert len(rows) > 2
    losses = [float(r[2]) for r in rows[1:]]
    assert all(loss > 0 for loss in losses)
    validation = (
        s3.get_object(
            Bucket=trained["bucket"],
            Key=f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
        )["Body"]
        .read()
        .decode()
    )
    assert validation.splitlines()[0].startswith("step_number,epoch_number,validation_loss")
    job = clients.client("bedrock").get_model_customization_job(jobIdentifier=trained["job"])
    assert job["trainingMetrics"]["trainingLoss"] == pytest.approx(losses[-1])
    assert job["hyperParameters"]["epochCount"] == "2"


def test_identifiers_work_as_names_or_arns(trained: dict[str, str]) -> None:
    bedrock = clients.client("bedrock")
    by_arn = bedrock.get_model_customization_job(jobIdentifier=trained["job"])
    by_name = bedrock.get_model_customization_job(jobIdentifier="job-a")
    assert by_arn["jobArn"] == by_name["jobArn"] == trained["job"]
    model = bedrock.get_custom_model(modelIdentifier="job-a-model")
    assert model["modelArn"] == trained["model"]


def test_missing_training_data_fails_the_job_with_a_message(aws: StandIn) -> None:
    make_bucket()
    arn = _start_job(make_role(), "s3://workshop-test-bucket/data/nothing-here.jsonl")
    bedrock = clients.client("bedrock")
    job = _wait_status(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Failed"})
    assert "nothing-here.jsonl" in job["failureMessage"]
    assert "outputModelArn" not in job
    assert bedrock.list_custom_models()["modelSummaries"] == []


def test_malformed_training_data_names_the_line(aws: StandIn) -> None:
    bucket = make_bucket()
    records = dialogue_records(10)
    body = "".join(json.dumps(r) + "\n" for r in records[:3]) + "{not json\n"
    clients.client("s3").put_object(Bucket=bucket, Key="bad.jsonl", Body=body.encode())
    arn = _start_job(make_role(), f"s3://{bucket}/bad.jsonl")
    bedrock = clients.client("bedrock")
    job = _wait_status(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Failed"})
    assert f"s3://{bucket}/bad.jsonl" in job["failureMessage"]
    assert "line 4: the line is not valid JSON" in job["failureMessage"]
    assert "at least 8" in job["failureMessage"]


def test_roles_out_of_order_fail_the_job(aws: StandIn) -> None:
    bucket = make_bucket()
    records = dialogue_records(10)
    records[2]["messages"].reverse()
    train = put_jsonl(bucket, "swapped.jsonl", records)
    arn = _start_job(make_role(), train)
    bedrock = clients.client("bedrock")
    job = _wait_status(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Failed"})
    assert "swapped.jsonl" in job["failureMessage"]
    assert "line 3: messages[0] has role 'assistant'" in job["failureMessage"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"hyperParameters": {"epochCount": "9"}}, "Valid range is [1, 5]"),
        ({"hyperParameters": {"batchSize": "8"}}, "batchSize are not supported"),
        ({"baseModelIdentifier": "amazon.nova-micro-v1:0"}, "amazon.nova-micro-v1:0:128k"),
        ({"baseModelIdentifier": "acme.unknown-v1:0"}, "cannot be customized"),
        ({"customizationType": "CONTINUED_PRE_TRAINING"}, "does not support"),
    ],
)
def test_bad_requests_get_a_validation_exception(
    aws: StandIn, change: dict[str, Any], needle: str
) -> None:
    make_bucket()
    with pytest.raises(ClientError) as caught:
        _start_job(make_role(), "s3://workshop-test-bucket/x.jsonl", **change)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert needle in caught.value.response["Error"]["Message"]
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )


def test_role_that_bedrock_cannot_assume_is_refused(aws: StandIn) -> None:
    make_bucket()
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
           "Principal": {"Service": "ec2.amazonaws.com"}}]}  # fmt: skip
    role = clients.client("iam").create_role(
        RoleName="ec2-role", AssumeRolePolicyDocument=json.dumps(doc)
    )["Role"]["Arn"]
    with pytest.raises(ClientError, match=r"bedrock\.amazonaws\.com"):
        _start_job(role, "s3://workshop-test-bucket/x.jsonl")


def test_duplicate_job_name_conflicts_but_same_token_is_idempotent(aws: StandIn) -> None:
    make_bucket()
    role = make_role()
    first = _start_job(role, "s3://workshop-test-bucket/x.jsonl", clientRequestToken="tok-1")
    again = _start_job(role, "s3://workshop-test-bucket/x.jsonl", clientRequestToken="tok-1")
    assert first == again
    with pytest.raises(ClientError) as caught:
        _start_job(role, "s3://workshop-test-bucket/x.jsonl")
    assert caught.value.response["Error"]["Code"] == "ConflictException"


def test_stop_ends_a_running_job_stopped(aws: StandIn) -> None:
    aws.bedrock.job_seconds = 30
    try:
        make_bucket()
        arn = _start_job(make_role(), "s3://workshop-test-bucket/x.jsonl")
        bedrock = clients.client("bedrock")
        bedrock.stop_model_customization_job(jobIdentifier=arn)
        job = _wait_status(
            lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Stopped"}
        )
        assert "endTime" in job
    finally:
        aws.bedrock.job_seconds = 0.3


def test_custom_model_answers_only_through_its_throughput(
    established: StandIn, trained: dict[str, str]
) -> None:
    bedrock = clients.client("bedrock")
    runtime = clients.client("bedrock-runtime")
    message = [{"role": "user", "content": [{"text": "Summarize: #Person1#: Hello."}]}]
    with pytest.raises(ClientError) as caught:
        runtime.converse(modelId=trained["model"], messages=message)
    assert "provisioned throughput" in caught.value.response["Error"]["Message"]
    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-b", modelId=trained["model"]
    )["provisionedModelArn"]
    with pytest.raises(ClientError) as caught:
        bedrock.delete_custom_model(modelIdentifier=trained["model"])
    assert caught.value.response["Error"]["Code"] == "ConflictException"
    _wait_status(
        lambda: bedrock.get_provisioned_model_throughput(provisionedModelId=pt), {"InService"}
    )
    reply = runtime.converse(modelId=pt, messages=message)
    headers = reply["ResponseMetadata"]["HTTPHeaders"]
    assert clients.LOCAL_MARKER_HEADER in headers
    assert reply["output"]["message"]["content"][0]["text"].strip()


def test_foundation_models_filter_by_customization_type(aws: StandIn) -> None:
    bedrock = clients.client("bedrock")
    fine = bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")["modelSummaries"]
    cpt = bedrock.list_foundation_models(byCustomizationType="CONTINUED_PRE_TRAINING")[
        "modelSummaries"
    ]
    fine_ids = {m["modelId"] for m in fine}
    assert "amazon.nova-micro-v1:0:128k" in fine_ids
    assert "amazon.nova-micro-v1:0" not in fine_ids
    # Titan Text G1, the only family Bedrock pre-trains further, has reached end of life.
    assert cpt == []
    aws.play("established", TITAN_ERA)
    cpt = bedrock.list_foundation_models(byCustomizationType="CONTINUED_PRE_TRAINING")
    assert {m["modelId"] for m in cpt["modelSummaries"]} == {
        "amazon.titan-text-lite-v1:0:4k",
        "amazon.titan-text-express-v1:0:8k",
    }
    with pytest.raises(ClientError) as caught:
        bedrock.get_foundation_model(modelIdentifier="acme.nothing-v1")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_base_model_answers_deterministically(aws: StandIn) -> None:
    runtime = clients.client("bedrock-runtime")
    message = [{"role": "user", "content": [{"text": dialogue_records(1)[0]["messages"][0]
                ["content"][0]["text"]}]}]  # fmt: skip
    first = runtime.converse(modelId="amazon.nova-micro-v1:0", messages=message)
    second = runtime.converse(modelId="us.amazon.nova-micro-v1:0", messages=message)
    text = first["output"]["message"]["content"][0]["text"]
    assert text == second["output"]["message"]["content"][0]["text"]
    assert text.strip()
    assert first["stopReason"] in ("end_turn", "max_tokens")


MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k"


def test_output_check_catches_a_bad_enum() -> None:
    op = BEDROCK.operation_model("GetProvisionedModelThroughput")
    now = time.time()
    good = {
        "modelUnits": 1, "desiredModelUnits": 1, "provisionedModelName": "p",
        "provisionedModelArn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x",
        "modelArn": MODEL, "desiredModelArn": MODEL, "foundationModelArn": MODEL,
        "status": "InService", "creationTime": now, "lastModifiedTime": now,
    }  # fmt: skip
    assert output_problems(op, good) == []
    assert any("Running" in p for p in output_problems(op, {**good, "status": "Running"}))
    assert output_problems(op, {k: v for k, v in good.items() if k != "status"})


def test_admin_health_and_unknown_routes(aws: StandIn) -> None:
    assert json.loads(aws.request("/_workshop/health"))["ok"] is True
    with pytest.raises(urllib.error.HTTPError) as caught:
        aws.request("/_workshop/nothing")
    assert caught.value.code == 404


def test_the_standin_speaks_tls_with_a_certificate_clients_are_told_to_trust(
    aws: StandIn,
) -> None:
    import ssl

    assert aws.endpoint.startswith("https://127.0.0.1:")
    assert aws.env["AWS_CA_BUNDLE"] == str(aws.ca_bundle)
    # Without the bundle the certificate is not trusted: it is the stand-in's own.
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(aws.endpoint + "/_workshop/health", timeout=5)
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_reset_forgets_everything(trained: dict[str, str], aws: StandIn) -> None:
    aws.reset()
    bedrock = clients.client("bedrock")
    assert bedrock.list_custom_models()["modelSummaries"] == []
    assert clients.client("s3").list_buckets()["Buckets"] == []


def _domain_records(n: int) -> list[dict[str, str]]:
    """``n`` continued pre-training records of about 100 words of AWS API documentation."""
    from utils import corpus

    records, current = [], []
    for paragraph in corpus.botocore_documentation(("bedrock", "s3")):
        current.append(paragraph)
        if sum(len(p.split()) for p in current) >= 100:
            records.append({"input": " ".join(current)})
            current = []
            if len(records) == n:
                break
    return records


def _start_cpt_job(role: str, train_uri: str, name: str = "cpt-a", **extra: Any) -> str:
    return _start_job(
        role,
        train_uri,
        name,
        baseModelIdentifier="amazon.titan-text-lite-v1:0:4k",
        customizationType="CONTINUED_PRE_TRAINING",
        hyperParameters={"epochCount": "2", "batchSize": "2"},
        **extra,
    )


def test_continued_pretraining_job_learns_the_domain(titan_era: StandIn) -> None:
    bucket = make_bucket()
    records = _domain_records(140)
    train = put_jsonl(bucket, "cpt/train.jsonl", records[:120])
    val = put_jsonl(bucket, "cpt/validation.jsonl", records[120:])
    arn = _start_cpt_job(make_role(), train, validationDataConfig={"validators": [{"s3Uri": val}]})
    bedrock = clients.client("bedrock")
    job = _wait_status(
        lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Completed", "Failed"}
    )
    assert job["status"] == "Completed", job.get("failureMessage")
    checked(BEDROCK, "GetModelCustomizationJob", job)
    assert job["customizationType"] == "CONTINUED_PRE_TRAINING"
    model = bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])
    assert model["customizationType"] == "CONTINUED_PRE_TRAINING"

    s3 = clients.client("s3")
    prefix = f"output/model-customization-job-{arn.rsplit('/', 1)[-1]}"
    steps = s3.get_object(
        Bucket=bucket, Key=f"{prefix}/training_artifacts/step_wise_training_metrics.csv"
    )["Body"].read()
    rows = [line.split(",") for line in steps.decode().strip().splitlines()]
    assert rows[0] == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert len(rows) - 1 == 2 * 60  # two epochs of 120 records, two per step
    for _, _, loss, perplexity in rows[1:]:
        assert float(perplexity) == pytest.approx(math.exp(float(loss)), rel=1e-4)
    validation = s3.get_object(
        Bucket=bucket,
        Key=f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    )["Body"].read()
    val_rows = [line.split(",") for line in validation.decode().strip().splitlines()]
    assert val_rows[0][-1] == "validation_perplexity"
    assert float(val_rows[-1][2]) < float(val_rows[1][2])  # validation loss fell
    assert job["trainingMetrics"]["trainingLoss"] == pytest.approx(float(rows[-1][2]))

    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-cpt", modelId=job["outputModelArn"]
    )["provisionedModelArn"]
    _wait_status(
        lambda: bedrock.get_provisioned_model_throughput(provisionedModelId=pt), {"InService"}
    )
    runtime = clients.client("bedrock-runtime")
    body = json.dumps(
        {"inputText": "A model customization job", "textGenerationConfig": {"maxTokenCount": 30}}
    )
    custom = json.loads(runtime.invoke_model(modelId=pt, body=body)["body"].read())
    base = json.loads(
        runtime.invoke_model(modelId="amazon.titan-text-lite-v1", body=body)["body"].read()
    )
    custom_text = custom["results"][0]["outputText"]
    assert custom_text.strip() and custom_text != base["results"][0]["outputText"]
    assert len(custom_text.split()) <= 30
    domain_words = {w.lower().strip(".,;:()") for r in records[:120] for w in r["input"].split()}
    assert all(w.lower().strip(".,;:()") in domain_words for w in custom_text.split())
    bedrock.delete_provisioned_model_throughput(provisionedModelId=pt)


def test_continued_pretraining_is_refused_where_bedrock_refuses_it(aws: StandIn) -> None:
    make_bucket()
    role = make_role()
    for change, needle in (
        ({"customizationType": "CONTINUED_PRE_TRAINING"}, "does not support"),
        ({"customizationType": "DISTILLATION"}, "teacherModelIdentifier"),
    ):
        with pytest.raises(ClientError) as caught:
            _start_job(role, "s3://workshop-test-bucket/x.jsonl", "nova-job", **change)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert needle in caught.value.response["Error"]["Message"]


def test_malformed_continued_pretraining_data_names_the_line(titan_era: StandIn) -> None:
    bucket = make_bucket()
    records: list[dict[str, Any]] = _domain_records(6)
    records[2] = {"prompt": "Not a continued pre-training record.", "completion": "No."}
    train = put_jsonl(bucket, "cpt/bad.jsonl", records)
    arn = _start_cpt_job(make_role(), train)
    bedrock = clients.client("bedrock")
    job = _wait_status(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Failed"})
    assert "cpt/bad.jsonl failed validation" in job["failureMessage"]
    assert "line 3: the record has unexpected field" in job["failureMessage"]
    assert "outputModelArn" not in job


# -- distillation ------------------------------------------------------------------------

STUDENT = "amazon.nova-micro-v1:0:128k"
TEACHER = "amazon.nova-pro-v1:0"


def _distillation_prompts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distillation prompt records: the system block and the user turn only."""
    from utils.datasets import summary_prompt

    return [
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "You summarize dialogues."}],
            "messages": [{"role": "user", "content": [{"text": summary_prompt(r["dialogue"])}]}],
        }
        for r in rows
    ]


def _start_distillation(
    role: str, train_uri: str, name: str = "distil-a", student: str = STUDENT, **teacher: Any
) -> str:
    config = {"teacherModelIdentifier": TEACHER, "maxResponseLengthForInference": 200}
    config.update(teacher)
    return _start_job(
        role,
        train_uri,
        name,
        customizationType="DISTILLATION",
        baseModelIdentifier=student,
        customizationConfig={"distillationConfig": {"teacherModelConfig": config}},
        hyperParameters={},  # Bedrock documents none for distillation; AWS's samples send none
    )


def test_distillation_job_brings_the_student_closer_to_the_teacher(
    established: StandIn, aws: StandIn
) -> None:
    from rouge_score import rouge_scorer

    from utils.datasets import load_bundled_dialogues, summary_prompt

    rows = load_bundled_dialogues()
    assert len(rows) >= 140
    bucket = make_bucket()
    train = put_jsonl(bucket, "distil/prompts.jsonl", _distillation_prompts(rows[:120]))
    arn = _start_distillation(make_role(), train)
    bedrock = clients.client("bedrock")
    job = _wait_status(
        lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Completed", "Failed"}
    )
    assert job["status"] == "Completed", job.get("failureMessage")
    checked(BEDROCK, "GetModelCustomizationJob", job)
    assert job["customizationType"] == "DISTILLATION"
    teacher_config = job["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
    assert teacher_config["teacherModelIdentifier"] == TEACHER
    model = bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])
    assert model["customizationType"] == "DISTILLATION"

    s3 = clients.client("s3")
    prefix = f"output/model-customization-job-{arn.rsplit('/', 1)[-1]}"
    steps = s3.get_object(
        Bucket=bucket, Key=f"{prefix}/training_artifacts/step_wise_training_metrics.csv"
    )["Body"].read()
    assert steps.decode().splitlines()[0] == "step_number,epoch_number,training_loss,perplexity"
    validation = s3.get_object(
        Bucket=bucket,
        Key=f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    )["Body"].read()
    assert len(validation.decode().strip().splitlines()) >= 2
    assert job["validationMetrics"]

    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-distil", modelId=job["outputModelArn"]
    )["provisionedModelArn"]
    _wait_status(
        lambda: bedrock.get_provisioned_model_throughput(provisionedModelId=pt), {"InService"}
    )
    runtime = clients.client("bedrock-runtime")

    def answer(model_id: str, prompt: str) -> str:
        reply = runtime.converse(
            modelId=model_id,
            system=[{"text": "You summarize dialogues."}],
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": 200},
        )
        return reply["output"]["message"]["content"][0]["text"]

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    held_out = [summary_prompt(r["dialogue"]) for r in rows[120:140]]
    base_scores, distilled_scores = [], []
    for prompt in held_out:
        teacher_text = answer(TEACHER, prompt)
        base = scorer.score(teacher_text, answer("amazon.nova-micro-v1:0", prompt))
        distilled = scorer.score(teacher_text, answer(pt, prompt))
        base_scores.append(base["rougeL"].fmeasure)
        distilled_scores.append(distilled["rougeL"].fmeasure)
    base_mean = sum(base_scores) / len(base_scores)
    distilled_mean = sum(distilled_scores) / len(distilled_scores)
    print(f"ROUGE-L against the teacher: base {base_mean:.3f}, distilled {distilled_mean:.3f}")
    assert distilled_mean > base_mean
    bedrock.delete_provisioned_model_throughput(provisionedModelId=pt)


@pytest.mark.parametrize(
    ("student", "teacher", "needle"),
    [
        ("amazon.nova-lite-v1:0:300k", {"teacherModelIdentifier": "amazon.nova-micro-v1:0"},
         "not a distillation teacher"),
        (STUDENT, {"teacherModelIdentifier": "amazon.nova-lite-v1:0"}, "not a distillation"),
        (STUDENT, {"teacherModelIdentifier": "acme.giant-v9:0"}, "not a base model"),
        (STUDENT, {"maxResponseLengthForInference": 0}, "positive integer"),
    ],
)  # fmt: skip
def test_distillation_teacher_must_be_known_and_stronger(
    aws: StandIn, student: str, teacher: dict[str, Any], needle: str
) -> None:
    make_bucket()
    with pytest.raises(ClientError) as caught:
        _start_distillation(
            make_role(), "s3://workshop-test-bucket/x.jsonl", student=student, **teacher
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert needle in caught.value.response["Error"]["Message"]
    bedrock = clients.client("bedrock")
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


def test_invocation_logs_feed_distillation_jobs_only(aws: StandIn) -> None:
    make_bucket()
    with pytest.raises(ClientError) as caught:
        _start_job(
            make_role(),
            "s3://workshop-test-bucket/x.jsonl",
            "tune-from-logs",
            trainingDataConfig={
                "invocationLogsConfig": {
                    "invocationLogSource": {"s3Uri": "s3://workshop-test-bucket/logs/"}
                }
            },
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "only for DISTILLATION" in caught.value.response["Error"]["Message"]


def test_too_few_distillation_prompts_fail_the_job(aws: StandIn) -> None:
    from utils.datasets import load_bundled_dialogues

    bucket = make_bucket()
    train = put_jsonl(
        bucket, "distil/few.jsonl", _distillation_prompts(load_bundled_dialogues()[:40])
    )
    arn = _start_distillation(make_role(), train, "distil-few")
    bedrock = clients.client("bedrock")
    job = _wait_status(lambda: bedrock.get_model_customization_job(jobIdentifier=arn), {"Failed"})
    checked(BEDROCK, "GetModelCustomizationJob", job)
    assert "failed validation" in job["failureMessage"]
    assert "100" in job["failureMessage"]
    assert "outputModelArn" not in job


def test_a_job_with_a_key_or_vpc_that_does_not_exist_is_refused(aws: StandIn) -> None:
    make_bucket()
    role = make_role()
    for extra, needle in (
        ({"customModelKmsKeyId": "alias/not-there"}, "KMS key alias/not-there"),
        ({"vpcConfig": {"subnetIds": ["subnet-0"], "securityGroupIds": ["sg-0"]}}, "VPC"),
    ):
        with pytest.raises(ClientError) as caught:
            _start_job(role, "s3://workshop-test-bucket/x.jsonl", "protected", **extra)
        assert needle in caught.value.response["Error"]["Message"]


def test_a_vpc_job_whose_role_cannot_tag_network_interfaces_fails_with_the_reason(
    aws: StandIn,
) -> None:
    from utils import iam as workshop_iam

    bucket = make_bucket()
    train = put_jsonl(bucket, "data/train.jsonl", dialogue_records(24))
    ec2 = clients.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="job", Description="job", VpcId=vpc_id)["GroupId"]
    vpc = {"subnetIds": [subnet], "securityGroupIds": [group]}
    full = workshop_iam.s3_policy(bucket, vpc_config=vpc)
    untagged = dict(full, Statement=[s for s in full["Statement"] if "Condition" not in s])
    assert len(untagged["Statement"]) == len(full["Statement"]) - 1
    api = clients.client("iam")
    bedrock = clients.client("bedrock")
    outcomes = {}
    for label, document in (("without tags", untagged), ("with tags", full)):
        role = make_role(f"vpc-role-{label.replace(' ', '-')}")
        name = role.rsplit("/", 1)[-1]
        api.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(document))
        arn = _start_job(role, train, f"vpc-{label.replace(' ', '-')}", vpcConfig=vpc)
        outcomes[label] = _wait_status(
            lambda arn=arn: bedrock.get_model_customization_job(jobIdentifier=arn),
            {"Completed", "Failed"},
        )
    failed = outcomes["without tags"]
    assert failed["status"] == "Failed"
    assert "ec2:CreateTags" in failed["failureMessage"]
    assert "ec2:CreateAction = CreateNetworkInterface" in failed["failureMessage"]
    assert outcomes["with tags"]["status"] == "Completed"
