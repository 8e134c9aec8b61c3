"""Custom Model Import for the stand-in's Bedrock: model import jobs and imported models.

A job really reads the folder it names in S3, as the service role would: once its simulated
time has passed it checks that Bedrock may assume the role for this job (the trust policy's
``aws:SourceAccount`` and ``aws:SourceArn`` conditions) and that the role may list and read
the prefix, lists the folder, reads ``config.json`` and the tokenizer's config, and reads each
safetensors file's header with two ranged GETs (its first 8 bytes, then the header they
announce), never the tensors. It checks the architecture, the weights' dtypes and their shapes
against ``config.json`` with the stand-in's own facts (:mod:`standin.catalog`, Custom Model
Import), then ends ``Completed`` with an imported model or ``Failed`` with the reason.

Imported models are kept for the runtime, which runs their weights (:mod:`standin.imported`).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from standin import catalog, common, imported, rolepolicy
from standin.imported import Copy, ImportedRuntime
from standin.restjson import conflict, not_found, validation_error

if TYPE_CHECKING:
    from standin.bedrock import LocalBedrock

MAX_HEADER_BYTES = 100_000_000
"""A larger safetensors header is taken as a damaged file (the safetensors format's own cap)."""
INDEX_FILE = "model.safetensors.index.json"
"""The shard map transformers writes beside sharded safetensors files."""
SMALL_FILE_BYTES = 10_000_000
"""JSON files (config, tokenizer config, shard index) larger than this are not read whole."""
SHOWN = 3
"""How many offending tensors a failure message names."""


class ImportFailure(Exception):
    """Why a job fails; the message becomes its ``failureMessage``."""


@dataclass
class ImportJob:
    """One model import job."""

    job_id: str
    arn: str
    name: str
    request: dict[str, Any]
    created: datetime
    due: float
    status: str = "InProgress"
    failure: str | None = None
    modified: datetime = field(default_factory=common.now)
    ended: datetime | None = None
    model_arn: str | None = None
    copy: Copy | None = None


@dataclass
class ImportedModel:
    """A model a completed import job created, with what the job read of its folder."""

    arn: str
    name: str
    job: ImportJob
    created: datetime
    architecture: str
    instruct: bool
    units: int
    parameters: int
    uri: str
    weight_files: list[str]
    config: dict[str, Any]


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    file: str


class ModelImport:
    """The model import operations, sharing state and clients with :class:`LocalBedrock`."""

    def __init__(self, bedrock: LocalBedrock) -> None:
        self.bedrock = bedrock
        self.jobs: dict[str, ImportJob] = {}
        self.models: dict[str, ImportedModel] = {}
        self.runtime = ImportedRuntime(bedrock)

    def handlers(self) -> dict[str, Any]:
        """Operation name to handler, for the rest-json router."""
        return {
            "CreateModelImportJob": self.create,
            "GetModelImportJob": self.get_job,
            "ListModelImportJobs": self.list_jobs,
            "GetImportedModel": self.get_model,
            "ListImportedModels": self.list_models,
            "DeleteImportedModel": self.delete_model,
        }

    def reset(self) -> None:
        """Forget every import job and imported model (and drop their loaded copies)."""
        self.jobs = {}
        self.models = {}
        self.runtime.reset()

    def advance(self) -> None:
        """Run every job whose simulated time has passed."""
        now = time.monotonic()
        for job in list(self.jobs.values()):
            # A job also lasts as long as copying its files does (large models import slower).
            copied = job.copy is None or job.copy.done.is_set()
            if job.status == "InProgress" and now >= job.due and copied:
                self._finish(job)

    # -- look-ups ---------------------------------------------------------------------
    def find_job(self, ident: str) -> ImportJob:
        """The job named by its name or ARN; ResourceNotFoundException otherwise."""
        wanted = urllib.parse.unquote(ident)
        for job in self.jobs.values():
            if wanted in (job.arn, job.name):
                return job
        raise not_found(f"Model import job {wanted} was not found.")

    def find_model(self, ident: str) -> ImportedModel:
        """The imported model named by its name or ARN; ResourceNotFoundException otherwise."""
        wanted = urllib.parse.unquote(ident)
        for model in self.models.values():
            if wanted in (model.arn, model.name):
                return model
        raise not_found(f"Imported model {wanted} was not found.")

    def is_imported(self, ident: str) -> bool:
        """Whether a runtime model id is an imported model's ARN (the runtime takes no name)."""
        return ":imported-model/" in urllib.parse.unquote(ident)

    # -- operations ---------------------------------------------------------------------
    def create(self, p: dict[str, Any]) -> dict[str, Any]:
        token = p.get("clientRequestToken")
        if token and token in self.bedrock.tokens:
            return {"jobArn": self.bedrock.tokens[token]}
        region = self.bedrock.region
        if region not in catalog.IMPORT_REGIONS:
            where = ", ".join(catalog.IMPORT_REGIONS)
            raise validation_error(
                f"Custom Model Import is not available in {region}; it is in {where}."
            )
        source = p["modelDataSource"].get("s3DataSource")
        if not source or len(p["modelDataSource"]) != 1:
            raise validation_error(
                "modelDataSource must hold exactly one member, s3DataSource with the s3Uri of "
                "the model folder."
            )
        common.split_s3(source["s3Uri"])
        if any(j.name == p["jobName"] for j in self.jobs.values()):
            raise conflict(f"A model import job named {p['jobName']} already exists.")
        wanted = p["importedModelName"]
        if any(m.name == wanted for m in self.models.values()) or any(
            j.request["importedModelName"] == wanted and j.status == "InProgress"
            for j in self.jobs.values()
        ):
            raise conflict(f"An imported model named {wanted} already exists.")
        self.bedrock.check_role(p["roleArn"])
        job_id = common.new_id()
        job = ImportJob(
            job_id=job_id,
            arn=self.bedrock.arn("model-import-job", job_id),
            name=p["jobName"],
            request=p,
            created=common.now(),
            due=time.monotonic() + self.bedrock.job_seconds,
        )
        self.jobs[job.arn] = job
        uri = job.request["modelDataSource"]["s3DataSource"]["s3Uri"]
        job.copy = self.runtime.start_copy(uri, job.job_id)
        imported.preload_libraries()
        if token:
            self.bedrock.tokens[token] = job.arn
        return {"jobArn": job.arn}

    def _job_view(self, job: ImportJob) -> dict[str, Any]:
        p = job.request
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "importedModelName": p["importedModelName"],
            "roleArn": p["roleArn"],
            "modelDataSource": p["modelDataSource"],
            "status": job.status,
            "creationTime": job.created,
            "lastModifiedTime": job.modified,
        }
        if "vpcConfig" in p:
            out["vpcConfig"] = p["vpcConfig"]
        if job.model_arn:
            out["importedModelArn"] = job.model_arn
        if job.failure:
            out["failureMessage"] = job.failure
        if job.ended:
            out["endTime"] = job.ended
        return out

    def get_job(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._job_view(self.find_job(p["jobIdentifier"]))

    def list_jobs(self, p: dict[str, Any]) -> dict[str, Any]:
        jobs = _filtered(list(self.jobs.values()), p, lambda j: j.name)
        if "statusEquals" in p:
            jobs = [j for j in jobs if j.status == p["statusEquals"]]

        def summarize(job: ImportJob) -> dict[str, Any]:
            summary: dict[str, Any] = {
                "jobArn": job.arn,
                "jobName": job.name,
                "status": job.status,
                "lastModifiedTime": job.modified,
                "creationTime": job.created,
                "importedModelName": job.request["importedModelName"],
            }
            if job.ended:
                summary["endTime"] = job.ended
            if job.model_arn:
                summary["importedModelArn"] = job.model_arn
            return summary

        return common.listing(jobs, p, "modelImportJobSummaries", summarize)

    def _units(self, model: ImportedModel) -> dict[str, Any]:
        return {
            "customModelUnitsPerModelCopy": model.units,
            "customModelUnitsVersion": catalog.CMU_VERSION,
        }

    def get_model(self, p: dict[str, Any]) -> dict[str, Any]:
        model = self.find_model(p["modelIdentifier"])
        return {
            "modelArn": model.arn,
            "modelName": model.name,
            "jobName": model.job.name,
            "jobArn": model.job.arn,
            "modelDataSource": model.job.request["modelDataSource"],
            "creationTime": model.created,
            "modelArchitecture": model.architecture,
            "instructSupported": model.instruct,
            "customModelUnits": self._units(model),
        }

    def list_models(self, p: dict[str, Any]) -> dict[str, Any]:
        found = _filtered(list(self.models.values()), p, lambda m: m.name)
        return common.listing(
            found,
            p,
            "modelSummaries",
            lambda m: {
                "modelArn": m.arn,
                "modelName": m.name,
                "creationTime": m.created,
                "instructSupported": m.instruct,
                "modelArchitecture": m.architecture,
            },
        )

    def delete_model(self, p: dict[str, Any]) -> dict[str, Any]:
        model = self.find_model(p["modelIdentifier"])
        del self.models[model.arn]
        self.runtime.drop(model.arn)
        return {}

    # -- the job's work ------------------------------------------------------------------
    def _finish(self, job: ImportJob) -> None:
        fault = self.bedrock.faults.take("import")
        try:
            if fault is not None:
                raise ImportFailure(fault.text)
            model = self._import(job)  # the checks name a cause better than a failed copy
            if job.copy is not None and job.copy.error is not None:
                raise ImportFailure(f"The model files could not be copied: {job.copy.error}")
        except ImportFailure as err:
            if job.copy is not None:
                shutil.rmtree(job.copy.folder, ignore_errors=True)
            self._end(job, "Failed", str(err))
            return
        self.models[model.arn] = model
        job.model_arn = model.arn
        if job.copy is not None:
            self.runtime.adopt(model.arn, job.copy)
        self._end(job, "Completed")

    @staticmethod
    def _end(job: ImportJob, status: str, failure: str | None = None) -> None:
        job.status = status
        job.failure = failure[:2048] if failure else None  # ErrorMessage's max length
        job.ended = job.modified = common.now()

    def _import(self, job: ImportJob) -> ImportedModel:
        uri = job.request["modelDataSource"]["s3DataSource"]["s3Uri"]
        bucket, prefix = common.split_s3(uri)
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        self._assume(job)
        self._may_read(job, bucket, prefix, [])
        sizes = self._listing(bucket, prefix, uri)
        self._may_read(job, bucket, prefix, sorted(sizes))
        weights = self._weight_files(bucket, prefix, sizes, uri)
        config = self._config(bucket, prefix, sizes, uri)
        arch = self._architecture(config, uri)
        tokenizer = self._tokenizer(bucket, prefix, sizes, uri)
        tensors = [t for name in weights for t in self._header(bucket, prefix + name, name, sizes)]
        _check_dtypes(tensors)
        _check_shapes(arch, config, tensors)
        parameters = sum(math.prod(t.shape) for t in tensors)
        model_id = common.new_id()
        return ImportedModel(
            arn=self.bedrock.arn("imported-model", model_id),
            name=job.request["importedModelName"],
            job=job,
            created=common.now(),
            architecture=arch.class_name,
            instruct=arch.converse and _has_chat_template(tokenizer, sizes),
            units=catalog.custom_model_units(parameters),
            parameters=parameters,
            uri=uri,
            weight_files=weights,
            config=config,
        )

    def _assume(self, job: ImportJob) -> None:
        """Refuse a role whose trust policy does not let Bedrock in for this job."""
        role_arn = job.request["roleArn"]
        account, region = self.bedrock.account_id, self.bedrock.region
        try:
            role = self.bedrock.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])
        except ClientError:
            raise ImportFailure(
                f"Amazon Bedrock could not assume the service role {role_arn}: it no longer exists."
            ) from None
        context = {"aws:SourceAccount": account, "aws:SourceArn": job.arn}
        document = role["Role"]["AssumeRolePolicyDocument"]
        if not rolepolicy.trusts(document, "bedrock.amazonaws.com", context):
            raise ImportFailure(
                f"Amazon Bedrock could not assume the service role {role_arn} for {job.arn}: "
                "its trust policy does not allow bedrock.amazonaws.com to call sts:AssumeRole "
                f"for this job. Add arn:aws:bedrock:{region}:{account}:model-import-job/* to "
                f"its aws:SourceArn condition (with aws:SourceAccount {account})."
            )

    def _may_read(self, job: ImportJob, bucket: str, prefix: str, names: list[str]) -> None:
        """Refuse a role whose policies do not let it list the prefix and read every file."""
        role_arn = job.request["roleArn"]
        documents = rolepolicy.role_policies(
            self.bedrock.client("iam"), role_arn.rsplit("/", 1)[-1]
        )
        needed = [("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})]
        needed += [("s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}{n}", {}) for n in names]
        for action, resource, context in needed:
            if not rolepolicy.allows(documents, action, resource, context):
                raise ImportFailure(
                    f"The service role {role_arn} cannot read the model files at "
                    f"s3://{bucket}/{prefix}: it is not allowed {action} on {resource}. Give "
                    f"it s3:ListBucket on arn:aws:s3:::{bucket} and s3:GetObject on "
                    f"arn:aws:s3:::{bucket}/{prefix}*."
                )

    def _listing(self, bucket: str, prefix: str, uri: str) -> dict[str, int]:
        """File name (relative to the folder) -> size, for every object under the prefix."""
        s3 = self.bedrock.client("s3")
        sizes: dict[str, int] = {}
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    sizes[obj["Key"][len(prefix) :]] = int(obj["Size"])
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise ImportFailure(f"Could not list the model folder {uri} ({code}).") from None
        if not sizes:
            raise ImportFailure(
                f"The model folder {uri} is empty or does not exist: upload the folder "
                "save_pretrained wrote (config.json, .safetensors weights, tokenizer files)."
            )
        return sizes

    def _get(self, bucket: str, key: str, byte_range: str | None = None) -> bytes:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            body = self.bedrock.client("s3").get_object(Bucket=bucket, Key=key, **extra)["Body"]
            return bytes(body.read())
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise ImportFailure(f"Could not read s3://{bucket}/{key} ({code}).") from None

    def _json(self, bucket: str, prefix: str, name: str, sizes: dict[str, int]) -> Any:
        if sizes[name] > SMALL_FILE_BYTES:
            raise ImportFailure(f"{name} is {sizes[name]} bytes: too large for a JSON file.")
        try:
            return json.loads(self._get(bucket, prefix + name))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ImportFailure(f"{name} in the model folder is not valid JSON ({err}).") from None

    def _weight_files(self, bucket: str, prefix: str, sizes: dict[str, int], uri: str) -> list[str]:
        """The safetensors files of the model: the index's shards, or every one at the top."""
        adapters = sorted(n for n in sizes if n in catalog.IMPORT_ADAPTER_FILES)
        if INDEX_FILE in sizes:
            index = self._json(bucket, prefix, INDEX_FILE, sizes)
            weight_map = index.get("weight_map") if isinstance(index, dict) else None
            if not isinstance(weight_map, dict) or not weight_map:
                raise ImportFailure(f"{INDEX_FILE} in {uri} has no weight_map.")
            files = sorted({str(v) for v in weight_map.values()})
            missing = [f for f in files if f not in sizes]
            if missing:
                raise ImportFailure(
                    f"{INDEX_FILE} names weight files the folder {uri} lacks: "
                    f"{', '.join(missing)}. Upload every shard."
                )
        else:
            files = sorted(
                n
                for n in sizes
                if "/" not in n and n.endswith(".safetensors") and n not in adapters
            )
        if adapters:
            what = "beside the model" if files else "and no model"
            raise ImportFailure(
                f"The folder {uri} holds a LoRA adapter ({', '.join(adapters)}) {what}: "
                "Custom Model Import takes whole models, not adapters. Merge the adapter into "
                "its base model (merge_and_unload), save the merged model as safetensors and "
                "import that folder."
            )
        if files:
            return files
        pickles = sorted(
            n for n in sizes if "/" not in n and n.endswith(catalog.IMPORT_PICKLE_SUFFIXES)
        )
        if pickles:
            raise ImportFailure(
                f"The weights in {uri} are in pickle format only ({', '.join(pickles)}): Custom "
                "Model Import reads .safetensors files. Save the model again with "
                "save_pretrained(folder, safe_serialization=True)."
            )
        raise ImportFailure(f"The folder {uri} holds no model weights (.safetensors files).")

    def _config(self, bucket: str, prefix: str, sizes: dict[str, int], uri: str) -> dict[str, Any]:
        if "config.json" not in sizes:
            raise ImportFailure(
                f"The folder {uri} has no config.json, so the model's architecture cannot be "
                "detected. Upload the config.json that save_pretrained writes."
            )
        config = self._json(bucket, prefix, "config.json", sizes)
        if not isinstance(config, dict):
            raise ImportFailure("config.json in the model folder is not a JSON object.")
        return config

    @staticmethod
    def _architecture(config: dict[str, Any], uri: str) -> catalog.ImportArchitecture:
        names = config.get("architectures")
        if not isinstance(names, list) or not names or not isinstance(names[0], str):
            raise ImportFailure(
                f"config.json in {uri} names no architecture (its architectures list is missing "
                "or empty)."
            )
        arch = catalog.IMPORT_ARCHITECTURES.get(names[0])
        if arch is None:
            supported = ", ".join(sorted(catalog.IMPORT_ARCHITECTURES))
            raise ImportFailure(
                f"The model architecture {names[0]} (model_type {config.get('model_type')}) is "
                f"not supported by Custom Model Import. Supported architectures: {supported}."
            )
        if config.get("model_type") != arch.model_type:
            raise ImportFailure(
                f"config.json names the architecture {arch.class_name} but the model_type "
                f"{config.get('model_type')}; {arch.class_name} has model_type {arch.model_type}."
            )
        if config.get("quantization_config"):
            raise ImportFailure(
                "config.json carries a quantization_config: quantised models cannot be "
                "imported. Save the model in bf16, fp16 or fp32."
            )
        return arch

    def _tokenizer(
        self, bucket: str, prefix: str, sizes: dict[str, int], uri: str
    ) -> dict[str, Any]:
        """The tokenizer's config, once the folder holds a complete tokenizer."""
        vocabularies = [n for n in catalog.IMPORT_TOKENIZER_VOCABULARIES if n in sizes]
        missing = [n for n in (catalog.IMPORT_TOKENIZER_CONFIG,) if n not in sizes]
        if not vocabularies:
            missing.append(
                "a vocabulary (" + " or ".join(catalog.IMPORT_TOKENIZER_VOCABULARIES) + ")"
            )
        if missing:
            raise ImportFailure(
                f"The folder {uri} has no complete tokenizer: missing {', '.join(missing)}. "
                "Save the tokenizer beside the model with tokenizer.save_pretrained(folder)."
            )
        found = self._json(bucket, prefix, catalog.IMPORT_TOKENIZER_CONFIG, sizes)
        return found if isinstance(found, dict) else {}

    def _header(self, bucket: str, key: str, name: str, sizes: dict[str, int]) -> list[_Tensor]:
        """The tensors one safetensors file declares, read by two ranged GETs."""
        size = sizes[name]
        head = self._get(bucket, key, "bytes=0-7")
        if len(head) < 8:
            raise ImportFailure(f"{name} is {size} bytes: too short for a safetensors file.")
        (length,) = struct.unpack("<Q", head[:8])
        if length == 0 or length > min(size - 8, MAX_HEADER_BYTES):
            raise ImportFailure(
                f"{name} is not a readable safetensors file: it announces a {length}-byte "
                f"header in {size} bytes."
            )
        raw = self._get(bucket, key, f"bytes=8-{8 + length - 1}")
        try:
            header = json.loads(raw)
            if not isinstance(header, dict):
                raise ValueError("not an object")
            return [
                _Tensor(n, str(e["dtype"]), tuple(int(d) for d in e["shape"]), name)
                for n, e in header.items()
                if n != "__metadata__"
            ]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as err:
            raise ImportFailure(f"{name}'s safetensors header is unreadable ({err}).") from None


def _filtered(items: list[Any], p: dict[str, Any], name: Any) -> list[Any]:
    """Items filtered by name and creation time and sorted, as the list operations take them."""
    if "nameContains" in p:
        items = [i for i in items if p["nameContains"] in name(i)]
    if "creationTimeAfter" in p:
        items = [i for i in items if i.created > p["creationTimeAfter"]]
    if "creationTimeBefore" in p:
        items = [i for i in items if i.created < p["creationTimeBefore"]]
    descending = p.get("sortOrder", "Descending") == "Descending"
    return sorted(items, key=lambda i: i.created, reverse=descending)


def _has_chat_template(tokenizer_config: dict[str, Any], sizes: dict[str, int]) -> bool:
    """Whether the tokenizer carries a chat template (in its config or a file of its own)."""
    return bool(tokenizer_config.get("chat_template")) or any(
        name in sizes for name in catalog.IMPORT_CHAT_TEMPLATES
    )


def _named(tensors: list[_Tensor], limit: int = SHOWN) -> str:
    shown = ", ".join(f"{t.file}:{t.name}" for t in tensors[:limit])
    return shown + (f" and {len(tensors) - limit} more" if len(tensors) > limit else "")


def _check_dtypes(tensors: list[_Tensor]) -> None:
    refused = [t for t in tensors if t.dtype not in catalog.IMPORT_DTYPES]
    if refused:
        dtypes = ", ".join(sorted({t.dtype for t in refused}))
        raise ImportFailure(
            f"{len(refused)} tensor(s) have the dtype {dtypes} ({_named(refused)}): Custom Model "
            "Import takes F32, F16 or BF16 weights. Save the full-precision model, without "
            "quantisation."
        )


def _config_int(config: dict[str, Any], *keys: str) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    raise ImportFailure(f"config.json has no integer {' or '.join(keys)}.")


_LAYER = re.compile(r"model\.layers\.(\d+)\.(.+)")


def _expected_shapes(
    arch: catalog.ImportArchitecture, config: dict[str, Any], names: set[str]
) -> Iterator[tuple[str, tuple[int, ...], str]]:
    """(tensor name, shape config.json implies, which fields say so) for the checked tensors."""
    if arch.shapes == "embedding":
        if arch.model_type == "t5":
            yield (
                "shared.weight",
                (
                    _config_int(config, "vocab_size"),
                    _config_int(config, "d_model"),
                ),
                "vocab_size × d_model",
            )
        elif arch.model_type == "gpt_bigcode":
            yield (
                "transformer.wte.weight",
                (
                    _config_int(config, "vocab_size"),
                    _config_int(config, "n_embd"),
                ),
                "vocab_size × n_embd",
            )
        else:
            yield (
                "model.embed_tokens.weight",
                (
                    _config_int(config, "vocab_size"),
                    _config_int(config, "hidden_size"),
                ),
                "vocab_size × hidden_size",
            )
        return
    if arch.shapes != "llama":
        return
    vocab, hidden = _config_int(config, "vocab_size"), _config_int(config, "hidden_size")
    heads = _config_int(config, "num_attention_heads")
    kv_heads = _config_int(config, "num_key_value_heads", "num_attention_heads")
    head_dim = config.get("head_dim") or hidden // heads
    inner = _config_int(config, "intermediate_size")
    yield "model.embed_tokens.weight", (vocab, hidden), "vocab_size × hidden_size"
    yield "model.norm.weight", (hidden,), "hidden_size"
    if not config.get("tie_word_embeddings", False) or "lm_head.weight" in names:
        yield "lm_head.weight", (vocab, hidden), "vocab_size × hidden_size"
    per_layer = {
        "self_attn.q_proj.weight": ((heads * head_dim, hidden), "heads × head_dim, hidden_size"),
        "self_attn.k_proj.weight": (
            (kv_heads * head_dim, hidden),
            "key_value_heads × head_dim, hidden_size",
        ),
        "self_attn.v_proj.weight": (
            (kv_heads * head_dim, hidden),
            "key_value_heads × head_dim, hidden_size",
        ),
        "self_attn.o_proj.weight": ((hidden, heads * head_dim), "hidden_size, heads × head_dim"),
        "mlp.gate_proj.weight": ((inner, hidden), "intermediate_size × hidden_size"),
        "mlp.up_proj.weight": ((inner, hidden), "intermediate_size × hidden_size"),
        "mlp.down_proj.weight": ((hidden, inner), "hidden_size × intermediate_size"),
        "input_layernorm.weight": ((hidden,), "hidden_size"),
        "post_attention_layernorm.weight": ((hidden,), "hidden_size"),
    }
    for i in range(_config_int(config, "num_hidden_layers")):
        for part, (shape, why) in per_layer.items():
            yield f"model.layers.{i}.{part}", shape, why


def _check_shapes(
    arch: catalog.ImportArchitecture, config: dict[str, Any], tensors: list[_Tensor]
) -> None:
    """Refuse weights whose tensors do not have the shapes ``config.json`` implies."""
    by_name = {t.name: t for t in tensors}
    problems: list[str] = []
    if arch.shapes == "llama":
        layers = {int(m.group(1)) for t in tensors if (m := _LAYER.fullmatch(t.name))}
        declared = _config_int(config, "num_hidden_layers")
        if layers != set(range(declared)):
            problems.append(
                f"the weights hold {len(layers)} decoder layer(s) but config.json's "
                f"num_hidden_layers is {declared}"
            )
    for name, shape, why in _expected_shapes(arch, config, set(by_name)):
        found = by_name.get(name)
        if found is None:
            problems.append(f"{name} is missing (config.json implies {list(shape)})")
        elif found.shape != shape:
            problems.append(
                f"{name} in {found.file} is {list(found.shape)}, but {why} in config.json is "
                f"{list(shape)}"
            )
    if problems:
        shown = "; ".join(problems[:SHOWN])
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise ImportFailure(
            f"The tensor shapes do not match config.json: {shown}{more}. Upload the config.json "
            "saved with these weights."
        )
