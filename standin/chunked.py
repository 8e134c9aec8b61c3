"""S3 ``aws-chunked`` request bodies with a trailing checksum, decoded before moto sees them.

botocore sends ``PutObject`` and ``UploadPart`` bodies as ``aws-chunked`` with
``x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER``: hex-sized chunks, a zero-sized
chunk, then trailing headers such as ``x-amz-checksum-crc32:<base64>``. Sources (read
2026-12-02): Amazon S3 API Reference, "Signature calculations for trailing headers (chunked
uploads)" and "Authenticating Requests: Using the Authorization Header"; "Error responses"
lists ``BadDigest`` (400) for a checksum that does not match what was received.

moto 5.2.5 decodes such a body by appending bytes to bytes, which is quadratic: a 64 MiB
part took seconds. Decoding here is linear, checks the checksum moto does not, and hands
moto a plain body with the checksum as a header, where moto stores it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from collections.abc import Callable
from typing import Any

TRAILER_PAYLOAD = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


# The algorithms the Python standard library computes; CRC32C and CRC64NVME need awscrt,
# so their values are passed on unchecked.
DIGESTS: dict[str, Callable[[bytes], bytes]] = {
    "crc32": _crc32,
    "sha1": lambda data: hashlib.sha1(data).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
}


class ChunkedBodyError(ValueError):
    """The body is not well-formed ``aws-chunked``, or its checksum does not match."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decode(raw: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload of an unsigned ``aws-chunked`` body and its trailing headers."""
    view = memoryview(raw)
    parts: list[memoryview] = []
    pos = 0
    while True:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            raise ChunkedBodyError("IncompleteBody", "The request body ended inside a chunk.")
        size_field = raw[pos:end].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise ChunkedBodyError(
                "InvalidRequest", f"Bad chunk size {size_field[:20]!r} in an aws-chunked body."
            ) from None
        pos = end + 2
        if size == 0:
            break
        if pos + size + 2 > len(raw) or raw[pos + size : pos + size + 2] != b"\r\n":
            raise ChunkedBodyError("IncompleteBody", "A chunk is shorter than its size says.")
        parts.append(view[pos : pos + size])
        pos += size + 2
    trailers: dict[str, str] = {}
    for line in raw[pos:].split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            trailers[name.strip().decode("ascii").lower()] = value.strip().decode("ascii")
    return b"".join(parts), trailers


def check(body: bytes, trailers: dict[str, str]) -> None:
    """Refuse a body whose trailing checksum (of an algorithm computed here) differs."""
    for name, value in trailers.items():
        algorithm = name.removeprefix("x-amz-checksum-")
        digest = DIGESTS.get(algorithm) if name.startswith("x-amz-checksum-") else None
        if digest is None:
            continue
        if base64.b64encode(digest(body)).decode("ascii") != value:
            raise ChunkedBodyError(
                "BadDigest",
                f"The {algorithm.upper()} you specified did not match the calculated checksum.",
            )


def rewrite(environ: dict[str, Any]) -> None:
    """Replace a trailer-checksummed ``aws-chunked`` body in ``environ`` by its payload.

    Raises:
        ChunkedBodyError: The body is malformed or its checksum does not match.
    """
    if environ.get("HTTP_X_AMZ_CONTENT_SHA256") != TRAILER_PAYLOAD:
        return
    length = environ.get("CONTENT_LENGTH")
    # Without a length the server has already undone HTTP's own chunking: read to the end.
    raw = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
    body, trailers = decode(raw)
    declared = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH")
    if declared is not None and int(declared) != len(body):
        raise ChunkedBodyError(
            "IncompleteBody",
            f"The body holds {len(body)} bytes, x-amz-decoded-content-length says {declared}.",
        )
    check(body, trailers)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["HTTP_X_AMZ_CONTENT_SHA256"] = "UNSIGNED-PAYLOAD"
    for header in ("HTTP_X_AMZ_TRAILER", "HTTP_X_AMZ_DECODED_CONTENT_LENGTH"):
        environ.pop(header, None)
    encoding = [
        e.strip()
        for e in environ.pop("HTTP_CONTENT_ENCODING", "").split(",")
        if e.strip() and e.strip() != "aws-chunked"
    ]
    if encoding:
        environ["HTTP_CONTENT_ENCODING"] = ",".join(encoding)
    for name, value in trailers.items():
        if name.startswith("x-amz-checksum-"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
