"""The stand-in runs the models it imported: their own weights, on CPU, with transformers.

On the first runtime call to an imported model (or the first after it sat idle longer than
``LocalBedrock.import_idle_seconds``) the call gets ``ModelNotReadyException`` (429), as a
cold model does on Bedrock ([MNR], [MNR-KC] in :mod:`standin.catalog`), and a background
thread reads every file of the imported folder from S3 with the stand-in's own S3 client into
a private cache directory, then loads ``AutoModelForCausalLM`` and ``AutoTokenizer`` from it
(weights in the dtype they are stored in). Calls during the load get the same answer; once
it is loaded they are answered by generating with those weights. Deleting the imported model
(or a reset) drops it from memory and removes its cache.

Bedrock copies the weights when the job imports them; the stand-in reads the folder on first
use instead (an import job stays quick and reads only headers), so a folder deleted after the
import makes the load fail with ``ModelErrorException`` naming the file, where Bedrock would
still answer.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from standin import catalog, common
from standin.restjson import Later, ServiceError, validation_error

if TYPE_CHECKING:
    from standin.bedrock import LocalBedrock
    from standin.modelimport import ImportedModel

IDLE_ENV = "WORKSHOP_STANDIN_IMPORT_IDLE_SECONDS"
"""Seconds without calls after which an imported model's copy is dropped (a cold start)."""
LOAD_ENV = "WORKSHOP_STANDIN_IMPORT_LOAD_SECONDS"
"""The least time a cold start lasts, even when the weights load faster (tests set 0)."""
DEFAULT_LOAD_SECONDS = 1.0


@dataclass
class Loaded:
    """An imported model in memory, with the lock its generations queue on."""

    model: Any
    tokenizer: Any
    eos: frozenset[int]
    context: int | None
    # One generation at a time per model: a second request waits for the first to finish
    # (requests queue, as on one model copy); different models generate side by side.
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Slot:
    """One imported model's copy in the stand-in: loading, warm, failed or cold."""

    arn: str
    folder: Path
    state: str = "loading"
    downloaded: bool = False
    loaded: Loaded | None = None
    error: str | None = None
    used: float = field(default_factory=time.monotonic)


@dataclass
class Copy:
    """An import job's copy of its folder: where it goes, whether it is done, what failed."""

    folder: Path
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


@dataclass(frozen=True)
class Settings:
    """How to generate: token limit, sampling and the seed a sampled answer uses."""

    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int | None = None
    seed: int = 0


@dataclass
class Generation:
    """What a generation produced, filled in as it runs."""

    prompt_tokens: int
    text: str = ""
    tokens: int = 0
    stop: str = "limit"  # "end": the model's end-of-sequence token; "limit": max tokens
    started: float = field(default_factory=time.monotonic)
    first: float | None = None

    def metrics(self) -> dict[str, int]:
        """Bedrock's invocation metrics for a streamed answer (its last chunk carries them)."""
        now = time.monotonic()
        return {
            "inputTokenCount": self.prompt_tokens,
            "outputTokenCount": self.tokens,
            "invocationLatency": int((now - self.started) * 1000),
            "firstByteLatency": int(((self.first or now) - self.started) * 1000),
        }


