"""Which rules apply to which model and job: rule ids, record formats, counts and limits.

:data:`MODELS` lists every base model the validator knows (one entry per family of
:mod:`utils.models`) with the :class:`DatasetRules` of each job it supports;
:func:`rules_for` finds them from a model id and a job name as users write them.
:data:`RULES` names every rule id a problem can carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from utils import models
from utils.errors import WorkshopError

JOBS = ("fine-tuning", "continued-pretraining", "distillation", "reinforcement-fine-tuning")
"""Customization jobs the validator knows."""

CONVERSATION_SCHEMA = "bedrock-conversation-2024"
"""``schemaVersion`` of the conversation format, required exactly where a model needs it."""

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
    "messages.system_first": "A system message is not the first message.",
    "messages.last_user": "A reinforcement fine-tuning prompt does not end with a user message.",
    "reference.missing": "A reinforcement fine-tuning record has no usable reference_answer.",
    "count.min": "The file has fewer records than the job needs.",
    "count.max": "The file has more records than the job accepts.",
    "count.total_max": "The training and validation files together hold more records than allowed.",
}
"""Every rule id the validator reports, with what it means."""


@dataclass(frozen=True)
class DatasetRules:
    """What one model family accepts for one job: record format, counts and limits.

    Attributes:
        format: ``conversation``, ``distillation``, ``prompt-completion``, ``claude``, ``text``
            or ``rft``.
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
# Reinforcement fine-tuning prompts ("Prepare data for Amazon Nova models", Bedrock user guide,
# rft-prepare-data.html, read 2026-12-02): OpenAI chat format, `messages` plus
# `reference_answer`, at least 100 training records; at most 20K prompts
# ("Fine-tune Amazon Nova models with reinforcement fine-tuning", rft-nova-models.html, same
# day). No page found gives limits for a validation file, a file size or a token count per
# prompt, so none are checked; a validation file is read with the record rules only.
_RFT = DatasetRules(
    format="rft",
    min_records={"train": 100},
    max_records={"train": 20_000},
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
    "REINFORCEMENT_FINE_TUNING": "reinforcement-fine-tuning",
}


def _rules(fam: models.ModelFamily, customization_type: str) -> DatasetRules:
    """The dataset rules of one family for one customization type."""
    if customization_type == "DISTILLATION":
        return _DISTILLATION
    if customization_type == "REINFORCEMENT_FINE_TUNING":
        return _RFT
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
    """A job name of :data:`JOBS` from common spellings (``FINE_TUNING``, ``rft``).

    Raises:
        WorkshopError: The job is not one of them.
    """
    text = str(job).strip().lower().replace("_", "-").replace(" ", "-")
    text = {
        "continued-pre-training": "continued-pretraining",
        "finetuning": "fine-tuning",
        "rft": "reinforcement-fine-tuning",
    }.get(text, text)
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
