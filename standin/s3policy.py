"""Bucket policies for the stand-in's S3, evaluated with their conditions.

moto stores bucket policies but ignores their ``Condition`` blocks, so a Deny meant only
for plain-HTTP requests denies every object request. The stand-in therefore keeps bucket
policies itself (moto never sees them) and applies their Deny statements to each S3
request, with the conditions it can evaluate: ``aws:SecureTransport`` (true when the
request came over TLS). A Deny whose condition it cannot evaluate is not applied, and
logged, rather than guessed; Allow statements grant nothing beyond what the account
already has, so only Deny statements change an answer.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import urllib.parse
import uuid
from typing import Any

logger = logging.getLogger(__name__)

_BUCKET_SUBRESOURCES = {
    "tagging": "BucketTagging",
    "encryption": "EncryptionConfiguration",
    "publicAccessBlock": "BucketPublicAccessBlock",
    "versioning": "BucketVersioning",
    "lifecycle": "LifecycleConfiguration",
    "acl": "BucketAcl",
    "location": "BucketLocation",
}


def listify(value: Any) -> list[Any]:
    """A policy field that may hold one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def s3_action(method: str, key: str, query: dict[str, list[str]]) -> str:
    """The IAM action name of an S3 REST request (close enough for policy matching)."""
    if key:
        if method in ("GET", "HEAD"):
            return "s3:GetObject"
        if method == "DELETE" and "uploadId" in query:
            return "s3:AbortMultipartUpload"
        return "s3:DeleteObject" if method == "DELETE" else "s3:PutObject"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObject"
    if method == "GET" and "versions" in query:
        return "s3:ListBucketVersions"
    if method == "GET" and "uploads" in query:
        return "s3:ListBucketMultipartUploads"
    for sub, name in _BUCKET_SUBRESOURCES.items():
        if sub in query:
            verb = {"GET": "Get", "PUT": "Put", "DELETE": "Put"}.get(method, "Get")
            return f"s3:{verb}{name}"
    if method in ("GET", "HEAD"):
        return "s3:ListBucket"
    return {"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket")


def condition_holds(conditions: dict[str, Any], context: dict[str, str]) -> bool | None:
    """Whether every condition holds; None when one cannot be evaluated here."""
    for operator, tests in conditions.items():
        compare = _OPERATORS.get(operator)
        for key, wanted in tests.items():
            if key not in context or compare is None:
                return None
            if not compare(context[key], [str(w) for w in listify(wanted)]):
                return False
    return True


def _like(have: str, patterns: list[str]) -> bool:
    # IAM's * and ? wildcards; fnmatch's [...] sets are not IAM's, so they are escaped.
    return any(fnmatch.fnmatchcase(have, p.replace("[", "[[]")) for p in patterns)


_OPERATORS: dict[str, Any] = {
    # Bool and the String operators compare case-insensitively here: the keys the stand-in
    # fills (aws:SecureTransport, s3:prefix) carry values whose case callers do not vary.
    "Bool": lambda have, wanted: have.lower() in [w.lower() for w in wanted],
    "StringEquals": lambda have, wanted: have in wanted,
    "StringNotEquals": lambda have, wanted: have not in wanted,
    "StringLike": _like,
    "StringNotLike": lambda have, wanted: not _like(have, wanted),
    "ArnEquals": lambda have, wanted: have in wanted,
    "ArnLike": _like,
}
"""IAM condition operators the stand-in evaluates ("IAM JSON policy elements: Condition
operators", AWS IAM User Guide); any other makes the condition unevaluable (None)."""


def denies(policy: dict[str, Any], action: str, resource: str, secure: bool) -> str | None:
    """The Sid (or a description) of the Deny statement that refuses this request, if any."""
    context = {"aws:SecureTransport": "true" if secure else "false"}
    for st in listify(policy.get("Statement", [])):
        if st.get("Effect") != "Deny":
            continue
        principal = st.get("Principal")
        if principal not in ("*", {"AWS": "*"}):
            continue  # the stand-in's callers are the account itself, never a named principal
        if not any(fnmatch.fnmatchcase(action, a) for a in listify(st.get("Action", []))):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in listify(st.get("Resource", []))):
            continue
        holds = condition_holds(st.get("Condition", {}), context)
        if holds is None:
            logger.warning("bucket policy condition not evaluated by the stand-in: %s", st)
            continue
        if holds:
            return st.get("Sid") or "a Deny statement"
    return None


def xml_error(code: str, message: str, status: str) -> tuple[str, list[tuple[str, str]], bytes]:
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
        f"<Message>{message}</Message><RequestId>{uuid.uuid4()}</RequestId></Error>"
    ).encode()
    return status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))], body


class BucketPolicies:
    """The bucket policies of the stand-in's S3, and the gate that applies them."""

    def __init__(self, bucket_exists: Any) -> None:
        self._policies: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._bucket_exists = bucket_exists

    def reset(self) -> None:
        """Forget every policy."""
        with self._lock:
            self._policies = {}

    def forget(self, bucket: str) -> None:
        """Drop the policy of a deleted bucket."""
        with self._lock:
            self._policies.pop(bucket, None)

    def handle(
        self, method: str, path: str, query_string: str, body: bytes, secure: bool
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Answer a policy request, or refuse a request a policy denies; None passes it on."""
        parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
        bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
        if not bucket:
            return None
        query = urllib.parse.parse_qs(query_string, keep_blank_values=True)
        if "policy" in query and not key:
            return self._policy_request(method, bucket, body)
        with self._lock:
            policy = self._policies.get(bucket)
        if policy is None:
            return None
        action = s3_action(method, key, query)
        resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
        refused = denies(policy, action, resource, secure)
        if refused is None:
            return None
        return xml_error(
            "AccessDenied",
            f"Access Denied: {action} on {resource} is refused by the bucket policy ({refused}).",
            "403 Forbidden",
        )

    def _policy_request(
        self, method: str, bucket: str, body: bytes
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        if not self._bucket_exists(bucket):
            return xml_error("NoSuchBucket", "The specified bucket does not exist", "404 Not Found")
        if method == "PUT":
            try:
                policy = json.loads(body)
                statements = listify(policy["Statement"])
                if not all(st.get("Effect") in ("Allow", "Deny") for st in statements):
                    raise ValueError("each statement needs Effect Allow or Deny")
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                return xml_error(
                    "MalformedPolicy", f"Policy has invalid JSON: {err}", "400 Bad Request"
                )
            with self._lock:
                self._policies[bucket] = policy
            return "204 No Content", [("Content-Length", "0")], b""
        if method == "DELETE":
            self.forget(bucket)
            return "204 No Content", [("Content-Length", "0")], b""
        with self._lock:
            policy = self._policies.get(bucket)
        if policy is None:
            return xml_error(
                "NoSuchBucketPolicy", "The bucket policy does not exist", "404 Not Found"
            )
        raw = json.dumps(policy).encode()
        return (
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))],
            raw,
        )