class ImportedRuntime:
    """The copies of imported models the stand-in holds, and their cold starts."""

    def __init__(self, bedrock: LocalBedrock) -> None:
        self.bedrock = bedrock
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._root: Path | None = None

    def _cache(self) -> Path:
        """The stand-in process's own cache directory (made once, removed at exit)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="workshop-standin-imported-"))
            atexit.register(shutil.rmtree, self._root, True)
        return self._root

    def ready(self, model: ImportedModel) -> Loaded:
        """The model in memory, or ModelNotReadyException while its copy loads (started here)."""
        now = time.monotonic()
        with self._lock:
            slot = self._slots.get(model.arn)
            idle = self.bedrock.import_idle_seconds
            if (
                slot is not None
                and slot.state == "warm"
                and slot.loaded is not None
                and not slot.loaded.lock.locked()  # a long generation is not idleness
                and now - slot.used > idle
            ):
                slot.state, slot.loaded = "cold", None  # the copy in memory goes; the cache stays
            if slot is not None and slot.state == "failed":
                slot.state = "cold"  # the next call tries again
                raise ServiceError(
                    "ModelErrorException",
                    f"The imported model {model.name} could not be loaded: {slot.error}",
                    424,
                )
            if slot is not None and slot.state == "warm" and slot.loaded is not None:
                slot.used = now
                return slot.loaded
            if slot is None or slot.state == "cold":
                self._start(model, slot)
        raise ServiceError(
            catalog.IMPORT_NOT_READY_CODE,
            catalog.IMPORT_NOT_READY_TEXT.format(name=model.name, idle=idle),
            catalog.IMPORT_NOT_READY_STATUS,
        )

    def start_copy(self, uri: str, key: str) -> Copy:
        """Copy an import job's folder from S3 into the stand-in's own storage, in the background.

        Bedrock copies the weights at import and serves its copy (its storage is what bills
        monthly), so a copy made now lets the job end when its files are in, and the folder
        in S3 may go once the model exists.
        """
        copy = Copy(self._cache() / f"import-{key}")

        def run() -> None:
            try:
                self._download(uri, copy.folder)
            except ServiceError as err:
                copy.error = err.message
            except Exception as exc:  # a disk error: the job reports it instead of hanging
                copy.error = f"{type(exc).__name__}: {exc}"
            finally:
                if copy.error is not None:
                    shutil.rmtree(copy.folder, ignore_errors=True)
                copy.done.set()

        threading.Thread(target=run, name=f"copy-{key}", daemon=True).start()
        return copy

    def adopt(self, arn: str, copy: Copy) -> None:
        """Keep a finished import copy as the cold copy of the model ``arn``."""
        with self._lock:
            self._slots[arn] = _Slot(arn, copy.folder, state="cold", downloaded=True)

    def touch(self, arn: str) -> None:
        """Count a finished call as use (the idle window starts again)."""
        with self._lock:
            slot = self._slots.get(arn)
            if slot is not None:
                slot.used = time.monotonic()

    def state(self, arn: str) -> str:
        """``cold``, ``loading``, ``warm`` or ``failed`` (for tests and diagnostics)."""
        with self._lock:
            slot = self._slots.get(arn)
            return slot.state if slot is not None else "cold"

    def drop(self, arn: str) -> None:
        """Forget a model's copy and remove its cache (the model was deleted)."""
        with self._lock:
            slot = self._slots.pop(arn, None)
        if slot is not None:
            shutil.rmtree(slot.folder, ignore_errors=True)

    def reset(self) -> None:
        """Forget every copy and remove every cache (import copies in progress too)."""
        with self._lock:
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            shutil.rmtree(slot.folder, ignore_errors=True)
        if self._root is not None:
            for left in self._root.iterdir():
                shutil.rmtree(left, ignore_errors=True)

    def _start(self, model: ImportedModel, previous: _Slot | None) -> None:
        """Start loading a copy in the background (called with ``_lock`` held)."""
        if previous is not None:
            slot = _Slot(model.arn, previous.folder, downloaded=previous.downloaded)
        else:
            slot = _Slot(model.arn, self._cache() / model.arn.rsplit("/", 1)[-1])
        self._slots[model.arn] = slot
        threading.Thread(
            target=self._load, args=(slot, model), name=f"load-{model.name}", daemon=True
        ).start()

    def _load(self, slot: _Slot, model: ImportedModel) -> None:
        started = time.monotonic()
        loaded, error = None, None
        try:
            if not slot.downloaded:
                self._download(model.uri, slot.folder)
                slot.downloaded = True
            loaded = load_folder(slot.folder)
        except ServiceError as err:
            error = err.message
        except Exception as exc:  # transformers refusing the folder: the caller is told why
            error = f"transformers could not load the folder ({type(exc).__name__}: {exc})"
        rest = self.bedrock.import_load_seconds - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)
        with self._lock:
            current = self._slots.get(slot.arn) is slot
            if current and loaded is not None:
                slot.state, slot.loaded, slot.used = "warm", loaded, time.monotonic()
            elif current:
                slot.state, slot.error = "failed", error
        if not current:  # deleted while it loaded: what it wrote goes too
            shutil.rmtree(slot.folder, ignore_errors=True)

    def _download(self, uri: str, folder: Path) -> None:
        """Every object of the imported folder, read with the stand-in's S3 client."""
        bucket, prefix = common.split_s3(uri)
        prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        s3 = self.bedrock.client("s3")
        folder.mkdir(parents=True, exist_ok=True)
        key = prefix
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    relative = key[len(prefix) :]
                    if not relative or relative.endswith("/"):
                        continue
                    target = folder / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    stored = _stored(bucket, key, int(obj["Size"]))
                    with target.open("wb") as out:
                        if stored is not None:
                            out.write(stored)
                        else:
                            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
                            shutil.copyfileobj(body, out, 1 << 20)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            raise ServiceError(
                "ModelErrorException",
                f"s3://{bucket}/{key} could not be read ({code}) while the model's files "
                "were copied.",
                424,
            ) from None


