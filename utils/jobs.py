"""Model customization jobs: start (or re-attach to) a job, wait for it, read its metrics."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from botocore.exceptions import ClientError

from utils import clients, cost, models, resources, s3
from utils.errors import WorkshopError, explain
from utils.naming import unique_name
from utils.resources import Kind
from utils.state import State
from utils.waiting import default_interval, wait_for

TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
REUSABLE = frozenset({"InProgress", "Stopping", "Completed"})
TRAINING_METRICS = "training_artifacts/step_wise_training_metrics.csv"
VALIDATION_METRICS = (
    "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv",
    "validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
    "validation_artifacts/validation_metrics.csv",
)
"""Where a job's validation metrics may be, in the order read: the layout "Analyze the results
of a model customization job" documents (Amazon Bedrock user guide, read 2026-12-01), then two
layouts seen in AWS's public samples."""


@dataclass(frozen=True)
class Job:
    """A customization job the workshop started or re-attached to."""

    key: str
    name: str
    arn: str
    custom_model_name: str
    output_uri: str
    reused: bool

    @property
    def job_id(self) -> str:
        """The id Bedrock uses in the output prefix ``model-customization-job-<id>``."""
        return self.arn.rsplit("/", 1)[-1]


FIXES = {
    "AccessDeniedException": (
        "Your principal lacks a Bedrock permission or model access: enable access to the "
        "base model in the Bedrock console (Model access) and check your IAM policy."
    ),
    "ServiceQuotaExceededException": (
        "A quota is reached (often concurrent customization jobs): wait for or stop another "
        "job, or request a quota increase in Service Quotas."
    ),
}
"""What to do when Bedrock refuses a customization job call, where the generic fix says less."""


def describe(job: Job | str) -> dict[str, Any]:
    """``get_model_customization_job`` for a job, its name or its ARN."""
    ident = job.arn if isinstance(job, Job) else job
    try:
        return cast(
            dict[str, Any],
            clients.client("bedrock").get_model_customization_job(jobIdentifier=ident),
        )
    except ClientError as err:
        raise explain(err, f"Looking up job {ident}", FIXES) from err


def _same_request(
    found: dict[str, Any],
    customization_id: str,
    training_uri: str | None,
    hyper: dict[str, str],
    rft: dict[str, Any] | None = None,
) -> bool:
    """Whether a job Bedrock describes was asked for this base model, data and hyperparameters.

    Only what the request set is compared, and a field Bedrock does not echo counts as the
    same: a wrong "different" would start (and bill) a second job.
    """
    base = str(found.get("baseModelArn", "")).rsplit("/", 1)[-1]
    if base and base != customization_id:
        return False
    data = found.get("trainingDataConfig", {}).get("s3Uri")
    if training_uri is not None and data is not None and data != training_uri:
        return False
    echoed = found.get("hyperParameters") or {}
    if not all(echoed.get(name, value) == value for name, value in hyper.items()):
        return False
    asked = (rft or {}).get("rftConfig")
    if not asked:
        return True
    told = (found.get("customizationConfig") or {}).get("rftConfig") or {}
    grader = told.get("graderConfig", {}).get("lambdaGrader", {}).get("lambdaArn")
    if grader is not None and grader != asked["graderConfig"]["lambdaGrader"]["lambdaArn"]:
        return False
    settings = told.get("hyperParameters") or {}
    return all(
        settings.get(name, value) == value
        for name, value in asked.get("hyperParameters", {}).items()
    )


@dataclass(frozen=True)
class Request:
    """A customization job request, built before anything is sent.

    Attributes:
        key: The state-file key the job is recorded under (one per notebook's job).
        body: Exactly what ``create_model_customization_job`` receives.
    """

    key: str
    body: dict[str, Any]

    def _repr_html_(self) -> str:
        # A notebook shows the request as a table; nested values stay readable JSON.
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
            f"<td style='text-align:left'><code>{html.escape(json.dumps(value))}</code></td></tr>"
            for name, value in self.body.items()
        )
        return f"<table><caption>CreateModelCustomizationJob</caption>{rows}</table>"

    def __repr__(self) -> str:
        return "CreateModelCustomizationJob " + json.dumps(self.body, indent=2)


