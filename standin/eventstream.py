"""AWS event stream messages (``application/vnd.amazon.eventstream``), written by the stand-in.

The streaming operations of bedrock-runtime answer with a sequence of binary messages. Each
is: a 12-byte prelude (total length and headers length as big-endian uint32, then the CRC32
of those 8 bytes), the headers, the payload, and the CRC32 of everything before it. A header
is a one-byte name length, the name, a type byte and the value; the stand-in only sends
string values (type 7: a big-endian uint16 length, then UTF-8 bytes). botocore's
``EventStreamBuffer`` reads these messages back (the tests decode with it).
"""

from __future__ import annotations

import binascii
import json
import struct
from typing import Any

STRING_HEADER = 7
"""The header value type for UTF-8 strings in the event stream encoding."""
CONTENT_TYPE = "application/vnd.amazon.eventstream"
"""The HTTP Content-Type of a response that is an event stream."""
PRELUDE_BYTES = 12


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", STRING_HEADER, len(raw_value))
        + raw_value
    )


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One encoded message: prelude, prelude CRC, headers, payload, message CRC."""
    raw_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = PRELUDE_BYTES + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + raw_headers + payload
    return body + struct.pack("!I", binascii.crc32(body) & 0xFFFFFFFF)


def event(event_type: str, members: dict[str, Any]) -> bytes:
    """An event message whose payload is the event's members as JSON (rest-json services)."""
    return message(
        {
            ":event-type": event_type,
            ":message-type": "event",
            ":content-type": "application/json",
        },
        json.dumps(members).encode(),
    )


def exception(exception_type: str, text: str) -> bytes:
    """An exception message: how an error that happens mid-stream reaches the client."""
    return message(
        {
            ":exception-type": exception_type,
            ":message-type": "exception",
            ":content-type": "application/json",
        },
        json.dumps({"message": text}).encode(),
    )
