"""Model invocation logging for the stand-in's Bedrock.

Like Bedrock, the stand-in refuses a logging configuration whose bucket policy does not
let the service write the logs, then delivers each ``converse`` and ``invoke_model`` call
as a JSON record in gzipped files under
``<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/``,
a moment after the calls (Bedrock takes minutes), so readers must wait for them.
Distillation jobs read these records back through :meth:`InvocationLogging.prompts`.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import logging
import threading
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from standin import bodies, common
from standin.restjson import validation_error
from standin.s3policy import listify

if TYPE_CHECKING:
    from standin.bedrock import LocalBedrock

logger = logging.getLogger(__name__)

DEFAULT_DELIVERY_SECONDS = 0.5
"""How long the stand-in holds records before writing them (Bedrock: minutes)."""

MIN_LOGGED_PROMPTS = 100
MAX_LOGGED_PROMPTS = 15_000
"""A distillation job needs at least 100 usable logged calls and learns from at most 15,000
("Prerequisites for Amazon Bedrock Model Distillation" and "Prepare your training datasets
for distillation", Amazon Bedrock user guide, read 2026-12-01)."""


class LogsError(Exception):
    """The logs cannot make a distillation dataset; the message becomes the job's failure."""


@dataclass(frozen=True)
class LoggedPrompt:
    """One logged call, as distillation reads it."""

    model_id: str
    prompt: str
    system: str | None
    answer: str


class InvocationLogging:
    """The logging configuration operations and the delivery of log records."""

    def __init__(self, bedrock: LocalBedrock, delivery_seconds: float | None = None) -> None:
        self.bedrock = bedrock
        self.delivery_seconds = (
            DEFAULT_DELIVERY_SECONDS if delivery_seconds is None else delivery_seconds
        )
        self._pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._timer: threading.Timer | None = None
        self._flush_lock = threading.Lock()
        self.config: dict[str, Any] | None = None

    def handlers(self) -> dict[str, Any]:
        """Operation name to handler, for the rest-json router."""
        return {
            "PutModelInvocationLoggingConfiguration": self.put,
            "GetModelInvocationLoggingConfiguration": self.get,
            "DeleteModelInvocationLoggingConfiguration": self.delete,
        }

    def reset(self) -> None:
        """Switch logging off and drop records not yet delivered."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._pending = []
        self.config = None

    # -- configuration ---------------------------------------------------------------
    def put(self, p: dict[str, Any]) -> dict[str, Any]:
        config = p["loggingConfig"]
        if "s3Config" not in config:
            raise validation_error(
                "The local stand-in delivers invocation logs to Amazon S3 only; give "
                "loggingConfig.s3Config with the bucket name and key prefix."
            )
        bucket = config["s3Config"]["bucketName"]
        prefix = config["s3Config"].get("keyPrefix", "").strip("/")
        self._check_bucket(bucket, prefix)
        self.config = config
        return {}

    def get(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"loggingConfig": self.config} if self.config else {}

    def delete(self, p: dict[str, Any]) -> dict[str, Any]:
        self.flush()  # records of calls made while logging was on are still delivered
        self.config = None
        return {}

    def _check_bucket(self, bucket: str, prefix: str) -> None:
        """Refuse, as Bedrock does, a bucket the service could not write the logs to."""
        s3 = self.bedrock.client("s3")
        account, region = self.bedrock.account_id, self.bedrock.region
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            raise validation_error(
                f"The S3 bucket {bucket} for invocation logs does not exist or is not yours."
            ) from None
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError:
            policy = {}
        key = f"{prefix}/AWSLogs/{account}/BedrockModelInvocationLogs/{region}/x.json.gz"
        resource = f"arn:aws:s3:::{bucket}/{key.lstrip('/')}"
        source_arn = f"arn:aws:bedrock:{region}:{account}:model-invocation-logging"
        for st in listify(policy.get("Statement", [])):
            if self._grants(st, resource, account, source_arn):
                return
        raise validation_error(
            f"Bedrock cannot write invocation logs to s3://{bucket}/{prefix}: the bucket policy "
            f"does not allow the service principal bedrock.amazonaws.com to s3:PutObject on "
            f"{resource.rsplit('/', 1)[0]}/*. Add such a statement (with aws:SourceAccount "
            "and aws:SourceArn conditions), then try again."
        )

    @staticmethod
    def _grants(st: dict[str, Any], resource: str, account: str, source_arn: str) -> bool:
        """Whether one policy statement allows Bedrock's log write (conditions evaluated)."""
        if st.get("Effect") != "Allow":
            return False
        principal = st.get("Principal", {})
        services = listify(principal.get("Service", [])) if isinstance(principal, dict) else []
        if "bedrock.amazonaws.com" not in services:
            return False
        if not any(fnmatch.fnmatchcase("s3:PutObject", a) for a in listify(st.get("Action"))):
            return False
        if not any(fnmatch.fnmatchcase(resource, r) for r in listify(st.get("Resource"))):
            return False
        context = {"aws:SourceAccount": account, "aws:SourceArn": source_arn}
        for operator, tests in st.get("Condition", {}).items():
            for key, wanted in tests.items():
                have = context.get(key)
                if have is None:
                    return False  # a condition on a key Bedrock does not send never holds
                wanted = [str(w) for w in listify(wanted)]
                if operator in ("StringEquals", "ArnEquals"):
                    ok = have in wanted
                elif operator in ("StringLike", "ArnLike"):
                    ok = any(fnmatch.fnmatchcase(have, w) for w in wanted)
                else:
                    return False  # an operator the stand-in does not evaluate: deny, not guess
                if not ok:
                    return False
        return True

    # -- delivery --------------------------------------------------------------------
    def record(
        self,
        operation: str,
        model_id: str,
        request: dict[str, Any],
        response: dict[str, Any],
        metadata: dict[str, str] | None,
    ) -> None:
        """Queue the log record of one successful call, if logging is on."""
        if not self.config:
            return
        text = bool(self.config.get("textDataDeliveryEnabled"))
        usage = response.get("usage") or {}
        entry: dict[str, Any] = {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "accountId": self.bedrock.account_id,
            "identity": {"arn": f"arn:aws:iam::{self.bedrock.account_id}:user/workshop"},
            "region": self.bedrock.region,
            "requestId": str(uuid.uuid4()),
            "operation": operation,
            "modelId": urllib.parse.unquote(model_id).split("foundation-model/")[-1],
            "input": {
                "inputContentType": "application/json",
                "inputTokenCount": usage.get("inputTokens", usage.get("input_tokens", 0)),
            },
            "output": {
                "outputContentType": "application/json",
                "outputTokenCount": usage.get("outputTokens", usage.get("output_tokens", 0)),
            },
        }
        if text:
            entry["input"]["inputBodyJson"] = request
            entry["output"]["outputBodyJson"] = response
        if metadata:
            entry["requestMetadata"] = dict(metadata)
        self._pending.append((dict(self.config["s3Config"]), entry))
        if self._timer is None:
            self._timer = threading.Timer(self.delivery_seconds, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> int:
        """Write every queued record to S3 now; returns how many were written."""
        # Take the queue under the service lock, write under the flush lock only: a request
        # thread (holding the service lock) may flush while the timer thread is writing.
        with self.bedrock.lock:
            pending, self._pending = self._pending, []
            self._timer = None
        with self._flush_lock:
            files: dict[tuple[str, str], list[dict[str, Any]]] = {}
            batch = uuid.uuid4().hex[:16]  # one file per destination and hour, as Bedrock batches
            for destination, entry in pending:
                when = datetime.strptime(entry["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
                prefix = _log_prefix(
                    destination.get("keyPrefix", ""), entry["accountId"], entry["region"]
                )
                key = f"{prefix}{when:%Y/%m/%d/%H}/{when:%Y%m%dT%H}_{batch}.json.gz"
                files.setdefault((destination["bucketName"], key), []).append(entry)
            s3 = self.bedrock.client("s3")
            for (bucket, key), entries in files.items():
                body = "".join(json.dumps(e, default=str) + "\n" for e in entries)
                try:
                    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body.encode()))
                except ClientError as err:
                    # Bedrock drops logs it cannot deliver; the caller's call already succeeded.
                    logger.warning("invocation logs not delivered to s3://%s: %s", bucket, err)
            return len(pending)

    # -- distillation ----------------------------------------------------------------
    def prompts(self, logs_config: dict[str, Any], teacher_id: str) -> list[LoggedPrompt]:
        """The logged calls a distillation job learns from, after its filters.

        With ``usePromptResponse`` only calls answered by the teacher itself count, as
        Bedrock requires; without it any model's prompts do and the teacher answers them.

        Raises:
            LogsError: when the logs cannot be read or too few calls match.
        """

        uri = logs_config["invocationLogSource"]["s3Uri"]
        bucket, prefix = common.split_s3(uri)
        filters = logs_config.get("requestMetadataFilters")
        use_answers = bool(logs_config.get("usePromptResponse", False))
        s3 = self.bedrock.client("s3")
        read = matched = 0
        found: list[LoggedPrompt] = []
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
            for key in keys:
                if not key.endswith((".json.gz", ".json")):
                    continue
                raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                text = gzip.decompress(raw) if key.endswith(".gz") else raw
                for line in text.decode("utf-8").splitlines():
                    if not line.strip():
                        continue
                    entry = json.loads(line)
                    read += 1
                    if not _passes(filters, entry.get("requestMetadata") or {}):
                        continue
                    matched += 1
                    if use_answers and entry.get("modelId") != teacher_id:
                        continue
                    prompt, system, answer = _conversation(entry)
                    if prompt and (answer or not use_answers):
                        found.append(LoggedPrompt(entry.get("modelId", ""), prompt, system, answer))
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise LogsError(
                f"Could not read the invocation logs at {uri} ({code}). Check that the bucket "
                "exists and that the job's service role may read it."
            ) from None
        except (ValueError, OSError) as err:
            raise LogsError(f"An invocation log file under {uri} is not valid: {err}") from None
        if len(found) < MIN_LOGGED_PROMPTS:
            which = f"answered by the teacher {teacher_id} " if use_answers else "with a prompt "
            raise LogsError(
                f"The invocation logs at {uri} hold {len(found)} calls {which}that match the "
                f"request metadata filters ({matched} of {read} records matched); distillation "
                f"needs at least {MIN_LOGGED_PROMPTS}."
            )
        return found[:MAX_LOGGED_PROMPTS]


def _log_prefix(key_prefix: str, account: str, region: str) -> str:
    """The key prefix Bedrock delivers one account's and Region's log files under."""
    head = key_prefix.strip("/")
    return f"{head + '/' if head else ''}AWSLogs/{account}/BedrockModelInvocationLogs/{region}/"


def _passes(rule: dict[str, Any] | None, metadata: dict[str, Any]) -> bool:
    """Whether request metadata passes a ``RequestMetadataFilters`` union (validated on create).

    equals: every listed pair is present with that value; notEquals: no listed key has that
    value; andAll / orAll: every / any of their base filters holds.
    """
    if not rule:
        return True
    if "andAll" in rule:
        return all(_passes(member, metadata) for member in rule["andAll"])
    if "orAll" in rule:
        return any(_passes(member, metadata) for member in rule["orAll"])
    if "equals" in rule:
        return all(metadata.get(key) == value for key, value in rule["equals"].items())
    return all(metadata.get(key) != value for key, value in rule.get("notEquals", {}).items())


def _texts(content: Any) -> str:
    """The text items of a logged message content (a string, or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts = [item.get("text") for item in content or [] if isinstance(item, dict)]
    return "\n".join(part for part in parts if isinstance(part, str))


def _conversation(entry: dict[str, Any]) -> tuple[str, str | None, str]:
    """(last user text, system, answer) of a record :meth:`InvocationLogging.record` wrote."""
    request = entry.get("input", {}).get("inputBodyJson") or {}
    response = entry.get("output", {}).get("outputBodyJson") or {}
    if "prompt" in request:  # Llama's chat-template prompt
        prompt, system = _llama_turns(request["prompt"])
    elif "inputText" in request:  # Titan Text
        prompt, system = request["inputText"], None
    else:  # Converse, Nova and Anthropic message bodies
        messages = request.get("messages") or [{}]
        prompt = _texts(messages[-1].get("content"))
        system = _texts(request.get("system")) or None
    if "output" in response:
        answer = _texts(response["output"].get("message", {}).get("content"))
    elif "results" in response:
        answer = str(response["results"][0].get("outputText", ""))
    elif "generation" in response:
        answer = str(response["generation"])
    else:
        answer = _texts(response.get("content"))
    return prompt, system, answer


def _llama_turns(prompt: str) -> tuple[str, str | None]:
    """The last user turn and the system turn of a Llama 3 chat-template prompt."""

    return bodies.llama_parts(prompt)
