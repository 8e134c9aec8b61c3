"""Counting tokens: Bedrock's CountTokens where it counts for the model, else an estimate.

The estimate is deliberately conservative for prose, three characters a token (code and
identifiers can take more, which is why an exact count is used where there is one): the old
rule of six
undercounts (amazon-bedrock-workshop#224: a record estimated at about 3,300 tokens failed
after two hours at 4,919 > 4,096), and AWS's own Claude 3 Haiku data validator counts three
(aws-samples/amazon-bedrock-samples, read 2026-12-01). CountTokens ("Monitor your token usage
by counting tokens before running inference", Amazon Bedrock user guide, read 2026-12-01)
returns the model's own count, for the models that support it; Amazon Nova models are refused
(alchemy.run's Bedrock CountTokens binding, read 2026-12-01).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from utils import clients

ESTIMATE = "estimated at 3 characters a token (conservative)"
COUNTED = "counted with Bedrock's CountTokens"

_SUPPORT: dict[tuple[str | None, str, str], bool] = {}


def _count(model_id: str, text: str) -> int:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }
    resp = clients.client("bedrock-runtime").count_tokens(
        modelId=model_id, input={"invokeModel": {"body": json.dumps(body).encode()}}
    )
    return int(resp["inputTokens"])


def bedrock_counter(model_id: str) -> Callable[[str], int] | None:
    """A function counting a text's tokens with CountTokens, or None where Bedrock does not.

    Asks once per endpoint, Region and model; a refusal, a missing permission or no network
    all mean None, and callers fall back to the estimate.
    """
    key = (clients.endpoint_override(), clients.region(), model_id)
    if key not in _SUPPORT:
        try:
            _count(model_id, "Hello.")
            _SUPPORT[key] = True
        except (ClientError, BotoCoreError):
            _SUPPORT[key] = False
    if not _SUPPORT[key]:
        return None
    return lambda text: _count(model_id, text)
