"""Calling an imported model, with botocore's Stubber: formats, cold starts, streams, load.

The stand-in's runtime for imported models is written elsewhere; these tests hold the
workshop's side to botocore's own shapes instead (the Stubber validates every request and
response against the service model).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import matplotlib
import pytest
from botocore.config import Config
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.response import StreamingBody
from botocore.stub import Stubber

from utils import imported_inference as runtime
from utils.errors import WorkshopError
from utils.imported import ImportedModel

matplotlib.use("Agg")
ARN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdefghijkl"


@pytest.fixture
def client() -> Iterator[Any]:
    """A bedrock-runtime client that never reaches a network, and makes one attempt a call."""
    made = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com",
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield made


def _body(payload: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_bodies_follow_the_format_of_the_architecture() -> None:
    llama = runtime.request_body("Hi", architecture="LlamaForCausalLM", max_tokens=20)
    assert llama == {"prompt": "Hi", "max_gen_len": 20, "temperature": 0.0}
    chat = runtime.request_body("Hi", architecture="GptOssForCausalLM", system="Be brief.")
    assert chat["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert "max_tokens" in chat
    completion = runtime.request_body("Hi", api_format=runtime.OPENAI_COMPLETION)
    assert set(completion) == {"prompt", "max_tokens", "temperature"}
    with pytest.raises(WorkshopError):
        runtime.request_body("Hi", system="Be brief.")  # BedrockCompletion has no system
    with pytest.raises(WorkshopError):
        runtime.request_body("Hi", api_format="Claude")


def test_the_answer_is_read_from_whichever_documented_key_holds_it() -> None:
    bodies = [
        {"generation": "a", "generation_token_count": 1, "stop_reason": "stop"},
        {"choices": [{"text": "b", "finish_reason": "stop"}]},
        {"choices": [{"message": {"role": "assistant", "content": "c"}}]},
        {"outputs": [{"text": "d", "stop_reason": "stop"}]},
    ]
    assert [runtime.answer_text(b) for b in bodies] == ["a", "b", "c", "d"]
    with pytest.raises(WorkshopError) as caught:
        runtime.answer_text({"completion": "e", "usage": {}})
    assert "['completion', 'usage']" in caught.value.problem
    assert runtime.output_tokens({"usage": {"completion_tokens": 7}}) == 7


def test_a_cold_model_is_retried_with_growing_waits_until_it_answers(client: Any) -> None:
    body = runtime.request_body("Hi", architecture="LlamaForCausalLM")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error(
                "invoke_model",
                service_error_code="ModelNotReadyException",
                service_message="Model is not ready for inference.",
                http_status_code=429,
                expected_params={"modelId": ARN, "body": json.dumps(body)},
            )
        stub.add_response(
            "invoke_model",
            {"body": _body({"generation": "Hello!"}), "contentType": "application/json"},
        )
        slept: list[float] = []
        answer = runtime.invoke_with_backoff(
            ARN, body, client=client, sleep=slept.append, first_delay=2, max_delay=5
        )
        stub.assert_no_pending_responses()
    assert answer.text == "Hello!" and answer.attempts == 4
    assert answer.requests == 4  # no retries by the SDK here
    assert slept == [2, 4, 5]  # doubling, capped


def test_requests_count_the_sdks_own_retries(client: Any) -> None:
    body = runtime.request_body("Hi", architecture="LlamaForCausalLM")
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_model",
            service_error_code="ModelNotReadyException",
            http_status_code=429,
            response_meta={"RetryAttempts": 4},  # botocore tried five times, then gave up
        )
        stub.add_response(
            "invoke_model",
            {
                "body": _body({"generation": "Hello!"}),
                "contentType": "application/json",
                "ResponseMetadata": {"RetryAttempts": 2},
            },
        )
        answer = runtime.invoke_with_backoff(ARN, body, client=client, sleep=lambda _: None)
    assert answer.attempts == 2 and answer.requests == 5 + 3
    assert answer.seconds == pytest.approx(answer.waited_s + answer.latency_s)


def test_a_model_that_never_loads_gives_up_with_a_clear_error() -> None:
    from botocore.exceptions import ClientError

    now = [0.0]

    def never_ready() -> None:
        raise ClientError({"Error": {"Code": "ModelNotReadyException"}}, "InvokeModel")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(WorkshopError) as caught:
        runtime.with_backoff(
            never_ready,
            label="call",
            time_limit=60,
            progress=False,
            sleep=sleep,
            clock=lambda: now[0],
        )
    assert "still not ready after" in caught.value.problem
    assert now[0] <= 60  # never slept past the limit
    assert "time_limit" in (caught.value.fix or "")


@pytest.mark.parametrize(
    ("backend", "waits"),
    [("aws", [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]), ("local", [0.2, 0.4, 0.8, 1.0, 1.0, 1.0])],
)
def test_default_waits_suit_the_backend(
    backend: str, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from utils import clients

    monkeypatch.setattr(clients, "current_backend", lambda: backend)
    slept: list[float] = []
    calls = iter(range(7))

    def ready_on_the_seventh_call() -> str:
        if next(calls) < 6:
            raise ClientError({"Error": {"Code": "ModelNotReadyException"}}, "InvokeModel")
        return "answer"

    result, attempts, _ = runtime.with_backoff(
        ready_on_the_seventh_call, label="call", progress=False, sleep=slept.append
    )
    assert (result, attempts) == ("answer", 7)
    assert [round(w, 3) for w in slept] == waits


def test_other_errors_are_not_retried_but_explained(client: Any) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("invoke_model", service_error_code="ValidationException")
        with pytest.raises(WorkshopError) as caught:
            runtime.invoke_with_backoff(ARN, {"prompt": "x"}, client=client, sleep=pytest.fail)
    assert "request_body" in (caught.value.fix or "")


def _event(payload: dict[str, Any]) -> bytes:
    """One event-stream message carrying a ``chunk`` event, as Bedrock's runtime frames it."""
    headers = b""
    for name, value in (
        (":event-type", "chunk"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        headers += bytes([len(name)]) + name.encode() + b"\x07"
        headers += struct.pack(">H", len(value)) + value.encode()
    body = json.dumps({"bytes": base64.b64encode(json.dumps(payload).encode()).decode()}).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Iterator[bytes]:
        yield self.data[:50]  # split mid-message, as a network would
        yield self.data[50:]

    def close(self) -> None:
        return None


def test_a_stream_gives_the_text_time_to_first_token_and_tokens_per_second(client: Any) -> None:
    chunks = [
        {"generation": "Hel"},
        {"generation": "lo"},
        {"generation": "", "generation_token_count": 4, "stop_reason": "stop"},
    ]
    shape = client.meta.service_model.operation_model("InvokeModelWithResponseStream")
    real = EventStream(
        _Raw(b"".join(_event(c) for c in chunks)),
        shape.output_shape.members["body"],
        EventStreamJSONParser(),
        "InvokeModelWithResponseStream",
    )

    def swap(parsed: dict[str, Any], **_: Any) -> None:
        parsed["body"] = real  # the Stubber cannot hold an event stream itself

    client.meta.events.register("after-call.bedrock-runtime.InvokeModelWithResponseStream", swap)
    ticks = iter([9.0, 10.0, 10.5, 12.5])  # refused try, opened, first text, end
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_model_with_response_stream",
            service_error_code="ModelNotReadyException",
            http_status_code=429,
        )
        stub.add_response(
            "invoke_model_with_response_stream",
            {"body": {"chunk": {"bytes": b"{}"}}, "contentType": "application/json"},
        )
        result = runtime.stream(
            ARN,
            runtime.request_body("Hi"),
            client=client,
            sleep=lambda _: None,
            progress=False,
            clock=lambda: next(ticks),
        )
    assert result.text == "Hello" and result.chunks == 2
    assert result.first_token_s == pytest.approx(0.5)
    assert result.total_s == pytest.approx(2.5)
    assert result.output_tokens == 4  # the model's own count, not the two pieces
    assert result.tokens_per_s == pytest.approx(2.0)


def _model(instruct: bool) -> ImportedModel:
    return ImportedModel(
        name="m",
        arn=ARN,
        architecture="LlamaForCausalLM",
        instruct_supported=instruct,
        units_per_copy=1,
        units_version="v1.0",
        job_name="j",
        source_uri="s3://b/models/m/",
        created=None,
    )


def test_converse_needs_instruct_support_and_then_answers(client: Any) -> None:
    with pytest.raises(WorkshopError) as caught:
        runtime.converse(_model(False), "Hi", client=client)
    assert "invoke_with_backoff" in (caught.value.fix or "")
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Hey"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
                "metrics": {"latencyMs": 12},
            },
            expected_params={
                "modelId": ARN,
                "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                "inferenceConfig": {"maxTokens": 256, "temperature": 0.0},
            },
        )
        answer = runtime.converse(_model(True), "Hi", client=client)
    assert answer.text == "Hey" and answer.output_tokens == 1


class _Busy:
    """A runtime whose calls take 20 ms each and may overlap, counting the most at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def invoke_model(self, **_: Any) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return {"body": io.BytesIO(b'{"generation": "ok", "generation_token_count": 5}')}


def test_concurrency_levels_are_measured_and_plotted() -> None:
    busy = _Busy()
    frame = runtime.measure_concurrency(ARN, {"prompt": "x"}, client=busy, progress=False)
    assert list(frame["concurrency"]) == [1, 2, 4]
    assert list(frame["requests"]) == [2, 4, 8] and frame["errors"].sum() == 0
    assert busy.most == 4  # the last level really ran four at once
    assert (frame["latency_p50_s"] >= 0.02).all()
    # Overlapping calls finish more of them per second than one at a time.
    assert frame["requests_per_s"].iloc[2] > 1.5 * frame["requests_per_s"].iloc[0]
    assert frame["output_tokens_per_s"].iloc[0] == pytest.approx(
        5 * frame["requests_per_s"].iloc[0]
    )
    fig = runtime.plot_concurrency(frame)
    assert len(fig.axes) == 3  # latency, throughput and its tokens axis