def _stored(bucket: str, key: str, size: int) -> bytes | None:
    """The object's bytes from this process's own S3 (moto), or None when S3 is elsewhere.

    The import job has already listed the folder and read its headers over HTTP with the
    role's access checked; the copy is Bedrock's internal transfer, and through HTTP it
    would cost this one process the TLS work of both ends (seconds for 270 MB).
    """
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        found = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(bucket, key)
    except Exception:  # no such object here, or moto changed: read it over HTTP instead
        return None
    value = getattr(found, "value", None)
    return value if isinstance(value, bytes) and len(value) == size else None


_libraries = threading.Lock()
_preloading = threading.Lock()
_preloaded = False


def _import_libraries() -> tuple[Any, Any, Any]:
    """torch, AutoModelForCausalLM and AutoTokenizer, imported by one thread at a time.

    transformers resolves its names lazily, and two threads importing it at once can see a
    half-initialised module ("cannot import name 'AutoModelForCausalLM'"): the preload and
    a first load would otherwise race.
    """
    with _libraries:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.models.llama import modeling_llama  # noqa: F401

    return torch, AutoModelForCausalLM, AutoTokenizer


def preload_libraries() -> None:
    """Import torch and transformers' Llama code in the background, once per process.

    Imports take several seconds, far longer than loading a small model, and a stand-in
    that will run an imported model needs them anyway: started when an import job is
    created, they are in place by the first call, whose cold start then covers the model.
    """
    global _preloaded
    with _preloading:
        if _preloaded:
            return
        _preloaded = True
    threading.Thread(target=_import_libraries, name="standin-preload", daemon=True).start()


def load_folder(folder: Path) -> Loaded:
    """A Hugging Face folder loaded for generation on CPU (dtype as stored)."""
    # Imported here: torch and transformers take seconds to import, a cost only a stand-in
    # that runs an imported model should pay (it is part of the cold start).
    torch, AutoModelForCausalLM, AutoTokenizer = _import_libraries()

    # One thread per generation: the stand-in shares a few cores with its own server threads
    # and with test workers, small models gain nothing from intra-op threads, and a fixed
    # thread count keeps float reductions, hence greedy answers, the same on every machine.
    # torch's setting is process-wide, so it holds for every model the stand-in runs.
    torch.set_num_threads(1)
    with _libraries:  # another architecture imports its modelling code lazily, here
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    model.eval()
    config = model.generation_config
    eos = config.eos_token_id if config is not None else None
    if eos is None:
        eos = tokenizer.eos_token_id
    ids = eos if isinstance(eos, list) else [] if eos is None else [eos]
    context = getattr(model.config, "max_position_embeddings", None)
    return Loaded(model, tokenizer, frozenset(int(i) for i in ids), context)


