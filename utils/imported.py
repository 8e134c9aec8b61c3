"""Custom Model Import from a lesson: upload a checked folder, import it, read what Bedrock made.

:func:`upload_folder` sends a Hugging Face folder to S3 with a progress bar;
:func:`start_import` checks the folder, asks for cost confirmation on AWS, uploads it and
starts a model import job (recorded first, re-attached on a re-run, an imported model of
ours with the same name adopted); :func:`wait_for_import` waits for the job and returns the
:class:`ImportedModel` Bedrock made; :func:`delete_imported_model` and
:func:`remove_model_files` undo them (``03_cleanup.ipynb`` does both through
:func:`utils.cleanup.cleanup` and the bucket).

What the folder must hold is :mod:`utils.model_import`'s; calling the model is
:mod:`utils.imported_inference`'s. Facts from AWS name their source; the API's shapes are
botocore 1.44.5's service model "bedrock" (CreateModelImportJob, GetModelImportJob,
GetImportedModel, DeleteImportedModel, ListModelImportJobs).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from utils import clients, cost, model_import, resources, s3
from utils import progress as progress_display
from utils.errors import WorkshopError, error_code, explain, explain_failure
from utils.iam import MODEL_PREFIX
from utils.naming import unique_name
from utils.resources import TAG_KEY, Kind
from utils.state import State
from utils.waiting import default_interval, wait_for

if TYPE_CHECKING:
    import pandas as pd

MiB = 1024**2
CHUNK_BYTES = 64 * MiB
"""Part size of multipart uploads, and the size from which a file goes in parts.

S3 takes parts of 5 MiB to 5 GiB and at most 10,000 of them (s3transfer 0.19.3's
``MIN_UPLOAD_CHUNKSIZE``, ``MAX_SINGLE_UPLOAD_SIZE`` and ``MAX_PARTS``, which boto3's
transfer manager enforces). boto3's default of 8 MiB makes a 5 GB safetensors shard 600
requests; 64 MiB makes it 75, a retried part resends at most 64 MiB, and 10,000 parts still
reach 625 GiB, beyond any shard ``save_pretrained`` writes. Config and tokenizer files, all
smaller, go in one PUT each."""

TRANSFER = TransferConfig(
    multipart_threshold=CHUNK_BYTES,
    multipart_chunksize=CHUNK_BYTES,
    # Parts of one file go up side by side; 8 keeps a laptop's uplink busy without
    # holding more than 8 x 64 MiB in memory.
    max_concurrency=8,
    use_threads=True,
)
"""How :func:`upload_folder` sends files (see :data:`CHUNK_BYTES`)."""

TERMINAL = frozenset({"Completed", "Failed"})
"""End states of a model import job: ``ModelImportJobStatus`` is InProgress, Completed or
Failed (service model; there is no Stop operation, so a job cannot be stopped)."""

REUSABLE = frozenset({"InProgress", "Completed"})
"""States of a recorded job that a re-run re-attaches to instead of starting another."""

DEFAULT_KEY = "custom-model-import"
"""The state-file key of a lesson's import, when it names none."""

START_FIXES = {
    "ConflictException": (
        "An imported model (or a running import) with this name exists and is not this "
        "workshop's: pass another model_name, or delete that model first."
    ),
    "ValidationException": (
        "Check the request shown in the message: Custom Model Import runs in us-east-1 and "
        "us-west-2 (utils.model_import.REGIONS), and the role must be the import role."
    ),
    "AccessDeniedException": (
        "Your principal needs bedrock:CreateModelImportJob and iam:PassRole on the import "
        "role (the README's 'Running against your own AWS account' lists them)."
    ),
}
"""What to do when Bedrock refuses to start an import, by error code."""

