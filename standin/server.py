"""The stand-in's WSGI application: Bedrock requests to our service, the rest to moto.

Both Bedrock endpoints (control plane and runtime) sign as service ``bedrock``, and
their paths do not overlap, so one server with one port serves everything and a
single ``AWS_ENDPOINT_URL`` is all a client needs.
"""

from __future__ import annotations

import io
import json
import re
import socket
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from standin import chunked
from standin.bedrock import LocalBedrock
from standin.faults import Fault, Faults
from standin.lambdas import LambdaError, LocalLambda
from standin.restjson import ServiceError, error_response
from standin.s3policy import BucketPolicies, xml_error

_SIGNED_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
"""Lambda's Invoke (botocore's ``lambda`` model); every other Lambda call stays moto's."""
LOCAL_MARKER_HEADER = "x-workshop-local-standin"
"""Set on every Bedrock response, so a client can tell local answers from Amazon Bedrock's."""
MARKER_VALUE = "local model from the workshop's stand-in (not Amazon Bedrock)"

StartResponse = Callable[..., Any]


class _KeepAliveHandler(MotoRequestHandler):
    """moto's handler (raw paths intact), tuned for many small requests over TLS.

    HTTP/1.1 lets clients keep a connection (a TLS handshake per request is slow), and
    TCP_NODELAY stops Nagle's algorithm from holding a response's second TLS record back
    until the client acknowledges the first, which cost about 12 ms a call.
    """

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def request_handler() -> type:
    """The request handler class to give werkzeug."""
    return _KeepAliveHandler


