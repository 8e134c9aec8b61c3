"""AWS Lambda for the workshop: a reward function deployed from a project file, called, removed.

Reinforcement fine-tuning grades the model's answers with a Lambda function. This module
zips one Python file, gives it a role of its own that may only write its logs, creates the
function (recorded in the state file first, so cleanup finds it), waits until it is active,
calls it, and deletes it.

Facts relied on (read 2026-12-02):
- botocore's ``lambda`` service model: ``CreateFunction`` (``ZipFile`` bytes, ``Handler``,
  ``Runtime``, ``Timeout`` in seconds), the ``function_active_v2`` and
  ``function_updated_v2`` waiters, ``Invoke`` answering ``FunctionError`` when the function
  raised, its payload then holding ``errorType`` and ``errorMessage``.
- A role made seconds before may not be assumable by Lambda yet: ``CreateFunction``
  answers ``InvalidParameterValueException: The role defined for the function cannot be
  assumed by Lambda`` (IAM is eventually consistent; aws/aws-sdk-js#4408, and
  aws-controllers-k8s/lambda-controller#103, merged, which retries on it). So it is retried
  for a while.
- The basic execution rights are ``logs:CreateLogGroup``, ``logs:CreateLogStream`` and
  ``logs:PutLogEvents`` (the AWS managed policy AWSLambdaBasicExecutionRole); here they are
  scoped to the function's own log group ``/aws/lambda/<name>``.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from utils import clients, iam, resources
from utils.errors import WorkshopError, error_code, explain
from utils.resources import Kind
from utils.state import State

RUNTIME = "python3.12"
"""The runtime the workshop's functions use (standard library only, so any 3.x would do)."""

ROLE_NOT_READY = "cannot be assumed by Lambda"
"""The words by which CreateFunction says a new role has not reached Lambda yet."""

FIXES = {
    "AccessDeniedException": (
        "Your principal may not manage Lambda functions: ask for lambda:CreateFunction, "
        "lambda:GetFunction, lambda:InvokeFunction, lambda:UpdateFunctionCode, "
        "lambda:DeleteFunction and iam:PassRole on the function's role, then run the cell again."
    ),
    "CodeStorageExceededException": (
        "The account's Lambda code storage is full: delete functions it no longer needs."
    ),
    "TooManyRequestsException": "Lambda throttled the call: wait a minute and run the cell again.",
}
"""What to do when Lambda refuses, by error code."""


def trust_policy() -> dict[str, Any]:
    """Lets only the Lambda service assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def log_policy(
    function_name: str,
    account_id: str,
    region: str,
    extra: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Writing the function's own logs, and nothing else unless ``extra`` statements say so."""
    group = f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": group},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{group}:*",
            },
            *[dict(s) for s in extra],
        ],
    }