FAILURE_FIXES = {
    "assume": (
        "Bedrock could not assume the role for this job: its trust policy must allow "
        "bedrock.amazonaws.com with aws:SourceArn arn:aws:bedrock:<region>:<account>:"
        "model-import-job/*. Create the role with utils.iam.ensure_import_role(...)."
    ),
    "cannot read": (
        "The role may not read the folder: give it s3:ListBucket and s3:GetObject on the "
        "model prefix (utils.iam.ensure_import_role does), and upload under that prefix."
    ),
    "access denied": (
        "The role may not read the folder: give it s3:ListBucket and s3:GetObject on the "
        "model prefix (utils.iam.ensure_import_role does), and upload under that prefix."
    ),
    "architecture": (
        "Import a model of an architecture Custom Model Import takes "
        "(utils.model_import.ARCHITECTURES); utils.model_import.check_folder says which "
        "one the folder is."
    ),
    "dtype": "Save the model in bfloat16, float16 or float32, without quantisation.",
    "tokenizer": "Save the tokenizer beside the model: tokenizer.save_pretrained(folder).",
    "empty or does not exist": "Upload the folder first: utils.imported.upload_folder(...).",
}
"""Fixes for a job that ended Failed, by a phrase of its ``failureMessage``."""

FAILURE_DEFAULT = (
    "Fix what the message names, check the folder with utils.model_import.check_folder, then "
    "run the import cell again: a failed job is not reused, a new one starts."
)


@dataclass(frozen=True)
class ImportJob:
    """A model import job the workshop started or re-attached to.

    Attributes:
        key: The state-file key the lesson records it under.
        name: The job's name (empty when an existing model was adopted without a job).
        arn: The job's ARN (empty likewise).
        model_name: The imported model's name (stable per workshop and key).
        uri: The S3 folder the job reads.
        reused: Whether nothing new was started (a running or finished job, or a model).
        model_arn: The imported model's ARN when it already exists.
    """

    key: str
    name: str
    arn: str
    model_name: str
    uri: str
    reused: bool
    model_arn: str | None = None


@dataclass(frozen=True)
class ImportedModel:
    """What ``get_imported_model`` says of an imported model, by the names a lesson uses.

    Attributes:
        name: ``modelName``.
        arn: ``modelArn``: the id ``invoke_model`` and ``converse`` take.
        architecture: ``modelArchitecture`` as Bedrock detected it.
        instruct_supported: ``instructSupported``: whether ``converse`` works on it.
        units_per_copy: ``customModelUnits.customModelUnitsPerModelCopy`` (billing units).
        units_version: ``customModelUnits.customModelUnitsVersion`` (picks the price).
        job_name: The job that imported it.
        source_uri: The S3 folder it was imported from.
        created: ``creationTime``.
    """

    name: str
    arn: str
    architecture: str | None
    instruct_supported: bool | None
    units_per_copy: int | None
    units_version: str | None
    job_name: str | None
    source_uri: str | None
    created: datetime | None

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> ImportedModel:
        """Read a ``get_imported_model`` response (fields absent in it become None)."""
        units = described.get("customModelUnits") or {}
        source = (described.get("modelDataSource") or {}).get("s3DataSource") or {}
        return cls(
            name=str(described["modelName"]),
            arn=str(described["modelArn"]),
            architecture=described.get("modelArchitecture"),
            instruct_supported=described.get("instructSupported"),
            units_per_copy=units.get("customModelUnitsPerModelCopy"),
            units_version=units.get("customModelUnitsVersion"),
            job_name=described.get("jobName"),
            source_uri=source.get("s3Uri"),
            created=described.get("creationTime"),
        )

    def facts(self) -> dict[str, Any]:
        """The facts by name (the rows of :meth:`to_frame`)."""
        return {
            "name": self.name,
            "ARN": self.arn,
            "architecture": self.architecture,
            "instructSupported (converse)": self.instruct_supported,
            "custom model units per copy": self.units_per_copy,
            "custom model units version": self.units_version,
            "import job": self.job_name,
            "source": self.source_uri,
            "created": self.created,
        }

    def to_frame(self) -> pd.DataFrame:
        """The facts as a two-column table (item, value)."""
        import pandas as pd

        facts = self.facts()
        return pd.DataFrame({"item": list(facts), "value": [str(v) for v in facts.values()]})

    def estimate(self, days: float, invoked_minutes: float = 0.0, bursts: int = 1) -> cost.Estimate:
        """What keeping this model ``days`` and calling it costs, with its own units."""
        return cost.imported_model(
            self.units_per_copy,
            days,
            invoked_minutes,
            bursts=bursts,
            cmu_version=self.units_version,
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self.facts().items()
        )
        return f"<table><caption>Imported model</caption>{rows}</table>"


