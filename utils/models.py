"""What the workshop knows about each base model family: ids, Regions, lifecycle, customization
types, data schema, hyperparameter ranges and how a custom model can be served.

Bedrock is the authority: the preflight asks it (``GetFoundationModel``,
``ListFoundationModels``) and this registry explains what it answers, names a live
alternative and checks hyperparameters before any call is made. Every fact names its source;
:data:`CHECKED` is when they were last read. Ranges follow the Amazon Bedrock user guide's
hyperparameter pages.
"""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError
from utils.images import image_info

if TYPE_CHECKING:
    import pandas as pd

CHECKED = "2026-12-01"
"""When the facts below were last read against their sources. To check them again, open each
``source`` and compare; ``tests/contract/test_catalog_contract.py`` compares them with the
stand-in's."""

ACTIVE, LEGACY, EOL = "ACTIVE", "LEGACY", "EOL"

FINE_TUNING = "FINE_TUNING"
CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
DISTILLATION = "DISTILLATION"
REINFORCEMENT_FINE_TUNING = "REINFORCEMENT_FINE_TUNING"

TYPE_WORDS = {
    FINE_TUNING: "fine-tuning",
    CONTINUED_PRE_TRAINING: "continued pre-training",
    DISTILLATION: "distillation",
    REINFORCEMENT_FINE_TUNING: "reinforcement fine-tuning",
}
"""How the customization types read in prose (and in Service Quotas' quota names)."""

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
class Lifecycle:
    """Where a model stands: Active, Legacy since a day, or at end of life from a day.

    "Model lifecycle" (Amazon Bedrock user guide): new customers cannot use Legacy models,
    no new Provisioned Throughput can be created for them, and after the end-of-life date
    requests fail.
    """

    legacy: str | None = None
    end_of_life: str | None = None
    source: str = ""

    def status(self, day: str = CHECKED) -> str:
        """ACTIVE, LEGACY or EOL on ``day`` (ISO date)."""
        if self.end_of_life and day >= self.end_of_life:
            return EOL
        if self.legacy and day >= self.legacy:
            return LEGACY
        return ACTIVE


_FT_TABLE = (
    "'Supported models and Regions for fine-tuning and continued pre-training', Amazon Bedrock "
    "user guide (custom-model-supported.html), read 2026-12-01"
)
_ACTIVE = Lifecycle(source="model-lifecycle.html, Amazon Bedrock user guide, read 2026-12-01")


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
    life: Lifecycle = _ACTIVE
    aliases: tuple[str, ...] = field(default=())
    regions: tuple[str, ...] = ("us-east-1",)
    """Regions where Bedrock customizes it (fine-tuning table of the user guide)."""
    source: str = ""
    """Where the ids, Regions, data format, hyperparameters and serving come from."""
    profile: str | None = None
    """The inference profile to call the base model by on demand. Set where the bare id fails
    in some of the workshop's Regions: Nova 2 Lite (langchain-ai/langchain-aws#1019), Llama
    3.2 (#258), Llama 3.1 (by its bare id on demand in us-west-2 only, per the Region tables
    the inference-profiles-support page links; not confirmed on a current page)."""

    @property
    def lifecycle(self) -> str:
        """ACTIVE, LEGACY or EOL as of :data:`CHECKED`."""
        return self.life.status()

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

_READ = "read 2026-12-01"
_SRC_NOVA = (
    f"{_FT_TABLE}; hyperparameters: 'Amazon Nova Understanding model customization "
    f"hyperparameters' (cm-hp-nova-mm.html, {_READ}); on-demand deployment of custom Nova "
    "models: the user guide's on-demand deployment page (read 2026-11, not re-read)"
)
_SRC_TITAN = (
    f"{_FT_TABLE} (an earlier version of the page; the current one no longer lists Titan Text); "
    "hyperparameters: 'Amazon Titan text model customization hyperparameters' "
    "(cm-hp-titan-text.html, read 2026-11; re-read 2026-12-01 only for Titan Premier's rows); "
    "Titan takes no system prompt in Converse"
)
_SRC_LLAMA = (
    f"{_FT_TABLE}; hyperparameters: 'Meta Llama 3.1 model customization hyperparameters' "
    f"(cm-hp-meta-llama31.html, {_READ}; the 3.2 page has the same ranges); served by "
    "provisioned throughput only"
)
_SRC_HAIKU = (
    f"{_FT_TABLE}; hyperparameters: 'Anthropic Claude 3 model customization hyperparameters' "
    "(cm-hp-anth-claude-3.html, read 2026-11, not re-read: the model is past end of life); "
    "served by provisioned throughput only"
)

