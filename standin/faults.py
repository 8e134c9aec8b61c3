"""Fault injection for the stand-in: make chosen calls fail, or jobs and endpoints end Failed.

The workshop's promises (retries survive throttling, every failure is reported with its
fix, cleanup always ends clean) are only worth something if they are tested against the
failures AWS really produces. A fault is a small rule:

``{"operation": "CreateModelCustomizationJob", "error": "ThrottlingException", "times": 2}``
    the next two such calls fail with that error, later ones succeed;
``{"operation": "iam:CreateRole", "error": "AccessDenied"}``
    every IAM ``CreateRole`` call is denied (``times`` absent: until cleared);
``{"operation": "PutModelInvocationLoggingConfiguration", "error": "AccessDeniedException",
"after": 1, "times": 1}``
    the first such call succeeds and the second is denied: a run interrupted half way,
    at a chosen point, without relying on timing;
``{"operation": "job", "outcome": "Failed", "message": "..."}``
    the next customization job to finish ends ``Failed`` with that message instead
    (``"import"`` for a model import job; ``"throughput"`` and ``"deployment"`` do the same
    for serving resources).

Bedrock operations are named as in its API; IAM and STS ones carry their service prefix.
Rules come from the ``WORKSHOP_STANDIN_FAULTS`` environment variable (a JSON list) when the
stand-in starts, from ``POST /_workshop/faults`` (``GET`` lists them, ``DELETE`` clears
them), or from :meth:`standin.StandIn.inject` in tests.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any

ENV_VAR = "WORKSHOP_STANDIN_FAULTS"
OUTCOME_KINDS = ("job", "import", "throughput", "deployment")

STATUS = {
    "ThrottlingException": 429,
    "Throttling": 400,
    "AccessDeniedException": 403,
    "AccessDenied": 403,
    "ServiceQuotaExceededException": 400,
    "LimitExceeded": 409,
    "ResourceNotFoundException": 404,
    "NoSuchEntity": 404,
    "ValidationException": 400,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ServiceFailure": 500,
}
"""HTTP status AWS sends with each error code a fault may name."""

_DEFAULT_MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "Throttling": "Rate exceeded",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "AccessDenied": "User is not authorized to perform this action.",
    "ServiceQuotaExceededException": "The request exceeds a service quota for your account.",
    "LimitExceeded": "Cannot exceed quota for this resource.",
    "ResourceNotFoundException": "The specified resource was not found.",
    "NoSuchEntity": "The specified entity was not found.",
}


@dataclass
class Fault:
    """One injected failure."""

    operation: str
    error: str | None = None
    message: str | None = None
    times: int | None = None
    outcome: str | None = None
    after: int = 0
    """Matching calls (or resources) that still succeed before the rule applies."""

    def __post_init__(self) -> None:
        if self.operation in OUTCOME_KINDS:
            if self.outcome != "Failed" or self.error:
                raise ValueError(f"a {self.operation} fault takes outcome='Failed' and no error")
        elif not self.error or self.outcome:
            raise ValueError(f"a fault on {self.operation} needs an error code and no outcome")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be a positive number of calls, or absent for always")
        if self.after < 0:
            raise ValueError("after must be a number of calls that succeed first, 0 or more")

    @property
    def status(self) -> int:
        """The HTTP status of the injected error."""
        return STATUS.get(self.error or "", 400)

    @property
    def text(self) -> str:
        """The message sent with the error or written as the failure message."""
        default = _DEFAULT_MESSAGES.get(self.error or "", "Injected failure.")
        return self.message or (default if self.error else "Injected failure of the resource.")


class Faults:
    """The active rules; each match uses up one of a rule's ``times``."""

    def __init__(self, rules: list[dict[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self.served = 0
        """How many calls a rule has made fail so far."""
        for rule in rules or []:
            self.add(rule)

    @classmethod
    def from_env(cls) -> Faults:
        """Rules from ``WORKSHOP_STANDIN_FAULTS`` (empty when unset)."""
        raw = os.environ.get(ENV_VAR, "").strip()
        rules = json.loads(raw) if raw else []
        return cls(rules if isinstance(rules, list) else [rules])

    def add(self, rule: dict[str, Any]) -> Fault:
        """Add one rule (raises ValueError for a malformed one)."""
        fault = Fault(**rule)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def rules(self) -> list[dict[str, Any]]:
        """The active rules, as given."""
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def take(self, operation: str) -> Fault | None:
        """The rule that makes this call (or this resource's end) fail, using it up once."""
        with self._lock:
            for rule in self._rules:
                if rule.operation == operation:
                    if rule.after:
                        rule.after -= 1
                        return None
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self._rules.remove(rule)
                    self.served += 1
                    return rule
        return None
