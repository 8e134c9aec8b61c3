"""Calling an imported model: request bodies by format, cold starts, streaming, throughput.

An imported model answers ``invoke_model`` in one of the formats Custom Model Import
documents, and the key that holds the answer differs by format, which is where the public
samples' users broke. :func:`request_body` builds a body, :func:`answer_text` reads any of
the documented answers, :func:`invoke_with_backoff` waits out a cold start
(``ModelNotReadyException``), :func:`stream` measures time to first token and tokens per
second, :func:`converse` is for models with ``instructSupported``, and
:func:`measure_concurrency` / :func:`plot_concurrency` show latency and throughput at a few
concurrency levels.

Sources, read 2026-12-02:

- [INVOKE] "Invoke your imported model",
  https://docs.aws.amazon.com/bedrock/latest/userguide/invoke-imported-model.html: models
  imported after 2025-11-11 take three formats, BedrockCompletion, OpenAICompletion and
  OpenAIChatCompletion (text and images); Converse is refused for Qwen2.5, Qwen2-VL,
  Qwen2.5-VL and GPT-OSS. The page's examples of each format could not be read here.
- [META] "Meta Llama models", https://docs.aws.amazon.com/bedrock/latest/userguide/
  model-parameters-meta.html: ``prompt``, ``temperature``, ``top_p``, ``max_gen_len`` in;
  ``generation``, ``prompt_token_count``, ``generation_token_count``, ``stop_reason`` out.
  BedrockCompletion is taken to be this shape (a third-party reading of AWS's format table
  also routes ``max_gen_len`` to it); where AWS's own example says otherwise, it wins.
- The OpenAI formats follow OpenAI's Completions and Chat schemas, which [INVOKE] names as
  their reference: ``choices[0].text``, ``choices[0].message.content`` and, streamed,
  ``choices[0].delta.content``; ``usage.completion_tokens`` counts the output.
- Mistral's own Bedrock format answers ``outputs[0].text`` ("Mistral AI models" page, as the
  older [INVOKE] told importers to use the base model's parameters); read too, never sent.
- botocore 1.44.5 "bedrock-runtime": ``ModelNotReadyException`` is HTTP 429, "not ready to
  serve inference requests", and the SDK itself retries it (up to 5 times, its doc says).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from utils import clients
from utils import progress as progress_display
from utils.errors import WorkshopError, error_code, explain
from utils.inference import Answer, is_local

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from utils.imported import ImportedModel

BEDROCK_COMPLETION = "BedrockCompletion"
OPENAI_COMPLETION = "OpenAICompletion"
OPENAI_CHAT = "OpenAIChatCompletion"
FORMATS = (BEDROCK_COMPLETION, OPENAI_COMPLETION, OPENAI_CHAT)
"""The request formats of [INVOKE]."""

CHAT_FIRST = frozenset(
    {"Qwen2VLForConditionalGeneration", "Qwen2_5_VLForConditionalGeneration", "GptOssForCausalLM"}
)
"""Architectures called in OpenAIChatCompletion by default: they refuse Converse ([INVOKE])
and take images (the VL models) or need their chat template applied (GPT-OSS); the chat
format is the documented way to send messages to them."""

NOT_READY = "ModelNotReadyException"
COLD_START = (
    "The imported model is not loaded yet (a cold start): Bedrock copies its weights onto "
    "serving hardware on the first call, and again after the model has been idle a while. "
    "Until then it answers ModelNotReadyException; the call is retried."
)


def default_format(architecture: str | None) -> str:
    """The format :func:`request_body` uses for an architecture (Bedrock's name for it)."""
    return OPENAI_CHAT if architecture in CHAT_FIRST else BEDROCK_COMPLETION


def request_body(
    prompt: str,
    *,
    architecture: str | None = None,
    api_format: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    system: str | None = None,
) -> dict[str, Any]:
    """The ``invoke_model`` body for an imported model, in ``api_format`` or its default.

    Args:
        prompt: The text (BedrockCompletion and OpenAICompletion send it as it is: apply
            the model's own prompt template first) or the user turn (OpenAIChatCompletion).
        architecture: ``modelArchitecture`` of the model, which picks the default format.
        api_format: One of :data:`FORMATS`.
        max_tokens: The longest answer, in tokens.
        temperature: Sampling temperature (0 for the same answer each time).
        system: A system turn (OpenAIChatCompletion only).
    """
    fmt = api_format or default_format(architecture)
    if fmt not in FORMATS:
        raise WorkshopError(
            f"{fmt!r} is not a Custom Model Import request format.",
            f"Use one of {', '.join(FORMATS)}.",
        )
    if system and fmt != OPENAI_CHAT:
        raise WorkshopError(
            f"{fmt} takes one prompt, no system turn.",
            f"Put the instructions in the prompt, or use api_format={OPENAI_CHAT!r}.",
        )
    if fmt == BEDROCK_COMPLETION:
        return {"prompt": prompt, "max_gen_len": max_tokens, "temperature": temperature}
    if fmt == OPENAI_COMPLETION:
        return {"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature}
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}


def _first(value: Any) -> Mapping[str, Any]:
    """The first element of a list of objects, or an empty mapping."""
    if isinstance(value, list) and value and isinstance(value[0], Mapping):
        return value[0]
    return {}


def text_of(payload: Mapping[str, Any]) -> str | None:
    """The answer text in a response or stream chunk of any documented format, else None."""
    if isinstance(payload.get("generation"), str):  # BedrockCompletion (Llama's shape)
        return str(payload["generation"])
    choice = _first(payload.get("choices"))
    if isinstance(choice.get("text"), str):  # OpenAICompletion
        return str(choice["text"])
    for part in ("message", "delta"):  # OpenAIChatCompletion, whole or streamed
        content = choice.get(part)
        if isinstance(content, Mapping) and isinstance(content.get("content"), str):
            return str(content["content"])
    output = _first(payload.get("outputs"))  # Mistral's own format
    if isinstance(output.get("text"), str):
        return str(output["text"])
    return None


def answer_text(payload: Mapping[str, Any]) -> str:
    """The answer in an ``invoke_model`` response body, whichever documented key holds it.

    Raises:
        WorkshopError: The body holds none of them (named with the keys it has).
    """
    text = text_of(payload)
    if text is None:
        raise WorkshopError(
            f"The model's answer is in none of the documented keys; the body has "
            f"{sorted(payload)}.",
            "Print the body to see where the answer is; the request format may not be the "
            "one the model was called in (see utils.imported_inference.FORMATS).",
        )
    return text


def output_tokens(payload: Mapping[str, Any]) -> int | None:
    """Tokens generated, as the response counts them (None when it does not)."""
    if isinstance(payload.get("generation_token_count"), int):
        return int(payload["generation_token_count"])
    usage = payload.get("usage")
    if isinstance(usage, Mapping) and isinstance(usage.get("completion_tokens"), int):
        return int(usage["completion_tokens"])
    return None


@dataclass(frozen=True)
class Invocation:
    """One answered call of an imported model.

    Attributes:
        text: The answer.
        payload: The response body, parsed.
        attempts: Calls made by the helper (more than 1 after a long cold start).
        waited_s: Seconds before the call that answered (failed calls and backing off).
        latency_s: Seconds of the call that answered, the SDK's own retries in it included.
        local: Whether the local stand-in answered.
        requests: HTTP requests sent in all: botocore retries ModelNotReadyException by
            itself (``ResponseMetadata.RetryAttempts``) before a call fails, so a short cold
            start can end inside a single call.
    """

    text: str
    payload: dict[str, Any]
    attempts: int
    waited_s: float
    latency_s: float
    local: bool
    requests: int = 1

    @property
    def seconds(self) -> float:
        """Seconds from the first request to the answer."""
        return self.waited_s + self.latency_s


def _model_id(model: ImportedModel | str) -> str:
    return model if isinstance(model, str) else model.arn


def with_backoff(
    call: Callable[[], Any],
    *,
    label: str,
    time_limit: float = 600.0,
    first_delay: float | None = None,
    max_delay: float | None = None,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Any, int, float]:
    """Run ``call`` until it stops raising ModelNotReadyException; (result, attempts, waited).

    The delay doubles from ``first_delay`` up to ``max_delay``, and a progress line says what
    is happening and for how long. Other errors pass through unchanged. By default the
    delays are 5 s doubling to 60 s against AWS, where a cold start takes minutes, and
    0.2 s doubling to 1 s on the local stand-in, whose models load in seconds.

    Raises:
        WorkshopError: The model was still not ready after ``time_limit`` seconds.
    """
    from utils.waiting import default_interval

    started = clock()
    delay = first_delay if first_delay is not None else default_interval(5.0)
    if max_delay is None:
        max_delay = 60.0 if clients.current_backend() == "aws" else 1.0
    attempts = 0
    bar: Any = None
    try:
        while True:
            attempts += 1
            try:
                return call(), attempts, clock() - started
            except ClientError as err:
                if error_code(err) != NOT_READY:
                    raise
                waited = clock() - started
                if waited + delay > time_limit:
                    raise WorkshopError(
                        f"{label}: the imported model was still not ready after {waited:.0f} s "
                        f"and {attempts} attempts (time limit {time_limit:.0f} s).",
                        "A first load can take minutes for a large model. Run the cell again "
                        "to keep trying (nothing is billed while it loads), or raise "
                        "time_limit; if it never loads, check the import job succeeded.",
                    ) from err
                if bar is None:
                    bar = progress_display.bar(label, enabled=progress)
                    print(COLD_START)
                bar.status(
                    f"{label}: model loading (ModelNotReadyException), attempt {attempts}, "
                    f"{waited:.0f} s so far; next try in {delay:.0f} s"
                )
                sleep(delay)
                delay = min(delay * 2, max_delay)
    finally:
        if bar is not None:
            bar.close()


INVOKE_FIXES = {
    "ValidationException": (
        "The body is not in a format the model takes: build it with "
        "utils.imported_inference.request_body (api_format picks another format)."
    ),
    "ResourceNotFoundException": (
        "Call the model by its ARN (ImportedModel.arn); an imported model deleted by "
        "cleanup is gone."
    ),
}
"""What to do when an imported model refuses a call, where the generic fix says less."""


def invoke_with_backoff(
    model: ImportedModel | str,
    body: Mapping[str, Any],
    *,
    time_limit: float = 600.0,
    first_delay: float | None = None,
    max_delay: float | None = None,
    progress: bool = True,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Invocation:
    """``invoke_model`` on an imported model, waiting out a cold start; the answer read.

    Args:
        model: The :class:`~utils.imported.ImportedModel` or its ARN.
        body: The request (:func:`request_body`).
        time_limit: Seconds to keep retrying ModelNotReadyException before giving up.
        first_delay: Seconds before the first retry; doubled each time (default: see
            :func:`with_backoff`).
        max_delay: The longest wait between two tries.
        progress: Show the waiting line.
        client: A bedrock-runtime client (default: the workshop's).
        sleep: How to wait (tests pass a fake).
    """
    runtime = client or clients.client("bedrock-runtime")
    model_id = _model_id(model)
    timing: dict[str, float] = {}
    sent = [0]

    def retried(meta: Mapping[str, Any]) -> int:
        return 1 + int(meta.get("RetryAttempts") or 0)

    def call() -> dict[str, Any]:
        began = time.perf_counter()
        try:
            resp = runtime.invoke_model(modelId=model_id, body=json.dumps(body))
        except ClientError as err:
            sent[0] += retried(err.response.get("ResponseMetadata", {}))
            raise
        sent[0] += retried(resp.get("ResponseMetadata", {}))
        payload = json.loads(resp["body"].read())
        timing["latency"] = time.perf_counter() - began
        timing["local"] = float(is_local(resp))
        return dict(payload)

    try:
        payload, attempts, waited = with_backoff(
            call,
            label=f"invoke_model {model_id.rsplit('/', 1)[-1]}",
            time_limit=time_limit,
            first_delay=first_delay,
            max_delay=max_delay,
            progress=progress,
            sleep=sleep,
        )
    except ClientError as err:
        raise explain(err, f"invoke_model with {model_id}", INVOKE_FIXES) from err
    return Invocation(
        text=answer_text(payload),
        payload=payload,
        attempts=attempts,
        waited_s=waited - timing["latency"],
        latency_s=timing["latency"],
        local=bool(timing["local"]),
        requests=sent[0],
    )


class ImportedRunner:
    """An imported model as an evaluation runner (:func:`utils.evaluation.compare`).

    Each prompt goes through :func:`invoke_with_backoff` in the model's default body format,
    so a cold start during scoring is waited out rather than counted as a failure. It holds
    only the ARN and the architecture, so it pickles (fmeval's Ray path ships runners).
    """

    def __init__(
        self, model: ImportedModel, max_tokens: int = 256, time_limit: float = 600.0
    ) -> None:
        self.model_arn = model.arn
        self.architecture = model.architecture
        self.max_tokens = max_tokens
        self.time_limit = time_limit

    def __repr__(self) -> str:
        return f"ImportedRunner({self.model_arn!r}, max_tokens={self.max_tokens})"

    def generate_one(self, prompt: str) -> Any:
        """One answer, as a :class:`utils.evaluation.runners.Reply`."""
        from utils.evaluation.runners import Reply

        body = request_body(prompt, architecture=self.architecture, max_tokens=self.max_tokens)
        done = invoke_with_backoff(self.model_arn, body, time_limit=self.time_limit, progress=False)
        return Reply(
            text=done.text,
            from_local_standin=done.local,
            output_tokens=output_tokens(done.payload),
            stop_reason=done.payload.get("stop_reason"),
        )

    def predict(self, prompt: str) -> tuple[str | None, float | None]:
        """fmeval's interface: the answer and no log probability."""
        return self.generate_one(prompt).text, None


@dataclass(frozen=True)
class Streamed:
    """A streamed answer and how fast it came.

    Attributes:
        text: The whole answer.
        first_token_s: Seconds from the request to the first piece of text.
        total_s: Seconds from the request to the end of the stream.
        output_tokens: Tokens generated: the model's count when the stream gives one,
            else the pieces of text received (one token each, for these formats).
        tokens_per_s: Output tokens per second after the first one arrived.
        chunks: Stream events that carried text.
    """

    text: str
    first_token_s: float | None
    total_s: float
    output_tokens: int
    tokens_per_s: float | None
    chunks: int


def _stream_tokens(event: Mapping[str, Any]) -> int | None:
    """The output-token count a (last) stream chunk carries, if it carries one."""
    counted = output_tokens(event)
    if counted is not None:
        return counted
    # Bedrock's runtime appends these metrics to the last chunk of a stream (seen in the
    # public samples' stream handlers; not in the pages read here, so only a fallback).
    metrics = event.get("amazon-bedrock-invocationMetrics")
    if isinstance(metrics, Mapping) and isinstance(metrics.get("outputTokenCount"), int):
        return int(metrics["outputTokenCount"])
    return None


def stream(
    model: ImportedModel | str,
    body: Mapping[str, Any],
    *,
    time_limit: float = 600.0,
    progress: bool = True,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
) -> Streamed:
    """``invoke_model_with_response_stream``: the answer, time to first token, tokens/s.

    A cold start is waited out as in :func:`invoke_with_backoff` before the stream opens,
    and the clock starts at the attempt that opened it.
    """
    runtime = client or clients.client("bedrock-runtime")
    model_id = _model_id(model)
    opened: dict[str, float] = {}

    def call() -> Any:
        opened["at"] = clock()
        return runtime.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))

    try:
        resp, _, _ = with_backoff(
            call,
            label=f"stream {model_id.rsplit('/', 1)[-1]}",
            time_limit=time_limit,
            progress=progress,
            sleep=sleep,
        )
        pieces: list[str] = []
        first: float | None = None
        counted: int | None = None
        for event in resp["body"]:
            if "chunk" not in event:
                name = next(iter(event), "unknown event")
                raise WorkshopError(
                    f"The stream from {model_id} ended with {name}: {event.get(name)}",
                    "Run the cell again; if it repeats, call invoke_with_backoff instead.",
                )
            chunk = json.loads(event["chunk"]["bytes"])
            piece = text_of(chunk)
            if piece:
                if first is None:
                    first = clock()
                pieces.append(piece)
            counted = _stream_tokens(chunk) or counted
    except ClientError as err:
        raise explain(
            err, f"invoke_model_with_response_stream with {model_id}", INVOKE_FIXES
        ) from err
    end = clock()
    tokens = counted if counted is not None else len(pieces)
    generating = None if first is None else end - first
    return Streamed(
        text="".join(pieces),
        first_token_s=None if first is None else first - opened["at"],
        total_s=end - opened["at"],
        output_tokens=tokens,
        tokens_per_s=tokens / generating if generating else None,
        chunks=len(pieces),
    )


