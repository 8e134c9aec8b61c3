"""Checks before anything is created: is Bedrock offered here, and can this model be customized."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import ClientError, EndpointConnectionError

from utils import clients, models
from utils.errors import WorkshopError, error_code, explain


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


class PreflightStop(WorkshopError):
    """The notebook stops on purpose before its first billable call: nothing was created.

    The runner records the reason in ``summary.json`` and goes on with the next notebook.
    """


def check_lifecycle(model_id: str, *, serve_with_throughput: bool = False) -> str:
    """Ask Bedrock where the base model stands; stop when it cannot be used for this path.

    Stops at end of life, and at Legacy when the path needs a new provisioned throughput
    (Bedrock creates none for Legacy models) or when Bedrock says the account may not use it
    (new customers cannot use Legacy models). Returns ACTIVE or LEGACY.
    """
    family = models.family(model_id)
    region = clients.region()
    bedrock = clients.client("bedrock")
    try:
        details = bedrock.get_foundation_model(modelIdentifier=family.customization_id)
    except ClientError as err:
        message = err.response["Error"].get("Message", "")
        if error_code(err) == "ResourceNotFoundException":
            ours = family.life.status()
            said = (
                f"The workshop's registry says it reached end of life on {family.life.end_of_life}."
                if ours == models.EOL
                else f"The workshop's registry still has it as {ours}; Bedrock's answer wins."
            )
            raise PreflightStop(
                f"{family.name} ({family.customization_id}) cannot be customized in {region}: "
                f"Bedrock answers '{message}'. {said}",
                _alternatives(family),
            ) from err
        denied = "Your principal needs bedrock:GetFoundationModel; ask your administrator."
        raise explain(
            err,
            f"Asking Bedrock about {family.customization_id}",
            {"AccessDeniedException": denied},
        ) from err
    status = details["modelDetails"].get("modelLifecycle", {}).get("status", "ACTIVE")
    if status == models.LEGACY:
        try:
            found = bedrock.get_foundation_model_availability(modelId=family.model_id)
        except ClientError:
            found = {}  # not allowed to ask: the account checks of 00_setup report it
        if found and found.get("authorizationStatus") != "AUTHORIZED":
            raise PreflightStop(
                f"{family.name} is Legacy in {region}, and Legacy models are not open to "
                "accounts that have not used them (new customers cannot use Legacy models).",
                _alternatives(family),
            )
    if status == models.LEGACY and serve_with_throughput:
        raise PreflightStop(
            f"{family.name} is Legacy in {region}: Bedrock creates no new provisioned "
            "throughput for a Legacy model, so a model trained on it could not be served.",
            _alternatives(family),
        )
    return str(status)


class NotServed(PreflightStop):
    """A model was trained but is not served: the account cannot serve it yet (no model units).

    Raised where the notebook would create the endpoint, when ``train_without_serving`` let
    it train anyway; the runner records the notebook as stopped, with this reason.
    """


CUSTOM_UNITS_CODE = "L-BE77399C"
CUSTOM_UNITS_NAME = "Model units no-commitment Provisioned Throughputs across custom models"
"""The Service Quotas entry that holds an account's no-commitment units for custom models."""


@dataclass(frozen=True)
class ServingPlan:
    """How the notebook will serve its custom model, decided before anything is trained."""

    kind: str  # "deployment", "provisioned-throughput" or "none"
    reason: str

    def __str__(self) -> str:
        return f"Serving: {self.kind} ({self.reason})"


def check_serving(
    model_id: str,
    *,
    provisioned: bool = False,
    model_units: int = 1,
    train_without_serving: bool = False,
) -> ServingPlan:
    """Decide how the custom model will be served, and stop now if it could not be.

    A family with on-demand deployments needs nothing more. Provisioned throughput needs a
    model that is not Legacy and no-commitment model units: "Before you can purchase a
    Provisioned Throughput (with commitment or no commitment), you must first visit the AWS
    support center to request MUs" (Purchase a Provisioned Throughput, Amazon Bedrock user
    guide, read 2026-12-01), and a new account has none. Without units the notebook stops
    here, before training is paid for, unless ``train_without_serving`` says to train anyway.
    """
    family = models.family(model_id)
    if not provisioned and family.on_demand_deployment:
        return ServingPlan("deployment", "on demand, billed per token, nothing while idle")
    check_lifecycle(model_id, serve_with_throughput=True)
    units = _custom_units()
    if units is None or units >= model_units:
        found = "unknown (Service Quotas did not answer)" if units is None else f"{units:g}"
        return ServingPlan(
            "provisioned-throughput", f"{model_units} model unit(s); the account has {found}"
        )
    why = (
        f"Serving {family.name} needs a provisioned throughput of {model_units} model unit(s), "
        f"and the account has {units:g} (Service Quotas: '{CUSTOM_UNITS_NAME}', "
        f"code {CUSTOM_UNITS_CODE})."
    )
    ask = (
        "Request an increase of that quota in the Service Quotas console (Amazon Bedrock), or "
        "open a support case for model units; it can take days. Then run the notebook again."
    )
    if train_without_serving:
        return ServingPlan("none", f"{why} train_without_serving=True: training only. {ask}")
    raise PreflightStop(
        f"{why} Training now would pay for a model this account cannot serve yet.",
        f"{ask} To train anyway and serve later, set train_without_serving=True"
        + (
            "; or serve on demand (provisioned_throughput=False)."
            if family.on_demand_deployment
            else "."
        ),
    )


