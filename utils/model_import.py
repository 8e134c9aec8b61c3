"""What Amazon Bedrock Custom Model Import accepts, and a check of a local folder against it.

:func:`check_folder` reads a Hugging Face model folder before anything is uploaded: its
``config.json`` (architecture, dtype), the headers of its safetensors files (dtype and shape of
every tensor, no tensor loaded), its tokenizer files, and the mistakes the public samples'
users make (pickle-only weights, a LoRA adapter that was never merged). Its
:class:`FolderReport` says what is wrong and what to do, and shows as a table in a notebook.

Every fact names its source and the day it was read (:data:`CHECKED`). Where AWS's pages could
not be read here, the constant says so: treat those as this workshop's rule, not AWS's.
"""

from __future__ import annotations

import html
import json
import math
import struct
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd

CHECKED = "2026-12-02"
"""When the facts below were last read against their sources."""

# Sources, as read on CHECKED:
# [IMPORT]  "Import a customized model into Amazon Bedrock",
#           https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model.html
#           (only its opening could be read here: Regions, unsupported features, patterns).
# [JOB]     "Submit a model import job",
#           https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model-job.html
# [SAMPLES] "Code samples for Custom Model Import" (read in its ja_jp and zh_cn editions),
#           https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-import-code-samples.html
# [INVOKE]  "Invoke your imported model",
#           https://docs.aws.amazon.com/bedrock/latest/userguide/invoke-imported-model.html
# [API]     botocore 1.44.5 service model "bedrock": CreateModelImportJob, GetModelImportJob,
#           GetImportedModel.

REGIONS = ("us-east-1", "us-west-2")
"""Regions with Custom Model Import [IMPORT]. One mirror of the same page also lists
eu-central-1; the copies disagree, so the preflight should ask the Region, not this tuple."""

JOB_STATUSES = ("InProgress", "Completed", "Failed")
"""``ModelImportJobStatus`` in the service model [API]; no Stopping or Stopped here."""


@dataclass(frozen=True)
class Architecture:
    """One architecture Custom Model Import takes, as ``config.json`` names it.

    Attributes:
        name: The class in ``config.json``'s ``architectures`` list.
        model_type: ``config.json``'s ``model_type`` for that class.
        family: The family as AWS's pages name it.
        converse: Whether ``converse`` works on the imported model; None when the folder
            alone cannot tell (Qwen2 and Qwen2.5 share one class, and only Qwen2.5 is refused).
    """

    name: str
    model_type: str
    family: str
    converse: bool | None


_ARCHITECTURES = (
    # Families named by [SAMPLES] (Mistral AI, Llama, Qwen, Flan, GPTBigCode, Mixtral, with
    # Converse for all six) and [INVOKE] (Qwen2.5, Qwen2-VL, Qwen2.5-VL and GPT-OSS refuse
    # Converse). The class and model_type of each family are transformers' own names, matched
    # by this workshop: the pages read here give no list of classes. The full architecture
    # list of [IMPORT] could not be read here, so families it may add (Llama vision, Qwen3,
    # ...) are not accepted until someone reads it and adds them with a source.
    Architecture("LlamaForCausalLM", "llama", "Llama", True),
    Architecture("MistralForCausalLM", "mistral", "Mistral AI", True),
    Architecture("MixtralForCausalLM", "mixtral", "Mixtral", True),
    Architecture("T5ForConditionalGeneration", "t5", "Flan", True),
    Architecture("GPTBigCodeForCausalLM", "gpt_bigcode", "GPTBigCode", True),
    Architecture("Qwen2ForCausalLM", "qwen2", "Qwen (Qwen2 or Qwen2.5)", None),
    Architecture("Qwen2VLForConditionalGeneration", "qwen2_vl", "Qwen2-VL", False),
    Architecture("Qwen2_5_VLForConditionalGeneration", "qwen2_5_vl", "Qwen2.5-VL", False),
    Architecture("GptOssForCausalLM", "gpt_oss", "GPT-OSS", False),
)

ARCHITECTURES: Mapping[str, Architecture] = MappingProxyType({a.name: a for a in _ARCHITECTURES})
"""Architectures the checker accepts, by the class ``config.json`` names."""

