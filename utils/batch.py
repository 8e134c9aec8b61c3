"""Bedrock batch inference: thousands of answers from one job instead of one call each.

Batch inference costs about half the on-demand price and is not throttled call by call,
which is what makes evaluating on thousands of records practical. It has a minimum job
size (:data:`MIN_RECORDS`) and takes minutes to hours, so small sets go on-demand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from utils import clients, resources, s3
from utils.errors import WorkshopError
from utils.naming import unique_name
from utils.resources import Kind
from utils.state import State
from utils.waiting import default_interval, wait_for

MIN_RECORDS = 100
"""Bedrock's minimum number of records in one batch inference job."""

TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})

CHECK_MODEL_AND_ROLE = (
    "Check the model id supports batch inference in this Region and that the role may read "
    "and write the bucket."
)
"""What to do when Bedrock refuses a batch job: an unknown model and an unassumable role are
both refused as malformed requests."""


def converse_input(
    prompt: str, system: str | None = None, max_tokens: int = 512, temperature: float = 0.0
) -> dict[str, Any]:
    """The ``modelInput`` of one Converse-type batch record."""
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if system:
        body["system"] = [{"text": system}]
    return body


def record_id(index: int) -> str:
    """The 11-character record id Bedrock's examples use, derived from the position."""
    return f"r{index:010d}"


def generate(
    model_id: str,
    prompts: Sequence[str],
    *,
    state: State,
    bucket: str,
    role_arn: str,
    system: str | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
    label: str = "batch",
    timeout: float = 24 * 3600,
    interval: float | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Answer every prompt with one batch inference job; one row per prompt, in order.

    The job is recorded in the state file before it is requested (cleanup stops it if it
    still runs). Records Bedrock could not answer keep their error message.

    Returns:
        Columns ``record``, ``prompt``, ``output`` (None on error) and ``error``.

    Raises:
        WorkshopError: fewer than :data:`MIN_RECORDS` prompts, a rejected request, or a job
            that ended Failed, Stopped or Expired.
    """
    if len(prompts) < MIN_RECORDS:
        raise WorkshopError(
            f"Batch inference needs at least {MIN_RECORDS} records; got {len(prompts)}.",
            "Generate fewer records on demand (utils.evaluation.compare does so by default).",
        )
    name = unique_name(f"{label}-inference", state.workshop_id)
    prefix = f"batch/{name}"
    lines = [
        {
            "recordId": record_id(i),
            "modelInput": converse_input(p, system, max_tokens, temperature),
        }
        for i, p in enumerate(prompts)
    ]
    input_uri = s3.upload_jsonl(lines, s3.uri(bucket, f"{prefix}/input/records.jsonl"))
    output_uri = s3.uri(bucket, f"{prefix}/output/")
    arn = resources.create(
        state,
        Kind.BATCH_JOB,
        name,
        lambda: clients.client("bedrock").create_model_invocation_job(
            jobName=name,
            roleArn=role_arn,
            clientRequestToken=name,
            modelId=model_id,
            modelInvocationType="Converse",
            inputDataConfig={"s3InputDataConfig": {"s3InputFormat": "JSONL", "s3Uri": input_uri}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": output_uri}},
            tags=resources.tags(state.workshop_id),
        ),
        arn=lambda answer: answer["jobArn"],
        status="Submitted",
        action=f"Creating batch inference job {name}",
        fixes={"ValidationException": CHECK_MODEL_AND_ROLE},
        default=CHECK_MODEL_AND_ROLE,
    )["jobArn"]
    final = wait_for(
        lambda: clients.client("bedrock").get_model_invocation_job(jobIdentifier=arn),
        status_key="status",
        terminal=TERMINAL,
        label=f"Batch job {name}",
        timeout=timeout,
        interval=interval or default_interval(60.0),
        progress=progress,
        on_timeout="It keeps running in Bedrock; stop it with 03_cleanup.ipynb if needed.",
    )
    state.update_resource(Kind.BATCH_JOB, name, arn=arn, status=final["status"])
    if final["status"] not in ("Completed", "PartiallyCompleted"):
        raise WorkshopError(
            f"Batch inference job {name} ended {final['status']}: "
            f"{final.get('message', 'no message')}",
            "Fix the cause named above and run the evaluation again.",
        )
    job_id = arn.rsplit("/", 1)[-1]
    text = s3.read_bytes(s3.uri(bucket, f"{prefix}/output/{job_id}/records.jsonl.out"))
    return _collect(prompts, text.decode("utf-8"))


def _collect(prompts: Sequence[str], output_jsonl: str) -> pd.DataFrame:
    """Match output lines to prompts by record id; missing records count as errors."""
    answers: dict[str, tuple[str | None, str | None]] = {}
    for line in output_jsonl.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if "modelOutput" in record:
            content = record["modelOutput"]["output"]["message"]["content"]
            answers[record["recordId"]] = ("".join(c.get("text", "") for c in content), None)
        else:
            error = record.get("error", {})
            answers[record["recordId"]] = (None, str(error.get("errorMessage", error)))
    rows = []
    for i, prompt in enumerate(prompts):
        output, error = answers.get(record_id(i), (None, "no output line for this record"))
        rows.append({"record": i, "prompt": prompt, "output": output, "error": error})
    return pd.DataFrame(rows)
