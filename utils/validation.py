"""Check customization datasets before a job is created, with a line and field for each problem.

A Bedrock job that rejects its data fails only after it has been queued; checking
the JSON Lines file here first takes seconds. :func:`validate_file` streams the file
(local path or ``s3://`` URI) once, line by line, in constant memory, and returns a
:class:`ValidationReport`; :func:`validate_records` checks records already in memory;
:func:`validate_dataset` checks a training file and its validation file together
(limits that span both, such as Claude 3 Haiku's 10,000 records in all).

Every problem carries a rule id (see :data:`RULES`), the line number, a field path
such as ``messages[2].content[0].text`` and a message that says how to fix it.

Coverage (model ids as in Bedrock; region prefixes such as ``us.`` and customization
suffixes such as ``:0:128k`` are accepted):

- fine-tuning: Amazon Nova Micro/Lite/Pro and Meta Llama 3.2 1B/3B/11B/90B
  (``bedrock-conversation-2024``; images for Nova Lite/Pro and Llama 3.2 11B/90B),
  Amazon Titan Text Lite/Express and Meta Llama 3.1 8B/70B (prompt/completion),
  Claude 3 Haiku.
- continued pre-training: Amazon Titan Text Lite/Express (``{"input": ...}``).
- distillation prompts: Amazon Nova Micro/Lite/Pro, Llama 3.1 8B, Claude 3 Haiku students.

Images and videos in Amazon S3 are fetched (``check_media=True``, the default for files):
a HEAD request for existence and size, and a ranged GET of the first bytes to read an
image's format and dimensions from its header, at most ``max_media_checks`` distinct
objects per file. Pass ``check_media=False`` to validate without access to Amazon S3.

Token counts are conservative estimates, characters / 3 (:func:`utils.datasets.estimate_tokens`);
given a ``token_counter`` (:func:`utils.tokens.bedrock_counter`), a record the estimate puts
over a limit is counted exactly before it is refused, and the report says which was used.
Not checked: per-record token limits of prompt/completion and conversation fine-tuning,
and image or video sizes for Amazon Nova (its fine-tuning guide gives no figures).
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from utils import models
from utils.datasets import estimate_tokens
from utils.errors import WorkshopError, error_code

if TYPE_CHECKING:
    import pandas as pd

MAX_LINE_BYTES = 10 * 1024 * 1024
"""Longest line read (10 MiB); longer lines are reported as ``line.too_long``, never loaded."""

MAX_PROBLEMS = 1000
"""Problems kept in a report; further ones are only counted, so memory stays bounded."""

MAX_MEDIA_CHECKS = 1000
"""Distinct S3 media objects fetched per file by default; further references are only counted."""

MEDIA_HEADER_BYTES = 64 * 1024
"""Bytes fetched per ranged GET when reading an image header (at most 4 such reads per image)."""

JOBS = ("fine-tuning", "continued-pretraining", "distillation")
CONVERSATION_SCHEMA = "bedrock-conversation-2024"
"""Customization jobs the validator knows."""

SPLITS = ("train", "validation")
"""Dataset splits: the training file and the optional validation file."""

IMAGE_FORMATS = ("jpeg", "png", "gif", "webp")
VIDEO_FORMATS = ("mov", "mkv", "mp4", "webm")
NOVA_RESERVED = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
CLAUDE_RESERVED = ("\nHuman:", "\nAssistant:")

RULES: dict[str, str] = {
    "file.missing": "The file or S3 object does not exist.",
    "file.directory": "The path is a directory, not a file.",
    "file.unreadable": "The file or S3 object cannot be read.",
    "file.empty": "The file holds no records.",
    "file.too_large": "The file is larger than the job accepts.",
    "encoding.bom": "The file starts with a UTF-8 byte-order mark.",
    "encoding.utf16": "The file is UTF-16, not UTF-8.",
    "encoding.utf8": "A line is not valid UTF-8.",
    "line.blank": "A line is empty; every line must hold one record.",
    "line.too_long": "A line is longer than the validator reads.",
    "json.syntax": "A line is not valid JSON.",
    "json.truncated": "The last line is cut off (no newline and incomplete JSON).",
    "json.array": "The file is a JSON array, not JSON Lines.",
    "json.pretty_printed": "One JSON object is spread over several lines.",
    "json.not_object": "A line holds JSON that is not an object.",
    "json.duplicate_key": "An object has the same key twice.",
    "schema.required": "A required field is missing.",
    "schema.type": "A field has the wrong JSON type.",
    "schema.unknown_key": "A field is not part of the format.",
    "text.empty": "A text is empty or only whitespace.",
    "text.reserved": "A text contains a string the model reserves.",
    "tokens.max": "A record has more (estimated) tokens than the model accepts.",
    "system.count": "The system list has the wrong number of blocks.",
    "schema.version": "schemaVersion is not exactly 'bedrock-conversation-2024' where it must be.",
    "messages.count": "A record has too few or too many messages.",
    "messages.role": "A message role is not 'user' or 'assistant'.",
    "messages.first_user": "The first message is not from the user.",
    "messages.last_assistant": "The last message is not from the assistant.",
    "messages.alternation": "Two consecutive messages have the same role.",
    "content.empty": "A message content list is empty.",
    "content.item": "A content item does not hold exactly one of text, image or video.",
    "content.single_text": "A distillation message does not hold exactly one text item.",
    "media.micro": "Amazon Nova Micro is text-only: no images or videos.",
    "media.not_supported": "This model and job take text only.",
    "media.assistant": "An assistant message holds an image or video.",
    "media.image_count": "A record has more images than allowed.",
    "media.video_count": "A record has more than one video.",
    "media.both": "A record mixes images and videos.",
    "media.mixed_dataset": "The dataset mixes records with images and records with videos.",
    "media.format": "An image or video format is not supported.",
    "media.uri": "A media location is not an s3:// URI (or bucketOwner is not an account id).",
    "media.bucket": "A media file is in a different bucket than the dataset.",
    "media.unreachable": "A media file cannot be found or read in Amazon S3.",
    "media.content": "A media file is empty or not an image of the declared format.",
    "media.size": "An image file is larger than the model accepts.",
    "media.dimensions": "An image is wider or taller than the model accepts.",
    "count.min": "The file has fewer records than the job needs.",
    "count.max": "The file has more records than the job accepts.",
    "count.total_max": "The training and validation files together hold more records than allowed.",
}
"""Every rule id the validator reports, with what it means."""


# --------------------------------------------------------------------------- model registry


@dataclass(frozen=True)
class DatasetRules:
    """What one model family accepts for one job: record format, counts and limits.

    Attributes:
        format: ``conversation``, ``distillation``, ``prompt-completion``, ``claude`` or ``text``.
        min_records: Fewest records per split (missing split: no minimum).
        max_records: Most records per split (missing split: no maximum).
        media: Media kinds allowed in user turns (``image``, ``video``).
        max_total_records: Most records in the training and validation files together.
        media: Media kinds allowed in user turns (``image``, ``video``).
        max_images: Most images in one record (None: no documented limit).
        max_videos: Most videos in one record.
        max_image_bytes: Largest image file in bytes, if limited (needs the S3 object).
        max_image_side: Largest image width or height in pixels, if limited.
        same_bucket: Media must be in the dataset's bucket (checked for ``s3://`` datasets).
        max_tokens: Most estimated tokens per record, if limited.
        max_bytes: Largest file size in bytes, if limited.
        count_valid_only: Count only valid records against ``min_records`` (distillation).
        exact_schema: ``schemaVersion`` must be ``bedrock-conversation-2024`` exactly.
        single_system: A ``system`` list, when given, holds exactly one block.
        reserved: Strings that must not appear in prompt text.
        no_media_rule: Rule id reported when media appears but ``media`` is empty.
    """

    format: str
    min_records: Mapping[str, int] = field(default_factory=dict)
    max_records: Mapping[str, int] = field(default_factory=dict)
    max_total_records: int | None = None
    media: frozenset[str] = frozenset()
    max_images: int | None = 10
    max_videos: int = 1
    max_image_bytes: int | None = None
    max_image_side: int | None = None
    same_bucket: bool = True
    max_tokens: int | None = None
    max_bytes: int | None = None
    count_valid_only: bool = False
    exact_schema: bool = False
    single_system: bool = False
    reserved: tuple[str, ...] = ()
    no_media_rule: str = "media.not_supported"


@dataclass(frozen=True)
class ModelInfo:
    """A base model the validator knows, with the rules for each job it supports."""

    model_id: str
    name: str
    jobs: Mapping[str, DatasetRules]


def _nova(media: frozenset[str], no_media_rule: str = "media.not_supported") -> DatasetRules:
    return DatasetRules(
        format="conversation",
        min_records={"train": 8},
        max_records={"train": 20_000, "validation": 20_000},
        media=media,
        reserved=NOVA_RESERVED,
        no_media_rule=no_media_rule,
    )


# Distillation takes prompts in the conversation format for every student model.
# 100 to 15,000 prompts ("Prepare data for distilling", Amazon Nova user guide, and the
# Bedrock distillation data page, read 2026-12-01).
_DISTILLATION = DatasetRules(
    format="distillation",
    min_records={"train": 100},
    max_records={"train": 15_000},
    max_bytes=1024**3,
    count_valid_only=True,
)
_PROMPT_COMPLETION = DatasetRules(
    format="prompt-completion", max_records={"train": 10_000, "validation": 1_000}
)
_TITAN_CPT = DatasetRules(
    format="text", max_records={"train": 100_000, "validation": 1_000}, max_tokens=4_096
)
_CLAUDE = DatasetRules(
    format="claude",
    min_records={"train": 32, "validation": 32},
    max_records={"train": 10_000, "validation": 1_000},
    max_total_records=10_000,
    max_tokens=32_000,
    reserved=CLAUDE_RESERVED,
)
# AWS's Llama data validator (aws-samples/amazon-bedrock-samples, custom-models/
# bedrock-fine-tuning/meta-llama/dataset_validation, read 2026-12-01): schemaVersion is the
# constant bedrock-conversation-2024, system holds exactly one item, a row takes at most 16K
# input tokens (10K for Llama 3.2 90B), at most 10,000 training and 1,000 validation rows.
_LLAMA_32_TEXT = DatasetRules(
    format="conversation",
    max_records={"train": 10_000, "validation": 1_000},
    same_bucket=False,
    max_tokens=16_000,
    exact_schema=True,
    single_system=True,
)
_LLAMA_31 = replace(_PROMPT_COMPLETION, max_tokens=16_000)
# 11B and 90B Vision take images (no videos); AWS documents no per-record image count.
_LLAMA_32_VISION = replace(
    _LLAMA_32_TEXT,
    media=frozenset({"image"}),
    max_images=None,
    max_image_bytes=10 * 1024 * 1024,
    max_image_side=8192,
)
_LLAMA_32_90B = replace(_LLAMA_32_VISION, max_tokens=10_000)

_JOB_NAMES = {
    "FINE_TUNING": "fine-tuning",
    "CONTINUED_PRE_TRAINING": "continued-pretraining",
    "DISTILLATION": "distillation",
}


def _rules(fam: models.ModelFamily, customization_type: str) -> DatasetRules:
    """The dataset rules of one family for one customization type."""
    if customization_type == "DISTILLATION":
        return _DISTILLATION
    if customization_type == "CONTINUED_PRE_TRAINING":
        return _TITAN_CPT
    if fam.data_format == models.CLAUDE_MESSAGES:
        return _CLAUDE
    if fam.data_format == models.PROMPT_COMPLETION:
        return _LLAMA_31 if fam.provider == "Meta" else _PROMPT_COMPLETION
    if fam.provider == "Meta":
        if "90b" in fam.model_id:
            return _LLAMA_32_90B
        return _LLAMA_32_VISION if "IMAGE" in fam.input_modalities else _LLAMA_32_TEXT
    if "IMAGE" in fam.input_modalities:
        return _nova(frozenset({"image", "video"}))
    return _nova(frozenset(), no_media_rule="media.micro")


# One list of models for the registry and the validator: every family of utils.models, with
# the rules of each customization type it supports there.
MODELS: dict[str, ModelInfo] = {
    fam.model_id: ModelInfo(
        fam.model_id,
        fam.name,
        {
            _JOB_NAMES[ctype]: _rules(fam, ctype)
            for ctype in sorted(fam.customizations)
            if ctype in _JOB_NAMES
        },
    )
    for fam in models.FAMILIES
}
"""Base models the validator knows, by Bedrock model id."""

_REGION_PREFIX = re.compile(r"^(?:us-gov|us|eu|apac|global|jp|au|ca)\.", re.IGNORECASE)


def resolve_model(model: str) -> ModelInfo:
    """Find a known model from an id, inference-profile id (``us.``), ARN or ``:0:128k`` variant.

    Raises:
        WorkshopError: The model is not known; the message lists the known ids.
    """
    text = str(model).strip()
    if "/" in text:  # an ARN such as arn:aws:bedrock:...:foundation-model/<id>
        text = text.rsplit("/", 1)[1]
    text = _REGION_PREFIX.sub("", text).lower()
    candidate = text
    while candidate:
        if candidate in MODELS:
            return MODELS[candidate]
        if ":" not in candidate:
            break
        candidate = candidate.rsplit(":", 1)[0]
    raise WorkshopError(
        f"Unknown model {model!r}.",
        "Use one of: " + ", ".join(MODELS) + " (a region prefix or ':0:128k' suffix is fine).",
    )


def normalize_job(job: str) -> str:
    """``fine-tuning``, ``continued-pretraining`` or ``distillation`` from common spellings.

    Raises:
        WorkshopError: The job is not one of them.
    """
    text = str(job).strip().lower().replace("_", "-").replace(" ", "-")
    text = {"continued-pre-training": "continued-pretraining", "finetuning": "fine-tuning"}.get(
        text, text
    )
    if text not in JOBS:
        raise WorkshopError(f"Unknown job {job!r}.", "Use one of: " + ", ".join(JOBS) + ".")
    return text


def rules_for(job: str, model: str) -> tuple[ModelInfo, str, DatasetRules]:
    """The model, normalized job name and dataset rules for a job on a model.

    Raises:
        WorkshopError: Unknown job or model, or a job the model does not support.
    """
    info = resolve_model(model)
    job_name = normalize_job(job)
    if job_name not in info.jobs:
        supported = [m for m, i in MODELS.items() if job_name in i.jobs]
        raise WorkshopError(
            f"{info.name} ({info.model_id}) does not support {job_name} in this validator.",
            f"Pick a job it supports ({', '.join(info.jobs)}) or a model that supports "
            f"{job_name}: {', '.join(supported)}.",
        )
    return info, job_name, info.jobs[job_name]


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (line, field path) and what rule it breaks, with a fix.

    Attributes:
        line: 1-based line number (record position for in-memory records); None for the file.
        path: Field path such as ``messages[2].content[0].text``; empty for the whole line.
        rule: Rule id, a key of :data:`RULES`.
        message: What is wrong and how to fix it.
    """

    line: int | None
    path: str
    rule: str
    message: str

    def format(self, source: str) -> str:
        """``FILE:LINE: field.path: message`` (line and path left out when not known)."""
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {"line": self.line, "path": self.path, "rule": self.rule, "message": self.message}


