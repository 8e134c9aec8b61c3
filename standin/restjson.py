"""A server side for AWS rest-json services, driven by botocore's own service models.

Requests are routed and decoded from the operation's ``http`` section and input shape;
responses are checked against the output shape (types, required members and enums,
which botocore's client-side validation does not check) before they are encoded. A
response that does not match the model is a bug in the stand-in, so it becomes a 500
rather than something a learner could mistake for Bedrock's behaviour.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import botocore.loaders
from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    ServiceModel,
    Shape,
    StringShape,
    StructureShape,
)
from botocore.utils import parse_timestamp
from botocore.validate import ParamValidator

from standin import eventstream

Handler = Callable[[dict[str, Any]], Any]
"""An operation's handler: its output, or a :class:`Later` that computes it."""


class ServiceError(Exception):
    """An AWS-style error: code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ServiceError:
    """A ``ValidationException`` (HTTP 400)."""
    return ServiceError("ValidationException", message, 400)


def not_found(message: str) -> ServiceError:
    """A ``ResourceNotFoundException`` (HTTP 404)."""
    return ServiceError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> ServiceError:
    """A ``ConflictException`` (HTTP 400, as Bedrock sends it)."""
    return ServiceError("ConflictException", message, 400)


@dataclass(frozen=True)
class Response:
    """What to send back: status, headers and body bytes, or a stream of body parts.

    ``stream`` (an event stream's encoded messages) is sent part by part as it is produced,
    after the request's lock is released; ``body`` is then empty.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    stream: Iterable[bytes] | None = None


class Later:
    """A handler's output that is computed once the caller's lock is released.

    Generation with a real model takes seconds: computing it under the service lock would
    hold every other call (job polling, listings) until it ends.
    """

    def __init__(self, compute: Callable[[], dict[str, Any]]) -> None:
        self.compute = compute


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: OperationModel


def _compile(uri: str) -> re.Pattern[str]:
    path = uri.split("?", 1)[0]
    regex = ""
    for literal, label in re.findall(r"([^{]*)(?:\{([^}]+)\})?", path):
        regex += re.escape(literal)
        if label:
            greedy = label.endswith("+")
            name = label.rstrip("+")
            regex += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
    return re.compile(f"^{regex}/?$")


def _timestamp_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _from_wire(shape: Shape, value: Any) -> Any:
    """Turn decoded JSON into the Python values botocore's validator expects."""
    if value is None:
        return None
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if getattr(shape, "is_document_type", False):
            return value
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value:
                out[name] = _from_wire(member, value[key])
        return out
    if isinstance(shape, ListShape):
        return [_from_wire(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {k: _from_wire(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


def _to_wire(shape: Shape, value: Any) -> Any:
    """Turn a Python output value into JSON-ready data following the shape."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if getattr(shape, "is_document_type", False):
            return value
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out[member.serialization.get("name", name)] = _to_wire(member, value[name])
        return out
    if isinstance(shape, ListShape):
        return [_to_wire(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {k: _to_wire(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _timestamp_text(value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return value


def _scalar_from_text(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        raise validation_error(f"'{text}' is not a valid {kind}.") from None
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "timestamp":
        return parse_timestamp(text)
    return text


def enum_errors(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Enum violations in ``value`` (botocore's ParamValidator does not check enums)."""
    if value is None:
        return []
    errors: list[str] = []
    if isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
        errors.append(f"{path or shape.name}: {value!r} is not one of {shape.enum}")
    elif isinstance(shape, StructureShape) and isinstance(value, dict):
        if getattr(shape, "is_document_type", False):
            return []
        for name, member in shape.members.items():
            errors += enum_errors(member, value.get(name), f"{path}.{name}" if path else name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            errors += enum_errors(shape.member, item, f"{path}[{i}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for k, item in value.items():
            errors += enum_errors(shape.value, item, f"{path}.{k}")
    return errors


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:  # a Java-only construct; Bedrock would check it, the stand-in cannot
        return None


def constraint_errors(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Values that break a member's ``pattern`` or ``max`` in the service model.

    botocore checks neither before sending; Bedrock does, server-side, and answers with a
    ``ValidationException`` worded like these messages.
    """
    if value is None:
        return []
    where = path or shape.name
    errors: list[str] = []
    if isinstance(shape, StringShape) and isinstance(value, str):
        # Only names and tokens: the identifier patterns in botocore's model do not match
        # every real ARN (a custom-model ARN carries the base model's ``:0:128k``), so
        # enforcing those would refuse calls Bedrock accepts.
        named = where.rsplit(".", 1)[-1].endswith(("Name", "Token"))
        pattern = shape.metadata.get("pattern") if named else None
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            errors.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {pattern}"
            )
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errors.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {shape.metadata['max']}"
            )
    elif isinstance(shape, StructureShape) and isinstance(value, dict):
        if getattr(shape, "is_document_type", False):
            return []
        for name, member in shape.members.items():
            errors += constraint_errors(member, value.get(name), f"{path}.{name}" if path else name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            errors.append(
                f"Value at '{where}' failed to satisfy constraint: Member must have length "
                f"less than or equal to {shape.metadata['max']}"
            )
        for i, item in enumerate(value):
            errors += constraint_errors(shape.member, item, f"{where}.{i + 1}")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for k, item in value.items():
            errors += constraint_errors(shape.value, item, f"{where}.{k}")
    return errors


def output_problems(operation: OperationModel, output: dict[str, Any]) -> list[str]:
    """Everything in ``output`` that does not match the operation's output shape."""
    shape = operation.output_shape
    if shape is None:
        return [] if not output else [f"{operation.name} has no output, got {sorted(output)}"]
    report = ParamValidator().validate(output, shape)
    problems = [report.generate_report()] if report.has_errors() else []
    return problems + enum_errors(shape, output)


class RestJsonService:
    """Routes HTTP requests to handlers, one per operation of one or more rest-json services."""

    def __init__(self, services: Iterable[str], handlers: dict[str, Handler]) -> None:
        # Load the models straight from botocore's data: a session would read the user's
        # AWS config, and a stale AWS_PROFILE must not stop the stand-in from starting.
        loader = botocore.loaders.create_loader()
        self.routes: list[_Route] = []
        self.operations: dict[str, OperationModel] = {}
        for service in services:
            model = ServiceModel(loader.load_service_model(service, "service-2"), service)
            for name in model.operation_names:
                if name not in handlers:
                    continue
                op = model.operation_model(name)
                self.operations[name] = op
                self.routes.append(_Route(op.http["method"], _compile(op.http["requestUri"]), op))
        missing = set(handlers) - set(self.operations)
        if missing:
            raise ValueError(f"handlers for unknown operations: {sorted(missing)}")
        self.handlers = handlers
        # Literal paths first, so '/custom-models' never matches a '{modelIdentifier}' label.
        self.routes.sort(key=lambda r: r.pattern.pattern.count("(?P<"))

    def match(self, method: str, raw_path: str) -> tuple[OperationModel, dict[str, str]] | None:
        """The operation and decoded path labels for a request, or None."""
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(raw_path)
            if found:
                labels = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                return route.operation, labels
        return None

    def parse(
        self,
        operation: OperationModel,
        labels: dict[str, str],
        query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        """Decode a request into the operation's input parameters and validate them."""
        shape = operation.input_shape
        params: dict[str, Any] = {}
        if shape is None:
            return params
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        payload = shape.serialization.get("payload")
        body_members = {}
        for name, member in shape.members.items():
            where = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if where == "uri":
                if wire in labels:
                    params[name] = labels[wire]
            elif where == "querystring":
                if wire in qs:
                    if isinstance(member, ListShape):
                        params[name] = [_scalar_from_text(member.member, v) for v in qs[wire]]
                    else:
                        params[name] = _scalar_from_text(member, qs[wire][0])
            elif where == "header":
                if wire.lower() in lower_headers:
                    params[name] = _scalar_from_text(member, lower_headers[wire.lower()])
            elif name == payload:
                if member.type_name == "blob":
                    params[name] = body
                elif body:
                    params[name] = _from_wire(member, self._json(body))
            else:
                body_members[name] = member
        if body_members and body and payload is None:
            decoded = self._json(body)
            if not isinstance(decoded, dict):
                raise validation_error("The request body must be a JSON object.")
            for name, member in body_members.items():
                wire = member.serialization.get("name", name)
                if wire in decoded:
                    params[name] = _from_wire(member, decoded[wire])
        report = ParamValidator().validate(params, shape)
        if report.has_errors():
            raise validation_error(report.generate_report().replace("\n", " "))
        bad_enums = enum_errors(shape, params)
        if bad_enums:
            raise validation_error("; ".join(bad_enums))
        broken = constraint_errors(shape, params)
        if broken:
            count = f"{len(broken)} validation error{'s' if len(broken) > 1 else ''} detected: "
            raise validation_error(count + "; ".join(broken))
        return params

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise validation_error("The request body is not valid JSON.") from None

    def respond(self, operation: OperationModel, output: dict[str, Any]) -> Response:
        """Check ``output`` against the model and encode it."""
        stream = _event_stream_member(operation)
        if stream is not None:
            return self._respond_stream(operation, stream, output)
        problems = output_problems(operation, output)
        if problems:
            raise ServiceError(
                "InternalServerException",
                f"local stand-in produced an invalid {operation.name} response: {problems}",
                500,
            )
        shape = operation.output_shape
        headers = {"Content-Type": "application/json"}
        body = b"{}"
        if shape is not None:
            payload = shape.serialization.get("payload")
            json_members = {}
            for name, member in shape.members.items():
                if name not in output or output[name] is None:
                    continue
                where = member.serialization.get("location")
                wire = member.serialization.get("name", name)
                if where == "header":
                    value = output[name]
                    if isinstance(value, datetime):
                        value = _timestamp_text(value)
                    headers[wire] = str(value)
                elif name == payload:
                    body = (
                        output[name]
                        if member.type_name == "blob"
                        else json.dumps(_to_wire(member, output[name])).encode()
                    )
                else:
                    json_members[name] = output[name]
            if payload is None:
                body = json.dumps(_to_wire(shape, json_members)).encode()
        return Response(int(operation.http.get("responseCode", 200)), headers, body)

    def _respond_stream(
        self, operation: OperationModel, member: str, output: dict[str, Any]
    ) -> Response:
        """Check the members beside the event stream now, and each event as it is sent."""
        shape = operation.output_shape
        assert isinstance(shape, StructureShape)
        events = output.get(member)
        if events is None:
            raise ServiceError(
                "InternalServerException", f"local stand-in sent no {member} stream", 500
            )
        rest = {k: v for k, v in output.items() if k != member}
        problems = output_problems(operation, rest | {member: {}})
        if problems:
            raise ServiceError(
                "InternalServerException",
                f"local stand-in produced an invalid {operation.name} response: {problems}",
                500,
            )
        headers = {"Content-Type": eventstream.CONTENT_TYPE}
        for name, value in rest.items():
            where = shape.members[name].serialization
            if where.get("location") == "header" and value is not None:
                headers[where.get("name", name)] = str(value)
        stream_shape = shape.members[member]
        assert isinstance(stream_shape, StructureShape)
        return Response(
            int(operation.http.get("responseCode", 200)),
            headers,
            b"",
            _encoded_events(stream_shape, events),
        )

    def handle(
        self,
        method: str,
        raw_path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        guard: contextlib.AbstractContextManager[Any] | None = None,
    ) -> Response:
        """Serve one request; errors become AWS-style error responses.

        ``guard`` (a lock) is held while the request is decoded and its handler runs; a
        :class:`Later` the handler returns is computed after it is released.
        """
        try:
            with guard if guard is not None else contextlib.nullcontext():
                matched = self.match(method, raw_path)
                if matched is None:
                    raise ServiceError(
                        "UnknownOperationException",
                        f"The local stand-in does not serve {method} {raw_path}.",
                        404,
                    )
                operation, labels = matched
                params = self.parse(operation, labels, query, headers, body)
                output = self.handlers[operation.name](params)
            if isinstance(output, Later):
                output = output.compute()
            return self.respond(operation, output)
        except ServiceError as err:
            return error_response(err)


def _event_stream_member(operation: OperationModel) -> str | None:
    """The output member that is an event stream (the streaming operations' payload)."""
    shape = operation.output_shape
    if shape is None:
        return None
    for name, member in shape.members.items():
        if member.serialization.get("eventstream"):
            return name
    return None


def _stream_exception_name(stream: StructureShape, code: str) -> str:
    """The stream member an error code is sent as (internalServerException when none fits)."""
    for name, member in stream.members.items():
        if member.metadata.get("exception") and member.name == code:
            return name
    return "internalServerException"


def _encoded_events(stream: StructureShape, events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Each event checked against its shape and encoded; an error ends the stream as AWS does.

    Errors that happen once the stream has started cannot change the HTTP status any more:
    they travel as an exception message, the last of the stream.
    """
    try:
        for item in events:
            ((name, value),) = item.items()
            member = stream.members.get(name)
            if member is None:
                raise ServiceError(
                    "InternalServerException", f"local stand-in sent an unknown event {name}", 500
                )
            report = ParamValidator().validate(value, member)
            problems = [report.generate_report()] if report.has_errors() else []
            problems += enum_errors(member, value)
            if problems:
                raise ServiceError(
                    "InternalServerException",
                    f"local stand-in produced an invalid {name} event: {problems}",
                    500,
                )
            yield eventstream.event(name, _to_wire(member, value))
    except ServiceError as err:
        yield eventstream.exception(_stream_exception_name(stream, err.code), err.message)
    except Exception as exc:  # a stand-in bug: the client sees it, as an AWS error event
        yield eventstream.exception("internalServerException", f"local stand-in error: {exc!r}")


def error_response(err: ServiceError) -> Response:
    """The rest-json encoding of an error."""
    body = json.dumps({"message": err.message}).encode()
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": err.code}
    return Response(err.status, headers, body)