def model_name(key: str, workshop_id: str) -> str:
    """The imported model's name for a lesson key: the same on every run of this workshop.

    ``importedModelName`` must match ``([0-9a-zA-Z][_-]?)+`` within 63 characters (service
    model), so every run of other characters becomes one hyphen.
    """
    clean = re.sub(r"[^a-zA-Z0-9]+", "-", f"{key}-{workshop_id}").strip("-")
    return clean[:63].rstrip("-") or "imported-model"


def folder_uri(bucket: str, folder: str | Path, prefix: str = MODEL_PREFIX) -> str:
    """Where a local folder goes in the bucket: ``s3://bucket/<prefix><folder name>/``."""
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", Path(folder).resolve().name).strip("-") or "model"
    return s3.uri(bucket, f"{prefix.strip('/')}/{name}/")


def _folder_key(target: str) -> tuple[str, str]:
    """Bucket and key prefix (ending in ``/``) of a folder URI; refuses the bucket's root."""
    bucket, key = s3.split_uri(target)
    key = key.strip("/")
    if not key:
        raise WorkshopError(
            f"{target} is a whole bucket; a model folder needs a prefix of its own.",
            f"Use a prefix such as s3://{bucket}/{MODEL_PREFIX}my-model/ (utils.imported."
            "folder_uri builds one).",
        )
    return bucket, key + "/"


def upload_folder(
    folder: str | Path,
    target: str,
    *,
    progress: bool = True,
    check: bool = True,
    prune: bool = True,
    config: TransferConfig | None = None,
) -> str:
    """Upload a Hugging Face folder to ``target`` (an ``s3://`` folder); returns its URI.

    Only :func:`utils.model_import.files_to_send` are sent, through boto3's transfer manager
    (:data:`TRANSFER`: large shards in parallel parts), with one progress bar in bytes.

    Args:
        folder: The folder ``save_pretrained`` wrote.
        target: ``s3://bucket/prefix/``.
        progress: Show the progress bar.
        check: Check the folder first and refuse one that cannot be imported.
        prune: Delete objects under the prefix the folder does not have: an import reads
            every safetensors file there, so shards of an earlier model would break it.
        config: Another transfer configuration (tests use small parts).

    Raises:
        WorkshopError: The folder has problems, or S3 refused the upload.
    """
    if check:
        model_import.check_folder(folder).raise_for_problems()
    bucket, prefix = _folder_key(target)
    files = model_import.files_to_send(folder)
    if not files:
        raise WorkshopError(
            f"{folder} holds no files to upload.",
            "Give the folder save_pretrained wrote (config.json, safetensors, tokenizer).",
        )
    client = clients.client("s3")
    total = sum(p.stat().st_size for p in files)
    bar = progress_display.bar(
        f"Uploading {Path(folder).name} to {s3.uri(bucket, prefix)}",
        total=total,
        unit="B",
        unit_scale=True,
        enabled=progress,
    )
    try:
        for path in files:
            bar.note(path.name)
            try:
                client.upload_file(
                    str(path),
                    bucket,
                    prefix + path.name,
                    Config=config or TRANSFER,
                    Callback=bar.update,
                )
            except S3UploadFailedError as err:  # the transfer manager's wrapper of a refusal
                raise WorkshopError(
                    f"Uploading {path.name} to s3://{bucket}/{prefix} failed: {err}",
                    "Check that the bucket exists and your principal may s3:PutObject there "
                    "(multipart uploads need it too), then run the cell again.",
                ) from err
            except ClientError as err:
                raise explain(err, f"Uploading {path.name} to s3://{bucket}/{prefix}") from err
    finally:
        bar.close()
    if prune:
        sent = {prefix + p.name for p in files}
        stale = [k for k in s3.list_keys(bucket, prefix) if k not in sent]
        if stale:
            s3.delete_keys(bucket, stale)
            print(f"Removed {len(stale)} object(s) under s3://{bucket}/{prefix} not in {folder}.")
    return s3.uri(bucket, prefix)