@dataclass
class ValidationReport:
    """The outcome of validating one file or list of records.

    Attributes:
        source: What was read (path, ``s3://`` URI or ``<records>``).
        job: Normalized job name.
        model: Base model id the rules come from.
        split: ``train`` or ``validation``.
        records_read: Non-blank lines (or records) read.
        records_valid: Records without any problem.
        problems: The first :data:`MAX_PROBLEMS` problems, in file order.
        counts_by_rule: Count of every problem by rule id, including those not kept.
        bytes_read: Bytes read from the source.
        media_checked: Distinct media objects fetched from Amazon S3.
        media_unchecked: Media references not fetched (over ``max_media_checks``, or S3
            could not be reached).
    """

    source: str
    job: str
    model: str
    split: str
    records_read: int = 0
    records_valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts_by_rule: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0
    max_problems: int = MAX_PROBLEMS
    media_checked: int = 0
    media_unchecked: int = 0
    token_method: str | None = None
    """How tokens were counted, for models with a token limit per record."""

    @property
    def valid(self) -> bool:
        """True when no problem was found."""
        return not self.counts_by_rule

    @property
    def records_invalid(self) -> int:
        """Records with at least one problem."""
        return self.records_read - self.records_valid

    @property
    def problems_omitted(self) -> int:
        """Problems counted but not kept in :attr:`problems`."""
        return sum(self.counts_by_rule.values()) - len(self.problems)

    def add(self, problem: Problem) -> None:
        """Record a problem (kept while under ``max_problems``, always counted)."""
        self.counts_by_rule[problem.rule] += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def summary(self) -> str:
        """One line: verdict, records read, valid and invalid, and problems by rule."""
        verdict = "VALID" if self.valid else "INVALID"
        line = (
            f"{self.source}: {verdict} for {self.job} of {self.model} ({self.split}): "
            f"{self.records_read} records read, {self.records_valid} valid, "
            f"{self.records_invalid} invalid"
        )
        if self.media_checked or self.media_unchecked:
            line += f"; {self.media_checked} media file(s) checked in Amazon S3"
            if self.media_unchecked:
                line += f", {self.media_unchecked} reference(s) not checked"
        if self.token_method:
            line += f"; tokens {self.token_method}"
        if self.valid:
            return line + "; no problems."
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.counts_by_rule.items()))
        return f"{line}; problems by rule: {by_rule}."

    def format_problems(self, limit: int | None = None) -> list[str]:
        """Problems as ``FILE:LINE: field.path: message`` lines (the first ``limit`` if given)."""
        shown = self.problems if limit is None else self.problems[:limit]
        return [p.format(self.source) for p in shown]

    def to_frame(self) -> pd.DataFrame:
        """Problems as a table with columns line, path, rule and message."""
        import pandas as pd

        frame = pd.DataFrame(
            [p.to_dict() for p in self.problems], columns=["line", "path", "rule", "message"]
        )
        frame["line"] = frame["line"].astype("Int64")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The whole report as a JSON-ready dict."""
        return {
            "source": self.source,
            "job": self.job,
            "model": self.model,
            "split": self.split,
            "valid": self.valid,
            "records_read": self.records_read,
            "records_valid": self.records_valid,
            "records_invalid": self.records_invalid,
            "counts_by_rule": dict(sorted(self.counts_by_rule.items())),
            "problems": [p.to_dict() | {"text": p.format(self.source)} for p in self.problems],
            "problems_omitted": self.problems_omitted,
            "media_checked": self.media_checked,
            "media_unchecked": self.media_unchecked,
            "summary": self.summary(),
        }

    def raise_if_invalid(self, show: int = 10) -> ValidationReport:
        """Return the report when valid, else raise :class:`WorkshopError` listing the problems.

        Raises:
            WorkshopError: With the first ``show`` problems and the summary line.
        """
        if self.valid:
            return self
        raise _invalid(self.format_problems(), self.counts_by_rule, self.summary(), show)

    def __str__(self) -> str:
        return "\n".join([*self.format_problems(), self.summary()])


def _invalid(lines: list[str], counts: Counter[str], summary: str, show: int) -> WorkshopError:
    """The error for an invalid dataset: the first ``show`` problems, a count of the rest."""
    more = sum(counts.values()) - min(show, len(lines))
    shown = lines[:show] + ([f"... and {more} more problem(s)"] if more > 0 else [])
    return WorkshopError(
        "The dataset is not valid:\n" + "\n".join(shown) + "\n" + summary,
        "Fix the lines listed (each message says how), then validate again.",
    )


# --------------------------------------------------------------------------- media objects

Reader = Callable[[int, int], bytes]
"""``read(offset, size)``: up to ``size`` bytes from ``offset`` (fewer at the end)."""


@dataclass(frozen=True)
class ImageInfo:
    """What an image header says: its format and, when found, its size in pixels.

    Attributes:
        format: ``png``, ``jpeg``, ``gif`` or ``webp`` (the spelling Bedrock uses).
        width: Width in pixels, or None when the header ends before it.
        height: Height in pixels, or None when the header ends before it.
    """

    format: str
    width: int | None = None
    height: int | None = None


# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_MAX_SEGMENTS = 256


def image_info(data: bytes) -> ImageInfo | None:
    """Read the format and dimensions of a PNG, JPEG, GIF or WebP image from its first bytes.

    Only the header is parsed (no image library is needed); a JPEG may need more bytes
    than the others because metadata segments come before the frame header.

    Args:
        data: The start of the file (the whole file also works).

    Returns:
        The format and dimensions (None for a dimension past the end of ``data``), or
        None when the bytes are not one of the four formats.
    """
    return _image_info(lambda offset, size: data[offset : offset + size])


def _image_info(read: Reader) -> ImageInfo | None:
    head = read(0, 32)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        # The IHDR chunk always comes first: length, type, then width and height.
        if len(head) >= 24 and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return ImageInfo("png", width, height)
        return ImageInfo("png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        if len(head) >= 10:
            width, height = struct.unpack("<HH", head[6:10])
            return ImageInfo("gif", width, height)
        return ImageInfo("gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_info(head)
    if head[:3] == b"\xff\xd8\xff":
        return _jpeg_info(read)
    return None


def _webp_info(head: bytes) -> ImageInfo:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        # Lossy: a 14-bit width and height follow the key-frame start code.
        width, height = struct.unpack("<HH", head[26:30])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        # Lossless: width - 1 and height - 1 packed as two 14-bit fields.
        bits = int.from_bytes(head[21:25], "little")
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(head) >= 30:
        # Extended: canvas width - 1 and height - 1 as 24-bit little-endian numbers.
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return ImageInfo("webp", width, height)
    return ImageInfo("webp")


def _jpeg_info(read: Reader) -> ImageInfo:
    position = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        segment = read(position, 4)
        if len(segment) < 2 or segment[0] != 0xFF:
            break
        marker = segment[1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            position += 2
            continue
        if marker in (0xD9, 0xDA) or len(segment) < 4:  # end of image, or scan data begins
            break
        if marker in _JPEG_SOF:
            # Segment: length (2), sample precision (1), height (2), width (2).
            size = read(position + 5, 4)
            if len(size) == 4:
                height, width = struct.unpack(">HH", size)
                return ImageInfo("jpeg", width, height)
            break
        position += 2 + int.from_bytes(segment[2:4], "big")
    return ImageInfo("jpeg")


@dataclass(frozen=True)
class _ObjectFacts:
    """What one fetch of an S3 object found: a problem, or its size and image header."""

    error: str | None = None
    size: int = 0
    image: ImageInfo | None = None


class _Unreachable(Exception):
    """Amazon S3 itself cannot be reached (network, endpoint or credentials)."""


def _s3_reader(s3: Any, bucket: str, key: str, size: int) -> Reader:
    """A reader over an S3 object that fetches it in ranged blocks, a few blocks at most."""
    blocks: dict[int, bytes] = {}
    max_blocks = 4

    def read(offset: int, count: int) -> bytes:
        out = bytearray()
        while count > 0 and offset < size:
            index = offset // MEDIA_HEADER_BYTES
            if index not in blocks:
                if len(blocks) >= max_blocks:
                    break  # the header is not where headers are; stop reading
                start = index * MEDIA_HEADER_BYTES
                end = min(size, start + MEDIA_HEADER_BYTES) - 1
                body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")["Body"]
                blocks[index] = body.read()
            block = blocks[index]
            piece = block[offset - index * MEDIA_HEADER_BYTES :][:count]
            if not piece:
                break
            out += piece
            offset += len(piece)
            count -= len(piece)
        return bytes(out)

    return read


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_DENIED_CODES = frozenset({"403", "AccessDenied", "Forbidden"})


class _MediaProbe:
    """Fetches media objects from Amazon S3 (HEAD, then a ranged GET of the image header).

    Each distinct URI is fetched once and at most ``max_checks`` are fetched per file,
    so requests and memory stay bounded whatever the file size. When S3 itself cannot
    be reached, the first reference gets one problem and the rest are counted unchecked.
    """

    def __init__(
        self, rules: DatasetRules, model_name: str, report: ValidationReport, max_checks: int
    ) -> None:
        self.rules = rules
        self.model_name = model_name
        self.report = report
        self.max_checks = max_checks
        self.facts: dict[str, _ObjectFacts] = {}
        self.unreachable = False
        self._s3: Any = None

    def check(
        self,
        uri: str,
        bucket: str,
        key: str,
        kind: str,
        declared: str | None,
        path: str,
        emit: Emit,
    ) -> None:
        """Fetch the object once (within the cap), then report what breaks the model's limits."""
        cache_key = f"{kind}:{uri}"  # an image's facts include its header; a video's do not
        facts = self.facts.get(cache_key)
        if facts is None:
            if self.unreachable or len(self.facts) >= self.max_checks:
                self.report.media_unchecked += 1
                return
            try:
                facts = self._fetch(bucket, key, kind)
            except _Unreachable as exc:
                self.unreachable = True
                self.report.media_unchecked += 1
                emit(
                    f"{path}.source.s3Location.uri",
                    "media.unreachable",
                    f"cannot be checked: Amazon S3 is unreachable ({exc}); check the network "
                    "and credentials, or validate without the S3 checks (check_media=False, "
                    "--no-check-media). Further media files are not checked.",
                )
                return
            self.facts[cache_key] = facts
            self.report.media_checked += 1
        self._judge(facts, kind, declared, path, emit)

    def _client(self) -> Any:
        if self._s3 is None:
            from utils.clients import client

            self._s3 = client("s3")
        return self._s3

    def _fetch(self, bucket: str, key: str, kind: str) -> _ObjectFacts:
        from botocore.exceptions import ClientError

        try:
            s3 = self._client()
            size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            image = None
            if kind == "image" and size:
                image = _image_info(_s3_reader(s3, bucket, key, size))
        except ClientError as exc:
            code = error_code(exc) or "error"
            if code in _MISSING_CODES:
                return _ObjectFacts(
                    f"does not exist in Amazon S3 ({code}); upload the {kind} or fix the URI."
                )
            if code in _DENIED_CODES:
                return _ObjectFacts(
                    f"cannot be read from Amazon S3 ({code}); allow s3:GetObject on it for you "
                    "and for the Bedrock service role."
                )
            return _ObjectFacts(f"cannot be read from Amazon S3 ({code}); check the URI.")
        except Exception as exc:  # no network, no credentials, bad endpoint: stop fetching
            raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
        return _ObjectFacts(size=size, image=image)

    def _judge(
        self, facts: _ObjectFacts, kind: str, declared: str | None, path: str, emit: Emit
    ) -> None:
        if facts.error is not None:
            emit(f"{path}.source.s3Location.uri", "media.unreachable", facts.error)
            return
        if facts.size == 0:
            emit(path, "media.content", f"the {kind} file is empty (0 bytes); upload it again.")
            return
        if kind != "image":
            return
        limit = self.rules.max_image_bytes
        if limit is not None and facts.size > limit:
            emit(
                path,
                "media.size",
                f"the image is {facts.size / 2**20:.1f} MiB; {self.model_name} takes images "
                f"up to {limit / 2**20:g} MiB: resize or recompress it.",
            )
        image = facts.image
        if image is None:
            emit(
                path,
                "media.content",
                "is not a PNG, JPEG, GIF or WebP image (unknown header); convert the file "
                "to one of these formats.",
            )
            return
        if declared in IMAGE_FORMATS and image.format != declared:
            emit(
                f"{path}.format",
                "media.content",
                f"is {declared!r} but the file is a {image.format.upper()} image; set "
                f"format to {image.format!r} or convert the file.",
            )
        side = self.rules.max_image_side
        width, height = image.width, image.height
        if (
            side is not None
            and width is not None
            and height is not None
            and max(width, height) > side
        ):
            emit(
                path,
                "media.dimensions",
                f"the image is {width}x{height} pixels; {self.model_name} "
                f"takes at most {side}x{side}: scale it down.",
            )