_HAIKU_EOL = Lifecycle(
    legacy=None,
    end_of_life="2026-09-10",
    source="'Claude 3 Haiku' model card, Amazon Bedrock user guide (read 2026-12-01): end of "
    "life on 2026-09-10 in most Regions (us-east-1 and us-west-2 among them); requests fail with "
    "ResourceNotFoundException. The Legacy start date is not on the card.",
)
_LLAMA32_EOL = Lifecycle(
    legacy=None,
    end_of_life="2026-07-07",
    source="Public tracker of the Bedrock lifecycle table, awslabs/startups#304 (2026-09-18): "
    "Llama 3.2, all sizes, EOL 2026-07-07; the table no longer lists models past EOL. Legacy "
    "start not found.",
)
_TITAN_EOL = Lifecycle(
    legacy="2025-02-11",
    end_of_life="2025-12-18",
    source="No dated AWS page found (the Titan Text rows left the lifecycle and fine-tuning "
    "tables). langchain4j/langchain4j#2532 (2025-02-11): Legacy with an end-of-life notice; "
    "weaviate/weaviate#10053 (2025-12-18) and newrelic/newrelic-dotnet-agent#3373 (2025-12-29) "
    "remove the end-of-life Titan Text Lite and Express. The EOL date is the earliest report "
    "(all read 2026-12-01).",
)
_NOVA2_SOURCE = (
    "Fine-tuning table (custom-model-supported.html, read 2026-12-01): "
    "amazon.nova-2-lite-v1:0:256k in us-east-1. No Nova 2 hyperparameter table was found: the "
    "Nova v1 ranges (cm-hp-nova-mm.html) are assumed. On demand it is called through an "
    "inference profile only (langchain-ai/langchain-aws#1019). Reinforcement fine-tuning: "
    "'Fine-tune Amazon Nova models with reinforcement fine-tuning' (rft-nova-models.html, read "
    "2026-12-02) offers Nova 2 Lite only, with at most 20K prompts; its table of models and "
    "Regions could not be read in full here, so us-east-1 rests on the AWS release note for "
    "the launch (Nova 2 Lite, single-Region us-east-1; the note misprints the id as "
    "amazon.nova-lite-v2:0:256k) and on rft-submit-job.html, whose console steps name Nova 2 "
    "Lite as the only base model (both read 2026-12-02)."
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
        "amazon.nova-pro-v1:0:300k", frozenset({FINE_TUNING, DISTILLATION}), CONVERSATION,
        _NOVA_HP, on_demand_deployment=True, input_modalities=("TEXT", "IMAGE"),
    ),
    ModelFamily(
        "nova-2-lite", "Amazon Nova 2 Lite", "Amazon", "amazon.nova-2-lite-v1:0",
        "amazon.nova-2-lite-v1:0:256k", frozenset({FINE_TUNING, REINFORCEMENT_FINE_TUNING}),
        CONVERSATION,
        _NOVA_HP, on_demand_deployment=True, input_modalities=("TEXT", "IMAGE"),
        profile="us.amazon.nova-2-lite-v1:0",
        life=Lifecycle(source=_NOVA2_SOURCE), source=_NOVA2_SOURCE,
    ),
    ModelFamily(
        "claude-3-haiku", "Anthropic Claude 3 Haiku", "Anthropic",
        "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0:200k",
        frozenset({FINE_TUNING}), CLAUDE_MESSAGES, _HAIKU_HP, invoke_format=ANTHROPIC_MESSAGES,
        regions=("us-west-2",), life=_HAIKU_EOL,
    ),
    ModelFamily(
        "llama-3-1-8b", "Meta Llama 3.1 8B Instruct", "Meta", "meta.llama3-1-8b-instruct-v1:0",
        "meta.llama3-1-8b-instruct-v1:0:128k", frozenset({FINE_TUNING}), PROMPT_COMPLETION,
        _LLAMA_HP, invoke_format=LLAMA_PROMPT, regions=("us-west-2",),
        profile="us.meta.llama3-1-8b-instruct-v1:0",
    ),
    ModelFamily(
        "llama-3-1-70b", "Meta Llama 3.1 70B Instruct", "Meta", "meta.llama3-1-70b-instruct-v1:0",
        "meta.llama3-1-70b-instruct-v1:0:128k", frozenset({FINE_TUNING}), PROMPT_COMPLETION,
        _LLAMA_HP, invoke_format=LLAMA_PROMPT, regions=("us-west-2",),
        profile="us.meta.llama3-1-70b-instruct-v1:0",
    ),
    ModelFamily(
        "llama-3-2-1b", "Meta Llama 3.2 1B Instruct", "Meta", "meta.llama3-2-1b-instruct-v1:0",
        "meta.llama3-2-1b-instruct-v1:0:128k", frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP,
        invoke_format=LLAMA_PROMPT, regions=("us-west-2",), life=_LLAMA32_EOL,
        profile="us.meta.llama3-2-1b-instruct-v1:0",
    ),
    ModelFamily(
        "llama-3-2-3b", "Meta Llama 3.2 3B Instruct", "Meta", "meta.llama3-2-3b-instruct-v1:0",
        "meta.llama3-2-3b-instruct-v1:0:128k", frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP,
        invoke_format=LLAMA_PROMPT, regions=("us-west-2",), life=_LLAMA32_EOL,
        profile="us.meta.llama3-2-3b-instruct-v1:0",
    ),
    ModelFamily(
        "llama-3-2-11b", "Meta Llama 3.2 11B Vision Instruct", "Meta",
        "meta.llama3-2-11b-instruct-v1:0", "meta.llama3-2-11b-instruct-v1:0:128k",
        frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP, input_modalities=("TEXT", "IMAGE"),
        invoke_format=LLAMA_PROMPT, regions=("us-west-2",), life=_LLAMA32_EOL,
        profile="us.meta.llama3-2-11b-instruct-v1:0",
    ),
    ModelFamily(
        "llama-3-2-90b", "Meta Llama 3.2 90B Vision Instruct", "Meta",
        "meta.llama3-2-90b-instruct-v1:0", "meta.llama3-2-90b-instruct-v1:0:128k",
        frozenset({FINE_TUNING}), CONVERSATION, _LLAMA_HP, input_modalities=("TEXT", "IMAGE"),
        invoke_format=LLAMA_PROMPT, regions=("us-west-2",), life=_LLAMA32_EOL,
        profile="us.meta.llama3-2-90b-instruct-v1:0",
    ),
    ModelFamily(
        "titan-text-lite", "Amazon Titan Text G1 - Lite", "Amazon", "amazon.titan-text-lite-v1",
        "amazon.titan-text-lite-v1:0:4k", frozenset({FINE_TUNING, CONTINUED_PRE_TRAINING}),
        PROMPT_COMPLETION, _TITAN_HP, life=_TITAN_EOL, invoke_format=TITAN_TEXT,
        converse_system=False, regions=("us-east-1", "us-west-2"),
    ),
    ModelFamily(
        "titan-text-express", "Amazon Titan Text G1 - Express", "Amazon",
        "amazon.titan-text-express-v1", "amazon.titan-text-express-v1:0:8k",
        frozenset({FINE_TUNING, CONTINUED_PRE_TRAINING}), PROMPT_COMPLETION, _TITAN_HP,
        life=_TITAN_EOL, invoke_format=TITAN_TEXT, converse_system=False,
        regions=("us-east-1", "us-west-2"),
    ),
)  # fmt: skip


