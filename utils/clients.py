"""The one way in to AWS: sessions and clients, for the local stand-in and for a real account alike.

botocore reads ``AWS_ENDPOINT_URL`` (and per-service ``AWS_ENDPOINT_URL_<SERVICE>``)
from the environment, so the same code talks to the local stand-in or to AWS
depending only on the environment it runs in.

A notebook starts with :func:`use_backend`, which checks that the environment matches the
backend it asked for and installs :mod:`utils.billing`'s reminder. The sessions and clients
themselves are made in :mod:`utils.sessions` and re-exported here, so ``clients.client(...)``
is how every module gets one.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from dataclasses import dataclass

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from utils import billing, paths
from utils.errors import WorkshopError, explain
from utils.sessions import (
    DEFAULT_REGION,
    USER_AGENT,
    Backend,
    clear_cache,
    client,
    current_backend,
    endpoint_override,
    region,
    session,
)

LOCAL_MARKER_HEADER = "x-workshop-local-standin"
"""Response header the local stand-in sets on every Bedrock response."""


def standin_file() -> os.PathLike[str]:
    """Where a running ``python -m runner.lab`` records its endpoint."""
    return paths.workshop_dir() / "standin.json"


def _running_standin() -> dict[str, str] | None:
    """The environment of a live stand-in recorded by ``python -m runner.lab``, if any."""
    try:
        with open(standin_file(), encoding="utf-8") as fh:
            info = json.load(fh)
        url = info["env"]["AWS_ENDPOINT_URL"]
        bundle = info["env"].get("AWS_CA_BUNDLE")
        context = ssl.create_default_context(cafile=bundle) if bundle else None
        with urllib.request.urlopen(f"{url}/_workshop/health", timeout=2, context=context) as resp:
            if resp.status == 200:
                return dict(info["env"])
    except (OSError, ValueError, KeyError):
        return None
    return None


@dataclass(frozen=True)
class Context:
    """Who and where the notebook runs: backend, region, account and principal."""

    backend: Backend
    region: str
    account_id: str
    principal_arn: str
    endpoint: str | None

    def banner(self) -> str:
        """One line for the top of a notebook saying where its calls go."""
        where = (
            f"the LOCAL STAND-IN at {self.endpoint} (no AWS account is used, nothing is billed)"
            if self.backend == "local"
            else f"AWS account {self.account_id} in {self.region} (real resources, real costs)"
        )
        return f"Backend: {self.backend} | region: {self.region} | calls go to {where}"

    def principal(self) -> str:
        """The principal's ARN, and what kind of principal it is where that matters."""
        return describe_principal(self.principal_arn)


SAGEMAKER_ROLE_PREFIX = "AmazonSageMaker-ExecutionRole-"
"""How the execution roles SageMaker AI creates for a domain or notebook are named: the
SageMaker API reference's own example is ``role/service-role/AmazonSageMaker-ExecutionRole-
20180111T151298`` (CreateFlowDefinition RoleArn, read 2026-12-02). A role named otherwise is
not recognised: nothing in an assumed-role ARN says that SageMaker assumed it."""


def describe_principal(arn: str) -> str:
    """``arn``, followed by what it is when it is a SageMaker execution role (Studio's)."""
    parts = arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 else ""
    kind, _, rest = resource.partition("/")
    role = rest.split("/")[0] if kind == "assumed-role" else rest.rsplit("/", 1)[-1]
    if kind in ("assumed-role", "role") and role.startswith(SAGEMAKER_ROLE_PREFIX):
        return (
            f"{arn} (a SageMaker AI execution role, as in SageMaker Studio: it needs the "
            f"permissions the README lists, including iam:PassRole on the workshop's roles)"
        )
    return arn


def use_backend(backend: str, region_name: str | None = None) -> Context:
    """Check that the environment matches ``backend`` and return who and where we are.

    For ``local``, a stand-in must be reachable: started by ``make workshop``/``make lab``
    or by ``python -m runner.lab`` (whose endpoint is then picked up here). For ``aws``,
    the environment must not point at a loopback stand-in and credentials must work.
    """
    if backend not in ("local", "aws"):
        raise WorkshopError(
            f"backend must be 'local' or 'aws', not {backend!r}.",
            "Set the notebook parameter backend to 'local' (no account) or 'aws'.",
        )
    if region_name:
        os.environ["AWS_DEFAULT_REGION"] = region_name
        os.environ["AWS_REGION"] = region_name
    if backend == "local" and current_backend() != "local":
        env = _running_standin()
        if env is None:
            raise WorkshopError(
                "backend='local' but no local stand-in is running.",
                "Start one with `make lab` (JupyterLab wired to it) or "
                "`python -m runner.lab` in a terminal, or run the series with "
                "`make workshop`.",
            )
        os.environ.update(env)
        if region_name:
            os.environ["AWS_DEFAULT_REGION"] = region_name
            os.environ["AWS_REGION"] = region_name
    if backend == "aws" and current_backend() == "local":
        raise WorkshopError(
            f"backend='aws' but AWS_ENDPOINT_URL is a local stand-in ({endpoint_override()}).",
            "Unset AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_*) or run with backend='local'.",
        )
    clear_cache()
    billing.install()  # every error from now on also says what still bills by the hour
    reg = region()
    try:
        ident = client("sts", reg).get_caller_identity()
    except NoCredentialsError as exc:
        raise WorkshopError(
            "No AWS credentials were found.",
            "Run `aws configure` or `aws sso login` (or set AWS_PROFILE), then restart the kernel.",
        ) from exc
    except NoRegionError as exc:
        raise WorkshopError("No AWS region is set.", "Set the notebook parameter region.") from exc
    except ClientError as exc:
        raise explain(
            exc,
            "Checking the credentials with STS GetCallerIdentity",
            default="Refresh them (`aws sso login`, new keys) and restart the kernel.",
        ) from exc
    return Context(
        backend=current_backend(),
        region=reg,
        account_id=ident["Account"],
        principal_arn=ident["Arn"],
        endpoint=endpoint_override(),
    )


__all__ = [
    "DEFAULT_REGION",
    "LOCAL_MARKER_HEADER",
    "USER_AGENT",
    "Backend",
    "Context",
    "clear_cache",
    "client",
    "current_backend",
    "endpoint_override",
    "region",
    "session",
    "standin_file",
    "use_backend",
]
