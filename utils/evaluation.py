"""Compare models on reference answers with fmeval's ROUGE and METEOR.

The flow is ``generate`` (call each model on each prompt through the Bedrock Converse
API), ``score`` (fmeval's ``RougeScore`` and ``MeteorScore`` transforms in a
``TransformPipeline``) and ``compare``, which does both and adds bootstrap confidence
intervals. fmeval's ``SummarizationAccuracy`` is not used: it always computes BERTScore,
which needs a model from the Hugging Face Hub.

Scoring runs on one of two engines with the same transforms and the same per-record
results. ``"local"`` executes the pipeline record by record in this process.
``"ray"`` hands a Ray dataset to fmeval's ``evaluate_dataset``, the path fmeval's own
algorithms take, on a local Ray instance or an existing cluster. ``"auto"`` picks Ray
only above :data:`RAY_THRESHOLD` records.

Heavy libraries (fmeval, Ray, pandas, matplotlib) are imported inside the functions that
need them, so ``import utils.evaluation`` stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from utils import assets
from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

METRICS = ("rouge1", "rouge2", "rougeL", "meteor")
"""Scores computed for every sample, in column order."""

RETRYABLE_ERRORS = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "ModelNotReadyException",
    }
)
"""Bedrock error codes worth another attempt: the request was fine, the service was busy."""

ENGINES = ("auto", "local", "ray")
"""Scoring engines :func:`score` accepts."""

RAY_THRESHOLD = 20_000
"""Records above which ``engine="auto"`` scores on Ray rather than in this process.

Ray never paid off on the 2-core machine the workshop targets (measured with
``benchmarks/eval_speed.py``): in-process scoring costs about 14 ms a record once fmeval
is imported (1,000 records in 14 s), while each call of fmeval's Ray path costs 37-47 s
before the first record (one fresh actor per transform, each importing fmeval and loading
WordNet) and then about 23 ms a record (1,000 records in 58 s), as the transforms are
CPU-bound and run one materialised stage after another. So the threshold is set high,
at the largest data set Bedrock customization accepts (Nova: 20,000 records), where a
cluster with more cores (``ray_address``) is what makes Ray worth it. ``engine="ray"``
forces it at any size.
"""

RAY_LOCAL_CPUS = 2
"""Logical CPUs of a Ray instance started by :func:`score` (the workshop machine's cores)."""

_TARGET = "target_output"
_OUTPUT = "model_output"
_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_score_lock = threading.Lock()
log = logging.getLogger(__name__)


# --- running models ----------------------------------------------------------------------


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
        progress: Show a tqdm progress bar.
        sleep: Waits between retries (tests pass a no-op).

    Returns:
        One row per model and prompt, ordered by model then record: ``model, record,
        prompt, output, error, seconds, attempts, local``. ``attrs["failures"]`` holds
        the number of failed rows.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    jobs = [(label, i, prompt) for label in runners for i, prompt in enumerate(prompts)]
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
        tqdm(total=len(jobs), desc="generating", unit="call", disable=not progress) as bar,
    ):
        futures = [pool.submit(run, *job) for job in jobs]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            bar.update(1)
            if row["error"]:
                bar.set_postfix(failed=sum(1 for r in rows if r["error"]))

    columns = ["model", "record", "prompt", "output", "error", "seconds", "attempts", "local"]
    order = {label: n for n, label in enumerate(runners)}
    rows.sort(key=lambda r: (order[r["model"]], r["record"]))
    frame = pd.DataFrame(rows, columns=columns)
    failures = int(frame["error"].notna().sum())
    frame.attrs["failures"] = failures
    if failures:
        log.warning("%d of %d model calls failed; see the error column.", failures, len(frame))
    return frame


# --- scoring -----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_evaluate() -> Iterator[None]:
    # evaluate warns on every load that it used its cached module; offline that is the plan.
    logger = logging.getLogger("evaluate.loading")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@functools.lru_cache(maxsize=2)
