"""Preflight: regions without Bedrock and models a region cannot customize are caught early."""

from __future__ import annotations

import pytest

from utils import clients, preflight
from utils.errors import WorkshopError
from utils.local import StandIn


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


def test_model_not_offered_for_that_customization_says_what_is(aws: StandIn) -> None:
    with pytest.raises(WorkshopError) as caught:
        preflight.check_customization("amazon.nova-micro-v1:0", "CONTINUED_PRE_TRAINING")
    message = str(caught.value)
    assert "does not offer Amazon Nova Micro" in message
    assert "amazon.titan-text-lite-v1:0:4k" in message


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
        ("missing key", "cannot be used"),
        ("disabled key", "is Disabled"),
        ("subnets only", "both subnets and security groups"),
        ("unknown subnet", "VPC settings cannot be used"),
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


def test_account_checks_pass_on_the_standin_and_say_what_quotas_are_unknown(aws: StandIn) -> None:
    table = preflight.account_checks("amazon.nova-micro-v1:0", "FINE_TUNING")
    rows = table.set_index("check")
    assert rows.loc["access to Amazon Nova Micro", "status"] == "ok"
    assert rows.loc["permission to run FINE_TUNING jobs", "result"].startswith("allowed; 0 ")
    # moto's Service Quotas knows no Bedrock quotas: a warning with what to look up, no failure.
    assert rows.loc["Bedrock quotas", "status"] == "warning"
    assert "Service Quotas console" in rows.loc["Bedrock quotas", "action"]
    preflight.raise_on_failure(table)


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
