"""Fault injection in the stand-in, and what the workshop does with each failure."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from standin.faults import ENV_VAR, Fault, Faults
from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl
from utils import clients, iam, jobs
from utils.errors import GENERIC_FIXES, WorkshopError
from utils.state import State


def _admin(standin: StandIn, method: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    try:
        return 200, json.loads(standin.request("/_workshop/faults", method=method, data=data))
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _start(state: State, bucket: str, role: str) -> jobs.Job:
    return jobs.start(
        state=state,
        key="fine-tuning",
        base_model="amazon.nova-micro-v1:0",
        training_uri=put_jsonl(bucket, "train.jsonl", dialogue_records(12)),
        output_uri=f"s3://{bucket}/out/",
        role_arn=role,
    )


def test_rules_are_checked_when_added() -> None:
    with pytest.raises(ValueError):
        Fault(operation="job", error="ThrottlingException")
    with pytest.raises(ValueError):
        Fault(operation="CreateModelCustomizationJob")
    with pytest.raises(ValueError):
        Fault(operation="CreateModelCustomizationJob", error="ThrottlingException", times=0)
    with pytest.raises(ValueError):
        Fault(operation="Converse", error="ThrottlingException", after=-1)
    assert Fault(operation="job", outcome="Failed").text == "Injected failure of the resource."


def test_rules_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = {"operation": "Converse", "error": "ThrottlingException", "times": 1}
    monkeypatch.setenv(ENV_VAR, json.dumps([rule]))
    faults = Faults.from_env()
    assert faults.rules() == [{**rule, "message": None, "outcome": None, "after": 0}]
    assert faults.take("Converse") is not None
    assert faults.take("Converse") is None  # used up
    monkeypatch.delenv(ENV_VAR)
    assert Faults.from_env().rules() == []


def test_a_rule_can_let_the_first_calls_through() -> None:
    faults = Faults([{"operation": "Converse", "error": "AccessDeniedException", "after": 2}])
    faults.add({"operation": "job", "outcome": "Failed", "after": 1, "times": 1})
    assert [faults.take("Converse") for _ in range(2)] == [None, None]
    assert [faults.take("Converse").error for _ in range(3)] == ["AccessDeniedException"] * 3
    assert faults.take("job") is None
    assert faults.take("job").outcome == "Failed"  # the second job to end
    assert faults.take("job") is None  # used up
    assert faults.rules() == [
        {
            "operation": "Converse",
            "error": "AccessDeniedException",
            "message": None,
            "times": None,
            "outcome": None,
            "after": 0,
        }
    ]


def test_the_stand_in_counts_the_calls_its_faults_failed(aws: StandIn) -> None:
    before = aws.faults_served()
    aws.inject(operation="ListCustomModels", error="AccessDeniedException", times=2)
    for _ in range(3):
        try:
            clients.client("bedrock").list_custom_models()
        except ClientError as err:
            assert err.response["Error"]["Code"] == "AccessDeniedException"
    assert aws.faults_served() == before + 2  # the third call went through


def test_admin_endpoint_adds_lists_and_clears_faults(aws: StandIn) -> None:
    rule = {"operation": "ListCustomModels", "error": "AccessDeniedException"}
    status, payload = _admin(aws, "POST", rule)
    assert status == 200 and payload["faults"][0]["operation"] == "ListCustomModels"
    with pytest.raises(ClientError) as caught:
        clients.client("bedrock").list_custom_models()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _admin(aws, "POST", {"operation": "ListCustomModels"})[0] == 400
    assert _admin(aws, "GET")[1]["faults"] != []
    assert _admin(aws, "DELETE")[1]["faults"] == []
    assert clients.client("bedrock").list_custom_models()["modelSummaries"] == []


def test_throttling_is_survived_by_retries(
    aws: StandIn, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, role = make_bucket(), make_role()
    aws.inject(operation="CreateModelCustomizationJob", error="ThrottlingException", times=2)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")  # the workshop's default is 8
    clients.clear_cache()
    job = _start(state, bucket, role)
    assert jobs.describe(job)["status"] in ("InProgress", "Completed")
    assert len(state.resources("customization-job")) == 1


def test_throttling_beyond_the_retries_says_what_to_do(aws: StandIn, state: State) -> None:
    bucket, role = make_bucket(), make_role()
    aws.inject(operation="CreateModelCustomizationJob", error="ThrottlingException", times=1)
    with pytest.raises(WorkshopError) as caught:
        _start(state, bucket, role)
    assert "ThrottlingException" in caught.value.problem
    assert caught.value.fix == "Wait a minute and run the cell again."
    assert state.resources("customization-job") == []  # nothing recorded that does not exist
    assert _start(state, bucket, role).reused is False  # and the next try works


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        ("AccessDeniedException", "Model access"),
        ("ServiceQuotaExceededException", "quota increase"),
    ],
)
def test_job_creation_failures_come_with_their_fix(
    aws: StandIn, state: State, error: str, needle: str
) -> None:
    bucket, role = make_bucket(), make_role()
    aws.inject(operation="CreateModelCustomizationJob", error=error)
    with pytest.raises(WorkshopError) as caught:
        _start(state, bucket, role)
    assert error in caught.value.problem and needle in (caught.value.fix or "")
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )


def test_iam_faults_reach_the_caller_in_iams_own_format(aws: StandIn, state: State) -> None:
    aws.inject(operation="iam:CreateRole", error="AccessDenied", times=1)
    with pytest.raises(WorkshopError) as caught:
        iam.ensure_role("ws-role", "ws-policy", "123456789012", "us-east-1", "ws-bucket", state)
    assert caught.value.problem.startswith("Creating the IAM role ws-role failed with AccessDenied")
    assert "iam:PassRole" in (caught.value.fix or "")
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert clients.client("iam").list_roles()["Roles"] == []
    # The fault was used up: the re-run creates the role and its policy.
    arn = iam.ensure_role("ws-role", "ws-policy", "123456789012", "us-east-1", "ws-bucket", state)
    assert arn.endswith(":role/ws-role")


def test_a_failed_deployment_is_reported_with_bedrocks_message(aws: StandIn, state: State) -> None:
    from tests.helpers import NOTHING_LEFT, remaining
    from utils import cleanup, deploy

    bucket, role = make_bucket(), make_role()
    job = _start(state, bucket, role)
    final = jobs.wait(job, state, interval=0.1, progress=False)
    aws.inject(operation="deployment", outcome="Failed", message="Deployment quota reached.")
    endpoint = deploy.serve(
        state=state,
        key="ft",
        model_arn=final["outputModelArn"],
        base_model="amazon.nova-micro-v1:0",
        name_prefix="nova-micro-ft",
    )
    with pytest.raises(WorkshopError) as caught:
        deploy.wait_ready(endpoint, state, interval=0.1, progress=False)
    assert "failed: Deployment quota reached." in caught.value.problem
    described = clients.client("bedrock").get_custom_model_deployment(
        customModelDeploymentIdentifier=endpoint.arn
    )
    assert described["status"] == "Failed"
    assert described["failureMessage"] == "Deployment quota reached."
    cleanup.cleanup(state)
    left = remaining()
    # The test's own role and bucket were never recorded in the state, so they stay.
    assert left == {**NOTHING_LEFT, "buckets": [bucket], "roles": [role.rsplit("/", 1)[-1]]}


def test_cleanup_counts_a_resource_that_vanished_meanwhile_as_gone(
    aws: StandIn, state: State
) -> None:
    from tests.helpers import remaining
    from utils import cleanup

    bucket, role = make_bucket(), make_role()
    job = _start(state, bucket, role)
    jobs.wait(job, state, interval=0.1, progress=False)
    # Somebody deletes the model in the console while cleanup runs: Bedrock says not found.
    aws.inject(operation="DeleteCustomModel", error="ResourceNotFoundException", times=1)
    table = cleanup.cleanup(state)
    row = table[table["kind"] == "custom-model"].iloc[0]
    assert (row["action"], bool(row["remains"])) == ("already gone", False)
    assert state.resources("custom-model") == []
    assert len(remaining()["models"]) == 1  # the fault kept it; a second cleanup has no record
    assert cleanup.cleanup(state).empty


def test_a_cleanup_that_is_denied_says_what_remains_and_why(aws: StandIn, state: State) -> None:
    from utils import cleanup

    bucket, role = make_bucket(), make_role()
    job = _start(state, bucket, role)
    jobs.wait(job, state, interval=0.1, progress=False)
    aws.inject(operation="DeleteCustomModel", error="AccessDeniedException", times=1)
    table = cleanup.cleanup(state)
    row = table[table["kind"] == "custom-model"].iloc[0]
    assert bool(row["remains"]) is True
    assert row["action"] == (
        "Removing the custom-model failed with AccessDeniedException: You don't have access to "
        "the model with the specified model ID.\nWhat to do: "
        + GENERIC_FIXES["AccessDeniedException"]
    )
    assert len(state.resources("custom-model")) == 1  # still recorded, for the next run
    again = cleanup.cleanup(state)  # the fault is used up: the second run removes it
    assert not again["remains"].any()
    assert clients.client("bedrock").list_custom_models()["modelSummaries"] == []