DTYPES: Mapping[str, str] = MappingProxyType(
    {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
)
"""Weight dtypes accepted (safetensors code -> torch name): fp32, fp16 and bf16. Taken from the
issue and the design guide; the page that states it ([IMPORT]) could not be read in full here.
Quantised weights (int8, int4, fp8) are refused."""

SAFETENSORS_INDEX = "model.safetensors.index.json"
"""The shard map ``save_pretrained`` writes beside sharded safetensors files."""

PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt")
"""Weight files in Python's pickle format: Custom Model Import reads safetensors only."""

ADAPTER_FILES = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "adapter_model.bin",
)
"""What a PEFT (LoRA) adapter folder holds. Bedrock takes whole models, not adapters (the
issue's "no separate adapters"; merge them first)."""

TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_VOCABULARIES = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json")
"""A tokenizer needs its config and one vocabulary file. The design guide says a folder holds
"safetensors, config, tokenizer"; which files exactly is this workshop's rule, from what
``save_pretrained`` writes (fast tokenizers, SentencePiece for Llama/Mistral and Flan-T5, BPE)."""

MAX_HEADER_BYTES = 100_000_000
"""A safetensors header larger than this is taken as a damaged file (safetensors' own limit)."""

SIZE_LIMIT_NOTE = "No size limit for an imported model was found in the pages read on " + CHECKED
"""Custom Model Import's size limits were not found here; the job itself will say."""

MERGE_FIX = (
    "Merge the adapter into its base model and save the whole model: "
    "`merged = peft_model.merge_and_unload()` then "
    "`merged.save_pretrained(folder, safe_serialization=True)` and "
    "`tokenizer.save_pretrained(folder)`; import that folder."
)
SAFETENSORS_FIX = (
    "Load the model and save it again as safetensors: "
    "`AutoModelForCausalLM.from_pretrained(folder).save_pretrained(folder, "
    "safe_serialization=True)`, then remove the pickle files."
)


@dataclass(frozen=True)
class FolderProblem:
    """One thing that keeps a folder from importing, with what to do about it.

    Attributes:
        rule: A short id such as ``weights.dtype``.
        problem: What is wrong, naming the file and value.
        fix: What to do.
    """

    rule: str
    problem: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """The problem as a JSON-ready dict."""
        return {"rule": self.rule, "problem": self.problem, "fix": self.fix}


