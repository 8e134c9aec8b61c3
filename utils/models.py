"""What the workshop knows about each base model family: ids, customization types, data schema,
hyperparameter ranges and how a custom model can be served.

In aws mode, ``list_foundation_models(byCustomizationType=...)`` is the truth for a region;
this registry explains the families and checks hyperparameters before any call is made.
Ranges follow the Amazon Bedrock user guide's hyperparameter pages (checked 2026-11).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd

FINE_TUNING = "FINE_TUNING"
CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
DISTILLATION = "DISTILLATION"

CONVERSATION = "bedrock-conversation-2024"
PROMPT_COMPLETION = "prompt-completion"
CLAUDE_MESSAGES = "claude-messages"
CPT_INPUT = "input"

# ``invoke_model`` body formats; ``converse`` hides these differences, invoke_model does not.
NOVA_MESSAGES = "nova-messages-v1"
ANTHROPIC_MESSAGES = "anthropic-messages"
LLAMA_PROMPT = "llama-prompt"
TITAN_TEXT = "titan-text"


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter: its default and inclusive range; Bedrock takes the value as a string."""

    name: str
    default: float
    minimum: float
    maximum: float
    integer: bool = False

    def format(self, value: float) -> str:
        """The string Bedrock expects for ``value``."""
        return str(int(value)) if self.integer else repr(float(value))


@dataclass(frozen=True)
class ModelFamily:
    """A base model that Bedrock can customize."""

    key: str
    name: str
    provider: str
    model_id: str
    customization_id: str
    customizations: frozenset[str]
    data_format: str
    hyperparameters: tuple[HyperParameter, ...]
    converse: bool = True
    invoke_format: str = NOVA_MESSAGES
    converse_system: bool = True
    on_demand_deployment: bool = False
    input_modalities: tuple[str, ...] = ("TEXT",)
    lifecycle: str = "ACTIVE"
    aliases: tuple[str, ...] = field(default=())

    def defaults(self) -> dict[str, str]:
        """Default hyperparameters as Bedrock strings."""
        return {h.name: h.format(h.default) for h in self.hyperparameters}

    @property
    def uses_system_prompt(self) -> bool:
        """Whether its training records carry a system prompt (so prompts at inference should)."""
        return self.data_format in (CONVERSATION, CLAUDE_MESSAGES)


def _hp(name: str, default: float, lo: float, hi: float, integer: bool = False) -> HyperParameter:
    return HyperParameter(name, default, lo, hi, integer)


_NOVA_HP = (
    _hp("epochCount", 2, 1, 5, True),
    _hp("learningRate", 1e-5, 1e-6, 1e-4),
    _hp("learningRateWarmupSteps", 10, 0, 100, True),
)
_TITAN_HP = (
    _hp("epochCount", 5, 1, 10, True),
    _hp("batchSize", 1, 1, 64, True),
    _hp("learningRate", 1e-5, 0.0, 1.0),
    _hp("learningRateWarmupSteps", 5, 0, 250, True),
)
_LLAMA_HP = (
    _hp("epochCount", 5, 1, 10, True),
    _hp("batchSize", 1, 1, 1, True),
    _hp("learningRate", 1e-4, 5e-6, 0.1),
)
_HAIKU_HP = (
    _hp("epochCount", 2, 1, 10, True),
    _hp("batchSize", 32, 4, 256, True),
    _hp("learningRateMultiplier", 1, 0.1, 2),
    _hp("earlyStoppingThreshold", 0.001, 0, 0.1),
    _hp("earlyStoppingPatience", 2, 1, 10, True),
)

FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily(
        "nova-micro", "Amazon Nova Micro", "Amazon", "amazon.nova-micro-v1:0",
        "amazon.nova-micro-v1:0:128k", frozenset({FINE_TUNING, DISTILLATION}), CONVERSATION,
        _NOVA_HP, on_demand_deployment=True,
    ),
    ModelFamily(
        "nova-lite", "Amazon Nova Lite", "Amazon", "amazon.nova-lite-v1:0",
        "amazon.nova-lite-v1:0:300k", frozenset({FINE_TUNING, DISTILLATION}), CONVERSATION,
        _NOVA_HP, on_demand_deployment=True, input_modalities=("TEXT", "IMAGE"),
    ),
    ModelFamily(
        "nova-pro", "Amazon Nova Pro", "Amazon", "amazon.nova-pro-v1:0",
        "amazon.nova-pro-v1:0:300k", frozenset({FINE_TUNING}), CONVERSATION,
        _NOVA_HP, on_demand_deployment=True, input_modalities=("TEXT", "IMAGE"),
    ),
    ModelFamily(
        "claude-3-haiku", "Anthropic Claude 3 Haiku", "Anthropic",
        "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0:200k",
        frozenset({FINE_TUNING}), CLAUDE_MESSAGES, _HAIKU_HP, invoke_format=ANTHROPIC_MESSAGES,
    ),
    ModelFamily(
        "llama-3-1-8b", "Meta Llama 3.1 8B Instruct", "Meta", "meta.llama3-1-8b-instruct-v1:0",
        "meta.llama3-1-8b-instruct-v1:0:128k", frozenset({FINE_TUNING}), PROMPT_COMPLETION,
        _LLAMA_HP, invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "llama-3-1-70b", "Meta Llama 3.1 70B Instruct", "Meta", "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0:128k", frozenset({FINE_TUNING}), PROMPT_COMPLETION,
        _LLAMA_HP, invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "llama-3-2-1b", "Meta Llama 3.2 1B Instruct", "Meta", "meta.llama3-2-1b-instruct-v1:0",
        "meta.llama3-2-1b-instruct-v1:0:128k", frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP,
        invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "llama-3-2-3b", "Meta Llama 3.2 3B Instruct", "Meta", "meta.llama3-2-3b-instruct-v1:0",
        "meta.llama3-2-3b-instruct-v1:0:128k", frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP,
        invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "llama-3-2-11b", "Meta Llama 3.2 11B Vision Instruct", "Meta",
        "meta.llama3-2-11b-instruct-v1:0", "meta.llama3-2-11b-instruct-v1:0:128k",
        frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP, input_modalities=("TEXT", "IMAGE"),
        invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "llama-3-2-90b", "Meta Llama 3.2 90B Vision Instruct", "Meta",
        "meta.llama3-2-90b-instruct-v1:0", "meta.llama3-2-90b-instruct-v1:0:128k",
        frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP, input_modalities=("TEXT", "IMAGE"),
        invoke_format=LLAMA_PROMPT,
    ),
    ModelFamily(
        "titan-text-lite", "Amazon Titan Text G1 - Lite", "Amazon", "amazon.titan-text-lite-v1",
        "amazon.titan-text-lite-v1:0:4k", frozenset({FINE_TUNING, CONTINUED_PRE_TRAINING}),
        PROMPT_COMPLETION, _TITAN_HP, lifecycle="LEGACY", invoke_format=TITAN_TEXT,
        converse_system=False,
    ),
    ModelFamily(
        "titan-text-express", "Amazon Titan Text G1 - Express", "Amazon",
        "amazon.titan-text-express-v1", "amazon.titan-text-express-v1:0:8k",
        frozenset({FINE_TUNING, CONTINUED_PRE_TRAINING}), PROMPT_COMPLETION, _TITAN_HP,
        lifecycle="LEGACY", invoke_format=TITAN_TEXT, converse_system=False,
    ),
)  # fmt: skip


DISTILLATION_TEACHERS: dict[str, tuple[str, ...]] = {
    "amazon.nova-pro-v1:0": ("amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"),
}
"""Teacher model id to the student base models Bedrock pairs it with, among the workshop's
families (the user guide's distillation table, checked 2026-11; it also pairs Nova Premier,
Anthropic and Meta teachers with students the workshop does not use)."""


def check_distillation_pair(teacher: str, student: str) -> None:
    """Refuse a teacher and student Bedrock does not distil between, naming the pairs it does."""
    teacher_id = _strip(teacher)
    student_fam = family(student)
    students = DISTILLATION_TEACHERS.get(teacher_id)
    pairs = "; ".join(f"{t} teaches {', '.join(s)}" for t, s in DISTILLATION_TEACHERS.items())
    if students is None:
        raise WorkshopError(
            f"{teacher} is not a distillation teacher the workshop knows.", f"Use one: {pairs}."
        )
    if student_fam.model_id not in students:
        raise WorkshopError(
            f"Bedrock does not distil {teacher_id} into {student_fam.name}.",
            f"Pick a supported pair: {pairs}.",
        )