_SOURCES = {
    "nova": _SRC_NOVA,
    "titan": _SRC_TITAN,
    "llama": _SRC_LLAMA,
    "claude": _SRC_HAIKU,
}
FAMILIES = tuple(
    replace(fam, source=fam.source or _SOURCES[fam.key.split("-")[0]]) for fam in FAMILIES
)

DISTILLATION_TEACHERS: dict[str, tuple[str, ...]] = {
    "amazon.nova-pro-v1:0": ("amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"),
    "amazon.nova-premier-v1:0": (
        "amazon.nova-pro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-micro-v1:0",
    ),
}
"""Teacher model id to the student base models Bedrock pairs it with, among the workshop's
families ("Customizing Amazon Nova models" of the Nova user guide, read 2026-12-01: Micro and
Lite are students, Pro is a teacher and a student, Premier a teacher; the Bedrock table also
pairs Anthropic and Meta teachers with students the workshop does not use)."""

TEACHER_LIFECYCLE: dict[str, Lifecycle] = {
    "amazon.nova-pro-v1:0": _ACTIVE,
    "amazon.nova-premier-v1:0": Lifecycle(
        legacy="2026-03-13",
        end_of_life="2026-09-14",
        source="'Amazon Nova Premier' model card, Amazon Bedrock user guide (read 2026-12-01): "
        "EOL date 2026-09-14 (the same card also says 'EOL no sooner than 2026-10-31'; the "
        "earlier date is taken).",
    ),
}
"""Lifecycle of the teachers that are not customizable families themselves."""


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
    life = TEACHER_LIFECYCLE.get(teacher_id, _ACTIVE)
    if life.status() == EOL:
        raise WorkshopError(
            f"The teacher {teacher_id} reached end of life on {life.end_of_life}; Bedrock "
            "refuses calls to it.",
            "Use amazon.nova-pro-v1:0 as the teacher.",
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


def check_hyperparameters(
    model_id: str, values: dict[str, object], customization_type: str = FINE_TUNING
) -> dict[str, str]:
    """Check names and ranges; return the full set (defaults filled in) as Bedrock strings.

    DISTILLATION takes none: the user guide's hyperparameter pages have no table for it and
    AWS's distillation samples (aws-samples/amazon-bedrock-samples, read 2026-12-01) send
    none, so any value is refused rather than guessed.
    """
    fam = family(model_id)
    if customization_type == REINFORCEMENT_FINE_TUNING:
        raise WorkshopError(
            "Reinforcement fine-tuning takes its hyperparameters as numbers inside "
            "customizationConfig.rftConfig, not as strings in hyperParameters.",
            "Check them with utils.models.check_rft_hyperparameters instead.",
        )
    if customization_type == DISTILLATION:
        if values:
            raise WorkshopError(
                f"Bedrock takes no hyperparameters for distillation, not {sorted(values)}.",
                "Leave them out: Bedrock chooses how the student is trained.",
            )
        return {}
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
            # arg-type: raw may be anything; what float() refuses is reported below.
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


RFT_SOURCE = (
    "'RFTHyperParameters', Amazon Bedrock API reference (API_RFTHyperParameters.html, read "
    "2026-12-02), and botocore 1.44.5's service model (shape RFTHyperParameters), which agree. "
    "Neither documents a default, so none is filled in: what is left out, Bedrock chooses."
)
"""Where the reinforcement fine-tuning ranges come from."""


@dataclass(frozen=True)
class RftHyperParameter:
    """One reinforcement fine-tuning hyperparameter; Bedrock takes it as a number (or a word).

    ``minimum``/``maximum`` are inclusive; None means the sources give no bound. ``choices``
    is set for the one that takes a word (``reasoningEffort``).
    """

    name: str
    minimum: float | None
    maximum: float | None
    integer: bool = True
    choices: tuple[str, ...] = ()
    note: str = ""

    def allowed(self) -> str:
        """The allowed values, as a phrase for messages."""
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = "a whole number" if self.integer else "a number"
        if self.maximum is None:
            return f"{kind} of at least {self.minimum:g}"
        return f"{kind} from {self.minimum:g} to {self.maximum:g}"


# maxPromptLength and inferenceMaxTokens have no range in either source. They count tokens,
# so the workshop refuses anything below 1 rather than send a length Bedrock cannot use.
_NO_RANGE = "no range documented; the workshop only requires at least 1 (a token count)"
RFT_HYPERPARAMETERS: tuple[RftHyperParameter, ...] = (
    RftHyperParameter("epochCount", 1, 50),
    RftHyperParameter("batchSize", 16, 512),
    RftHyperParameter("learningRate", 1e-7, 1e-3, integer=False),
    RftHyperParameter("maxPromptLength", 1, None, note=_NO_RANGE),
    RftHyperParameter("trainingSamplePerPrompt", 2, 16),
    RftHyperParameter("inferenceMaxTokens", 1, None, note=_NO_RANGE),
    RftHyperParameter(
        "reasoningEffort", None, None, integer=False, choices=("low", "medium", "high")
    ),
    RftHyperParameter("evalInterval", 1, 100),
)
"""Bedrock's reinforcement fine-tuning hyperparameters (:data:`RFT_SOURCE`). The SageMaker AI
Nova RFT recipe page documents no ``medium`` reasoning effort; the Bedrock API accepts it."""


def rft_families() -> list[ModelFamily]:
    """The base models Bedrock offers reinforcement fine-tuning for, in registry order."""
    return live_families(REINFORCEMENT_FINE_TUNING)


def check_rft_hyperparameters(model_id: str, values: dict[str, object]) -> dict[str, Any]:
    """Check reinforcement fine-tuning hyperparameters; return them typed as Bedrock takes them.

    Unlike the other customization types, ``rftConfig.hyperParameters`` holds numbers (and
    a word for ``reasoningEffort``), so ``"3"`` becomes ``3``. Only the given names are
    returned: no default is documented, so none is invented.

    Raises:
        WorkshopError: The model has no reinforcement fine-tuning, a name is unknown, or a
            value is of the wrong type or out of range; the message names the parameter,
            the allowed values and the source.
    """
    fam = family(model_id)
    if REINFORCEMENT_FINE_TUNING not in fam.customizations:
        raise WorkshopError(
            f"Bedrock offers no reinforcement fine-tuning for {fam.name}.",
            alternatives(REINFORCEMENT_FINE_TUNING),
        )
    known = {h.name: h for h in RFT_HYPERPARAMETERS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise WorkshopError(
            f"Reinforcement fine-tuning has no hyperparameter {', '.join(unknown)}.",
            f"Use only: {', '.join(known)} (source: {RFT_SOURCE}).",
        )
    return {name: _rft_value(known[name], raw) for name, raw in values.items()}


def _rft_value(spec: RftHyperParameter, raw: object) -> int | float | str:
    def refuse(why: str) -> WorkshopError:
        return WorkshopError(
            f"Reinforcement fine-tuning hyperparameter {spec.name}={raw!r} {why}.",
            f"Give {spec.allowed()}"
            + (f" ({spec.note})" if spec.note else "")
            + f". Source: {RFT_SOURCE}",
        )

    if spec.choices:
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word not in spec.choices:
            raise refuse("is not allowed")
        return word
    if isinstance(raw, bool):  # True is an int in Python, never a hyperparameter here
        raise refuse("is not a number")
    try:
        # arg-type: raw may be anything; what float() refuses is reported just below.
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise refuse("is not a number") from None
    if not math.isfinite(number):
        raise refuse("is not a finite number")
    if spec.integer and not number.is_integer():
        raise refuse("must be a whole number")
    low = -math.inf if spec.minimum is None else spec.minimum
    high = math.inf if spec.maximum is None else spec.maximum
    if not low <= number <= high:
        raise refuse("is out of range")
    return int(number) if spec.integer else number


def rft_hyperparameter_table() -> pd.DataFrame:
    """Reinforcement fine-tuning's hyperparameters and their allowed values, for display."""
    import pandas as pd

    return pd.DataFrame(
        [
            {"name": h.name, "allowed": h.allowed(), "note": h.note or ""}
            for h in RFT_HYPERPARAMETERS
        ]
    ).set_index("name")


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


def live_families(customization_type: str, day: str = CHECKED) -> list[ModelFamily]:
    """Families Bedrock still customizes this way (Active on ``day``), in registry order."""
    return [
        fam
        for fam in FAMILIES
        if customization_type in fam.customizations and fam.life.status(day) == ACTIVE
    ]


def alternatives(customization_type: str, day: str = CHECKED) -> str:
    """A sentence naming the live families for ``customization_type`` and their Regions."""
    live = live_families(customization_type, day)
    if not live:
        return (
            f"Bedrock offers no live base model for {customization_type} any more. What "
            "remains: adapt an open-weight model yourself and bring it into Bedrock with "
            "Custom Model Import (create_model_import_job), or fine-tune a live model."
        )
    return (
        "Use one of: "
        + "; ".join(f"{fam.model_id} ({', '.join(fam.regions)})" for fam in live)
        + "."
    )
