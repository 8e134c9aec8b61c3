"""The stand-in's WSGI application: Bedrock requests to our service, the rest to moto.

Both Bedrock endpoints (control plane and runtime) sign as service ``bedrock``, and
their paths do not overlap, so one server with one port serves everything and a
single ``AWS_ENDPOINT_URL`` is all a client needs.
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from utils.clients import LOCAL_MARKER_HEADER
from utils.local.bedrock import LocalBedrock
from utils.local.faults import Fault, Faults
from utils.local.restjson import ServiceError, error_response

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
        self.faults = Faults.from_env()
        self.bedrock.faults = self.faults
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_workshop/"):
            return self._admin(environ, start_response, path)
        found = _SIGNED_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if found and found.group(2) == "bedrock":
            fault = self._bedrock_fault(environ)
            if fault is not None:
                return self._send(start_response, error_response(
                    ServiceError(fault.error or "", fault.text, fault.status)
                ), marked=True)  # fmt: skip
            return self._bedrock(environ, start_response, region=found.group(1))
        if found and found.group(2) in ("iam", "sts") and self.faults.rules():
            fault = self._query_fault(environ, found.group(2))
            if fault is not None:
                return self._query_error(start_response, fault)
        return self.moto(environ, start_response)

    def _bedrock_fault(self, environ: dict[str, Any]) -> Fault | None:
        if not self.faults.rules():
            return None
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        matched = self.bedrock.service.match(environ["REQUEST_METHOD"], raw.split("?", 1)[0])
        return self.faults.take(matched[0].name) if matched else None

    def _query_fault(self, environ: dict[str, Any], service: str) -> Fault | None:
        """The fault for an IAM or STS call, read from its form body (put back for moto)."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        form.update(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
        action = (form.get("Action") or [""])[0]
        return self.faults.take(f"{service}:{action}") if action else None

    @staticmethod
    def _query_error(start_response: StartResponse, fault: Fault) -> Iterable[bytes]:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{fault.error}</Code><Message>{fault.text}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        start_response(
            f"{fault.status} {_REASONS.get(fault.status, 'Status')}",
            [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def _send(start_response: StartResponse, resp: Any, marked: bool) -> Iterable[bytes]:
        out_headers = dict(resp.headers)
        if marked:
            out_headers[LOCAL_MARKER_HEADER] = MARKER_VALUE
        out_headers["Content-Length"] = str(len(resp.body))
        start_response(
            f"{resp.status} {_REASONS.get(resp.status, 'Status')}", list(out_headers.items())
        )
        return [resp.body]

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
        return self._send(start_response, resp, marked=True)

    def _admin(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        status, payload = "200 OK", {"ok": True}
        if path == "/_workshop/health":
            payload = {"ok": True, "service": "bedrock-workshop-local-standin"}
        elif path == "/_workshop/reset" and environ["REQUEST_METHOD"] == "POST":
            self.bedrock.reset()
            self.faults.clear()
        elif path == "/_workshop/faults":
            status, payload = self._admin_faults(environ)
        else:
            status, payload = "404 Not Found", {"ok": False, "error": f"unknown path {path}"}
        body = json.dumps(payload).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _admin_faults(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        method = environ["REQUEST_METHOD"]
        if method == "DELETE":
            self.faults.clear()
        elif method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                given = json.loads(environ["wsgi.input"].read(length) or b"[]")
                for rule in given if isinstance(given, list) else [given]:
                    self.faults.add(rule)
            except (ValueError, TypeError) as err:
                return "400 Bad Request", {"ok": False, "error": str(err)}
        return "200 OK", {"ok": True, "faults": self.faults.rules()}


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def build_app(job_seconds: float | None = None) -> StandInApp:
    """The WSGI application of a new stand-in (all state empty)."""
    return StandInApp(job_seconds=job_seconds)
