"""Names for the resources the workshop creates: unique per attempt, within AWS's limits."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime


def unique_name(prefix: str, workshop_id: str, limit: int = 63) -> str:
    """Prefix, workshop id, UTC time and a random tail, cut to ``limit`` characters.

    The random tail matters: names double as client request tokens, and two attempts
    within one second (or a new attempt after a deletion) must not be taken for a
    retry of the same request.

    Bedrock's name patterns (botocore's service model: ``customModelName`` and
    ``modelDeploymentName`` are ``([0-9a-zA-Z][_-]?){1,63}``, client request tokens must
    end in a letter or digit) refuse two separators in a row, so every run of other
    characters becomes one hyphen, and a cut never leaves a hyphen before the tail.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    ident = re.sub(r"[^a-zA-Z0-9]+", "-", workshop_id).strip("-")
    tail = f"{ident}-{stamp}-{secrets.token_hex(2)}"
    clean = re.sub(r"[^a-zA-Z0-9]+", "-", prefix).strip("-")
    head = clean[: max(0, limit - len(tail) - 1)].rstrip("-")
    return f"{head}-{tail}" if head else tail[:limit]