def _pipeline(bertscore: bool) -> Any:
    """fmeval's transforms for our metrics, built once per process."""
    assets.activate(online=bertscore)
    with _quiet_evaluate():
        # Importing this module loads evaluate's "bertscore": activate() must come first.
        from fmeval.transforms.summarization_accuracy_metrics import MeteorScore, RougeScore
        from fmeval.transforms.transform_pipeline import TransformPipeline

        transforms: list[Any] = [
            RougeScore(
                target_output_keys=[_TARGET],
                model_output_keys=[_OUTPUT],
                output_keys=[rouge_type],
                allow_duplicate_input_keys=False,
                rouge_type=rouge_type,
                use_stemmer=True,
            )
            for rouge_type in _ROUGE_TYPES
        ]
        # The data is already in place (activate checked); fmeval would call nltk.download.
        transforms.append(
            MeteorScore(
                target_output_keys=[_TARGET],
                model_output_keys=[_OUTPUT],
                output_keys=["meteor"],
                allow_duplicate_input_keys=False,
                load_modules=False,
            )
        )
        if bertscore:
            transforms.append(_bertscore_transform())
        return TransformPipeline(transforms)


def _bertscore_transform() -> Any:
    from fmeval.constants import BERTSCORE_DEFAULT_MODEL
    from fmeval.eval_algorithms.helper_models.helper_model import BertscoreHelperModel
    from fmeval.transforms.summarization_accuracy_metrics import BertScore

    unavailable = WorkshopError(
        "BERTScore needs the Hugging Face Hub (a model download), which cannot be reached.",
        "Use bertscore=False: ROUGE and METEOR work offline. For BERTScore, run where "
        "huggingface.co is reachable.",
    )
    try:
        model = BertscoreHelperModel(BERTSCORE_DEFAULT_MODEL)
        # One tiny score proves the Hub script and the model are both there.
        model.get_helper_scores("a test", "a test")
    except WorkshopError:
        raise
    except Exception as exc:
        raise unavailable from exc
    return BertScore(
        target_output_keys=[_TARGET],
        model_output_keys=[_OUTPUT],
        output_keys=["bertscore"],
        allow_duplicate_input_keys=False,
        bertscore_model=model,
    )


def _choose_engine(engine: str, records: int, ray_address: str | None) -> str:
    """Resolve ``engine`` to ``"local"`` or ``"ray"`` for ``records`` records to score."""
    if engine not in ENGINES:
        raise WorkshopError(
            f"Unknown scoring engine {engine!r}.",
            f"Use one of {', '.join(repr(e) for e in ENGINES)}.",
        )
    if engine == "local" and ray_address:
        raise WorkshopError(
            f"engine='local' scores in this process, so ray_address={ray_address!r} would "
            "be ignored.",
            "Pass engine='ray' (or 'auto') to use the cluster, or drop ray_address.",
        )
    if engine == "auto":
        return "ray" if records > RAY_THRESHOLD else "local"
    return engine


def _is_missing(output: object) -> bool:
    return output is None or (isinstance(output, float) and math.isnan(output))


def score(
    outputs: Sequence[str | None],
    references: Sequence[str],
    bertscore: bool = False,
    engine: str = "auto",
    ray_address: str | None = None,
) -> pd.DataFrame:
    """Score outputs against references with fmeval's ROUGE and METEOR transforms.

    ROUGE-1, ROUGE-2 and ROUGE-L are F-measures with stemming, as fmeval computes them;
    METEOR is NLTK's, on NLTK word tokens. A missing output (``None``, a failed call)
    gets NaN scores. Both engines run the same transforms and give the same scores.

    Args:
        outputs: Model outputs.
        references: Reference answers, one per output.
        bertscore: Add a ``bertscore`` column; needs the Hugging Face Hub.
        engine: ``"local"`` (in this process), ``"ray"`` (fmeval's ``evaluate_dataset``
            on Ray) or ``"auto"`` (Ray only above :data:`RAY_THRESHOLD` outputs).
        ray_address: Address of a running Ray cluster (``"ray://host:10001"``,
            ``"host:6379"``); without it (and without ``RAY_ADDRESS``), Ray starts
            locally and stops afterwards. The cluster's workers need the offline assets
            at the same path as here. fmeval sizes its actor pools from the environment
            variable ``PARALLELIZATION_FACTOR`` (default: this machine's cores less one).

    Returns:
        Columns ``rouge1, rouge2, rougeL, meteor`` (and ``bertscore``), one row per output.

    Raises:
        WorkshopError: When lengths differ, the engine is unknown, offline assets are
            missing, or BERTScore was asked for and the Hub cannot be reached.
    """
    import pandas as pd

    if len(outputs) != len(references):
        raise WorkshopError(
            f"score() got {len(outputs)} outputs but {len(references)} references.",
            "Pass one reference per output, in the same order.",
        )
    columns = list(METRICS) + (["bertscore"] if bertscore else [])
    todo = [i for i, output in enumerate(outputs) if not _is_missing(output)]
    chosen = _choose_engine(engine, len(todo), ray_address)
    pairs = [(str(outputs[i]), references[i]) for i in todo]
    if chosen == "ray":
        scored = _score_on_ray(_pipeline(bertscore), pairs, columns, ray_address)
    else:
        scored = _score_here_or_in_scorer(pairs, columns, bertscore)
    rows = [dict.fromkeys(columns, math.nan) for _ in outputs]
    for i, values in zip(todo, scored, strict=True):
        rows[i] = values
    return pd.DataFrame(rows, columns=columns, dtype=float)


