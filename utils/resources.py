"""What the workshop creates and records: the kinds of resource and the tag that marks them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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


def tags(workshop_id: str) -> list[dict[str, Any]]:
    """The tag list Bedrock's create calls take (``key``/``value``), marking the workshop."""
    return [{"key": TAG_KEY, "value": workshop_id}]
