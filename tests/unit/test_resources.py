"""utils.resources: the kinds of resource, the workshop tag, and their life cycle in the state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from standin import StandIn
from utils import cleanup, clients, resources
from utils.errors import GENERIC_FIXES, WorkshopError
from utils.resources import Kind
from utils.state import State

ACCOUNT = "123456789012"
DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }
)


def test_kinds_keep_the_names_existing_state_files_hold() -> None:
    assert [k.value for k in Kind] == [
        "s3-bucket",
        "iam-role",
        "iam-policy",
        "customization-job",
        "custom-model",
        "provisioned-throughput",
        "custom-model-deployment",
        "batch-inference-job",
        "invocation-logging",
        "model-import-job",
        "imported-model",
        "lambda-function",
    ]


def test_cleanup_knows_every_kind_and_removes_billing_ones_first() -> None:
    assert set(cleanup.ORDER) == set(Kind)
    assert cleanup.ORDER[0] == Kind.THROUGHPUT  # billed by the hour: first to go
    assert cleanup.ORDER.index(Kind.BUCKET) > cleanup.ORDER.index(Kind.LOGGING)


def test_a_recorded_kind_reads_back_as_plain_text(state: State) -> None:
    state.add_resource(Kind.BUCKET, "b1", status="created")
    on_disk = json.loads(state.path.read_text())
    assert on_disk["resources"][0]["kind"] == "s3-bucket"
    assert [r["id"] for r in State(state.path).resources(Kind.BUCKET)] == ["b1"]
    assert State(state.path).resources("s3-bucket") == State(state.path).resources(Kind.BUCKET)


def test_the_tag_marks_the_workshop() -> None:
    assert resources.tags("ws1234ab") == [{"key": "workshop-id", "value": "ws1234ab"}]


def _create_policy(state: State, name: str, **extra: Any) -> dict[str, Any]:
    return resources.create(
        state,
        Kind.POLICY,
        name,
        lambda: clients.client("iam").create_policy(PolicyName=name, PolicyDocument=DOCUMENT),
        arn=lambda answer: answer["Policy"]["Arn"],
        status="created",
        action=f"Creating the IAM policy {name}",
        **extra,
    )


def test_create_records_before_the_call_and_the_arn_and_status_after(
    aws: StandIn, state: State
) -> None:
    seen: list[dict[str, Any] | None] = []

    def send() -> dict[str, Any]:
        seen.append(state.find_resource(Kind.POLICY, "life-policy"))
        return dict(
            clients.client("iam").create_policy(PolicyName="life-policy", PolicyDocument=DOCUMENT)
        )

    answer = resources.create(
        state,
        Kind.POLICY,
        "life-policy",
        send,
        arn=lambda answer: answer["Policy"]["Arn"],
        status="created",
        action="Creating the IAM policy life-policy",
        key="setup",
    )
    [before] = seen
    assert before is not None
    assert (before["status"], before["key"], "arn" in before) == ("creating", "setup", False)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/life-policy"
    assert answer["Policy"]["Arn"] == arn
    after = state.find_resource(Kind.POLICY, "life-policy")
    assert after is not None
    assert (after["status"], after["arn"], after["key"]) == ("created", arn, "setup")


def test_an_arn_known_beforehand_is_recorded_before_the_call(aws: StandIn, state: State) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/known"
    recorded_arns: list[str | None] = []

    def send() -> dict[str, Any]:
        rec = state.find_resource(Kind.POLICY, "known")
        recorded_arns.append(rec and rec.get("arn"))
        return dict(
            clients.client("iam").create_policy(PolicyName="known", PolicyDocument=DOCUMENT)
        )

    resources.create(
        state, Kind.POLICY, "known", send, arn=arn, status="created", action="Creating known"
    )
    assert recorded_arns == [arn]
    rec = state.find_resource(Kind.POLICY, "known")
    assert rec is not None and (rec["arn"], rec["status"]) == (arn, "created")


def test_a_refusal_forgets_the_record_and_is_explained(aws: StandIn, state: State) -> None:
    aws.inject(operation="iam:CreatePolicy", error="AccessDenied", times=1)
    with pytest.raises(WorkshopError) as caught:
        _create_policy(state, "denied", fixes={"LimitExceeded": "not this one"})
    assert caught.value.problem == (
        "Creating the IAM policy denied failed with AccessDenied: "
        "User is not authorized to perform this action."
    )
    assert caught.value.fix == GENERIC_FIXES["AccessDenied"]
    assert state.find_resource(Kind.POLICY, "denied") is None
    assert clients.client("iam").list_policies(Scope="Local")["Policies"] == []


def test_a_refusal_keeps_what_an_earlier_run_recorded(aws: StandIn, state: State) -> None:
    _create_policy(state, "fixed-name")
    aws.inject(operation="iam:CreatePolicy", error="LimitExceeded", times=1)
    with pytest.raises(WorkshopError) as caught:
        _create_policy(state, "fixed-name", fixes={"LimitExceeded": "Delete unused policies."})
    assert caught.value.fix == "Delete unused policies."
    rec = state.find_resource(Kind.POLICY, "fixed-name")
    assert rec is not None and rec["status"] == "created"  # the policy still exists


def test_a_resource_that_exists_already_is_adopted(aws: StandIn, state: State) -> None:
    clients.client("iam").create_policy(PolicyName="ours", PolicyDocument=DOCUMENT)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/ours"
    adopted = _create_policy(
        state, "ours", adopt={"EntityAlreadyExists": lambda: {"Policy": {"Arn": arn}}}
    )
    assert adopted == {"Policy": {"Arn": arn}}
    rec = state.find_resource(Kind.POLICY, "ours")
    assert rec is not None and (rec["status"], rec["arn"]) == ("created", arn)


def _delete_throughput(state: State, arn: str) -> bool:
    return resources.delete(
        state,
        Kind.THROUGHPUT,
        arn,
        lambda: clients.client("bedrock").delete_provisioned_model_throughput(
            provisionedModelId=arn
        ),
        action=f"Deleting provisioned throughput {arn}",
    )


def test_deleting_what_is_already_gone_returns_false_and_forgets_it(
    aws: StandIn, state: State
) -> None:
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/gone"
    state.add_resource(Kind.THROUGHPUT, "pt-gone", arn=arn, status="InService", key="lesson")
    state.set(resources.pointer(Kind.THROUGHPUT, "lesson"), {"name": "pt-gone", "arn": arn})
    state.set("throughput:other", {"name": "pt-other", "arn": "arn:other"})
    assert _delete_throughput(state, arn) is False
    assert state.resources() == []
    assert state.get("throughput:lesson") is None
    assert state.get("throughput:other") == {"name": "pt-other", "arn": "arn:other"}


def test_deleting_what_exists_returns_true_and_forgets_it(aws: StandIn, state: State) -> None:
    arn = _create_policy(state, "doomed")["Policy"]["Arn"]
    iam = clients.client("iam")
    deleted = resources.delete(
        state,
        Kind.POLICY,
        "doomed",
        lambda: iam.delete_policy(PolicyArn=arn),
        action="Deleting the IAM policy doomed",
        gone={"NoSuchEntity"},
    )
    assert deleted is True
    assert state.resources() == []
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_a_refused_delete_keeps_the_record_and_says_why(aws: StandIn, state: State) -> None:
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/kept"
    state.add_resource(Kind.THROUGHPUT, "pt-kept", arn=arn, status="InService", key="lesson")
    state.set("throughput:lesson", {"name": "pt-kept", "arn": arn})
    aws.inject(operation="DeleteProvisionedModelThroughput", error="AccessDeniedException")
    with pytest.raises(WorkshopError) as caught:
        _delete_throughput(state, arn)
    assert caught.value.problem.startswith(
        f"Deleting provisioned throughput {arn} failed with AccessDeniedException: "
    )
    assert [r["id"] for r in state.resources()] == ["pt-kept"]
    assert state.get("throughput:lesson") == {"name": "pt-kept", "arn": arn}


def test_forgetting_an_old_resource_keeps_the_pointer_to_its_successor(state: State) -> None:
    state.add_resource(Kind.JOB, "job-old", arn="arn:old", key="ft")
    state.add_resource(Kind.JOB, "job-new", arn="arn:new", key="ft")
    state.set("job:ft", {"name": "job-new", "arn": "arn:new"})
    resources.forget(state, Kind.JOB, "arn:old")
    assert [r["id"] for r in state.resources()] == ["job-new"]
    assert state.get("job:ft") == {"name": "job-new", "arn": "arn:new"}
    resources.forget(state, Kind.JOB, "job-new")
    assert state.resources() == [] and state.get("job:ft") is None
