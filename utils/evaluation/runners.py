"""Calling models: runners with fmeval's ``predict`` interface, and generating with them.

:class:`ConverseRunner` calls a Bedrock model through the Converse API. :func:`generate`
calls every runner on every prompt in a thread pool, retrying what Bedrock throttles;
:func:`generate_batch` does the same with one Bedrock batch inference job per model.
Both return the same table, which is all that scoring needs.

:mod:`utils.clients`, :mod:`utils.inference` and :mod:`utils.batch` are imported where they
are first used: they import boto3 or pandas, and ``import utils.evaluation`` stays cheap.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

RETRYABLE_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ModelNotReadyException",
    }
)
"""Bedrock error codes worth another attempt: the request was fine, the service was busy."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """One model response.

    Attributes:
        text: The joined text blocks of the assistant message.
        from_local_standin: True when the workshop's local stand-in answered, not Bedrock;
            None when the runner cannot tell (a plain fmeval runner).
        input_tokens: Tokens in the request, as Bedrock reports them.
        output_tokens: Tokens in the response.
        stop_reason: Why generation stopped (``end_turn``, ``max_tokens``, ...).
    """

    text: str
    from_local_standin: bool | None
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None


class Runner(Protocol):
    """Anything with fmeval's ``ModelRunner.predict`` signature."""

    def predict(self, prompt: str) -> tuple[str | None, float | None]:
        """Return the model's output for ``prompt`` and its log probability (or None)."""
        ...


class ConverseRunner:
    """An fmeval-style model runner that calls the Bedrock Converse API.

    It follows fmeval's ``ModelRunner`` interface (``predict``) without inheriting its
    set-up, and pickles without its boto3 client (fmeval's Ray path ships runners to
    worker processes), fetching one again from :func:`utils.clients.client` when needed.

    Args:
        model_id: A foundation model id, a provisioned throughput ARN or a custom model
            deployment ARN; Converse accepts each as ``modelId``.
        system: Optional system prompt.
        max_tokens: Most tokens to generate.
        temperature: Sampling temperature; 0 keeps comparisons repeatable.
        region: Region of the Bedrock runtime endpoint (default: the session's).
        client: A ``bedrock-runtime`` client to use instead of the shared one (tests).
        request_metadata: Tags for the invocation log of each call (``requestMetadata``),
            which a distillation job can filter on.

    Attributes:
        last_was_local: Whether the latest :meth:`predict` call was answered by the local
            stand-in. With threads sharing a runner, use :meth:`generate_one`, whose
            :class:`Reply` says so per call.
    """

    def __init__(
        self,
        model_id: str,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        region: str | None = None,
        client: Any | None = None,
        request_metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.model_id = model_id
        self.request_metadata = dict(request_metadata) if request_metadata else None
        self.system = system
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.region = region
        self.last_was_local: bool | None = None
        self._client = client

    def __repr__(self) -> str:
        return f"ConverseRunner(model_id={self.model_id!r}, max_tokens={self.max_tokens})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None  # boto3 clients do not pickle; a new one is fetched lazily
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = None

    @property
    def client(self) -> Any:
        """The ``bedrock-runtime`` client, fetched on first use."""
        if self._client is None:
            from utils import clients

            self._client = clients.client("bedrock-runtime", self.region)
        return self._client

    def request(self, prompt: str) -> dict[str, Any]:
        """The keyword arguments sent to ``converse`` for ``prompt``."""
        from utils.inference import runtime_id

        kwargs: dict[str, Any] = {
            "modelId": runtime_id(self.model_id),
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": self.temperature},
        }
        if self.system:
            kwargs["system"] = [{"text": self.system}]
        if self.request_metadata:
            kwargs["requestMetadata"] = self.request_metadata
        return kwargs

    def generate_one(self, prompt: str) -> Reply:
        """Call the model once (no retries here; see :func:`generate`)."""
        from utils.clients import LOCAL_MARKER_HEADER

        response = self.client.converse(**self.request(prompt))
        blocks = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block["text"] for block in blocks if "text" in block)
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        usage = response.get("usage", {})
        return Reply(
            text=text,
            from_local_standin=any(k.lower() == LOCAL_MARKER_HEADER for k in headers),
            input_tokens=usage.get("inputTokens"),
            output_tokens=usage.get("outputTokens"),
            stop_reason=response.get("stopReason"),
        )

    def predict(self, prompt: str) -> tuple[str | None, float | None]:
        """fmeval's interface: the output text and no log probability (Converse gives none)."""
        reply = self.generate_one(prompt)
        self.last_was_local = reply.from_local_standin
        return reply.text, None


def register_with_fmeval() -> None:
    """Make ``isinstance(runner, fmeval's ModelRunner)`` true for :class:`ConverseRunner`.

    fmeval itself only calls ``predict``, so this is optional. It is not done on import:
    fmeval's model-runner module imports the SageMaker SDK, which looks for credentials
    (the EC2 metadata service included) as it loads.
    """
    from fmeval.model_runners.model_runner import ModelRunner

    ModelRunner.register(ConverseRunner)


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _describe(exc: BaseException) -> str:
    code = _error_code(exc)
    if code:
        message = exc.response.get("Error", {}).get("Message", "")  # type: ignore[attr-defined]
        return f"{code}: {message}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def _call_with_retries(
    runner: Runner,
    prompt: str,
    attempts: int,
    base_delay: float,
    max_delay: float,
    sleep: Callable[[float], None],
) -> tuple[Reply | None, str | None, int]:
    """Call ``runner`` on ``prompt``; returns (reply, error, attempts used)."""
    for attempt in range(1, attempts + 1):
        try:
            generate_one = getattr(runner, "generate_one", None)
            if generate_one is not None:
                return generate_one(prompt), None, attempt
            text, _ = runner.predict(prompt)
            return Reply(text=text or "", from_local_standin=None), None, attempt
        except Exception as exc:
            if _error_code(exc) not in RETRYABLE_ERRORS or attempt == attempts:
                return None, _describe(exc), attempt
            # Full jitter: concurrent workers that were throttled together spread out.
            sleep(random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1))))
    raise AssertionError("unreachable")  # pragma: no cover


