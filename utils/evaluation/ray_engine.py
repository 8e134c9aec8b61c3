"""Scoring on Ray: fmeval's transforms on a Ray dataset, in one pool of actors.

:func:`score_on_ray` runs the transforms of :func:`utils.evaluation.metrics.pipeline` on a
Ray dataset, on a local Ray instance or an existing cluster (:func:`ray_session`), and
gives the same per-record scores as scoring in this process.

fmeval's own ``evaluate_dataset`` (through ``TransformPipeline.execute``) maps each
transform with a pool of actors of its own and materialises the dataset in between; every
actor is a fresh process that imports fmeval (torch and transformers with it) before its
first record. For our four transforms that is four pools, nearly all of the time spent
starting them. Here one pool of actors builds the four transforms once each and applies
them to every record in order, as ``TransformPipeline.execute_record`` does. The scores
are the same; ``benchmarks/eval_speed.py`` measured, for 10 records on 2 cores
(2026-12-02), 13.2 s against fmeval's 26.9 s for a first call and 9.7 s against 26.2 s for
the next.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

from utils import assets
from utils.errors import WorkshopError
from utils.evaluation.metrics import OUTPUT_KEY, TARGET_KEY, quiet_evaluate

RAY_LOCAL_CPUS = 2
"""Logical CPUs of a Ray instance started by :func:`ray_session` (the workshop machine's cores)."""

log = logging.getLogger(__name__)


def _asset_env() -> dict[str, str]:
    """The environment variables that point NLTK and evaluate at the offline assets."""
    names = ("NLTK_DATA", "HF_MODULES_CACHE", "HF_METRICS_CACHE", *assets.OFFLINE_FLAGS)
    return {name: os.environ[name] for name in names if name in os.environ}


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[None]:
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


def collector() -> Any:
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


def _actor_class() -> type:
    """The Ray actor that applies the transforms; made here so Ray ships it by value.

    A class defined in a function is pickled whole, so a cluster's workers need fmeval
    (whose transform classes it names) but not this package.
    """

    class ApplyTransforms:
        def __init__(self, specs: Sequence[tuple[type, tuple[Any, ...], dict[str, Any]]]):
            # Built as fmeval's own actors build them: from the class and its arguments.
            self.transforms = [kind(*args, **kwargs) for kind, args, kwargs in specs]

        def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
            for transform in self.transforms:
                record = transform(record)
            return record

    return ApplyTransforms


def score_on_ray(
    pipeline: Any,
    pairs: Sequence[tuple[str, str]],
    columns: Sequence[str],
    address: str | None = None,
) -> list[dict[str, float]]:
    """Score (output, reference) pairs with fmeval's transforms on Ray, one actor pool."""
    if not pairs:
        return []
    with ray_session(address), _quiet_ray():
        import ray.data
        from fmeval.constants import PARTITION_MULTIPLIER
        from fmeval.util import get_num_actors

        # Rows travel through Ray's object store rather than fmeval's file loader, whose
        # read tasks run on the workers and could not see this machine's files on a
        # cluster. The partitioning is that of fmeval.data_loaders.
        context = ray.data.DataContext.get_current()
        saved = (context.execution_options.preserve_order, context.enable_progress_bars)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        try:
            dataset = ray.data.from_items(
                [{OUTPUT_KEY: out, TARGET_KEY: ref} for out, ref in pairs]
            )
            specs = [(type(t), t.args, t.kwargs) for t in pipeline.transforms]
            scored = (
                dataset.repartition(get_num_actors() * PARTITION_MULTIPLIER)
                .map(
                    _actor_class(),
                    fn_constructor_args=(specs,),
                    concurrency=(1, get_num_actors()),
                )
                .take_all()
            )
        finally:
            context.execution_options.preserve_order, context.enable_progress_bars = saved
    # A record's scores depend only on its two texts, so matching on them is exact even
    # for repeated pairs and does not rely on Ray keeping the order.
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for row in scored:
        key = (row[OUTPUT_KEY], row[TARGET_KEY])
        by_pair[key] = {name: _number(row.get(name)) for name in columns}
    lost = [pair for pair in pairs if pair not in by_pair]
    if lost or len(scored) != len(pairs):
        raise WorkshopError(
            f"Ray returned {len(scored)} scored records for {len(pairs)} inputs.",
            "Run again with engine='local'; report this if it happens again.",
        )
    return [dict(by_pair[pair]) for pair in pairs]


def _number(value: Any) -> float:
    """A score as a float, NaN where the transform gave none."""
    return math.nan if value is None else float(value)


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
        with quiet_evaluate():
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
