"""One exception type for problems a learner can fix, and the one way AWS errors become them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from botocore.exceptions import ClientError


class WorkshopError(RuntimeError):
    """A problem with a clear cause and a next step; notebooks show it without a traceback.

    Args:
        problem: What went wrong, in one sentence.
        fix: What to do about it.
    """

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if not fix else f"{problem}\nWhat to do: {fix}")

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing a traceback: a learner sees the
        # problem and the fix, not forty lines of botocore internals.
        return [f"{type(self).__name__}: {self}"]


def error_code(err: ClientError) -> str:
    """The AWS error code of a failed call ("" when the response carries none)."""
    return str(err.response.get("Error", {}).get("Code", ""))


_DENIED = (
    "Your principal lacks the permission this call needs (the message names the action): "
    "ask your administrator to allow it, or use a role that has it, then run the cell again. "
    "The README's 'Running against your own AWS account' says what the workshop needs."
)
_THROTTLED = "Wait a minute and run the cell again."
_EXPIRED = (
    "The session credentials have expired: refresh them (`aws sso login`, or new temporary "
    "keys), then restart the kernel."
)
_UNKNOWN_KEYS = (
    "AWS does not know these credentials (a deleted access key, or keys of another account "
    "or partition): set valid ones with `aws configure` or `aws sso login`, then restart the "
    "kernel."
)

GENERIC_FIXES: Mapping[str, str] = MappingProxyType(
    {
        "AccessDenied": _DENIED,
        "AccessDeniedException": _DENIED,
        "ThrottlingException": _THROTTLED,
        "Throttling": _THROTTLED,
        "TooManyRequestsException": _THROTTLED,
        "ServiceQuotaExceededException": (
            "An account quota is reached (the message names it): delete or wait for the "
            "resources that count against it, or request an increase in the Service Quotas "
            "console under Amazon Bedrock; an increase can take days."
        ),
        "ValidationException": "Correct the request as the message says and run the cell again.",
        "ResourceNotFoundException": (
            "AWS finds nothing by that name or ARN in this account and Region: check the "
            "Region the notebook runs in, and run the notebook that creates it first."
        ),
        "ConflictException": (
            "Another request is changing the same resource: wait until its status settles, "
            "then run the cell again."
        ),
        "ModelNotReadyException": (
            "The model is still loading (an imported model starts cold): wait a minute and "
            "run the cell again."
        ),
        "ServiceUnavailableException": "The service had a passing fault: run the cell again.",
        "InternalServerException": "The service had a passing fault: run the cell again.",
        "ExpiredToken": _EXPIRED,
        "ExpiredTokenException": _EXPIRED,
        "UnrecognizedClientException": _UNKNOWN_KEYS,
        "InvalidClientTokenId": _UNKNOWN_KEYS,
        "SignatureDoesNotMatch": (
            "The secret access key does not belong to the access key id: set the pair again "
            "with `aws configure`, then restart the kernel."
        ),
    }
)
"""What to do about the AWS error codes that any call can meet, by code."""


def explain(
    err: ClientError,
    action: str,
    fixes: Mapping[str, str] | None = None,
    *,
    default: str | None = None,
) -> WorkshopError:
    """The learner's error for a refused AWS call: what failed, AWS's words, and what to do.

    The fix is the caller's for that code, else :data:`GENERIC_FIXES`'s, else ``default``.

    Args:
        err: What botocore raised.
        action: What was being done, as the start of a sentence ("Creating job x").
        fixes: Fixes by error code that only the caller knows.
        default: The fix for a code neither table knows.
    """
    code = error_code(err)
    message = err.response.get("Error", {}).get("Message") or str(err)
    said = f"failed with {code}: {message}" if code else f"failed: {message}"
    fix = (fixes or {}).get(code) or GENERIC_FIXES.get(code) or default
    return WorkshopError(f"{action} {said}", fix)


def explain_failure(
    action: str,
    message: str,
    fixes: Mapping[str, str],
    *,
    default: str,
) -> WorkshopError:
    """The learner's error for a job that ended Failed: its ``failureMessage`` and a fix.

    A job's failure has no error code, only Bedrock's sentence, so the fix is the first of
    ``fixes`` whose key the message contains (case-insensitive), else ``default``.
    """
    lowered = message.lower()
    fix = next((text for key, text in fixes.items() if key.lower() in lowered), default)
    return WorkshopError(f"{action} failed: {message}", fix)
