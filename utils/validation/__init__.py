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
- reinforcement fine-tuning prompts (``reinforcement-fine-tuning`` or ``rft``): Amazon Nova 2
  Lite (OpenAI chat ``messages`` plus ``reference_answer``, 100 to 20,000 training records).

Images and videos in Amazon S3 are fetched (``check_media=True``, the default for files):
a HEAD request for existence and size, and a ranged GET of the first bytes to read an
image's format and dimensions from its header, at most ``max_media_checks`` distinct
objects per file. Pass ``check_media=False`` to validate without access to Amazon S3.

Token counts are conservative estimates, characters / 3
(:func:`utils.token_estimate.estimate_tokens`); given a ``token_counter``
(:func:`utils.tokens.bedrock_counter`), a record the estimate puts over a limit is counted
exactly before it is refused, and the report says which was used.
Not checked: per-record token limits of prompt/completion and conversation fine-tuning,
and image or video sizes for Amazon Nova (its fine-tuning guide gives no figures).

The package is split along the validator's parts: :mod:`~utils.validation.rules` (rule ids
and which rules apply to which model and job), :mod:`~utils.validation.report` (problems
and reports), :mod:`~utils.validation.media` (media objects in Amazon S3),
:mod:`~utils.validation.records` (the checks of one record), :mod:`~utils.validation.reading`
(JSON Lines reading), :mod:`~utils.validation.api` (one file, stream or list of records) and
:mod:`~utils.validation.dataset` (a training and a validation file together);
:mod:`~utils.validation.__main__` is the command line, ``python -m utils.validation FILE
[options]`` (exit 0 valid, 1 invalid, 2 usage error). Import the names below from
``utils.validation``; the modules' layout may change.
"""

# What callers use (utils, standin, tests, benchmarks and the notebooks), with the types and
# the default that the signatures of those names show (DatasetRules, ModelInfo, MAX_PROBLEMS).
from utils.images import ImageInfo, image_info
from utils.validation.api import validate_file, validate_records, validate_stream
from utils.validation.dataset import DatasetReport, validate_dataset
from utils.validation.media import MAX_MEDIA_CHECKS
from utils.validation.reading import MAX_LINE_BYTES, path_key
from utils.validation.report import MAX_PROBLEMS, Problem, ValidationReport
from utils.validation.rules import (
    IMAGE_FORMATS,
    JOBS,
    MODELS,
    NOVA_RESERVED,
    RULES,
    SPLITS,
    VIDEO_FORMATS,
    DatasetRules,
    ModelInfo,
    normalize_job,
    resolve_model,
    rules_for,
)

__all__ = [
    "IMAGE_FORMATS",
    "JOBS",
    "MAX_LINE_BYTES",
    "MAX_MEDIA_CHECKS",
    "MAX_PROBLEMS",
    "MODELS",
    "NOVA_RESERVED",
    "RULES",
    "SPLITS",
    "VIDEO_FORMATS",
    "DatasetReport",
    "DatasetRules",
    "ImageInfo",
    "ModelInfo",
    "Problem",
    "ValidationReport",
    "image_info",
    "normalize_job",
    "path_key",
    "resolve_model",
    "rules_for",
    "validate_dataset",
    "validate_file",
    "validate_records",
    "validate_stream",
]
