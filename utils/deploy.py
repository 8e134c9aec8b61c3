"""Serving a custom model with provisioned throughput, and removing it so it stops billing."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from utils import clients
from utils.errors import WorkshopError
from utils.naming import unique_name
from utils.state import State
from utils.waiting import default_interval, wait_for

TERMINAL = frozenset({"InService", "Failed"})
REUSABLE = frozenset({"Creating", "InService", "Updating"})


def _describe(ident: str) -> dict[str, Any]:
    return clients.client("bedrock").get_provisioned_model_throughput(provisionedModelId=ident)


def provision(
    *, state: State, key: str, model_arn: str, name_prefix: str, model_units: int = 1
) -> str:
    """Create a no-commitment provisioned throughput for a model (or reuse ours); returns its ARN.

    It bills per hour from creation until deletion, so it is recorded in the state
    file before it is requested and deleted at the end of the notebook.
    """
    recorded = state.get(f"throughput:{key}")
    if recorded:
        try:
            found = _describe(recorded["arn"])
            if found["status"] in REUSABLE and found["modelArn"] == model_arn:
                return str(recorded["arn"])
        except ClientError:
            pass
    name = unique_name(name_prefix, state.workshop_id)
    state.add_resource("provisioned-throughput", name, status="creating", key=key)
    try:
        arn = clients.client("bedrock").create_provisioned_model_throughput(
            modelUnits=model_units,
            provisionedModelName=name,
            modelId=model_arn,
            clientRequestToken=name,
            tags=[{"key": "workshop-id", "value": state.workshop_id}],
        )["provisionedModelArn"]
    except ClientError as err:
        state.remove_resource("provisioned-throughput", name)
        code = err.response["Error"].get("Code")
        message = err.response["Error"].get("Message")
        fix = (
            "Request provisioned model units for this model in Service Quotas, or use a "
            "custom model deployment where the family supports one."
            if code == "ServiceQuotaExceededException"
            else "Check the custom model exists and is Active, then run the cell again."
        )
        raise WorkshopError(f"Creating provisioned throughput failed: {message}", fix) from err
    state.update_resource("provisioned-throughput", name, arn=arn, status="Creating")
    state.set(f"throughput:{key}", {"name": name, "arn": arn})
    return str(arn)


def wait(
    arn: str,
    state: State,
    *,
    timeout: float = 3600,
    interval: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Wait until the throughput is InService (or explain why it failed)."""
    final = wait_for(
        lambda: _describe(arn),
        status_key="status",
        terminal=TERMINAL,
        label=f"Provisioned throughput {arn.rsplit('/', 1)[-1]}",
        timeout=timeout,
        interval=interval or default_interval(30.0),
        progress=progress,
        on_timeout="It is still being created (and billed). Run this cell again to keep waiting.",
    )
    name = final["provisionedModelName"]
    state.update_resource("provisioned-throughput", name, arn=arn, status=final["status"])
    if final["status"] == "Failed":
        raise WorkshopError(
            f"Provisioned throughput {name} failed: {final.get('failureMessage', 'no message')}",
            "Delete it with utils.deploy.delete(...) or 03_cleanup.ipynb and try again later.",
        )
    return final


def delete(arn_or_name: str, state: State) -> bool:
    """Delete a provisioned throughput; False if it was already gone. Stops the hourly billing."""
    gone = False
    try:
        clients.client("bedrock").delete_provisioned_model_throughput(
            provisionedModelId=arn_or_name
        )
    except ClientError as err:
        if err.response["Error"].get("Code") != "ResourceNotFoundException":
            raise
        gone = True
    for rec in state.resources("provisioned-throughput"):
        if arn_or_name in (rec["id"], rec.get("arn")):
            state.remove_resource("provisioned-throughput", rec["id"])
            if rec.get("key"):
                state.set(f"throughput:{rec['key']}", None)
    return not gone