def remove_model_files(target: str) -> int:
    """Delete every object under a model folder's prefix (its storage bills); returns how many."""
    bucket, prefix = _folder_key(target)
    keys = s3.list_keys(bucket, prefix)
    s3.delete_keys(bucket, keys)
    return len(keys)


def describe_job(ident: str) -> dict[str, Any]:
    """``get_model_import_job`` for a job's name or ARN."""
    try:
        return cast(
            dict[str, Any],
            clients.client("bedrock").get_model_import_job(jobIdentifier=ident),
        )
    except ClientError as err:
        raise explain(err, f"Looking up model import job {ident}") from err


def describe_model(ident: str) -> ImportedModel:
    """:class:`ImportedModel` of an imported model's name or ARN."""
    try:
        described = clients.client("bedrock").get_imported_model(modelIdentifier=ident)
    except ClientError as err:
        raise explain(err, f"Looking up imported model {ident}") from err
    return ImportedModel.from_description(described)


def _find_model(name: str) -> dict[str, Any] | None:
    """The imported model of this name as Bedrock describes it, or None."""
    try:
        return cast(
            dict[str, Any], clients.client("bedrock").get_imported_model(modelIdentifier=name)
        )
    except ClientError as err:
        if error_code(err) == "ResourceNotFoundException":
            return None
        raise explain(err, f"Looking for an imported model named {name}") from err


def _ours(described: dict[str, Any], state: State) -> bool:
    """Whether this workshop made the imported model: its records, else its tags."""
    if state.find_resource(Kind.IMPORTED_MODEL, described["modelArn"]):
        return True
    jobs = state.resources(Kind.IMPORT_JOB)
    if any(described.get("jobName") == rec["id"] for rec in jobs):
        return True
    try:
        tags = clients.client("bedrock").list_tags_for_resource(resourceARN=described["modelArn"])[
            "tags"
        ]
    except (ClientError, BotoCoreError):
        return False  # not readable (or not served): not known to be ours
    return any(t.get("key") == TAG_KEY and t.get("value") == state.workshop_id for t in tags)


def _adopt(described: dict[str, Any], state: State, key: str, uri: str) -> ImportJob:
    """Take over an imported model of ours with the name asked for, instead of failing."""
    arn = str(described["modelArn"])
    source = ((described.get("modelDataSource") or {}).get("s3DataSource") or {}).get("s3Uri")
    if source and source.rstrip("/") != uri.rstrip("/"):
        raise WorkshopError(
            f"This workshop's imported model {described['modelName']} was imported from "
            f"{source}, not {uri}.",
            "Delete it first (utils.imported.delete_imported_model(model, st)) to import the "
            "new folder under the same name, or pass another model_name.",
        )
    state.add_resource(
        Kind.IMPORTED_MODEL, arn, name=described["modelName"], status="Active", key=key
    )
    print(f"Re-using this workshop's imported model {described['modelName']} ({arn}).")
    return ImportJob(
        key=key,
        name=str(described.get("jobName") or ""),
        arn=str(described.get("jobArn") or ""),
        model_name=str(described["modelName"]),
        uri=uri,
        reused=True,
        model_arn=arn,
    )


