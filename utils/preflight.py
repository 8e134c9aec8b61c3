"""Checks before anything is created: is Bedrock offered here, and can this model be customized."""

from __future__ import annotations

from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError, EndpointConnectionError

from utils import clients, models
from utils.errors import WorkshopError, error_code


def bedrock_regions() -> list[str]:
    """Regions where botocore's endpoint data says Amazon Bedrock is offered (no call made)."""
    return sorted(boto3.session.Session().get_available_regions("bedrock"))


def check_region(region: str) -> None:
    """Fail early, with the alternatives, when ``region`` has no Amazon Bedrock."""
    offered = bedrock_regions()
    if region not in offered:
        raise WorkshopError(
            f"Amazon Bedrock is not offered in {region}.",
            f"Set the parameter region to one of: {', '.join(offered)} "
            "(model customization is offered in fewer regions still; us-east-1 and us-west-2 "
            "have the most models).",
        )


def check_customization(model_id: str, customization_type: str) -> pd.DataFrame:
    """Check the region offers ``model_id`` for ``customization_type``; return what it offers."""
    family = models.family(model_id)
    region = clients.region()
    check_region(region)
    try:
        found = clients.client("bedrock").list_foundation_models(
            byCustomizationType=customization_type
        )["modelSummaries"]
    except EndpointConnectionError as err:
        raise WorkshopError(
            f"Could not reach Amazon Bedrock in {region}: {err}.",
            "Check the region and your network, or run with backend='local'.",
        ) from err
    except ClientError as err:
        code = err.response["Error"].get("Code")
        raise WorkshopError(
            f"Listing foundation models failed ({code}): {err.response['Error'].get('Message')}",
            "Your principal needs bedrock:ListFoundationModels; ask your administrator.",
        ) from err
    table = pd.DataFrame(
        [
            {
                "model id": m["modelId"],
                "name": m["modelName"],
                "provider": m["providerName"],
                "lifecycle": m.get("modelLifecycle", {}).get("status", ""),
            }
            for m in found
        ]
    )
    if family.customization_id not in set(table.get("model id", [])):
        offered = ", ".join(table["model id"]) if len(table) else "none"
        raise WorkshopError(
            f"{region} does not offer {family.name} ({family.customization_id}) for "
            f"{customization_type}.",
            f"Pick a region that does (us-east-1 is a safe choice) or one of the models offered "
            f"here: {offered}.",
        )
    return table