@dataclass
class FolderReport:
    """What :func:`check_folder` found in one folder.

    Attributes:
        path: The folder checked.
        architecture: ``config.json``'s first architecture (None when unread).
        model_type: ``config.json``'s ``model_type``.
        dtype: The weights' dtype holding most parameters (torch name; the safetensors code,
            e.g. ``I8``, for a refused one); None without weights.
        config_dtype: The dtype ``config.json`` declares (``dtype`` or ``torch_dtype``).
        parameters: Parameters counted from the safetensors headers' shapes.
        weight_bytes: Bytes of the safetensors files.
        total_bytes: Bytes of the files an upload sends (:func:`files_to_send`).
        weight_files: Safetensors files read, in order.
        converse: Whether ``converse`` will work; None when unknown.
        problems: What keeps the folder from importing.
    """

    path: Path
    architecture: str | None = None
    model_type: str | None = None
    dtype: str | None = None
    config_dtype: str | None = None
    parameters: int = 0
    weight_bytes: int = 0
    total_bytes: int = 0
    weight_files: list[str] = field(default_factory=list)
    converse: bool | None = None
    problems: list[FolderProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing keeps the folder from importing."""
        return not self.problems

    def add(self, rule: str, problem: str, fix: str) -> None:
        """Record one problem."""
        self.problems.append(FolderProblem(rule, problem, fix))

    def facts(self) -> dict[str, Any]:
        """What the folder holds, by name (the rows of :meth:`to_frame`)."""
        converse = {True: "yes", False: "no", None: "unknown"}[self.converse]
        return {
            "folder": str(self.path),
            "verdict": "ready to import" if self.ok else f"{len(self.problems)} problem(s)",
            "architecture": self.architecture,
            "model_type": self.model_type,
            "dtype": self.dtype,
            "config dtype": self.config_dtype,
            "parameters": self.parameters,
            "weight files": len(self.weight_files),
            "weight bytes": self.weight_bytes,
            "total bytes": self.total_bytes,
            "converse (instructions)": converse,
        }

    def summary(self) -> str:
        """One line: verdict, architecture, dtype, parameters and size."""
        verdict = "READY" if self.ok else f"NOT READY ({len(self.problems)} problem(s))"
        return (
            f"{self.path}: {verdict}: {self.architecture or 'unknown architecture'}, "
            f"{self.dtype or 'no weights'}, {self.parameters:,} parameters, "
            f"{self.total_bytes / 1e6:.1f} MB"
        )

    def to_frame(self) -> pd.DataFrame:
        """The facts as a two-column table (item, value)."""
        import pandas as pd

        facts = self.facts()
        return pd.DataFrame({"item": list(facts), "value": [str(v) for v in facts.values()]})

    def problems_frame(self) -> pd.DataFrame:
        """The problems as a table with columns rule, problem and fix."""
        import pandas as pd

        return pd.DataFrame(
            [p.to_dict() for p in self.problems], columns=["rule", "problem", "fix"]
        )

    def to_dict(self) -> dict[str, Any]:
        """The whole report as a JSON-ready dict."""
        return self.facts() | {
            "ok": self.ok,
            "weight_files": list(self.weight_files),
            "problems": [p.to_dict() for p in self.problems],
        }

    def raise_for_problems(self) -> FolderReport:
        """Return the report when the folder is ready, else raise listing every problem.

        Raises:
            WorkshopError: With each problem and its fix.
        """
        if self.ok:
            return self
        lines = [f"- {p.problem} What to do: {p.fix}" for p in self.problems]
        raise WorkshopError(
            f"The folder {self.path} cannot be imported into Amazon Bedrock:\n" + "\n".join(lines),
            "Fix each problem listed, then check the folder again before uploading it.",
        )

    def _repr_html_(self) -> str:
        # A notebook shows the facts, then the problems with their fixes.
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
            f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>"
            for name, value in self.facts().items()
        )
        out = f"<table><caption>Custom Model Import folder check</caption>{rows}</table>"
        if self.problems:
            items = "".join(
                f"<li><b>{html.escape(p.problem)}</b> {html.escape(p.fix)}</li>"
                for p in self.problems
            )
            out += f"<ul>{items}</ul>"
        return out

    def __str__(self) -> str:
        lines = [f"  {p.rule}: {p.problem} What to do: {p.fix}" for p in self.problems]
        return "\n".join([self.summary(), *lines])


@dataclass(frozen=True)
class Tensor:
    """One tensor's entry in a safetensors header."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        """Elements in the tensor."""
        return math.prod(self.shape)


def read_safetensors_header(path: Path) -> list[Tensor]:
    """The tensors a safetensors file declares, read from its header alone (no tensor loaded).

    The format: 8 bytes, a little-endian unsigned length N, then N bytes of JSON mapping each
    tensor name to its ``dtype``, ``shape`` and ``data_offsets`` (plus ``__metadata__``).

    Raises:
        ValueError: When the file is not a readable safetensors file.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path.name} is {size} bytes, too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, MAX_HEADER_BYTES):
            raise ValueError(f"{path.name} declares a {length}-byte header in a {size}-byte file")
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path.name}'s header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path.name}'s header is not a JSON object")
    tensors = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            tensors.append(Tensor(name, str(entry["dtype"]), tuple(int(n) for n in entry["shape"])))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path.name}: the entry of {name} has no dtype or shape") from None
    return tensors


def _read_config(folder: Path, report: FolderReport) -> dict[str, Any] | None:
    """config.json as a dict, or None (with the problem recorded)."""
    path = folder / "config.json"
    if not path.is_file():
        report.add(
            "config.missing",
            "The folder has no config.json.",
            "Save the model with `model.save_pretrained(folder)`, which writes config.json.",
        )
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        report.add(
            "config.json", f"config.json is not valid JSON ({err}).", "Save the model again."
        )
        return None
    if not isinstance(config, dict):
        report.add("config.json", "config.json is not a JSON object.", "Save the model again.")
        return None
    return config


def _check_architecture(config: dict[str, Any], report: FolderReport) -> None:
    """Architecture and model_type against :data:`ARCHITECTURES`."""
    names = config.get("architectures")
    report.model_type = config.get("model_type")
    if not isinstance(names, list) or not names or not isinstance(names[0], str):
        report.add(
            "config.architectures",
            "config.json names no architecture (its `architectures` list is missing or empty).",
            "Save the model from its model class (e.g. `LlamaForCausalLM`), not a base "
            "`AutoModel`, so config.json records the architecture.",
        )
        return
    report.architecture = names[0]
    known = ARCHITECTURES.get(names[0])
    if known is None:
        supported = ", ".join(sorted(ARCHITECTURES))
        report.add(
            "config.architecture",
            f"Custom Model Import does not take the architecture {names[0]} "
            f"(model_type {report.model_type}).",
            f"Start from a model of a supported architecture: {supported}.",
        )
        return
    report.converse = known.converse
    if report.model_type != known.model_type:
        report.add(
            "config.model_type",
            f"config.json's model_type is {report.model_type}, but {known.name} "
            f"has model_type {known.model_type}.",
            "Save the model again with transformers so that both fields agree.",
        )
    if config.get("quantization_config"):
        report.add(
            "config.quantized",
            "config.json carries a quantization_config: the model is quantised.",
            "Load the full-precision model (or dequantise it) and save it in bf16, fp16 "
            "or fp32 without quantization_config.",
        )


def _weight_files(folder: Path, report: FolderReport) -> list[Path]:
    """The safetensors files to read: the index's shards, or every model safetensors file."""
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            shards = sorted(set(weight_map.values()))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
            report.add(
                "weights.index",
                f"{SAFETENSORS_INDEX} has no readable weight_map.",
                "Save the model again with `save_pretrained(folder, safe_serialization=True)`.",
            )
            return []
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            report.add(
                "weights.shard_missing",
                f"{SAFETENSORS_INDEX} names shard(s) the folder lacks: {', '.join(missing)}.",
                "Copy every shard into the folder (an interrupted download or upload leaves "
                "some out), or save the model again.",
            )
        return [folder / s for s in shards if s not in missing]
    return sorted(
        p for p in folder.glob("*.safetensors") if p.name not in ADAPTER_FILES and p.is_file()
    )


def _check_adapter(folder: Path, report: FolderReport, has_weights: bool) -> None:
    """Refuse PEFT adapter files: alone, or beside a model."""
    found = [name for name in ADAPTER_FILES if (folder / name).is_file()]
    if not found:
        return
    if has_weights:
        problem = (
            f"The folder holds a LoRA adapter ({', '.join(found)}) beside the model: "
            "Custom Model Import reads whole models and does not apply adapters."
        )
    else:
        problem = f"The folder holds only a LoRA adapter ({', '.join(found)}), not a whole model."
    report.add("adapter", problem, MERGE_FIX)


def _check_weights(folder: Path, report: FolderReport, config: dict[str, Any] | None) -> None:
    """Safetensors present, headers readable, dtypes allowed and consistent with config.json."""
    files = _weight_files(folder, report)
    _check_adapter(folder, report, has_weights=bool(files))
    if not files:
        if any(r.rule == "weights.index" for r in report.problems):
            return
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_WEIGHTS)
        pickles = [p for p in pickles if p not in ADAPTER_FILES]
        if pickles:
            report.add(
                "weights.pickle",
                f"The weights are in pickle format only ({', '.join(pickles)}); "
                "Custom Model Import reads .safetensors files.",
                SAFETENSORS_FIX,
            )
        elif not any(p.rule == "adapter" for p in report.problems):
            report.add(
                "weights.missing",
                "The folder has no weights (.safetensors files).",
                "Save the model with `model.save_pretrained(folder, safe_serialization=True)`.",
            )
        return
    by_dtype: Counter[str] = Counter()
    refused: dict[str, list[str]] = {}
    for path in files:
        report.weight_files.append(path.name)
        report.weight_bytes += path.stat().st_size
        try:
            tensors = read_safetensors_header(path)
        except ValueError as err:
            report.add(
                "weights.header",
                f"{err}.",
                "The file is damaged or not safetensors: copy it again, or save the model again.",
            )
            continue
        for tensor in tensors:
            report.parameters += tensor.numel
            by_dtype[tensor.dtype] += tensor.numel
            if tensor.dtype not in DTYPES:
                refused.setdefault(tensor.dtype, []).append(f"{path.name}:{tensor.name}")
    for dtype, where in sorted(refused.items()):
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        report.add(
            "weights.dtype",
            f"{len(where)} tensor(s) are {dtype} ({shown}); Custom Model Import takes "
            "fp32, fp16 or bf16 weights, not quantised ones.",
            "Save the full-precision model: load it with `dtype=torch.bfloat16` (or float16, "
            "float32), without a quantization config, and `save_pretrained` it.",
        )
    if by_dtype:
        main = by_dtype.most_common(1)[0][0]
        report.dtype = DTYPES.get(main, main)
    declared = None if config is None else config.get("dtype") or config.get("torch_dtype")
    report.config_dtype = declared if isinstance(declared, str) else None
    if (
        report.config_dtype
        and report.dtype in DTYPES.values()
        and (report.config_dtype != report.dtype)
    ):
        report.add(
            "config.dtype",
            f"config.json declares {report.config_dtype}, but the weights are {report.dtype}.",
            f"Make them agree: set config.json's dtype to {report.dtype}, or save the model "
            f"again after `model.to(torch.{report.config_dtype})`.",
        )