def score_pairs(
    pairs: Sequence[tuple[str, str]], columns: Sequence[str] = METRICS, bertscore: bool = False
) -> list[dict[str, float]]:
    """fmeval's scores of (output, reference) pairs, computed in this process.

    This is what every local score runs, here or in the run's scoring process
    (:mod:`utils.scorer`).
    """
    pipeline = _pipeline(bertscore)
    rows = []
    with _score_lock, _quiet_evaluate():
        # evaluate's metric objects keep per-call writer state; one caller at a time.
        for output, reference in pairs:
            record = pipeline.execute_record({_TARGET: reference, _OUTPUT: output})
            rows.append({name: float(record[name]) for name in columns})
    return rows


def _score_here_or_in_scorer(
    pairs: Sequence[tuple[str, str]], columns: Sequence[str], bertscore: bool
) -> list[dict[str, float]]:
    """Score in the run's scoring process when there is one, else in this process."""
    from utils import scorer

    url = os.environ.get(scorer.ENV_VAR)
    if url and not bertscore and pairs:
        try:
            return scorer.score_remotely(url, pairs, columns)
        except scorer.ScorerUnavailable as exc:
            log.warning("%s; scoring in this process instead.", exc)
    return score_pairs(pairs, columns, bertscore)


# --- scoring on Ray ----------------------------------------------------------------------


def _asset_env() -> dict[str, str]:
    """The environment variables that point NLTK and evaluate at the offline assets."""
    names = ("NLTK_DATA", "HF_MODULES_CACHE", "HF_METRICS_CACHE", *assets.OFFLINE_FLAGS)
    return {name: os.environ[name] for name in names if name in os.environ}


@contextlib.contextmanager
def _ray_session(address: str | None) -> Iterator[None]:
    """Connect to Ray for the duration of the block.

    An existing connection (a notebook's own ``ray.init``) is used as it is; its workers
    find the assets only if :func:`utils.assets.activate` ran before that ``ray.init``.
    Otherwise this connects to ``address`` (or ``RAY_ADDRESS``) or starts a small local
    instance, and disconnects (stopping the local instance) on the way out.
    """
    import ray

    if ray.is_initialized():
        if address:
            log.info("Ray is already initialised; using that connection, not %s.", address)
        yield
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Driver-side logs from the workers would flood a notebook cell.
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        # A cluster's workers do not inherit this process's environment.
        ray.init(address=address, runtime_env={"env_vars": _asset_env()}, **options)
    else:
        # Workers of a local instance are children of this process and inherit the
        # asset variables that assets.activate() set.
        ray.init(num_cpus=RAY_LOCAL_CPUS, include_dashboard=False, **options)
    try:
        yield
    finally:
        ray.shutdown()


def _collector() -> Any:
    """An fmeval ``SaveStrategy`` that keeps the saved per-record results in memory."""
    from fmeval.eval_algorithms.save_strategy import SaveStrategy

    class Collected(SaveStrategy):
        def __init__(self) -> None:
            self.records: list[Any] = []

        def start(self) -> None:
            """Nothing to open."""

        def save(self, records: list[Any]) -> None:
            """Keep one batch of ``EvalOutputRecord`` objects."""
            self.records.extend(records)

        def clean_up(self) -> None:
            """Nothing to close."""

    return Collected()


