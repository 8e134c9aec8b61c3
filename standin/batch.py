"""Batch inference (model invocation jobs) for the stand-in's Bedrock.

A job reads JSON Lines records ``{"recordId", "modelInput"}`` from S3, answers each with
the same local models that serve ``converse`` and ``invoke_model``, and writes
``<output>/<job id>/<input file>.out`` plus ``manifest.json.out``, as Bedrock does. Like
Bedrock it refuses jobs below the minimum record count, and a record that cannot be
answered gets an ``error`` object instead of ``modelOutput``.
"""

from __future__ import annotations

import builtins
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from standin import bodies, common
from standin.restjson import ServiceError, not_found, validation_error

if TYPE_CHECKING:
    from standin.bedrock import LocalBedrock

MIN_RECORDS = 100
"""Bedrock's minimum number of records in a batch inference job (its quotas page)."""

TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})


@dataclass
class InvocationJob:
    """One batch inference job."""

    job_id: str
    arn: str
    name: str
    request: dict[str, Any]
    submitted: datetime
    due: float
    status: str = "Submitted"
    message: str | None = None
    modified: datetime = field(default_factory=common.now)
    ended: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


class BatchInference:
    """The model invocation job operations, sharing state and models with :class:`LocalBedrock`."""

    def __init__(self, bedrock: LocalBedrock) -> None:
        self.bedrock = bedrock
        self.jobs: dict[str, InvocationJob] = {}

    def handlers(self) -> dict[str, Any]:
        """Operation name to handler, for the rest-json router."""
        return {
            "CreateModelInvocationJob": self.create,
            "GetModelInvocationJob": self.get,
            "ListModelInvocationJobs": self.list,
            "StopModelInvocationJob": self.stop,
        }

    def reset(self) -> None:
        """Forget every job."""
        self.jobs = {}

    def _find(self, ident: str) -> InvocationJob:
        for job in self.jobs.values():
            if ident in (job.arn, job.name):
                return job
        raise not_found(f"Model invocation job {ident} was not found.")

    def create(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("clientRequestToken")
        if token and token in self.bedrock.tokens:
            return {"jobArn": self.bedrock.tokens[token]}
        if any(j.name == p["jobName"] for j in self.jobs.values()):
            raise ServiceError(
                "ConflictException", f"A batch inference job named {p['jobName']} exists.", 400
            )
        model_id = urllib.parse.unquote(p["modelId"])
        if ":provisioned-model/" in model_id or ":custom-model-deployment/" in model_id:
            # "Batch inference isn't supported for provisioned models" (Process multiple
            # prompts with batch inference, Amazon Bedrock user guide, read 2026-12-01); a
            # deployment ARN does not fit the modelId pattern of CreateModelInvocationJob.
            raise validation_error(
                f"Batch inference does not run on {model_id}: provisioned models and custom "
                "model deployments are not supported. Use a base model id or an inference "
                "profile, or call the endpoint with converse or invoke_model."
            )
        self.bedrock.resolve(p["modelId"])  # an unknown model is refused now, as on AWS
        common.split_s3(p["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
        common.split_s3(p["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"])
        self.bedrock.check_role(p["roleArn"])
        job_id = common.new_id()
        job = InvocationJob(
            job_id=job_id,
            arn=self.bedrock.arn("model-invocation-job", job_id),
            name=p["jobName"],
            request=p,
            submitted=common.now(),
            due=time.monotonic() + self.bedrock.job_seconds,
        )
        self.jobs[job.arn] = job
        if token:
            self.bedrock.tokens[token] = job.arn
        return {"jobArn": job.arn}

    def _view(self, job: InvocationJob) -> dict[str, Any]:
        p = job.request
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "modelId": p["modelId"],
            "roleArn": p["roleArn"],
            "status": job.status,
            "submitTime": job.submitted,
            "lastModifiedTime": job.modified,
            "inputDataConfig": p["inputDataConfig"],
            "outputDataConfig": p["outputDataConfig"],
            "timeoutDurationInHours": p.get("timeoutDurationInHours", 24),
            "jobExpirationTime": job.submitted
            + timedelta(hours=p.get("timeoutDurationInHours", 24)),
            "modelInvocationType": p.get("modelInvocationType", "InvokeModel"),
        }
        for key in ("clientRequestToken", "vpcConfig"):
            if key in p:
                out[key] = p[key]
        if job.message:
            out["message"] = job.message
        if job.ended:
            out["endTime"] = job.ended
        out.update(job.counts)
        return out

    def get(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._view(self._find(p["jobIdentifier"]))

    def list(self, p: dict[str, Any]) -> dict[str, Any]:
        found = list(self.jobs.values())
        if "statusEquals" in p:
            found = [j for j in found if j.status == p["statusEquals"]]
        if "nameContains" in p:
            found = [j for j in found if p["nameContains"] in j.name]
        if "submitTimeAfter" in p:
            found = [j for j in found if j.submitted > p["submitTimeAfter"]]
        if "submitTimeBefore" in p:
            found = [j for j in found if j.submitted < p["submitTimeBefore"]]
        found.sort(key=lambda j: j.submitted, reverse=p.get("sortOrder") != "Ascending")
        return common.listing(found, p, "invocationJobSummaries", self._view)

    def stop(self, p: dict[str, Any]) -> dict[str, Any]:
        job = self._find(p["jobIdentifier"])
        if job.status in TERMINAL:
            raise validation_error(f"Batch inference job {job.name} already ended {job.status}.")
        job.status, job.modified = "Stopping", common.now()
        return {}

    def advance(self) -> None:
        """Move jobs along: submitted jobs start, due jobs run, stopping jobs stop."""
        now = time.monotonic()
        for job in self.jobs.values():
            if job.status == "Stopping":
                job.status, job.modified, job.ended = "Stopped", common.now(), common.now()
            elif job.status == "Submitted":
                job.status, job.modified = "InProgress", common.now()
            elif job.status == "InProgress" and now >= job.due:
                self._run(job)

    # builtins.list: in the class body, "list" names the ListModelInvocationJobs method above.
    def _inputs(self, uri: str) -> builtins.list[tuple[str, bytes]]:
        """(key, body) of each input: the object itself, or every .jsonl under a prefix."""
        bucket, key = common.split_s3(uri)
        s3 = self.bedrock.client("s3")
        keys = [key]
        if not key.endswith(".jsonl"):
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
            keys = [o["Key"] for o in listed if o["Key"].endswith(".jsonl")]
        return [(k, s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys]

    def _answer(self, job: InvocationJob, model_input: Any) -> dict[str, Any]:
        model_id = job.request["modelId"]
        if not isinstance(model_input, dict):
            raise validation_error("modelInput must be a JSON object.")
        if job.request.get("modelInvocationType") == "Converse":
            output = self.bedrock.converse({**model_input, "modelId": model_id})
            output.pop("metrics", None)
            return output
        _, generate = self.bedrock.resolve(model_id)
        return bodies.invoke_body(model_input, generate, self.bedrock.invoke_images(model_input))

    def _run(self, job: InvocationJob) -> None:
        in_uri = job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        out_uri = job.request["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
        try:
            inputs = self._inputs(in_uri)
        except ClientError as err:
            self._fail(
                job, f"Could not read the input at {in_uri} ({err.response['Error']['Code']})."
            )
            return
        parsed: list[tuple[str, list[dict[str, Any]]]] = []
        for key, body in inputs:
            records = []
            for number, line in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    self._fail(job, f"s3://.../{key} line {number} is not valid JSON.")
                    return
                if not isinstance(record, dict) or "modelInput" not in record:
                    self._fail(job, f"s3://.../{key} line {number} has no modelInput.")
                    return
                records.append(record)
            parsed.append((key, records))
        total = sum(len(records) for _, records in parsed)
        if total < MIN_RECORDS:
            self._fail(
                job,
                f"The input holds {total} records; a batch inference job needs at least "
                f"{MIN_RECORDS}. Send fewer records as on-demand calls instead.",
            )
            return
        bucket, prefix = common.split_s3(out_uri)
        base = f"{prefix.rstrip('/')}/{job.job_id}".lstrip("/")
        s3 = self.bedrock.client("s3")
        ok = errors = tokens_in = tokens_out = 0
        for key, records in parsed:
            lines = []
            for i, record in enumerate(records):
                out_line: dict[str, Any] = {
                    "recordId": record.get("recordId") or f"{i:011d}",
                    "modelInput": record["modelInput"],
                }
                try:
                    output = self._answer(job, record["modelInput"])
                    out_line["modelOutput"] = output
                    usage = output.get("usage", {})
                    tokens_in += int(usage.get("inputTokens", 0))
                    tokens_out += int(usage.get("outputTokens", 0))
                    ok += 1
                except (ServiceError, KeyError, TypeError, ValueError) as exc:
                    message = exc.message if isinstance(exc, ServiceError) else repr(exc)
                    out_line["error"] = {"errorCode": 400, "errorMessage": message}
                    errors += 1
                lines.append(json.dumps(out_line))
            name = urllib.parse.unquote(key.rsplit("/", 1)[-1])
            body = ("\n".join(lines) + "\n").encode()
            s3.put_object(Bucket=bucket, Key=f"{base}/{name}.out", Body=body)
        manifest = {
            "totalRecordCount": total,
            "processedRecordCount": ok + errors,
            "successRecordCount": ok,
            "errorRecordCount": errors,
            "inputTokenCount": tokens_in,
            "outputTokenCount": tokens_out,
        }
        s3.put_object(
            Bucket=bucket, Key=f"{base}/manifest.json.out", Body=json.dumps(manifest).encode()
        )
        job.counts = {k: manifest[k] for k in list(manifest)[:4]}
        job.status = "Completed" if errors == 0 else "PartiallyCompleted"
        job.modified = job.ended = common.now()

    def _fail(self, job: InvocationJob, message: str) -> None:
        job.status, job.message = "Failed", message
        job.modified = job.ended = common.now()