def check_protection(
    kms_key_id: str = "",
    subnet_ids: list[str] | None = None,
    security_group_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Check the optional KMS key and VPC settings for jobs; return them as setup records them.

    Returns:
        ``{"kms_key_arn": ... or None, "vpc_config": {"subnetIds", "securityGroupIds"} or None}``

    Raises:
        WorkshopError: a key that does not exist or is not enabled, subnets or security
            groups that do not exist, or one of the two VPC lists without the other.
    """
    out: dict[str, Any] = {"kms_key_arn": None, "vpc_config": None}
    if kms_key_id:
        try:
            meta = clients.client("kms").describe_key(KeyId=kms_key_id)["KeyMetadata"]
        except ClientError as err:
            raise WorkshopError(
                f"The KMS key {kms_key_id} cannot be used: {err.response['Error'].get('Message')}",
                "Give the ARN, id or alias of an enabled key in this account and Region, or "
                "leave kms_key_id empty for the AWS-owned key.",
            ) from err
        if meta.get("KeyState") != "Enabled":
            raise WorkshopError(
                f"The KMS key {kms_key_id} is {meta.get('KeyState')}.", "Enable it or pick another."
            )
        out["kms_key_arn"] = meta["Arn"]
    subnets, groups = list(subnet_ids or []), list(security_group_ids or [])
    if bool(subnets) != bool(groups):
        raise WorkshopError(
            "A VPC configuration needs both subnets and security groups.",
            "Set both vpc_subnet_ids and vpc_security_group_ids, or neither.",
        )
    if subnets:
        ec2 = clients.client("ec2")
        try:
            found = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
            ec2.describe_security_groups(GroupIds=groups)
        except ClientError as err:
            raise WorkshopError(
                f"The VPC settings cannot be used: {err.response['Error'].get('Message')}",
                "Give subnets and security groups that exist in this Region's VPC.",
            ) from err
        if len({s["VpcId"] for s in found}) != 1:
            raise WorkshopError(
                "The subnets belong to different VPCs.", "Give subnets of one VPC only."
            )
        out["vpc_config"] = {"subnetIds": subnets, "securityGroupIds": groups}
    return out


QUOTA_NAMES = {
    "jobs": "(model customization) scheduled customization jobs",
    "custom units": "model units no-commitment provisioned throughputs across custom models",
    "records": "(model customization) sum of training and validation records for a",
    "units per model": "model units per provisioned model for",
}
"""Service Quotas names (lower case, or their starts) of the Bedrock quotas that bite while
customizing, as Service Quotas lists them, e.g. L-BE77399C "Model units no-commitment
Provisioned Throughputs across custom models" and L-0406044C "(Model customization) Scheduled
customization jobs". Record and model-unit quotas go on with a model's name."""

_TYPE_WORDS = {
    "FINE_TUNING": "fine-tuning",
    "CONTINUED_PRE_TRAINING": "continued pre-training",
    "DISTILLATION": "distillation",
}


def _row(check: str, result: str, ok: bool | None, action: str = "") -> dict[str, Any]:
    status = "ok" if ok else ("warning" if ok is None else "FAILED")
    return {"check": check, "result": result, "status": status, "action": action}


def account_checks(
    model_id: str, customization_type: str, records: int | None = None
) -> pd.DataFrame:
    """What will bite before it bites: access to the model, permission to customize, quotas.

    Each row says what was checked, what was found, and what to do about a problem. Use
    :func:`raise_on_failure` on the table to stop the notebook when something failed.
    ``records`` (training plus validation) is checked against the records quota when the
    account has one for this model and customization type.
    """
    family = models.family(model_id)
    bedrock = clients.client("bedrock")
    rows = []
    try:
        found = bedrock.get_foundation_model_availability(modelId=family.model_id)
        authorized = found["authorizationStatus"] == "AUTHORIZED"
        entitled = found["entitlementAvailability"] == "AVAILABLE"
        agreement = found["agreementAvailability"]["status"]
        rows.append(
            _row(
                f"access to {family.name}",
                f"{found['authorizationStatus'].lower()}, entitlement "
                f"{found['entitlementAvailability'].lower()}, agreement {agreement.lower()}",
                authorized and entitled and agreement in ("AVAILABLE", "NOT_AVAILABLE"),
                ""
                if authorized and entitled
                else "Request access to the model in the Amazon Bedrock console (Model access).",
            )
        )
    except ClientError as err:
        rows.append(
            _row(
                f"access to {family.name}",
                f"{error_code(err)}: {err.response['Error'].get('Message', '')}",
                False if error_code(err) == "AccessDeniedException" else None,
                "Request access to the model in the Amazon Bedrock console (Model access); "
                "if it is granted, your principal needs bedrock:GetFoundationModelAvailability.",
            )
        )
    running_count = None
    try:
        running = bedrock.list_model_customization_jobs(statusEquals="InProgress", maxResults=100)
        count = running_count = len(running["modelCustomizationJobSummaries"])
        rows.append(
            _row(
                f"permission to run {customization_type} jobs",
                f"allowed; {count} customization job(s) running in this account now",
                True,
            )
        )
    except ClientError as err:
        denied = error_code(err) == "AccessDeniedException"
        rows.append(
            _row(
                f"permission to run {customization_type} jobs",
                f"{error_code(err)}: {err.response['Error'].get('Message', '')}",
                False if denied else None,
                "Model customization is denied to this principal, often by an explicit deny "
                "in an organization policy (as in many event accounts). Use an account that "
                "allows bedrock:CreateModelCustomizationJob, or run with backend='local'."
                if denied
                else "Run the cell again.",
            )
        )
    rows.extend(_quota_rows(family, customization_type, running_count, records))
    return pd.DataFrame(rows, columns=["check", "result", "status", "action"])


def _quota_rows(
    family: models.ModelFamily,
    customization_type: str,
    running: int | None,
    records: int | None,
) -> list[dict[str, Any]]:
    """The Bedrock quotas on customization jobs and model units, as Service Quotas reports them."""
    try:
        pages = clients.client("service-quotas").get_paginator("list_service_quotas")
        quotas = [q for page in pages.paginate(ServiceCode="bedrock") for q in page["Quotas"]]
    except ClientError as err:
        return [
            _row(
                "Bedrock quotas",
                f"Service Quotas did not answer ({error_code(err)})",
                None,
                "Look up 'customization jobs' and 'model units' under Amazon Bedrock in the "
                "Service Quotas console before starting several jobs or a provisioned throughput.",
            )
        ]
    rows = []
    for quota in quotas:
        kind = quota_kind(quota["QuotaName"], family, customization_type)
        if kind is not None:
            rows.append(_quota_row(kind, quota, running, records))
    return rows or [_row("Bedrock quotas", "none about customization found", None, "")]


def quota_kind(name: str, family: models.ModelFamily, customization_type: str) -> str | None:
    """Which of :data:`QUOTA_NAMES` a Service Quotas name is, for this model and type (or None)."""
    lower = name.lower()
    model = family.name.lower().removeprefix(family.provider.lower()).strip()
    for kind, start in QUOTA_NAMES.items():
        if not lower.startswith(start):
            continue
        if kind == "records":
            wanted = f"{_TYPE_WORDS.get(customization_type, '-')} job"
            return kind if model in lower and lower.endswith(wanted) else None
        if kind == "units per model":
            return kind if model in lower else None
        return kind
    return None


def _quota_row(
    kind: str, quota: dict[str, Any], running: int | None, records: int | None
) -> dict[str, Any]:
    value = float(quota["Value"])
    check = f"quota: {quota['QuotaName']}"
    increase = "Request an increase in Service Quotas (it can take days)."
    if kind == "jobs":
        busy = running is not None and running >= value
        result = f"{value:g}" + ("" if running is None else f"; {running} running now")
        action = "New jobs wait for a free slot: stop a job, or request an increase."
        return _row(check, result, None if busy else True, action if busy else "")
    if kind == "records":
        too_many = records is not None and records > value
        result = f"{value:g}" + ("" if records is None else f"; this dataset has {records}")
        action = f"Use at most {value:g} records (max_examples), or request an increase."
        return _row(check, result, not too_many, action if too_many else "")
    missing = value < 1
    action = (
        "Serving a custom model with provisioned throughput needs at least one no-commitment "
        f"model unit. {increase} Nova models can use an on-demand deployment instead."
    )
    return _row(check, f"{value:g}", None if missing else True, action if missing else "")


def raise_on_failure(table: pd.DataFrame) -> None:
    """Stop with the first failed check's problem and action (warnings do not stop)."""
    failed = table[table["status"] == "FAILED"]
    if len(failed):
        first = failed.iloc[0]
        raise WorkshopError(f"Preflight: {first['check']}: {first['result']}", first["action"])
