"""The stand-in's WSGI application: Bedrock requests to our service, the rest to moto.

Both Bedrock endpoints (control plane and runtime) sign as service ``bedrock``, and
their paths do not overlap, so one server with one port serves everything and a
single ``AWS_ENDPOINT_URL`` is all a client needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from utils.clients import LOCAL_MARKER_HEADER
from utils.local.bedrock import LocalBedrock

_SIGNED_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")
MARKER_VALUE = "local model from utils.local (not Amazon Bedrock)"

StartResponse = Callable[..., Any]


def request_handler() -> type:
    """The request handler class to give werkzeug (moto's, which keeps raw paths intact)."""
    return MotoRequestHandler


class StandInApp:
    """WSGI entry point of the stand-in."""

    def __init__(self, job_seconds: float | None = None) -> None:
        self.bedrock = LocalBedrock(job_seconds=job_seconds)
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_workshop/"):
            return self._admin(environ, start_response, path)
        found = _SIGNED_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if found and found.group(2) == "bedrock":
            return self._bedrock(environ, start_response, region=found.group(1))
        return self.moto(environ, start_response)

    def _bedrock(
        self, environ: dict[str, Any], start_response: StartResponse, region: str
    ) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        raw_path = raw.split("?", 1)[0]
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        resp = self.bedrock.handle(
            environ["REQUEST_METHOD"],
            raw_path,
            environ.get("QUERY_STRING", ""),
            headers,
            body,
            region=region,
        )
        out_headers = dict(resp.headers)
        out_headers[LOCAL_MARKER_HEADER] = MARKER_VALUE
        out_headers["Content-Length"] = str(len(resp.body))
        start_response(
            f"{resp.status} {_REASONS.get(resp.status, 'Status')}", list(out_headers.items())
        )
        return [resp.body]

    def _admin(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        status, payload = "200 OK", {"ok": True}
        if path == "/_workshop/health":
            payload = {"ok": True, "service": "bedrock-workshop-local-standin"}
        elif path == "/_workshop/reset" and environ["REQUEST_METHOD"] == "POST":
            self.bedrock.reset()
        else:
            status, payload = "404 Not Found", {"ok": False, "error": f"unknown path {path}"}
        body = json.dumps(payload).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def build_app(job_seconds: float | None = None) -> StandInApp:
    """The WSGI application of a new stand-in (all state empty)."""
    return StandInApp(job_seconds=job_seconds)
