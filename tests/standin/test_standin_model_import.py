"""The stand-in's Custom Model Import: jobs that read real folders from S3, imported models.

Tiny models are made here with transformers and uploaded to the stand-in's S3; every job is
checked against botocore's output shapes and its ARNs against the service model's patterns.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from botocore.exceptions import ClientError
from safetensors.torch import save_file
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from standin import StandIn, catalog
from standin.bedrock import ACCOUNT_ID
from tests.helpers import (
    BEDROCK,
    REGION,
    TINY_LLAMA,
    checked,
    grant_read,
    make_bucket,
    make_import_role,
    save_tokenizer,
)
from utils import clients

# Custom Model Import: no model units, no model a new account lacks (see tests/conftest.py).
pytestmark = pytest.mark.same_in_every_account

BUCKET = "workshop-import-bucket"
CHAT_TEMPLATE = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"


def _pattern(shape: str) -> re.Pattern[str]:
    return re.compile(BEDROCK.shape_for(shape).metadata["pattern"])


JOB_ARN = _pattern("ModelImportJobArn")
MODEL_ARN = _pattern("ImportedModelArn")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Model folders saved by transformers: good, with a chat template, large, and broken ones."""
    root = tmp_path_factory.mktemp("import-models")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA))
    made: dict[str, Any] = {"parameters": sum(p.numel() for p in model.parameters())}
    for name, options in (("good", {}), ("pickled", {"safe_serialization": False})):
        model.save_pretrained(root / name, **({"safe_serialization": True} | options))
        save_tokenizer(root / name)
    model.save_pretrained(root / "chat", safe_serialization=True)
    save_tokenizer(root / "chat", CHAT_TEMPLATE)
    # A large embedding table: the safetensors file is megabytes, its header a few kilobytes.
    large = LlamaForCausalLM(LlamaConfig(**(TINY_LLAMA | {"vocab_size": 32768})))
    large.save_pretrained(root / "large", safe_serialization=True)
    save_tokenizer(root / "large")
    made["large_parameters"] = sum(p.numel() for p in large.parameters())
    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=128)).save_pretrained(
        root / "gpt2", safe_serialization=True
    )
    save_tokenizer(root / "gpt2")
    # Quantised weights: the same tensors as int8 in a safetensors file.
    int8 = root / "int8"
    int8.mkdir()
    for name in ("config.json", "generation_config.json"):
        (int8 / name).write_bytes((root / "good" / name).read_bytes())
    save_file(
        {k: (v * 100).to(torch.int8).contiguous() for k, v in model.state_dict().items()},
        str(int8 / "model.safetensors"),
    )
    save_tokenizer(int8)
    # A PEFT adapter folder as `peft` saves one: adapter config and adapter weights only.
    adapter = root / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": 8, "target_modules": ["q_proj", "v_proj"]})
    )
    save_file(
        {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": torch.zeros(8, 32)},
        str(adapter / "adapter_model.safetensors"),
    )
    save_tokenizer(adapter)
    made.update({name: root / name for name in ("good", "chat", "large", "gpt2", "int8")})
    made.update({"pickled": root / "pickled", "adapter": adapter})
    yield made


def upload(
    folder: Path,
    prefix: str,
    skip: tuple[str, ...] = (),
    change: Callable[[str, bytes], bytes] | None = None,
) -> str:
    """Upload a folder (less ``skip``, files passed through ``change``); returns its URI."""
    s3 = clients.client("s3")
    for path in sorted(folder.iterdir()):
        if path.name in skip:
            continue
        body = path.read_bytes()
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{prefix}/{path.name}",
            Body=change(path.name, body) if change else body,
        )
    return f"s3://{BUCKET}/{prefix}/"


def import_role(name: str = "workshop-import-role", *, read: bool = True) -> str:
    """A service role for import jobs that may read the test bucket (or, unless ``read``, not)."""
    return make_import_role(BUCKET, name, read=read)


def grant(role: str) -> None:
    """Let a role read the test bucket."""
    grant_read(role, BUCKET)


def start(
    uri: str, role: str, name: str = "import-1", model: str = "tiny-llama", **extra: Any
) -> str:
    found = clients.client("bedrock").create_model_import_job(
        jobName=name,
        importedModelName=model,
        roleArn=role,
        modelDataSource={"s3DataSource": {"s3Uri": uri}},
        **extra,
    )
    checked(BEDROCK, "CreateModelImportJob", found)
    return str(found["jobArn"])


