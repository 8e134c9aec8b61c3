"""Images in the local stand-in: fine-tuning on chart images in S3, and Converse with images."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from standin.bedrock import ACCOUNT_ID
from standin.restjson import output_problems
from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl
from utils import charts, clients, invocation_logs, s3

RUNTIME = botocore.session.get_session().get_service_model("bedrock-runtime")
VISION = "amazon.nova-lite-v1:0"  # reads images, fine-tuned in us-east-1
OUTPUT = "s3://workshop-test-bucket/output/"


@pytest.fixture(scope="module")
def chart_data() -> dict[str, list[charts.Chart]]:
    train, validation, test = charts.split(charts.make_examples(110, seed=21), 80, 10)
    return {"train": train, "validation": validation, "test": test}


def _wait(arn: str, timeout: float = 30) -> dict[str, Any]:
    bedrock = clients.client("bedrock")
    deadline = time.monotonic() + timeout
    while True:
        job = bedrock.get_model_customization_job(jobIdentifier=arn)
        if job["status"] not in ("InProgress", "Stopping"):
            return job
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.1)


def _upload(bucket: str, name: str, examples: list[charts.Chart]) -> str:
    charts.upload_images(clients.client("s3"), examples, bucket, "charts/images")
    records = charts.to_records(examples, bucket, "charts/images", ACCOUNT_ID)
    return s3.upload_jsonl(records, s3.uri(bucket, f"charts/{name}.jsonl"))


def _start(
    role: str,
    train_uri: str,
    validation_uri: str | None = None,
    base: str = "amazon.nova-lite-v1:0:300k",
    **hyper: str,
) -> str:
    request: dict[str, Any] = {
        "jobName": "charts-job",
        "customModelName": "charts-model",
        "roleArn": role,
        "baseModelIdentifier": base,
        "trainingDataConfig": {"s3Uri": train_uri},
        "outputDataConfig": {"s3Uri": OUTPUT},
        "hyperParameters": {"epochCount": "3", **hyper},
    }
    if validation_uri:
        request["validationDataConfig"] = {"validators": [{"s3Uri": validation_uri}]}
    return clients.client("bedrock").create_model_customization_job(**request)["jobArn"]


def _serve(model_arn: str) -> str:
    bedrock = clients.client("bedrock")
    arn = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="charts-pt", modelId=model_arn
    )["provisionedModelArn"]
    deadline = time.monotonic() + 20
    while bedrock.get_provisioned_model_throughput(provisionedModelId=arn)["status"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return arn


def _ask(model_id: str, image: dict[str, Any] | None, text: str = charts.QUESTION) -> str:
    content: list[dict[str, Any]] = [{"image": image}] if image else []
    content.append({"text": text})
    response = clients.client("bedrock-runtime").converse(
        modelId=model_id,
        messages=[{"role": "user", "content": content}],
        inferenceConfig={"maxTokens": 100},
    )
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    assert output_problems(RUNTIME.operation_model("Converse"), body) == []
    return response["output"]["message"]["content"][0]["text"]


def _csv(bucket: str, key: str) -> list[dict[str, str]]:
    body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return list(csv.DictReader(io.StringIO(body.decode())))


def _png(chart: charts.Chart) -> dict[str, Any]:
    return {"format": "png", "source": {"bytes": chart.png}}


def _train(standin: StandIn, chart_data) -> dict[str, Any]:
    """A completed image fine-tuning job with validation data, served by a throughput."""
    standin.reset()
    clients.clear_cache()
    standin.play("established", standin.bedrock.day)  # a throughput needs model units
    bucket = make_bucket()
    role = make_role()
    train = _upload(bucket, "train", chart_data["train"])
    validation = _upload(bucket, "validation", chart_data["validation"])
    job = _wait(_start(role, train, validation))
    assert job["status"] == "Completed", job.get("failureMessage")
    return {"job": job, "bucket": bucket, "role": role, "pt": _serve(job["outputModelArn"])}


@pytest.fixture(scope="module")
def trained_once(standin: StandIn, chart_data) -> dict[str, Any]:
    """The job of :func:`_train`, made once: the tests that use it only read it and ask it."""
    return _train(standin, chart_data)


@pytest.fixture
def trained(trained_once: dict[str, Any], standin: StandIn, chart_data) -> dict[str, Any]:
    """The module's trained and served model, trained again if a test emptied the stand-in."""
    try:
        clients.client("bedrock").get_provisioned_model_throughput(
            provisionedModelId=trained_once["pt"]
        )
    except ClientError:
        trained_once.update(_train(standin, chart_data))
    return trained_once


