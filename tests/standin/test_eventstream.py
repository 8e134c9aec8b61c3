"""The stand-in's event stream encoder, read back with botocore's own decoder and parser."""

from __future__ import annotations

import base64
import io
import json
from typing import Any, cast

import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.model import StructureShape
from botocore.parsers import EventStreamJSONParser

from standin import eventstream
from tests.helpers import RUNTIME


def _decoded(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(cast(Any, m).headers), bytes(m.payload)) for m in buffer]


def test_a_message_decodes_with_its_headers_and_payload() -> None:
    raw = eventstream.message({":event-type": "chunk", "x": "ünï"}, b'{"a": 1}')
    ((headers, payload),) = _decoded(raw)  # botocore checks both CRCs and the lengths
    assert headers == {":event-type": "chunk", "x": "ünï"}
    assert payload == b'{"a": 1}'


def test_messages_split_anywhere_still_decode_in_order() -> None:
    raw = b"".join(eventstream.event("chunk", {"n": i}) for i in range(3))
    buffer = EventStreamBuffer()
    for i in range(0, len(raw), 7):
        buffer.add_data(raw[i : i + 7])
    assert [json.loads(m.payload)["n"] for m in buffer] == [0, 1, 2]


def test_a_damaged_message_is_refused_by_botocore() -> None:
    raw = bytearray(eventstream.event("chunk", {"n": 1}))
    raw[-6] ^= 0xFF  # a payload byte: the message CRC no longer matches
    with pytest.raises(ChecksumMismatch):
        _decoded(bytes(raw))


def _stream(data: bytes) -> EventStream:
    op = RUNTIME.operation_model("InvokeModelWithResponseStream")
    output = op.output_shape
    assert isinstance(output, StructureShape)
    shape = cast(StructureShape, output.members["body"])  # the ResponseStream union

    class Raw(io.BytesIO):
        def stream(self) -> object:
            yield self.read()

    return EventStream(Raw(data), shape, EventStreamJSONParser(), op.name)


def test_chunk_events_parse_as_invoke_model_with_response_stream_chunks() -> None:
    body = json.dumps({"generation": "hi"}).encode()
    raw = eventstream.event("chunk", {"bytes": base64.b64encode(body).decode()})
    events = list(_stream(raw))
    assert events == [{"chunk": {"bytes": body}}]


def test_an_exception_message_raises_the_modelled_error() -> None:
    raw = eventstream.exception("modelStreamErrorException", "it broke")
    with pytest.raises(EventStreamError) as caught:
        list(_stream(raw))
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert caught.value.response["Error"]["Message"] == "it broke"
