"""Preflight: regions without Bedrock and models a region cannot customize are caught early."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from standin import StandIn, quotas
from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl
from utils import clients, models, preflight
from utils.errors import WorkshopError
from utils.state import State


def test_bedrock_regions_come_from_botocore_data() -> None:
    regions = preflight.bedrock_regions()
    assert "us-east-1" in regions and "us-west-2" in regions
    preflight.check_region("us-east-1")


@pytest.mark.parametrize("region", ["ap-east-1", "us-eats-1"])
def test_region_without_bedrock_lists_alternatives(region: str) -> None:
    # ap-east-1 has no Bedrock in the pinned botocore's endpoint data; the other is a typo.
    with pytest.raises(WorkshopError) as caught:
        preflight.check_region(region)
    assert f"not offered in {region}" in str(caught.value)
    assert "us-east-1" in str(caught.value)


def test_customizable_model_passes_and_lists_the_offer(aws: StandIn) -> None:
    table = preflight.check_customization("amazon.nova-micro-v1:0", "FINE_TUNING")
    assert "amazon.nova-micro-v1:0:128k" in set(table["model id"])
    assert list(table.columns) == ["model id", "name", "provider", "lifecycle"]


def test_setup_lists_what_the_region_customizes_as_bedrock_says(aws: StandIn) -> None:
    today = preflight.offered_here()
    assert set(today["customization"]) <= {"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"}
    fine_tuning = set(today.loc[today["customization"] == "FINE_TUNING", "model id"])
    assert {"amazon.nova-micro-v1:0:128k", "amazon.nova-lite-v1:0:300k"} <= fine_tuning
    # Titan Text, the one family Bedrock pre-trained further, is past end of life: not listed.
    assert "CONTINUED_PRE_TRAINING" not in set(today["customization"])
    assert set(today["lifecycle"]) <= {"ACTIVE", "LEGACY"}


def test_the_region_offer_follows_the_day_bedrock_is_asked(before_retirements: StandIn) -> None:
    then = preflight.offered_here()
    pretraining = then.loc[then["customization"] == "CONTINUED_PRE_TRAINING", "model id"]
    assert any(m.startswith("amazon.titan-text-lite-v1") for m in pretraining)


def test_the_region_offer_stops_where_bedrock_is_not(aws: StandIn) -> None:
    clients.use_backend("local", "ap-east-1")
    try:
        with pytest.raises(WorkshopError, match="not offered in ap-east-1"):
            preflight.offered_here()
    finally:
        clients.use_backend("local", "us-east-1")


def test_model_not_offered_for_that_customization_says_what_is(aws: StandIn) -> None:
    with pytest.raises(WorkshopError) as caught:
        preflight.check_customization("amazon.nova-micro-v1:0", "CONTINUED_PRE_TRAINING")
    message = str(caught.value)
    assert "does not offer Amazon Nova Micro" in message
    # Titan Text, the only family ever offered for it, has reached end of life.
    assert "offered here: none" in message and "Custom Model Import" in message


def _vpc() -> tuple[list[str], list[str]]:
    ec2 = clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="ws", Description="workshop", VpcId=vpc)
    return [subnet], [group["GroupId"]]


def test_protection_settings_are_checked_and_resolved(aws: StandIn) -> None:
    kms = clients.client("kms")
    key = kms.create_key(Description="workshop models")["KeyMetadata"]
    kms.create_alias(AliasName="alias/workshop-models", TargetKeyId=key["KeyId"])
    subnets, groups = _vpc()
    got = preflight.check_protection("alias/workshop-models", subnets, groups)
    assert got == {
        "kms_key_arn": key["Arn"],
        "vpc_config": {"subnetIds": subnets, "securityGroupIds": groups},
    }
    assert preflight.check_protection() == {"kms_key_arn": None, "vpc_config": None}


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing key", "Looking up the KMS key alias/nothing-here failed with NotFoundException"),
        ("disabled key", "is Disabled"),
        ("subnets only", "both subnets and security groups"),
        (
            "unknown subnet",
            "Looking up the VPC subnets and security groups failed with InvalidSubnetID.NotFound",
        ),
    ],
)
def test_bad_protection_settings_say_what_to_fix(aws: StandIn, case: str, needle: str) -> None:
    kms = clients.client("kms")
    subnets, groups = _vpc()
    args: dict = {
        "missing key": {"kms_key_id": "alias/nothing-here"},
        "subnets only": {"subnet_ids": subnets},
        "unknown subnet": {"subnet_ids": ["subnet-00000000"], "security_group_ids": groups},
    }.get(case, {})
    if case == "disabled key":
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=key)
        args = {"kms_key_id": key}
    with pytest.raises(WorkshopError) as caught:
        preflight.check_protection(**args)
    assert needle in str(caught.value)


def test_account_checks_pass_on_the_standin_and_show_its_quotas(
    established: StandIn, aws: StandIn
) -> None:
    table = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING")
    rows = table.set_index("check")
    assert rows.loc["access to Amazon Nova Micro", "status"] == "ok"
    assert rows.loc["permission to run FINE_TUNING jobs", "result"].startswith("allowed; 0 ")
    jobs = rows.loc["quota: (Model customization) Scheduled customization jobs"]
    assert (jobs["result"], jobs["status"]) == ("10; 0 running now", "ok")
    units = rows.loc[
        "quota: Model units no-commitment Provisioned Throughputs across custom models"
    ]
    assert (units["result"], units["status"]) == ("2", "ok")
    # The base-model units quota does not concern a customization, so it is not shown.
    assert not any("across base models" in check for check in table["check"])
    preflight.raise_on_failure(table)


def test_an_account_without_model_units_is_warned_with_the_way_round(aws: StandIn) -> None:
    aws.set_quota(quotas.CUSTOM_UNITS, 0)
    rows = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING").set_index("check")
    units = rows.loc[
        "quota: Model units no-commitment Provisioned Throughputs across custom models"
    ]
    assert (units["result"], units["status"]) == ("0", "warning")
    assert "on-demand deployment" in units["action"]


def test_all_job_slots_in_use_is_a_warning_that_names_the_running_jobs(aws: StandIn) -> None:
    aws.set_quota(quotas.SCHEDULED_JOBS, 1)
    bucket, role = make_bucket(), make_role()
    aws.bedrock.job_seconds = 60  # stays InProgress while we look
    try:
        clients.client("bedrock").create_model_customization_job(
            jobName="someone-elses-job",
            customModelName="someone-elses-model",
            roleArn=role,
            baseModelIdentifier="amazon.nova-micro-v1:0:128k",
            trainingDataConfig={"s3Uri": put_jsonl(bucket, "t.jsonl", dialogue_records(12))},
            outputDataConfig={"s3Uri": f"s3://{bucket}/out/"},
        )
        table = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING")
    finally:
        aws.bedrock.job_seconds = 0.3
    jobs = table.set_index("check").loc["quota: (Model customization) Scheduled customization jobs"]
    assert (jobs["result"], jobs["status"]) == ("1; 1 running now", "warning")
    assert "stop a job" in jobs["action"]


# Names as Service Quotas lists them for Bedrock (codes L-3B82104D, L-91554672, L-8129BF10,
# L-BE77399C, L-FE44174A, L-0406044C), plus two that concern other things.
REAL_NAMES = [
    "(Model customization) Sum of training and validation records for a Titan Text G1 - Lite v1 "
    "Fine-tuning job",
    "(Model customization) Sum of training and validation records for a Titan Text G1 - Lite v1 "
    "Continued Pre-Training job",
    "Model units per provisioned model for Amazon Titan Text G1 - Express 8K",
    "Model units no-commitment Provisioned Throughputs across custom models",
    "Model units no-commitment Provisioned Throughputs across base models",
    "(Model customization) Scheduled customization jobs",
    "On-demand model inference tokens per minute for Amazon Titan Text Lite",
    "Batch inference job size (in GB) for Nova Micro V1",
]


@pytest.mark.parametrize(
    ("model", "customization", "expected"),
    [
        (
            "amazon.titan-text-lite-v1",
            "FINE_TUNING",
            ["records", None, None, "custom units", None, "jobs", None, None],
        ),
        (
            "amazon.titan-text-lite-v1",
            "CONTINUED_PRE_TRAINING",
            [None, "records", None, "custom units", None, "jobs", None, None],
        ),
        (
            "amazon.titan-text-express-v1",
            "FINE_TUNING",
            [None, None, "units per model", "custom units", None, "jobs", None, None],
        ),
        (
            "amazon.nova-micro-v1:0",
            "FINE_TUNING",
            [None, None, None, "custom units", None, "jobs", None, None],
        ),
    ],
)
def test_real_quota_names_are_recognised_for_the_model_and_type(
    model: str, customization: str, expected: list[str | None]
) -> None:
    family = models.family(model)
    assert [preflight.quota_kind(n, family, customization) for n in REAL_NAMES] == expected


def test_a_dataset_over_the_records_quota_fails_the_check(
    aws: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    quota_client = botocore.session.get_session().create_client(
        "service-quotas", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    listed = {
        "QuotaName": REAL_NAMES[0],
        "QuotaCode": "L-3B82104D",
        "ServiceCode": "bedrock",
        "Value": 10000.0,
    }
    real_client = clients.client

    def client(name: str, *args: Any, **kwargs: Any) -> Any:
        return quota_client if name == "service-quotas" else real_client(name, *args, **kwargs)

    monkeypatch.setattr(clients, "client", client)
    with Stubber(quota_client) as stub:
        stub.add_response("list_service_quotas", {"Quotas": [listed]}, {"ServiceCode": "bedrock"})
        table = preflight.account_checks("amazon.titan-text-lite-v1", "FINE_TUNING", 12000)
        stub.assert_no_pending_responses()
    row = table.set_index("check").loc[f"quota: {REAL_NAMES[0]}"]
    assert (row["result"], row["status"]) == ("10000; this dataset has 12000", "FAILED")
    with pytest.raises(WorkshopError) as caught:
        preflight.raise_on_failure(table)
    assert "Use at most 10000 records" in (caught.value.fix or "")


def test_an_explicit_deny_on_customization_stops_with_the_reason(aws: StandIn) -> None:
    aws.inject(
        operation="ListModelCustomizationJobs",
        error="AccessDeniedException",
        message="with an explicit deny in a service control policy",
    )
    table = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING")
    failed = table[table["status"] == "FAILED"]
    assert list(failed["check"]) == ["permission to run FINE_TUNING jobs"]
    with pytest.raises(WorkshopError) as caught:
        preflight.raise_on_failure(table)
    assert "explicit deny" in caught.value.problem
    assert "organization policy" in (caught.value.fix or "")


def test_no_model_access_stops_with_the_console_step(aws: StandIn) -> None:
    aws.inject(operation="GetFoundationModelAvailability", error="AccessDeniedException")
    table = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING")
    with pytest.raises(WorkshopError) as caught:
        preflight.raise_on_failure(table)
    assert "Model access" in (caught.value.fix or "") or "model access" in (caught.value.fix or "")


def _west(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clients.clear_cache()


def test_serving_is_decided_before_training(
    established: StandIn, aws: StandIn, monkeypatch: pytest.MonkeyPatch, state: State
) -> None:
    from utils import deploy

    plan = preflight.check_serving("amazon.nova-micro-v1:0")
    assert plan.kind == "deployment"
    assert preflight.check_serving("amazon.nova-micro-v1:0", provisioned=True).kind == (
        "provisioned-throughput"
    )
    _west(monkeypatch)
    plan = preflight.check_serving("meta.llama3-1-8b-instruct-v1:0")
    assert plan.kind == "provisioned-throughput" and "the account has 2" in plan.reason
    # A new account has no model units: stop now, before training is paid for.
    aws.play("new")
    with pytest.raises(preflight.PreflightStop) as caught:
        preflight.check_serving("meta.llama3-1-8b-instruct-v1:0")
    message = str(caught.value)
    assert "the account has 0" in message and preflight.CUSTOM_UNITS_CODE in message
    assert "train_without_serving=True" in message
    plan = preflight.check_serving("meta.llama3-1-8b-instruct-v1:0", train_without_serving=True)
    assert plan.kind == "none"
    with pytest.raises(preflight.NotServed, match="trained and is kept, but not served"):
        deploy.serve(state=state, key="k", model_arn="arn:x", base_model="meta.llama3-1-8b-"
                     "instruct-v1:0", name_prefix="n", plan=plan)  # fmt: skip
    assert state.resources() == []  # nothing was created


def test_a_legacy_model_is_stopped_before_training_when_it_would_need_a_throughput(
    aws: StandIn,
) -> None:
    aws.play("established", "2025-06-01")  # Titan Text was Legacy then
    assert preflight.check_lifecycle("amazon.titan-text-lite-v1") == "LEGACY"
    with pytest.raises(preflight.PreflightStop) as caught:
        preflight.check_serving("amazon.titan-text-lite-v1")
    assert "Legacy" in str(caught.value) and "no new provisioned" in str(caught.value)


def test_a_new_account_is_stopped_before_a_legacy_model(aws: StandIn) -> None:
    aws.play("new", "2025-06-01")  # Titan Text was Legacy then
    with pytest.raises(preflight.PreflightStop) as caught:
        preflight.check_lifecycle("amazon.titan-text-lite-v1")
    assert "not open to accounts that have not used them" in str(caught.value)
    aws.play("established", "2025-06-01")
    assert preflight.check_lifecycle("amazon.titan-text-lite-v1") == "LEGACY"


def test_reinforcement_asks_bedrock_what_it_can_and_refuses_other_models(aws: StandIn) -> None:
    offer = preflight.check_reinforcement("amazon.nova-2-lite-v1:0")
    assert "amazon.nova-2-lite-v1:0:256k" in set(offer["model id"])  # this Region customizes it
    with pytest.raises(WorkshopError) as caught:
        preflight.check_reinforcement("amazon.nova-micro-v1:0")
    message = str(caught.value)
    assert "no reinforcement fine-tuning for Amazon Nova Micro" in message
    assert "amazon.nova-2-lite-v1:0 (us-east-1)" in message
    clients.use_backend("local", "us-west-2")
    try:
        with pytest.raises(WorkshopError, match="us-west-2 does not offer Amazon Nova 2 Lite"):
            preflight.check_reinforcement("amazon.nova-2-lite-v1:0")
    finally:
        clients.use_backend("local", "us-east-1")