def test_image_job_learns_the_captions_and_writes_bedrocks_metrics(trained) -> None:
    job, bucket = trained["job"], trained["bucket"]
    job_id = job["jobArn"].rsplit("/", 1)[-1]
    base = f"output/model-customization-job-{job_id}"
    steps = _csv(bucket, f"{base}/training_artifacts/step_wise_training_metrics.csv")
    assert list(steps[0]) == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert len(steps) == 3 * 80  # three epochs of one record a step
    assert float(steps[-1]["training_loss"]) < 0.1 * float(steps[0]["training_loss"])
    validation = _csv(
        bucket,
        f"{base}/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    )
    assert [row["epoch_number"] for row in validation] == ["1", "2", "3"]
    assert float(validation[-1]["validation_loss"]) < 1.0
    assert job["trainingMetrics"]["trainingLoss"] == float(steps[-1]["training_loss"])


def test_served_custom_model_describes_held_out_charts_from_their_pixels(
    trained, chart_data
) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    test = chart_data["test"]
    tuned = [_ask(trained["pt"], _png(c)) for c in test]
    base = [_ask(VISION, _png(c)) for c in test]
    tuned_score = sum(
        scorer.score(c.caption, t)["rougeL"].fmeasure for c, t in zip(test, tuned, strict=True)
    )
    base_score = sum(
        scorer.score(c.caption, b)["rougeL"].fmeasure for c, b in zip(test, base, strict=True)
    )
    assert tuned_score / len(test) > 0.85
    assert base_score / len(test) < 0.3
    assert sum(t == c.caption for c, t in zip(test, tuned, strict=True)) >= len(test) // 2
    assert all(b.startswith("This is a 320 by 240 pixel PNG image") for b in base)


def test_images_named_in_s3_are_fetched_for_converse(trained, chart_data) -> None:
    chart = chart_data["test"][0]
    clients.client("s3").put_object(Bucket=trained["bucket"], Key="ask/one.png", Body=chart.png)
    location = {"s3Location": {"uri": f"s3://{trained['bucket']}/ask/one.png"}}
    by_s3 = _ask(trained["pt"], {"format": "png", "source": location})
    assert by_s3 == _ask(trained["pt"], _png(chart))
    missing = {"s3Location": {"uri": f"s3://{trained['bucket']}/ask/none.png"}}
    with pytest.raises(ClientError) as caught:
        _ask(trained["pt"], {"format": "png", "source": missing})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "ask/none.png" in caught.value.response["Error"]["Message"]


def test_text_prompts_keep_their_text_answers(trained) -> None:
    prompt = "Summarize the following conversation.\n\n#Person1#: Hi, Ann.\n#Person2#: Hello."
    assert _ask(trained["pt"], None, prompt) == _ask(VISION, None, prompt)


def test_images_that_cannot_be_used_are_refused(trained, chart_data) -> None:
    chart = chart_data["test"][0]
    for model in (trained["pt"], VISION):
        with pytest.raises(ClientError) as caught:
            _ask(model, {"format": "png", "source": {"bytes": chart.png[:300]}})
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert "not a readable" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        _ask("amazon.nova-micro-v1:0", _png(chart))
    assert "does not take images" in caught.value.response["Error"]["Message"]


def test_converse_with_an_image_is_logged_with_base64_text(
    trained, chart_data, standin: StandIn
) -> None:
    bucket = trained["bucket"]
    invocation_logs.allow_bedrock_logging(bucket, "logs", ACCOUNT_ID, "us-east-1")
    clients.client("bedrock").put_model_invocation_logging_configuration(
        loggingConfig={
            "s3Config": {"bucketName": bucket, "keyPrefix": "logs"},
            "textDataDeliveryEnabled": True,
        }
    )
    chart = chart_data["test"][1]
    answer = _ask(trained["pt"], _png(chart))
    standin.bedrock.logs.flush()
    (record,) = invocation_logs.read_logs(bucket, "logs")
    content = record["input"]["inputBodyJson"]["messages"][0]["content"]
    assert base64.b64decode(content[0]["image"]["source"]["bytes"]) == chart.png
    assert record["output"]["outputBodyJson"]["output"]["message"]["content"][0]["text"] == answer
    clients.client("bedrock").delete_model_invocation_logging_configuration()


def test_a_missing_training_image_fails_the_job_naming_it(aws: StandIn, chart_data) -> None:
    bucket, role = make_bucket(), make_role()
    examples = chart_data["train"][:6]
    charts.upload_images(clients.client("s3"), examples[:5], bucket, "charts/images")
    records = charts.to_records(examples, bucket, "charts/images", ACCOUNT_ID)
    job = _wait(_start(role, put_jsonl(bucket, "charts/train.jsonl", records)))
    assert job["status"] == "Failed"
    assert f"s3://{bucket}/charts/images/{examples[5].name}.png" in job["failureMessage"]
    assert "NoSuchKey" in job["failureMessage"]


def test_a_corrupt_training_image_fails_the_job(aws: StandIn, chart_data) -> None:
    bucket, role = make_bucket(), make_role()
    examples = chart_data["train"][:8]  # Nova's minimum
    train = _upload(bucket, "train", examples)
    clients.client("s3").put_object(
        Bucket=bucket, Key=f"charts/images/{examples[2].name}.png", Body=examples[2].png[:200]
    )
    job = _wait(_start(role, train))
    assert job["status"] == "Failed"
    assert examples[2].name in job["failureMessage"] and "unusable" in job["failureMessage"]


def test_records_with_and_without_images_fail_the_job(aws: StandIn, chart_data) -> None:
    bucket, role = make_bucket(), make_role()
    examples = chart_data["train"][:8]
    charts.upload_images(clients.client("s3"), examples, bucket, "charts/images")
    records = charts.to_records(examples, bucket, "charts/images", ACCOUNT_ID)
    records += dialogue_records(2)
    job = _wait(_start(role, put_jsonl(bucket, "charts/train.jsonl", records)))
    assert job["status"] == "Failed"
    assert "2 of 10 training records hold no image" in job["failureMessage"]

    text_validation = put_jsonl(bucket, "charts/validation.jsonl", dialogue_records(3))
    train = put_jsonl(bucket, "charts/train2.jsonl", records[:8])
    clients.client("bedrock").create_model_customization_job(
        jobName="charts-job-2",
        customModelName="charts-model-2",
        roleArn=role,
        baseModelIdentifier="amazon.nova-lite-v1:0:300k",
        trainingDataConfig={"s3Uri": train},
        validationDataConfig={"validators": [{"s3Uri": text_validation}]},
        outputDataConfig={"s3Uri": OUTPUT},
    )
    job = _wait("charts-job-2")
    assert job["status"] == "Failed"
    assert "validation records do not" in job["failureMessage"]


def test_a_text_only_base_model_fails_an_image_job_in_validation(aws: StandIn, chart_data) -> None:
    bucket, role = make_bucket(), make_role()
    train = _upload(bucket, "train", chart_data["train"][:8])
    arn = clients.client("bedrock").create_model_customization_job(
        jobName="text-only",
        customModelName="text-only-model",
        roleArn=role,
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        trainingDataConfig={"s3Uri": train},
        outputDataConfig={"s3Uri": OUTPUT},
    )["jobArn"]
    job = _wait(arn)
    assert job["status"] == "Failed"
    assert "Amazon Nova Micro does not take images" in job["failureMessage"]


def test_a_far_too_high_learning_rate_is_measured_in_the_job(
    before_retirements: StandIn, chart_data, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nova's learning rate tops out at 10 times its default; Llama 3.2 Vision's reached 1,000
    # times, which diverges. It was fine-tuned in us-west-2, until its end of life.
    bucket, role = make_bucket(), make_role()
    # Llama takes at least 100 records across both files.
    train = _upload(bucket, "train", chart_data["train"] + chart_data["test"][:10])
    validation = _upload(bucket, "validation", chart_data["validation"])
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clients.clear_cache()
    calm = _wait(_start(role, train, validation, base="meta.llama3-2-11b-instruct-v1:0:128k"))
    assert calm["status"] == "Completed", calm.get("failureMessage")
    bedrock = clients.client("bedrock")
    hot_arn = bedrock.create_model_customization_job(
        **{
            **{k: calm[k] for k in ("roleArn", "trainingDataConfig", "outputDataConfig")},
            "jobName": "charts-hot",
            "customModelName": "charts-hot-model",
            "baseModelIdentifier": "meta.llama3-2-11b-instruct-v1:0:128k",
            "validationDataConfig": calm["validationDataConfig"],
            "hyperParameters": {"epochCount": "3", "learningRate": "0.1"},
        }
    )["jobArn"]
    hot = _wait(hot_arn)
    assert hot["status"] == "Completed"
    calm_loss = calm["validationMetrics"][-1]["validationLoss"]
    assert hot["validationMetrics"][-1]["validationLoss"] > 10 * calm_loss
    assert json.dumps(hot["hyperParameters"]) != json.dumps(calm["hyperParameters"])