class StandInApp:
    """WSGI entry point of the stand-in."""

    def __init__(self, job_seconds: float | None = None) -> None:
        self.bedrock = LocalBedrock(job_seconds=job_seconds)
        self.faults = Faults.from_env()
        self.bedrock.faults = self.faults
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.bucket_policies = BucketPolicies(_bucket_exists)
        self.lambdas = LocalLambda()
        self.bedrock.lambdas = self.lambdas  # RFT jobs call their grader through it

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
        if found and found.group(2) == "s3":
            return self._s3(environ, start_response)
        if found and found.group(2) == "lambda" and environ["REQUEST_METHOD"] == "POST":
            invoked = _INVOKE_PATH.match(path)
            if invoked:
                name = urllib.parse.unquote(invoked.group("name"))
                return self._lambda_invoke(environ, start_response, name, found.group(1))
        if found and found.group(2) == "servicequotas":
            return self._service_quotas(environ, start_response)
        if path == "/moto-api/reset":
            self.bucket_policies.reset()
        return self._moto(environ, start_response)

    def _moto(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """moto's answer (its WSGI app returns a body that moto types as Any)."""
        return cast("Iterable[bytes]", self.moto(environ, start_response))

    def _s3(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """S3 through the bucket policy gate (ours: moto ignores policy conditions), then moto."""
        method = environ["REQUEST_METHOD"]
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        path = raw.split("?", 1)[0]
        query = environ.get("QUERY_STRING", "")
        body = b""
        if "policy" in urllib.parse.parse_qs(query, keep_blank_values=True):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
        secure = environ.get("wsgi.url_scheme") == "https"
        answer = self.bucket_policies.handle(method, path, query, body, secure)
        if answer is None and method == "PUT":
            try:
                chunked.rewrite(environ)
            except chunked.ChunkedBodyError as err:
                answer = xml_error(err.code, str(err), "400 Bad Request")
        if answer is not None:
            status, headers, payload = answer
            start_response(status, headers)
            return [payload]
        bucket = urllib.parse.unquote(path).lstrip("/").split("/", 1)
        if method == "DELETE" and len(bucket) == 1 and bucket[0] and not query:

            def deleted(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                if status.startswith("204"):
                    self.bucket_policies.forget(bucket[0])
                return start_response(status, headers, *rest)

            return self._moto(environ, deleted)
        return self._moto(environ, start_response)

    def _lambda_invoke(
        self, environ: dict[str, Any], start_response: StartResponse, name: str, region: str
    ) -> Iterable[bytes]:
        """Lambda's Invoke, running the function's code (:mod:`standin.lambdas`)."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "RequestResponse"
        headers = [("Content-Type", "application/json"), ("X-Amzn-RequestId", str(uuid.uuid4()))]
        try:
            fault = self.faults.take("lambda:Invoke") if self.faults.rules() else None
            if fault is not None:
                raise LambdaError(fault.error or "ServiceException", fault.text, fault.status)
            if kind == "DryRun":
                self.lambdas.check(name, region)
                status, payload = 204, b""
            elif kind == "Event":
                request_id = self.lambdas.invoke_later(name, body, region=region)
                headers[1] = ("X-Amzn-RequestId", request_id)
                status, payload = 202, b""
            elif kind == "RequestResponse":
                result = self.lambdas.invoke(name, body, region=region)
                status, payload = result.status, result.payload
                headers[1] = ("X-Amzn-RequestId", result.request_id)
                headers.append(("X-Amz-Executed-Version", result.executed_version))
                if result.function_error:
                    headers.append(("X-Amz-Function-Error", result.function_error))
                if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
                    headers.append(("X-Amz-Log-Result", result.log_tail))
            else:
                raise LambdaError(
                    "InvalidParameterValueException",
                    f"Unsupported invocation type {kind}: expected RequestResponse, Event "
                    "or DryRun.",
                    400,
                )
        except LambdaError as err:
            # Lambda's JSON errors: the code in x-amzn-ErrorType, {"Type", "Message"} in the body
            # (botocore's lambda model; two of its shapes spell it "message").
            status = err.status
            lower = err.code in ("InvalidRequestContentException", "RequestTooLargeException")
            text = json.dumps({"Type": "User", ("message" if lower else "Message"): err.message})
            payload_bytes = text.encode()
            headers.append(("x-amzn-ErrorType", err.code))
            start_response(
                f"{status} {_REASONS.get(status, 'Status')}",
                [*headers, ("Content-Length", str(len(payload_bytes)))],
            )
            return [payload_bytes]
        start_response(
            f"{status} {_REASONS.get(status, 'Status')}",
            [*headers, ("Content-Length", str(len(payload)))],
        )
        return [payload]

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

    def _service_quotas(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Service Quotas: moto lacks ListServiceQuotas; the stand-in lists its Bedrock quotas."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.endswith(".ListServiceQuotas"):
            return self._moto(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        asked = json.loads(environ["wsgi.input"].read(length) or b"{}")
        found = _SIGNED_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = found.group(1) if found else self.bedrock.region
        status = "200 OK"
        payload: dict[str, Any] = {}
        if asked.get("ServiceCode") == "bedrock":
            payload = {"Quotas": self.bedrock.quotas.listing(region, self.bedrock.account_id)}
        else:
            status = "400 Bad Request"
            payload = {
                "__type": "NoSuchResourceException",
                "message": f"The local stand-in keeps no quotas for {asked.get('ServiceCode')}.",
            }
        body = json.dumps(payload).encode()
        start_response(
            status,
            [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
        )
        return [body]

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
        if resp.stream is None:
            out_headers["Content-Length"] = str(len(resp.body))
        # Without a Content-Length werkzeug sends the parts chunked, each as it is yielded,
        # so a streamed answer reaches the client token by token.
        start_response(
            f"{resp.status} {_REASONS.get(resp.status, 'Status')}", list(out_headers.items())
        )
        return resp.stream if resp.stream is not None else [resp.body]

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
        status = "200 OK"
        payload: dict[str, Any] = {"ok": True}
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
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    409: "Conflict",
    413: "Payload Too Large",
    424: "Failed Dependency",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _bucket_exists(name: str) -> bool:
    """Whether moto's S3 holds a bucket of that name (in the stand-in's one account)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    try:
        s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(name)
    except Exception:  # moto's MissingBucket; any lookup failure means not there
        return False
    return True


def build_app(job_seconds: float | None = None) -> StandInApp:
    """The WSGI application of a new stand-in (all state empty)."""
    return StandInApp(job_seconds=job_seconds)