# --------------------------------------------------------------------------- record checks

Emit = Callable[[str, str, str], None]
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)$")
_JSON_TYPES: dict[type, str] = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


def _conversation_text(record: dict[Any, Any]) -> str:
    """Every text of a conversation record: its system blocks and each message's text items."""
    system = record.get("system")
    blocks = system if isinstance(system, list) else []
    texts = [b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)]
    for message in record.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for item in content if isinstance(content, list) else []:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                texts.append(item["text"])
    return "\n".join(texts)


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


_NO_KEYS: Mapping[str, type] = {}
_CONTENT_ITEM_KEYS: Mapping[str, type] = {"text": str, "image": dict, "video": dict}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(
    obj: dict[Any, Any],
    path: str,
    required: Mapping[str, type],
    optional: Mapping[str, type],
    emit: Emit,
) -> dict[str, bool]:
    """Check required/unknown keys and JSON types; say which keys hold the right type."""
    ok: dict[str, bool] = {}
    present = 0
    for schema in (required, optional):
        for key, kind in schema.items():
            if key not in obj:
                if schema is required:
                    emit(
                        _join(path, key),
                        "schema.required",
                        f"'{key}' is missing; add it as {_JSON_TYPES[kind]}.",
                    )
                ok[key] = False
                continue
            present += 1
            value = obj[key]
            # bool is an int in Python, but never a valid number or string here.
            good = isinstance(value, kind) and not isinstance(value, bool)
            if not good:
                emit(
                    _join(path, key),
                    "schema.type",
                    f"must be {_JSON_TYPES[kind]}, not {_type_name(value)}.",
                )
            ok[key] = good
    if present == len(obj):  # every key is a known one: nothing to scan for
        return ok
    allowed = [*required, *optional]
    for key in obj:
        if key not in allowed:
            expected = ", ".join(f"'{k}'" for k in allowed)
            emit(
                _join(path, str(key)),
                "schema.unknown_key",
                f"'{key}' is not part of this format; remove it (allowed here: {expected}).",
            )
    return ok


