"""The client factory: which backend the environment points at, and clear errors when wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from standin import StandIn
from utils import billing, clients
from utils.errors import WorkshopError


def test_backend_follows_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert clients.current_backend() == "aws"
    for url in ("http://127.0.0.1:5000", "http://localhost:1", "http://[::1]:80"):
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        assert clients.current_backend() == "local"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://bedrock.example.com")
    assert clients.current_backend() == "aws"


def test_use_backend_local_reports_the_standin(aws: StandIn) -> None:
    ctx = clients.use_backend("local", "us-east-1")
    assert ctx.backend == "local"
    assert ctx.account_id == "123456789012"
    assert ctx.endpoint == aws.endpoint
    assert "LOCAL STAND-IN" in ctx.banner()


def test_use_backend_installs_the_billing_reminder(
    aws: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: list[bool] = []
    monkeypatch.setattr(billing, "install", lambda: installed.append(True))
    clients.use_backend("local", "us-east-1")
    assert installed == [True]


def test_the_reminder_and_the_prices_it_needs_do_not_import_clients() -> None:
    # clients imports billing (for use_backend), and billing prices with cost: if either
    # imported clients, the modules would form a cycle again.
    code = "import sys, utils.billing, utils.cost; print('utils.clients' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_local_without_a_standin_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(WorkshopError) as caught:
        clients.use_backend("local", "us-east-1")
    assert "make lab" in str(caught.value)
    assert "python -m runner.lab" in str(caught.value)


def test_local_picks_up_a_standin_started_from_a_shell(
    monkeypatch: pytest.MonkeyPatch, aws: StandIn
) -> None:
    record = Path(clients.standin_file())
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": os.getpid(), "env": aws.env}))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    try:
        ctx = clients.use_backend("local", "us-east-1")
        assert ctx.endpoint == aws.endpoint
    finally:
        record.unlink()
        aws.apply_env()


def test_aws_refuses_a_loopback_endpoint(aws: StandIn) -> None:
    with pytest.raises(WorkshopError, match="Unset AWS_ENDPOINT_URL"):
        clients.use_backend("aws", "us-east-1")


def test_aws_without_credentials_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in list(os.environ):
        if var.startswith("AWS_") and var not in ("AWS_MAX_ATTEMPTS",):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(WorkshopError) as caught:
        clients.use_backend("aws", "us-east-1")
    assert "No AWS credentials" in str(caught.value)
    assert "aws configure" in str(caught.value)


def test_bad_backend_name() -> None:
    with pytest.raises(WorkshopError, match="'local' or 'aws'"):
        clients.use_backend("cloud")


def test_clients_are_cached_per_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    first = clients.client("s3", "us-east-1")
    assert clients.client("s3", "us-east-1") is first
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    assert clients.client("s3", "us-east-1") is not first


def test_a_change_to_any_aws_variable_gets_a_client_made_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    first = clients.client("sts", "us-east-1")
    assert first.meta.config.retries["total_max_attempts"] == 3
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    other = clients.client("sts", "us-east-1")
    assert other is not first and other.meta.config.retries["total_max_attempts"] == 5
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDANOTHERKEY")
    assert clients.client("sts", "us-east-1") is not first
    if key is None:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    else:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    assert clients.client("sts", "us-east-1") is first  # the same environment, the same one


def test_error_renders_without_traceback_in_ipython() -> None:
    err = WorkshopError("The bucket is gone.", "Run 00_setup.ipynb.")
    assert err._render_traceback_() == [
        "WorkshopError: The bucket is gone.\nWhat to do: Run 00_setup.ipynb."
    ]


@pytest.mark.parametrize(
    ("arn", "sagemaker"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/"
            "AmazonSageMaker-ExecutionRole-20240101T000000/SageMaker",
            True,
        ),
        ("arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-2024", True),
        ("arn:aws:sts::123456789012:assumed-role/Admin/alice", False),
        ("arn:aws:iam::123456789012:user/AmazonSageMaker-ExecutionRole-x", False),  # a user
        ("arn:aws:iam::123456789012:user/moto", False),
        ("not an arn", False),
    ],
)
def test_a_sagemaker_execution_role_is_named_as_such(arn: str, sagemaker: bool) -> None:
    said = clients.describe_principal(arn)
    assert said.startswith(arn)
    assert ("SageMaker AI execution role" in said) is sagemaker
    assert ("iam:PassRole" in said) is sagemaker
