"""Sessions and clients for whichever backend the environment points at: the stand-in or AWS.

botocore reads ``AWS_ENDPOINT_URL`` (and per-service ``AWS_ENDPOINT_URL_<SERVICE>``)
from the environment, so the same code talks to the local stand-in or to AWS
depending only on the environment it runs in.

Modules reach these through :mod:`utils.clients`, which re-exports them. Only the modules
that :func:`utils.clients.use_backend` itself depends on (:mod:`utils.billing`, whose
reminder it installs, and :mod:`utils.cost`, which prices that reminder) import them from
here, so that none of them imports :mod:`utils.clients` back.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import urllib.parse
from typing import Any, Literal

import boto3
from botocore.config import Config

Backend = Literal["local", "aws"]
DEFAULT_REGION = "us-east-1"
USER_AGENT = "bedrock-customization-workshop/0.1"


def _config() -> Config:
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    # Adaptive mode backs off on throttling, which Bedrock returns freely. AWS_MAX_ATTEMPTS
    # counts the first try, as total_max_attempts does (botocore's max_attempts does not).
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": attempts},
        user_agent_extra=USER_AGENT,
        connect_timeout=10,
        read_timeout=120,
    )


def region() -> str:
    """The region: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile's, else us-east-1."""
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return env or boto3.session.Session().region_name or DEFAULT_REGION


def endpoint_override() -> str | None:
    """The ``AWS_ENDPOINT_URL`` in the environment, if any."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def _is_loopback(url: str) -> bool:
    host = urllib.parse.urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def current_backend() -> Backend:
    """``local`` when the environment points AWS clients at a loopback stand-in, else ``aws``."""
    url = endpoint_override()
    return "local" if url and _is_loopback(url) else "aws"


def session(region_name: str | None = None) -> boto3.Session:
    """A boto3 session for the given region (default: :func:`region`)."""
    return boto3.Session(region_name=region_name or region())


@functools.lru_cache(maxsize=64)
def _cached_client(service: str, region_name: str, endpoint_key: str) -> Any:
    del endpoint_key  # part of the cache key only: a new endpoint means a new client
    return session(region_name).client(service, config=_config())


def client(service: str, region_name: str | None = None) -> Any:
    """A boto3 client; cached per service, region and the ``AWS_*`` environment.

    Every ``AWS_*`` variable can shape a client (endpoints, CA bundle, credentials, profile,
    ``AWS_MAX_ATTEMPTS``), so a change to any of them gets a client made for it.
    """
    key = json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _cached_client(service, region_name or region(), key)


def clear_cache() -> None:
    """Forget cached clients (after the environment changed)."""
    _cached_client.cache_clear()