def _check_text(value: str, path: str, emit: Emit, reserved: tuple[str, ...] = ()) -> None:
    if not value.strip():
        emit(path, "text.empty", "is empty; write the text or remove the item.")
        return
    for word in reserved:
        if word in value:
            shown = word.replace("\n", "\\n")
            emit(
                path,
                "text.reserved",
                f"contains '{shown}', which the model reserves; reword or remove it.",
            )
            break


@dataclass
class _RecordMedia:
    images: int = 0
    videos: int = 0


class _Checker:
    """Checks records one at a time; keeps only the small state dataset-wide rules need."""

    def __init__(
        self,
        rules: DatasetRules,
        model_name: str,
        dataset_bucket: str | None,
        probe: _MediaProbe | None = None,
        token_counter: Callable[[str], int] | None = None,
    ) -> None:
        self.rules = rules
        self.token_counter = token_counter
        self.model_name = model_name
        self.dataset_bucket = dataset_bucket
        self.probe = probe
        # The fast path covers the conversation rules only; any other limit forces the full check.
        self.fast = rules.format == "conversation" and rules.max_tokens is None
        self.first_image_line: int | None = None
        self.first_video_line: int | None = None
        self.mixed_reported = False

    def fast_key_count(self, record: Any) -> int:
        """Count the keys of a plain text-only conversation that passes every record rule.

        The hot path for big files: one tight pass over the common shape of a valid
        fine-tuning record. Returns -1 whenever anything differs (media, an unknown key,
        a wrong type, a role out of order, empty or reserved text, another format), and
        the caller then runs the full :meth:`check`, which finds and explains the problem.
        The key count lets the caller rule out duplicate keys from the raw line.
        """
        if not self.fast or type(record) is not dict:
            return -1
        messages = record.get("messages")
        if type(messages) is not list or len(messages) < 2 or len(messages) % 2:
            return -1
        keys = len(record)
        known = 1 + ("schemaVersion" in record) + ("system" in record)
        if keys != known:
            return -1  # an unknown top-level key
        reserved = self.rules.reserved
        if "schemaVersion" in record and type(record["schemaVersion"]) is not str:
            return -1
        if "system" in record:
            system = record["system"]
            if type(system) is not list:
                return -1
            for block in system:
                if type(block) is not dict or len(block) != 1:
                    return -1
                text = block.get("text")
                if type(text) is not str or not text.strip():
                    return -1
                for word in reserved:
                    if word in text:
                        return -1
                keys += 1
        role = "user"
        for message in messages:
            if type(message) is not dict or len(message) != 2 or message.get("role") != role:
                return -1
            content = message.get("content")
            if type(content) is not list or not content:
                return -1
            keys += 2
            words = reserved if role == "user" else ()
            for item in content:
                if type(item) is not dict or len(item) != 1:
                    return -1
                text = item.get("text")
                if type(text) is not str or not text.strip():
                    return -1
                for word in words:
                    if word in text:
                        return -1
            keys += len(content)
            role = "assistant" if role == "user" else "user"
        return keys

    def check(self, record: Any, line: int, emit: Emit) -> None:
        if not isinstance(record, dict):
            emit(
                "",
                "json.not_object",
                f"holds {_type_name(record)}; each line must be one JSON object {{...}}.",
            )
            return
        fmt = self.rules.format
        if fmt in ("conversation", "distillation"):
            self._conversation(record, line, emit)
        elif fmt == "prompt-completion":
            ok = _check_keys(record, "", {"prompt": str, "completion": str}, {}, emit)
            for key in ("prompt", "completion"):
                if ok[key]:
                    _check_text(record[key], key, emit)
        elif fmt == "text":
            ok = _check_keys(record, "", {"input": str}, {}, emit)
            if ok["input"]:
                _check_text(record["input"], "input", emit)
                self._tokens(record["input"], "input", emit)
        elif fmt == "claude":
            self._claude(record, emit)

    def _tokens(self, text: str, path: str, emit: Emit) -> None:
        limit = self.rules.max_tokens
        if limit is None or (n := estimate_tokens(text)) <= limit:
            return
        how = "estimated at 3 characters a token"
        if self.token_counter is not None:
            n, how = self.token_counter(text), "counted with Bedrock's CountTokens"
            if n <= limit:
                return
        emit(
            path,
            "tokens.max",
            f"holds about {n:,} tokens ({how}); the limit is {limit:,}: shorten it or split "
            "it into several records (utils.datasets.chunk_text).",
        )

    # ---- Claude 3 Haiku: string system and string contents
    def _claude(self, record: dict[Any, Any], emit: Emit) -> None:
        ok = _check_keys(record, "", {"messages": list}, {"system": str}, emit)
        total = ""
        if ok["system"]:
            total += record["system"]
            if record["system"].strip():
                _check_text(record["system"], "system", emit, self.rules.reserved)
        if not ok["messages"]:
            return
        roles: list[str | None] = []
        for i, message in enumerate(record["messages"]):
            path = f"messages[{i}]"
            if not isinstance(message, dict):
                emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
                roles.append(None)
                continue
            mok = _check_keys(message, path, {"role": str, "content": str}, {}, emit)
            roles.append(self._role(message, mok, path, emit))
            if mok["content"]:
                total += message["content"]
                _check_text(message["content"], f"{path}.content", emit, self.rules.reserved)
        self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        self._tokens(total, "messages", emit)

    # ---- bedrock-conversation-2024 (fine-tuning) and distillation prompts
    def _conversation(self, record: dict[Any, Any], line: int, emit: Emit) -> None:
        distill = self.rules.format == "distillation"
        ok = _check_keys(
            record, "", {"messages": list}, {"schemaVersion": str, "system": list}, emit
        )
        # "Prepare your training datasets for distillation" (Amazon Bedrock user guide, read
        # 2026-12-01) requires this exact value; fine-tuning takes any string (Nova's page).
        exact = distill or self.rules.exact_schema
        if exact and record.get("schemaVersion") != CONVERSATION_SCHEMA:
            emit(
                "schemaVersion",
                "schema.version",
                f"is {record.get('schemaVersion')!r}; {self.model_name} needs exactly "
                f"{CONVERSATION_SCHEMA!r} here.",
            )
        if ok["system"]:
            blocks = record["system"]
            if (distill or self.rules.single_system) and len(blocks) != 1:
                emit(
                    "system",
                    "system.count",
                    f"has {len(blocks)} blocks; {self.model_name} takes exactly one "
                    "system block [{'text': ...}] here (or leave 'system' out).",
                )
            for i, block in enumerate(blocks):
                path = f"system[{i}]"
                if not isinstance(block, dict):
                    emit(path, "schema.type", f"must be an object, not {_type_name(block)}.")
                    continue
                if _check_keys(block, path, {"text": str}, {}, emit)["text"]:
                    _check_text(block["text"], f"{path}.text", emit, self.rules.reserved)
        if not ok["messages"]:
            return
        media = _RecordMedia()
        roles: list[str | None] = []
        for i, message in enumerate(record["messages"]):
            path = f"messages[{i}]"
            if not isinstance(message, dict):
                emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
                roles.append(None)
                continue
            mok = _check_keys(message, path, {"role": str, "content": list}, {}, emit)
            role = self._role(message, mok, path, emit)
            roles.append(role)
            if mok["content"]:
                self._content(message["content"], role, path, media, emit)
        if distill:
            self._order(roles, emit, min_messages=1, max_messages=2, end_with_assistant=False)
        else:
            self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        self._record_media(media, line, emit)
        if self.rules.max_tokens is not None:  # the whole row counts (Llama's limit)
            self._tokens(_conversation_text(record), "messages", emit)

    def _role(self, message: dict[Any, Any], ok: dict[str, bool], path: str, emit: Emit) -> Any:
        if not ok["role"]:
            return None
        role = message["role"]
        if role not in ("user", "assistant"):
            emit(
                f"{path}.role",
                "messages.role",
                f"is {role!r}; use 'user' or 'assistant' (put instructions in 'system').",
            )
            return None
        return role

    def _content(
        self, items: list[Any], role: str | None, path: str, media: _RecordMedia, emit: Emit
    ) -> None:
        distill = self.rules.format == "distillation"
        if not items:
            emit(f"{path}.content", "content.empty", "is empty; add a {'text': ...} item.")
            return
        if distill and (
            len(items) != 1 or not (isinstance(items[0], dict) and set(items[0]) == {"text"})
        ):
            emit(
                f"{path}.content",
                "content.single_text",
                f"has {len(items)} item(s); a distillation prompt message holds exactly one "
                "{'text': ...} item.",
            )
        reserved = self.rules.reserved if role != "assistant" else ()
        for j, item in enumerate(items):
            ipath = f"{path}.content[{j}]"
            if not isinstance(item, dict):
                emit(ipath, "schema.type", f"must be an object, not {_type_name(item)}.")
                continue
            kinds = [k for k in ("text", "image", "video") if k in item]
            _check_keys(item, ipath, _NO_KEYS, _CONTENT_ITEM_KEYS, emit)
            if len(kinds) != 1:
                emit(
                    ipath,
                    "content.item",
                    "must hold exactly one of 'text', 'image' or 'video'"
                    + (
                        f" (found {', '.join(kinds)}); split it into separate items."
                        if kinds
                        else "."
                    ),
                )
            if isinstance(item.get("text"), str):
                _check_text(item["text"], f"{ipath}.text", emit, reserved)
            for kind in ("image", "video"):
                if kind in item:
                    self._media(kind, item[kind], role, f"{ipath}.{kind}", media, emit)

    def _media(
        self, kind: str, value: Any, role: str | None, path: str, media: _RecordMedia, emit: Emit
    ) -> None:
        if kind == "image":
            media.images += 1
        else:
            media.videos += 1
        if kind not in self.rules.media:
            if self.rules.no_media_rule == "media.micro":
                emit(
                    path,
                    "media.micro",
                    f"Amazon Nova Micro takes text only; remove the {kind} or fine-tune "
                    "Amazon Nova Lite or Pro instead.",
                )
            elif not self.rules.media:
                emit(
                    path,
                    "media.not_supported",
                    f"{self.model_name} takes text only for this job; remove the {kind}.",
                )
            else:
                emit(path, "media.not_supported", f"{self.model_name} does not accept {kind}s.")
        elif role == "assistant":
            emit(
                path,
                "media.assistant",
                f"assistant turns hold text only; move the {kind} to a user message.",
            )
        if not isinstance(value, dict):
            return
        ok = _check_keys(value, path, {"format": str, "source": dict}, {}, emit)
        formats = IMAGE_FORMATS if kind == "image" else VIDEO_FORMATS
        if ok["format"] and value["format"] not in formats:
            hint = " ('jpg' is spelled 'jpeg')" if value["format"].lower() == "jpg" else ""
            emit(
                f"{path}.format",
                "media.format",
                f"is {value['format']!r}; use one of {', '.join(formats)}{hint}.",
            )
        if not ok["source"]:
            return
        spath = f"{path}.source"
        if not _check_keys(value["source"], spath, {"s3Location": dict}, {}, emit)["s3Location"]:
            return
        lpath = f"{spath}.s3Location"
        location = value["source"]["s3Location"]
        lok = _check_keys(location, lpath, {"uri": str}, {"bucketOwner": str}, emit)
        if lok["uri"]:
            match = _S3_URI.match(location["uri"])
            if not match:
                emit(
                    f"{lpath}.uri",
                    "media.uri",
                    f"is {location['uri'][:80]!r}; write it as s3://bucket/key "
                    "(upload the file to Amazon S3 first).",
                )
            elif (
                self.rules.same_bucket
                and self.dataset_bucket
                and match.group(1) != self.dataset_bucket
            ):
                emit(
                    f"{lpath}.uri",
                    "media.bucket",
                    f"is in bucket '{match.group(1)}'; copy it to the dataset's bucket "
                    f"'{self.dataset_bucket}'.",
                )
            if match and self.probe and kind in self.rules.media and role != "assistant":
                declared = value["format"] if ok["format"] else None
                self.probe.check(
                    location["uri"], match.group(1), match.group(2), kind, declared, path, emit
                )
        if lok["bucketOwner"] and not re.fullmatch(r"\d{12}", location["bucketOwner"]):
            emit(
                f"{lpath}.bucketOwner",
                "media.uri",
                "must be the 12-digit AWS account id that owns the bucket (or leave it out).",
            )

    def _record_media(self, media: _RecordMedia, line: int, emit: Emit) -> None:
        max_images = self.rules.max_images
        if max_images is not None and media.images > max_images and "image" in self.rules.media:
            emit(
                "messages",
                "media.image_count",
                f"has {media.images} images; use at most {max_images} per record.",
            )
        if media.videos > self.rules.max_videos and "video" in self.rules.media:
            emit(
                "messages",
                "media.video_count",
                f"has {media.videos} videos; use at most {self.rules.max_videos} per record.",
            )
        if media.images and media.videos and self.rules.media >= {"image", "video"}:
            emit(
                "messages",
                "media.both",
                "mixes images and a video; a record holds images or one video, never both.",
            )
        if media.images and self.first_image_line is None:
            self.first_image_line = line
        if media.videos and self.first_video_line is None:
            self.first_video_line = line
        if (
            not self.mixed_reported
            and self.rules.media
            and self.first_image_line is not None
            and self.first_video_line is not None
        ):
            self.mixed_reported = True
            emit(
                "messages",
                "media.mixed_dataset",
                f"the file has images (line {self.first_image_line}) and videos "
                f"(line {self.first_video_line}); a dataset holds one kind of media: "
                "split it into two datasets.",
            )

    def _order(
        self,
        roles: list[str | None],
        emit: Emit,
        *,
        min_messages: int,
        max_messages: int | None,
        end_with_assistant: bool,
    ) -> None:
        n = len(roles)
        if n < min_messages or (max_messages is not None and n > max_messages):
            wanted = (
                f"{min_messages} or {max_messages}"
                if max_messages == min_messages + 1
                else f"at least {min_messages}"
                if max_messages is None
                else f"{min_messages}-{max_messages}"
            )
            emit(
                "messages",
                "messages.count",
                f"has {n} message(s); this job needs {wanted}, starting with a user message"
                + (" and ending with the assistant's answer." if end_with_assistant else "."),
            )
        if n == 0:
            return
        if roles[0] == "assistant":
            emit(
                "messages[0].role",
                "messages.first_user",
                "is 'assistant'; the first message must come from the user.",
            )
        for i in range(1, n):
            if roles[i] is not None and roles[i] == roles[i - 1]:
                emit(
                    f"messages[{i}].role",
                    "messages.alternation",
                    f"is '{roles[i]}' again; user and assistant must alternate "
                    "(merge the two messages or add the missing turn).",
                )
        if end_with_assistant and n >= 2 and roles[-1] == "user":
            emit(
                f"messages[{n - 1}].role",
                "messages.last_assistant",
                "is 'user'; the last message must be the assistant's answer.",
            )


