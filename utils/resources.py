"""What the workshop creates and records: the kinds of resource, the tag that marks them, and
the two halves of their life cycle in the state file (:func:`create`, :func:`delete`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from utils.errors import error_code, explain
from utils.state import State

TAG_KEY = "workshop-id"
"""Tag (and state-file) key whose value is the workshop id, on everything the workshop makes."""


class Kind(StrEnum):
    """Kinds of resource the state file records; the values are what the file holds."""

    BUCKET = "s3-bucket"
    ROLE = "iam-role"
    POLICY = "iam-policy"
    JOB = "customization-job"
    MODEL = "custom-model"
    THROUGHPUT = "provisioned-throughput"
    DEPLOYMENT = "custom-model-deployment"
    BATCH_JOB = "batch-inference-job"
    LOGGING = "invocation-logging"
    IMPORT_JOB = "model-import-job"
    IMPORTED_MODEL = "imported-model"
    LAMBDA_FUNCTION = "lambda-function"


POINTERS: Mapping[Kind, str] = {
    Kind.JOB: "job",
    Kind.THROUGHPUT: "throughput",
    Kind.DEPLOYMENT: "deployment",
    Kind.IMPORT_JOB: "import-job",
}
"""Kinds a lesson finds again by its key: the value ``<pointer>:<key>`` names the one in use."""


def pointer(kind: Kind, key: str) -> str:
    """The state value that names the resource of ``kind`` a lesson uses under ``key``."""
    return f"{POINTERS[kind]}:{key}"


def tags(workshop_id: str) -> list[dict[str, Any]]:
    """The tag list Bedrock's create calls take (``key``/``value``), marking the workshop."""
    return [{"key": TAG_KEY, "value": workshop_id}]


def create(
    state: State,
    kind: Kind,
    name: str,
    send: Callable[[], Mapping[str, Any]],
    *,
    arn: Callable[[Mapping[str, Any]], str] | str | None,
    status: str,
    action: str,
    fixes: Mapping[str, str] | None = None,
    default: str | None = None,
    adopt: Mapping[str, Callable[[], Mapping[str, Any]]] | None = None,
    **recorded: Any,
) -> dict[str, Any]:
    """Record a resource, create it with ``send``, then record its ARN and ``status``.

    The record (status ``creating``) is written before the call, so a run interrupted
    during it leaves a record that cleanup finds. A refusal forgets it again, as nothing
    was made (a record an earlier run left keeps its status), and raises
    :func:`utils.errors.explain` of the refusal.

    Args:
        state: Where the record goes.
        kind: What is created.
        name: Its name, the record's id.
        send: The create call; returns AWS's answer.
        arn: How to read the ARN from the answer, or the ARN itself when it is known
            beforehand (then it is recorded from the start), or None for no ARN.
        status: The status recorded once the call succeeded.
        action: What is done, for the error ("Creating job x").
        fixes: Fixes by error code for the error (see :func:`utils.errors.explain`).
        default: The fix for a code no table knows.
        adopt: Error codes that mean the resource exists and is ours already, each with a
            call that takes it over and returns an answer like ``send``'s.
        **recorded: More attributes of the record, e.g. the lesson's ``key``.

    Returns:
        AWS's answer to ``send`` (or to the ``adopt`` call).
    """
    known = {"arn": arn} if isinstance(arn, str) else {}
    earlier = state.find_resource(kind, name)
    state.add_resource(kind, name, status="creating", **known, **recorded)
    try:
        answer = dict(send())
    except ClientError as err:
        take_over = (adopt or {}).get(error_code(err))
        if take_over is None:
            if earlier is None:
                state.remove_resource(kind, name)
            else:  # a fixed name (bucket, role) made by an earlier run: it still exists
                state.update_resource(kind, name, status=earlier.get("status"))
            raise explain(err, action, fixes, default=default) from err
        answer = dict(take_over())
    found = arn(answer) if callable(arn) else arn
    state.update_resource(kind, name, status=status, **({"arn": found} if found else {}))
    return answer


GONE = frozenset({"ResourceNotFoundException"})
"""The error code by which Bedrock says a resource does not exist (any more)."""


def delete(
    state: State,
    kind: Kind,
    ident: str,
    send: Callable[[], object],
    *,
    action: str,
    fixes: Mapping[str, str] | None = None,
    gone: Collection[str] = GONE,
) -> bool:
    """Delete a resource with ``send`` and :func:`forget` it; False if it was already gone.

    Raises:
        WorkshopError: AWS refused for another reason than ``gone`` (the record stays).
    """
    try:
        send()
    except ClientError as err:
        if error_code(err) not in gone:
            raise explain(err, action, fixes) from err
        existed = False
    else:
        existed = True
    forget(state, kind, ident)
    return existed


def forget(state: State, kind: Kind, ident: str) -> None:
    """Drop the records of ``kind`` with this id or ARN, and the pointers that name them."""

    def change(data: dict[str, Any]) -> None:
        doomed = [
            rec
            for rec in data["resources"]
            if rec["kind"] == kind and ident in (rec["id"], rec.get("arn"))
        ]
        data["resources"] = [rec for rec in data["resources"] if rec not in doomed]
        for rec in doomed:
            if kind not in POINTERS or not rec.get("key"):
                continue
            name = pointer(kind, rec["key"])
            value = data["values"].get(name)
            # The key may name a newer resource by now, which must stay findable.
            if value and value.get("name") == rec["id"]:
                data["values"][name] = None

    state.mutate(change)