# -- request bodies ----------------------------------------------------------------------
def body_format(request: Any) -> str:
    """The API format of an ``invoke_model`` body (see ``catalog.IMPORT_FORMATS_SOURCE``)."""
    if not isinstance(request, dict):
        raise validation_error("Malformed input request: the body must be a JSON object.")
    if "messages" in request:
        return catalog.OPENAI_CHAT_COMPLETION
    if "prompt" in request:
        if "max_tokens" in request and "max_gen_len" not in request:
            return catalog.OPENAI_COMPLETION
        return catalog.BEDROCK_COMPLETION
    raise validation_error(
        "Malformed input request: an imported model takes a 'prompt' (BedrockCompletion with "
        "max_gen_len, or OpenAICompletion with max_tokens) or 'messages' "
        "(OpenAIChatCompletion)."
    )


def _number(
    request: dict[str, Any], key: str, low: float, high: float, default: float, whole: bool
) -> float:
    value = request.get(key, default)
    if value is None:
        return default
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if whole else "a number"
        raise validation_error(
            f"Malformed input request: {key} must be {what} from {low:g} to {high:g}, "
            f"not {value!r}."
        )
    return float(value)


def seed_of(request: dict[str, Any]) -> int:
    """A seed taken from the request body, so the same sampled request gets the same answer."""
    text = json.dumps(request, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def settings(request: dict[str, Any], limit_key: str, temperature_key: str = "temperature",
             top_p_key: str = "top_p") -> Settings:  # fmt: skip
    """Token limit and sampling settings of a body; unknown keys are ignored ([CMI-RUN])."""
    limit = _number(request, limit_key, 1, 1_000_000, catalog.IMPORT_DEFAULT_MAX_TOKENS, True)
    top_k = request.get("top_k")
    return Settings(
        max_tokens=int(limit),
        temperature=_number(request, temperature_key, 0, 2, 0.0, False),
        top_p=_number(request, top_p_key, 0, 1, 1.0, False) or 1.0,
        top_k=int(_number(request, "top_k", 1, 1_000_000, 1, True)) if top_k else None,
        seed=seed_of(request),
    )


def chat_messages(messages: Any) -> list[dict[str, str]]:
    """OpenAI-style chat messages as a chat template takes them (text only)."""
    if not isinstance(messages, list) or not messages:
        raise validation_error("Malformed input request: messages must be a non-empty list.")
    out = []
    for i, item in enumerate(messages):
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            raise validation_error(f"Malformed input request: messages[{i}] has no role.")
        content = item.get("content")
        if isinstance(content, list):
            if any(isinstance(c, dict) and c.get("type") not in (None, "text") for c in content):
                raise validation_error(
                    "The local stand-in runs imported models on text only: "
                    f"messages[{i}] holds an image."
                )
            content = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        if not isinstance(content, str):
            raise validation_error(f"Malformed input request: messages[{i}].content is not text.")
        out.append({"role": item["role"], "content": content})
    return out


def prompt_ids(loaded: Loaded, prompt: Any) -> list[int]:
    """The token ids of a raw prompt, as the model's tokenizer makes them."""
    if not isinstance(prompt, str) or not prompt:
        raise validation_error("Malformed input request: prompt must be a non-empty string.")
    tok = loaded.tokenizer
    # A prompt that already starts with the tokenizer's BOS text gets no second one.
    bos = getattr(tok, "bos_token", None)
    special = not (isinstance(bos, str) and bos and prompt.startswith(bos))
    return list(tok(prompt, add_special_tokens=special)["input_ids"])


def chat_ids(loaded: Loaded, messages: list[dict[str, str]]) -> list[int]:
    """The token ids of a conversation through the tokenizer's own chat template."""
    text = loaded.tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    # The template writes any special tokens it wants; the tokenizer must not add more.
    return list(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])