def ensure_function_role(
    role_name: str,
    function_name: str,
    account_id: str,
    region: str,
    state: State,
    *,
    extra: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The function's execution role (its logs only, plus ``extra``), recorded first; its ARN."""
    return iam.ensure_service_role(
        role_name,
        f"{role_name}-logs",
        account_id,
        trust_policy(),
        log_policy(function_name, account_id, region, extra),
        f"Lets the workshop's Lambda function {function_name} write its own logs.",
        state,
    )


def zip_file(source: str | Path, module: str | None = None) -> bytes:
    """One Python file as a deployment package (stored as ``<module>.py`` at the zip's root)."""
    path = Path(source)
    if not path.is_file():
        raise WorkshopError(f"{path} does not exist.", "Give the path of the handler's .py file.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(f"{module or path.stem}.py", date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16  # readable by the runtime's user
        archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@dataclass(frozen=True)
class Function:
    """A deployed function: its name, ARN and whether an earlier run's was reused."""

    name: str
    arn: str
    reused: bool


def deploy(
    source: str | Path,
    *,
    name: str,
    role_arn: str,
    state: State,
    handler: str = "lambda_handler",
    timeout: int = 60,
    memory: int = 256,
    environment: Mapping[str, str] | None = None,
    role_wait: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Function:
    """Create (or update) the function from one file and wait until it is active.

    The record is written before ``CreateFunction``; a function of this name made by an
    earlier run of the workshop gets the new code and settings instead.

    Args:
        source: The handler's ``.py`` file (standard library only: nothing else is packed).
        name: The function's name.
        role_arn: Its execution role (:func:`ensure_function_role`).
        state: The workshop's state file.
        handler: The function in the file Lambda calls.
        timeout: Seconds Lambda lets one call run.
        memory: MB of memory (CPU grows with it).
        environment: Environment variables of the function.
        role_wait: Seconds to keep retrying while a new role has not reached Lambda.
        sleep: How to wait (tests pass a fake).
    """
    module = Path(source).stem
    code = zip_file(source, module)
    settings: dict[str, Any] = {
        "Role": role_arn,
        "Handler": f"{module}.{handler}",
        "Runtime": RUNTIME,
        "Timeout": timeout,
        "MemorySize": memory,
        "Environment": {"Variables": dict(environment or {})},
    }
    client = clients.client("lambda")
    reused = False

    def create() -> dict[str, Any]:
        waited, delay = 0.0, 2.0
        while True:
            try:
                return dict(
                    client.create_function(
                        FunctionName=name,
                        Code={"ZipFile": code},
                        Tags={resources.TAG_KEY: state.workshop_id},
                        **settings,
                    )
                )
            except ClientError as err:
                young_role = error_code(
                    err
                ) == "InvalidParameterValueException" and ROLE_NOT_READY in str(err)
                if not young_role or waited + delay > role_wait:
                    raise
                sleep(delay)
                waited += delay
                delay = min(delay * 2, 10.0)

    def update() -> dict[str, Any]:
        nonlocal reused
        found = client.get_function(FunctionName=name)
        tags = client.list_tags(Resource=found["Configuration"]["FunctionArn"]).get("Tags", {})
        if tags.get(resources.TAG_KEY) != state.workshop_id:
            raise WorkshopError(
                f"A Lambda function named {name} exists and this workshop did not make it.",
                "Pass another name, or delete that function if it is yours to delete.",
            )
        reused = True
        client.update_function_code(FunctionName=name, ZipFile=code)
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        answer = client.update_function_configuration(FunctionName=name, **settings)
        return dict(answer)

    earlier = state.find_resource(Kind.LAMBDA_FUNCTION, name)
    try:
        answer = resources.create(
            state,
            Kind.LAMBDA_FUNCTION,
            name,
            create,
            arn=lambda a: a["FunctionArn"],
            status="created",
            action=f"Creating the Lambda function {name}",
            fixes=FIXES,
            adopt={"ResourceConflictException": update},
        )
    except WorkshopError:
        if earlier is None:  # someone else's function: no record of ours may point at it
            resources.forget(state, Kind.LAMBDA_FUNCTION, name)
        raise
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    if reused:
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
    state.update_resource(Kind.LAMBDA_FUNCTION, name, status="active")
    return Function(name=name, arn=str(answer["FunctionArn"]), reused=reused)


def invoke(function: Function | str, event: Any) -> Any:
    """Call the function with ``event`` and return what it answered (JSON).

    Raises:
        WorkshopError: The function raised or timed out (its error type and message), or
            Lambda refused the call.
    """
    name = function.name if isinstance(function, Function) else function
    try:
        answer = clients.client("lambda").invoke(
            FunctionName=name, Payload=json.dumps(event).encode()
        )
    except ClientError as err:
        raise explain(err, f"Invoking the Lambda function {name}", FIXES) from err
    raw = answer["Payload"].read()
    body = json.loads(raw) if raw else None
    if answer.get("FunctionError"):
        kind = body.get("errorType", "Error") if isinstance(body, dict) else "Error"
        said = body.get("errorMessage", raw.decode()) if isinstance(body, dict) else raw.decode()
        raise WorkshopError(
            f"The Lambda function {name} failed: {kind}: {said}",
            "Run the handler locally on the same event to see why (utils.rewards loads it), "
            "fix the file, and deploy it again.",
        )
    return body


def delete(name: str, state: State) -> bool:
    """Delete the function and forget its record; False if it was already gone."""
    client = clients.client("lambda")
    return resources.delete(
        state,
        Kind.LAMBDA_FUNCTION,
        name,
        lambda: client.delete_function(FunctionName=name),
        action=f"Deleting the Lambda function {name}",
        fixes=FIXES,
    )


def remove(name: str, role_name: str, state: State) -> dict[str, str]:
    """Delete the function, then its role and the role's recorded policy; what happened to each."""
    done = {"function": "deleted" if delete(name, state) else "already gone"}
    done["role"] = "deleted" if iam.remove_role(role_name, state) else "already gone"
    return done


__all__ = [
    "FIXES",
    "RUNTIME",
    "Function",
    "delete",
    "deploy",
    "ensure_function_role",
    "invoke",
    "log_policy",
    "remove",
    "trust_policy",
    "zip_file",
]
