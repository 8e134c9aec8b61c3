"""The entry points for one file, stream or list of records: :func:`validate_file` and its kin."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from utils.errors import WorkshopError
from utils.validation.media import MAX_MEDIA_CHECKS, MediaProbe
from utils.validation.reading import MAX_LINE_BYTES, Engine, open_source, parse_s3_uri
from utils.validation.records import RecordChecker
from utils.validation.report import MAX_PROBLEMS, ValidationReport
from utils.validation.rules import SPLITS, DatasetRules, rules_for


def _setup(
    source: str,
    job: str,
    model: str,
    split: str,
    max_problems: int,
    check_media: bool = False,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    token_counter: Callable[[str], int] | None = None,
) -> tuple[ValidationReport, DatasetRules, RecordChecker]:
    info, job_name, rules = rules_for(job, model)
    if split not in SPLITS:
        raise WorkshopError(f"Unknown split {split!r}.", "Use 'train' or 'validation'.")
    report = ValidationReport(
        source=source, job=job_name, model=info.model_id, split=split, max_problems=max_problems
    )
    parts = parse_s3_uri(source) if source.startswith("s3://") else None
    probe = (
        MediaProbe(rules, info.name, report, max_media_checks)
        if check_media and rules.media
        else None
    )
    checker = RecordChecker(rules, info.name, parts[0] if parts else None, probe, token_counter)
    if rules.max_tokens is not None:
        report.token_method = (
            "estimated at 3 characters a token, and counted with Bedrock's CountTokens "
            "where the estimate is over the limit"
            if token_counter
            else "estimated at 3 characters a token (conservative; no CountTokens)"
        )
    return report, rules, checker


def validate_file(
    source: str | Path,
    job: str = "fine-tuning",
    model: str = "amazon.nova-micro-v1:0",
    split: str = "train",
    *,
    check_media: bool = True,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_problems: int = MAX_PROBLEMS,
    token_counter: Callable[[str], int] | None = None,
) -> ValidationReport:
    """Validate a JSON Lines file (local path or ``s3://bucket/key``) for a customization job.

    The file is read once, line by line; memory use does not grow with its size.
    Problems with the file itself (missing, unreadable, empty) are reported, not raised.

    Args:
        source: Local path or S3 URI of the dataset.
        job: ``fine-tuning``, ``continued-pretraining`` or ``distillation``.
        model: Base model id (with or without region prefix or ``:0:128k`` suffix).
        split: ``train`` or ``validation`` (the record-count limits differ).
        check_media: Fetch the images and videos a record names from Amazon S3 (HEAD and a
            ranged GET of the header) to check that they exist, their format, size and
            dimensions. Only for models that accept media; False validates offline.
        max_media_checks: Most distinct media objects fetched; further references are
            counted in ``media_unchecked``, not fetched.
        max_line_bytes: Lines longer than this are reported and skipped unread.
        max_problems: Problems kept in the report (all are counted).
        token_counter: An exact count (:func:`utils.tokens.bedrock_counter`) for records the
            conservative estimate puts over the model's limit; None keeps the estimate.

    Raises:
        WorkshopError: Unknown job, model or split, or a job the model does not support.
    """
    report, rules, checker = _setup(
        str(source), job, model, split, max_problems, check_media, max_media_checks,
        token_counter,
    )  # fmt: skip
    stream = open_source(source, report)
    if stream is None:
        return report
    with stream:
        return _check_stream(report, rules, checker, stream, split, max_line_bytes)


def validate_stream(
    stream: IO[bytes],
    job: str = "fine-tuning",
    model: str = "amazon.nova-micro-v1:0",
    split: str = "train",
    *,
    source: str = "<stream>",
    check_media: bool = False,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_problems: int = MAX_PROBLEMS,
) -> ValidationReport:
    """Validate JSON Lines from an open binary stream (read once, not closed).

    Takes the arguments of :func:`validate_file`; ``source`` names the stream in messages.
    Media objects are fetched only when ``check_media`` is True (a stream may come from
    anywhere, so the caller decides whether Amazon S3 should be asked).

    Raises:
        WorkshopError: Unknown job, model or split, or a job the model does not support.
    """
    report, rules, checker = _setup(
        source, job, model, split, max_problems, check_media, max_media_checks
    )
    return _check_stream(report, rules, checker, stream, split, max_line_bytes)


def _check_stream(
    report: ValidationReport,
    rules: DatasetRules,
    checker: RecordChecker,
    stream: IO[bytes],
    split: str,
    max_line_bytes: int,
) -> ValidationReport:
    engine = Engine(report, checker, max_line_bytes)
    if engine.stream(stream, max_line_bytes):
        engine.finish(rules, split)
    return report


def validate_records(
    records: Iterable[Any],
    job: str = "fine-tuning",
    model: str = "amazon.nova-micro-v1:0",
    split: str = "train",
    *,
    source: str = "<records>",
    check_media: bool = False,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    max_problems: int = MAX_PROBLEMS,
    token_counter: Callable[[str], int] | None = None,
) -> ValidationReport:
    """Validate records already in memory (``line`` in problems is the 1-based position).

    Media objects are not fetched unless ``check_media`` is True; ``token_counter`` is as for
    :func:`validate_file`.

    Raises:
        WorkshopError: Unknown job, model or split, or a job the model does not support.
    """
    report, rules, checker = _setup(
        source, job, model, split, max_problems, check_media, max_media_checks, token_counter
    )
    engine = Engine(report, checker)
    for number, record in enumerate(records, start=1):
        engine.record(number, record)
    engine.finish(rules, split)
    return report