def _custom_units() -> float | None:
    """The account's no-commitment model units for custom models, or None if unknown."""
    try:
        pages = clients.client("service-quotas").get_paginator("list_service_quotas")
        for page in pages.paginate(ServiceCode="bedrock"):
            for quota in page["Quotas"]:
                if quota["QuotaCode"] == CUSTOM_UNITS_CODE or quota["QuotaName"].lower() == (
                    CUSTOM_UNITS_NAME.lower()
                ):
                    return float(quota["Value"])
    except ClientError:
        return None
    return None


def _alternatives(family: models.ModelFamily) -> str:
    return " ".join(models.alternatives(t) for t in sorted(family.customizations))


def _customizable(customization_type: str, region: str) -> list[dict[str, Any]]:
    """Bedrock's model summaries for one customization type, or a learner's error."""
    try:
        found = clients.client("bedrock").list_foundation_models(
            byCustomizationType=customization_type
        )
    except EndpointConnectionError as err:
        raise WorkshopError(
            f"Could not reach Amazon Bedrock in {region}: {err}.",
            "Check the region and your network, or run with backend='local'.",
        ) from err
    except ClientError as err:
        denied = "Your principal needs bedrock:ListFoundationModels; ask your administrator."
        raise explain(err, "Listing foundation models", {"AccessDeniedException": denied}) from err
    return list(found["modelSummaries"])


def offered_here() -> pd.DataFrame:
    """What Bedrock customizes in this Region, by customization type, as Bedrock lists it.

    The types are the ones botocore's ``ListFoundationModels`` accepts for
    ``byCustomizationType``, so the table grows with the service model, not with this code.
    """
    region = clients.region()
    check_region(region)
    service = clients.client("bedrock").meta.service_model
    shape = service.operation_model("ListFoundationModels").input_shape
    rows: list[dict[str, str]] = []
    for customization in shape.members["byCustomizationType"].enum:
        rows.extend(
            {
                "customization": customization,
                "model id": m["modelId"],
                "name": m["modelName"],
                "lifecycle": m.get("modelLifecycle", {}).get("status", ""),
            }
            for m in _customizable(customization, region)
        )
    return pd.DataFrame(rows, columns=["customization", "model id", "name", "lifecycle"])


def check_customization(model_id: str, customization_type: str) -> pd.DataFrame:
    """Check the region offers ``model_id`` for ``customization_type``; return what it offers.

    Stops first, with a :class:`PreflightStop`, when the model has reached end of life.
    """
    family = models.family(model_id)
    region = clients.region()
    check_region(region)
    check_lifecycle(model_id)
    found = _customizable(customization_type, region)
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
        where = ", ".join(family.regions)
        raise WorkshopError(
            f"{region} does not offer {family.name} ({family.customization_id}) for "
            f"{customization_type}.",
            f"Bedrock customizes {family.name} in {where}: set the parameter region to "
            f"{family.regions[0]!r} (in 00_setup.ipynb too, whose bucket and role are per "
            "Region), or pick one of the models offered "
            f"here: {offered}."
            + ("" if len(table) else " " + models.alternatives(customization_type)),
        )
    return table


def check_reinforcement(model_id: str) -> pd.DataFrame:
    """Check ``model_id`` can be reinforcement fine-tuned in this Region; what Bedrock lists.

    botocore's service model (1.44.5, read 2026-12-02) lists no ``REINFORCEMENT_FINE_TUNING``
    among ``ListFoundationModels``'s ``byCustomizationType`` values, nor in a model's
    ``customizationsSupported``, so Bedrock cannot be asked directly. What can be asked is
    asked: the model's lifecycle and that this Region fine-tunes it; that it takes
    reinforcement fine-tuning comes from the registry (:mod:`utils.models`, with sources).

    Raises:
        PreflightStop: The model reached end of life.
        WorkshopError: The registry offers no reinforcement fine-tuning for it, or this
            Region does not customize it.
    """
    family = models.family(model_id)
    if models.REINFORCEMENT_FINE_TUNING not in family.customizations:
        raise WorkshopError(
            f"Bedrock offers no reinforcement fine-tuning for {family.name}.",
            models.alternatives(models.REINFORCEMENT_FINE_TUNING),
        )
    return check_customization(model_id, models.FINE_TUNING)


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
            other_key = (
                "Give the ARN, id or alias of an enabled key in this account and Region, or "
                "leave kms_key_id empty for the AWS-owned key."
            )
            raise explain(
                err,
                f"Looking up the KMS key {kms_key_id}",
                {"NotFoundException": other_key},
                default=other_key,
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
            raise explain(
                err,
                "Looking up the VPC subnets and security groups",
                default="Give subnets and security groups that exist in this Region's VPC.",
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
            wanted = f"{models.TYPE_WORDS.get(customization_type, '-')} job"
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
