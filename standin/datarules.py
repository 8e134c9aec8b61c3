"""The checks the stand-in applies when a customization job reads its dataset from S3.

Bedrock accepts ``CreateModelCustomizationJob`` first and reads the training and validation
files afterwards; a dataset that breaks the rules ends the job ``Failed`` with a
``failureMessage``. :func:`check_dataset` plays that reading: it takes one file's bytes and
a rule set (one of :data:`RULE_SETS`) and returns a :class:`Verdict` whose
:meth:`Verdict.summary` is the failure message.

The rules are the stand-in's own statement of AWS's documented limits, written from the
sources in :data:`SOURCES` (read on 2026-12-01; the reinforcement fine-tuning pages on
2026-12-02). Where the sources disagree, or say nothing, the stricter reading is taken, so
that a dataset the stand-in accepts is one Bedrock should accept too; the notes beside each
limit say where that happened. Tokens are counted with :func:`standin.tokens.count_tokens`,
which counts a little more than a real tokenizer.
"""

from __future__ import annotations

import itertools
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standin import catalog
from standin.tokens import count_tokens

RULE_SETS = (
    "nova-conversation",
    "nova-micro-conversation",
    "llama-3.2-conversation",
    "llama-3.2-vision-conversation",
    "llama-3.1-prompt-completion",
    "titan-prompt-completion",
    "titan-cpt",
    "claude-3-haiku-messages",
    "distillation-prompts",
    "rft-prompts",
)
"""Names accepted by :func:`check_dataset`'s ``rules``."""

SCHEMA_VERSION = "bedrock-conversation-2024"

MAX_PROBLEMS = 300
"""Problems a :class:`Verdict` keeps; invalid records beyond them are still counted."""

MB = 1024 * 1024
GB = 1024 * MB

# --- Sources (read 2026-12-01; reinforcement fine-tuning 2026-12-02) ---------------------------

_READ = "read 2026-12-01"
_READ_RFT = "read 2026-12-02"
_BEDROCK_PREP = (
    "Amazon Bedrock User Guide, 'Prepare data for fine-tuning your models' "
    "(https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html), "
    f"incl. 'Model requirements for training and validation datasets', {_READ}"
)
_BEDROCK_CPT = (
    "Amazon Bedrock User Guide, 'Prepare datasets for continued pre-training' "
    "(https://docs.aws.amazon.com/bedrock/latest/userguide/"
    f"dataset-prep-continued-pretraining.html), {_READ}"
)
_NOVA_PREP = (
    "Amazon Nova User Guide, 'Preparing data for fine-tuning Understanding models' "
    "(https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html)"
    f", {_READ}"
)
_NOVA_VALIDATOR = (
    "aws-samples/amazon-nova-samples, customization/bedrock-finetuning/understanding/"
    f"dataset_validation/nova_ft_dataset_validator.py, {_READ}"
)
_LLAMA_VALIDATOR = (
    "aws-samples/amazon-bedrock-samples, custom-models/bedrock-fine-tuning/meta-llama/"
    f"dataset_validation (dataset_validation.py, utils/schema.py, README.md), {_READ}"
)
_HAIKU_VALIDATOR = (
    "aws-samples/amazon-bedrock-samples, custom-models/bedrock-fine-tuning/claude-haiku/"
    f"DataValidation (data_validation.py, README.md), {_READ}"
)
_DISTILL_BEDROCK = (
    "Amazon Bedrock User Guide, 'Prepare your training datasets for distillation' and "
    "'Option 1: Provide your own prompts for data preparation' "
    "(https://docs.aws.amazon.com/bedrock/latest/userguide/"
    f"distillation-data-prep-option-1.html), {_READ}"
)
_DISTILL_NOVA = (
    "Amazon Nova User Guide, 'Preparing data for distilling understanding models', "
    "'Dataset limits' table "
    f"(https://docs.aws.amazon.com/nova/latest/userguide/custom-distill-prepare.html), {_READ}"
)
_DISTILL_VALIDATOR = (
    "aws-samples/amazon-bedrock-samples, custom-models/model_distillation/dataset-validation "
    f"(schema.py, constants.py), {_READ}"
)
_ISSUE_224 = (
    "aws-samples/amazon-bedrock-workshop issue #224, 'Maximum input token count 4919 exceeds "
    f"limit of 4096 for train data' (Bedrock's own failure message for Titan CPT), {_READ}"
)
_RFT_PREP = (
    "Amazon Bedrock User Guide, 'Prepare data for Amazon Nova models' "
    f"(https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html), {_READ_RFT}"
)
_RFT_NOVA = (
    "Amazon Bedrock User Guide, 'Fine-tune Amazon Nova models with reinforcement fine-tuning' "
    f"(https://docs.aws.amazon.com/bedrock/latest/userguide/rft-nova-models.html), {_READ_RFT}"
)
_RFT_NOVA2 = (
    "Amazon Nova 2 User Guide (also under SageMaker AI), 'Preparing data for RFT on Amazon "
    "Nova 2' (https://docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-rft-2.html)"
    f", {_READ_RFT}"
)
_NO_SOURCE = "no source found; the stand-in's conservative choice"

