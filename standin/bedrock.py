"""The Bedrock control plane and runtime of the local stand-in.

Jobs really run: when a job's simulated duration has passed, the stand-in reads the
training (and validation) data from S3, fails the job the way Bedrock does when the
data is missing or malformed, otherwise trains a small local model
(:mod:`standin.learner`) on it, writes the measured losses as Bedrock's metrics
CSVs under the job's output prefix, and creates the custom model. Provisioned
throughputs serve what the custom model learned. Nothing here is a canned answer.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import functools
import io
import json
import logging
import os
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import StringShape

from standin import bodies, catalog, common, datarules, quotas
from standin.restjson import (
    Response,
    RestJsonService,
    ServiceError,
    conflict,
    error_response,
    not_found,
    validation_error,
)

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"  # moto's default account, so IAM and S3 ARNs agree
ACCOUNT_ENV = "WORKSHOP_STANDIN_ACCOUNT"
"""Which account the stand-in plays: ``established`` (the default) or ``new``."""
DATE_ENV = "WORKSHOP_STANDIN_DATE"
"""The day (ISO) whose model lifecycle the stand-in plays; today when unset."""
DEFAULT_JOB_SECONDS = 3.0
DEFAULT_PT_SECONDS = 1.0


def _cid(model: catalog.FoundationModel) -> str:
    """The id jobs name for a model (its customization id where it has one)."""
    return model.customization.customization_id if model.customization else model.model_id


class DataError(Exception):
    """Training data Bedrock would reject; the message becomes the job's failureMessage."""


@dataclass
class Job:
    """A model customization job and what it produced."""

    job_id: str
    arn: str
    name: str
    request: dict[str, Any]
    family: catalog.FoundationModel
    created: datetime
    due: float
    status: str = "InProgress"
    failure: str | None = None
    ended: datetime | None = None
    modified: datetime = field(default_factory=common.now)
    model_arn: str | None = None
    training_loss: float | None = None
    validation_losses: list[float] = field(default_factory=list)
    training: bool = False
    """A reinforcement job's training has started in its own thread (see ``_train_rft``)."""


@dataclass
class CustomModel:
    """A custom model created by a completed job."""

    arn: str
    name: str
    job: Job
    created: datetime
    artifact: dict[str, Any]


@dataclass
class Throughput:
    """A provisioned model throughput serving a base or custom model."""

    arn: str
    name: str
    model_arn: str
    foundation_arn: str
    units: int
    created: datetime
    due: float
    commitment: str | None
    status: str = "Creating"
    modified: datetime = field(default_factory=common.now)
    failure: str | None = None


@dataclass
class Deployment:
    """An on-demand custom model deployment."""

    arn: str
    name: str
    model_arn: str
    created: datetime
    due: float
    description: str | None
    status: str = "Creating"
    modified: datetime = field(default_factory=common.now)
    failure: str | None = None