def _score_on_ray(
    pipeline: Any,
    pairs: Sequence[tuple[str, str]],
    columns: Sequence[str],
    address: str | None = None,
) -> list[dict[str, float]]:
    """Score (output, reference) pairs with fmeval's ``evaluate_dataset`` on Ray."""
    if not pairs:
        return []
    with _ray_session(address), _quiet_ray(), tempfile.TemporaryDirectory() as results:
        import ray.data
        from fmeval.constants import PARTITION_MULTIPLIER
        from fmeval.eval_algorithms.common import evaluate_dataset
        from fmeval.util import get_num_actors

        # Rows travel through Ray's object store rather than fmeval's file loader, whose
        # read tasks run on the workers and could not see this machine's files on a
        # cluster. The partitioning and ordering are those of fmeval.data_loaders.
        context = ray.data.DataContext.get_current()
        saved = (context.execution_options.preserve_order, context.enable_progress_bars)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        try:
            dataset = ray.data.from_items([{_OUTPUT: out, _TARGET: ref} for out, ref in pairs])
            dataset = dataset.repartition(get_num_actors() * PARTITION_MULTIPLIER).materialize()
            collected = _collector()
            evaluate_dataset(
                dataset=dataset,
                pipeline=pipeline,
                dataset_name="workshop",
                eval_name="workshop_rouge_meteor",
                metric_names=list(columns),
                eval_results_path=results,
                save=True,
                save_strategy=collected,
            )
        finally:
            context.execution_options.preserve_order, context.enable_progress_bars = saved
    # A record's scores depend only on its two texts, so matching on them is exact even
    # for repeated pairs and does not rely on Ray keeping the order.
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for record in collected.records:
        key = (record.dataset_columns[_OUTPUT], record.dataset_columns[_TARGET])
        values = {s.name: math.nan if s.value is None else float(s.value) for s in record.scores}
        by_pair[key] = {name: values.get(name, math.nan) for name in columns}
    lost = [pair for pair in pairs if pair not in by_pair]
    if lost or len(collected.records) != len(pairs):
        raise WorkshopError(
            f"Ray returned {len(collected.records)} scored records for {len(pairs)} inputs.",
            "Run again with engine='local'; report this if it happens again.",
        )
    return [dict(by_pair[pair]) for pair in pairs]


