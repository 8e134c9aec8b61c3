"""The stand-in account's Bedrock quotas: listed as Service Quotas lists them, and enforced."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.exceptions import ClientError

from standin import StandIn, quotas
from standin.restjson import output_problems
from utils import clients

SERVICE_QUOTAS = botocore.session.get_session().get_service_model("service-quotas")


def test_bedrock_quotas_are_listed_in_service_quotas_shape(
    established: StandIn, aws: StandIn
) -> None:
    pages = clients.client("service-quotas").get_paginator("list_service_quotas")
    listed = [q for page in pages.paginate(ServiceCode="bedrock") for q in page["Quotas"]]
    problems = output_problems(
        SERVICE_QUOTAS.operation_model("ListServiceQuotas"), {"Quotas": listed}
    )
    assert problems == []
    by_code = {q["QuotaCode"]: q for q in listed}
    assert by_code[quotas.CUSTOM_UNITS]["Value"] == 2.0
    assert by_code[quotas.SCHEDULED_JOBS]["QuotaName"] == (
        "(Model customization) Scheduled customization jobs"
    )
    assert by_code[quotas.CUSTOM_UNITS]["QuotaArn"] == (
        f"arn:aws:servicequotas:us-east-1:{aws.bedrock.account_id}:bedrock/L-BE77399C"
    )


def test_other_services_quotas_are_not_invented(aws: StandIn) -> None:
    with pytest.raises(ClientError) as caught:
        clients.client("service-quotas").list_service_quotas(ServiceCode="sagemaker")
    assert caught.value.response["Error"]["Code"] == "NoSuchResourceException"


def test_no_commitment_units_beyond_the_quota_are_refused(
    established: StandIn, aws: StandIn
) -> None:
    bedrock = clients.client("bedrock")
    base = "amazon.nova-micro-v1:0:128k"
    bedrock.create_provisioned_model_throughput(
        modelUnits=2, provisionedModelName="pt-two", modelId=base
    )
    with pytest.raises(ClientError) as caught:
        bedrock.create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName="pt-three", modelId=base
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "ServiceQuotaExceededException"
    assert "2 for base models and 2 in use" in error["Message"]
    # A commitment term draws on units bought separately, not on this quota.
    bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt-month", modelId=base, commitmentDuration="OneMonth"
    )
    names = [
        p["provisionedModelName"]
        for p in bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]
    ]
    assert sorted(names) == ["pt-month", "pt-two"]


def test_an_account_without_units_cannot_buy_any(established: StandIn, aws: StandIn) -> None:
    aws.set_quota(quotas.BASE_UNITS, 0)
    with pytest.raises(ClientError) as caught:
        clients.client("bedrock").create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName="pt", modelId="amazon.nova-micro-v1:0:128k"
        )
    assert caught.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    aws.reset()  # back to the settings it started with: the account it plays by default
    assert (
        aws.bedrock.quotas.value(quotas.BASE_UNITS) == aws.bedrock.account.quotas[quotas.BASE_UNITS]
    )


def test_quotas_come_from_the_environment_and_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(quotas.ENV_VAR, json.dumps({quotas.SCHEDULED_JOBS: 3}))
    table = quotas.Quotas()
    assert table.value(quotas.SCHEDULED_JOBS) == 3.0
    assert table.value(quotas.CUSTOM_UNITS) == 2.0
    with pytest.raises(ValueError, match="keeps no quota L-NOPE"):
        table.set("L-NOPE", 1)
    with pytest.raises(ValueError, match="0 or more"):
        table.set(quotas.CUSTOM_UNITS, -1)
    monkeypatch.setenv(quotas.ENV_VAR, json.dumps({quotas.CUSTOM_UNITS: "two"}))
    with pytest.raises(ValueError, match="0 or more"):
        quotas.Quotas()