def _reattach(state: State, key: str, name: str, uri: str) -> ImportJob | None:
    """The job recorded under ``key`` if it still runs or has finished for this model."""
    recorded = state.get(resources.pointer(Kind.IMPORT_JOB, key))
    if not recorded or recorded.get("model_name") != name or recorded.get("uri") != uri:
        return None
    try:
        found = describe_job(recorded["arn"])
    except WorkshopError:
        return None
    if found["status"] not in REUSABLE:
        return None
    return ImportJob(
        key=key,
        name=recorded["name"],
        arn=recorded["arn"],
        model_name=name,
        uri=uri,
        reused=True,
        model_arn=found.get("importedModelArn"),
    )


def _running_job_of(state: State, name: str) -> dict[str, Any] | None:
    """A running import job of ours that makes the model ``name`` (a kernel died mid-start)."""
    ours = {rec["id"] for rec in state.resources(Kind.IMPORT_JOB)}
    pages = clients.client("bedrock").get_paginator("list_model_import_jobs")
    for page in pages.paginate(statusEquals="InProgress"):
        for job in page["modelImportJobSummaries"]:
            if job.get("importedModelName") == name and job["jobName"] in ours:
                return dict(job)
    return None


def start_import(
    folder: str | Path,
    *,
    state: State,
    bucket: str,
    role_arn: str,
    key: str = DEFAULT_KEY,
    target: str | None = None,
    name: str | None = None,
    confirm_costs: bool = False,
    estimate: cost.Estimate | None = None,
    progress: bool = True,
) -> ImportJob:
    """Check a local folder, upload it and start a model import job (or re-use what exists).

    In order, and nothing is sent before the folder passes the check:

    1. :func:`utils.model_import.check_folder` (raises listing every problem and its fix);
    2. an imported model of this name that is this workshop's is adopted (one that is not
       ours is an error); a job recorded under ``key`` that runs or has completed for the
       same model and folder is re-attached to;
    3. on AWS, :func:`utils.cost.confirm` with ``estimate`` (default: a month of storage);
    4. :func:`upload_folder`, then ``create_model_import_job`` through
       :func:`utils.resources.create`: recorded before it is sent, under a job name unique
       to this attempt, the model name stable (:func:`model_name`).

    Args:
        folder: The local folder ``save_pretrained`` wrote.
        state: The workshop's state file.
        bucket: The workshop bucket.
        role_arn: A role model import jobs may assume (:func:`utils.iam.ensure_import_role`).
        key: The lesson's key for this import in the state file.
        target: The S3 folder (default :func:`folder_uri` of ``bucket`` and ``folder``).
        name: The imported model's name (default :func:`model_name`).
        confirm_costs: Allow the billable import on AWS.
        estimate: What the cost guard shows.
        progress: Show the upload's progress bar.
    """
    model_import.check_folder(folder).raise_for_problems()
    uri = (target or folder_uri(bucket, folder)).rstrip("/") + "/"
    _folder_key(uri)
    wanted = name or model_name(key, state.workshop_id)
    existing = _find_model(wanted)
    if existing is not None:
        if not _ours(existing, state):
            raise WorkshopError(
                f"An imported model named {wanted} exists and this workshop did not make it.",
                "Pass another name=..., or delete that model if it is yours to delete.",
            )
        return _adopt(existing, state, key, uri)
    again = _reattach(state, key, wanted, uri)
    if again is not None:
        return again
    print(
        cost.confirm(
            estimate or cost.imported_model(None, days=30),
            confirm_costs,
        )
    )
    upload_folder(folder, uri, progress=progress, check=False)
    job_name = unique_name(f"{key}-import", state.workshop_id)
    body: dict[str, Any] = {
        "jobName": job_name,
        "importedModelName": wanted,
        "roleArn": role_arn,
        "modelDataSource": {"s3DataSource": {"s3Uri": uri}},
        "jobTags": resources.tags(state.workshop_id),
        "importedModelTags": resources.tags(state.workshop_id),
        "clientRequestToken": job_name,
    }
    # The key and VPC 00_setup.ipynb checked apply to every job of the workshop.
    protection = state.get("protection") or {}
    if protection.get("kms_key_arn"):
        body["importedModelKmsKeyId"] = protection["kms_key_arn"]
    if protection.get("vpc_config"):
        body["vpcConfig"] = protection["vpc_config"]

    def take_over() -> dict[str, Any]:
        # A model name in use by a running job of ours: a kernel that died after sending.
        running = _running_job_of(state, wanted)
        if running is None:
            raise WorkshopError(
                f"Bedrock refused model import job {job_name}: a model or running import "
                f"named {wanted} exists.",
                START_FIXES["ConflictException"],
            )
        return running

    bedrock = clients.client("bedrock")
    try:
        answer = resources.create(
            state,
            Kind.IMPORT_JOB,
            job_name,
            lambda: bedrock.create_model_import_job(**body),
            arn=lambda a: a["jobArn"],
            status="InProgress",
            action=f"Creating model import job {job_name}",
            fixes=START_FIXES,
            adopt={"ConflictException": take_over},
            key=key,
            model_name=wanted,
            uri=uri,
        )
    except WorkshopError:
        resources.forget(state, Kind.IMPORT_JOB, job_name)
        raise
    arn = str(answer["jobArn"])
    started = str(answer.get("jobName", job_name))
    if started != job_name:  # adopted: the running job's own record stands for it
        resources.forget(state, Kind.IMPORT_JOB, job_name)
        state.update_resource(Kind.IMPORT_JOB, started, arn=arn, status="InProgress", key=key)
    entry = {"name": started, "arn": arn, "model_name": wanted, "uri": uri}
    state.set(resources.pointer(Kind.IMPORT_JOB, key), entry)
    return ImportJob(key=key, reused=started != job_name, **entry)


