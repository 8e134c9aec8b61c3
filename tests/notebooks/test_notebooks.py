"""Every notebook through papermill against the local stand-in, in order and on its own."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from runner import run as run_workshop
from standin import StandIn
from tests.conftest import SetUp
from tests.helpers import (
    CLEANUP,
    DISTILLATION,
    DISTILLATION_LOGS,
    FINE_TUNING,
    MODEL_IMPORT,
    NOTHING_LEFT,
    PRETRAINING,
    RFT,
    SETUP,
    account_snapshot,
    execute,
    remaining,
    text_of,
)
from utils import clients
from utils.state import State


def test_series_in_order_then_cleanup_leaves_nothing(run_state: State, tmp_path: Path) -> None:
    setup = execute(SETUP, tmp_path)
    assert "LOCAL STAND-IN" in text_of(setup)
    assert "FINE_TUNING" in text_of(setup) and "amazon.nova-micro-v1:0:128k" in text_of(setup)
    bucket = run_state.get("bucket")
    s3 = clients.client("s3")
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []  # setup makes no data

    tuned = execute(FINE_TUNING, tmp_path)
    # The lesson prepares its own data, in its model's format, under its family's prefix.
    assert "train 320, validation 40 records, 360 in all; no problems" in text_of(tuned)
    keys = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(k["Key"] for k in keys if "/data/" in k["Key"]) == [
        "fine-tuning/data/nova-micro/train.jsonl",
        "fine-tuning/data/nova-micro/validation.jsonl",
    ]
    results = run_state.results()["interactive"]
    assert results["records"] == {"train": 320, "validation": 40, "test": 40}
    assert results["job:fine-tuning"]["status"] == "Completed"
    scores = results["scores"]
    # Measured on held-out dialogues, not built in: the fine-tuned model must beat its base.
    for metric in ("rouge1", "rouge2", "rougeL", "meteor"):
        assert scores["fine-tuned"][metric] > scores["base model"][metric], metric
    images = [
        o for c in tuned.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3  # loss curves, score bars, score distributions
    assert "small LOCAL models" in text_of(tuned)
    # Progress as plain lines where no browser looks: the wait's status with its time.
    assert re.search(r"^Job \S+: Completed \[\d\d:\d\d\]$", text_of(tuned), re.M)
    assert "HBox(" not in text_of(tuned)
    assert "on demand: per token used" in text_of(tuned)  # Nova is served the cheap way
    assert remaining()["throughputs"] == remaining()["deployments"] == []  # removed at the end
    assert len(remaining()["models"]) == 1

    cleaned = execute(CLEANUP, tmp_path)
    assert "Nothing the workshop created is left." in text_of(cleaned)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []
    execute(CLEANUP, tmp_path)  # a second run finds nothing to do and still succeeds


def test_rerun_of_fine_tuning_reuses_the_job(
    set_up: State, established: StandIn, run_state: State, tmp_path: Path
) -> None:
    execute(FINE_TUNING, tmp_path, eval_records=4)
    first = run_state.get("job:fine-tuning")["arn"]
    again = execute(
        FINE_TUNING,
        tmp_path / "again",
        eval_records=4,
        keep_endpoint=True,
        provisioned_throughput=True,
    )
    assert "Re-attached to job" in text_of(again)
    assert run_state.get("job:fine-tuning")["arn"] == first
    jobs = clients.client("bedrock").list_model_customization_jobs()
    assert len(jobs["modelCustomizationJobSummaries"]) == 1
    assert "per model unit per hour" in text_of(again)
    assert len(remaining()["throughputs"]) == 1  # kept on request
    assert remaining()["deployments"] == []  # the first run's on-demand deployment is gone
    dry = execute(CLEANUP, tmp_path, dry_run=True)
    assert "would be removed" in text_of(dry)
    assert len(remaining()["throughputs"]) == 1
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_invalid_data_stops_fine_tuning_before_upload(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    # Five dialogues leave four for training; Nova needs at least eight.
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, max_examples=5)
    assert caught.value.ename == "WorkshopError"
    assert "count.min" in caught.value.evalue or "at least 8" in caught.value.evalue
    bucket = run_state.get("bucket")
    assert clients.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []) == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_region_without_bedrock_stops_setup_with_the_fix(run_state: State, tmp_path: Path) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(SETUP, tmp_path, region="ap-east-1")
    assert "not offered in ap-east-1" in caught.value.evalue
    assert "us-east-1" in caught.value.evalue
    assert run_state.resources() == []  # nothing was created before the check


def test_fine_tuning_without_setup_names_the_notebook_to_run(
    run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path)
    assert "Run 00_setup.ipynb first" in caught.value.evalue


def test_a_lesson_in_another_region_than_setup_is_refused_before_any_call(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, region="us-west-2")
    assert "records resources in the local stand-in (Region us-east-1)" in caught.value.evalue
    assert "runs against the local stand-in (Region us-west-2)" in caught.value.evalue
    assert "region='us-east-1'" in caught.value.evalue
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )
    execute(CLEANUP, tmp_path, region="us-west-2")  # cleanup goes where the file says
    assert remaining() == NOTHING_LEFT


def test_out_of_range_hyperparameter_stops_before_any_job(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, epoch_count=9)
    assert "out of range" in caught.value.evalue and "1 to 5" in caught.value.evalue
    jobs = clients.client("bedrock").list_model_customization_jobs()
    assert jobs["modelCustomizationJobSummaries"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


@pytest.mark.own_standin
def test_runner_runs_the_series_and_writes_the_summary(tmp_path: Path) -> None:
    # Its stand-in plays the lane's account: established in `make test`, new (no model units,
    # no Legacy models) in `make test-new-account`; the same outcome is asserted for both.
    summary = run_workshop.run(out=tmp_path / "runs", params={"eval_records": 10})
    assert summary.exit_code == 0
    data = json.loads(summary.summary_path.read_text())
    names = [n["name"] for n in data["notebooks"]]
    assert names == run_workshop.NOTEBOOKS
    statuses = {n["name"]: n["status"] for n in data["notebooks"]}
    # Titan Text, the only family Bedrock continued pre-training, has reached end of life:
    # that notebook stops at its preflight, on purpose, before anything is created.
    assert statuses == {name: "stopped" if name == PRETRAINING else "ok" for name in names}
    stop = next(n for n in data["notebooks"] if n["name"] == PRETRAINING)["error"]
    assert stop["ename"] == "PreflightStop"
    assert "This model version has reached the end of its life." in stop["evalue"]
    results = {n["name"]: n["results"] for n in data["notebooks"]}
    tuned = results[FINE_TUNING]
    assert tuned["job:fine-tuning"]["status"] == "Completed"
    assert tuned["job:fine-tuning"]["arn"].startswith("arn:aws:bedrock:us-east-1:")
    assert set(tuned["scores"]["fine-tuned"]) == {"rouge1", "rouge2", "rougeL", "meteor"}
    # What runs/latest shows a learner: the model learned, and it beats its base.
    losses = tuned["losses"]
    assert losses["training last"] < losses["training first"]
    assert losses["validation last"] < losses["validation first"]
    for metric in ("rougeL", "meteor"):
        assert tuned["scores"]["fine-tuned"][metric] > tuned["scores"]["base model"][metric]
    executed = nbformat.read(tmp_path / "runs" / "latest" / FINE_TUNING, as_version=4)
    plots = [
        o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(plots) >= 3  # loss curves, score bars, score distributions
    assert "job:continued-pretraining" not in results[PRETRAINING]
    distilled = results[DISTILLATION]
    assert distilled["job:distillation"]["status"] == "Completed"
    completed = {
        value["type"]
        for notebook in data["notebooks"]
        for key, value in notebook["results"].items()
        if key.startswith("job:") and value["status"] == "Completed"
    }
    assert completed == {"FINE_TUNING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING"}
    # The run's table prints each lesson's held-out accuracy, as recorded.
    accuracy = results[RFT]["accuracy"]
    assert accuracy["reinforcement fine-tuned"]["95% low"] > accuracy["base model"]["95% high"]
    table = summary.table()
    assert "held-out accuracy on 40 prompts (95% interval): base model " in table
    assert set(distilled["scores"]) == {"teacher", "distilled student", "student base"}
    # Bucket, role, policy, and a job and a custom model from each customization notebook
    # that ran (continued pre-training stopped first).
    customizations = sum(1 for name in run_workshop.NOTEBOOKS if name.startswith(("fine", "dist")))
    # Custom Model Import leaves its import role and policy, and the records of its import
    # job and of the imported model it deleted itself.
    assert results[CLEANUP] == {"removed": 3 + 2 * customizations + 4, "remaining": []}
    assert (tmp_path / "runs" / "latest" / FINE_TUNING).exists()
    assert (tmp_path / "runs" / "latest" / PRETRAINING).exists()


@pytest.mark.parametrize(
    ("base_model", "region"),
    [
        ("amazon.nova-lite-v1:0", "us-east-1"),
        ("amazon.nova-2-lite-v1:0", "us-east-1"),  # its base model answers through a profile
        ("meta.llama3-1-8b-instruct-v1:0", "us-west-2"),  # fine-tuned in us-west-2 only
    ],
)
def test_fine_tuning_runs_for_every_live_family(
    established: StandIn, base_model: str, region: str, run_state: State, tmp_path: Path
) -> None:
    from utils import models

    family = models.family(base_model)
    execute(SETUP, tmp_path, region=region)
    tuned = execute(FINE_TUNING, tmp_path, base_model=base_model, eval_records=10, region=region)
    assert "no problems" in text_of(tuned)  # formatted for this family, and valid
    results = run_state.results()["interactive"]
    assert results["job:fine-tuning"]["status"] == "Completed"
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=results["job:fine-tuning"]["arn"]
    )
    assert job["baseModelArn"].endswith(family.customization_id)
    assert set(job["hyperParameters"]) == {h.name for h in family.hyperparameters}
    scores = results["scores"]
    assert scores["fine-tuned"]["rougeL"] > scores["base model"]["rougeL"]
    billing = "on demand" if family.on_demand_deployment else "per model unit per hour"
    assert billing in text_of(tuned)
    if family.profile:
        assert family.profile in text_of(tuned)  # the cell says which id answered
    execute(CLEANUP, tmp_path, region=region)
    assert remaining() == NOTHING_LEFT


@pytest.mark.parametrize(
    "base_model",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "meta.llama3-2-1b-instruct-v1:0",
        "amazon.titan-text-lite-v1",
    ],
)
def test_a_retired_family_stops_fine_tuning_before_any_data_or_job(
    base_model: str, run_state: State, tmp_path: Path
) -> None:
    from utils import models

    region = models.family(base_model).regions[0]
    execute(SETUP, tmp_path, region=region)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, base_model=base_model, region=region)
    assert caught.value.ename == "PreflightStop"
    assert "reached the end of its life" in caught.value.evalue
    assert "amazon.nova-micro-v1:0" in caught.value.evalue  # a live alternative
    bucket = run_state.get("bucket")
    assert clients.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []) == []
    execute(CLEANUP, tmp_path, region=region)
    assert remaining() == NOTHING_LEFT


def test_another_model_in_the_same_workshop_needs_no_new_setup(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    execute(FINE_TUNING, tmp_path, eval_records=5)
    lite = execute(
        FINE_TUNING, tmp_path / "lite", base_model="amazon.nova-lite-v1:0", eval_records=5
    )
    assert "no problems" in text_of(lite)
    arns = [r["id"] for r in run_state.resources("customization-job")]
    bedrock = clients.client("bedrock")
    bases = sorted(
        bedrock.get_model_customization_job(jobIdentifier=a)["baseModelArn"] for a in arns
    )
    assert [b.rsplit("/", 1)[1] for b in bases] == [
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-micro-v1:0:128k",
    ]
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_continued_pretraining_stops_at_its_preflight_now_that_titan_text_is_retired(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(PRETRAINING, tmp_path)
    assert caught.value.ename == "PreflightStop"
    assert "Custom Model Import" in caught.value.evalue
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_continued_pretraining_after_setup_then_cleanup_leaves_nothing(
    set_up: State, before_retirements: StandIn, run_state: State, tmp_path: Path
) -> None:
    nb = execute(PRETRAINING, tmp_path, eval_records=20)
    text = text_of(nb)
    assert "no problems" in text  # the {"input": ...} records passed Titan's rules
    assert "training tokens x 2 epochs" in text
    results = run_state.results()["interactive"]
    assert results["job:continued-pretraining"]["status"] == "Completed"
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=results["job:continued-pretraining"]["arn"]
    )
    assert job["customizationType"] == "CONTINUED_PRE_TRAINING"
    assert job["baseModelArn"].endswith("amazon.titan-text-lite-v1:0:4k")
    bucket = run_state.get("bucket")
    keys = {
        k["Key"]
        for k in clients.client("s3").list_objects_v2(
            Bucket=bucket, Prefix="continued-pretraining/data/"
        )["Contents"]
    }
    assert keys == {
        "continued-pretraining/data/train.jsonl",
        "continued-pretraining/data/validation.jsonl",
    }
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # loss curves, score bars, score distributions
    assert "perplexity" in text
    assert "small LOCAL models" in text
    assert "per model unit per hour" in text  # Titan is served with provisioned throughput
    scores = results["scores"]
    assert set(scores) == {"base model", "continued pre-training"}
    for model in scores.values():
        assert set(model) == {"rouge1", "rouge2", "rougeL", "meteor"}
    # Measured on held-out paragraphs: the domain model continues domain text better.
    assert scores["continued pre-training"]["rougeL"] > scores["base model"]["rougeL"]
    assert remaining()["throughputs"] == []  # removed at the end of the notebook
    assert len(remaining()["models"]) == 1

    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_continued_pretraining_out_of_range_epochs_stops_before_any_job(
    set_up: State, before_retirements: StandIn, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(PRETRAINING, tmp_path, epoch_count=11)
    assert "out of range" in caught.value.evalue and "1 to 10" in caught.value.evalue
    jobs = clients.client("bedrock").list_model_customization_jobs()
    assert jobs["modelCustomizationJobSummaries"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_continued_pretraining_without_setup_names_the_notebook_to_run(
    run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(PRETRAINING, tmp_path)
    assert "Run 00_setup.ipynb first" in caught.value.evalue


def test_distillation_after_setup_then_cleanup_leaves_nothing(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    nb = execute(DISTILLATION, tmp_path, num_prompts=120, eval_records=20)
    text = text_of(nb)
    assert "120 records read, 120 valid, 0 invalid; no problems" in text
    results = run_state.results()["interactive"]
    assert results["job:distillation"]["status"] == "Completed"
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=results["job:distillation"]["arn"]
    )
    assert job["customizationType"] == "DISTILLATION"
    assert job["baseModelArn"].endswith("amazon.nova-micro-v1:0:128k")
    teacher = job["customizationConfig"]["distillationConfig"]["teacherModelConfig"]
    assert teacher["teacherModelIdentifier"] == "amazon.nova-pro-v1:0"
    bucket = run_state.get("bucket")
    keys = {
        k["Key"]
        for k in clients.client("s3").list_objects_v2(Bucket=bucket, Prefix="distillation/data/")[
            "Contents"
        ]
    }
    assert keys == {"distillation/data/prompts.jsonl"}
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # loss curves, score bars, score distributions
    assert "small LOCAL models" in text
    assert "on demand: per token used" in text  # Nova is served the cheap way
    # Measured on held-out dialogues: distillation brings the student closer to its teacher.
    scores = results["scores"]
    assert set(scores) == {"teacher", "distilled student", "student base"}
    for metric in ("rouge1", "rougeL", "meteor"):
        teacher_score = scores["teacher"][metric]
        distilled_gap = abs(teacher_score - scores["distilled student"][metric])
        base_gap = abs(teacher_score - scores["student base"][metric])
        assert distilled_gap < base_gap, metric
    agreement = results["agreement with teacher"]
    assert agreement["distilled student"]["rougeL"] > agreement["student base"]["rougeL"]
    assert remaining()["deployments"] == remaining()["throughputs"] == []  # removed at the end
    assert len(remaining()["models"]) == 1

    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_distillation_with_too_few_prompts_stops_before_any_job(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError):
        execute(DISTILLATION, tmp_path, num_prompts=50)
    jobs = clients.client("bedrock").list_model_customization_jobs()
    assert jobs["modelCustomizationJobSummaries"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_distillation_from_logs_then_cleanup_leaves_nothing(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    nb = execute(DISTILLATION_LOGS, tmp_path, num_prompts=110, eval_records=20)
    text = text_of(nb)
    results = run_state.results()["interactive"]
    assert results["logged calls"] == {"tagged": 110, "in the logs": 120}
    assert "Invocation logging: switched off" in text
    assert remaining()["invocation logging"] == []  # put back before the job even started
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=results["job:distillation-logs"]["arn"]
    )
    assert job["status"] == "Completed" and job["customizationType"] == "DISTILLATION"
    logs_config = job["trainingDataConfig"]["invocationLogsConfig"]
    assert logs_config["usePromptResponse"] is True
    assert logs_config["requestMetadataFilters"] == {
        "andAll": [
            {"equals": {"workshop": run_state.workshop_id}},
            {"equals": {"use-case": "dialogue-summaries"}},
        ]
    }
    bucket = run_state.get("bucket")
    policy = json.loads(clients.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    sids = [st["Sid"] for st in policy["Statement"]]
    assert sids == ["DenyInsecureTransport", "BedrockModelInvocationLogsWrite"]
    statement = policy["Statement"][1]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    scores = results["scores"]
    for metric in ("rouge1", "rougeL", "meteor"):
        teacher_score = scores["teacher"][metric]
        distilled_gap = abs(teacher_score - scores["distilled student"][metric])
        assert distilled_gap < abs(teacher_score - scores["student base"][metric]), metric
    assert remaining()["deployments"] == [] and len(remaining()["models"]) == 1

    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_distillation_from_logs_respects_someone_elses_logging_setting(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    from utils import invocation_logs

    s3 = clients.client("s3")
    s3.create_bucket(Bucket="team-audit-logs")
    invocation_logs.allow_bedrock_logging("team-audit-logs", "audit", "123456789012", "us-east-1")
    theirs = {
        "s3Config": {"bucketName": "team-audit-logs", "keyPrefix": "audit"},
        "textDataDeliveryEnabled": True,
    }
    bedrock = clients.client("bedrock")
    bedrock.put_model_invocation_logging_configuration(loggingConfig=theirs)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(DISTILLATION_LOGS, tmp_path)
    assert "replace_existing_logging=True" in str(caught.value)
    assert bedrock.get_model_invocation_logging_configuration()["loggingConfig"] == theirs

    # Taken over on request; then the notebook's own attempt to put it back is denied.
    aws.inject(
        operation="PutModelInvocationLoggingConfiguration",
        error="AccessDeniedException",
        after=1,
        times=1,
    )
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(DISTILLATION_LOGS, tmp_path, replace_existing_logging=True)
    assert "AccessDeniedException" in str(caught.value)
    now = bedrock.get_model_invocation_logging_configuration()["loggingConfig"]
    assert now["s3Config"]["bucketName"] == run_state.get("bucket")
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []

    nb = execute(CLEANUP, tmp_path)
    assert "restored: delivers to s3://team-audit-logs/audit again" in text_of(nb)
    assert bedrock.get_model_invocation_logging_configuration()["loggingConfig"] == theirs
    # Only the other team's bucket and setting are left, untouched.
    left = remaining()
    assert left["buckets"] == ["team-audit-logs"]
    assert left["invocation logging"] == ["team-audit-logs"]
    assert {k: v for k, v in left.items() if k not in ("buckets", "invocation logging")} == {
        k: v for k, v in NOTHING_LEFT.items() if k not in ("buckets", "invocation logging")
    }


def test_distillation_from_too_few_logged_calls_reports_bedrocks_message(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(DISTILLATION_LOGS, tmp_path, num_prompts=40)
    message = str(caught.value)
    assert "hold 40 calls answered by the teacher amazon.nova-pro-v1:0" in message
    assert "at least 100" in message
    assert remaining()["invocation logging"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_distillation_pair_bedrock_does_not_support_stops_before_any_job(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(DISTILLATION, tmp_path, teacher_model="amazon.nova-lite-v1:0")
    assert "not a distillation teacher" in str(caught.value)
    jobs = clients.client("bedrock").list_model_customization_jobs()
    assert jobs["modelCustomizationJobSummaries"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_a_kms_key_and_vpc_given_to_setup_reach_every_job(run_state: State, tmp_path: Path) -> None:
    kms = clients.client("kms")
    key = kms.create_key(Description="workshop models")["KeyMetadata"]
    ec2 = clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="ws", Description="ws", VpcId=vpc)["GroupId"]
    execute(
        SETUP,
        tmp_path,
        kms_key_id=key["KeyId"],
        vpc_subnet_ids=[subnet],
        vpc_security_group_ids=[group],
    )
    execute(FINE_TUNING, tmp_path, eval_records=4)
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=run_state.get("job:fine-tuning")["arn"]
    )
    assert job["outputModelKmsKeyArn"] == key["Arn"]
    assert job["vpcConfig"] == {"subnetIds": [subnet], "securityGroupIds": [group]}
    role = run_state.get("role_arn").rsplit("/", 1)[-1]
    iam_api = clients.client("iam")
    (attached,) = iam_api.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    policy = iam_api.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    doc = iam_api.get_policy_version(
        PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    resources = [
        r
        for st in doc["Statement"]
        for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    ]
    assert key["Arn"] in resources and f"arn:aws:ec2:*:*:subnet/{subnet}" in resources
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_setup_refuses_a_key_that_does_not_exist_before_creating_anything(
    run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(SETUP, tmp_path, kms_key_id="alias/not-there")
    assert "KMS key alias/not-there failed with NotFoundException" in caught.value.evalue
    assert remaining() == NOTHING_LEFT


def test_the_set_up_fixture_builds_what_setup_builds(
    set_up: State, setup_once: SetUp, tmp_path: Path
) -> None:
    # Lessons' tests start from `set_up` instead of running 00_setup.ipynb each time: it must
    # leave the account and the state file as the notebook does, or those tests prove nothing.
    assert account_snapshot() == setup_once.account
    assert [b["Name"] for b in setup_once.account["buckets"]] == [set_up.get("bucket")]
    assert [r["RoleName"] for r in setup_once.account["roles"]] == [
        set_up.get("role_arn").rsplit("/", 1)[-1]
    ]
    before = set_up.snapshot()
    again = execute(SETUP, tmp_path)  # on top of it, setup finds its own work done
    assert f"Bucket: s3://{before['values']['bucket']}" in text_of(again)
    after = set_up.snapshot()
    assert after["workshop_id"] == before["workshop_id"]
    assert after["values"] == before["values"]
    assert [(r["kind"], r["id"], r.get("arn")) for r in after["resources"]] == [
        (r["kind"], r["id"], r.get("arn")) for r in before["resources"]
    ]
    assert account_snapshot() == setup_once.account


@pytest.mark.same_in_every_account  # no model units; Nova Micro is live in every account
def test_custom_model_import_adapts_imports_calls_and_removes_its_model(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    nb = execute(
        MODEL_IMPORT,
        tmp_path,
        lora_steps=4,
        eval_records=3,
        max_new_tokens=8,
        concurrency_levels=[1, 2],
    )
    text = text_of(nb)
    results = run_state.results()["interactive"]
    # Measured in the kernel on held-out paragraphs, not asserted: LoRA learned the domain.
    perplexity = results["custom-model-import-perplexity"]
    assert perplexity["after"] < perplexity["before"]
    assert "LlamaForCausalLM" in text and "bfloat16" in text
    assert "ModelNotReadyException" in text  # the cold start was met and explained
    sent = re.search(r"Answered after [\d.]+ s and (\d+) request\(s\)", text)
    assert sent is not None and int(sent.group(1)) >= 2  # refused while loading, then answered
    assert "same text as invoke: True" in text
    assert "Converse: " in text  # SmolLM2's tokenizer has a chat template
    assert set(results["scores"]) == {
        "base open model (kernel)",
        "adapted, imported",
        "amazon.nova-micro-v1:0",
    }
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # LoRA loss, latency and throughput, score bars
    assert "small LOCAL models" in text
    # The lesson removed its imported model and its folder; cleanup removes the rest.
    assert remaining()["imported models"] == []
    bucket = run_state.get("bucket")
    listed = clients.client("s3").list_objects_v2(Bucket=bucket, Prefix="models/")
    assert listed.get("Contents", []) == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


@pytest.mark.same_in_every_account  # no model units; Nova Micro is live in every account
def test_cleanup_removes_what_an_import_interrupted_while_waiting_left(
    aws: StandIn, set_up: State, run_state: State, tmp_path: Path
) -> None:
    # The kernel stops at the first poll of the job: it never records the imported model,
    # which Bedrock goes on to create. 03_cleanup must find it through the job.
    aws.inject(operation="GetModelImportJob", error="AccessDeniedException", times=1)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(MODEL_IMPORT, tmp_path, lora_steps=1)
    said = caught.value.evalue
    assert said.startswith("Looking up model import job arn:aws:bedrock:")
    assert "AccessDeniedException" in said and "What to do:" in said
    assert [r["kind"] for r in run_state.resources()].count("imported-model") == 0
    bedrock = clients.client("bedrock")
    listed = bedrock.list_model_import_jobs()["modelImportJobSummaries"]
    assert len(listed) == 1  # the job was sent, and runs on without the kernel
    deadline = time.monotonic() + 60
    while bedrock.get_model_import_job(jobIdentifier=listed[0]["jobArn"])["status"] != "Completed":
        assert time.monotonic() < deadline, "the import job never ended"
        time.sleep(0.1)
    assert len(remaining()["imported models"]) == 1  # created, and known to no record
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []
