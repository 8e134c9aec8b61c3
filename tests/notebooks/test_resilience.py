"""The series against injected faults: each failure reported, re-runs safe, cleanup always clean."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from standin import StandIn, quotas
from tests.helpers import (
    CLEANUP,
    FINE_TUNING,
    NOTHING_LEFT,
    SETUP,
    execute,
    remaining,
    text_of,
)
from utils import clients
from utils.state import State


def _jobs() -> list[dict]:
    return clients.client("bedrock").list_model_customization_jobs()[
        "modelCustomizationJobSummaries"
    ]


def test_setup_interrupted_half_way_then_rerun_creates_nothing_twice(
    aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    aws.inject(operation="iam:CreateRole", error="AccessDenied", times=1)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(SETUP, tmp_path)
    assert "Creating the IAM role" in caught.value.evalue
    assert "iam:PassRole" in caught.value.evalue  # the fix names the permissions to ask for
    assert len(remaining()["buckets"]) == 1 and remaining()["roles"] == []

    execute(SETUP, tmp_path / "again")
    left = remaining()
    assert len(left["buckets"]) == 1 and len(left["roles"]) == 1 and len(left["policies"]) == 1
    assert {r["kind"] for r in run_state.resources()} == {"s3-bucket", "iam-role", "iam-policy"}
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_a_failed_job_is_reported_and_a_rerun_starts_a_new_one(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    message = "Insufficient capacity for the requested instance type."
    aws.inject(operation="job", outcome="Failed", message=message, times=1)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, eval_records=4)
    assert f"ended Failed: {message}" in caught.value.evalue
    assert "a new job starts" in caught.value.evalue
    failed = run_state.get("job:fine-tuning")["arn"]

    execute(FINE_TUNING, tmp_path / "again", eval_records=4)
    assert run_state.get("job:fine-tuning")["arn"] != failed
    assert sorted(j["status"] for j in _jobs()) == ["Completed", "Failed"]
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_a_rerun_while_the_job_is_in_flight_reattaches_to_it(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    aws.bedrock.job_seconds = 60.0  # long enough to give up waiting first
    try:
        with pytest.raises(papermill.PapermillExecutionError) as caught:
            execute(FINE_TUNING, tmp_path, eval_records=4, job_timeout_hours=0.0005)
    finally:
        aws.bedrock.job_seconds = 0.3
    assert "run this cell again to keep waiting" in caught.value.evalue.lower()
    (job,) = _jobs()
    assert job["status"] == "InProgress"
    for running in aws.bedrock.jobs.values():
        running.due = 0.0  # the job finishes while the learner restarts the kernel

    again = execute(FINE_TUNING, tmp_path / "again", eval_records=4)
    assert "Re-attached to job" in text_of(again)
    assert [j["jobArn"] for j in _jobs()] == [job["jobArn"]]
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_a_failed_provisioned_throughput_is_reported_and_cleaned_up(
    set_up: State, established: StandIn, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    aws.inject(operation="throughput", outcome="Failed", message="Capacity is not available.")
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, eval_records=4, provisioned_throughput=True)
    assert "failed: Capacity is not available." in caught.value.evalue
    assert len(remaining()["throughputs"]) == 1  # a failed throughput still exists
    aws.clear_faults()
    cleaned = execute(CLEANUP, tmp_path)
    assert "Nothing the workshop created is left." in text_of(cleaned)
    assert remaining() == NOTHING_LEFT
    execute(CLEANUP, tmp_path)  # twice is fine


def test_an_account_without_model_units_is_stopped_before_training_and_told_what_to_ask(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    aws.set_quota(quotas.CUSTOM_UNITS, 0)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, eval_records=4, provisioned_throughput=True)
    assert caught.value.ename == "PreflightStop"
    assert "Provisioned Throughputs across custom models" in caught.value.evalue
    assert quotas.CUSTOM_UNITS in caught.value.evalue
    assert _jobs() == []  # stopped before training was paid for

    # Train anyway: the notebook trains, keeps the model and stops where it would serve.
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path / "train", eval_records=4, provisioned_throughput=True,
                train_without_serving=True)  # fmt: skip
    assert caught.value.ename == "NotServed"
    assert [j["status"] for j in _jobs()] == ["Completed"]
    assert remaining()["throughputs"] == [] and len(remaining()["models"]) == 1

    # The increase arrives; the re-run serves the model the first run trained.
    aws.set_quota(quotas.CUSTOM_UNITS, 2)
    again = execute(FINE_TUNING, tmp_path / "again", eval_records=4, provisioned_throughput=True)
    assert "Re-attached to job" in text_of(again)
    assert len(_jobs()) == 1
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_throttled_calls_are_retried_inside_the_notebooks(
    aws: StandIn, run_state: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")  # kernels inherit it; the default is 8
    aws.inject(operation="CreateModelCustomizationJob", error="ThrottlingException", times=2)
    aws.inject(operation="GetModelCustomizationJob", error="ThrottlingException", times=2)
    aws.inject(operation="iam:CreateRole", error="Throttling", times=1)
    execute(SETUP, tmp_path)
    execute(FINE_TUNING, tmp_path, eval_records=4)
    assert [j["status"] for j in _jobs()] == ["Completed"]
    assert aws.bedrock.faults.rules() == []  # every injected throttle was met and survived
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_cleanup_leaves_look_alike_resources_it_did_not_create(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    bucket = run_state.get("bucket")
    look_alike = bucket[:-4] + "zzzz"  # same prefix, another workshop's id
    clients.client("s3").create_bucket(Bucket=look_alike)
    iam = clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(
        RoleName="bedrock-workshop-someone-else", AssumeRolePolicyDocument=json.dumps(trust)
    )
    execute(CLEANUP, tmp_path)
    left = remaining()
    assert left["buckets"] == [look_alike]
    assert left["roles"] == ["bedrock-workshop-someone-else"]


def test_fine_tuning_stops_on_an_explicit_deny_before_any_upload_or_job(
    set_up: State, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    aws.inject(operation="ListModelCustomizationJobs", error="AccessDeniedException", times=1)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path)
    assert "permission to run FINE_TUNING jobs" in caught.value.evalue
    assert "organization policy" in caught.value.evalue
    bucket = run_state.get("bucket")
    assert clients.client("s3").list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert _jobs() == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_an_error_while_a_throughput_exists_says_it_is_billing_and_how_to_remove_it(
    set_up: State, established: StandIn, aws: StandIn, run_state: State, tmp_path: Path
) -> None:
    # The first call to the served model fails, after the throughput is InService.
    aws.inject(operation="Converse", error="AccessDeniedException", times=50)
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(FINE_TUNING, tmp_path, eval_records=4, provisioned_throughput=True)
    told = "\n".join(caught.value.traceback)
    assert "BILLING: provisioned throughput" in told and "model unit(s)" in told
    [name] = remaining()["throughputs"]
    assert f"provisioned throughput {name} (InService)" in told
    assert (
        "deploy.delete_throughput('arn:aws:bedrock:us-east-1:" in told
        and "03_cleanup.ipynb" in told
    )
    aws.clear_faults()
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