def wait_for_import(
    job: ImportJob,
    state: State,
    *,
    timeout: float = 2 * 3600,
    interval: float | None = None,
    progress: bool = True,
) -> ImportedModel:
    """Wait until the import job ends; return the imported model, or explain its failure.

    Bedrock has no waiter for import jobs: this polls ``get_model_import_job`` with a
    progress line and stops on Completed or Failed. The imported model is recorded for
    cleanup (it bills storage every month it exists).

    Raises:
        WorkshopError: The job failed (its ``failureMessage`` and a fix), or the timeout
            passed first (the job keeps running; run the cell again to keep waiting).
    """
    if job.model_arn and not job.arn:  # an adopted model: nothing to wait for
        return describe_model(job.model_arn)
    final = wait_for(
        lambda: describe_job(job.arn),
        status_key="status",
        terminal=TERMINAL,
        label=f"Model import job {job.name}",
        timeout=timeout,
        interval=interval or default_interval(30.0),
        progress=progress,
        on_timeout=(
            "The import keeps running in Bedrock (an import job cannot be stopped). Run this "
            "cell again to keep waiting: the notebook re-attaches to the same job."
        ),
    )
    status = final["status"]
    state.update_resource(Kind.IMPORT_JOB, job.name, arn=job.arn, status=status)
    state.record_result(
        f"import:{job.key}",
        {"job": job.name, "status": status, "model": final.get("importedModelArn")},
    )
    if status != "Completed":
        raise explain_failure(
            f"Model import job {job.name}",
            final.get("failureMessage") or "Bedrock gave no failure message.",
            FAILURE_FIXES,
            default=FAILURE_DEFAULT,
        )
    arn = str(final["importedModelArn"])
    state.add_resource(
        Kind.IMPORTED_MODEL, arn, name=final["importedModelName"], status="Active", key=job.key
    )
    return describe_model(arn)


def delete_imported_model(model: ImportedModel | str, state: State) -> bool:
    """Delete an imported model (its storage stops billing); False if it was already gone."""
    arn = model.arn if isinstance(model, ImportedModel) else model
    return resources.delete(
        state,
        Kind.IMPORTED_MODEL,
        arn,
        lambda: clients.client("bedrock").delete_imported_model(modelIdentifier=arn),
        action=f"Deleting imported model {arn}",
    )