SOURCES: dict[str, str] = {
    "file.empty": (
        f"{_BEDROCK_PREP}: a dataset is a .jsonl file of records; none is no dataset; "
        f"rft: {_RFT_PREP} (one prompt per line)"
    ),
    "file.encoding": (
        f"{_HAIKU_VALIDATOR} (reads files as UTF-8); a byte-order mark is refused as {_NO_SOURCE}"
    ),
    "file.size": (
        f"titan-*: {_BEDROCK_PREP} (Titan Text tables: training 1 GB, validation 100 MB); "
        "titan-cpt training 10 GB: earlier readers' figure, not in the current page "
        f"({_NO_SOURCE}); "
        f"claude-3-haiku: {_BEDROCK_PREP} (Claude 3 Haiku table: 10 GB / 1 GB); "
        f"distillation: {_DISTILL_VALIDATOR} (MAX_SIZE 1 GB)"
    ),
    "json.syntax": f"{_BEDROCK_PREP}: each line is a JSON object; rft: {_RFT_PREP} (JSONL)",
    "json.object": f"{_BEDROCK_PREP}: each line is a JSON object; rft: {_RFT_PREP} (JSONL)",
    "schema.required": (
        f"{_BEDROCK_PREP} (prompt/completion, messages formats); {_BEDROCK_CPT} (input); rft: "
        f"{_RFT_PREP} and {_RFT_NOVA2} (messages and reference_answer; role and content in each "
        "message); a null reference_answer counts as none, the stand-in's reading"
    ),
    "schema.unknown": (
        f"{_BEDROCK_CPT} ('a sample containing only an input field'); {_DISTILL_VALIDATOR} "
        "(additionalProperties false); for the other formats the AWS validators ignore extra "
        f"fields, and refusing them is {_NO_SOURCE}"
    ),
    "schema.type": (
        f"{_BEDROCK_PREP}; {_HAIKU_VALIDATOR}; {_LLAMA_VALIDATOR}; rft: {_RFT_NOVA2} (messages "
        "is an array of turns whose content is text) and the OpenAI chat format it names "
        "(content a string or a list of text parts)"
    ),
    "schema.version": (
        f"{_BEDROCK_PREP} and {_DISTILL_BEDROCK} (value bedrock-conversation-2024); "
        f"{_DISTILL_VALIDATOR} and {_LLAMA_VALIDATOR} (const); for Nova fine-tuning "
        f"{_NOVA_PREP} says any string value is accepted, and the stand-in follows it"
    ),
    "system.format": f"{_BEDROCK_PREP}; {_NOVA_VALIDATOR}; {_HAIKU_VALIDATOR}",
    "system.count": (
        f"llama-3.2: {_LLAMA_VALIDATOR} (system minItems 1, maxItems 1); "
        f"distillation: {_DISTILL_VALIDATOR} (system minItems 1, maxItems 1)"
    ),
    "messages.count": (
        f"{_NOVA_VALIDATOR} (both roles needed); {_LLAMA_VALIDATOR} (minItems 2); "
        f"{_HAIKU_VALIDATOR} (min 2); distillation: {_DISTILL_VALIDATOR} (1 to 2) and "
        f"{_DISTILL_BEDROCK} (Anthropic and Llama: single-turn prompts); rft: {_RFT_NOVA2} "
        "(messages is required; an empty list holds no prompt)"
    ),
    "roles.value": (
        f"{_NOVA_PREP} (roles user and assistant); {_LLAMA_VALIDATOR}; {_HAIKU_VALIDATOR}; "
        f"rft: {_RFT_PREP} and {_RFT_NOVA2} (system, user and optionally assistant)"
    ),
    "roles.user": (
        f"rft: {_RFT_PREP} (the messages carry the input prompt) and {_RFT_NOVA2} (the user "
        "turn holds the task); a prompt without one gives the model nothing to answer"
    ),
    "roles.first": f"{_NOVA_PREP} (first turn is user); {_HAIKU_VALIDATOR}; {_DISTILL_VALIDATOR}",
    "roles.last": f"{_NOVA_PREP} (last turn is assistant); {_HAIKU_VALIDATOR}",
    "roles.alternate": (
        f"{_NOVA_VALIDATOR}; {_HAIKU_VALIDATOR}; {_DISTILL_VALIDATOR}; {_BEDROCK_PREP} "
        "(image-text data: 'alternating roles'); required of Llama 3.2 as the stricter reading"
    ),
    "content.format": (
        f"{_NOVA_VALIDATOR}; {_LLAMA_VALIDATOR}; {_DISTILL_VALIDATOR} (content items hold "
        f"text only); rft: {_RFT_NOVA2} (text content; a list holds OpenAI text parts, "
        "each with type 'text', as the stricter reading)"
    ),
    "content.count": f"{_DISTILL_VALIDATOR} (content minItems 1, maxItems 1)",
    "content.empty": (
        f"{_NOVA_VALIDATOR} ('empty text content'); whitespace-only text and the other "
        f"formats: {_NO_SOURCE}"
    ),
    "text.reserved": (
        f"nova: {_NOVA_PREP} (User:, Bot:, Assistant:, System:, <image>, <video>, [EOS]) and "
        f"{_NOVA_VALIDATOR} (case-insensitive, adds <unk> and Thought:); claude-3-haiku: "
        f"{_HAIKU_VALIDATOR} ('\\nHuman:' and '\\nAssistant:')"
    ),
    "media.assistant": f"{_NOVA_VALIDATOR}; {_LLAMA_VALIDATOR}; {_BEDROCK_PREP}",
    "media.unsupported": (
        f"nova-micro: {_NOVA_VALIDATOR} (not supported by Nova Micro); llama-3.2 text and "
        f"videos: {_BEDROCK_PREP} (only the 11B and 90B Vision models take images); rft: "
        f"{_RFT_NOVA2} (Nova 2 RFT takes text-based data only: no image, audio or file parts)"
    ),
    "media.count": (
        f"nova: {_NOVA_VALIDATOR} (MAX_NUM_IMAGES 10) and {_NOVA_PREP} (one video per sample); "
        f"llama-3.2-vision: one image per record, the old {_LLAMA_VALIDATOR} docstring "
        "('multiple images in a single row'), as the stricter reading"
    ),
    "media.mixed": f"{_NOVA_PREP} (text with images or text with videos); {_NOVA_VALIDATOR}",
    "media.modality": f"{_NOVA_PREP} (a dataset may not mix media modalities)",
    "media.format": (
        f"nova: {_NOVA_VALIDATOR} (jpeg, png, gif, webp; mov, mkv, mp4, webm); llama: "
        f"{_BEDROCK_PREP} (gif, jpeg, png, webp)"
    ),
    "media.uri": (
        f"{_LLAMA_VALIDATOR} (uri ^s3://); nova: {_NOVA_VALIDATOR} (alphanumerics, _, -, /, . "
        f"only); bucketOwner as a 12-digit account: {_NO_SOURCE}"
    ),
    "media.fetch": f"{_NOVA_PREP} (image and video URIs must be readable by Bedrock)",
    "image.decode": (
        f"{_BEDROCK_PREP} (supported image formats); that the file's header must match the "
        f"declared format: {_NO_SOURCE}"
    ),
    "media.size": (
        f"llama-3.2-vision: {_BEDROCK_PREP} (10 MB); nova: {_NOVA_VALIDATOR} (MAX_IMAGE_SIZE "
        "10 MB, MAX_VIDEO_SIZE 50 MB)"
    ),
    "image.dimensions": f"llama-3.2-vision: {_BEDROCK_PREP} (height and width 10 to 8192 pixels)",
    "tokens.max": (
        f"titan-prompt-completion: {_BEDROCK_PREP} (4,096 input+output tokens at batch size 1); "
        f"titan-cpt: {_ISSUE_224} and {_BEDROCK_PREP}; llama-3.1: {_BEDROCK_PREP} (16,000); "
        f"llama-3.2: {_BEDROCK_PREP} (16,000; 10,000 for 90B, taken for the vision set; images "
        f"count 1,601 tokens per 560-pixel tile); claude-3-haiku: {_BEDROCK_PREP} (32,000)"
    ),
    "count.min": (
        f"nova: {_NOVA_VALIDATOR} (8); claude-3-haiku: {_BEDROCK_PREP} and {_HAIKU_VALIDATOR} "
        f"(32 per file); distillation: {_DISTILL_NOVA} and {_DISTILL_VALIDATOR} (100); rft: "
        f"{_RFT_PREP} and {_RFT_NOVA} (at least 100 training records)"
    ),
    "count.max": (
        f"nova: {_NOVA_VALIDATOR} (20,000); llama: {_LLAMA_VALIDATOR} (train 10,000, "
        "validation 1,000); titan: the current Titan tables give no record counts, so 10,000 / "
        f"1,000 as in the Cohere Command table of {_BEDROCK_PREP} ({_NO_SOURCE} for Titan "
        "itself); titan-cpt: earlier readers' 100,000 / 1,000, not in the "
        f"current page ({_NO_SOURCE}); claude-3-haiku: {_BEDROCK_PREP} (10,000 / 1,000); "
        f"distillation: {_DISTILL_NOVA} (15K); rft: {_RFT_NOVA} (at most 20K prompts in "
        "the training data)"
    ),
    "count.total": (
        f"nova: {_NOVA_VALIDATOR} (train + validation at most 20,000); llama: {_BEDROCK_PREP} "
        f"(sum of training and validation records 100 to 10,000); claude-3-haiku: "
        f"{_BEDROCK_PREP} (total 10,000); titan: total 10,000, {_NO_SOURCE}"
    ),
}
"""Rule id -> where the rule comes from (page or repository file, and the date it was read)."""


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset file: its line (1-based; 0 for the file), rule and message."""

    line: int
    rule: str
    message: str


@dataclass
class Verdict:
    """What :func:`check_dataset` found in one file."""

    records: int
    problems: list[Problem] = field(default_factory=list)
    invalid_records: int = 0
    """Records with at least one problem, counted even past :data:`MAX_PROBLEMS`."""

    @property
    def valid(self) -> bool:
        """True when nothing is wrong with the file."""
        return not self.problems

    def summary(self, limit: int = 3) -> str:
        """The problems as one failure message, naming at most ``limit`` invalid records."""
        if self.valid:
            return f"{self.records} records valid"
        parts = [p.message for p in self.problems if p.line == 0]
        first_by_line: dict[int, Problem] = {}
        for p in self.problems:
            if p.line and p.line not in first_by_line:
                first_by_line[p.line] = p
        if first_by_line:
            shown = list(first_by_line.values())[:limit]
            text = f"{self.invalid_records} of {self.records} records invalid: " + "; ".join(
                f"line {p.line}: {p.message}" for p in shown
            )
            if self.invalid_records > len(shown):
                text += f"; and {self.invalid_records - len(shown)} more invalid records"
            parts.append(text)
        return ". ".join(parts)


# --- Limits per rule set ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Limits:
    train_min: int = 1
    train_max: int | None = None
    validation_min: int = 1
    validation_max: int | None = None
    total_min: int | None = None  # both files together; checked on the training file
    total_max: int | None = None
    train_bytes: int | None = None
    validation_bytes: int | None = None
    record_tokens: int | None = None


_LIMITS: dict[str, _Limits] = {
    # 8 to 20,000 samples, train + validation counted together (Nova validator); the Nova
    # pages give no per-record token limit or file size, so none is applied.
    "nova-conversation": _Limits(train_min=8, train_max=20_000, total_max=20_000),
    "nova-micro-conversation": _Limits(train_min=8, train_max=20_000, total_max=20_000),
    # The docs give the sum of both files (100 to 10,000); the Llama validator adds train
    # <= 10,000 and validation <= 1,000. All are applied.
    "llama-3.2-conversation": _Limits(
        train_max=10_000,
        validation_max=1_000,
        total_min=100,
        total_max=10_000,
        record_tokens=16_000,
    ),
    # 16,000 tokens for 11B, 10,000 for 90B: one rule set covers both, so 10,000.
    "llama-3.2-vision-conversation": _Limits(
        train_max=10_000,
        validation_max=1_000,
        total_min=100,
        total_max=10_000,
        record_tokens=10_000,
    ),
    "llama-3.1-prompt-completion": _Limits(
        train_max=10_000,
        validation_max=1_000,
        total_min=100,
        total_max=10_000,
        record_tokens=16_000,
    ),
    # 4,096 tokens is the batch-size-1 limit (2,048 at larger batch sizes, which the rules
    # cannot see); record counts are not in the current Titan tables (see SOURCES).
    "titan-prompt-completion": _Limits(
        train_max=10_000,
        validation_max=1_000,
        total_max=10_000,
        train_bytes=1 * GB,
        validation_bytes=100 * MB,
        record_tokens=4_096,
    ),
    "titan-cpt": _Limits(
        train_max=100_000,
        validation_max=1_000,
        train_bytes=10 * GB,
        validation_bytes=100 * MB,
        record_tokens=4_096,
    ),
    "claude-3-haiku-messages": _Limits(
        train_min=32,
        train_max=10_000,
        validation_min=32,
        validation_max=1_000,
        total_max=10_000,
        train_bytes=10 * GB,
        validation_bytes=1 * GB,
        record_tokens=32_000,
    ),
    "distillation-prompts": _Limits(
        train_min=100,
        train_max=15_000,
        validation_max=15_000,
        train_bytes=1 * GB,
        validation_bytes=1 * GB,
    ),
    # The numbers live in catalog.RFT_LIMITS, so the job and the data rules cannot drift apart.
    # The pages give limits for the training data only; validation files, file sizes and
    # prompt lengths get none.
    "rft-prompts": _Limits(
        train_min=catalog.RFT_LIMITS["min_records"],
        train_max=catalog.RFT_LIMITS["max_prompts"],
    ),
}


# --- Checking context -------------------------------------------------------------------------


class _Findings(list):
    """The (rule, message) pairs found in one record."""

    def add(self, rule: str, message: str) -> None:
        self.append((rule, message))


@dataclass
class _Context:
    split: str
    read_object: Callable[[str], bytes] | None
    fetched: dict[str, bytes | Exception] = field(default_factory=dict)
    first_image_line: int = 0
    first_video_line: int = 0

    @property
    def data(self) -> str:
        return "train data" if self.split == "train" else "validation data"

    def fetch(self, uri: str) -> bytes | Exception:
        """The object's bytes, or the error reading it (each URI is read once per check)."""
        if uri not in self.fetched:
            assert self.read_object is not None
            try:
                self.fetched[uri] = bytes(self.read_object(uri))
            except Exception as exc:  # any client or storage error means Bedrock could not read it
                self.fetched[uri] = exc
        return self.fetched[uri]