def wait(job_arn: str) -> dict[str, Any]:
    """The job once it has ended, checked against GetModelImportJob's output shape."""
    bedrock = clients.client("bedrock")
    deadline = time.monotonic() + 30
    while (job := bedrock.get_model_import_job(jobIdentifier=job_arn))["status"] == "InProgress":
        assert time.monotonic() < deadline, "the import job never ended"
        time.sleep(0.05)
    return checked(BEDROCK, "GetModelImportJob", job)


def _error(call: Callable[..., Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response["Error"])


@pytest.fixture
def bucket(aws: StandIn) -> str:
    return make_bucket(BUCKET)


def test_a_good_folder_imports_and_its_model_is_listed_got_and_deleted(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    bedrock, runtime = clients.client("bedrock"), clients.client("bedrock-runtime")
    uri = upload(folders["good"], "models/good")
    job_arn = start(uri, import_role())
    assert JOB_ARN.fullmatch(job_arn), job_arn
    assert job_arn.startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-import-job/")
    first = checked(
        BEDROCK, "GetModelImportJob", bedrock.get_model_import_job(jobIdentifier="import-1")
    )
    assert first["status"] == "InProgress" and "importedModelArn" not in first
    job = wait(job_arn)
    assert job["status"] == "Completed", job.get("failureMessage")
    assert job["jobName"] == "import-1" and job["importedModelName"] == "tiny-llama"
    assert job["modelDataSource"] == {"s3DataSource": {"s3Uri": uri}}
    assert job["endTime"] >= job["creationTime"]
    model_arn = job["importedModelArn"]
    assert MODEL_ARN.fullmatch(model_arn), model_arn

    for ident in ("tiny-llama", model_arn):
        model = checked(
            BEDROCK, "GetImportedModel", bedrock.get_imported_model(modelIdentifier=ident)
        )
        assert model["modelArn"] == model_arn and model["modelName"] == "tiny-llama"
        assert model["jobArn"] == job_arn and model["jobName"] == "import-1"
        assert model["modelArchitecture"] == "LlamaForCausalLM"
        assert model["instructSupported"] is False  # no chat template in the tokenizer
        assert model["customModelUnits"] == {
            "customModelUnitsPerModelCopy": 1,
            "customModelUnitsVersion": "v1.0",
        }
    # The job read the parameter count from the headers: the model's own count.
    assert aws.bedrock.imports.models[model_arn].parameters == folders["parameters"]

    listed = checked(BEDROCK, "ListImportedModels", bedrock.list_imported_models())
    assert [(m["modelName"], m["modelArchitecture"]) for m in listed["modelSummaries"]] == [
        ("tiny-llama", "LlamaForCausalLM")
    ]
    jobs = checked(
        BEDROCK, "ListModelImportJobs", bedrock.list_model_import_jobs(statusEquals="Completed")
    )
    assert [(j["jobName"], j["importedModelArn"]) for j in jobs["modelImportJobSummaries"]] == [
        ("import-1", model_arn)
    ]
    assert bedrock.list_model_import_jobs(statusEquals="Failed")["modelImportJobSummaries"] == []

    # The runtime knows the ARN: the first call is a cold start while it loads the weights.
    error = _error(runtime.invoke_model, modelId=model_arn, body=b'{"prompt": "w1 w2"}')
    assert error["Code"] == "ModelNotReadyException" and "tiny-llama" in error["Message"]

    checked(
        BEDROCK, "DeleteImportedModel", bedrock.delete_imported_model(modelIdentifier=model_arn)
    )
    for call, kwargs in (
        (bedrock.get_imported_model, {"modelIdentifier": model_arn}),
        (bedrock.delete_imported_model, {"modelIdentifier": "tiny-llama"}),
        (runtime.invoke_model, {"modelId": model_arn, "body": b'{"prompt": "w1"}'}),
    ):
        assert _error(call, **kwargs)["Code"] == "ResourceNotFoundException"
    assert bedrock.list_imported_models()["modelSummaries"] == []


def test_a_chat_template_makes_a_llama_instruct_capable(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    job = wait(start(upload(folders["chat"], "models/chat"), import_role()))
    assert job["status"] == "Completed", job.get("failureMessage")
    model = clients.client("bedrock").get_imported_model(modelIdentifier=job["importedModelArn"])
    assert checked(BEDROCK, "GetImportedModel", model)["instructSupported"] is True


def _reconfigured(**changes: Any) -> Callable[[str, bytes], bytes]:
    def change(name: str, body: bytes) -> bytes:
        return json.dumps(json.loads(body) | changes).encode() if name == "config.json" else body

    return change


FAILURES = {
    "unsupported architecture": (
        "gpt2",
        {},
        ["GPT2LMHeadModel", "not supported", "LlamaForCausalLM"],
    ),
    "pickle-only weights": ("pickled", {}, ["pickle format only", "pytorch_model.bin"]),
    "adapter-only folder": ("adapter", {}, ["LoRA adapter", "and no model", "merge_and_unload"]),
    "missing tokenizer": (
        "good",
        {"skip": ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")},
        ["no complete tokenizer", "tokenizer_config.json", "tokenizer.json"],
    ),
    "missing tokenizer vocabulary": (
        "good",
        {"skip": ("tokenizer.json",)},
        ["no complete tokenizer", "a vocabulary"],
    ),
    "bad dtype": ("int8", {}, ["dtype I8", "model.safetensors:", "F32, F16 or BF16"]),
    "shape mismatch": (
        "good",
        {"change": _reconfigured(vocab_size=256)},
        ["model.embed_tokens.weight in model.safetensors is [128, 32]", "[256, 32]"],
    ),
    "layer count mismatch": (
        "good",
        {"change": _reconfigured(num_hidden_layers=3)},
        ["2 decoder layer(s)", "num_hidden_layers is 3"],
    ),
    "missing config": ("good", {"skip": ("config.json",)}, ["has no config.json"]),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_broken_folder_fails_the_job_naming_the_cause(
    aws: StandIn, bucket: str, folders: dict[str, Any], case: str
) -> None:
    folder, options, expected = FAILURES[case]
    uri = upload(folders[folder], "models/broken", **options)
    job = wait(start(uri, import_role()))
    assert job["status"] == "Failed"
    for text in expected:
        assert text in job["failureMessage"], (text, job["failureMessage"])
    assert "importedModelArn" not in job
    assert clients.client("bedrock").list_imported_models()["modelSummaries"] == []


def test_an_empty_prefix_fails(aws: StandIn, bucket: str) -> None:
    job = wait(start(f"s3://{BUCKET}/nothing-here/", import_role()))
    assert job["status"] == "Failed"
    assert "is empty or does not exist" in job["failureMessage"]


def test_a_role_without_the_import_job_trust_cannot_be_assumed(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    uri = upload(folders["good"], "models/good")
    role = make_import_role(
        BUCKET, "workshop-customization-role", trusted_jobs="model-customization-job"
    )
    job = wait(start(uri, role))
    assert job["status"] == "Failed"
    assert "could not assume the service role" in job["failureMessage"]
    assert f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:model-import-job/*" in job["failureMessage"]


def test_a_role_that_cannot_read_the_prefix_fails_and_an_unknown_role_is_refused(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    uri = upload(folders["good"], "models/good")
    job = wait(start(uri, import_role(read=False)))
    assert job["status"] == "Failed"
    assert "cannot read the model files" in job["failureMessage"]
    assert "s3:ListBucket" in job["failureMessage"]
    missing = f"arn:aws:iam::{ACCOUNT_ID}:role/no-such-role"
    error = _error(
        clients.client("bedrock").create_model_import_job,
        jobName="import-2",
        importedModelName="m2",
        roleArn=missing,
        modelDataSource={"s3DataSource": {"s3Uri": uri}},
    )
    assert error["Code"] == "ValidationException" and "does not exist" in error["Message"]


def test_headers_are_read_by_ranged_gets_without_the_tensors(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    weights = folders["large"] / "model.safetensors"
    size = weights.stat().st_size
    header = int.from_bytes(weights.read_bytes()[:8], "little")
    assert size > 100 * (8 + header)  # the tensors are most of the file
    uri = upload(folders["large"], "models/large")
    reads: list[tuple[str, str | None, int]] = []

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["read"] = (params["url_path"], params["headers"].get("Range"))

    def after(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        reads.append((*context["read"], int(parsed["ContentLength"])))

    s3 = aws.bedrock.client("s3")  # the client the stand-in's Bedrock reads S3 with
    s3.meta.events.register("before-call.s3.GetObject", before, unique_id="import-reads-before")
    s3.meta.events.register("after-call.s3.GetObject", after, unique_id="import-reads-after")
    try:
        job = wait(start(uri, import_role()))
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject", unique_id="import-reads-before")
        s3.meta.events.unregister("after-call.s3.GetObject", unique_id="import-reads-after")
    assert job["status"] == "Completed", job.get("failureMessage")
    on_weights = [(r, n) for path, r, n in reads if path.endswith("model.safetensors")]
    assert on_weights == [("bytes=0-7", 8), (f"bytes=8-{8 + header - 1}", header)]
    assert sum(n for _, n in on_weights) < size / 100
    model = aws.bedrock.imports.models[job["importedModelArn"]]
    assert model.parameters == folders["large_parameters"]
    assert model.units == catalog.custom_model_units(folders["large_parameters"]) == 1


def test_client_request_token_is_idempotent_and_names_are_unique(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    bedrock = clients.client("bedrock")
    uri = upload(folders["good"], "models/good")
    role = import_role()
    first = start(uri, role, clientRequestToken="token-1")
    assert start(uri, role, clientRequestToken="token-1") == first
    assert len(bedrock.list_model_import_jobs()["modelImportJobSummaries"]) == 1
    error = _error(
        bedrock.create_model_import_job,
        jobName="import-1",
        importedModelName="another-model",
        roleArn=role,
        modelDataSource={"s3DataSource": {"s3Uri": uri}},
    )
    assert error["Code"] == "ConflictException" and "import-1" in error["Message"]
    error = _error(
        bedrock.create_model_import_job,
        jobName="import-2",
        importedModelName="tiny-llama",
        roleArn=role,
        modelDataSource={"s3DataSource": {"s3Uri": uri}},
    )
    assert error["Code"] == "ConflictException" and "tiny-llama" in error["Message"]
    assert wait(first)["status"] == "Completed"
    second = wait(start(uri, role, name="import-2", model="tiny-llama-2"))
    assert second["status"] == "Completed"
    names = bedrock.list_imported_models(sortOrder="Ascending")["modelSummaries"]
    assert [m["modelName"] for m in names] == ["tiny-llama", "tiny-llama-2"]
    found = bedrock.list_imported_models(nameContains="llama-2")["modelSummaries"]
    assert [m["modelName"] for m in found] == ["tiny-llama-2"]
    page = bedrock.list_model_import_jobs(maxResults=1, sortOrder="Ascending")
    assert [j["jobName"] for j in page["modelImportJobSummaries"]] == ["import-1"]
    assert "nextToken" in page
    assert _error(bedrock.get_model_import_job, jobIdentifier="no-such-job")["Code"] == (
        "ResourceNotFoundException"
    )


def test_reset_forgets_import_jobs_and_imported_models(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    assert wait(start(upload(folders["good"], "models/good"), import_role()))["status"] == (
        "Completed"
    )
    aws.reset()
    bedrock = clients.client("bedrock")
    assert bedrock.list_model_import_jobs()["modelImportJobSummaries"] == []
    assert bedrock.list_imported_models()["modelSummaries"] == []


def test_a_role_trusting_bedrock_without_conditions_is_assumed(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = clients.client("iam").create_role(
        RoleName="open-role", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    grant("open-role")
    job = wait(start(upload(folders["good"], "models/good"), role))
    assert job["status"] == "Completed", job.get("failureMessage")


def test_an_injected_fault_fails_the_next_import_job(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    aws.inject(operation="import", outcome="Failed", message="Internal failure.", times=1)
    uri = upload(folders["good"], "models/good")
    role = import_role()
    failed = wait(start(uri, role))
    assert (failed["status"], failed["failureMessage"]) == ("Failed", "Internal failure.")
    assert wait(start(uri, role, name="import-2"))["status"] == "Completed"


@pytest.mark.parametrize(
    ("parameters", "units"), [(1_000, 1), (4_294_967_296, 1), (8_000_000_000, 2), (70e9, 17)]
)
def test_custom_model_units_follow_the_catalog_rule(parameters: float, units: int) -> None:
    # One unit per started 8 GiB of 16-bit weights (catalog.CMU_SOURCE: the stand-in's rule).
    assert catalog.custom_model_units(int(parameters)) == units


def test_a_role_that_may_read_only_some_files_fails_naming_the_first_it_may_not(
    aws: StandIn, bucket: str, folders: dict[str, Any]
) -> None:
    uri = upload(folders["good"], "models/good")
    role = import_role(read=False)
    only_config = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/models/good/config.json",
            },
        ],
    }
    clients.client("iam").put_role_policy(
        RoleName="workshop-import-role",
        PolicyName="model-read",
        PolicyDocument=json.dumps(only_config),
    )
    job = wait(start(uri, role))
    assert job["status"] == "Failed"
    assert (
        f"not allowed s3:GetObject on arn:aws:s3:::{BUCKET}/models/good/generation_config.json"
        in job["failureMessage"]
    )