@contextlib.contextmanager
def _quiet_ray() -> Iterator[None]:
    # Ray Data logs each execution plan at INFO to stdout, and the SageMaker SDK (which
    # fmeval's save strategies import) where it looked for config files; it keeps a level
    # that is already set.
    loggers = [logging.getLogger(name) for name in ("ray.data", "fmeval", "sagemaker.config")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with _quiet_evaluate():
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


# --- comparing ---------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Scores of several models on the same records.

    Attributes:
        outputs: What :func:`generate` returned (one row per model and record).
        per_sample: One row per model and record with the reference and the scores;
            failed generations are kept with NaN scores and their error.
        summary: One row per model and metric: mean, bootstrap CI, n scored, n failed.
        failures: How many model calls failed.
        metrics: The metric columns scored.
    """

    outputs: pd.DataFrame
    per_sample: pd.DataFrame
    summary: pd.DataFrame
    failures: int
    metrics: tuple[str, ...] = METRICS

    @property
    def models(self) -> list[str]:
        """Model labels, in the order given."""
        return list(dict.fromkeys(self.per_sample["model"]))

    @property
    def local(self) -> bool:
        """Whether any answer came from the local stand-in rather than Amazon Bedrock."""
        return bool(self.outputs["local"].fillna(False).astype(bool).any())

    def table(self, stat: str = "mean") -> pd.DataFrame:
        """The summary as a model x metric table of one statistic."""
        wide = self.summary.pivot(index="model", columns="metric", values=stat)
        return wide.loc[self.models, list(self.metrics)]


def bootstrap_summary(
    per_sample: pd.DataFrame,
    metrics: Sequence[str] = METRICS,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and percentile-bootstrap confidence interval per model and metric.

    Each (model, metric) group draws from its own generator seeded with ``seed``, so a
    result does not depend on which other models are in the table.

    Args:
        per_sample: Rows with a ``model`` column and the metric columns (NaN = not scored).
        metrics: Metric columns to summarise.
        n_boot: Bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed for the resampling.

    Returns:
        Columns ``model, metric, mean, ci_low, ci_high, n_scored, n_failed``.
    """
    import numpy as np
    import pandas as pd

    tail = (1.0 - confidence) / 2.0
    rows = []
    for model in dict.fromkeys(per_sample["model"]):
        group = per_sample[per_sample["model"] == model]
        for metric in metrics:
            values = group[metric].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            n = len(values)
            if n == 0:
                mean = low = high = math.nan
            else:
                mean = float(values.mean())
                rng = np.random.default_rng(seed)
                picks = rng.integers(0, n, size=(n_boot, n))
                means = values[picks].mean(axis=1)
                low, high = (float(q) for q in np.quantile(means, [tail, 1.0 - tail]))
            rows.append(
                {
                    "model": model,
                    "metric": metric,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n_scored": n,
                    "n_failed": int(len(group) - n),
                }
            )
    return pd.DataFrame(rows)


def _result(
    outputs: pd.DataFrame,
    references: Sequence[str],
    bertscore: bool,
    n_boot: int,
    seed: int,
    engine: str,
    ray_address: str | None,
) -> EvaluationResult:
    import pandas as pd

    texts = [None if pd.isna(text) else str(text) for text in outputs["output"]]
    scores = score(
        texts,
        [references[i] for i in outputs["record"]],
        bertscore=bertscore,
        engine=engine,
        ray_address=ray_address,
    )
    per_sample = pd.concat(
        [
            outputs[["model", "record", "prompt"]].reset_index(drop=True),
            pd.Series([references[i] for i in outputs["record"]], name="reference"),
            outputs[["output", "error"]].reset_index(drop=True),
            scores,
        ],
        axis=1,
    )
    metrics = tuple(scores.columns)
    summary = bootstrap_summary(per_sample, metrics, n_boot=n_boot, seed=seed)
    return EvaluationResult(
        outputs=outputs,
        per_sample=per_sample,
        summary=summary,
        failures=int(outputs["error"].notna().sum()),
        metrics=metrics,
    )


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


def _batch_minimum() -> int:
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


def compare(
    runners: Mapping[str, Runner],
    records: Sequence[Mapping[str, str]],
    max_workers: int = 4,
    bertscore: bool = False,
    progress: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
    engine: str = "auto",
    ray_address: str | None = None,
    batch: BatchSettings | None = None,
    **generate_options: Any,
) -> EvaluationResult:
    """Generate with every model on every record's prompt and score against its reference.

    Args:
        runners: Model label to runner.
        records: Dicts with ``prompt`` and ``reference``.
        max_workers: Concurrent model calls at most.
        bertscore: Add BERTScore (needs the Hugging Face Hub).
        progress: Show progress bars.
        n_boot: Bootstrap resamples for the confidence intervals.
        seed: Seed for the bootstrap, so summaries are reproducible.
        engine: Scoring engine: ``"auto"``, ``"local"`` or ``"ray"`` (see :func:`score`).
        ray_address: Ray cluster to score on when Ray is used (see :func:`score`).
        batch: Generate with Bedrock batch inference when there are at least
            ``batch.threshold`` records (see :class:`BatchSettings`); otherwise, or when
            ``None``, one call per record.
        **generate_options: Passed to :func:`generate` (``attempts``, ``base_delay``, ...).

    Returns:
        The outputs, per-sample scores, summary and failure count.
    """
    bad = [i for i, r in enumerate(records) if "prompt" not in r or "reference" not in r]
    if bad:
        raise WorkshopError(
            f"Records {bad[:5]} lack a 'prompt' or 'reference' key.",
            "Give every record both keys, e.g. {'prompt': ..., 'reference': ...}.",
        )
    total = len(records) * len(runners)
    # Fail before spending on generation: a bad engine or an unreachable Hub.
    _choose_engine(engine, total, ray_address)
    if bertscore:
        _pipeline(True)
    # All generation goes through this one call; its frame (generate()'s columns) is all
    # that scoring needs, so another way of generating can slot in here.
    prompts = [r["prompt"] for r in records]
    if batch is not None and len(records) >= max(batch.threshold, _batch_minimum()):
        outputs = generate_batch(runners, prompts, batch, progress=progress)
    else:
        outputs = generate(
            runners, prompts, max_workers=max_workers, progress=progress, **generate_options
        )
    references = [r["reference"] for r in records]
    return _result(outputs, references, bertscore, n_boot, seed, engine, ray_address)


def score_outputs(
    outputs_by_model: Mapping[str, Sequence[str | None]],
    references: Sequence[str],
    bertscore: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    prompts: Sequence[str] | None = None,
    engine: str = "auto",
    ray_address: str | None = None,
) -> EvaluationResult:
    """Like :func:`compare` for outputs generated earlier (``None`` marks a failed call).

    Args:
        outputs_by_model: Model label to outputs, one per reference.
        references: Reference answers.
        bertscore: Add BERTScore (needs the Hugging Face Hub).
        n_boot: Bootstrap resamples.
        seed: Seed for the bootstrap.
        prompts: Optional prompts, for the tables.
        engine: Scoring engine: ``"auto"``, ``"local"`` or ``"ray"`` (see :func:`score`).
        ray_address: Ray cluster to score on when Ray is used (see :func:`score`).

    Returns:
        The outputs, per-sample scores, summary and failure count.
    """
    import pandas as pd

    rows = []
    for label, outputs in outputs_by_model.items():
        if len(outputs) != len(references):
            raise WorkshopError(
                f"Model {label!r} has {len(outputs)} outputs for {len(references)} references.",
                "Give every model one output per reference, in the same order.",
            )
        for i, output in enumerate(outputs):
            rows.append(
                {
                    "model": label,
                    "record": i,
                    "prompt": prompts[i] if prompts is not None else None,
                    "output": output,
                    "error": None if output is not None else "no output",
                    "seconds": math.nan,
                    "attempts": 0,
                    "local": None,
                }
            )
    frame = pd.DataFrame(rows)
    frame.attrs["failures"] = int(frame["error"].notna().sum()) if len(frame) else 0
    return _result(frame, references, bertscore, n_boot, seed, engine, ray_address)


# --- plots -------------------------------------------------------------------------------


def record_scores(result: EvaluationResult, state: Any, key: str = "scores") -> pd.DataFrame:
    """Record each model's mean scores in the run summary; returns the summary with its CIs."""
    means = result.table().round(4)
    state.record_result(key, {model: means.loc[model].to_dict() for model in means.index})
    return result.summary.round(3)


def plot_summary(result: EvaluationResult, title: str | None = None) -> Figure:
    """Bars of each metric's mean, grouped by metric, one colour per model, with CI whiskers."""
    import matplotlib.pyplot as plt
    import numpy as np

    models, metrics = result.models, list(result.metrics)
    mean, low, high = (result.table(s) for s in ("mean", "ci_low", "ci_high"))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(metrics) * max(1, len(models)) / 2), 4))
    width = 0.8 / max(1, len(models))
    x = np.arange(len(metrics))
    for k, model in enumerate(models):
        heights = mean.loc[model].to_numpy(dtype=float)
        errors = np.vstack(
            [heights - low.loc[model].to_numpy(dtype=float), high.loc[model] - heights]
        )
        ax.bar(
            x + (k - (len(models) - 1) / 2) * width,
            np.nan_to_num(heights),
            width,
            yerr=np.nan_to_num(errors),
            capsize=3,
            label=model,
        )
    ax.set_xticks(x, metrics)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean score (95% bootstrap CI)")
    ax.set_title(title or "Scores by model")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def plot_distributions(result: EvaluationResult, title: str | None = None) -> Figure:
    """One panel per metric with a box plot and the individual scores of each model."""
    import matplotlib.pyplot as plt
    import numpy as np

    models, metrics = result.models, list(result.metrics)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.2 * len(metrics), 3.6), sharey=True, squeeze=False
    )
    jitter = np.random.default_rng(0)
    for ax, metric in zip(axes[0], metrics, strict=True):
        series = []
        for model in models:
            scores = result.per_sample.loc[result.per_sample["model"] == model, metric]
            series.append(scores.dropna().to_numpy(dtype=float))
        ax.boxplot(series, showfliers=False)
        for k, values in enumerate(series, start=1):
            ax.scatter(k + jitter.uniform(-0.12, 0.12, len(values)), values, s=8, alpha=0.5)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_title(metric)
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("score per sample")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


__all__ = [
    "ENGINES",
    "METRICS",
    "RAY_LOCAL_CPUS",
    "RAY_THRESHOLD",
    "RETRYABLE_ERRORS",
    "ConverseRunner",
    "EvaluationResult",
    "Reply",
    "Runner",
    "bootstrap_summary",
    "compare",
    "generate",
    "plot_distributions",
    "plot_summary",
    "register_with_fmeval",
    "score",
    "score_outputs",
]