def _strip(model_id: str) -> str:
    """Drop an ARN prefix and a cross-region inference prefix such as ``us.``."""
    if model_id.startswith("arn:"):
        model_id = model_id.split("/", 1)[-1]
    head, _, rest = model_id.partition(".")
    if head in ("us", "eu", "apac", "global", "jp", "au", "ca") and rest:
        model_id = rest
    return model_id


def find(model_id: str) -> ModelFamily | None:
    """The family of a model id, customization id, ARN or family key, or None."""
    wanted = _strip(model_id)
    for fam in FAMILIES:
        if wanted in (fam.key, fam.model_id, fam.customization_id, *fam.aliases):
            return fam
    return None


def family(model_id: str) -> ModelFamily:
    """The family of ``model_id``, or a WorkshopError listing the known ones."""
    fam = find(model_id)
    if fam is None:
        known = ", ".join(f.model_id for f in FAMILIES)
        raise WorkshopError(
            f"Unknown base model {model_id!r}.", f"Use one of the workshop's models: {known}."
        )
    return fam


def check_hyperparameters(model_id: str, values: dict[str, object]) -> dict[str, str]:
    """Check names and ranges; return the full set (defaults filled in) as Bedrock strings."""
    fam = family(model_id)
    known = {h.name: h for h in fam.hyperparameters}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise WorkshopError(
            f"{fam.name} has no hyperparameter {', '.join(unknown)}.",
            f"Use only: {', '.join(known)}.",
        )
    out = fam.defaults()
    for name, raw in values.items():
        hp = known[name]
        try:
            number = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise WorkshopError(
                f"Hyperparameter {name}={raw!r} is not a number.",
                f"Give a number between {hp.minimum:g} and {hp.maximum:g}.",
            ) from None
        if hp.integer and number != int(number):
            raise WorkshopError(f"Hyperparameter {name}={raw!r} must be a whole number.")
        if not hp.minimum <= number <= hp.maximum:
            raise WorkshopError(
                f"Hyperparameter {name}={raw!r} is out of range for {fam.name}.",
                f"Allowed: {hp.minimum:g} to {hp.maximum:g} (default {hp.default:g}).",
            )
        out[name] = hp.format(number)
    return out


def hyperparameter_table(model_id: str) -> pd.DataFrame:
    """The family's hyperparameters: default and allowed range, for display."""
    import pandas as pd

    fam = family(model_id)
    return pd.DataFrame(
        [
            {"name": h.name, "default": h.default, "minimum": h.minimum, "maximum": h.maximum}
            for h in fam.hyperparameters
        ]
    ).set_index("name")


