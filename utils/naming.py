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
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    clean = re.sub(r"[^a-zA-Z0-9-]", "-", prefix).strip("-")
    tail = f"-{workshop_id}-{stamp}-{secrets.token_hex(2)}"
    return clean[: limit - len(tail)] + tail
