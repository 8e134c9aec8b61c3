"""Model invocation logging: Bedrock writes every call to the workshop bucket, for distillation.

Logging is one setting per account and region, not a resource of the workshop's own, so
switching it on can replace a configuration somebody else relies on. :func:`enable`
refuses to do that unless asked, records the previous configuration in the state file
first, and :func:`disable` (run by cleanup) puts that previous configuration back.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from utils import clients, models, s3
from utils.errors import WorkshopError
from utils.resources import Kind
from utils.state import State
from utils.waiting import default_interval

RESOURCE_KIND = Kind.LOGGING
"""Kind of the state record that says logging was switched on (its id is the region)."""

DEFAULT_PREFIX = "invocation-logs"
POLICY_SID = "BedrockModelInvocationLogsWrite"
MIN_RECORDS = 100
"""Bedrock needs at least this many prompts (or prompt-response pairs) in the logs."""
MAX_RECORDS = 15_000
"""Bedrock fine-tunes the student on at most this many logged records."""


def log_prefix(prefix: str, account_id: str, region: str) -> str:
    """Where under the bucket Bedrock writes this account's and region's logs."""
    return f"{prefix.strip('/')}/AWSLogs/{account_id}/BedrockModelInvocationLogs/{region}/"


def bucket_policy_statement(bucket: str, prefix: str, account_id: str, region: str) -> dict:
    """The statement that lets Bedrock, for this account and region only, write the logs."""
    return {
        "Sid": POLICY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "bedrock.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{prefix.strip('/')}/AWSLogs/{account_id}/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{region}:{account_id}:*"},
        },
    }


def allow_bedrock_logging(bucket: str, prefix: str, account_id: str, region: str) -> dict:
    """Add (or refresh) the logging statement in the bucket policy, keeping other statements."""
    return s3.merge_policy_statement(
        bucket, bucket_policy_statement(bucket, prefix, account_id, region)
    )


def current_configuration(region: str | None = None) -> dict[str, Any] | None:
    """The region's logging configuration, or None when logging is off."""
    response = clients.client("bedrock", region).get_model_invocation_logging_configuration()
    return response.get("loggingConfig") or None


def _destination(config: Mapping[str, Any] | None) -> str:
    if not config:
        return "nowhere (logging is off)"
    places = []
    if "s3Config" in config:
        s3_config = config["s3Config"]
        places.append(f"s3://{s3_config['bucketName']}/{s3_config.get('keyPrefix', '')}")
    if "cloudWatchConfig" in config:
        places.append(f"CloudWatch Logs group {config['cloudWatchConfig']['logGroupName']}")
    return " and ".join(places) or "an unknown destination"


def _ours(config: Mapping[str, Any] | None, bucket: str) -> bool:
    return bool(config and config.get("s3Config", {}).get("bucketName") == bucket)


def enable(
    state: State,
    bucket: str,
    prefix: str = DEFAULT_PREFIX,
    *,
    replace_existing: bool = False,
) -> dict[str, Any]:
    """Switch on text invocation logging to ``s3://bucket/prefix``; returns the configuration.

    Raises:
        WorkshopError: when logging already goes somewhere else and ``replace_existing``
            is False: it is one setting for the whole account and region.
    """
    ctx_account = clients.client("sts").get_caller_identity()["Account"]
    region = clients.region()
    previous = current_configuration()
    if previous and not _ours(previous, bucket) and not replace_existing:
        raise WorkshopError(
            f"Model invocation logging in {region} already delivers to {_destination(previous)}. "
            "It is one setting for the whole account and region.",
            "Set the parameter replace_existing_logging=True to use the workshop bucket for "
            "now (cleanup puts the current setting back), or use "
            "distillation/01_distillation_from_prompts.ipynb, which needs no logging.",
        )
    recorded = state.find_resource(RESOURCE_KIND, region)
    if recorded is None:
        # Recorded before the change, so an interrupted run still restores the old setting.
        state.add_resource(
            RESOURCE_KIND, region, bucket=bucket, prefix=prefix, previous=previous or None
        )
    allow_bedrock_logging(bucket, prefix, ctx_account, region)
    config = {
        "s3Config": {"bucketName": bucket, "keyPrefix": prefix.strip("/")},
        "textDataDeliveryEnabled": True,
        "imageDataDeliveryEnabled": False,
        "embeddingDataDeliveryEnabled": False,
    }
    clients.client("bedrock").put_model_invocation_logging_configuration(loggingConfig=config)
    return config


def disable(state: State, region: str | None = None) -> str:
    """Put back the logging configuration the workshop replaced; returns what was done.

    A configuration that no longer points at the workshop bucket was changed by somebody
    else since, so it is left alone.
    """
    region = region or clients.region()
    bedrock = clients.client("bedrock", region)
    record = state.find_resource(RESOURCE_KIND, region)
    if record is None:
        return "not switched on by the workshop"
    current = current_configuration(region)
    if not _ours(current, record["bucket"]):
        action = "left alone: it was changed since" if current else "already off"
    elif record.get("previous"):
        bedrock.put_model_invocation_logging_configuration(loggingConfig=record["previous"])
        action = f"restored: delivers to {_destination(record['previous'])} again"
    else:
        bedrock.delete_model_invocation_logging_configuration()
        action = "switched off"
    state.remove_resource(RESOURCE_KIND, region)
    return action


