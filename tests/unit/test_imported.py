"""Custom Model Import from a lesson: upload, import job, imported model and cleanup.

Against the stand-in's control plane for model import (its runtime for imported models is
not needed here), on a tiny Llama saved by transformers in the test.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from standin import StandIn
from tests.helpers import TINY_LLAMA, make_import_role, save_tokenizer
from utils import cleanup, clients, iam, imported, s3
from utils.errors import WorkshopError
from utils.state import State

# Custom Model Import: no model units, no model a new account lacks (see tests/conftest.py).
pytestmark = pytest.mark.same_in_every_account

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tiny Llama folder as save_pretrained writes it, plus files an upload must skip."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("models") / "tiny-llama"
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).save_pretrained(folder, safe_serialization=True)
    save_tokenizer(folder)
    (folder / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    (folder / "original").mkdir()
    (folder / "original" / "consolidated.00.pth").write_bytes(b"pickle")
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    yield folder


@pytest.fixture
def ready(aws: StandIn, state: State) -> dict[str, str]:
    """The workshop bucket and role as 00_setup.ipynb makes them: the role trusts imports.

    The read-only import role of :func:`utils.iam.ensure_import_role` is run end to end in
    :func:`test_the_read_only_import_role_imports`.
    """
    bucket = s3.ensure_bucket("workshop-import-bucket", REGION, state)
    role = iam.ensure_role("workshop-role", "workshop-policy", ACCOUNT, REGION, bucket, state)
    return {"bucket": bucket, "role": role}


def test_the_read_only_import_role_imports(tiny: Path, aws: StandIn, state: State) -> None:
    bucket = s3.ensure_bucket("workshop-import-bucket", REGION, state)
    role = iam.ensure_import_role("import-role", "import-policy", ACCOUNT, REGION, bucket, state)
    job = imported.start_import(tiny, state=state, bucket=bucket, role_arn=role, progress=False)
    bedrock = clients.client("bedrock")
    try:
        model = imported.wait_for_import(job, state, interval=0.05, progress=False)
        assert model.architecture == "LlamaForCausalLM"
        # The same role may not list what lies outside the model prefix: that import fails.
        for path in imported.model_import.files_to_send(tiny):
            s3.upload_file(path, s3.uri(bucket, f"data/elsewhere/{path.name}"))
        outside = bedrock.create_model_import_job(
            jobName="outside-prefix",
            importedModelName="outside-prefix",
            roleArn=role,
            modelDataSource={"s3DataSource": {"s3Uri": s3.uri(bucket, "data/elsewhere/")}},
        )
        for _ in range(200):
            got = bedrock.get_model_import_job(jobIdentifier=outside["jobArn"])
            if got["status"] != "InProgress":
                break
            time.sleep(0.05)
        assert got["status"] == "Failed"
        assert "s3:ListBucket" in got["failureMessage"], got["failureMessage"]
    finally:
        cleanup.cleanup(state)


def _imported_models() -> list[str]:
    listed = clients.client("bedrock").list_imported_models()["modelSummaries"]
    return [m["modelName"] for m in listed]


def _jobs() -> list[dict[str, object]]:
    return list(clients.client("bedrock").list_model_import_jobs()["modelImportJobSummaries"])


def test_import_waits_reads_the_model_and_cleanup_leaves_no_imported_model(
    tiny: Path, ready: dict[str, str], state: State
) -> None:
    job = imported.start_import(
        tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
    )
    assert not job.reused and job.uri == f"s3://{ready['bucket']}/models/tiny-llama/"
    assert job.model_name == imported.model_name("custom-model-import", state.workshop_id)
    record = state.find_resource("model-import-job", job.name)
    assert record is not None and record["arn"] == job.arn and record["uri"] == job.uri
    sent = sorted(k.rsplit("/", 1)[-1] for k in s3.list_keys(ready["bucket"], "models/"))
    assert sent == [p.name for p in imported.model_import.files_to_send(tiny)]
    assert "pytorch_model.bin" not in sent and ".gitattributes" not in sent

    model = imported.wait_for_import(job, state, interval=0.05, progress=False)
    assert model.architecture == "LlamaForCausalLM"
    assert model.instruct_supported is False  # the tokenizer has no chat template
    assert model.units_per_copy == 1 and model.units_version == "v1.0"
    assert ":imported-model/" in model.arn and model.source_uri == job.uri
    assert model.name == job.model_name and model.job_name == job.name
    facts = model.to_frame().set_index("item")["value"]
    assert facts["instructSupported (converse)"] == "False"
    assert "per custom model unit" not in model.estimate(days=3).title  # its own units now
    assert state.find_resource("imported-model", model.arn) is not None

    # A re-run adopts the model of the same name instead of failing or importing again.
    again = imported.start_import(
        tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
    )
    assert again.reused and again.model_arn == model.arn
    assert imported.wait_for_import(again, state, progress=False).arn == model.arn
    assert len(_jobs()) == 1

    report = cleanup.cleanup(state)
    assert not report["remains"].any(), report
    assert set(report["kind"]) >= {"model-import-job", "imported-model"}
    assert _imported_models() == []
    assert state.resources() == []


def test_a_folder_with_problems_is_refused_before_anything_is_sent(
    tiny: Path, ready: dict[str, str], state: State, tmp_path: Path
) -> None:
    broken = Path(shutil.copytree(tiny, tmp_path / "broken"))
    (broken / "tokenizer.json").unlink()
    with pytest.raises(WorkshopError) as caught:
        imported.start_import(
            broken, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
        )
    assert "tokenizer" in caught.value.problem
    assert s3.list_keys(ready["bucket"]) == [] and _jobs() == []
    assert state.resources("model-import-job") == []


def test_a_failed_import_says_why_with_a_fix_and_is_not_reused(
    tiny: Path, ready: dict[str, str], state: State
) -> None:
    unreadable = make_import_role(ready["bucket"], "no-read-role", read=False)
    job = imported.start_import(
        tiny, state=state, bucket=ready["bucket"], role_arn=unreadable, progress=False
    )
    with pytest.raises(WorkshopError) as caught:
        imported.wait_for_import(job, state, interval=0.05, progress=False)
    assert "cannot read" in caught.value.problem
    assert "ensure_import_role" in (caught.value.fix or "")
    failed = state.find_resource("model-import-job", job.name)
    assert failed is not None and failed["status"] == "Failed"
    retry = imported.start_import(
        tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
    )
    assert not retry.reused and retry.name != job.name  # a new name: re-runs never collide
    imported.wait_for_import(retry, state, interval=0.05, progress=False)
    assert not cleanup.cleanup(state)["remains"].any()
    assert _imported_models() == []


def test_a_model_of_the_same_name_that_is_not_ours_is_not_adopted(
    tiny: Path, ready: dict[str, str], state: State, tmp_path: Path
) -> None:
    other = State(tmp_path / "other.json")
    theirs = imported.start_import(
        tiny,
        state=other,
        bucket=ready["bucket"],
        role_arn=ready["role"],
        name="shared-name",
        progress=False,
    )
    imported.wait_for_import(theirs, other, interval=0.05, progress=False)
    with pytest.raises(WorkshopError) as caught:
        imported.start_import(
            tiny,
            state=state,
            bucket=ready["bucket"],
            role_arn=ready["role"],
            name="shared-name",
            progress=False,
        )
    assert "did not make it" in caught.value.problem
    assert state.resources("model-import-job") == []
    cleanup.cleanup(other)


def test_cleanup_finds_the_model_of_a_job_nobody_waited_for(
    tiny: Path, ready: dict[str, str], state: State
) -> None:
    job = imported.start_import(
        tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
    )
    deadline = time.monotonic() + 30
    while imported.describe_job(job.arn)["status"] == "InProgress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state.resources("imported-model") == []  # the kernel "died" before recording it
    report = cleanup.cleanup(state)
    assert not report["remains"].any(), report
    assert _imported_models() == []


def test_cleanup_keeps_a_running_import_and_says_to_come_back(
    aws: StandIn, tiny: Path, ready: dict[str, str], state: State
) -> None:
    aws.bedrock.job_seconds = 30
    try:
        job = imported.start_import(
            tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
        )
        again = imported.start_import(
            tiny, state=state, bucket=ready["bucket"], role_arn=ready["role"], progress=False
        )
        assert again.reused and again.arn == job.arn  # re-attached, not a second import
        report = cleanup.cleanup(state).set_index("kind")
        row = report.loc["model-import-job"]
        assert bool(row["remains"]) and "still importing" in str(row["action"])
        assert state.find_resource("model-import-job", job.name) is not None
    finally:
        aws.bedrock.job_seconds = 0.3


def test_upload_goes_in_parts_prunes_stale_files_and_the_prefix_can_be_removed(
    aws: StandIn, tmp_path: Path
) -> None:
    bucket = "workshop-upload-bucket"
    clients.client("s3").create_bucket(Bucket=bucket)
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x" * (6 * 1024**2 + 7))  # two 5 MiB parts
    (folder / "config.json").write_text("{}")
    s3.upload_jsonl([{"old": 1}], f"s3://{bucket}/models/big/model-00002-of-00002.safetensors")
    small_parts = TransferConfig(multipart_threshold=5 * 1024**2, multipart_chunksize=5 * 1024**2)
    uri = imported.upload_folder(
        folder, f"s3://{bucket}/models/big", check=False, progress=False, config=small_parts
    )
    assert uri == f"s3://{bucket}/models/big/"
    keys = s3.list_keys(bucket, "models/big/")
    assert sorted(keys) == ["models/big/config.json", "models/big/model.safetensors"]
    head = clients.client("s3").head_object(Bucket=bucket, Key="models/big/model.safetensors")
    assert head["ContentLength"] == 6 * 1024**2 + 7
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts
    with pytest.raises(WorkshopError):
        imported.remove_model_files(f"s3://{bucket}/")  # never the whole bucket
    assert imported.remove_model_files(uri) == 2
    assert s3.list_keys(bucket) == []


def test_names_fit_bedrocks_patterns() -> None:
    import re

    name = imported.model_name("custom model import!!", "ws_1a2b3c" * 10)
    assert re.fullmatch(r"([0-9a-zA-Z][_-]?)+", name) and len(name) <= 63
    assert imported.folder_uri("b", "/tmp/My Model") == "s3://b/models/My-Model/"