# --------------------------------------------------------------------------- reading


class _RawReader(io.RawIOBase):
    """Adapts anything with ``read(n)`` (an S3 body) so that ``io.BufferedReader`` can wrap it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Stop(Exception):
    """Reading cannot go on (file-level problem already reported)."""


def _parse_s3(uri: str) -> tuple[str, str] | None:
    match = re.match(r"^s3://([^/]+)/(.+)$", uri)
    return (match.group(1), match.group(2)) if match else None


def _open_source(source: str | Path, report: ValidationReport) -> IO[bytes] | None:
    text = str(source)
    if text.startswith("s3://"):
        return _open_s3(text, report)
    path = Path(text).expanduser()
    if path.is_dir():
        report.add(
            Problem(None, "", "file.directory", "is a directory; pass the path of a .jsonl file.")
        )
        return None
    try:
        return path.open("rb", buffering=1 << 20)
    except FileNotFoundError:
        report.add(
            Problem(None, "", "file.missing", "does not exist; check the path and the file name.")
        )
    except OSError as exc:
        report.add(
            Problem(
                None,
                "",
                "file.unreadable",
                f"cannot be read ({exc.strerror or exc}); check its permissions.",
            )
        )
    return None


def _open_s3(uri: str, report: ValidationReport) -> IO[bytes] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    from utils.clients import client

    parts = _parse_s3(uri)
    if parts is None:
        report.add(
            Problem(None, "", "file.missing", "is not a valid S3 URI; write it as s3://bucket/key.")
        )
        return None
    bucket, key = parts
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        code = error_code(exc)
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            report.add(
                Problem(
                    None,
                    "",
                    "file.missing",
                    f"does not exist ({code}); check the bucket and key, or upload the file.",
                )
            )
        else:
            report.add(
                Problem(
                    None,
                    "",
                    "file.unreadable",
                    f"cannot be read from Amazon S3 ({code or exc}); check the bucket name, "
                    "your credentials and your s3:GetObject permission.",
                )
            )
        return None
    except BotoCoreError as exc:
        report.add(
            Problem(
                None,
                "",
                "file.unreadable",
                f"cannot be read from Amazon S3 ({exc}); check the network and credentials.",
            )
        )
        return None
    return io.BufferedReader(_RawReader(body), buffer_size=1 << 20)


def _lines(stream: IO[bytes], max_line_bytes: int) -> Iterator[tuple[bytes | None, bool, int]]:
    """Yield ``(line, ended_with_newline, size)``; ``line`` is None when longer than the cap."""
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            # Too long: skip to the end of the line in bounded reads.
            size = len(raw)
            ended = False
            while chunk := stream.readline(1 << 20):
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    ended = True
                    break
            yield None, ended, size
            continue
        ended = raw.endswith(b"\n")
        yield raw, ended, len(raw)


def _path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    # Indexes sort as numbers ("messages[10]" after "messages[9]"); the empty path first.
    return tuple(
        (0, int(token[1:-1])) if token.startswith("[") else (1, token)
        for token in re.findall(r"\[\d+\]|[^.\[\]]+", path)
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decode_fast = json.JSONDecoder().decode
_KEY_END = re.compile(r'"[ \t\r\n]*:')


def _key_tokens_at_most(text: str) -> int:
    """An upper bound on the keys written in a JSON line: closing quotes followed by a colon.

    Every key ends with ``"`` and optional whitespace before its ``:``; a string value can
    add to the count (an escaped quote before a colon) but never lower it. When the bound
    equals the keys of the parsed record, no object can have held a key twice.
    """
    if '" ' in text or '"\t' in text or '"\r' in text or '"\n' in text:
        return len(_KEY_END.findall(text))
    return text.count('":')


class _Engine:
    """Reads lines, parses JSON and hands each record to a :class:`_Checker`."""

    def __init__(
        self, report: ValidationReport, checker: _Checker, max_line_bytes: int = MAX_LINE_BYTES
    ) -> None:
        self.report = report
        self.checker = checker
        self.max_line_bytes = max_line_bytes
        self.first_record_seen = False

    def emit_for(self, line: int, found: list[Problem]) -> Emit:
        def emit(path: str, rule: str, message: str) -> None:
            found.append(Problem(line, path, rule, message))

        return emit

    def record(self, line: int, record: Any, extra: Iterable[Problem] = ()) -> None:
        found = list(extra)
        try:
            self.checker.check(record, line, self.emit_for(line, found))
        except RecursionError:
            found.append(
                Problem(line, "", "json.syntax", "is nested too deeply; flatten the record.")
            )
        self.report.records_read += 1
        if not found:
            self.report.records_valid += 1
        # Checks run rule by rule; reading is easier in field order.
        for problem in sorted(found, key=lambda p: _path_key(p.path)):
            self.report.add(problem)

    def stream(self, stream: IO[bytes], max_line_bytes: int) -> bool:
        """Check every line; return False when reading stopped early at a file-level problem."""
        report = self.report
        try:
            # Every opened source is buffered, so peeking does not consume the head.
            head = stream.peek(4)[:4] if isinstance(stream, io.BufferedReader) else b""
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                report.add(
                    Problem(
                        None,
                        "",
                        "encoding.utf16",
                        "is saved as UTF-16; save it as UTF-8 (without byte-order mark).",
                    )
                )
                return False
            for number, (raw, ended, size) in enumerate(_lines(stream, max_line_bytes), start=1):
                report.bytes_read += size
                self.line(number, raw, ended, size)
        except _Stop:
            return False
        except Exception as exc:  # a dropped connection or disk error mid-file
            report.add(
                Problem(
                    None,
                    "",
                    "file.unreadable",
                    f"reading stopped ({type(exc).__name__}: {exc}); check the file and try again.",
                )
            )
            return False
        return True

    def line(self, number: int, raw: bytes | None, ended: bool, size: int) -> None:
        report = self.report
        if raw is None:
            self.record_failed(
                number,
                [
                    Problem(
                        number,
                        "",
                        "line.too_long",
                        f"is {size:,} bytes, over the {self.max_line_bytes:,}-byte limit of the "
                        "validator; shorten the record or split it into several.",
                    )
                ],
            )
            return
        extra: list[Problem] = []
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            extra.append(
                Problem(
                    1,
                    "",
                    "encoding.bom",
                    "starts with a byte-order mark; save the file as UTF-8 without BOM.",
                )
            )
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            for problem in extra:
                report.add(problem)
            report.add(
                Problem(
                    number, "", "line.blank", "is empty; delete blank lines (one record per line)."
                )
            )
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            extra.append(
                Problem(
                    number,
                    "",
                    "encoding.utf8",
                    f"is not valid UTF-8 (byte {exc.start + 1} of the line); "
                    "re-save the file with UTF-8 encoding.",
                )
            )
            self.record_failed(number, extra)
            return
        first = not self.first_record_seen
        self.first_record_seen = True
        if not extra and self.checker.fast and self._fast_record(text):
            return
        stripped = text.strip()
        if first and stripped in ("[", "{"):
            if stripped == "[":
                rule, message = (
                    "json.array",
                    "starts a JSON array; write JSON Lines instead: one object per line, "
                    "no brackets or commas between them (utils.datasets.write_jsonl).",
                )
            else:
                rule, message = (
                    "json.pretty_printed",
                    "starts a JSON object spread over several lines; put each object "
                    "on a single line (json.dumps without indent).",
                )
            for problem in extra:
                report.add(problem)
            report.add(Problem(number, "", rule, message))
            raise _Stop
        duplicates: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            obj: dict[str, Any] = {}
            for key, value in items:
                if key in obj:
                    duplicates.append(key)
                obj[key] = value
            return obj

        try:
            record = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
        except RecursionError:
            extra.append(
                Problem(number, "", "json.syntax", "is nested too deeply; flatten the record.")
            )
            self.record_failed(number, extra)
            return
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            col = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            if not ended:
                extra.append(
                    Problem(
                        number,
                        "",
                        "json.truncated",
                        f"ends without a newline and is incomplete JSON ({msg}{col}); "
                        "the file looks cut off: write or upload it again.",
                    )
                )
            else:
                extra.append(
                    Problem(
                        number,
                        "",
                        "json.syntax",
                        f"is not valid JSON ({msg}{col}); fix quotes, commas and brackets "
                        "(one complete object per line).",
                    )
                )
            self.record_failed(number, extra)
            return
        if isinstance(record, list):
            extra.append(
                Problem(
                    number,
                    "",
                    "json.array",
                    "holds a JSON array; write each element as its own line (JSON Lines).",
                )
            )
            if first:
                # The whole file is one array: counting its "records" would only add noise.
                for problem in extra:
                    report.add(problem)
                raise _Stop
            self.record_failed(number, extra)
            return
        for key in dict.fromkeys(duplicates):
            extra.append(
                Problem(
                    number,
                    key,
                    "json.duplicate_key",
                    f"'{key}' appears twice in one object; keep only one.",
                )
            )
        self.record(number, record, extra)

    def _fast_record(self, text: str) -> bool:
        """Count the line as a valid record when the fast path proves it is; else False."""
        try:
            record = _decode_fast(text)
        except (ValueError, RecursionError):
            return False  # the full path parses again and explains the error
        keys = self.checker.fast_key_count(record)
        if keys < 0 or _key_tokens_at_most(text) != keys:
            return False
        self.report.records_read += 1
        self.report.records_valid += 1
        return True

    def record_failed(self, number: int, problems: list[Problem]) -> None:
        self.report.records_read += 1
        for problem in problems:
            self.report.add(problem)

    def finish(self, rules: DatasetRules, split: str) -> None:
        report = self.report
        if rules.max_bytes is not None and report.bytes_read > rules.max_bytes:
            report.add(
                Problem(
                    None,
                    "",
                    "file.too_large",
                    f"is {report.bytes_read:,} bytes; the limit is {rules.max_bytes:,}: "
                    "use fewer or shorter records.",
                )
            )
        if report.records_read == 0:
            report.add(
                Problem(None, "", "file.empty", "holds no records; write one JSON object per line.")
            )
            return
        counted = report.records_valid if rules.count_valid_only else report.records_read
        what = "valid records" if rules.count_valid_only else "records"
        low = rules.min_records.get(split)
        high = rules.max_records.get(split)
        if low is not None and counted < low:
            report.add(
                Problem(
                    None,
                    "",
                    "count.min",
                    f"has {counted:,} {what}; the {split} file needs at least {low:,}: "
                    "add more examples.",
                )
            )
        if high is not None and counted > high:
            report.add(
                Problem(
                    None,
                    "",
                    "count.max",
                    f"has {counted:,} {what}; the {split} file takes at most {high:,}: "
                    "remove some or sample a subset.",
                )
            )


# --------------------------------------------------------------------------- public API


def _setup(
    source: str,
    job: str,
    model: str,
    split: str,
    max_problems: int,
    check_media: bool = False,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    token_counter: Callable[[str], int] | None = None,
) -> tuple[ValidationReport, DatasetRules, _Checker]:
    info, job_name, rules = rules_for(job, model)
    if split not in SPLITS:
        raise WorkshopError(f"Unknown split {split!r}.", "Use 'train' or 'validation'.")
    report = ValidationReport(
        source=source, job=job_name, model=info.model_id, split=split, max_problems=max_problems
    )
    parts = _parse_s3(source) if source.startswith("s3://") else None
    probe = (
        _MediaProbe(rules, info.name, report, max_media_checks)
        if check_media and rules.media
        else None
    )
    checker = _Checker(rules, info.name, parts[0] if parts else None, probe, token_counter)
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
    stream = _open_source(source, report)
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
    checker: _Checker,
    stream: IO[bytes],
    split: str,
    max_line_bytes: int,
) -> ValidationReport:
    engine = _Engine(report, checker, max_line_bytes)
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
    engine = _Engine(report, checker)
    for number, record in enumerate(records, start=1):
        engine.record(number, record)
    engine.finish(rules, split)
    return report


# --------------------------------------------------------------------------- train + validation


@dataclass
class DatasetReport:
    """The outcome of validating a training file and its optional validation file together.

    Attributes:
        train: Report of the training file.
        validation: Report of the validation file, if one was given.
        problems: Problems of the pair (limits that span both files); ``line`` is None.
        max_total_records: The limit on both files together, if the model has one.
    """

    train: ValidationReport
    validation: ValidationReport | None = None
    problems: list[Problem] = field(default_factory=list)
    max_total_records: int | None = None

    @property
    def reports(self) -> list[ValidationReport]:
        """The file reports: training first, then validation when given."""
        return [self.train] if self.validation is None else [self.train, self.validation]

    @property
    def source(self) -> str:
        """The files, as ``train + validation`` in messages about both."""
        return " + ".join(r.source for r in self.reports)

    @property
    def records_read(self) -> int:
        """Records read in both files."""
        return sum(r.records_read for r in self.reports)

    @property
    def counts_by_rule(self) -> Counter[str]:
        """Problems by rule id over both files and the pair."""
        counts: Counter[str] = Counter(p.rule for p in self.problems)
        for report in self.reports:
            counts.update(report.counts_by_rule)
        return counts

    @property
    def valid(self) -> bool:
        """True when neither file nor the pair has a problem."""
        return not self.problems and all(r.valid for r in self.reports)

    def format_problems(self) -> list[str]:
        """Problems of the training file, the validation file, then of the pair."""
        lines = [line for report in self.reports for line in report.format_problems()]
        return lines + [p.format(self.source) for p in self.problems]

    def summary(self) -> str:
        """One line for the pair: verdict, records per file and in all, problems by rule."""
        verdict = "VALID" if self.valid else "INVALID"
        parts = [f"{r.split} {r.records_read}" for r in self.reports]
        limit = f" (at most {self.max_total_records:,})" if self.max_total_records else ""
        line = (
            f"{self.source}: {verdict} dataset for {self.train.job} of {self.train.model}: "
            f"{', '.join(parts)} records, {self.records_read} in all{limit}"
        )
        if self.valid:
            return line + "; no problems."
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.counts_by_rule.items()))
        return f"{line}; problems by rule: {by_rule}."

    def to_dict(self) -> dict[str, Any]:
        """The reports of both files and the pair's problems as a JSON-ready dict."""
        return {
            "source": self.source,
            "valid": self.valid,
            "records_read": self.records_read,
            "max_total_records": self.max_total_records,
            "counts_by_rule": dict(sorted(self.counts_by_rule.items())),
            "train": self.train.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
            "problems": [p.to_dict() | {"text": p.format(self.source)} for p in self.problems],
            "summary": self.summary(),
        }

    def raise_if_invalid(self, show: int = 10) -> DatasetReport:
        """Return the report when valid, else raise :class:`WorkshopError` listing the problems.

        Raises:
            WorkshopError: With the first ``show`` problems and the summary line.
        """
        if self.valid:
            return self
        raise _invalid(self.format_problems(), self.counts_by_rule, self.summary(), show)

    def __str__(self) -> str:
        summaries = [r.summary() for r in self.reports]
        return "\n".join([*self.format_problems(), *summaries, self.summary()])