def distillation_config(teacher_model: str, max_response_length: int) -> dict[str, Any]:
    """The ``customizationConfig`` of a DISTILLATION job: the teacher and its answer length."""
    return {
        "distillationConfig": {
            "teacherModelConfig": {
                "teacherModelIdentifier": teacher_model,
                "maxResponseLengthForInference": max_response_length,
            }
        }
    }


LAMBDA_ARN = re.compile(
    r"arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_\.]+"
    r"(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
"""The grader ARN Bedrock takes (botocore 1.44.5, ``bedrock`` shape ``LambdaArn``)."""


def rft_config(
    base_model: str, grader_arn: str, hyperparameters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``customizationConfig`` of a REINFORCEMENT_FINE_TUNING job: its grader and settings.

    Bedrock calls the Lambda function ``grader_arn`` to score the model's answers
    (``rftConfig.graderConfig.lambdaGrader``, botocore 1.44.5); the hyperparameters go in
    ``rftConfig.hyperParameters`` as numbers, checked by
    :func:`utils.models.check_rft_hyperparameters` before anything is sent.
    """
    if not LAMBDA_ARN.fullmatch(grader_arn):
        raise WorkshopError(
            f"{grader_arn!r} is not a Lambda function ARN.",
            "Pass the FunctionArn utils.lambdas.deploy returned "
            "(arn:aws:lambda:<region>:<account>:function:<name>).",
        )
    values = models.check_rft_hyperparameters(base_model, dict(hyperparameters or {}))
    config: dict[str, Any] = {"graderConfig": {"lambdaGrader": {"lambdaArn": grader_arn}}}
    if values:
        config["hyperParameters"] = values
    return {"rftConfig": config}


def request(
    *,
    state: State,
    key: str,
    base_model: str,
    training_uri: str | None = None,
    output_uri: str,
    role_arn: str,
    hyperparameters: dict[str, Any] | None = None,
    validation_uri: str | None = None,
    customization_type: str = models.FINE_TUNING,
    name_prefix: str | None = None,
    customization_config: dict[str, Any] | None = None,
    training_data_config: dict[str, Any] | None = None,
) -> Request:
    """The request :func:`start` sends, checked and complete; nothing is sent or recorded.

    Hyperparameters are checked against the family's documented ranges and turned into
    strings; the KMS key and VPC that ``00_setup.ipynb`` recorded are added; names are made
    unique for this workshop. ``customization_config`` is sent as ``customizationConfig``,
    for example the teacher model of a DISTILLATION job; ``training_data_config`` replaces
    ``training_uri`` when the data is not one S3 file, for example invocation logs.
    """
    if (training_uri is None) == (training_data_config is None):
        raise WorkshopError(
            "A job needs its training data given once.",
            "Pass either training_uri (an s3:// JSON Lines file) or training_data_config.",
        )
    family = models.family(base_model)
    if customization_type == models.REINFORCEMENT_FINE_TUNING:
        # Its settings are numbers inside rftConfig, beside the grader: see rft_config.
        if hyperparameters:
            raise WorkshopError(
                "A reinforcement fine-tuning job takes its hyperparameters in rftConfig.",
                "Pass customization_config=jobs.rft_config(base_model, grader_arn, "
                "hyperparameters) instead of hyperparameters=...",
            )
        if "rftConfig" not in (customization_config or {}):
            raise WorkshopError(
                "A reinforcement fine-tuning job needs a grader.",
                "Pass customization_config=jobs.rft_config(base_model, grader_arn, ...).",
            )
        hyper: dict[str, Any] = {}
    else:
        hyper = models.check_hyperparameters(base_model, hyperparameters or {}, customization_type)
    if customization_type not in family.customizations:
        raise WorkshopError(
            f"{family.name} does not support {customization_type}.",
            f"Pick a model that does; {family.name} supports {sorted(family.customizations)}.",
        )
    prefix = name_prefix or f"{family.key}-{key}"
    name = unique_name(prefix, state.workshop_id)
    body: dict[str, Any] = {
        "jobName": name,
        "customModelName": unique_name(f"{prefix}-model", state.workshop_id),
        "roleArn": role_arn,
        "clientRequestToken": name,
        "baseModelIdentifier": family.customization_id,
        "customizationType": customization_type,
        "trainingDataConfig": training_data_config or {"s3Uri": training_uri},
        "outputDataConfig": {"s3Uri": output_uri},
        "jobTags": resources.tags(state.workshop_id),
        "customModelTags": resources.tags(state.workshop_id),
    }
    if hyper:  # none for distillation, which takes none
        body["hyperParameters"] = hyper
    if customization_config:
        body["customizationConfig"] = customization_config
    # The KMS key and VPC that 00_setup.ipynb checked apply to every job of the workshop.
    protection = state.get("protection") or {}
    if protection.get("kms_key_arn"):
        body["customModelKmsKeyId"] = protection["kms_key_arn"]
    if protection.get("vpc_config"):
        body["vpcConfig"] = protection["vpc_config"]
    if validation_uri:
        body["validationDataConfig"] = {"validators": [{"s3Uri": validation_uri}]}
    return Request(key=key, body=body)


def start(
    job_request: Request | None = None,
    *,
    state: State,
    confirm_costs: bool = False,
    estimate: cost.Estimate | None = None,
    **fields: Any,
) -> Job:
    """Send ``job_request`` (or one built from ``fields`` by :func:`request`), or re-attach.

    A job recorded under the request's key that is still running or has completed is
    reused, so a re-run or a kernel restart never starts (and bills) a second job. A failed
    or stopped job is not reused, nor one that trained another base model, on other data or
    with other hyperparameters (the learner changed a parameter): a new one starts with a
    new name, and the old one stays recorded for cleanup.

    On AWS a new job starts only with ``confirm_costs=True`` (see :func:`utils.cost.confirm`);
    ``estimate`` is what the refusal shows. Re-attaching costs nothing and needs neither.
    """
    if job_request is None:
        job_request = request(state=state, **fields)
    elif fields:
        raise WorkshopError(
            f"start() got a request and also {sorted(fields)}.",
            "Put every field in jobs.request(...), then pass the request alone.",
        )
    key, body = job_request.key, job_request.body
    recorded = state.get(resources.pointer(Kind.JOB, key))
    if recorded:
        try:
            found: dict[str, Any] | None = describe(recorded["arn"])
        except WorkshopError:
            found = None
        if (
            found is not None
            and found["status"] in REUSABLE
            and _same_request(
                found,
                body["baseModelIdentifier"],
                body["trainingDataConfig"].get("s3Uri"),
                body.get("hyperParameters", {}),
                body.get("customizationConfig"),
            )
        ):
            return Job(key=key, reused=True, **recorded)
    cost.confirm(estimate or cost.Estimate(f"A {body['customizationType']} job"), confirm_costs)
    name, model_name, output_uri = (
        body["jobName"],
        body["customModelName"],
        body["outputDataConfig"]["s3Uri"],
    )
    arn = resources.create(
        state,
        Kind.JOB,
        name,
        lambda: clients.client("bedrock").create_model_customization_job(**body),
        arn=lambda answer: answer["jobArn"],
        status="InProgress",
        action=f"Creating job {name}",
        fixes=FIXES,
        key=key,
    )["jobArn"]
    entry = {"name": name, "arn": arn, "custom_model_name": model_name, "output_uri": output_uri}
    state.set(resources.pointer(Kind.JOB, key), entry)
    return Job(key=key, reused=False, **entry)


REQUEST_FIELDS = (
    "jobName",
    "customizationType",
    "customizationConfig",
    "baseModelArn",
    "hyperParameters",
    "trainingDataConfig",
    "validationDataConfig",
    "outputDataConfig",
    "roleArn",
    "outputModelName",
    "outputModelKmsKeyArn",
    "vpcConfig",
    "status",
)


def wait_for_model(job: Job, state: State, *, timeout: float = 6 * 3600) -> str:
    """Wait until the job ends (see :func:`wait`) and return the ARN of the model it made."""
    final = wait(job, state, timeout=timeout)
    arn = str(final["outputModelArn"])
    print(f"{final['status']}: custom model {arn}")
    return arn


def show_metrics(job: Job, state: State | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read the job's metrics (:func:`metrics`), plot them, and record the first and last losses.

    Returns the training and validation metrics; the losses go into the run summary when a
    ``state`` is given. The plot is a pyplot figure, which a notebook shows below the cell.
    """
    training, validation = metrics(job)
    plot_metrics(training, validation)
    if state is not None:
        state.record_result("losses", loss_summary(training, validation))
    return training, validation


def settings(job: Job) -> pd.Series:
    """What Bedrock recorded of the job's request, for display."""
    described = describe(job)
    # object, not Any: from Any values pandas-stubs cannot tell which Series it builds
    recorded: dict[str, object] = {k: described[k] for k in REQUEST_FIELDS if k in described}
    return pd.Series(recorded, name=job.name)


def wait(
    job: Job,
    state: State,
    *,
    timeout: float = 6 * 3600,
    interval: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Wait until the job ends; return its description, or explain why it failed or stopped."""
    final = wait_for(
        lambda: describe(job),
        status_key="status",
        terminal=TERMINAL,
        label=f"Job {job.name}",
        timeout=timeout,
        interval=interval or default_interval(60.0),
        progress=progress,
        on_timeout=(
            "The job keeps running (and billing) in Bedrock. Run this cell again to keep "
            "waiting: the notebook re-attaches to the same job. To stop it, run "
            "utils.jobs.stop(job) or 03_cleanup.ipynb."
        ),
    )
    status = final["status"]
    state.update_resource(Kind.JOB, job.name, arn=job.arn, status=status)
    state.record_result(
        f"job:{job.key}",
        {
            "name": job.name,
            "arn": job.arn,
            "status": status,
            "type": final.get("customizationType", models.FINE_TUNING),
        },
    )
    if status == "Completed":
        model_arn = final["outputModelArn"]
        state.add_resource(Kind.MODEL, model_arn, name=job.custom_model_name, status="Active")
        return final
    message = final.get("failureMessage") or "Bedrock gave no failure message."
    raise WorkshopError(
        f"Job {job.name} ended {status}: {message}",
        "Fix the cause named above (often the training data or the role's S3 access), then run "
        "the cell that starts the job again: a new job starts, as a failed one is not reused.",
    )


def stop(job: Job | str) -> None:
    """Stop a running job (no error if it already ended)."""
    ident = job.arn if isinstance(job, Job) else job
    try:
        clients.client("bedrock").stop_model_customization_job(jobIdentifier=ident)
    except ClientError as err:
        if err.response["Error"]["Code"] not in (
            "ValidationException",
            "ResourceNotFoundException",
        ):
            raise


def metrics(job: Job) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Training metrics per step and validation metrics (or None), read from the job's output."""
    bucket, prefix = s3.split_uri(job.output_uri)
    base = f"{prefix.rstrip('/')}/model-customization-job-{job.job_id}".lstrip("/")
    training_uri = s3.uri(bucket, f"{base}/{TRAINING_METRICS}")
    if not s3.exists(training_uri):
        raise WorkshopError(
            f"No training metrics at {training_uri}.",
            "Metrics appear once the job has Completed; wait for it first.",
        )
    training = s3.read_csv(training_uri)
    for layout in VALIDATION_METRICS:
        candidate = s3.uri(bucket, f"{base}/{layout}")
        if s3.exists(candidate):
            return training, s3.read_csv(candidate)
    print(
        f"No validation metrics under {s3.uri(bucket, base)}/ (looked for "
        f"{', '.join(VALIDATION_METRICS)}). Bedrock writes them only for jobs given "
        "validation data, and not for every model; only the training curve is shown."
    )
    return training, None


def loss_summary(
    training: pd.DataFrame, validation: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """First and last training loss and validation loss (None without validation passes).

    The first and last of each say in two numbers whether a run learned: both should fall.
    """
    has_validation = validation is not None and len(validation) > 0
    # index: has_validation implies validation is not None, which mypy cannot follow.
    val = validation["validation_loss"] if has_validation else None  # type: ignore[index]
    return {
        "training first": round(float(training["training_loss"].iloc[0]), 4),
        "training last": round(float(training["training_loss"].iloc[-1]), 4),
        "validation first": None if val is None else round(float(val.iloc[0]), 4),
        "validation last": None if val is None else round(float(val.iloc[-1]), 4),
    }


def plot_metrics(training: pd.DataFrame, validation: pd.DataFrame | None = None) -> Any:
    """Loss curves: training loss per step and, if present, validation loss per pass."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(training["step_number"], training["training_loss"], label="training loss", lw=1.5)
    if validation is not None and len(validation):
        ax.plot(
            validation["step_number"],
            validation["validation_loss"],
            "o-",
            label="validation loss",
            lw=2,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    has_validation = validation is not None and len(validation) > 0
    ax.set_title(
        "Training and validation loss"
        if has_validation
        else "Training loss (no validation metrics)"
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
