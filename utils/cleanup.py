"""Remove everything the workshop recorded in its state file, billing resources first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from utils import clients, deploy, iam, invocation_logs, resources, s3
from utils.errors import WorkshopError, error_code, explain
from utils.resources import Kind
from utils.state import State

# Serving resources bill while they exist, so they go first; the role goes last because a
# running job may still need it while it is being stopped.
ORDER = (
    Kind.THROUGHPUT,
    Kind.DEPLOYMENT,
    Kind.BATCH_JOB,
    Kind.JOB,
    Kind.MODEL,
    Kind.IMPORT_JOB,
    Kind.IMPORTED_MODEL,
    # After the jobs (a running reinforcement job calls it), before the role it runs as.
    Kind.LAMBDA_FUNCTION,
    Kind.LOGGING,
    Kind.BUCKET,
    Kind.POLICY,
    Kind.ROLE,
)
_GONE = {
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NoSuchBucket",
    "NotFound",
    "404",
}


def _remove_throughput(rec: dict[str, Any], state: State) -> str:
    existed = deploy.delete_throughput(rec.get("arn") or rec["id"], state)
    return "deleted" if existed else "already gone"


def _remove_job(rec: dict[str, Any], state: State) -> str:
    bedrock = clients.client("bedrock")
    job = bedrock.get_model_customization_job(jobIdentifier=rec.get("arn") or rec["id"])
    action = "ended earlier"
    if job["status"] == "InProgress":
        bedrock.stop_model_customization_job(jobIdentifier=job["jobArn"])
        action = "stopped"
    if job.get("outputModelArn"):
        # A kernel that died while waiting never recorded the model; the job knows it.
        state.add_resource(Kind.MODEL, job["outputModelArn"], name=job["outputModelName"])
    return action


def _remove_deployment(rec: dict[str, Any], state: State) -> str:
    endpoint = deploy.Endpoint("deployment", rec.get("arn") or rec["id"])
    return "deleted" if deploy.remove(endpoint, state) else "already gone"


def _remove_batch_job(rec: dict[str, Any]) -> str:
    bedrock = clients.client("bedrock")
    job = bedrock.get_model_invocation_job(jobIdentifier=rec.get("arn") or rec["id"])
    if job["status"] in ("Submitted", "Validating", "Scheduled", "InProgress"):
        bedrock.stop_model_invocation_job(jobIdentifier=job["jobArn"])
        return "stopped"
    return "ended earlier"


def _remove_model(rec: dict[str, Any]) -> str:
    clients.client("bedrock").delete_custom_model(modelIdentifier=rec["id"])
    return "deleted"


def _remove_import_job(rec: dict[str, Any], state: State) -> str:
    # Bedrock can neither stop nor delete a model import job (no such operation in the
    # service model): a finished one's record is forgotten, and the model it made removed.
    job = clients.client("bedrock").get_model_import_job(jobIdentifier=rec.get("arn") or rec["id"])
    if job["status"] == "InProgress":
        raise WorkshopError(
            f"Model import job {job['jobName']} is still importing; it cannot be stopped, and "
            "the model it makes will bill storage.",
            "Run 03_cleanup.ipynb again once the job has ended: its model is deleted then.",
        )
    if job.get("importedModelArn"):
        # A kernel that died while waiting never recorded the model; the job knows it.
        state.add_resource(
            Kind.IMPORTED_MODEL, job["importedModelArn"], name=job["importedModelName"]
        )
    return f"ended {job['status']} earlier; record forgotten (jobs cannot be deleted)"


def _remove_imported_model(rec: dict[str, Any]) -> str:
    clients.client("bedrock").delete_imported_model(modelIdentifier=rec.get("arn") or rec["id"])
    return "deleted"


def _remove_function(rec: dict[str, Any]) -> str:
    clients.client("lambda").delete_function(FunctionName=rec["id"])
    return "deleted"


def _remove_bucket(rec: dict[str, Any]) -> str:
    return "deleted" if s3.delete_bucket(rec["id"]) else "already gone"


def _remove_policy(rec: dict[str, Any]) -> str:
    return "deleted" if iam.delete_policy(rec["arn"]) else "already gone"


def _remove_role(rec: dict[str, Any]) -> str:
    return "deleted" if iam.delete_role(rec["id"]) else "already gone"


def cleanup(state: State, *, dry_run: bool = False) -> pd.DataFrame:
    """Remove every resource recorded in ``state``; returns a table of what happened to each.

    Safe to run at any point and any number of times: resources that are already gone
    count as removed. With ``dry_run=True`` nothing is changed and the table lists
    what would be removed.
    """
    removers: dict[str, Callable[[dict[str, Any]], str]] = {
        Kind.THROUGHPUT: lambda rec: _remove_throughput(rec, state),
        Kind.DEPLOYMENT: lambda rec: _remove_deployment(rec, state),
        Kind.BATCH_JOB: _remove_batch_job,
        Kind.JOB: lambda rec: _remove_job(rec, state),
        Kind.MODEL: _remove_model,
        Kind.IMPORT_JOB: lambda rec: _remove_import_job(rec, state),
        Kind.IMPORTED_MODEL: _remove_imported_model,
        Kind.LAMBDA_FUNCTION: _remove_function,
        # Switched off before the bucket goes, or Bedrock would keep writing logs to it.
        Kind.LOGGING: lambda rec: invocation_logs.disable(state, rec["id"]),
        Kind.BUCKET: _remove_bucket,
        Kind.POLICY: _remove_policy,
        Kind.ROLE: _remove_role,
    }
    rows: list[dict[str, Any]] = []
    for kind in ORDER:
        # Re-read per kind: removing a job can reveal a (custom or imported) model to remove.
        for rec in state.resources(kind):
            row = {"kind": str(kind), "id": rec["id"], "action": "would remove", "remains": True}
            if not dry_run:
                try:
                    row["action"] = removers[kind](rec)
                    row["remains"] = False
                except ClientError as err:
                    if error_code(err) in _GONE:
                        row["action"], row["remains"] = "already gone", False
                    else:
                        row["action"] = str(explain(err, f"Removing the {kind}"))
                except WorkshopError as err:  # deploy explains its own refusals
                    row["action"] = str(err)
                if not row["remains"]:
                    resources.forget(state, kind, rec["id"])
            rows.append(row)
    for leftover in state.resources():
        if leftover["kind"] not in ORDER:
            rows.append(
                {
                    "kind": leftover["kind"],
                    "id": leftover["id"],
                    "action": "unknown kind; remove it by hand",
                    "remains": True,
                }
            )
    table = pd.DataFrame(rows, columns=["kind", "id", "action", "remains"])
    # An empty table must still index as a boolean mask, not as a list of column names.
    return table.astype({"remains": bool})