def validate_dataset(
    train: str | Path,
    validation: str | Path | None = None,
    job: str = "fine-tuning",
    model: str = "amazon.nova-micro-v1:0",
    *,
    check_media: bool = True,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_problems: int = MAX_PROBLEMS,
    token_counter: Callable[[str], int] | None = None,
) -> DatasetReport:
    """Validate a training file and an optional validation file, and the limits on both.

    Each file is read once with :func:`validate_file` (its own split's rules); then the
    limits that span the pair are checked, such as Claude 3 Haiku's 10,000 records in
    all (``count.total_max``). Options are those of :func:`validate_file`, per file.

    Raises:
        WorkshopError: Unknown job or model, or a job the model does not support.
    """
    _, _, rules = rules_for(job, model)
    options: dict[str, Any] = {
        "job": job,
        "model": model,
        "check_media": check_media,
        "max_media_checks": max_media_checks,
        "max_line_bytes": max_line_bytes,
        "max_problems": max_problems,
        "token_counter": token_counter,
    }
    report = DatasetReport(
        train=validate_file(train, split="train", **options),
        validation=None
        if validation is None
        else validate_file(validation, split="validation", **options),
        max_total_records=rules.max_total_records,
    )
    limit = rules.max_total_records
    if report.validation is not None and limit is not None:
        counts = [
            r.records_valid if rules.count_valid_only else r.records_read for r in report.reports
        ]
        if sum(counts) > limit:
            report.problems.append(
                Problem(
                    None,
                    "",
                    "count.total_max",
                    f"the training ({counts[0]:,}) and validation ({counts[1]:,}) files hold "
                    f"{sum(counts):,} records together; the limit is {limit:,} in all: remove "
                    "some, or move fewer records to the validation file.",
                )
            )
    return report
