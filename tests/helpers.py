"""Helpers shared by tests: builders for the stand-in, botocore shape checks, notebook runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import nbformat
import papermill

from runner.run import with_kernel_start_retries
from standin.bedrock import ACCOUNT_ID
from standin.restjson import output_problems
from utils import clients, iam, paths

REGION = "us-east-1"

BEDROCK = botocore.session.get_session().get_service_model("bedrock")
RUNTIME = botocore.session.get_session().get_service_model("bedrock-runtime")

# The workshop's notebooks, as paths from the repository root.
SETUP = "00_setup.ipynb"
FINE_TUNING = "fine-tuning/01_fine_tune_and_evaluate.ipynb"
MULTIMODAL = "fine-tuning/02_fine_tune_multimodal.ipynb"
PRETRAINING = "continued-pretraining/01_continued_pretraining.ipynb"
DISTILLATION = "distillation/01_distillation_from_prompts.ipynb"
DISTILLATION_LOGS = "distillation/02_distillation_from_invocation_logs.ipynb"
MODEL_IMPORT = "custom-model-import/01_adapt_and_import.ipynb"
RFT = "fine-tuning/03_reinforcement_fine_tuning.ipynb"
CLEANUP = "03_cleanup.ipynb"


def checked(service_model: Any, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """Assert a parsed response matches the operation's output shape, enums included."""
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = output_problems(service_model.operation_model(operation), body)
    assert problems == [], problems
    return response


def conversation(prompt: str, answer: str) -> dict[str, Any]:
    """One ``bedrock-conversation-2024`` record."""
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You summarize dialogues."}],
        "messages": [
            {"role": "user", "content": [{"text": prompt}]},
            {"role": "assistant", "content": [{"text": answer}]},
        ],
    }


def dialogue_records(n: int = 24) -> list[dict[str, Any]]:
    """``n`` small but real dialogue-summary records (varied names and items)."""
    names = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo"]
    items = ["jacket", "lamp", "kettle", "printer", "bicycle", "sofa"]
    out = []
    for i in range(n):
        name, item = names[i % len(names)], items[i % len(items)]
        dialogue = (
            f"#Person1#: Hello, I'm {name}. I bought a {item} here last week.\n"
            f"#Person2#: What seems to be the problem with the {item}?\n"
            f"#Person1#: It stopped working after two days. I would like a refund.\n"
            f"#Person2#: Of course, {name}. Do you have the receipt?\n"
            "#Person1#: Yes, here it is."
        )
        summary = f"{name} returns a broken {item} and #Person2# agrees to a refund."
        out.append(conversation("Summarize the following conversation.\n\n" + dialogue, summary))
    return out


def make_bucket(name: str = "workshop-test-bucket") -> str:
    """A bucket in the stand-in."""
    clients.client("s3").create_bucket(Bucket=name)
    return name


def put_jsonl(bucket: str, key: str, records: list[dict[str, Any]]) -> str:
    """Records as a JSON Lines object; returns its URI."""
    body = "".join(json.dumps(r) + "\n" for r in records)
    clients.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
    return f"s3://{bucket}/{key}"


def make_role(name: str = "workshop-test-role") -> str:
    """A role Bedrock may assume, as the workshop makes it; returns its ARN."""
    doc = json.dumps(iam.trust_policy(ACCOUNT_ID, REGION))
    return clients.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=doc)["Role"][
        "Arn"
    ]