def llama_prompt(prompt: str, system: str | None = None) -> str:
    """A prompt in Llama 3's chat template, as ``invoke_model`` expects it."""
    parts = ["<|begin_of_text|>"]
    if system:
        parts.append(f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>")
    parts.append(f"<|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>")
    parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


LLAMA_IMAGE_TOKEN = "<|image|>"
"""Where an image goes in a Llama 3.2 Vision prompt; the images travel in ``images``."""


def invoke_request(
    model_id: str,
    prompt: str,
    *,
    system: str | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
    images: Sequence[bytes] = (),
) -> dict[str, Any]:
    """The ``invoke_model`` body for one user turn, in the format of the model's family.

    ``images`` (encoded PNG, JPEG, GIF or WebP) go before the text, base64-encoded as
    ``invoke_model`` bodies carry them: image blocks for Nova, ``images`` with an image
    token in the prompt for Llama 3.2 Vision.

    Raises:
        WorkshopError: for a system prompt the family cannot take (Titan Text), or images
            for a model that reads text only.
    """
    fam = family(model_id)
    if images and "IMAGE" not in fam.input_modalities:
        raise WorkshopError(
            f"{fam.name} reads text only; it cannot take images.",
            "Use a model that reads images, such as Amazon Nova Lite or Meta Llama 3.2 "
            "11B Vision Instruct, or send text only.",
        )
    encoded = [base64.b64encode(image).decode("ascii") for image in images]
    if fam.invoke_format == NOVA_MESSAGES:
        blocks: list[dict[str, Any]] = [
            {"image": {"format": _image_format(image), "source": {"bytes": data}}}
            for image, data in zip(images, encoded, strict=True)
        ]
        body: dict[str, Any] = {
            "schemaVersion": "messages-v1",
            "messages": [{"role": "user", "content": [*blocks, {"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
        }
        if system:
            body["system"] = [{"text": system}]
        return body
    if fam.invoke_format == ANTHROPIC_MESSAGES:
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
        if system:
            body["system"] = system
        return body
    if fam.invoke_format == LLAMA_PROMPT:
        llama: dict[str, Any] = {
            "prompt": llama_prompt(LLAMA_IMAGE_TOKEN * len(images) + prompt, system),
            "max_gen_len": max_tokens,
            "temperature": temperature,
        }
        if encoded:
            llama["images"] = encoded
        return llama
    if system:
        raise WorkshopError(
            f"{fam.name} takes no system prompt.",
            "Put the instruction at the start of the prompt instead.",
        )
    return {
        "inputText": prompt,
        "textGenerationConfig": {"maxTokenCount": max_tokens, "temperature": temperature},
    }


def shorten_images(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of an ``invoke_model`` body with each base64 image replaced by its length, to show."""

    def short(data: str) -> str:
        return f"<{len(data):,} characters of base64>"

    out = copy.deepcopy(body)
    if "images" in out:
        out["images"] = [short(data) for data in out["images"]]
    for message in out.get("messages", []):
        for block in message.get("content", []) if isinstance(message, dict) else []:
            source = (block.get("image") or {}).get("source") if isinstance(block, dict) else None
            if source and "bytes" in source:
                source["bytes"] = short(source["bytes"])
    return out


def _image_format(data: bytes) -> str:
    """Bedrock's name of an encoded image's format, from its first bytes."""
    from utils.validation import image_info

    found = image_info(data)
    if found is None:
        raise WorkshopError(
            "An image is not PNG, JPEG, GIF or WebP.", "Send the encoded file's bytes."
        )
    return found.format


def content_text(content: Any) -> str:
    """The text of a message's content: a plain string, or the text blocks of a block list."""
    if isinstance(content, str):
        return content
    return "\n".join(c["text"] for c in content or [] if isinstance(c, dict) and "text" in c)


def invoke_text(model_id: str, body: dict[str, Any]) -> str:
    """The generated text in an ``invoke_model`` response body of the model's family."""
    fmt = family(model_id).invoke_format
    if fmt == NOVA_MESSAGES:
        return "".join(c.get("text", "") for c in body["output"]["message"]["content"])
    if fmt == ANTHROPIC_MESSAGES:
        return "".join(c.get("text", "") for c in body["content"] if c.get("type") == "text")
    if fmt == LLAMA_PROMPT:
        return str(body["generation"])
    return str(body["results"][0]["outputText"])


_INVOKE_SHAPES = {
    NOVA_MESSAGES: (
        "schemaVersion, system[{text}], messages[{role, content[{text}]}], inferenceConfig",
        "output.message.content[].text, stopReason, usage",
    ),
    ANTHROPIC_MESSAGES: (
        "anthropic_version, max_tokens, system, messages[{role, content[{type, text}]}]",
        "content[].text, stop_reason, usage",
    ),
    LLAMA_PROMPT: (
        "prompt (Llama 3 chat template), max_gen_len, temperature",
        "generation, prompt_token_count, generation_token_count, stop_reason",
    ),
    TITAN_TEXT: (
        "inputText, textGenerationConfig{maxTokenCount, temperature}",
        "results[].outputText, inputTextTokenCount",
    ),
}


def invocation_table() -> pd.DataFrame:
    """How to call each family: converse support and the invoke_model request/response fields."""
    import pandas as pd

    rows = []
    for fam in FAMILIES:
        request, response = _INVOKE_SHAPES[fam.invoke_format]
        rows.append(
            {
                "family": fam.name,
                "converse": "yes" if fam.converse_system else "yes, without system prompt",
                "invoke_model request": request,
                "invoke_model response": response,
                "serving": "on demand or provisioned"
                if fam.on_demand_deployment
                else "provisioned throughput",
            }
        )
    return pd.DataFrame(rows).set_index("family")