def converse(
    model: ImportedModel,
    prompt: str,
    *,
    system: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    time_limit: float = 600.0,
    progress: bool = True,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """One user turn through ``converse``, for a model whose ``instructSupported`` is true.

    Raises:
        WorkshopError: The model does not take Converse (no chat template, or an
            architecture [INVOKE] excludes), with what to call instead.
    """
    if not model.instruct_supported:
        raise WorkshopError(
            f"The imported model {model.name} ({model.architecture}) does not support "
            "Converse (instructSupported is false).",
            "Call it with invoke_with_backoff(model, request_body(prompt, architecture="
            "model.architecture)); for Converse, import an instruct model whose "
            "tokenizer_config.json holds its chat_template.",
        )
    runtime = client or clients.client("bedrock-runtime")
    request: dict[str, Any] = {
        "modelId": model.arn,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if system:
        request["system"] = [{"text": system}]
    try:
        resp, _, _ = with_backoff(
            lambda: runtime.converse(**request),
            label=f"converse {model.name}",
            time_limit=time_limit,
            progress=progress,
            sleep=sleep,
        )
    except ClientError as err:
        raise explain(err, f"converse with {model.arn}", INVOKE_FIXES) from err
    text = "".join(c.get("text", "") for c in resp["output"]["message"]["content"])
    return Answer(
        model=model.arn,
        text=text,
        local=is_local(resp),
        input_tokens=resp["usage"]["inputTokens"],
        output_tokens=resp["usage"]["outputTokens"],
        latency_ms=resp["metrics"]["latencyMs"],
    )


@dataclass
class _Level:
    latencies: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def measure_concurrency(
    model: ImportedModel | str,
    body: Mapping[str, Any],
    *,
    levels: Sequence[int] = (1, 2, 4),
    requests_per_level: int | None = None,
    rounds: int = 2,
    warm_up: bool = True,
    client: Any = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Latency and throughput of ``invoke_model`` with 1, 2 and 4 calls at once (threads).

    The model is warmed first (a cold start waited out, not measured). Each level sends
    ``requests_per_level`` calls (default: ``rounds`` per thread) from that many threads at
    once.

    Returns:
        One row per level: ``concurrency``, ``requests``, ``errors``, ``wall_s``,
        ``latency_mean_s``, ``latency_p50_s``, ``latency_max_s``, ``requests_per_s`` and
        ``output_tokens_per_s`` (None when the responses count no tokens).
    """
    import pandas as pd

    runtime = client or clients.client("bedrock-runtime")
    model_id = _model_id(model)
    if warm_up:
        invoke_with_backoff(model_id, body, client=runtime, progress=progress)
    rows = []
    for level in levels:
        count = requests_per_level or max(1, rounds) * level
        seen = _Level()

        def one(_: int, seen: _Level = seen) -> None:
            began = time.perf_counter()
            try:
                resp = runtime.invoke_model(modelId=model_id, body=json.dumps(body))
                payload = json.loads(resp["body"].read())
            except ClientError as err:
                with seen.lock:
                    seen.errors.append(error_code(err))
                return
            took = time.perf_counter() - began
            with seen.lock:
                seen.latencies.append(took)
                counted = output_tokens(payload)
                if counted is not None:
                    seen.tokens.append(counted)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=level) as pool:
            list(pool.map(one, range(count)))
        wall = time.perf_counter() - started
        lat = seen.latencies
        rows.append(
            {
                "concurrency": level,
                "requests": count,
                "errors": len(seen.errors),
                "wall_s": wall,
                "latency_mean_s": statistics.fmean(lat) if lat else None,
                "latency_p50_s": statistics.median(lat) if lat else None,
                "latency_max_s": max(lat) if lat else None,
                "requests_per_s": len(lat) / wall if wall else None,
                "output_tokens_per_s": (
                    sum(seen.tokens) / wall if wall and len(seen.tokens) == len(lat) else None
                ),
            }
        )
    return pd.DataFrame(rows)


def plot_concurrency(frame: pd.DataFrame, title: str | None = None) -> Figure:
    """Two panels: latency (mean, median, max) and throughput against concurrency."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    x = frame["concurrency"]
    for column, label, style in (
        ("latency_mean_s", "mean", "o-"),
        ("latency_p50_s", "median", "s--"),
        ("latency_max_s", "max", "^:"),
    ):
        left.plot(x, frame[column], style, label=label)
    left.set_xlabel("calls at once")
    left.set_ylabel("latency (s)")
    left.set_title("Latency per call")
    left.legend(fontsize="small", frameon=False)
    right.plot(x, frame["requests_per_s"], "o-", label="calls/s")
    right.set_xlabel("calls at once")
    right.set_ylabel("calls per second")
    right.set_title("Throughput")
    tokens = frame["output_tokens_per_s"]
    if tokens.notna().all():
        twin = right.twinx()
        twin.plot(x, tokens, "s--", color="tab:orange", label="output tokens/s")
        twin.set_ylabel("output tokens per second")
        twin.legend(loc="lower right", fontsize="small", frameon=False)
    right.legend(loc="upper left", fontsize="small", frameon=False)
    for ax in (left, right):
        ax.set_xticks(list(x))
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Imported model under concurrent calls")
    fig.tight_layout()
    return fig
