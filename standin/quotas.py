"""The stand-in account's Amazon Bedrock quotas: listed by Service Quotas, enforced by Bedrock.

Quota codes and names are the ones Service Quotas uses for Bedrock (``L-BE77399C`` is
"Model units no-commitment Provisioned Throughputs across custom models"). The values are
the stand-in's own settings, chosen to match the defaults AWS documents where it documents
one (two no-commitment model units); an account's real values differ by account and Region.
Change them with ``WORKSHOP_STANDIN_QUOTAS`` (a JSON object of code to value) or
:meth:`standin.StandIn.set_quota`, e.g. ``{"L-BE77399C": 0}`` to see what a new account
without model units meets when it buys a provisioned throughput.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

ENV_VAR = "WORKSHOP_STANDIN_QUOTAS"
CUSTOM_UNITS = "L-BE77399C"
BASE_UNITS = "L-FE44174A"
SCHEDULED_JOBS = "L-0406044C"


@dataclass(frozen=True)
class QuotaDefinition:
    """One quota: its Service Quotas code and name, and the stand-in's default value."""

    code: str
    name: str
    default: float


DEFINITIONS = (
    QuotaDefinition(
        CUSTOM_UNITS, "Model units no-commitment Provisioned Throughputs across custom models", 2
    ),
    QuotaDefinition(
        BASE_UNITS, "Model units no-commitment Provisioned Throughputs across base models", 2
    ),
    QuotaDefinition(SCHEDULED_JOBS, "(Model customization) Scheduled customization jobs", 10),
)


class Quotas:
    """Current values by code; :meth:`reset` goes back to the defaults and the environment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._account: dict[str, float] = {}
        self.reset()

    def play(self, account_quotas: dict[str, float]) -> None:
        """Take the values of the account the stand-in plays (a new account has no units)."""
        for code, value in account_quotas.items():
            self._check(code, value)
        self._account = dict(account_quotas)
        self.reset()

    def reset(self) -> None:
        """The defaults of the account played, overridden by ``WORKSHOP_STANDIN_QUOTAS``."""
        values = {d.code: float(d.default) for d in DEFINITIONS}
        values.update({code: float(v) for code, v in self._account.items()})
        raw = os.environ.get(ENV_VAR, "").strip()
        for code, value in (json.loads(raw) if raw else {}).items():
            self._check(code, value)
            values[code] = float(value)
        with self._lock:
            self._values = values

    def set(self, code: str, value: float) -> None:
        """Change one quota (raises ValueError for an unknown code or a negative value)."""
        self._check(code, value)
        with self._lock:
            self._values[code] = float(value)

    def value(self, code: str) -> float:
        """The current value of a quota."""
        with self._lock:
            return self._values[code]

    def listing(self, region: str, account: str) -> list[dict[str, Any]]:
        """The quotas as ``ListServiceQuotas`` returns them."""
        with self._lock:
            values = dict(self._values)
        return [
            {
                "ServiceCode": "bedrock",
                "ServiceName": "Amazon Bedrock",
                "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:bedrock/{d.code}",
                "QuotaCode": d.code,
                "QuotaName": d.name,
                "Value": values[d.code],
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
            for d in DEFINITIONS
        ]

    @staticmethod
    def _check(code: str, value: Any) -> None:
        if code not in {d.code for d in DEFINITIONS}:
            known = ", ".join(f"{d.code} ({d.name})" for d in DEFINITIONS)
            raise ValueError(f"the stand-in keeps no quota {code}; it keeps {known}")
        if not isinstance(value, int | float) or value < 0:
            raise ValueError(f"quota {code} needs a number of 0 or more, not {value!r}")
