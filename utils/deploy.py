"""Serving a custom model, the cheapest way its family allows, and removing it afterwards.

Two ways exist: an on-demand *custom model deployment* (pay per token, nothing while
idle; Amazon Nova) and *provisioned throughput* (model units billed every hour it
exists; every family). :func:`serve` picks the first where the family supports it,
:func:`wait_ready` waits for either, and :func:`finish` or :func:`remove` ends either. Each
kind also has its own: :func:`create_deployment`; :func:`create_throughput`,
:func:`wait_for_throughput` and :func:`delete_throughput`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from botocore.exceptions import ClientError

from utils import clients, cost, models, resources
from utils.errors import WorkshopError
from utils.naming import unique_name
from utils.resources import Kind
from utils.state import State
from utils.waiting import default_interval, wait_for

TERMINAL = frozenset({"InService", "Failed"})
REUSABLE = frozenset({"Creating", "InService", "Updating"})


def _describe(ident: str) -> dict[str, Any]:
    return cast(
        dict[str, Any],
        clients.client("bedrock").get_provisioned_model_throughput(provisionedModelId=ident),
    )


def _reusable(
    recorded: dict[str, Any] | None,
    describe: Callable[[str], dict[str, Any]],
    usable: Callable[[dict[str, Any]], bool],
) -> str | None:
    """The ARN of an endpoint this workshop recorded earlier if it still serves, else None."""
    if not recorded:
        return None
    try:
        return str(recorded["arn"]) if usable(describe(recorded["arn"])) else None
    except ClientError:
        return None


_CHECK_MODEL = "Check the custom model exists and is Active, then run the cell again."
THROUGHPUT_FIXES = {
    "ServiceQuotaExceededException": (
        "Ask for 'Model units no-commitment Provisioned Throughputs across custom models' "
        "(and 'Model units per provisioned model' for this model) in Service Quotas; an "
        "increase can take days, and re-running the notebook then re-attaches to the "
        "finished job. Or use a custom model deployment where the family supports one."
    ),
    "ResourceNotFoundException": _CHECK_MODEL,
    "ValidationException": _CHECK_MODEL,
}
"""What to do when Bedrock refuses a provisioned throughput, by error code."""


def create_throughput(
    *,
    state: State,
    key: str,
    model_arn: str,
    name_prefix: str,
    model_units: int = 1,
    confirm_costs: bool = False,
    base_model: str | None = None,
) -> str:
    """Create a no-commitment provisioned throughput for a model (or reuse ours); returns its ARN.

    It bills per hour from creation until deletion, so it is recorded in the state
    file before it is requested and deleted at the end of the notebook. On AWS a new one
    is created only with ``confirm_costs=True``.
    """
    reused = _reusable(
        state.get(resources.pointer(Kind.THROUGHPUT, key)),
        _describe,
        lambda found: found["status"] in REUSABLE and found["modelArn"] == model_arn,
    )
    if reused:
        return reused
    estimate = (
        cost.serving(base_model, provisioned=True, units=model_units)
        if base_model
        else cost.Estimate("A provisioned throughput, billed every hour it exists")
    )
    cost.confirm(estimate, confirm_costs)
    name = unique_name(name_prefix, state.workshop_id)
    arn = resources.create(
        state,
        Kind.THROUGHPUT,
        name,
        lambda: clients.client("bedrock").create_provisioned_model_throughput(
            modelUnits=model_units,
            provisionedModelName=name,
            modelId=model_arn,
            clientRequestToken=name,
            tags=resources.tags(state.workshop_id),
        ),
        arn=lambda answer: answer["provisionedModelArn"],
        status="Creating",
        action=f"Creating provisioned throughput {name}",
        fixes=THROUGHPUT_FIXES,
        default=_CHECK_MODEL,
        key=key,
    )["provisionedModelArn"]
    state.set(resources.pointer(Kind.THROUGHPUT, key), {"name": name, "arn": arn})
    return str(arn)


def wait_for_throughput(
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
    state.update_resource(Kind.THROUGHPUT, name, arn=arn, status=final["status"])
    if final["status"] == "Failed":
        raise WorkshopError(
            f"Provisioned throughput {name} failed: {final.get('failureMessage', 'no message')}",
            "Delete it with utils.deploy.delete_throughput(...) or 03_cleanup.ipynb and try "
            "again later.",
        )
    return final


def delete_throughput(arn_or_name: str, state: State) -> bool:
    """Delete a provisioned throughput; False if it was already gone. Stops the hourly billing."""
    return resources.delete(
        state,
        Kind.THROUGHPUT,
        arn_or_name,
        lambda: clients.client("bedrock").delete_provisioned_model_throughput(
            provisionedModelId=arn_or_name
        ),
        action=f"Deleting provisioned throughput {arn_or_name}",
    )


DEPLOYMENT_TERMINAL = frozenset({"Active", "Failed"})


@dataclass(frozen=True)
class Endpoint:
    """Where a custom model answers: an on-demand deployment or a provisioned throughput."""

    kind: Literal["deployment", "provisioned-throughput"]
    arn: str

    @property
    def billing(self) -> str:
        """How this endpoint is billed, in one line for the notebook."""
        if self.kind == "deployment":
            return "on demand: per token used, nothing while idle"
        return "provisioned throughput: per model unit per hour, from creation to deletion"


def _describe_deployment(ident: str) -> dict[str, Any]:
    return cast(
        dict[str, Any],
        clients.client("bedrock").get_custom_model_deployment(
            customModelDeploymentIdentifier=ident
        ),
    )


_ON_DEMAND_INSTEAD = "Serve the model with provisioned throughput instead (provisioned=True)."


def create_deployment(*, state: State, key: str, model_arn: str, name_prefix: str) -> str:
    """Create an on-demand custom model deployment (or reuse ours); returns its ARN."""
    reused = _reusable(
        state.get(resources.pointer(Kind.DEPLOYMENT, key)),
        _describe_deployment,
        lambda found: found["status"] != "Failed" and found["modelArn"] == model_arn,
    )
    if reused:
        return reused
    name = unique_name(name_prefix, state.workshop_id)
    arn = resources.create(
        state,
        Kind.DEPLOYMENT,
        name,
        lambda: clients.client("bedrock").create_custom_model_deployment(
            modelDeploymentName=name,
            modelArn=model_arn,
            clientRequestToken=name,
            tags=resources.tags(state.workshop_id),
        ),
        arn=lambda answer: answer["customModelDeploymentArn"],
        status="Creating",
        action=f"Creating the deployment {name}",
        # Bedrock refuses a family it cannot deploy on demand as a malformed request.
        fixes={"ValidationException": _ON_DEMAND_INSTEAD},
        default=_ON_DEMAND_INSTEAD,
        key=key,
    )["customModelDeploymentArn"]
    state.set(resources.pointer(Kind.DEPLOYMENT, key), {"name": name, "arn": arn})
    return str(arn)


def serve(
    *,
    state: State,
    key: str,
    model_arn: str,
    base_model: str,
    name_prefix: str,
    provisioned: bool = False,
    model_units: int = 1,
    confirm_costs: bool = False,
    plan: Any = None,
    wait: bool = False,
) -> Endpoint:
    """Serve a custom model on demand where its family allows it, else (or if asked) provisioned.

    On AWS a provisioned throughput needs ``confirm_costs=True``; an on-demand deployment
    bills only the tokens it serves and needs no confirmation. ``plan`` is what
    :func:`utils.preflight.check_serving` decided; a plan to serve nothing stops here with
    its reason (:class:`utils.preflight.NotServed`), the trained model kept. With ``wait``,
    it returns once the endpoint answers (:func:`wait_ready`) and says how it is billed.
    """
    if plan is not None and plan.kind == "none":
        from utils.preflight import NotServed

        raise NotServed(
            f"The custom model {model_arn} was trained and is kept, but not served: {plan.reason}",
            "Serve it later with deploy.serve once the account has model units, or remove it "
            "with 03_cleanup.ipynb.",
        )
    if not provisioned and models.family(base_model).on_demand_deployment:
        arn = create_deployment(
            state=state, key=key, model_arn=model_arn, name_prefix=f"{name_prefix}-od"
        )
        endpoint = Endpoint("deployment", arn)
    else:
        arn = create_throughput(
            state=state,
            key=key,
            model_arn=model_arn,
            name_prefix=f"{name_prefix}-pt",
            model_units=model_units,
            confirm_costs=confirm_costs,
            base_model=base_model,
        )
        endpoint = Endpoint("provisioned-throughput", arn)
    if wait:
        wait_ready(endpoint, state)
        print(f"Ready: {endpoint.arn}\nBilled {endpoint.billing}")
    return endpoint


def wait_ready(
    endpoint: Endpoint,
    state: State,
    *,
    timeout: float = 3600,
    interval: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Wait until the endpoint answers (InService or Active), or explain why it failed."""
    if endpoint.kind == "provisioned-throughput":
        return wait_for_throughput(
            endpoint.arn, state, timeout=timeout, interval=interval, progress=progress
        )
    final = wait_for(
        lambda: _describe_deployment(endpoint.arn),
        status_key="status",
        terminal=DEPLOYMENT_TERMINAL,
        label=f"Deployment {endpoint.arn.rsplit('/', 1)[-1]}",
        timeout=timeout,
        interval=interval or default_interval(30.0),
        progress=progress,
        on_timeout="It is still being created. Run this cell again to keep waiting.",
    )
    name = final["modelDeploymentName"]
    state.update_resource(Kind.DEPLOYMENT, name, arn=endpoint.arn, status=final["status"])
    if final["status"] == "Failed":
        raise WorkshopError(
            f"Deployment {name} failed: {final.get('failureMessage', 'no message')}",
            "Delete it (03_cleanup.ipynb) and serve with provisioned throughput instead.",
        )
    return final


def finish(endpoint: Endpoint, state: State, *, keep: bool) -> str:
    """End a lesson's endpoint unless ``keep``: delete it, or say that it stays and bills.

    Returns the line it prints.
    """
    if keep:
        line = f"Kept {endpoint.arn} (billed {endpoint.billing}); 03_cleanup.ipynb removes it."
    else:
        gone = not remove(endpoint, state)
        line = f"{'Already gone' if gone else 'Deleted'}: {endpoint.arn}"
    print(line)
    return line


def remove(endpoint: Endpoint, state: State) -> bool:
    """Delete the endpoint, whichever kind it is; False if it was already gone."""
    if endpoint.kind == "provisioned-throughput":
        return delete_throughput(endpoint.arn, state)
    return resources.delete(
        state,
        Kind.DEPLOYMENT,
        endpoint.arn,
        lambda: clients.client("bedrock").delete_custom_model_deployment(
            customModelDeploymentIdentifier=endpoint.arn
        ),
        action=f"Deleting the deployment {endpoint.arn}",
    )