def metadata_filters(metadata: Mapping[str, str]) -> dict[str, Any]:
    """``requestMetadataFilters`` selecting calls tagged with every pair of ``metadata``.

    A filter map holds one key, so several pairs are combined with ``andAll``.
    """
    if not metadata:
        raise WorkshopError(
            "No request metadata to filter on.",
            "Give at least one key and value, for example {'workshop': 'distillation'}.",
        )
    pairs = [{"equals": {key: value}} for key, value in metadata.items()]
    return pairs[0] if len(pairs) == 1 else {"andAll": pairs}


def matches(filters: Mapping[str, Any] | None, metadata: Mapping[str, str] | None) -> bool:
    """Whether a logged call's request metadata passes ``requestMetadataFilters``."""
    if not filters:
        return True
    metadata = metadata or {}

    def base(rule: Mapping[str, Any]) -> bool:
        if "equals" in rule:
            return all(metadata.get(k) == v for k, v in rule["equals"].items())
        if "notEquals" in rule:
            return all(metadata.get(k) != v for k, v in rule["notEquals"].items())
        raise ValueError(f"unknown request metadata filter {sorted(rule)}")

    if "andAll" in filters:
        return all(base(rule) for rule in filters["andAll"])
    if "orAll" in filters:
        return any(base(rule) for rule in filters["orAll"])
    return base(filters)


def select(records: list[dict[str, Any]], metadata: Mapping[str, str]) -> list[dict[str, Any]]:
    """The log records of calls tagged with every pair of ``metadata``."""
    filters = metadata_filters(metadata)
    return [r for r in records if matches(filters, r.get("requestMetadata"))]


def training_data_config(
    bucket: str,
    prefix: str,
    metadata: Mapping[str, str],
    *,
    use_prompt_response: bool = False,
) -> dict[str, Any]:
    """The ``trainingDataConfig`` of a distillation job that reads the workshop's logs."""
    return {
        "invocationLogsConfig": {
            "usePromptResponse": use_prompt_response,
            "invocationLogSource": {"s3Uri": s3.uri(bucket, prefix.strip("/") + "/")},
            "requestMetadataFilters": metadata_filters(metadata),
        }
    }


def read_logs(bucket: str, prefix: str = DEFAULT_PREFIX) -> list[dict[str, Any]]:
    """Every invocation log record delivered under ``s3://bucket/prefix``, oldest file first."""
    records: list[dict[str, Any]] = []
    for key in sorted(s3.list_keys(bucket, prefix.strip("/") + "/")):
        if not key.endswith((".json.gz", ".json")):
            continue
        raw = s3.read_bytes(s3.uri(bucket, key))
        text = (gzip.decompress(raw) if key.endswith(".gz") else raw).decode("utf-8")
        records.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return records


def wait_for_logs(
    bucket: str,
    prefix: str,
    metadata: Mapping[str, str],
    expected: int,
    *,
    timeout: float = 1800.0,
    interval: float | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Wait until ``expected`` calls tagged with ``metadata`` are in the logs; returns them.

    Bedrock delivers logs in batches, minutes after the calls, so a distillation job
    started straight after the calls could find too few.
    """
    from utils.waiting import wait_for

    found: list[dict[str, Any]] = []

    def fetch() -> dict[str, Any]:
        nonlocal found
        found = select(read_logs(bucket, prefix), metadata)
        done = len(found) >= expected
        return {"state": "delivered" if done else f"{len(found)} of {expected} delivered"}

    wait_for(
        fetch,
        status_key="state",
        terminal={"delivered"},
        label="Invocation logs",
        timeout=timeout,
        interval=interval if interval is not None else default_interval(60.0),
        progress=progress,
        on_timeout="Bedrock delivers logs minutes after the calls; run this cell again.",
    )
    return found


def parse_record(record: Mapping[str, Any]) -> tuple[str, str | None, str]:
    """The (prompt, system, answer) of one logged call, whatever the model family's body."""
    body_in = (record.get("input") or {}).get("inputBodyJson") or {}
    body_out = (record.get("output") or {}).get("outputBodyJson") or {}
    messages = body_in.get("messages") or []
    prompt = models.content_text(messages[-1].get("content")) if messages else ""
    prompt = prompt or body_in.get("inputText") or body_in.get("prompt") or ""
    system_field = body_in.get("system")
    system = system_field if isinstance(system_field, str) else models.content_text(system_field)
    if "output" in body_out:  # Converse, Nova and Llama 3.2 message bodies
        answer = models.content_text((body_out["output"].get("message") or {}).get("content"))
    elif "content" in body_out:  # Anthropic messages
        answer = models.content_text(body_out["content"])
    elif "results" in body_out:  # Titan Text
        answer = body_out["results"][0].get("outputText", "")
    else:  # Llama prompt/completion
        answer = body_out.get("generation", "")
    return prompt, system or None, answer


def preview(records: list[dict[str, Any]], n: int = 5) -> pd.DataFrame:
    """The first ``n`` log records as a table: model, metadata, prompt and answer."""
    rows = []
    for record in records[:n]:
        prompt, _, answer = parse_record(record)
        rows.append(
            {
                "operation": record.get("operation"),
                "modelId": record.get("modelId"),
                "requestMetadata": json.dumps(record.get("requestMetadata") or {}),
                "prompt": prompt[:120],
                "answer": answer[:120],
            }
        )
    return pd.DataFrame(
        rows, columns=["operation", "modelId", "requestMetadata", "prompt", "answer"]
    )