def _check_tokenizer(folder: Path, report: FolderReport) -> None:
    """A tokenizer config and a vocabulary file."""
    has_config = (folder / TOKENIZER_CONFIG).is_file()
    vocabularies = [name for name in TOKENIZER_VOCABULARIES if (folder / name).is_file()]
    if has_config and vocabularies:
        return
    missing = [TOKENIZER_CONFIG] if not has_config else []
    if not vocabularies:
        missing.append("a vocabulary (" + " or ".join(TOKENIZER_VOCABULARIES) + ")")
    report.add(
        "tokenizer.missing",
        f"The tokenizer is incomplete: missing {', '.join(missing)}.",
        "Save the tokenizer beside the model: `tokenizer.save_pretrained(folder)`.",
    )


def files_to_send(path: str | Path) -> list[Path]:
    """The files of a model folder an upload sends, by name; what the check counts too.

    Only the folder's own files: ``save_pretrained`` writes every file a model needs there,
    while subfolders hold what an import does not read (``.cache/`` of a Hub download,
    Meta's ``original/`` consolidated weights, trainers' ``checkpoint-*``). Hidden files
    (``.gitattributes``) and pickle weights (``.bin`` beside the safetensors) are left out
    too: Custom Model Import reads safetensors, and the pickles only double the upload.
    """
    folder = Path(path)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix not in PICKLE_WEIGHTS
    )


def check_folder(path: str | Path) -> FolderReport:
    """Check a local Hugging Face model folder against what Custom Model Import accepts.

    Nothing is loaded into memory but config files and safetensors headers, so a folder of
    any size is checked in moments. Call it before uploading the folder to Amazon S3.

    Args:
        path: The folder ``save_pretrained`` wrote.

    Returns:
        The report: facts about the folder and every problem found, each with its fix.
    """
    folder = Path(path)
    report = FolderReport(path=folder)
    if not folder.is_dir():
        report.add(
            "folder.missing",
            f"{folder} is not a folder.",
            "Give the folder `save_pretrained` wrote (it holds config.json).",
        )
        return report
    report.total_bytes = sum(p.stat().st_size for p in files_to_send(folder))
    config = _read_config(folder, report)
    if config is not None:
        _check_architecture(config, report)
    _check_weights(folder, report, config)
    _check_tokenizer(folder, report)
    return report