class LocalBedrock:
    """State and behaviour of the stand-in's Bedrock; thread-safe."""

    def __init__(
        self,
        region: str = "us-east-1",
        job_seconds: float | None = None,
        pt_seconds: float | None = None,
        import_idle_seconds: float | None = None,
        import_load_seconds: float | None = None,
    ) -> None:
        from standin import imported

        self.region = region
        # Cold starts of imported models: the idle window after which a copy is dropped and
        # the least time a load lasts (constructor, else environment, else the defaults).
        self.import_idle_seconds = _setting(
            import_idle_seconds, imported.IDLE_ENV, catalog.IMPORT_IDLE_SECONDS
        )
        self.import_load_seconds = _setting(
            import_load_seconds, imported.LOAD_ENV, imported.DEFAULT_LOAD_SECONDS
        )
        self.job_seconds = DEFAULT_JOB_SECONDS if job_seconds is None else job_seconds
        self.pt_seconds = (
            min(DEFAULT_PT_SECONDS, self.job_seconds) if pt_seconds is None else pt_seconds
        )
        self.endpoint: str | None = None  # set once the server is bound
        self.ca_bundle: str | None = None  # the certificate to trust when it serves HTTPS
        self.account_id = ACCOUNT_ID
        from standin.faults import Faults

        self.faults = Faults()  # the server replaces it with the rules it was started with
        self.quotas = quotas.Quotas()
        self.account = catalog.ACCOUNTS["established"]
        self.day: dt.date | None = None  # None: today
        self.lock = threading.RLock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self.reset()
        control: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "ListFoundationModels": self.list_foundation_models,
            "GetFoundationModel": self.get_foundation_model,
            "GetFoundationModelAvailability": self.get_foundation_model_availability,
            "ListInferenceProfiles": self.list_inference_profiles,
            "GetInferenceProfile": self.get_inference_profile,
            "CreateModelCustomizationJob": self.create_job,
            "GetModelCustomizationJob": self.get_job,
            "ListModelCustomizationJobs": self.list_jobs,
            "StopModelCustomizationJob": self.stop_job,
            "GetCustomModel": self.get_custom_model,
            "ListCustomModels": self.list_custom_models,
            "DeleteCustomModel": self.delete_custom_model,
            "CreateProvisionedModelThroughput": self.create_pt,
            "GetProvisionedModelThroughput": self.get_pt,
            "ListProvisionedModelThroughputs": self.list_pts,
            "DeleteProvisionedModelThroughput": self.delete_pt,
            "CreateCustomModelDeployment": self.create_deployment,
            "GetCustomModelDeployment": self.get_deployment,
            "ListCustomModelDeployments": self.list_deployments,
            "DeleteCustomModelDeployment": self.delete_deployment,
            "Converse": self.converse_call,
            "ConverseStream": self.converse_stream,
            "InvokeModel": self.invoke_model,
            "InvokeModelWithResponseStream": self.invoke_model_stream,
            "CountTokens": self.count_tokens,
        }
        # Imported here: batch.py and logs.py build on this module's helpers.
        from standin.batch import BatchInference
        from standin.logs import DEFAULT_DELIVERY_SECONDS, InvocationLogging
        from standin.modelimport import ModelImport

        self.batch = BatchInference(self)
        control.update(self.batch.handlers())
        self.imports = ModelImport(self)
        control.update(self.imports.handlers())
        self.logs = InvocationLogging(self, min(DEFAULT_DELIVERY_SECONDS, self.job_seconds))
        control.update(self.logs.handlers())
        self.service = RestJsonService(["bedrock", "bedrock-runtime"], control)
        # The Lambda runner that grades REINFORCEMENT_FINE_TUNING jobs
        # (:class:`standin.lambdas.LocalLambda`); the server sets it, unit use goes without.
        self.lambdas: Any = None

    def reset(self) -> None:
        """Forget every job, model and throughput; account, day and quotas go back to their
        settings (``WORKSHOP_STANDIN_ACCOUNT``, ``WORKSHOP_STANDIN_DATE``)."""
        if hasattr(self, "quotas"):
            self.play(
                os.environ.get(ACCOUNT_ENV) or "established", os.environ.get(DATE_ENV) or None
            )
        with self.lock:
            self.jobs: dict[str, Job] = {}
            self.custom_models: dict[str, CustomModel] = {}
            self.throughputs: dict[str, Throughput] = {}
            self.deployments: dict[str, Deployment] = {}
            self.tokens: dict[str, str] = {}
            if hasattr(self, "batch"):
                self.batch.reset()
                self.logs.reset()
                self.imports.reset()

    def play(self, account: str = "established", day: str | dt.date | None = None) -> None:
        """Play a ``new`` or ``established`` account, on ``day`` (None: today).

        A new account has no model units for provisioned throughput and cannot use Legacy
        models; the day decides each model's lifecycle (see :mod:`standin.catalog`).
        """
        if account not in catalog.ACCOUNTS:
            raise ValueError(f"account must be one of {sorted(catalog.ACCOUNTS)}, not {account!r}")
        self.account = catalog.ACCOUNTS[account]
        self.day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        self.quotas.play(self.account.quotas)

    def today(self) -> dt.date:
        """The day the stand-in plays."""
        return self.day or datetime.now(UTC).date()

    def lifecycle(self, model: catalog.FoundationModel) -> str:
        """ACTIVE, LEGACY or EOL for ``model`` in this Region on the day played."""
        try:
            return model.status_on(self.region, self.today())
        except catalog.CatalogError:
            return catalog.EOL  # not offered here: as unusable as a retired model

    def _usable(self, model: catalog.FoundationModel, *, new_throughput: bool = False) -> None:
        """Refuse a model that is at end of life, or Legacy where Legacy does not serve.

        "Model lifecycle" (Amazon Bedrock user guide, read 2026-12-01): after EOL requests
        fail; new customers cannot use Legacy models; no new Provisioned Throughput can be
        created for a Legacy model.
        """
        status = self.lifecycle(model)
        if status == catalog.EOL:
            eol = catalog.MESSAGES["eol"]
            raise ServiceError(eol.code, f"{eol.text} ({model.model_id})", 404)
        if status == catalog.LEGACY and not self.account.legacy_access:
            raise ServiceError(
                "AccessDeniedException",
                f"{model.model_id} is a Legacy model, and Legacy models are not available to "
                "new customers. Use an active model.",
                403,
            )
        if status == catalog.LEGACY and new_throughput:
            raise validation_error(
                f"{model.model_id} is a Legacy model: no new Provisioned Throughput can be "
                "created for it. Use an active model."
            )

    # -- plumbing --------------------------------------------------------------------
    def arn(
        self, kind: str, rest: str, account: str = ACCOUNT_ID, region: str | None = None
    ) -> str:
        return f"arn:aws:bedrock:{region or self.region}:{account}:{kind}/{rest}"

    def _foundation_arn(self, model_id: str) -> str:
        return f"arn:aws:bedrock:{self.region}::foundation-model/{model_id}"

    def client(self, service: str) -> Any:
        """A client for the stand-in's own S3 or IAM (made once: client creation is slow)."""
        if self.endpoint is None:
            raise ServiceError("InternalServerException", "stand-in endpoint not set", 500)
        key = (service, self.region, self.endpoint)
        if key not in self._clients:
            self._clients[key] = boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}),
                verify=self.ca_bundle if self.ca_bundle else True,
            )
        return self._clients[key]

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        region: str | None = None,
    ) -> Response:
        """Serve one HTTP request (after advancing every job and throughput that is due).

        ARNs carry the region the request was signed for, as they would on AWS.
        """
        try:
            with self.lock:
                if region:
                    self.region = region
                self.advance()
            # The handler runs under the lock too; what it defers (a generation) runs after.
            return self.service.handle(method, path, query, headers, body, guard=self.lock)
        except Exception as exc:  # a stand-in bug must reach the caller, not a bare 500 page
            logger.exception("local stand-in failed on %s %s", method, path)
            return error_response(
                ServiceError("InternalServerException", f"local stand-in error: {exc!r}", 500)
            )

    def advance(self) -> None:
        """Move jobs and throughputs whose simulated time has passed to their next state."""
        now = time.monotonic()
        with self.lock:
            for job in list(self.jobs.values()):
                if job.status == "Stopping":
                    self._end(job, "Stopped")
                elif job.status == "InProgress" and now >= job.due:
                    self._finish(job)
            for pt in self.throughputs.values():
                if pt.status == "Creating" and now >= pt.due:
                    fault = self.faults.take("throughput")
                    pt.status, pt.failure = ("Failed", fault.text) if fault else ("InService", None)
                    pt.modified = common.now()
            for dep in self.deployments.values():
                if dep.status == "Creating" and now >= dep.due:
                    fault = self.faults.take("deployment")
                    dep.status, dep.failure = ("Failed", fault.text) if fault else ("Active", None)
                    dep.modified = common.now()
            self.batch.advance()
            self.imports.advance()

    def _end(self, job: Job, status: str, failure: str | None = None) -> None:
        job.status = status
        job.failure = failure
        job.ended = job.modified = common.now()

    # -- foundation models ------------------------------------------------------------
    def _summary(self, model: catalog.FoundationModel, model_id: str) -> dict[str, Any]:
        """A ``FoundationModelSummary`` of the model, or of its customization id."""
        custom = model.customization
        customizable = custom is not None and model_id == custom.customization_id
        if customizable:
            assert custom is not None
            supported = sorted(custom.types) if self.region in custom.regions else []
            inference = [catalog.PROVISIONED]
        else:
            supported = []
            inference = sorted(t for t in model.inference_types if t != catalog.PROVISIONED)
        lifecycle = model.lifecycle_in(self.region)
        status = self.lifecycle(model)
        life: dict[str, Any] = {"status": status}
        if lifecycle.since:
            life["legacyTime"] = datetime.fromisoformat(lifecycle.since).replace(tzinfo=UTC)
        if lifecycle.end_of_life:
            life["endOfLifeTime"] = datetime.fromisoformat(lifecycle.end_of_life).replace(
                tzinfo=UTC
            )
        # Only values botocore's model knows: the live API also answers INFERENCE_PROFILE,
        # VIDEO and REINFORCEMENT_FINE_TUNING here, which botocore 1.44.5's enums lack.
        return {
            "modelArn": self._foundation_arn(model_id),
            "modelId": model_id,
            "modelName": model.name,
            "providerName": model.provider,
            "inputModalities": _known_values("ModelModality", model.input_modalities),
            "outputModalities": _known_values("ModelModality", model.output_modalities),
            "responseStreamingSupported": True,
            "customizationsSupported": _known_values("ModelCustomization", supported),
            "inferenceTypesSupported": _known_values("InferenceType", inference),
            "modelLifecycle": life,
        }

    def _all_summaries(self) -> list[dict[str, Any]]:
        """Every model offered in this Region that has not reached end of life.

        A retired model is no longer listed (its GetFoundationModel fails), which is also
        why ``modelLifecycle.status`` only takes ACTIVE or LEGACY in botocore's model.
        """
        out = []
        for model in catalog.models_in(self.region):
            if self.lifecycle(model) == catalog.EOL:
                continue
            out.append(self._summary(model, model.model_id))
            if model.customization is not None:
                out.append(self._summary(model, model.customization.customization_id))
        return out

    def list_foundation_models(self, p: dict[str, Any]) -> dict[str, Any]:
        found = self._all_summaries()
        if "byCustomizationType" in p:
            found = [s for s in found if p["byCustomizationType"] in s["customizationsSupported"]]
        if "byProvider" in p:
            found = [s for s in found if s["providerName"].lower() == p["byProvider"].lower()]
        if "byInferenceType" in p:
            found = [s for s in found if p["byInferenceType"] in s["inferenceTypesSupported"]]
        if "byOutputModality" in p:
            found = [s for s in found if p["byOutputModality"] in s["outputModalities"]]
        return {"modelSummaries": found}

    def _known(self, ident: str) -> catalog.FoundationModel:
        """The catalog model of a model id or ARN offered here; ResourceNotFound otherwise."""
        wanted = urllib.parse.unquote(ident).split("foundation-model/")[-1]
        model = catalog.find(wanted)
        if model is None or catalog.profile(wanted) or self.region not in model.regions:
            raise not_found(f"The foundation model {wanted} does not exist in {self.region}.")
        return model

    def get_foundation_model(self, p: dict[str, Any]) -> dict[str, Any]:
        wanted = p["modelIdentifier"].split("foundation-model/")[-1]
        model = self._known(wanted)
        if self.lifecycle(model) == catalog.EOL:
            self._usable(model)
        return {"modelDetails": self._summary(model, wanted)}

    def get_foundation_model_availability(self, p: dict[str, Any]) -> dict[str, Any]:
        """Whether the account may use a model here: Legacy is closed to a new account."""
        wanted = urllib.parse.unquote(p["modelId"]).split("foundation-model/")[-1]
        model = self._known(wanted)
        status = self.lifecycle(model)
        if status == catalog.EOL:
            self._usable(model)
        open_to_us = status == catalog.ACTIVE or self.account.legacy_access
        return {
            "modelId": wanted,
            "agreementAvailability": {"status": "AVAILABLE" if open_to_us else "NOT_AVAILABLE"},
            "authorizationStatus": "AUTHORIZED" if open_to_us else "NOT_AUTHORIZED",
            "entitlementAvailability": "AVAILABLE" if open_to_us else "NOT_AVAILABLE",
            "regionAvailability": "AVAILABLE",
        }

    # -- inference profiles --------------------------------------------------------------
    def _profile_view(self, found: catalog.InferenceProfile) -> dict[str, Any]:
        arn = f"arn:aws:bedrock:{self.region}:{self.account_id}:inference-profile/"
        return {
            "inferenceProfileName": found.name,
            "description": f"Routes requests for {', '.join(found.model_ids)} across "
            f"{', '.join(found.regions)}.",
            "inferenceProfileArn": arn + found.profile_id,
            "models": [
                {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{m}"}
                for m in found.model_ids
                for r in found.regions
            ],
            "inferenceProfileId": found.profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }

    def _profiles_here(self) -> list[catalog.InferenceProfile]:
        return [
            found
            for found in catalog.INFERENCE_PROFILES
            if self.region in found.regions and all(self._offered(m) for m in found.model_ids)
        ]

    def _offered(self, model_id: str) -> bool:
        model = catalog.find(model_id)
        return model is not None and self.lifecycle(model) != catalog.EOL

    def list_inference_profiles(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("typeEquals") == "APPLICATION":
            return {"inferenceProfileSummaries": []}
        return common.listing(
            self._profiles_here(), p, "inferenceProfileSummaries", self._profile_view
        )

    def get_inference_profile(self, p: dict[str, Any]) -> dict[str, Any]:
        ident = urllib.parse.unquote(p["inferenceProfileIdentifier"])
        found = catalog.profile(ident)
        if found is None or found not in self._profiles_here():
            raise not_found(f"The inference profile {ident} does not exist in {self.region}.")
        return self._profile_view(found)

    # -- customization jobs ------------------------------------------------------------
    def _find_job(self, ident: str) -> Job:
        for job in self.jobs.values():
            if ident in (job.arn, job.name):
                return job
        raise not_found(f"Model customization job {ident} was not found.")

    def check_role(self, role_arn: str) -> None:
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self.client("iam").get_role(RoleName=name)["Role"]
        except ClientError:
            raise validation_error(
                f"Bedrock cannot assume the role {role_arn}: it does not exist."
            ) from None
        doc = role["AssumeRolePolicyDocument"]
        if isinstance(doc, str):
            doc = json.loads(urllib.parse.unquote(doc))
        statements = doc.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        trusted: set[str] = set()
        for st in statements:
            services = st.get("Principal", {}).get("Service", [])
            trusted.update([services] if isinstance(services, str) else services)
        if "bedrock.amazonaws.com" not in trusted:
            raise validation_error(
                f"Bedrock cannot assume the role {role_arn}: its trust policy does not allow "
                "the service principal bedrock.amazonaws.com."
            )

    def _check_protection(self, p: dict[str, Any]) -> None:
        """Refuse a KMS key or VPC subnets and security groups that do not exist."""
        if "customModelKmsKeyId" in p:
            try:
                key = self.client("kms").describe_key(KeyId=p["customModelKmsKeyId"])
            except ClientError:
                raise validation_error(
                    f"The KMS key {p['customModelKmsKeyId']} does not exist or is not accessible."
                ) from None
            if key["KeyMetadata"].get("KeyState") != "Enabled":
                raise validation_error(f"The KMS key {p['customModelKmsKeyId']} is not enabled.")
        if "vpcConfig" in p:
            ec2 = self.client("ec2")
            try:
                ec2.describe_subnets(SubnetIds=p["vpcConfig"]["subnetIds"])
                ec2.describe_security_groups(GroupIds=p["vpcConfig"]["securityGroupIds"])
            except ClientError as err:
                raise validation_error(
                    f"The VPC configuration is not valid: {err.response['Error'].get('Message')}"
                ) from None

    def create_job(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("clientRequestToken")
        if token and token in self.tokens:
            return {"jobArn": self.tokens[token]}
        base = p["baseModelIdentifier"].split("foundation-model/")[-1]
        fam = catalog.find(base)
        custom = fam.customization if fam else None
        if fam is None or custom is None or base != custom.customization_id:
            hint = f" Use {custom.customization_id}." if custom else ""
            raise validation_error(
                f"The base model {base} cannot be customized in {self.region}.{hint}"
            )
        self._usable(fam)
        ctype = p.get("customizationType", catalog.FINE_TUNING)
        if ctype not in custom.types:
            raise validation_error(f"{fam.name} does not support customization type {ctype}.")
        if self.region not in custom.regions:
            where = ", ".join(sorted(custom.regions))
            raise validation_error(
                f"{fam.name} cannot be customized in {self.region}; it can be in {where}."
            )
        if ctype == catalog.REINFORCEMENT_FINE_TUNING:
            self._check_rft_request(p, fam)
        if ctype == catalog.DISTILLATION:
            _distillation_settings(p, fam)
            if p.get("validationDataConfig", {}).get("validators"):
                raise validation_error(
                    "The local stand-in takes no validation data for DISTILLATION jobs; it "
                    "holds back every tenth prompt to measure the validation loss."
                )
        try:
            catalog.check_hyperparameters(fam.model_id, ctype, p.get("hyperParameters", {}))
        except catalog.CatalogError as err:
            raise validation_error(str(err)) from None
        if any(j.name == p["jobName"] for j in self.jobs.values()):
            raise conflict(f"A model customization job named {p['jobName']} already exists.")
        if any(m.name == p["customModelName"] for m in self.custom_models.values()):
            raise conflict(f"A custom model named {p['customModelName']} already exists.")
        logs_config = p["trainingDataConfig"].get("invocationLogsConfig")
        if logs_config is not None:
            if ctype != catalog.DISTILLATION:
                raise validation_error(
                    "invocationLogsConfig is only for DISTILLATION jobs; give "
                    "trainingDataConfig.s3Uri instead."
                )
            _check_logs_config(logs_config)
        else:
            common.split_s3(p["trainingDataConfig"].get("s3Uri", ""))
        common.split_s3(p["outputDataConfig"]["s3Uri"])
        self.check_role(p["roleArn"])
        self._check_protection(p)
        job_id = common.new_id()
        job = Job(
            job_id=job_id,
            arn=self.arn("model-customization-job", f"{custom.customization_id}/{job_id}"),
            name=p["jobName"],
            request=p,
            family=fam,
            created=common.now(),
            due=time.monotonic() + self.job_seconds,
        )
        self.jobs[job.arn] = job
        if token:
            self.tokens[token] = job.arn
        return {"jobArn": job.arn}

    def _check_rft_request(self, p: dict[str, Any], fam: catalog.FoundationModel) -> None:
        """Refuse a REINFORCEMENT_FINE_TUNING request without a usable grader or settings.

        botocore's bedrock model (CreateModelCustomizationJob, read 2026-12-02) puts RFT's
        settings in ``customizationConfig.rftConfig.hyperParameters`` (RFTHyperParameters,
        numbers) and points the top-level string ``hyperParameters`` at
        custom-models-hp.html, which lists none for RFT; refusing the top-level ones is the
        stand-in's reading, so a setting is never silently dropped.
        """
        if p.get("hyperParameters"):
            raise validation_error(
                "REINFORCEMENT_FINE_TUNING jobs take their hyperparameters in "
                "customizationConfig.rftConfig.hyperParameters, not in hyperParameters."
            )
        rft_config = p.get("customizationConfig", {}).get("rftConfig")
        if not rft_config:
            raise validation_error(
                "A REINFORCEMENT_FINE_TUNING job needs customizationConfig.rftConfig with "
                "graderConfig.lambdaGrader.lambdaArn."
            )
        arn = rft_config.get("graderConfig", {}).get("lambdaGrader", {}).get("lambdaArn", "")
        prefix = f"arn:aws:lambda:{self.region}:{self.account_id}:function:"
        if not arn.startswith(prefix) or not arn[len(prefix) :].split(":")[0]:
            raise validation_error(
                f"rftConfig.graderConfig.lambdaGrader.lambdaArn must be the ARN of a Lambda "
                f"function in this account and Region ({prefix}<name>); got {arn!r}."
            )
        try:
            catalog.rft_hyperparameters(fam.model_id, rft_config.get("hyperParameters", {}))
        except catalog.CatalogError as err:
            raise validation_error(str(err)) from None

    def _job_view(self, job: Job) -> dict[str, Any]:
        p = job.request
        phase = {
            "status": "Completed",
            "creationTime": job.created,
            "lastModifiedTime": job.modified,
        }
        training = dict(phase, status={"Completed": "Completed", "InProgress": "InProgress"}.get(
            job.status, "Failed" if job.status == "Failed" else "Stopped"))  # fmt: skip
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "outputModelName": p["customModelName"],
            "roleArn": p["roleArn"],
            "status": job.status,
            "creationTime": job.created,
            "lastModifiedTime": job.modified,
            "baseModelArn": self._foundation_arn(_cid(job.family)),
            "hyperParameters": catalog.check_hyperparameters(
                job.family.model_id,
                p.get("customizationType", catalog.FINE_TUNING),
                p.get("hyperParameters", {}),
            ),
            "trainingDataConfig": p["trainingDataConfig"],
            "validationDataConfig": p.get("validationDataConfig", {"validators": []}),
            "outputDataConfig": p["outputDataConfig"],
            "customizationType": p.get("customizationType", catalog.FINE_TUNING),
            "statusDetails": {
                "validationDetails": phase,
                "dataProcessingDetails": phase,
                "trainingDetails": training,
            },
        }
        for key in ("clientRequestToken", "vpcConfig", "customizationConfig"):
            if key in p:
                out[key] = p[key]
        if "customModelKmsKeyId" in p:
            out["outputModelKmsKeyArn"] = p["customModelKmsKeyId"]
        if job.failure:
            out["failureMessage"] = job.failure
        if job.ended:
            out["endTime"] = job.ended
        if job.model_arn:
            out["outputModelArn"] = job.model_arn
        if job.training_loss is not None:
            out["trainingMetrics"] = {"trainingLoss": job.training_loss}
        if job.validation_losses:
            out["validationMetrics"] = [{"validationLoss": v} for v in job.validation_losses]
        return out

    def get_job(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._job_view(self._find_job(p["jobIdentifier"]))

    def list_jobs(self, p: dict[str, Any]) -> dict[str, Any]:
        jobs = list(self.jobs.values())
        if "statusEquals" in p:
            jobs = [j for j in jobs if j.status == p["statusEquals"]]
        if "nameContains" in p:
            jobs = [j for j in jobs if p["nameContains"] in j.name]
        if "creationTimeAfter" in p:
            jobs = [j for j in jobs if j.created > p["creationTimeAfter"]]
        if "creationTimeBefore" in p:
            jobs = [j for j in jobs if j.created < p["creationTimeBefore"]]
        jobs.sort(key=lambda j: j.created, reverse=p.get("sortOrder", "Descending") == "Descending")

        def summary(job: Job) -> dict[str, Any]:
            s: dict[str, Any] = {
                "jobArn": job.arn,
                "baseModelArn": self._foundation_arn(_cid(job.family)),
                "jobName": job.name,
                "status": job.status,
                "lastModifiedTime": job.modified,
                "creationTime": job.created,
                "customModelName": job.request["customModelName"],
                "customizationType": job.request.get("customizationType", catalog.FINE_TUNING),
            }
            if job.ended:
                s["endTime"] = job.ended
            if job.model_arn:
                s["customModelArn"] = job.model_arn
            return s

        return common.listing(jobs, p, "modelCustomizationJobSummaries", summary)

    def stop_job(self, p: dict[str, Any]) -> dict[str, Any]:
        job = self._find_job(p["jobIdentifier"])
        if job.status != "InProgress":
            raise validation_error(f"Job {job.name} is {job.status}; only InProgress jobs stop.")
        job.status = "Stopping"
        job.modified = common.now()
        return {}

    def _pairs(self, job: Job, uri: str, split: str) -> list[tuple[Any, str]]:
        """Read and check a dataset as Bedrock does; the (prompt, completion) pairs it teaches.

        When the records show images, the pairs are (image bytes, completion) instead:
        the first image of each record's last user turn, fetched from S3.
        """
        body = self._validated(job, uri, split)
        records = [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
        pairs = [_pair(_data_format(job), record) for record in records]
        located = [_first_image(_data_format(job), record) for record in records]
        if not any(located):
            return pairs
        what = "training" if split == "train" else "validation"
        missing = sum(1 for image in located if image is None)
        if missing:
            raise DataError(
                f"{missing} of {len(records)} {what} records hold no image while the others "
                "do; the local stand-in learns to describe images only when every record "
                "shows one."
            )
        images = [image for image in located if image is not None]  # all: none is missing
        return [
            (self._training_image(image, what), completion)
            for image, (_, completion) in zip(images, pairs, strict=True)
        ]

    def _training_image(self, image: dict[str, Any], what: str) -> bytes:
        """The bytes of an image a training record names in S3, checked to be readable."""
        from standin import vision

        uri = image["source"]["s3Location"]["uri"]
        try:
            data = self._read_image(uri)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise DataError(
                f"Could not read the image {uri} named in the {what} data ({code}). Check that "
                "it was uploaded and that the job's service role may read it."
            ) from None
        try:
            vision.decode(data)
        except vision.ImageError as err:
            raise DataError(
                f"The image {uri} named in the {what} data is unusable: {err}"
            ) from None
        return data

    def _inputs(self, job: Job, uri: str, split: str) -> list[str]:
        """Read and check continued pre-training data; the ``input`` text of each record."""
        body = self._validated(job, uri, split)
        lines = body.decode("utf-8").splitlines()
        return [json.loads(line)["input"] for line in lines if line.strip()]

    def _read_data(self, uri: str, what: str) -> bytes:
        bucket, key = common.split_s3(uri)
        try:
            return bytes(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise DataError(
                f"Could not read the {what} data at {uri} ({code}). Check that the object exists "
                "and that the job's service role may read it."
            ) from None

    def _read_image(self, uri: str) -> bytes:
        bucket, key = common.split_s3(uri)
        return bytes(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def _validated(self, job: Job, uri: str, split: str) -> bytes:
        """The dataset at ``uri``, after the checks Bedrock makes when the job reads it.

        Limits that span both files are checked with the other file's record count.
        """
        what = "training" if split == "train" else "validation"
        body = self._read_data(uri, what)
        validators = job.request.get("validationDataConfig", {}).get("validators", [])
        other_uri = (
            (validators[0]["s3Uri"] if validators else None)
            if split == "train"
            else job.request["trainingDataConfig"].get("s3Uri")
        )
        other = None
        if other_uri:
            other_what = "validation" if split == "train" else "training"
            other_body = self._read_data(other_uri, other_what)
            other = sum(1 for line in other_body.splitlines() if line.strip())
        verdict = datarules.check_dataset(
            body,
            _rules(job),
            split,
            other_split_records=other,
            read_object=self._read_image,
        )
        if not verdict.valid:
            raise DataError(f"The {what} data at {uri} failed validation: {verdict.summary()}")
        return body

    def _prompts(self, job: Job, uri: str) -> list[tuple[str, str | None, str | None]]:
        """Read and check distillation prompts: (prompt, system, given answer or None)."""
        body = self._validated(job, uri, "train")
        prompts = []
        for line in body.decode("utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                messages = record["messages"]
                if messages[0]["role"] != "user":
                    continue
                prompt = common.content_text(messages[0]["content"])
                system = "\n".join(b["text"] for b in record.get("system", [])) or None
                answer = common.content_text(messages[1]["content"]) if len(messages) > 1 else None
            except (ValueError, KeyError, IndexError, TypeError):
                continue  # an invalid record; the validator already counted it
            prompts.append((prompt, system, answer))
        return prompts

    def _distil(self, job: Job) -> list[tuple[str, str]]:
        """The (prompt, answer) pairs the student learns: the teacher answers each prompt.

        Prompts come from a JSON Lines file or from invocation logs; logged answers are
        used as they are when ``usePromptResponse`` is set.
        """
        from standin.logs import LogsError

        teacher, max_tokens = _distillation_settings(job.request, job.family)
        _, generate = self.resolve(teacher, internal=True)
        data = job.request["trainingDataConfig"]
        if "invocationLogsConfig" in data:
            logs_config = data["invocationLogsConfig"]
            try:
                logged = self.logs.prompts(logs_config, teacher)
            except LogsError as err:
                raise DataError(str(err)) from None
            keep = bool(logs_config.get("usePromptResponse", False))
            prompts = [(e.prompt, e.system, e.answer if keep else None) for e in logged]
        else:
            prompts = self._prompts(job, data["s3Uri"])
        return [
            (prompt, answer if answer else generate(prompt, system, max_tokens))
            for prompt, system, answer in prompts
        ]

    def _finish_distillation(self, job: Job) -> Any:
        """Distil: ask the teacher, hold back every tenth pair, fine-tune the student."""
        from standin import learner

        pairs = self._distil(job)
        train = [pair for i, pair in enumerate(pairs) if i % 10 != 9]
        held_out = [pair for i, pair in enumerate(pairs) if i % 10 == 9]
        hyper = _learner_settings(job)
        try:
            run = learner.fine_tune(
                train, held_out or None, hyper, base_model_id=job.family.model_id
            )
        except ValueError as err:
            raise DataError(f"Training could not start: {err}") from None
        self._write_metrics(job, run.step_metrics, run.validation_metrics)
        return run

    def _rft_records(self, job: Job, uri: str, split: str) -> list[dict[str, Any]]:
        """RFT records (chat ``messages`` plus a ``reference_answer``), checked as Bedrock does.

        The checks are :mod:`standin.datarules`' ``rft-prompts`` rules, record count included;
        a dataset that breaks them fails the job naming the problem and the line.
        """
        body = self._validated(job, uri, split)
        return [json.loads(line) for line in body.split(b"\n") if line.strip()]

    def _train_rft(self, job: Job, region: str) -> None:
        """Train a reinforcement job without the lock, then end it under the lock.

        The grader runs as a Lambda function, and a model-as-judge grader calls Bedrock's
        runtime here: were the lock held while it ran, that call would wait for the job and
        the job for the call. A job stopped (or forgotten by a reset) meanwhile stays so.
        """
        failure = None
        try:
            run = self._finish_rft(job, region)
        except DataError as err:
            run, failure = None, str(err)
        except Exception as exc:  # a stand-in bug fails the job visibly, never hangs it
            logger.exception("local stand-in failed training %s", job.name)
            run, failure = None, f"local stand-in error: {exc!r}"
        with self.lock:
            if self.jobs.get(job.arn) is not job or job.status != "InProgress":
                return
            if failure is not None:
                self._end(job, "Failed", failure)
                return
            self._complete(job, run)

    def _finish_rft(self, job: Job, region: str) -> Any:
        """Learn from the job's grader Lambda (:mod:`standin.rft`) and write reward metrics."""
        from standin import rft, rolepolicy

        p = job.request
        rft_config = p["customizationConfig"]["rftConfig"]
        lambda_arn = rft_config["graderConfig"]["lambdaGrader"]["lambdaArn"]
        if self.lambdas is None:
            raise DataError(
                "This stand-in has no Lambda runner, so it cannot call the grader "
                f"{lambda_arn}; run the stand-in server (standin.StandIn) for RFT jobs."
            )
        train = self._rft_records(job, p["trainingDataConfig"]["s3Uri"], "train")
        validators = p.get("validationDataConfig", {}).get("validators", [])
        validation = (
            self._rft_records(job, validators[0]["s3Uri"], "validation") if validators else None
        )
        role = p["roleArn"].rsplit("/", 1)[-1]
        documents = rolepolicy.role_policies(self.client("iam"), role)
        if not rolepolicy.allows(documents, "lambda:InvokeFunction", lambda_arn, {}):
            raise DataError(
                f"The service role {p['roleArn']} is not allowed lambda:InvokeFunction on "
                f"{lambda_arn}, so Bedrock cannot call the grader. Give the role "
                "lambda:InvokeFunction on the function."
            )

        def grade(samples: list[dict[str, Any]]) -> list[float]:
            from standin.lambdas import LambdaError

            try:
                result = self.lambdas.invoke(
                    lambda_arn, json.dumps(samples).encode(), region=region
                )
            except LambdaError as err:
                raise rft.GraderError(f"Could not call the grader {lambda_arn}: {err}") from None
            if result.function_error:
                try:
                    detail = result.json()
                except ValueError:
                    detail = {}
                detail = detail if isinstance(detail, dict) else {}
                raise rft.GraderError(
                    f"The grader {lambda_arn} failed ({result.function_error}): "
                    f"{detail.get('errorType', 'Unknown')}: {detail.get('errorMessage', '')}"
                )
            try:
                answer = result.json()
            except ValueError:
                raise rft.GraderError(f"The grader {lambda_arn} did not answer JSON.") from None
            return rft.check_response(samples, answer)

        hyper = catalog.rft_hyperparameters(
            job.family.model_id, rft_config.get("hyperParameters", {})
        )
        try:
            # Seeded from the job's name: the same request learns the same policy again.
            run = rft.train(
                train,
                validation,
                hyper,
                grade,
                seed=zlib.crc32(job.name.encode()),
                base_model_id=job.family.model_id,
            )
        except rft.GraderError as err:
            raise DataError(str(err)) from None
        self._write_rft_metrics(job, run)
        return run

    def _write_rft_metrics(self, job: Job, run: Any) -> None:
        """Reward metrics under the job's output prefix.

        Bedrock's metrics layout for RFT jobs was not found in the AWS docs (searched
        2026-12-02); the stand-in's own follows the fine-tuning layout with reward columns.
        """
        self._write_files(
            job,
            {
                "training_artifacts/step_wise_training_metrics.csv": (
                    ["step_number", "epoch_number", "train_reward_mean", "train_reward_std"],
                    run.train_rows,
                ),
                "validation_artifacts/validation_metrics.csv": (
                    ["step_number", "epoch_number", "validation_reward_mean"],
                    run.validation_rows,
                ),
            },
        )

    def _finish(self, job: Job) -> None:
        from standin import learner  # imported late: numpy work only when a job ends

        fault = self.faults.take("job")
        if fault is not None:
            self._end(job, "Failed", fault.text)
            return
        p = job.request
        refused = self._vpc_refusal(job)
        if refused:
            self._end(job, "Failed", refused)
            return
        if p.get("customizationType") == catalog.REINFORCEMENT_FINE_TUNING:
            if not job.training:
                job.training = True
                # Outside the lock: the grader may call this stand-in back (a model as judge).
                threading.Thread(
                    target=self._train_rft,
                    args=(job, self.region),
                    name=f"standin-rft-{job.job_id}",
                    daemon=True,
                ).start()
            return
        if p.get("customizationType") == catalog.DISTILLATION:
            try:
                run = self._finish_distillation(job)
            except DataError as err:
                self._end(job, "Failed", str(err))
                return
            self._complete(job, run)
            return
        pretraining = p.get("customizationType") == catalog.CONTINUED_PRE_TRAINING
        read: Callable[[Job, str, str], list[Any]] = self._inputs if pretraining else self._pairs
        train_on: Callable[..., learner.TrainingRun] = (
            learner.continue_pretraining if pretraining else learner.fine_tune
        )
        try:
            train = read(job, p["trainingDataConfig"]["s3Uri"], "train")
            validators = p.get("validationDataConfig", {}).get("validators", [])
            validation = read(job, validators[0]["s3Uri"], "validation") if validators else None
            if not pretraining and train and isinstance(train[0][0], bytes):
                train_on = self._image_learner(validation)
            hyper = _learner_settings(job)
            try:
                run = train_on(train, validation, hyper, base_model_id=job.family.model_id)
            except ValueError as err:
                raise DataError(f"Training could not start: {err}") from None
            self._write_metrics(job, run.step_metrics, run.validation_metrics)
        except DataError as err:
            self._end(job, "Failed", str(err))
            return
        self._complete(job, run)

    def _vpc_refusal(self, job: Job) -> str | None:
        """Why a job in a VPC cannot start: its role may not make and tag network interfaces.

        "Protect your model customization jobs using a VPC" (Amazon Bedrock user guide, read
        2026-12-01) has the role create network interfaces in the job's subnets and tag them,
        ``ec2:CreateTags`` on ``network-interface/*`` under the condition ``ec2:CreateAction =
        CreateNetworkInterface``; aws-cdk's BedrockCreateModelCustomizationJob grants the same.
        """
        from standin import rolepolicy

        vpc = job.request.get("vpcConfig")
        if not vpc:
            return None
        role = job.request["roleArn"].rsplit("/", 1)[-1]
        documents = rolepolicy.role_policies(self.client("iam"), role)
        prefix = f"arn:aws:ec2:{self.region}:{self.account_id}"
        needed = [
            ("ec2:CreateNetworkInterface", f"{prefix}:subnet/{vpc['subnetIds'][0]}", {}),
            ("ec2:CreateNetworkInterface", f"{prefix}:network-interface/*", {}),
            (
                "ec2:CreateTags",
                f"{prefix}:network-interface/*",
                {"ec2:CreateAction": "CreateNetworkInterface"},
            ),
        ]
        for action, resource, context in needed:
            if not rolepolicy.allows(documents, action, resource, context):
                return (
                    f"Amazon Bedrock could not set up the job in your VPC: the service role "
                    f"{job.request['roleArn']} is not allowed {action} on {resource}. Give the "
                    "role ec2:CreateNetworkInterface on the job's subnets, security groups and "
                    "network interfaces, and ec2:CreateTags on network-interface/* with the "
                    "condition ec2:CreateAction = CreateNetworkInterface."
                )
        return None

    @staticmethod
    def _image_learner(validation: list[tuple[Any, str]] | None) -> Callable[..., Any]:
        """The captioner's training function, once the validation data shows images too."""
        from standin import vision

        if validation and not isinstance(validation[0][0], bytes):
            raise DataError(
                "The training records show images but the validation records do not; give "
                "both files the same kind of records."
            )
        return vision.fine_tune

    def _complete(self, job: Job, run: Any) -> None:
        """Create the custom model a finished run produced and end the job Completed."""
        p = job.request
        model_id = common.new_id()
        model = CustomModel(
            # The job's own Region: a job ending in a thread has no request to take it from.
            arn=self.arn(
                "custom-model", f"{_cid(job.family)}/{model_id}", region=job.arn.split(":")[3]
            ),
            name=p["customModelName"],
            job=job,
            created=common.now(),
            artifact=run.artifact,
        )
        self.custom_models[model.arn] = model
        job.model_arn = model.arn
        if run.step_metrics:
            job.training_loss = float(run.step_metrics[-1]["training_loss"])
        job.validation_losses = [float(v["validation_loss"]) for v in run.validation_metrics]
        self._end(job, "Completed")

    def _write_metrics(
        self, job: Job, steps: list[dict[str, Any]], validation: list[dict[str, Any]]
    ) -> None:
        files = {
            "training_artifacts/step_wise_training_metrics.csv": (
                ["step_number", "epoch_number", "training_loss", "perplexity"],
                steps,
            )
        }
        if validation:
            # The layout "Analyze the results of a model customization job" documents
            # (Amazon Bedrock user guide, read 2026-12-01).
            files["validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"] = (
                ["step_number", "epoch_number", "validation_loss", "validation_perplexity"],
                validation,
            )
        self._write_files(job, files)

    def _write_files(
        self, job: Job, files: dict[str, tuple[list[str], list[dict[str, Any]]]]
    ) -> None:
        """CSV files under the job's output prefix (names relative to it)."""
        bucket, prefix = common.split_s3(job.request["outputDataConfig"]["s3Uri"])
        base = f"{prefix.rstrip('/')}/model-customization-job-{job.job_id}".lstrip("/")
        s3 = self.client("s3")
        for name, (columns, rows) in files.items():
            key = f"{base}/{name}"
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue().encode())
            except ClientError as err:
                code = err.response["Error"]["Code"]
                raise DataError(
                    f"Could not write the job's output to s3://{bucket}/{key} ({code}). Check "
                    "that the output bucket exists and the service role may write to it."
                ) from None

    # -- custom models -------------------------------------------------------------------
    def _find_model(self, ident: str) -> CustomModel:
        for model in self.custom_models.values():
            if ident in (model.arn, model.name):
                return model
        raise not_found(f"Custom model {ident} was not found.")

    def get_custom_model(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._find_model(p["modelIdentifier"])
        job = self._job_view(m.job)
        out = {
            "modelArn": m.arn,
            "modelName": m.name,
            "jobName": m.job.name,
            "jobArn": m.job.arn,
            "baseModelArn": job["baseModelArn"],
            "customizationType": job["customizationType"],
            "hyperParameters": job["hyperParameters"],
            "trainingDataConfig": job["trainingDataConfig"],
            "validationDataConfig": job["validationDataConfig"],
            "outputDataConfig": job["outputDataConfig"],
            "creationTime": m.created,
            "modelStatus": "Active",
        }
        for key in ("trainingMetrics", "validationMetrics", "customizationConfig"):
            if key in job:
                out[key] = job[key]
        return out

    def list_custom_models(self, p: dict[str, Any]) -> dict[str, Any]:
        found = list(self.custom_models.values())
        if "nameContains" in p:
            found = [m for m in found if p["nameContains"] in m.name]
        if "baseModelArnEquals" in p:
            found = [
                m
                for m in found
                if self._foundation_arn(_cid(m.job.family)) == p["baseModelArnEquals"]
            ]
        found.sort(
            key=lambda m: m.created, reverse=p.get("sortOrder", "Descending") == "Descending"
        )
        return common.listing(
            found,
            p,
            "modelSummaries",
            lambda m: {
                "modelArn": m.arn,
                "modelName": m.name,
                "creationTime": m.created,
                "baseModelArn": self._foundation_arn(_cid(m.job.family)),
                "baseModelName": m.job.family.name,
                "customizationType": m.job.request.get("customizationType", catalog.FINE_TUNING),
                "ownerAccountId": ACCOUNT_ID,
                "modelStatus": "Active",
            },
        )

    def delete_custom_model(self, p: dict[str, Any]) -> dict[str, Any]:
        model = self._find_model(p["modelIdentifier"])
        users = [pt.name for pt in self.throughputs.values() if pt.model_arn == model.arn]
        users += [d.name for d in self.deployments.values() if d.model_arn == model.arn]
        if users:
            raise conflict(
                f"Custom model {model.name} is served by {users[0]}; delete that provisioned "
                "throughput or deployment first."
            )
        del self.custom_models[model.arn]
        return {}

    # -- provisioned throughput ----------------------------------------------------------
    def _find_pt(self, ident: str) -> Throughput:
        for pt in self.throughputs.values():
            if ident in (pt.arn, pt.name):
                return pt
        raise not_found(f"Provisioned model throughput {ident} was not found.")

    def create_pt(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("clientRequestToken")
        if token and token in self.tokens:
            return {"provisionedModelArn": self.tokens[token]}
        if any(pt.name == p["provisionedModelName"] for pt in self.throughputs.values()):
            raise validation_error(
                f"A provisioned model throughput named {p['provisionedModelName']} already exists."
            )
        ident = p["modelId"]
        try:
            model = self._find_model(ident)
            model_arn = model.arn
            foundation = self._foundation_arn(_cid(model.job.family))
            base = model.job.family
        except ServiceError:
            found = catalog.find(ident.split("foundation-model/")[-1])
            if found is None:
                raise not_found(f"Model {ident} was not found.") from None
            base = found
            model_arn = foundation = self._foundation_arn(_cid(found))
        self._usable(base, new_throughput=True)
        if not p.get("commitmentDuration"):
            self._check_no_commitment_units(model_arn, p["modelUnits"])
        pt_id = common.new_id()
        pt = Throughput(
            arn=self.arn("provisioned-model", pt_id),
            name=p["provisionedModelName"],
            model_arn=model_arn,
            foundation_arn=foundation,
            units=p["modelUnits"],
            created=common.now(),
            due=time.monotonic() + self.pt_seconds,
            commitment=p.get("commitmentDuration"),
        )
        self.throughputs[pt.arn] = pt
        if token:
            self.tokens[token] = pt.arn
        return {"provisionedModelArn": pt.arn}

    def _check_no_commitment_units(self, model_arn: str, units: int) -> None:
        """Refuse units beyond the account's no-commitment quota, as Bedrock does."""
        custom = "custom-model/" in model_arn
        code = quotas.CUSTOM_UNITS if custom else quotas.BASE_UNITS
        allowed = self.quotas.value(code)
        in_use = sum(
            pt.units
            for pt in self.throughputs.values()
            if not pt.commitment
            and pt.status != "Failed"  # a failed one serves nothing, so holds no units
            and ("custom-model/" in pt.model_arn) == custom
        )
        if allowed == 0:
            # The wording Bedrock uses for an account without units (catalog.MESSAGES).
            none = catalog.MESSAGES["no_model_units"]
            raise ServiceError(
                none.code,
                none.text.format(model_id=model_arn.rsplit("/", 1)[-1])
                + f" Request model units first (Service Quotas code {code}).",
                400,
            )
        if in_use + units > allowed:
            kind = "custom" if custom else "base"
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"{units} no-commitment model unit(s) asked for, but the account has "
                f"{allowed:g} for {kind} models and {in_use} in use (quota {code}).",
                400,
            )

    def _pt_view(self, pt: Throughput) -> dict[str, Any]:
        out: dict[str, Any] = {
            "modelUnits": pt.units,
            "desiredModelUnits": pt.units,
            "provisionedModelName": pt.name,
            "provisionedModelArn": pt.arn,
            "modelArn": pt.model_arn,
            "desiredModelArn": pt.model_arn,
            "foundationModelArn": pt.foundation_arn,
            "status": pt.status,
            "creationTime": pt.created,
            "lastModifiedTime": pt.modified,
        }
        if pt.commitment:
            out["commitmentDuration"] = pt.commitment
        if pt.failure:
            out["failureMessage"] = pt.failure
        return out

    def get_pt(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._pt_view(self._find_pt(p["provisionedModelId"]))

    def list_pts(self, p: dict[str, Any]) -> dict[str, Any]:
        found = list(self.throughputs.values())
        if "statusEquals" in p:
            found = [pt for pt in found if pt.status == p["statusEquals"]]
        if "nameContains" in p:
            found = [pt for pt in found if p["nameContains"] in pt.name]
        if "modelArnEquals" in p:
            found = [pt for pt in found if pt.model_arn == p["modelArnEquals"]]
        # Summaries carry no failureMessage; get_provisioned_model_throughput does.
        return common.listing(
            found,
            p,
            "provisionedModelSummaries",
            lambda pt: {k: v for k, v in self._pt_view(pt).items() if k != "failureMessage"},
        )

    def delete_pt(self, p: dict[str, Any]) -> dict[str, Any]:
        pt = self._find_pt(p["provisionedModelId"])
        del self.throughputs[pt.arn]
        return {}

    # -- on-demand custom model deployments ------------------------------------------
    def _find_deployment(self, ident: str) -> Deployment:
        for dep in self.deployments.values():
            if ident in (dep.arn, dep.name):
                return dep
        raise not_found(f"Custom model deployment {ident} was not found.")

    def create_deployment(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("clientRequestToken")
        if token and token in self.tokens:
            return {"customModelDeploymentArn": self.tokens[token]}
        model = self._find_model(p["modelArn"])
        family = model.job.family
        self._usable(family)
        if catalog.ON_DEMAND_DEPLOYMENT not in family.custom_serving:
            raise validation_error(
                f"Custom models of {family.name} cannot be deployed on demand; create a "
                "provisioned throughput instead."
            )
        if any(d.name == p["modelDeploymentName"] for d in self.deployments.values()):
            raise validation_error(
                f"A custom model deployment named {p['modelDeploymentName']} already exists."
            )
        dep = Deployment(
            arn=self.arn("custom-model-deployment", common.new_id()),
            name=p["modelDeploymentName"],
            model_arn=model.arn,
            created=common.now(),
            due=time.monotonic() + self.pt_seconds,
            description=p.get("description"),
        )
        self.deployments[dep.arn] = dep
        if token:
            self.tokens[token] = dep.arn
        return {"customModelDeploymentArn": dep.arn}

    def get_deployment(self, p: dict[str, Any]) -> dict[str, Any]:
        dep = self._find_deployment(p["customModelDeploymentIdentifier"])
        out: dict[str, Any] = {
            "customModelDeploymentArn": dep.arn,
            "modelDeploymentName": dep.name,
            "modelArn": dep.model_arn,
            "createdAt": dep.created,
            "status": dep.status,
            "lastUpdatedAt": dep.modified,
        }
        if dep.description:
            out["description"] = dep.description
        if dep.failure:
            out["failureMessage"] = dep.failure
        return out

    def list_deployments(self, p: dict[str, Any]) -> dict[str, Any]:
        found = list(self.deployments.values())
        if "statusEquals" in p:
            found = [d for d in found if d.status == p["statusEquals"]]
        if "nameContains" in p:
            found = [d for d in found if p["nameContains"] in d.name]
        if "modelArnEquals" in p:
            found = [d for d in found if d.model_arn == p["modelArnEquals"]]
        return common.listing(
            found,
            p,
            "modelDeploymentSummaries",
            lambda d: {
                "customModelDeploymentArn": d.arn,
                "customModelDeploymentName": d.name,
                "modelArn": d.model_arn,
                "createdAt": d.created,
                "status": d.status,
                "lastUpdatedAt": d.modified,
            },
        )

    def delete_deployment(self, p: dict[str, Any]) -> dict[str, Any]:
        dep = self._find_deployment(p["customModelDeploymentIdentifier"])
        del self.deployments[dep.arn]
        return {}

    # -- runtime ----------------------------------------------------------------------
    def resolve(self, model_id: str, internal: bool = False) -> tuple[str, Callable[..., str]]:
        """A description and a ``generate(prompt, system, max_tokens)`` for a runtime model id.

        ``generate`` also takes ``images=[...]`` (encoded images shown with the prompt).
        ``internal`` is for Bedrock's own calls (a distillation teacher, a batch job), which
        need no inference profile. A custom model stops answering when its base model
        reaches end of life (the stand-in's reading: it runs on the base model's weights).
        """
        ident = urllib.parse.unquote(model_id)
        if self.imports.is_imported(ident):
            imported = self.imports.find_model(ident)  # ResourceNotFound once deleted
            raise validation_error(
                f"The local stand-in runs the imported model {imported.name} through "
                "InvokeModel, InvokeModelWithResponseStream, Converse and ConverseStream only."
            )
        if ":custom-model-deployment/" in ident or ident in {
            d.name for d in self.deployments.values()
        }:
            dep = self._find_deployment(ident)
            if dep.status != "Active":
                raise ServiceError(
                    "ModelNotReadyException",
                    f"Deployment {dep.name} is {dep.status}; wait until it is Active.",
                    429,
                )
            model = self.custom_models[dep.model_arn]
            self._usable(model.job.family)
            return f"custom model {model.name}", _custom_answerer(model.artifact)
        if ":provisioned-model/" in ident or ident in {pt.name for pt in self.throughputs.values()}:
            pt = self._find_pt(ident)
            if pt.status != "InService":
                raise ServiceError(
                    "ModelNotReadyException",
                    f"Provisioned throughput {pt.name} is {pt.status}; wait until it is InService.",
                    429,
                )
            if pt.model_arn in self.custom_models:
                model = self.custom_models[pt.model_arn]
                self._usable(model.job.family)
                return f"custom model {model.name}", _custom_answerer(model.artifact)
            base = catalog.find(pt.foundation_arn.split("foundation-model/")[-1])
            assert base is not None  # create_pt accepted only catalog models
            self._usable(base)
            return f"base model {base.model_id}", _base_answerer(base.model_id)
        if ":custom-model/" in ident or ident in {m.name for m in self.custom_models.values()}:
            model = self._find_model(ident)
            raise validation_error(
                f"Custom model {model.name} cannot be invoked by its own ARN; create a "
                "provisioned throughput or a custom model deployment and invoke that ARN."
            )
        fam = self._runtime_model(ident, internal)
        return f"base model {fam.model_id}", _base_answerer(fam.model_id)

    def _runtime_model(self, ident: str, internal: bool) -> catalog.FoundationModel:
        """The base model a runtime id names, once Bedrock's on-demand rules allow the call.

        Through an inference profile: the profile must route from this Region. By the bare
        id: where the model is on demand only through a profile, Bedrock refuses it with a
        ValidationException (langchain-ai/langchain-aws#258).
        """
        bare = ident.split("foundation-model/")[-1]
        found = catalog.profile(bare)
        if found is not None:
            if found not in self._profiles_here():
                raise not_found(f"The inference profile {bare} does not exist in {self.region}.")
            model = catalog.find(found.model_ids[0])
            assert model is not None
            self._usable(model)
            return model
        model = catalog.find(bare)
        if model is None or (model.customization and bare == model.customization.customization_id):
            raise validation_error(f"The provided model identifier {ident} is invalid.")
        if self.region not in model.regions:
            raise not_found(f"The model {bare} is not offered in {self.region}.")
        self._usable(model)
        if not internal and model.needs_profile(self.region):
            raise validation_error(catalog.MESSAGES["needs_profile"].text.format(model_id=bare))
        return model

    def family_of(self, model_id: str) -> catalog.FoundationModel | None:
        """The base family behind a runtime model id, throughput or deployment (None: unknown)."""
        ident = urllib.parse.unquote(model_id)
        for dep in self.deployments.values():
            if ident in (dep.arn, dep.name):
                return self.custom_models[dep.model_arn].job.family
        for pt in self.throughputs.values():
            if ident in (pt.arn, pt.name):
                custom = self.custom_models.get(pt.model_arn)
                if custom is not None:
                    return custom.job.family
                ident = pt.foundation_arn
                break
        return catalog.find(ident.split("foundation-model/")[-1])

    def _imported(self, model_id: str) -> Any:
        """The imported model a runtime id names, or None when it names none."""
        ident = urllib.parse.unquote(model_id)
        return self.imports.find_model(ident) if self.imports.is_imported(ident) else None

    def converse_stream(self, p: dict[str, Any]) -> Any:
        """ConverseStream: imported models only (the local models answer whole)."""
        from standin import imported

        model = self._imported(p["modelId"])
        if model is None:
            raise validation_error(
                "The local stand-in streams answers of imported models only; call Converse."
            )
        return imported.converse(self, model, p, stream=True)

    def invoke_model_stream(self, p: dict[str, Any]) -> Any:
        """InvokeModelWithResponseStream: imported models only."""
        from standin import imported

        model = self._imported(p["modelId"])
        if model is None:
            raise validation_error(
                "The local stand-in streams answers of imported models only; call InvokeModel."
            )
        return imported.invoke(self, model, p, stream=True)

    def converse_call(self, p: dict[str, Any]) -> Any:
        """Converse as the runtime serves it: an imported model's answer comes later."""
        model = self._imported(p["modelId"])
        if model is not None:
            from standin import imported

            return imported.converse(self, model, p, stream=False)
        return self.converse(p)

    def converse(self, p: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        _, generate = self.resolve(p["modelId"])
        fam = self.family_of(p["modelId"])
        if fam is not None and not fam.converse_system and p.get("system"):
            raise validation_error(f"{fam.name} does not support system messages in Converse.")
        messages = p.get("messages") or []
        if not messages or messages[-1]["role"] != "user":
            raise validation_error("A conversation must end with a user message.")
        prompt = common.content_text(messages[-1]["content"])
        system = "\n".join(s["text"] for s in p.get("system", []) if "text" in s) or None
        max_tokens = int(p.get("inferenceConfig", {}).get("maxTokens", 512))
        images = self._request_images(messages[-1]["content"])
        if images:
            text = generate(prompt, system, max_tokens, images=images)
        else:
            text = generate(prompt, system, max_tokens)
        out_tokens = len(text.split())
        in_tokens = len(prompt.split()) + len((system or "").split())
        out = {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "max_tokens" if out_tokens >= max_tokens else "end_turn",
            "usage": {
                "inputTokens": in_tokens,
                "outputTokens": out_tokens,
                "totalTokens": in_tokens + out_tokens,
            },
            "metrics": {"latencyMs": int((time.perf_counter() - started) * 1000)},
        }
        logged = {k: v for k, v in p.items() if k not in ("modelId", "requestMetadata")}
        if images:
            logged = _json_safe(logged)  # image bytes travel as base64 text, as on the wire
        self.logs.record("Converse", p["modelId"], logged, out, p.get("requestMetadata"))
        return out

    def _request_images(self, content: list[dict[str, Any]]) -> list[bytes]:
        """The encoded images of a message: bytes, base64 text (JSON bodies) or named in S3."""
        images = []
        for item in content:
            source = item.get("image", {}).get("source") if isinstance(item, dict) else None
            if not source:
                continue
            if "bytes" in source:
                data = source["bytes"]
                images.append(data if isinstance(data, bytes) else _base64_image(data))
                continue
            uri = source.get("s3Location", {}).get("uri", "")
            bucket, key = common.split_s3(uri)
            try:
                images.append(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
            except ClientError as err:
                code = err.response["Error"]["Code"]
                raise validation_error(
                    f"The image {uri} cannot be read from Amazon S3 ({code})."
                ) from None
        return images

    def invoke_images(self, request: dict[str, Any]) -> list[bytes]:
        """The images of an ``invoke_model`` body, decoded: base64 text or, for Nova, S3."""
        if "images" in request:  # Llama 3.2 Vision
            if not isinstance(request["images"], list):
                raise validation_error("images must be a list of base64-encoded images.")
            return [_base64_image(data) for data in request["images"]]
        messages = request.get("messages") or []
        content = messages[-1].get("content") if messages else None
        if not isinstance(content, list):
            return []
        if "anthropic_version" in request:
            return [
                _base64_image((item.get("source") or {}).get("data"))
                for item in content
                if isinstance(item, dict) and item.get("type") == "image"
            ]
        return self._request_images(content)

    def count_tokens(self, p: dict[str, Any]) -> dict[str, Any]:
        """The input tokens a Converse or InvokeModel request would use, for models that count.

        Counted with :func:`standin.tokens.count_tokens` (a documented, tokenizer-like count,
        not the model's own tokenizer) over the request's text.
        """
        from standin import tokens

        ident = urllib.parse.unquote(p["modelId"]).split("foundation-model/")[-1]
        model = catalog.find(ident)
        if model is None or ident != model.model_id or ident not in catalog.COUNT_TOKENS_MODELS:
            raise validation_error("The provided model doesn't support counting tokens.")
        self._usable(model)
        request = p["input"]
        if "converse" in request:
            body = request["converse"]
            texts = [common.content_text(m.get("content")) for m in body.get("messages", [])]
            texts += [s.get("text", "") for s in body.get("system", []) if isinstance(s, dict)]
        else:
            try:
                body = json.loads(request["invokeModel"]["body"])
            except (KeyError, ValueError):
                raise validation_error("input.invokeModel.body is not a JSON object.") from None
            texts = [common.content_text(m.get("content")) for m in body.get("messages", [])]
            texts.append(body["system"] if isinstance(body.get("system"), str) else "")
        return {"inputTokens": sum(tokens.count_tokens(t) for t in texts if t)}

    def invoke_model(self, p: dict[str, Any]) -> Any:
        model = self._imported(p["modelId"])
        if model is not None:
            from standin import imported

            return imported.invoke(self, model, p, stream=False)
        _, generate = self.resolve(p["modelId"])
        try:
            request = json.loads(p.get("body") or b"{}")
        except ValueError:
            raise validation_error("The request body is not valid JSON.") from None
        metadata = None
        if p.get("requestMetadata"):
            try:
                metadata = json.loads(p["requestMetadata"])
            except ValueError:
                raise validation_error(
                    "X-Amzn-Bedrock-Request-Metadata is not a JSON object of strings."
                ) from None
            if not isinstance(metadata, dict):
                raise validation_error(
                    "X-Amzn-Bedrock-Request-Metadata is not a JSON object of strings."
                )
        fam = self.family_of(p["modelId"])
        if fam is not None and _body_format(request) != fam.invoke_format:
            raise validation_error(
                f"Malformed input request: {fam.name} expects the {fam.invoke_format} body "
                "as its model card documents, not this one."
            )
        body = bodies.invoke_body(request, generate, self.invoke_images(request))
        self.logs.record("InvokeModel", p["modelId"], request, body, metadata)
        return {"body": json.dumps(body).encode(), "contentType": "application/json"}


DEFAULT_MAX_RESPONSE_LENGTH = 1000


def _setting(given: float | None, env: str, default: float) -> float:
    """A duration from the constructor, else from the environment variable, else the default."""
    if given is not None:
        return given
    text = os.environ.get(env)
    return float(text) if text else default


@functools.cache
def _enum(shape: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("bedrock")
    return frozenset(cast(StringShape, model.shape_for(shape)).enum)  # enums are string shapes


def _known_values(shape: str, values: Sequence[str]) -> list[str]:
    """``values`` that botocore's enum ``shape`` holds, in order."""
    return [v for v in values if v in _enum(shape)]


def _data_format(job: Job) -> str:
    """The training data format of the job's base model for the job's customization type."""
    ctype = job.request.get("customizationType", catalog.FINE_TUNING)
    assert job.family.customization is not None  # create_job refused anything else
    return job.family.customization.data_formats[ctype]


def _rules(job: Job) -> str:
    """The :mod:`standin.datarules` rule set Bedrock applies to the job's data."""
    ctype = job.request.get("customizationType", catalog.FINE_TUNING)
    model = job.family
    images = "IMAGE" in model.input_modalities
    if ctype == catalog.DISTILLATION:
        return "distillation-prompts"
    if ctype == catalog.REINFORCEMENT_FINE_TUNING:
        return "rft-prompts"
    if ctype == catalog.CONTINUED_PRE_TRAINING:
        return "titan-cpt"
    if model.family == "claude3":
        return "claude-3-haiku-messages"
    if model.family == "titan-text":
        return "titan-prompt-completion"
    if model.family == "llama3.1":
        return "llama-3.1-prompt-completion"
    if model.family == "llama3.2":
        return "llama-3.2-vision-conversation" if images else "llama-3.2-conversation"
    return "nova-conversation" if images else "nova-micro-conversation"


def _learner_settings(job: Job) -> dict[str, str]:
    """The hyperparameters the local learner trains with.

    Bedrock documents none for DISTILLATION and chooses its own; the stand-in then trains
    the student with the defaults of fine-tuning it.
    """
    ctype = job.request.get("customizationType", catalog.FINE_TUNING)
    model_id = job.family.model_id
    given = catalog.check_hyperparameters(model_id, ctype, job.request.get("hyperParameters", {}))
    if ctype == catalog.DISTILLATION:
        return {**catalog.check_hyperparameters(model_id, catalog.FINE_TUNING, {}), **given}
    return given


def _distillation_settings(p: dict[str, Any], student: catalog.FoundationModel) -> tuple[str, int]:
    """The teacher's base model id and the answer length of a DISTILLATION request.

    Raises:
        ServiceError: A ValidationException when the teacher is missing, unknown or not
            paired with the student, or the response length is not a positive integer.
    """
    config = (p.get("customizationConfig") or {}).get("distillationConfig") or {}
    teacher_config = config.get("teacherModelConfig") or {}
    teacher = teacher_config.get("teacherModelIdentifier")
    if not teacher:
        raise validation_error(
            "A DISTILLATION job needs customizationConfig.distillationConfig."
            "teacherModelConfig.teacherModelIdentifier (for example amazon.nova-pro-v1:0)."
        )
    teacher_id = urllib.parse.unquote(str(teacher)).split("foundation-model/")[-1]
    fam = catalog.find(teacher_id)
    if fam is None:
        raise validation_error(
            f"The teacher model {teacher} is not a base model the stand-in knows; use a "
            "stronger model of the workshop, such as amazon.nova-pro-v1:0."
        )
    students = catalog.DISTILLATION_PAIRS.get(fam.model_id)
    if students is None:
        teachers = ", ".join(sorted(catalog.DISTILLATION_PAIRS))
        raise validation_error(
            f"{fam.model_id} is not a distillation teacher. Teachers: {teachers}."
        )
    if student.model_id not in students:
        raise validation_error(
            f"{fam.model_id} cannot be distilled into {student.model_id}; its students are "
            f"{', '.join(students)}."
        )
    length = teacher_config.get("maxResponseLengthForInference", DEFAULT_MAX_RESPONSE_LENGTH)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise validation_error(
            f"maxResponseLengthForInference is {length!r}; it must be a positive integer."
        )
    return fam.model_id, length


def _check_logs_config(config: dict[str, Any]) -> None:
    """Refuse an ``invocationLogsConfig`` Bedrock would refuse (unions hold one member)."""
    source = config.get("invocationLogSource") or {}
    if len(source) != 1 or "s3Uri" not in source:
        raise validation_error(
            "invocationLogsConfig.invocationLogSource must hold exactly one member, s3Uri."
        )
    common.split_s3(source["s3Uri"])
    filters = config.get("requestMetadataFilters")
    if filters is None:
        return
    if len(filters) != 1:
        raise validation_error(
            "requestMetadataFilters must hold exactly one of equals, notEquals, andAll or "
            f"orAll, not {sorted(filters)}; combine several conditions with andAll or orAll."
        )
    rules = filters.get("andAll") or filters.get("orAll") or [filters]
    for rule in rules:
        if len(rule) != 1 or any(len(v) != 1 for v in rule.values()):
            raise validation_error(
                "Each request metadata filter holds one equals or notEquals map with one key; "
                "combine several keys with andAll."
            )


def _first_image(data_format: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The first image of a validated conversation record's last user turn, if any."""
    if data_format != catalog.BEDROCK_CONVERSATION:
        return None
    content = record["messages"][-2]["content"]
    return next((c["image"] for c in content if isinstance(c, dict) and "image" in c), None)


def _json_safe(value: Any) -> Any:
    """``value`` with every bytes object as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _takes_images(model_id: str) -> None:
    """Refuse images for a model that takes text only, as Bedrock does."""
    fam = catalog.find(model_id)
    if fam is not None and "IMAGE" not in fam.input_modalities:
        raise validation_error(f"{fam.name} does not take images; send text only.")


def _image_error(err: Exception) -> ServiceError:
    return validation_error(f"The image could not be used: {err}")


def _custom_answerer(artifact: dict[str, Any]) -> Callable[..., str]:
    """``generate(prompt, system, max_tokens, images=())`` for a custom model's artifact."""
    from standin import learner, rft, vision

    def generate(
        prompt: str, system: str | None, max_tokens: int, images: Sequence[bytes] = ()
    ) -> str:
        if artifact.get("kind") == rft.KIND:
            if images:
                raise validation_error(
                    "The local stand-in's reinforcement fine-tuned models answer text only."
                )
            return rft.generate(artifact, prompt, max_tokens)
        try:
            if artifact.get("kind") == vision.KIND:
                return vision.custom_describe(artifact, prompt, images, system, max_tokens)
            if images:
                _takes_images(artifact["base_model_id"])
                return vision.base_describe(
                    artifact["base_model_id"], prompt, images, system, max_tokens
                )
        except vision.ImageError as err:
            raise _image_error(err) from None
        return learner.custom_generate(artifact, prompt, system, max_tokens)

    return generate


def _base_answerer(model_id: str) -> Callable[..., str]:
    """``generate(prompt, system, max_tokens, images=())`` for a base model."""
    from standin import learner, vision

    def generate(
        prompt: str, system: str | None, max_tokens: int, images: Sequence[bytes] = ()
    ) -> str:
        if not images:
            return learner.base_generate(model_id, prompt, system, max_tokens)
        _takes_images(model_id)
        try:
            return vision.base_describe(model_id, prompt, images, system, max_tokens)
        except vision.ImageError as err:
            raise _image_error(err) from None

    return generate


def _pair(data_format: str, record: dict[str, Any]) -> tuple[str, str]:
    """The (prompt, completion) a validated training record teaches."""
    if data_format == catalog.PROMPT_COMPLETION:
        return record["prompt"], record["completion"]
    prompt, answer = record["messages"][-2:]
    return common.content_text(prompt["content"]), common.content_text(answer["content"])


def _body_format(request: dict[str, Any]) -> str | None:
    """Which family's ``invoke_model`` format a request body is in."""
    if "messages" in request:
        return (
            catalog.ANTHROPIC_MESSAGES if "anthropic_version" in request else catalog.NOVA_MESSAGES
        )
    if "inputText" in request:
        return catalog.TITAN_TEXT
    if "prompt" in request:
        return catalog.LLAMA_PROMPT
    return None


def _base64_image(data: Any) -> bytes:
    """An image sent as base64 text in an ``invoke_model`` body, decoded."""
    try:
        if not isinstance(data, str) or not data:
            raise ValueError("no base64 text")
        return base64.b64decode(data, validate=True)
    except ValueError:
        raise validation_error("An image in the request body is not valid base64.") from None