def check_fits(loaded: Loaded, ids: list[int]) -> None:
    """Refuse a prompt longer than the model's context window."""
    if not ids:
        raise validation_error("Malformed input request: the prompt has no tokens.")
    if loaded.context is not None and len(ids) >= loaded.context:
        raise validation_error(
            f"Malformed input request: the prompt is {len(ids)} tokens, but the model's context "
            f"window is {loaded.context} tokens."
        )


# -- generation ---------------------------------------------------------------------------
def _pick(logits: Any, how: Settings, generator: Any) -> int:
    import torch

    if how.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / how.temperature, dim=-1)
    if how.top_k is not None and how.top_k < probs.numel():
        floor = torch.topk(probs, how.top_k).values[-1]
        probs = torch.where(probs >= floor, probs, torch.zeros_like(probs))
    if how.top_p < 1.0:
        ordered, order = torch.sort(probs, descending=True)
        before = torch.cumsum(ordered, dim=0) - ordered  # mass ahead of each token
        ordered = torch.where(before < how.top_p * ordered.sum(), ordered, 0.0)
        probs = torch.zeros_like(probs).scatter(0, order, ordered)
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


def generate(loaded: Loaded, ids: list[int], how: Settings, result: Generation) -> Iterator[str]:
    """Generate from ``ids``, yielding each new piece of text as soon as it is decoded.

    Stops at the model's end-of-sequence token (``result.stop = "end"``) or after
    ``how.max_tokens`` tokens or at the end of the context window (``"limit"``). The pieces
    join into ``result.text``; a piece is held back while it ends in half a character.
    """
    import torch

    tok = loaded.tokenizer
    limit = how.max_tokens
    if loaded.context is not None:
        limit = min(limit, loaded.context - len(ids))
    with loaded.lock, torch.inference_mode():
        generator = torch.Generator().manual_seed(how.seed) if how.temperature > 0 else None
        step = torch.tensor([ids])
        past = None
        produced: list[int] = []
        shown = ""
        for _ in range(limit):
            out = loaded.model(input_ids=step, past_key_values=past, use_cache=True)
            past = out.past_key_values
            token = _pick(out.logits[0, -1].float(), how, generator)
            if token in loaded.eos:
                result.stop = "end"
                break
            produced.append(token)
            result.tokens = len(produced)
            text = tok.decode(produced, skip_special_tokens=True)
            if text.startswith(shown) and len(text) > len(shown) and not text.endswith("\ufffd"):
                piece, shown = text[len(shown) :], text
                result.text = shown
                result.first = result.first or time.monotonic()
                yield piece
            step = torch.tensor([[token]])
        text = tok.decode(produced, skip_special_tokens=True)
        if text.startswith(shown) and len(text) > len(shown):
            result.text = text
            result.first = result.first or time.monotonic()
            yield text[len(shown) :]


# -- answers per format -------------------------------------------------------------------
def answer(fmt: str, name: str, result: Generation, ident: str) -> dict[str, Any]:
    """The whole response body of an ``invoke_model`` call in the body's own format."""
    reason = catalog.IMPORT_STOP_REASONS[fmt]["end" if result.stop == "end" else "limit"]
    if fmt == catalog.BEDROCK_COMPLETION:
        return {
            "generation": result.text,
            "prompt_token_count": result.prompt_tokens,
            "generation_token_count": result.tokens,
            "stop_reason": reason,
        }
    choice: dict[str, Any] = {"index": 0, "finish_reason": reason, "logprobs": None}
    if fmt == catalog.OPENAI_CHAT_COMPLETION:
        choice["message"] = {"role": "assistant", "content": result.text}
    else:
        choice["text"] = result.text
    return {
        "id": ident,
        "object": "chat.completion" if fmt == catalog.OPENAI_CHAT_COMPLETION else "text_completion",
        "created": int(time.time()),
        "model": name,
        "choices": [choice],
        "usage": _usage(result),
    }


def _usage(result: Generation) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.tokens,
        "total_tokens": result.prompt_tokens + result.tokens,
    }