def _tokens_problem(found: _Findings, ctx: _Context, count: int, limit: int | None) -> None:
    # Worded like Bedrock's own message (amazon-bedrock-workshop#224).
    if limit is not None and count > limit:
        found.add(
            "tokens.max",
            f"input token count {count} exceeds limit of {limit} for {ctx.data}; shorten the "
            "record or split it into smaller ones",
        )


def _unknown_keys(found: _Findings, obj: dict, allowed: tuple[str, ...], where: str) -> None:
    extra = sorted(k for k in obj if k not in allowed)
    if extra:
        names = ", ".join(repr(k) for k in extra)
        keep = ", ".join(repr(k) for k in allowed)
        found.add("schema.unknown", f"{where} has unexpected field {names}; keep only {keep}")


def _non_empty_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


# --- Images -----------------------------------------------------------------------------------


def image_header(data: bytes) -> tuple[str, int, int] | None:
    """The (format, width, height) that an image file's header states, or None if unrecognised.

    Reads PNG (IHDR), GIF (logical screen), JPEG (the first SOF marker) and WebP (VP8, VP8L
    and VP8X chunks); format names are Converse's: ``png``, ``gif``, ``jpeg``, ``webp``.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", width, height
    if data[:2] == b"\xff\xd8":
        return _jpeg_header(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            width, height = struct.unpack("<HH", data[26:30])
            return "webp", width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            b0, b1, b2, b3 = data[21:25]
            width = 1 + (b0 | (b1 & 0x3F) << 8)
            height = 1 + (b1 >> 6 | b2 << 2 | (b3 & 0x0F) << 10)
            return "webp", width, height
        if chunk == b"VP8X":
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return "webp", width, height
    return None


def _jpeg_header(data: bytes) -> tuple[str, int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return "jpeg", width, height
        if marker == 0xD9:
            return None
        i += 2 + length
    return None


def llama_image_tokens(width: int, height: int) -> int:
    """Tokens Llama 3.2 Vision spends on an image (the formula in the Bedrock user guide)."""
    return min(2, max(height // 560, 1)) * min(2, max(width // 560, 1)) * 1601


# --- Converse-style records (Nova, Llama 3.2) ---------------------------------------------------

_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)$")
_NOVA_KEY = re.compile(r"^[\w\-/.]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_NOVA_RESERVED = (
    "User:",
    "Bot:",
    "Assistant:",
    "System:",
    "Thought:",
    "<image>",
    "<video>",
    "[EOS]",
    "<unk>",
)


@dataclass(frozen=True)
class _Media:
    images: bool
    videos: bool
    max_images: int
    image_formats: tuple[str, ...] = ("jpeg", "png", "gif", "webp")
    video_formats: tuple[str, ...] = ()
    image_bytes: int = 10 * MB
    video_bytes: int = 50 * MB
    image_side: tuple[int, int] | None = None  # (min, max) pixels per side, when documented
    strict_keys: bool = False  # Nova's character set for object keys
    image_tokens: bool = False  # count Llama's image tokens against the record limit


@dataclass(frozen=True)
class _Converse:
    media: _Media
    system_single: bool  # a system list, when present, holds exactly one item
    reserved: tuple[str, ...] = ()
    model: str = ""
    # Nova's data page says schemaVersion "can be any string value" (AWS's Nova validator
    # agrees); the Llama 3.2 validator pins the value.
    any_version: bool = False

    def check(self, record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
        found = _Findings()
        _unknown_keys(found, record, ("schemaVersion", "system", "messages"), "the record")
        version = record.get("schemaVersion")
        if self.any_version and isinstance(version, str):
            pass
        elif self.any_version and "schemaVersion" in record:
            found.add(
                "schema.version",
                f"schemaVersion is {version!r}; it must be a string such as {SCHEMA_VERSION!r}",
            )
        elif version != SCHEMA_VERSION:
            got = record.get("schemaVersion")
            found.add(
                "schema.version",
                f"schemaVersion is {got!r}; set it to {SCHEMA_VERSION!r}"
                if "schemaVersion" in record
                else f'schemaVersion is missing; add "schemaVersion": {SCHEMA_VERSION!r}',
            )
        texts: list[str] = []
        self._system(record, found, texts)
        messages = record.get("messages")
        if "messages" not in record:
            found.add("schema.required", "the record has no 'messages' list; add one")
            return found
        if not isinstance(messages, list):
            found.add("schema.type", "'messages' must be a list of {role, content} objects")
            return found
        if len(messages) < 2:
            found.add(
                "messages.count",
                f"'messages' has {len(messages)} message(s); a record needs at least a user "
                "turn followed by an assistant turn",
            )
        counts = {"image": 0, "video": 0}
        image_tokens = 0
        roles: list[str | None] = []
        for m, message in enumerate(messages):
            where = f"messages[{m}]"
            if not isinstance(message, dict):
                found.add("schema.type", f"{where} must be an object with 'role' and 'content'")
                roles.append(None)
                continue
            _unknown_keys(found, message, ("role", "content"), where)
            role = message.get("role")
            roles.append(role if role in ("user", "assistant") else None)
            if role not in ("user", "assistant"):
                found.add("roles.value", f"{where} has role {role!r}; use 'user' or 'assistant'")
            image_tokens += self._content(
                message.get("content"), role, where, found, ctx, texts, counts
            )
        _role_order(found, roles, require_last_assistant=True)
        self._media_totals(found, counts, ctx, line)
        if limits.record_tokens is not None:
            total = sum(count_tokens(t) for t in texts) + image_tokens
            _tokens_problem(found, ctx, total, limits.record_tokens)
        return found

    def _system(self, record: dict, found: _Findings, texts: list[str]) -> None:
        if "system" not in record:
            return
        system = record["system"]
        if not isinstance(system, list) or not system:
            found.add("system.format", "'system' must be a non-empty list of {\"text\": ...} items")
            return
        if self.system_single and len(system) != 1:
            found.add(
                "system.count",
                f"'system' has {len(system)} items; {self.model} takes exactly one "
                '{"text": ...} item: join the system prompts into one',
            )
        for s, item in enumerate(system):
            if not isinstance(item, dict) or set(item) != {"text"}:
                found.add("system.format", f"system[{s}] must be an object with only 'text'")
            elif not isinstance(item["text"], str):
                found.add("schema.type", f"system[{s}].text must be a string")
            elif not item["text"].strip():
                found.add("content.empty", f"system[{s}].text is empty; remove it or fill it")
            else:
                texts.append(item["text"])
                self._reserved(item["text"], f"system[{s}].text", found)

    def _reserved(self, text: str, where: str, found: _Findings) -> None:
        # Nova's validator compares without regard to case, which is the stricter reading.
        lowered = text.lower()
        hits = [word for word in self.reserved if word.lower() in lowered]
        if hits:
            found.add(
                "text.reserved",
                f"{where} contains the reserved keyword(s) {', '.join(hits)}; replace them with "
                "words of similar meaning",
            )

    def _content(
        self,
        content: Any,
        role: Any,
        where: str,
        found: _Findings,
        ctx: _Context,
        texts: list[str],
        counts: dict[str, int],
    ) -> int:
        if not isinstance(content, list) or not content:
            found.add("content.format", f"{where}.content must be a non-empty list of items")
            return 0
        tokens = 0
        for c, item in enumerate(content):
            at = f"{where}.content[{c}]"
            if (
                not isinstance(item, dict)
                or len(item) != 1
                or not (set(item) <= {"text", "image", "video"})
            ):
                found.add(
                    "content.format",
                    f'{at} must be exactly one of {{"text": ...}}, {{"image": ...}} or '
                    '{"video": ...}',
                )
                continue
            ((kind, value),) = item.items()
            if kind == "text":
                if not isinstance(value, str):
                    found.add("schema.type", f"{at}.text must be a string")
                elif value.strip():
                    texts.append(value)
                    self._reserved(value, f"{at}.text", found)
                else:
                    found.add("content.empty", f"{at}.text is empty; write the turn's text")
                continue
            counts[kind] += 1
            if role == "assistant":
                found.add(
                    "media.assistant",
                    f"{at} puts an {kind} in an assistant turn; only user turns may hold media",
                )
                continue
            allowed = self.media.images if kind == "image" else self.media.videos
            if not allowed:
                found.add(
                    "media.unsupported",
                    f"{at}: {self.model} does not take {kind}s; "
                    "remove it or choose a model that does",
                )
                continue
            tokens += self._media_item(kind, value, at, found, ctx)
        return tokens

    def _media_item(self, kind: str, value: Any, at: str, found: _Findings, ctx: _Context) -> int:
        formats = self.media.image_formats if kind == "image" else self.media.video_formats
        if not isinstance(value, dict) or set(value) != {"format", "source"}:
            found.add("content.format", f"{at}.{kind} must have only 'format' and 'source'")
            return 0
        fmt = value["format"]
        if fmt not in formats:
            hint = " (write 'jpeg', not 'jpg')" if fmt in ("jpg", "JPG") else ""
            found.add(
                "media.format",
                f"{at}.{kind}.format is {fmt!r}; use one of {', '.join(formats)}{hint}",
            )
        source = value["source"]
        location = source.get("s3Location") if isinstance(source, dict) else None
        if (
            not isinstance(source, dict)
            or set(source) != {"s3Location"}
            or not isinstance(location, dict)
        ):
            found.add("content.format", f'{at}.{kind}.source must be {{"s3Location": ...}}')
            return 0
        uri = location.get("uri")
        bad_keys = set(location) - {"uri", "bucketOwner"}
        if bad_keys:
            found.add(
                "content.format",
                f"{at}.{kind}.source.s3Location has unexpected field(s) "
                f"{', '.join(sorted(map(repr, bad_keys)))}; keep 'uri' and 'bucketOwner'",
            )
        owner = location.get("bucketOwner")
        if owner is not None and not (isinstance(owner, str) and _ACCOUNT.match(owner)):
            found.add("media.uri", f"{at}.{kind}: bucketOwner must be a 12-digit account ID")
        match = _S3_URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            found.add("media.uri", f"{at}.{kind}: uri {uri!r} is not an s3://bucket/key URI")
            return 0
        assert isinstance(uri, str)  # _S3_URI matched it
        if self.media.strict_keys and not _NOVA_KEY.match(match.group(2)):
            found.add(
                "media.uri",
                f"{at}.{kind}: the key of {uri} may hold only letters, digits, '_', '-', '/' "
                "and '.'; rename the object",
            )
        if ctx.read_object is None:
            return 0
        data = ctx.fetch(uri)
        if isinstance(data, Exception):
            found.add(
                "media.fetch",
                f"{at}: cannot read {uri} ({type(data).__name__}: {data}); "
                "upload the object or fix the URI",
            )
            return 0
        limit = self.media.image_bytes if kind == "image" else self.media.video_bytes
        if len(data) > limit:
            found.add(
                "media.size",
                f"{at}: {uri} has {len(data):,} bytes; the limit for a {kind} is {limit // MB} MB",
            )
        if kind != "image":
            return 0
        header = image_header(data)
        if header is None:
            found.add("image.decode", f"{at}: {uri} is not a PNG, JPEG, GIF or WebP image")
            return 0
        actual, width, height = header
        if actual != fmt and fmt in formats:
            found.add(
                "image.decode",
                f"{at}: {uri} is a {actual} image but format says "
                f"{fmt!r}; set format to {actual!r}",
            )
        side = self.media.image_side
        if side and not (side[0] <= width <= side[1] and side[0] <= height <= side[1]):
            found.add(
                "image.dimensions",
                f"{at}: {uri} is {width}x{height} pixels; each side must be {side[0]} to "
                f"{side[1]} pixels: resize it",
            )
        return llama_image_tokens(width, height) if self.media.image_tokens else 0

    def _media_totals(
        self, found: _Findings, counts: dict[str, int], ctx: _Context, line: int
    ) -> None:
        images, videos = counts["image"], counts["video"]
        if images > self.media.max_images and self.media.images:
            found.add(
                "media.count",
                f"the record has {images} images; {self.model} takes at "
                f"most {self.media.max_images} per record",
            )
        if videos > 1 and self.media.videos:
            found.add("media.count", f"the record has {videos} videos; at most 1 per record")
        if not (self.media.images and self.media.videos):
            return  # a model that takes one kind of media has refused the other already
        if images and videos:
            found.add("media.mixed", "the record mixes images and a video; use one or the other")
            return
        # The whole dataset must be text with images or text with videos, not both.
        if images and not ctx.first_image_line:
            ctx.first_image_line = line
        if videos and not ctx.first_video_line:
            ctx.first_video_line = line
        if images and ctx.first_video_line:
            found.add(
                "media.modality",
                f"the record has images but line {ctx.first_video_line} "
                "has a video; a dataset holds images or videos, not both",
            )
        if videos and ctx.first_image_line:
            found.add(
                "media.modality",
                f"the record has a video but line {ctx.first_image_line} "
                "has images; a dataset holds images or videos, not both",
            )


def _role_order(found: _Findings, roles: list[str | None], require_last_assistant: bool) -> None:
    known = [(i, r) for i, r in enumerate(roles) if r is not None]
    if not known:
        return
    if roles[0] is not None and roles[0] != "user":
        found.add(
            "roles.first", "messages[0] has role 'assistant'; a record starts with a user turn"
        )
    for (i, r), (j, s) in itertools.pairwise(known):
        if j == i + 1 and r == s:
            found.add(
                "roles.alternate",
                f"messages[{i}] and messages[{j}] both have role {r!r}; roles must alternate "
                "user, assistant, user, ...: merge the two turns",
            )
            break
    if require_last_assistant and len(roles) >= 2 and roles[-1] == "user":
        found.add(
            "roles.last",
            f"messages[{len(roles) - 1}] has role 'user'; the last turn is the assistant's answer",
        )


# --- The other formats ------------------------------------------------------------------------


def _prompt_completion(record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
    found = _Findings()
    _unknown_keys(found, record, ("prompt", "completion"), "the record")
    ok = True
    for key in ("prompt", "completion"):
        if key not in record:
            found.add("schema.required", f"the record has no {key!r}; add a {key!r} string")
            ok = False
        elif not isinstance(record[key], str):
            found.add("schema.type", f"{key!r} must be a string")
            ok = False
        elif not record[key].strip():
            found.add("content.empty", f"{key!r} is empty; write the {key}")
    if ok:
        total = count_tokens(record["prompt"]) + count_tokens(record["completion"])
        _tokens_problem(found, ctx, total, limits.record_tokens)
    return found


def _cpt(record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
    found = _Findings()
    _unknown_keys(found, record, ("input",), "the record")
    if "input" not in record:
        found.add(
            "schema.required",
            'the record has no \'input\'; continued pre-training records are {"input": "<text>"}',
        )
    elif not isinstance(record["input"], str):
        found.add("schema.type", "'input' must be a string")
    elif not record["input"].strip():
        found.add("content.empty", "'input' is empty; write the text or drop the record")
    else:
        _tokens_problem(found, ctx, count_tokens(record["input"]), limits.record_tokens)
    return found


_CLAUDE_RESERVED = ("\nHuman:", "\nAssistant:")


def _claude(record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
    found = _Findings()
    _unknown_keys(found, record, ("system", "messages"), "the record")
    texts: list[tuple[str, str]] = []
    if "system" in record:
        if not isinstance(record["system"], str):
            found.add("system.format", "'system' must be a string")
        else:
            texts.append(("system", record["system"]))
    messages = record.get("messages")
    if "messages" not in record:
        found.add("schema.required", "the record has no 'messages' list; add one")
    elif not isinstance(messages, list):
        found.add("schema.type", "'messages' must be a list of {role, content} objects")
    else:
        if len(messages) < 2:
            found.add(
                "messages.count",
                f"'messages' has {len(messages)} message(s); a record "
                "needs a user turn followed by an assistant turn",
            )
        roles: list[str | None] = []
        for m, message in enumerate(messages):
            where = f"messages[{m}]"
            if not isinstance(message, dict):
                found.add("schema.type", f"{where} must be an object with 'role' and 'content'")
                roles.append(None)
                continue
            _unknown_keys(found, message, ("role", "content"), where)
            role = message.get("role")
            roles.append(role if role in ("user", "assistant") else None)
            if role not in ("user", "assistant"):
                found.add("roles.value", f"{where} has role {role!r}; use 'user' or 'assistant'")
            content = message.get("content")
            if not isinstance(content, str):
                found.add("schema.type", f"{where}.content must be a string")
            elif not content.strip():
                found.add("content.empty", f"{where}.content is empty; write the turn's text")
            else:
                texts.append((f"{where}.content", content))
        _role_order(found, roles, require_last_assistant=True)
    for where, text in texts:
        hits = [word.strip() for word in _CLAUDE_RESERVED if word in text]
        if hits:
            found.add(
                "text.reserved",
                f"{where} contains {' and '.join(hits)} after a line break; "
                "these strings are reserved: reword them (for example without the colon)",
            )
    _tokens_problem(found, ctx, sum(count_tokens(t) for _, t in texts), limits.record_tokens)
    return found


def _distillation(record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
    found = _Findings()
    _unknown_keys(found, record, ("schemaVersion", "system", "messages"), "the record")
    if record.get("schemaVersion") != SCHEMA_VERSION:
        found.add(
            "schema.version",
            f"schemaVersion is {record.get('schemaVersion')!r}; set it to {SCHEMA_VERSION!r}",
        )
    if "system" in record:
        system = record["system"]
        if not isinstance(system, list):
            found.add("system.format", "'system' must be a list holding one {\"text\": ...} item")
        elif len(system) != 1:
            found.add(
                "system.count",
                f"'system' has {len(system)} items; a distillation prompt "
                "takes exactly one {\"text\": ...} item (or no 'system' at all)",
            )
        elif not isinstance(system[0], dict) or set(system[0]) != {"text"}:
            found.add("system.format", "system[0] must be an object with only 'text'")
        elif not _non_empty_text(system[0]["text"]):
            found.add("content.empty", "system[0].text must be a non-empty string")
    messages = record.get("messages")
    if "messages" not in record:
        found.add("schema.required", "the record needs a 'messages' list with the user prompt")
        return found
    if not isinstance(messages, list):
        found.add("schema.type", "'messages' must be a list of {role, content} objects")
        return found
    if not 1 <= len(messages) <= 2:
        found.add(
            "messages.count",
            f"'messages' has {len(messages)} messages; a distillation "
            "prompt is one user message, optionally followed by one assistant answer",
        )
    for m, message in enumerate(messages[:2]):
        where = f"messages[{m}]"
        expected = "user" if m == 0 else "assistant"
        if not isinstance(message, dict):
            found.add("schema.type", f"{where} must be an object with 'role' and 'content'")
            continue
        _unknown_keys(found, message, ("role", "content"), where)
        role = message.get("role")
        if role not in ("user", "assistant"):
            found.add("roles.value", f"{where} has role {role!r}; use 'user' or 'assistant'")
        elif role != expected:
            rule = "roles.first" if m == 0 else "roles.alternate"
            found.add(
                rule,
                f"{where} has role {role!r}; expected {expected!r} (user prompt "
                "first, then the optional assistant answer)",
            )
        content = message.get("content")
        if not isinstance(content, list) or len(content) != 1:
            found.add(
                "content.count",
                f'{where}.content must be a list with exactly one {{"text": ...}} item',
            )
            continue
        item = content[0]
        if not isinstance(item, dict) or "text" not in item or set(item) - {"text", "type"}:
            found.add(
                "content.format",
                f'{where}.content[0] must be {{"text": ...}}; distillation prompts hold text only',
            )
        elif not _non_empty_text(item["text"]):
            found.add("content.empty", f"{where}.content[0].text must be a non-empty string")
    return found


# Reinforcement fine-tuning prompts: the OpenAI chat format plus a reference answer (SOURCES:
# _RFT_PREP, _RFT_NOVA, _RFT_NOVA2). Fields beside messages and reference_answer are allowed
# (they reach the grader), so none is refused as unknown. The pages do not say where the user
# turn must stand, nor that text may not be empty, so neither is checked: only that one exists.
_RFT_ROLES = ("system", "user", "assistant")
_RFT_MEDIA_PARTS = ("image_url", "image", "input_image", "input_audio", "audio", "file", "video")


def _rft(record: dict, ctx: _Context, line: int, limits: _Limits) -> _Findings:
    found = _Findings()
    if "reference_answer" not in record:
        found.add(
            "schema.required",
            "the record has no 'reference_answer'; add what the grader scores the answer "
            'against, such as {"answer": 42}',
        )
    elif record["reference_answer"] is None:
        found.add(
            "schema.required",
            "'reference_answer' is null; give the grader the expected answer or its criteria",
        )
    if "messages" not in record:
        found.add("schema.required", "the record has no 'messages' list; add the prompt's turns")
        return found
    messages = record["messages"]
    if not isinstance(messages, list):
        found.add("schema.type", "'messages' must be a list of {role, content} objects")
        return found
    if not messages:
        found.add("messages.count", "'messages' is empty; a prompt needs at least a user turn")
        return found
    roles: list[Any] = []
    for m, message in enumerate(messages):
        where = f"messages[{m}]"
        if not isinstance(message, dict):
            found.add("schema.type", f"{where} must be an object with 'role' and 'content'")
            continue
        role = message.get("role")
        roles.append(role)
        if role not in _RFT_ROLES:
            found.add(
                "roles.value", f"{where} has role {role!r}; use 'system', 'user' or 'assistant'"
            )
        if "content" not in message:
            found.add("schema.required", f"{where} has no 'content'; add the turn's text")
        else:
            _rft_content(found, message["content"], f"{where}.content")
    if "user" not in roles:
        found.add(
            "roles.user",
            "no message has role 'user'; a prompt needs a user turn for the model to answer",
        )
    return found


def _rft_content(found: _Findings, content: Any, where: str) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        found.add(
            "schema.type",
            f'{where} must be a string or a list of {{"type": "text", "text": ...}} parts',
        )
        return
    if not content:
        found.add("content.format", f"{where} is an empty list; give the turn's text")
    for c, part in enumerate(content):
        at = f"{where}[{c}]"
        kind = part.get("type") if isinstance(part, dict) else None
        keys = sorted(set(part) & set(_RFT_MEDIA_PARTS)) if isinstance(part, dict) else []
        if kind in _RFT_MEDIA_PARTS or keys:
            found.add(
                "media.unsupported",
                f"{at} holds media ({kind if kind in _RFT_MEDIA_PARTS else keys[0]}); "
                "reinforcement fine-tuning of Amazon Nova 2 takes text only: remove the part "
                "or describe it in words",
            )
        elif not isinstance(part, dict) or kind != "text" or "text" not in part:
            found.add("content.format", f'{at} must be {{"type": "text", "text": ...}}')
        elif not isinstance(part["text"], str):
            found.add("schema.type", f"{at}.text must be a string")


_NOVA_MEDIA = _Media(
    images=True,
    videos=True,
    max_images=10,
    video_formats=("mov", "mkv", "mp4", "webm"),
    strict_keys=True,
)

_CHECKERS: dict[str, Callable[[dict, _Context, int, _Limits], _Findings]] = {
    "nova-conversation": _Converse(
        _NOVA_MEDIA,
        system_single=False,
        reserved=_NOVA_RESERVED,
        model="Amazon Nova",
        any_version=True,
    ).check,
    "nova-micro-conversation": _Converse(
        _Media(images=False, videos=False, max_images=0),
        system_single=False,
        reserved=_NOVA_RESERVED,
        model="Amazon Nova Micro",
        any_version=True,
    ).check,
    "llama-3.2-conversation": _Converse(
        _Media(images=False, videos=False, max_images=0),
        system_single=True,
        model="Meta Llama 3.2 (1B, 3B)",
    ).check,
    "llama-3.2-vision-conversation": _Converse(
        _Media(images=True, videos=False, max_images=1, image_side=(10, 8192), image_tokens=True),
        system_single=True,
        model="Meta Llama 3.2 Vision",
    ).check,
    "llama-3.1-prompt-completion": _prompt_completion,
    "titan-prompt-completion": _prompt_completion,
    "titan-cpt": _cpt,
    "claude-3-haiku-messages": _claude,
    "distillation-prompts": _distillation,
    "rft-prompts": _rft,
}


# --- The file ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    # Python's json reads NaN and Infinity; JSON (and Bedrock's parsers) do not.
    raise ValueError(f"{name} is not valid JSON")


def check_dataset(
    body: bytes,
    rules: str,
    split: str,
    *,
    other_split_records: int | None = None,
    read_object: Callable[[str], bytes] | None = None,
) -> Verdict:
    """Check one dataset file as a customization job reading it from S3 would.

    Args:
        body: The file's bytes (JSON Lines).
        rules: One of :data:`RULE_SETS`.
        split: ``"train"`` or ``"validation"``.
        other_split_records: Records in the other file of the job, for limits that count both
            files together; None counts this file alone.
        read_object: Returns an S3 object's bytes for an ``s3://`` URI, to check the images a
            record names; None checks only the references.

    Returns:
        The record count and every problem found (at most :data:`MAX_PROBLEMS` kept).

    Raises:
        ValueError: For an unknown rule set or split.
    """
    if rules not in _CHECKERS:
        raise ValueError(f"unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}")
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', not {split!r}")
    limits = _LIMITS[rules]
    checker = _CHECKERS[rules]
    ctx = _Context(split=split, read_object=read_object)
    verdict = Verdict(records=0)
    file_problems: list[Problem] = []
    record_problems: list[Problem] = []

    byte_limit = limits.train_bytes if split == "train" else limits.validation_bytes
    if byte_limit is not None and len(body) > byte_limit:
        file_problems.append(
            Problem(
                0,
                "file.size",
                f"the {ctx.data} file has {len(body):,} bytes; the limit is "
                f"{_size(byte_limit)}: split or shorten the dataset",
            )
        )

    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        verdict.records += 1
        found = _Findings()
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            found.add(
                "file.encoding",
                "the file starts with a UTF-8 byte-order mark; save it as UTF-8 without one",
            )
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                found.add(
                    "file.encoding",
                    f"the line is not valid UTF-8 (byte {exc.start + 1}); save the file as UTF-8",
                )
            else:
                try:
                    record = json.loads(text, parse_constant=_reject_constant)
                except ValueError as exc:
                    # json's own text says "line 1" of the one line it was given; give the column.
                    why = (
                        f"{exc.msg} at column {exc.colno}"
                        if isinstance(exc, json.JSONDecodeError)
                        else str(exc)
                    )
                    found.add(
                        "json.syntax",
                        f"the line is not valid JSON ({why}); write each record as one JSON "
                        "object on one line",
                    )
                else:
                    if isinstance(record, dict):
                        found = checker(record, ctx, number, limits)
                    else:
                        found.add(
                            "json.object",
                            f"the line is a JSON {type(record).__name__}, "
                            "not an object; write each record as {...}",
                        )
        if found:
            verdict.invalid_records += 1
            for rule, message in found:
                if len(record_problems) < MAX_PROBLEMS:
                    record_problems.append(Problem(number, rule, message))

    _check_counts(verdict, limits, ctx, other_split_records, file_problems.append)
    # File-level problems come first (the summary leads with them) and are never capped away.
    verdict.problems = file_problems + record_problems[: MAX_PROBLEMS - len(file_problems)]
    return verdict


def _check_counts(
    verdict: Verdict,
    limits: _Limits,
    ctx: _Context,
    other: int | None,
    keep: Callable[[Problem], None],
) -> None:
    n = verdict.records
    low = limits.train_min if ctx.split == "train" else limits.validation_min
    high = limits.train_max if ctx.split == "train" else limits.validation_max
    if n == 0:
        keep(
            Problem(
                0,
                "file.empty",
                f"the {ctx.data} file has no records; it needs at least "
                f"{low} JSON line{'s' if low > 1 else ''}",
            )
        )
        return
    if n < low:
        keep(Problem(0, "count.min", f"{ctx.data} has {n} records; at least {low} are needed"))
    if high is not None and n > high:
        keep(Problem(0, "count.max", f"{ctx.data} has {n} records; at most {high} are allowed"))
    both = n + (other or 0)
    if limits.total_max is not None and both > limits.total_max:
        keep(
            Problem(
                0,
                "count.total",
                f"train and validation data together have {both} records; "
                f"at most {limits.total_max} are allowed",
            )
        )
    # A minimum over both files is checked with the training file, which every job has; without
    # the validation count the training file must reach it alone.
    if ctx.split == "train" and limits.total_min is not None and both < limits.total_min:
        keep(
            Problem(
                0,
                "count.total",
                f"train and validation data together have {both} records; "
                f"at least {limits.total_min} are needed",
            )
        )


def _size(n: int) -> str:
    if n % GB == 0:
        return f"{n // GB} GB"
    return f"{n // MB} MB" if n % MB == 0 else f"{n:,} bytes"