def generate(
    runners: Mapping[str, Runner],
    prompts: Sequence[str],
    max_workers: int = 4,
    attempts: int = 4,
    base_delay: float = 1.0,
    max_delay: float = 20.0,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Run every model on every prompt in a bounded thread pool.

    Throttling, service-unavailable and model-not-ready errors are retried with
    exponential backoff and full jitter; a call that still fails keeps its row, with the
    error, so nothing is silently dropped.

    Args:
        runners: Model label to runner (a :class:`ConverseRunner` or any object with
            fmeval's ``predict``).
        prompts: The prompts, the same for every model.
        max_workers: Concurrent calls at most.
        attempts: Tries per call, the first included.
        base_delay: Seconds before the first retry; doubles each time.
        max_delay: Cap on a single wait.
        progress: Show a progress display (utils.progress).
        sleep: Waits between retries (tests pass a no-op).

    Returns:
        One row per model and prompt, ordered by model then record: ``model, record,
        prompt, output, error, seconds, attempts, local``. ``attrs["failures"]`` holds
        the number of failed rows.
    """
    import pandas as pd

    from utils import progress as progress_display

    # Record by record, every model in turn: models served by different processes (or
    # services) then work side by side instead of one queue filling the pool at a time.
    jobs = [(label, i, prompt) for i, prompt in enumerate(prompts) for label in runners]
    rows: list[dict[str, Any]] = []

    def run(label: str, index: int, prompt: str) -> dict[str, Any]:
        start = time.perf_counter()
        reply, error, used = _call_with_retries(
            runners[label], prompt, attempts, base_delay, max_delay, sleep
        )
        return {
            "model": label,
            "record": index,
            "prompt": prompt,
            "output": reply.text if reply else None,
            "error": error,
            "seconds": time.perf_counter() - start,
            "attempts": used,
            "local": reply.from_local_standin if reply else None,
        }

    with (
        ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool,
        progress_display.bar("generating", total=len(jobs), unit="call", enabled=progress) as bar,
    ):
        futures = [pool.submit(run, *job) for job in jobs]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            bar.update(1)
            if row["error"]:
                bar.note(f"failed={sum(1 for r in rows if r['error'])}")

    columns = ["model", "record", "prompt", "output", "error", "seconds", "attempts", "local"]
    order = {label: n for n, label in enumerate(runners)}
    rows.sort(key=lambda r: (order[r["model"]], r["record"]))
    frame = pd.DataFrame(rows, columns=columns)
    failures = int(frame["error"].notna().sum())
    frame.attrs["failures"] = failures
    if failures:
        log.warning("%d of %d model calls failed; see the error column.", failures, len(frame))
    return frame


@dataclass(frozen=True)
class BatchSettings:
    """Where batch inference jobs put their files, and from how many records they are used.

    Attributes:
        state: The workshop state file (the jobs are recorded there for cleanup).
        bucket: The workshop bucket for the jobs' input and output files.
        role_arn: The service role Bedrock assumes to read and write them.
        threshold: Records at and above which a model's outputs come from one batch job
            rather than one call each (never below Bedrock's minimum job size).
    """

    state: Any
    bucket: str
    role_arn: str
    threshold: int = 1000


def batch_minimum() -> int:
    """Bedrock's smallest batch inference job, in records (:data:`utils.batch.MIN_RECORDS`)."""
    from utils import batch

    return batch.MIN_RECORDS


def _is_endpoint(model_id: str) -> bool:
    """Whether a model id names a provisioned throughput or a custom model deployment."""
    return ":provisioned-model/" in model_id or ":custom-model-deployment/" in model_id


def generate_batch(
    runners: Mapping[str, Runner],
    prompts: Sequence[str],
    settings: BatchSettings,
    progress: bool = True,
) -> pd.DataFrame:
    """Like :func:`generate`, with one Bedrock batch inference job per model.

    Only :class:`ConverseRunner` models know their model id and settings, so other
    runners are called one prompt at a time as usual. So are endpoints: batch inference
    does not run on provisioned models ("Process multiple prompts with batch inference",
    Amazon Bedrock user guide, read 2026-12-01) and no custom model deployment ARN fits
    ``CreateModelInvocationJob.modelId``.
    """
    import pandas as pd

    from utils import batch, clients

    frames = []
    for label, runner in runners.items():
        if not isinstance(runner, ConverseRunner) or _is_endpoint(runner.model_id):
            frames.append(generate({label: runner}, prompts, progress=progress))
            continue
        start = time.perf_counter()
        table = batch.generate(
            runner.model_id,
            prompts,
            state=settings.state,
            bucket=settings.bucket,
            role_arn=settings.role_arn,
            system=runner.system,
            max_tokens=runner.max_tokens,
            temperature=runner.temperature,
            label=f"eval-{label}",
            progress=progress,
        )
        table.insert(0, "model", label)
        table["seconds"] = (time.perf_counter() - start) / max(1, len(prompts))
        table["attempts"] = 1
        table["local"] = clients.current_backend() == "local"
        frames.append(table)
    columns = ["model", "record", "prompt", "output", "error", "seconds", "attempts", "local"]
    frame = pd.concat(frames, ignore_index=True)[columns]
    frame.attrs["failures"] = int(frame["error"].notna().sum())
    return frame