def chunks(
    fmt: str, name: str, pieces: Iterator[str], result: Generation, ident: str
) -> Iterator[dict[str, Any]]:
    """The streamed chunks of the same format: one per piece, then one with the stop reason.

    The last chunk also carries ``amazon-bedrock-invocationMetrics`` (the counts Bedrock adds
    to a stream's last chunk for every model: seen in public client code, not in a page read
    here).
    """
    created = int(time.time())
    first = True
    for piece in pieces:
        if fmt == catalog.BEDROCK_COMPLETION:
            yield {
                "generation": piece,
                "prompt_token_count": result.prompt_tokens if first else None,
                "generation_token_count": result.tokens,
                "stop_reason": None,
            }
        else:
            yield _openai_chunk(fmt, name, ident, created, piece, None)
        first = False
    reason = catalog.IMPORT_STOP_REASONS[fmt]["end" if result.stop == "end" else "limit"]
    last: dict[str, Any]
    if fmt == catalog.BEDROCK_COMPLETION:
        last = {
            "generation": "",
            "prompt_token_count": None,
            "generation_token_count": result.tokens,
            "stop_reason": reason,
        }
    else:
        last = _openai_chunk(fmt, name, ident, created, "", reason) | {"usage": _usage(result)}
    yield last | {"amazon-bedrock-invocationMetrics": result.metrics()}


def _openai_chunk(
    fmt: str, name: str, ident: str, created: int, piece: str, reason: str | None
) -> dict[str, Any]:
    chat = fmt == catalog.OPENAI_CHAT_COMPLETION
    choice: dict[str, Any] = {"index": 0, "finish_reason": reason, "logprobs": None}
    if chat:
        choice["delta"] = {"role": "assistant", "content": piece} if piece else {}
    else:
        choice["text"] = piece
    return {
        "id": ident,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": created,
        "model": name,
        "choices": [choice],
    }


def response_id(fmt: str) -> str:
    """An id for an OpenAI-format answer (``chatcmpl-...`` or ``cmpl-...``)."""
    kind = "chatcmpl-" if fmt == catalog.OPENAI_CHAT_COMPLETION else "cmpl-"
    return kind + common.new_id()


def model_name(ident: str) -> str:
    """The imported model's id as a client named it (for the ``model`` field)."""
    return urllib.parse.unquote(ident)