def make_import_role(
    bucket: str,
    name: str = "workshop-import-role",
    *,
    read: bool = True,
    trusted_jobs: str = "model-import-job",
) -> str:
    """A service role Bedrock may assume for this account's model import jobs; returns its ARN.

    Written here, not by :func:`utils.iam.ensure_import_role`, so the stand-in's tests do not
    rest on the workshop's policies. It trusts ``model-import-job/*`` of the account and
    Region (or the jobs ``trusted_jobs`` names) and may list and read ``bucket`` (with
    ``read=False``: another bucket only).
    """
    iam_api = clients.client("iam")
    source = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:{trusted_jobs}/*"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": source},
                },
            }
        ],
    }
    arn = iam_api.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    grant_read(name, bucket if read else "some-other-bucket")
    return str(arn)


def grant_read(role: str, bucket: str) -> None:
    """An inline policy letting ``role`` list ``bucket`` and read its objects."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        ],
    }
    clients.client("iam").put_role_policy(
        RoleName=role, PolicyName="model-read", PolicyDocument=json.dumps(policy)
    )


TINY_LLAMA = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 128,
}
"""A ``transformers.LlamaConfig`` small enough to build and save in milliseconds."""


def save_tokenizer(folder: Path, chat_template: str | None = None) -> None:
    """A word-level tokenizer built here (no Hub), saved as tokenizer.json and its config."""
    # Imported here: most tests that use these helpers never need tokenizers or transformers.
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "[PAD]": 1} | {f"w{i}": i + 2 for i in range(126)}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(folder)


def put_tiny_llama(bucket: str, prefix: str) -> str:
    """A one-layer Llama folder written by hand (no torch): config, zero weights, tokenizer.

    Returns the folder's URI. For tests that need an importable folder, not a useful model.
    """
    import numpy as np
    from safetensors.numpy import save

    hidden, inner, vocab = 8, 16, 16
    shapes = {
        "model.embed_tokens.weight": (vocab, hidden),
        "model.norm.weight": (hidden,),
        "lm_head.weight": (vocab, hidden),
        "model.layers.0.input_layernorm.weight": (hidden,),
        "model.layers.0.post_attention_layernorm.weight": (hidden,),
        "model.layers.0.self_attn.q_proj.weight": (hidden, hidden),
        "model.layers.0.self_attn.k_proj.weight": (hidden, hidden),
        "model.layers.0.self_attn.v_proj.weight": (hidden, hidden),
        "model.layers.0.self_attn.o_proj.weight": (hidden, hidden),
        "model.layers.0.mlp.gate_proj.weight": (inner, hidden),
        "model.layers.0.mlp.up_proj.weight": (inner, hidden),
        "model.layers.0.mlp.down_proj.weight": (hidden, inner),
    }
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": inner,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "vocab_size": vocab,
    }
    files = {
        "config.json": json.dumps(config).encode(),
        "model.safetensors": save({k: np.zeros(v, dtype=np.float32) for k, v in shapes.items()}),
        "tokenizer_config.json": b"{}",
        "tokenizer.json": b"{}",
    }
    s3 = clients.client("s3")
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    return f"s3://{bucket}/{prefix}/"


NOTHING_LEFT = {
    "buckets": [],
    "roles": [],
    "policies": [],
    "models": [],
    "throughputs": [],
    "deployments": [],
    "running jobs": [],
    "invocation logging": [],
    "imported models": [],
    "lambda functions": [],
}


def remaining() -> dict[str, list[str]]:
    """Every resource of the kinds the workshop creates that still exists in the stand-in."""
    bedrock = clients.client("bedrock")
    iam_api = clients.client("iam")
    jobs = bedrock.list_model_customization_jobs(statusEquals="InProgress")
    return {
        "buckets": [b["Name"] for b in clients.client("s3").list_buckets()["Buckets"]],
        "roles": [r["RoleName"] for r in iam_api.list_roles()["Roles"]],
        "policies": [p["PolicyName"] for p in iam_api.list_policies(Scope="Local")["Policies"]],
        "models": [m["modelName"] for m in bedrock.list_custom_models()["modelSummaries"]],
        "throughputs": [
            p["provisionedModelName"]
            for p in bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]
        ],
        "deployments": [
            d["customModelDeploymentName"]
            for d in bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
        ],
        "running jobs": [j["jobName"] for j in jobs["modelCustomizationJobSummaries"]],
        "imported models": [
            m["modelName"] for m in bedrock.list_imported_models()["modelSummaries"]
        ],
        "lambda functions": [
            f["FunctionName"] for f in clients.client("lambda").list_functions()["Functions"]
        ],
        "invocation logging": [
            config["s3Config"]["bucketName"]
            for config in [
                bedrock.get_model_invocation_logging_configuration().get("loggingConfig")
            ]
            if config
        ],
    }


def execute(name: str, out_dir: Path, **params: Any) -> nbformat.NotebookNode:
    """Run one notebook with papermill in its own folder, as the runner does.

    papermill only warns about a parameter the notebook does not declare, so a test that
    misspells one would silently run with the default; this refuses it instead.
    """
    source = paths.ROOT / name
    unknown = set(params) - set(papermill.inspect_notebook(str(source)))
    assert not unknown, f"{name} has no parameters {sorted(unknown)}"
    target = out_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with_kernel_start_retries(
        lambda: papermill.execute_notebook(
            str(source),
            str(target),
            parameters=params,
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
        ),
        name,
    )
    return nbformat.read(target, as_version=4)


def text_of(nb: nbformat.NotebookNode) -> str:
    """All text the notebook printed or displayed."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(str(out.get("text", "")))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
            parts.append(str(out.get("evalue", "")))
    return "\n".join(parts)


def _no_such(err: Exception, *codes: str) -> bool:
    return getattr(err, "response", {}).get("Error", {}).get("Code") in codes


def account_snapshot() -> dict[str, Any]:
    """What the stand-in's account holds in S3 and IAM, as the API describes it.

    Enough to rebuild it with :func:`restore_account`: buckets with their configuration,
    customer-managed policies with their default version, roles with their trust, tags and
    attached policies. Dates and generated ids are left out; they differ on every build.
    """
    s3 = clients.client("s3")
    iam_api = clients.client("iam")
    buckets = []
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        assert s3.list_objects_v2(Bucket=name).get("KeyCount", 0) == 0, f"{name} holds objects"
        entry: dict[str, Any] = {"Name": name}
        for field, call, key in (
            ("PublicAccessBlock", s3.get_public_access_block, "PublicAccessBlockConfiguration"),
            ("Encryption", s3.get_bucket_encryption, "ServerSideEncryptionConfiguration"),
            ("Tagging", s3.get_bucket_tagging, "TagSet"),
            ("Policy", s3.get_bucket_policy, "Policy"),
        ):
            try:
                entry[field] = call(Bucket=name)[key]
            except Exception as err:  # a bucket without that configuration
                if not _no_such(
                    err,
                    "NoSuchPublicAccessBlockConfiguration",
                    "ServerSideEncryptionConfigurationNotFoundError",
                    "NoSuchTagSet",
                    "NoSuchBucketPolicy",
                ):
                    raise
        entry["Region"] = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        buckets.append(entry)
    policies = []
    for policy in iam_api.list_policies(Scope="Local")["Policies"]:
        version = iam_api.get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        tags = iam_api.list_policy_tags(PolicyArn=policy["Arn"])["Tags"]
        policies.append(
            {
                "PolicyName": policy["PolicyName"],
                "Path": policy["Path"],
                "Document": version,
                "Tags": tags,
            }
        )
    roles = []
    for role in iam_api.list_roles()["Roles"]:
        found = iam_api.get_role(RoleName=role["RoleName"])["Role"]
        attached = iam_api.list_attached_role_policies(RoleName=role["RoleName"])
        roles.append(
            {
                "RoleName": found["RoleName"],
                "Path": found["Path"],
                "Trust": found["AssumeRolePolicyDocument"],
                "Description": found.get("Description", ""),
                "Tags": found.get("Tags", []),
                "Attached": sorted(p["PolicyArn"] for p in attached["AttachedPolicies"]),
            }
        )
    return {"buckets": buckets, "policies": policies, "roles": roles}


def _document(value: Any) -> str:
    """A policy document as the create calls take it (the API may hand back a dict)."""
    return value if isinstance(value, str) else json.dumps(value)


def restore_account(snapshot: dict[str, Any]) -> None:
    """Rebuild in an empty stand-in account what :func:`account_snapshot` described."""
    s3 = clients.client("s3")
    iam_api = clients.client("iam")
    for bucket in snapshot["buckets"]:
        name = bucket["Name"]
        where = bucket["Region"]
        s3.create_bucket(
            Bucket=name,
            **({"CreateBucketConfiguration": {"LocationConstraint": where}} if where else {}),
        )
        if "PublicAccessBlock" in bucket:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=bucket["PublicAccessBlock"]
            )
        if "Encryption" in bucket:
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=bucket["Encryption"]
            )
        if "Tagging" in bucket:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": bucket["Tagging"]})
        if "Policy" in bucket:
            s3.put_bucket_policy(Bucket=name, Policy=bucket["Policy"])
    for policy in snapshot["policies"]:
        iam_api.create_policy(
            PolicyName=policy["PolicyName"],
            Path=policy["Path"],
            PolicyDocument=_document(policy["Document"]),
            **({"Tags": policy["Tags"]} if policy["Tags"] else {}),
        )
    for role in snapshot["roles"]:
        iam_api.create_role(
            RoleName=role["RoleName"],
            Path=role["Path"],
            AssumeRolePolicyDocument=_document(role["Trust"]),
            Description=role["Description"],
            **({"Tags": role["Tags"]} if role["Tags"] else {}),
        )
        for arn in role["Attached"]:
            iam_api.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)


def bare_venv(venv: Path, package: str, timeout: float = 900) -> Path:
    """A new venv at ``venv`` with nothing but ``package`` (its newest release); its python.

    Made from the base interpreter, so that it inherits nothing of the environment the tests
    run in: what a learner's fresh JupyterLab or kernel starts from.
    """
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--progress-bar", "off", package],
        check=True,
        timeout=timeout,
    )
    return python