# -- the runtime operations on an imported model ------------------------------------------
def _request_body(p: dict[str, Any]) -> Any:
    try:
        return json.loads(p.get("body") or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise validation_error("Malformed input request: the body is not valid JSON.") from None


def _needs_instruct(model: ImportedModel, what: str) -> None:
    if not model.instruct:
        raise validation_error(
            f"The imported model {model.name} does not support {what}: it is not "
            "instruct-capable (its tokenizer has no chat template, or its family takes no "
            "Converse). Use InvokeModel with the prompt format of the model's family "
            "(BedrockCompletion: prompt, max_gen_len)."
        )


def invoke(bedrock: LocalBedrock, model: ImportedModel, p: dict[str, Any], stream: bool) -> Any:
    """InvokeModel or InvokeModelWithResponseStream on an imported model.

    The body is checked and tokenized now (its errors answer at once, under the service
    lock); the generation runs after the lock is released.
    """
    request = _request_body(p)
    fmt = body_format(request)
    if fmt == catalog.OPENAI_CHAT_COMPLETION:
        _needs_instruct(model, "the OpenAIChatCompletion (messages) format")
        messages = chat_messages(request["messages"])
    loaded = bedrock.imports.runtime.ready(model)
    if fmt == catalog.OPENAI_CHAT_COMPLETION:
        ids = chat_ids(loaded, messages)
    else:
        ids = prompt_ids(loaded, request["prompt"])
    check_fits(loaded, ids)
    how = settings(request, "max_gen_len" if fmt == catalog.BEDROCK_COMPLETION else "max_tokens")
    result = Generation(prompt_tokens=len(ids))
    name, ident = model_name(p["modelId"]), response_id(fmt)
    pieces = generate(loaded, ids, how, result)
    runtime = bedrock.imports.runtime

    if stream:

        def events() -> Iterator[dict[str, Any]]:
            try:
                for chunk in chunks(fmt, name, pieces, result, ident):
                    yield {"chunk": {"bytes": json.dumps(chunk).encode()}}
            finally:
                runtime.touch(model.arn)

        return {"body": events(), "contentType": "application/json"}

    def compute() -> dict[str, Any]:
        for _ in pieces:
            pass
        runtime.touch(model.arn)
        body = answer(fmt, name, result, ident)
        with bedrock.lock:
            bedrock.logs.record("InvokeModel", p["modelId"], request, body, None)
        return {"body": json.dumps(body).encode(), "contentType": "application/json"}

    return Later(compute)


def _converse_messages(p: dict[str, Any]) -> list[dict[str, str]]:
    messages = []
    system = "\n".join(s["text"] for s in p.get("system", []) if "text" in s)
    if system:
        messages.append({"role": "system", "content": system})
    for i, message in enumerate(p.get("messages") or []):
        texts = []
        for block in message["content"]:
            if "text" in block:
                texts.append(block["text"])
            else:
                kind = next(iter(block), "?")
                raise validation_error(
                    f"The local stand-in runs imported models on text only: messages[{i}] "
                    f"holds a {kind} block."
                )
        messages.append({"role": message["role"], "content": "".join(texts)})
    if not messages or messages[-1]["role"] != "user":
        raise validation_error("A conversation must end with a user message.")
    return messages


def converse(bedrock: LocalBedrock, model: ImportedModel, p: dict[str, Any], stream: bool) -> Any:
    """Converse or ConverseStream on an instruct-capable imported model (its chat template)."""
    _needs_instruct(model, "Converse")
    messages = _converse_messages(p)
    loaded = bedrock.imports.runtime.ready(model)
    ids = chat_ids(loaded, messages)
    check_fits(loaded, ids)
    config = p.get("inferenceConfig", {})
    how = settings(
        {
            "maxTokens": config.get("maxTokens"),
            "temperature": config.get("temperature"),
            "topP": config.get("topP"),
        },
        "maxTokens",
        "temperature",
        "topP",
    )
    how = Settings(how.max_tokens, how.temperature, how.top_p, None, seed_of(_json_ready(p)))
    result = Generation(prompt_tokens=len(ids))
    pieces = generate(loaded, ids, how, result)
    runtime = bedrock.imports.runtime

    def usage() -> dict[str, int]:
        return {
            "inputTokens": result.prompt_tokens,
            "outputTokens": result.tokens,
            "totalTokens": result.prompt_tokens + result.tokens,
        }

    def stop_reason() -> str:
        return "end_turn" if result.stop == "end" else "max_tokens"

    if stream:

        def events() -> Iterator[dict[str, Any]]:
            try:
                yield {"messageStart": {"role": "assistant"}}
                for piece in pieces:
                    yield {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}}
                yield {"contentBlockStop": {"contentBlockIndex": 0}}
                yield {"messageStop": {"stopReason": stop_reason()}}
                latency = int((time.monotonic() - result.started) * 1000)
                yield {"metadata": {"usage": usage(), "metrics": {"latencyMs": latency}}}
            finally:
                runtime.touch(model.arn)

        return {"stream": events()}

    def compute() -> dict[str, Any]:
        for _ in pieces:
            pass
        runtime.touch(model.arn)
        out = {
            "output": {"message": {"role": "assistant", "content": [{"text": result.text}]}},
            "stopReason": stop_reason(),
            "usage": usage(),
            "metrics": {"latencyMs": int((time.monotonic() - result.started) * 1000)},
        }
        logged = {k: v for k, v in p.items() if k not in ("modelId", "requestMetadata")}
        with bedrock.lock:
            bedrock.logs.record("Converse", p["modelId"], logged, out, p.get("requestMetadata"))
        return out

    return Later(compute)


def _json_ready(value: Any) -> Any:
    """A Converse request as JSON-able data (for the seed: bytes become their hex)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value
