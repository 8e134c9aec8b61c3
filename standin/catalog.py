"""The stand-in's own catalog of Amazon Bedrock facts as of December 2026, each with its source.

Every fact here was read from AWS documentation, botocore's service model or a public issue
and carries a :class:`Source` naming where it was read and when (:data:`CHECKED`). Where the
sources disagree, or none was found, the ``note`` of the source says so and which reading the
catalog follows; unless a note says otherwise that is the conservative one, under which the
stand-in refuses rather than accepts.

The catalog imports nothing from the workshop (``utils``); it is the stand-in's independent
statement of the facts. Use :func:`find` to resolve any identifier a client may send (model
id, customization id, foundation-model ARN, inference-profile id or ARN) to its model, and
:func:`check_hyperparameters` to validate a customization job's ``hyperParameters``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ACTIVE, LEGACY, EOL = "ACTIVE", "LEGACY", "EOL"
FINE_TUNING = "FINE_TUNING"
CONTINUED_PRE_TRAINING = "CONTINUED_PRE_TRAINING"
DISTILLATION = "DISTILLATION"
REINFORCEMENT_FINE_TUNING = "REINFORCEMENT_FINE_TUNING"
ON_DEMAND, INFERENCE_PROFILE, PROVISIONED = "ON_DEMAND", "INFERENCE_PROFILE", "PROVISIONED"
ON_DEMAND_DEPLOYMENT = "ON_DEMAND_DEPLOYMENT"

CHECKED = "2026-12-01"
"""When the facts in this module were last read."""

REGIONS = ("us-east-1", "us-west-2")
"""The Regions this catalog models (inference profiles may route to others, such as us-east-2)."""

# Training-data formats, by the names the workshop uses.
BEDROCK_CONVERSATION = "bedrock-conversation-2024"
PROMPT_COMPLETION = "prompt-completion"
CLAUDE_MESSAGES = "claude-messages"
CPT_INPUT = "cpt-input"
RFT_CHAT = "openai-chat-reference-answer"

# Request-body families for InvokeModel.
NOVA_MESSAGES = "nova-messages-v1"
ANTHROPIC_MESSAGES = "anthropic-messages"
LLAMA_PROMPT = "llama-prompt"
TITAN_TEXT = "titan-text"

# Service Quotas codes for Bedrock's no-commitment Provisioned Throughput model units.
CUSTOM_MODEL_UNITS = "L-BE77399C"
BASE_MODEL_UNITS = "L-FE44174A"


@dataclass(frozen=True)
class Source:
    """Where a fact was read, when, and anything a reader should know about it."""

    page: str
    read: str
    note: str = ""


class CatalogError(ValueError):
    """A request the catalog refuses; the message is worded like a Bedrock ValidationException."""


_DOCS = "https://docs.aws.amazon.com/bedrock/latest/userguide/"
_API = "https://docs.aws.amazon.com/bedrock/latest/APIReference/"
_NOVA = "https://docs.aws.amazon.com/nova/latest/userguide/"
_NOVA2 = "https://docs.aws.amazon.com/nova/latest/nova2-userguide/"
_BOTOCORE = "botocore service model 'bedrock' 2023-04-20 (botocore 1.44.5 in this venv)"


def _src(page: str, note: str = "") -> Source:
    return Source(page, CHECKED, note)


# ---------------------------------------------------------------- hyperparameters


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter Bedrock accepts for a model family and customization type.

    ``minimum`` and ``maximum`` are inclusive; ``None`` means no bound is documented.
    ``default`` is ``None`` where Bedrock documents none (then nothing is filled in).
    ``choices`` lists the allowed strings of an enumerated hyperparameter.
    """

    name: str
    default: float | str | None
    minimum: float | None
    maximum: float | None
    integer: bool
    source: Source
    choices: tuple[str, ...] = ()

    def parse(self, value: object) -> int | float | str:
        """The value as a number (or choice) if it is valid; raises :class:`CatalogError`."""
        if self.choices:
            if isinstance(value, str) and value in self.choices:
                return value
            raise CatalogError(
                f"The value {value!r} for hyperparameter {self.name} is not valid. "
                f"Valid values are: {', '.join(self.choices)}."
            )
        # bool is an int subclass, but True is never a sensible epoch count.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise CatalogError(
                f"The value {value!r} for hyperparameter {self.name} must be a number."
            )
        number: int | float
        if self.integer:
            # Only whole-number spellings: Bedrock parses these strings as integers, so
            # "2.0" or 2.5 would not be accepted there either.
            if isinstance(value, int):
                number = value
            elif isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
                number = int(value)
            else:
                raise CatalogError(
                    f"The value {value!r} for hyperparameter {self.name} must be an integer."
                )
        else:
            try:
                number = float(value)
            except ValueError:
                raise CatalogError(
                    f"The value {value!r} for hyperparameter {self.name} must be a number."
                ) from None
            if not math.isfinite(number):
                raise CatalogError(
                    f"The value {value!r} for hyperparameter {self.name} must be a number."
                )
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        if not low <= number <= high:
            raise CatalogError(
                f"The value {value!r} for hyperparameter {self.name} is out of range. "
                f"Valid range is [{_plain(self.minimum)}, {_plain(self.maximum)}]."
            )
        return number

    def format(self, value: object) -> str:
        """The string Bedrock expects for ``value`` (``"2"``, ``"1e-05"``)."""
        parsed = self.parse(value)
        if isinstance(parsed, str):
            return parsed
        if self.integer:
            return str(int(parsed))
        return repr(float(parsed))


def _plain(bound: float | None) -> str:
    if bound is None:
        return "unbounded"
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def _hp(
    name: str,
    default: float | str | None,
    low: float | None,
    high: float | None,
    integer: bool,
    source: Source,
    choices: Iterable[str] = (),
) -> HyperParameter:
    return HyperParameter(name, default, low, high, integer, source, tuple(choices))


_NOVA_HP = _src(_DOCS + "cm-hp-nova-mm.html")
_NOVA2_HP = _src(
    _DOCS + "cm-hp-nova-mm.html",
    "No Bedrock page with Nova 2 Lite supervised fine-tuning ranges was found; the Nova "
    "understanding table names only Nova Micro, Lite and Pro (v1). The stand-in applies the "
    "v1 ranges to Nova 2 Lite.",
)
_TITAN_HP = _src(
    _DOCS + "cm-hp-titan-text.html",
    "One table covers Titan Text Lite and Express; the page does not separate fine-tuning "
    "from continued pre-training, so both types use it.",
)
_LLAMA31_HP = _src(
    _DOCS + "cm-hp-meta-llama31.html", "The page says the epochCount quota is adjustable."
)
_LLAMA32_HP = _src(_DOCS + "cm-hp-meta-llama32.html")
_CLAUDE_HP = _src(_DOCS + "cm-hp-anth-claude-3.html")
_RFT_HP = _src(
    _API + "API_RFTHyperParameters.html",
    f"Ranges agree with {_BOTOCORE} (RFTHyperParameters). Neither documents defaults, so none "
    "are filled in. maxPromptLength and inferenceMaxTokens have no documented bounds; the "
    "stand-in only requires at least 1. These go in customizationConfig.rftConfig as numbers, "
    "not in hyperParameters.",
)
_DISTILLATION_HP = _src(
    "aws-samples/amazon-bedrock-samples: custom-models/model_distillation/"
    "Distillation-via-S3-input.ipynb; " + _API + "API_TeacherModelConfig.html",
    "AWS's distillation examples send no hyperParameters, and no page lists any for "
    "DISTILLATION; the stand-in therefore refuses every hyperparameter on such a job.",
)

HYPERPARAMETERS: dict[tuple[str, str], tuple[HyperParameter, ...]] = {
    ("nova", FINE_TUNING): (
        _hp("epochCount", 2, 1, 5, True, _NOVA_HP),
        _hp("learningRate", 1e-5, 1e-6, 1e-4, False, _NOVA_HP),
        _hp("learningRateWarmupSteps", 10, 0, 100, True, _NOVA_HP),
    ),
    ("nova", DISTILLATION): (),
    ("nova-2", FINE_TUNING): (
        _hp("epochCount", 2, 1, 5, True, _NOVA2_HP),
        _hp("learningRate", 1e-5, 1e-6, 1e-4, False, _NOVA2_HP),
        _hp("learningRateWarmupSteps", 10, 0, 100, True, _NOVA2_HP),
    ),
    ("nova-2", REINFORCEMENT_FINE_TUNING): (
        _hp("epochCount", None, 1, 50, True, _RFT_HP),
        _hp("batchSize", None, 16, 512, True, _RFT_HP),
        _hp("learningRate", None, 1e-7, 1e-3, False, _RFT_HP),
        _hp("maxPromptLength", None, 1, None, True, _RFT_HP),
        _hp("trainingSamplePerPrompt", None, 2, 16, True, _RFT_HP),
        _hp("inferenceMaxTokens", None, 1, None, True, _RFT_HP),
        _hp("reasoningEffort", None, None, None, False, _RFT_HP, ("low", "medium", "high")),
        _hp("evalInterval", None, 1, 100, True, _RFT_HP),
    ),
    ("titan-text", FINE_TUNING): (
        _hp("epochCount", 5, 1, 10, True, _TITAN_HP),
        _hp("batchSize", 1, 1, 64, True, _TITAN_HP),
        _hp("learningRate", 1e-5, 0.0, 1, False, _TITAN_HP),
        _hp("learningRateWarmupSteps", 5, 0, 250, True, _TITAN_HP),
    ),
    ("llama3.1", FINE_TUNING): (
        _hp("epochCount", 5, 1, 10, True, _LLAMA31_HP),
        _hp("batchSize", 1, 1, 1, True, _LLAMA31_HP),
        _hp("learningRate", 1e-4, 5e-6, 0.1, False, _LLAMA31_HP),
    ),
    ("llama3.2", FINE_TUNING): (
        _hp("epochCount", 5, 1, 10, True, _LLAMA32_HP),
        _hp("batchSize", 1, 1, 1, True, _LLAMA32_HP),
        _hp("learningRate", 1e-4, 5e-6, 0.1, False, _LLAMA32_HP),
    ),
    ("claude3", FINE_TUNING): (
        _hp("epochCount", 2, 1, 10, True, _CLAUDE_HP),
        _hp("batchSize", 32, 4, 256, True, _CLAUDE_HP),
        _hp("learningRateMultiplier", 1, 0.1, 2, False, _CLAUDE_HP),
        _hp("earlyStoppingThreshold", 0.001, 0, 0.1, False, _CLAUDE_HP),
        _hp("earlyStoppingPatience", 2, 1, 10, True, _CLAUDE_HP),
    ),
}
HYPERPARAMETERS[("titan-text", CONTINUED_PRE_TRAINING)] = HYPERPARAMETERS[
    ("titan-text", FINE_TUNING)
]
DISTILLATION_HYPERPARAMETERS_SOURCE = _DISTILLATION_HP


# ---------------------------------------------------------------- lifecycle and models


@dataclass(frozen=True)
class Lifecycle:
    """A model's lifecycle in one Region: status as of :data:`CHECKED` and its dates.

    ``since`` is when the model became Legacy, ``end_of_life`` when requests started failing.
    Dates are ISO strings; ``None`` means the model has not reached that stage (or, where the
    note says so, that no date was found).
    """

    status: str
    since: str | None
    end_of_life: str | None
    source: Source

    def status_on(self, day: datetime.date) -> str:
        """ACTIVE, LEGACY or EOL as of ``day``."""
        if self.end_of_life and day >= datetime.date.fromisoformat(self.end_of_life):
            return EOL
        if self.since and day >= datetime.date.fromisoformat(self.since):
            return LEGACY
        if self.status != ACTIVE and not self.since and not self.end_of_life:
            # Undated: all that is known is the status when it was read.
            return self.status
        return ACTIVE


@dataclass(frozen=True)
class Customization:
    """How a model can be customized: the id jobs name, the types, formats and Regions."""

    customization_id: str
    types: frozenset[str]
    data_formats: dict[str, str] = field(hash=False)
    regions: frozenset[str]
    source: Source


@dataclass(frozen=True)
class FoundationModel:
    """One foundation model the workshop touches, as Bedrock offers it in :data:`REGIONS`.

    ``inference_types`` are the values ListFoundationModels reports for the base model;
    ``on_demand_regions`` are the Regions where the bare model id works on demand (elsewhere
    it needs an inference profile). ``custom_serving`` says how a custom model of this family
    is served. ``family`` keys :data:`HYPERPARAMETERS`.
    """

    model_id: str
    name: str
    provider: str
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    invoke_format: str
    converse_system: bool
    customization: Customization | None
    lifecycle: dict[str, Lifecycle] = field(hash=False)
    regions: frozenset[str]
    inference_types: frozenset[str]
    custom_serving: frozenset[str]
    source: Source
    family: str = ""
    on_demand_regions: frozenset[str] = frozenset()
    inference_source: Source | None = None
    serving_source: Source | None = None

    def lifecycle_in(self, region: str) -> Lifecycle:
        """The lifecycle in ``region``; :class:`CatalogError` where the model is not offered."""
        try:
            return self.lifecycle[region]
        except KeyError:
            raise CatalogError(
                f"The model {self.model_id} is not available in the Region {region}."
            ) from None

    def status_on(self, region: str, day: datetime.date) -> str:
        """ACTIVE, LEGACY or EOL in ``region`` as of ``day``."""
        return self.lifecycle_in(region).status_on(day)

    def needs_profile(self, region: str) -> bool:
        """Whether on-demand calls in ``region`` must name an inference profile, not the id."""
        return region not in self.on_demand_regions

    def arn(self, region: str) -> str:
        """The foundation-model ARN in ``region``."""
        return f"arn:aws:bedrock:{region}::foundation-model/{self.model_id}"


@dataclass(frozen=True)
class InferenceProfile:
    """A system-defined (cross-Region) inference profile.

    ``model_ids`` are the foundation models it serves; ``regions`` are the Regions it routes
    to, which are also the Regions it can be called from.
    """

    profile_id: str
    name: str
    model_ids: tuple[str, ...]
    regions: tuple[str, ...]
    source: Source

    @property
    def model_arns(self) -> tuple[str, ...]:
        """The foundation-model ARNs GetInferenceProfile lists, one per model and Region."""
        return tuple(
            f"arn:aws:bedrock:{region}::foundation-model/{model_id}"
            for model_id in self.model_ids
            for region in self.regions
        )

    def arn(self, region: str, account: str) -> str:
        """The profile's ARN as seen from ``region`` in ``account``."""
        return f"arn:aws:bedrock:{region}:{account}:inference-profile/{self.profile_id}"


# Sources shared by several models.
_FT_TABLE = _src(
    _DOCS + "custom-model-fine-tuning.html",
    "Table 'Supported models and Regions for fine-tuning' (single-Region support).",
)
_FT_CPT_OLD = _src(
    _DOCS + "custom-model-supported.html",
    "An earlier version of the fine-tuning page; it still listed Titan Text G1 (fine-tuning "
    "and continued pre-training in us-east-1 and us-west-2). The current table no longer does.",
)
_NOVA_ROLES = _src(
    _NOVA + "customization.html",
    "Table of Bedrock fine-tuning and distillation roles for Nova v1 models.",
)
_NOVA_DATA = _src(
    _NOVA + "custom-distill-prepare.html",
    "Nova fine-tuning and distillation records use schemaVersion bedrock-conversation-2024.",
)
_NOVA_ACTIVE = _src(
    _DOCS + "model-card-amazon-nova-lite.html",
    "Cards say Active with 'EOL no sooner than 12/4/2025'. A third-party summary of the "
    "lifecycle page (api-evangelist/amazon-nova lifecycle/amazon-nova-lifecycle.yml, generated "
    "2026-09-01) still lists Nova Micro, Lite and Pro as Active; no later Legacy notice found.",
)
_NOVA_INFERENCE = _src(
    _DOCS + "model-lifecycle.html",
    "The Active-models table lists us-east-1 plainly and us-east-2*, us-west-2* with '*' "
    "meaning reachable only through cross-Region inference. The batch page agrees "
    "(foundation model in us-east-1, inference profile in us-east-1/us-east-2/us-west-2). "
    "PROVISIONED for the base model was not checked, so it is not claimed.",
)
_NOVA_SERVING = _src(
    _DOCS + "deploy-custom-model-on-demand.html",
    "On-demand custom model deployment: Nova Lite, Micro and Pro, in us-east-1 and us-west-2 "
    "(an older version of the page named us-east-1 only; the stand-in follows the newer one), "
    "for models customized on or after 2025-07-16. Provisioned Throughput is the other way "
    "(model-customization-use.html).",
)
_PROFILES = _src(
    _DOCS + "inference-profiles-support.html",
    "Page read for profile ids and the routing rules; the per-profile Region lists were not "
    "readable in the stored copy. US profiles are recorded as routing to us-east-1, us-east-2 "
    "and us-west-2, the set shown for Nova in batch-inference-supported.html.",
)
_PT_ONLY = _src(
    _DOCS + "deploy-custom-model-on-demand.html",
    "Not among the base models eligible for on-demand custom model deployment, so custom "
    "models are served through Provisioned Throughput only (model-customization-use.html). "
    "cloud-custodian tests/terraform/bedrock_provisionable_custom_model/README.md (verified "
    "2026-07-28) confirms this for Llama 3.1 8B.",
)
_PROMPT_COMPLETION = _src(_DOCS + "preparing-text-data.html", "Non-conversational records.")

_LLAMA32_EOL = _src(
    _DOCS + "model-card-meta-llama-3-2-90b-instruct.html",
    "Card (read in its zh_TW .md translation) gives EOL 2026-07-07 and Legacy; awslabs/startups "
    "ai-model-lifecycle.md ('as of May 26, 2026', citing model-lifecycle.html) gives "
    "2026-07-07 for all Llama 3.2 sizes. The Legacy start was not found: the date used is the "
    "latest one allowed by the policy of at least 6 months in Legacy.",
)
_LLAMA31_ACTIVE = _src(
    _DOCS + "model-card-meta-llama-3-1-70b-instruct.html",
    "Card says Active ('EOL no sooner than 7/23/2025'); the May 2026 awslabs/startups list "
    "names only Llama 3.1 405B as Legacy, and a cloud-custodian fixture fine-tuned Llama 3.1 "
    "8B in us-west-2 in July 2026. No later notice found.",
)
_LLAMA_INFERENCE = _src(
    "https://github.com/langchain-ai/langchain-aws/issues/258",
    "Llama 3.2 ids only work on demand through an inference profile (us. prefix); calling the "
    "bare id gets ValidationException '... with on-demand throughput isn’t supported'. "
    "re:Post QUS0iXq3nLQdmbE4OtB9urZw: Llama 3.2 3B is not listed with ON_DEMAND.",
)
_LLAMA31_INFERENCE = _src(
    _DOCS + "custom-model-fine-tuning.html",
    "Llama 3.1 runs in us-west-2 (fine-tuning table) and has us. profiles (public price "
    "lists). That the bare id works on demand in us-west-2 only is not read from a current "
    "AWS page; it is the stand-in's reading of older Region tables.",
)
_TITAN_EOL_NOTE = (
    "No dated AWS entry found: the current 'Overview of Amazon Titan models' page lists only "
    "Titan embeddings and Image Generator v2, and the fine-tuning table dropped Titan Text. "
    "Dates are bounds from public reports: Legacy by 2025-02-11 (langchain4j/langchain4j#2532 "
    "cites an EOL notice for August 2025), EOL by the end_of_life date given here"
)


def _everywhere(lifecycle: Lifecycle, regions: Iterable[str] = REGIONS) -> dict[str, Lifecycle]:
    return dict.fromkeys(regions, lifecycle)


def _nova_v1(model_id: str, name: str, inputs: tuple[str, ...], suffix: str) -> FoundationModel:
    return FoundationModel(
        model_id=model_id,
        name=name,
        provider="Amazon",
        input_modalities=inputs,
        output_modalities=("TEXT",),
        invoke_format=NOVA_MESSAGES,
        converse_system=True,
        customization=Customization(
            customization_id=f"{model_id}:{suffix}",
            types=frozenset({FINE_TUNING, DISTILLATION}),
            data_formats={FINE_TUNING: BEDROCK_CONVERSATION, DISTILLATION: BEDROCK_CONVERSATION},
            regions=frozenset({"us-east-1"}),
            source=_src(
                _FT_TABLE.page,
                f"{_FT_TABLE.note} Distillation role from {_NOVA_ROLES.page}; formats from "
                f"{_NOVA_DATA.page}. The distillation Regions were not read; us-east-1 is "
                "assumed, like fine-tuning.",
            ),
        ),
        lifecycle=_everywhere(Lifecycle(ACTIVE, None, None, _NOVA_ACTIVE)),
        regions=frozenset(REGIONS),
        inference_types=frozenset({ON_DEMAND, INFERENCE_PROFILE}),
        custom_serving=frozenset({ON_DEMAND_DEPLOYMENT, PROVISIONED}),
        source=_src(
            _DOCS + "model-lifecycle.html",
            "Id, modalities and launch from the Active-models table; Converse system prompts "
            "from conversation-inference-supported-models-features.html.",
        ),
        family="nova",
        on_demand_regions=frozenset({"us-east-1"}),
        inference_source=_NOVA_INFERENCE,
        serving_source=_NOVA_SERVING,
    )


def _llama(
    model_id: str,
    name: str,
    inputs: tuple[str, ...],
    version: str,
    lifecycle: Lifecycle,
    inference: Iterable[str],
    source: Source,
) -> FoundationModel:
    llama31 = version == "llama3.1"
    return FoundationModel(
        model_id=model_id,
        name=name,
        provider="Meta",
        input_modalities=inputs,
        output_modalities=("TEXT",),
        invoke_format=LLAMA_PROMPT,
        converse_system=True,
        customization=Customization(
            customization_id=f"{model_id}:128k",
            types=frozenset({FINE_TUNING}),
            # Llama 3.1 takes prompt/completion records; Llama 3.2 (text and vision) takes
            # bedrock-conversation-2024 ("Prepare data for fine-tuning your models").
            data_formats={FINE_TUNING: PROMPT_COMPLETION if llama31 else BEDROCK_CONVERSATION},
            regions=frozenset({"us-west-2"}),
            source=_src(
                _FT_TABLE.page,
                f"{_FT_TABLE.note} Format from {_PROMPT_COMPLETION.page}. Llama 3.1 may also "
                "be a distillation student (of Llama 3.1 405B), but the distillation table "
                "could not be read, so DISTILLATION is not claimed.",
            ),
        ),
        lifecycle=_everywhere(lifecycle),
        regions=frozenset(REGIONS),
        inference_types=frozenset(inference),
        custom_serving=frozenset({PROVISIONED}),
        source=_src(
            source.page,
            (source.note + " " if source.note else "")
            + "The Meta rows of the Converse feature table were not in the copy read; system "
            "prompts are recorded as supported, as Llama's prompt format has a system role.",
        ),
        family=version,
        on_demand_regions=frozenset({"us-west-2"}) if llama31 else frozenset(),
        inference_source=_LLAMA31_INFERENCE if llama31 else _LLAMA_INFERENCE,
        serving_source=_PT_ONLY,
    )


def _titan(model_id: str, name: str, suffix: str, eol: str, report: str) -> FoundationModel:
    return FoundationModel(
        model_id=model_id,
        name=name,
        provider="Amazon",
        input_modalities=("TEXT",),
        output_modalities=("TEXT",),
        invoke_format=TITAN_TEXT,
        converse_system=False,
        customization=Customization(
            customization_id=f"{model_id}:0:{suffix}",
            types=frozenset({FINE_TUNING, CONTINUED_PRE_TRAINING}),
            data_formats={FINE_TUNING: PROMPT_COMPLETION, CONTINUED_PRE_TRAINING: CPT_INPUT},
            regions=frozenset(REGIONS),
            source=_src(
                _FT_CPT_OLD.page,
                f"{_FT_CPT_OLD.note} The customization id is the one ListFoundationModels "
                "returned (public CLI captures). Continued pre-training records are "
                '{"input": ...} (model-customization-prepare.html).',
            ),
        ),
        lifecycle=_everywhere(
            Lifecycle(
                EOL,
                "2025-02-11",
                eol,
                _src(_DOCS + "titan-models.html", f"{_TITAN_EOL_NOTE} ({report})."),
            ),
        ),
        regions=frozenset(REGIONS),
        inference_types=frozenset({ON_DEMAND}),
        custom_serving=frozenset({PROVISIONED}),
        source=_src(
            _DOCS + "model-parameters-titan-text.html",
            "Ids and request body; conversation-inference-supported-models-features.html says "
            "Titan models take no system prompt in Converse.",
        ),
        family="titan-text",
        on_demand_regions=frozenset(REGIONS),
        inference_source=_src(
            _DOCS + "model-parameters-titan-text.html",
            "Historically called on demand by its bare id; now EOL, so every call fails.",
        ),
        serving_source=_PT_ONLY,
    )


MODELS: tuple[FoundationModel, ...] = (
    _nova_v1("amazon.nova-micro-v1:0", "Nova Micro", ("TEXT",), "128k"),
    _nova_v1("amazon.nova-lite-v1:0", "Nova Lite", ("TEXT", "IMAGE", "VIDEO"), "300k"),
    _nova_v1("amazon.nova-pro-v1:0", "Nova Pro", ("TEXT", "IMAGE", "VIDEO"), "300k"),
    FoundationModel(
        model_id="amazon.nova-premier-v1:0",
        name="Nova Premier",
        provider="Amazon",
        input_modalities=("TEXT", "IMAGE"),
        output_modalities=("TEXT",),
        invoke_format=NOVA_MESSAGES,
        converse_system=True,
        customization=None,
        lifecycle=_everywhere(
            Lifecycle(
                EOL,
                "2026-03-13",
                "2026-09-14",
                _src(
                    _DOCS + "model-card-amazon-nova-premier.html",
                    "Card: Legacy, EOL date September 14, 2026. The same card also says "
                    "'launch Oct 31, 2025' and 'EOL no sooner than Oct 31, 2026', which "
                    "contradicts the EOL date; the stand-in takes the earlier EOL. Legacy "
                    "date 2026-03-13 from api-evangelist/amazon-nova (summary of "
                    "model-lifecycle.html, 2026-09-01).",
                ),
            )
        ),
        regions=frozenset(REGIONS),
        inference_types=frozenset({INFERENCE_PROFILE}),
        custom_serving=frozenset(),
        source=_src(
            _DOCS + "model-card-amazon-nova-premier.html",
            "Image input shown on the card; video input was not visible in the copy read, so "
            "it is not claimed. Bedrock distillation teacher only (" + _NOVA_ROLES.page + ").",
        ),
        family="nova",
        inference_source=_src(
            _DOCS + "batch-inference-supported.html",
            "Foundation model: N/A; inference profile: us-east-1, us-east-2, us-west-2.",
        ),
    ),
    FoundationModel(
        model_id="amazon.nova-2-lite-v1:0",
        name="Nova 2 Lite",
        provider="Amazon",
        input_modalities=("TEXT", "IMAGE", "VIDEO"),
        output_modalities=("TEXT",),
        invoke_format=NOVA_MESSAGES,
        converse_system=True,
        customization=Customization(
            customization_id="amazon.nova-2-lite-v1:0:256k",
            types=frozenset({FINE_TUNING, REINFORCEMENT_FINE_TUNING}),
            data_formats={FINE_TUNING: BEDROCK_CONVERSATION, REINFORCEMENT_FINE_TUNING: RFT_CHAT},
            regions=frozenset({"us-east-1"}),
            source=_src(
                _FT_TABLE.page,
                f"{_FT_TABLE.note} {_NOVA2}customization.html: on Bedrock, SFT, RFT and "
                "distillation yes, CPT no. RFT data is OpenAI chat format with "
                "reference_answer, at least 100 records (rft-prepare-data.html); SFT data is "
                "bedrock-conversation-2024 (nova-2-sft-data-prep.html). The RFT Region was not "
                "read; us-east-1 is assumed. Nova 2 Lite as a distillation student was not "
                "confirmed, so DISTILLATION is not claimed.",
            ),
        ),
        lifecycle=_everywhere(
            Lifecycle(
                ACTIVE,
                None,
                None,
                _src(
                    _DOCS + "model-card-amazon-nova-2-lite.html",
                    "Launched 2025-12-02; Active per the card as summarized by "
                    "quattro004/Agent004 wiki (read 2026-09-29 and 2026-10-11).",
                ),
            )
        ),
        regions=frozenset(REGIONS),
        inference_types=frozenset({INFERENCE_PROFILE}),
        custom_serving=frozenset({ON_DEMAND_DEPLOYMENT, PROVISIONED}),
        source=_src(
            _NOVA2 + "core-inference.html",
            "Modalities from nova-2-sft-data-prep.html. The Converse feature table read lists "
            "Nova v1 models (system prompts: yes) but not Nova 2 Lite; the stand-in assumes "
            "the same for Nova 2 Lite.",
        ),
        family="nova-2",
        inference_source=_src(
            "https://github.com/langchain-ai/langchain-aws/issues/1019",
            f"{_NOVA2}core-inference.html lists only global. and us. ids for Nova 2 Lite; the "
            "bare id gets the on-demand ValidationException.",
        ),
        serving_source=_src(
            _NOVA2 + "nova-model-bedrock-inference.html",
            "The Nova 2 guide allows on-demand deployment for custom 'Lite' models and "
            "Provisioned Throughput (rft-nova-models.html says the same for RFT models). The "
            "Bedrock deployment page names only Nova Lite/Micro/Pro v1: the sources disagree "
            "and the stand-in follows the Nova 2 guide.",
        ),
    ),
    FoundationModel(
        model_id="anthropic.claude-3-haiku-20240307-v1:0",
        name="Claude 3 Haiku",
        provider="Anthropic",
        input_modalities=("TEXT", "IMAGE"),
        output_modalities=("TEXT",),
        invoke_format=ANTHROPIC_MESSAGES,
        converse_system=True,
        customization=Customization(
            customization_id="anthropic.claude-3-haiku-20240307-v1:0:200k",
            types=frozenset({FINE_TUNING}),
            data_formats={FINE_TUNING: CLAUDE_MESSAGES},
            regions=frozenset({"us-west-2"}),
            source=_src(
                _FT_TABLE.page,
                f"{_FT_TABLE.note} Record format (system plus alternating user/assistant "
                "messages) from platform.claude.com/cookbook/finetuning-finetuning-on-bedrock.",
            ),
        ),
        lifecycle=_everywhere(
            Lifecycle(
                EOL,
                "2026-03-10",
                "2026-09-10",
                _src(
                    _DOCS + "model-card-anthropic-claude-3-haiku.html",
                    "Card (read in its zh_TW .md translation): EOL 2026-09-10 in most Regions, "
                    "requests then fail with ResourceNotFoundException; still offered in "
                    "ca-central-1, eu-central-2, sa-east-1 and Legacy in ap-northeast-2. The "
                    "Legacy start was not found: the date used is the latest one allowed by "
                    "the 6-month Legacy minimum (aws-samples/aws-genai-llm-chatbot#733 called "
                    "it Legacy on 2026-05-21).",
                ),
            )
        ),
        regions=frozenset(REGIONS),
        inference_types=frozenset({ON_DEMAND, INFERENCE_PROFILE}),
        custom_serving=frozenset({PROVISIONED}),
        source=_src(_DOCS + "model-card-anthropic-claude-3-haiku.html"),
        family="claude3",
        on_demand_regions=frozenset(REGIONS),
        inference_source=_src(
            _DOCS + "inference-profiles-support.html",
            "Called by its bare id on demand (ListFoundationModels showed ON_DEMAND) and "
            "through us.anthropic.claude-3-haiku-20240307-v1:0, which from us-west-2 routes "
            "only to us-east-1 and us-west-2.",
        ),
        serving_source=_PT_ONLY,
    ),
    _llama(
        "meta.llama3-1-8b-instruct-v1:0",
        "Llama 3.1 8B Instruct",
        ("TEXT",),
        "llama3.1",
        Lifecycle(ACTIVE, None, None, _LLAMA31_ACTIVE),
        {ON_DEMAND, INFERENCE_PROFILE},
        _src(
            _DOCS + "model-card-meta-llama-3-1-70b-instruct.html",
            "The 8B card was not read; the 70B card's facts are taken for both sizes.",
        ),
    ),
    _llama(
        "meta.llama3-1-70b-instruct-v1:0",
        "Llama 3.1 70B Instruct",
        ("TEXT",),
        "llama3.1",
        Lifecycle(ACTIVE, None, None, _LLAMA31_ACTIVE),
        {ON_DEMAND, INFERENCE_PROFILE},
        _src(_DOCS + "model-card-meta-llama-3-1-70b-instruct.html"),
    ),
    *(
        _llama(
            f"meta.llama3-2-{size}-instruct-v1:0",
            f"Llama 3.2 {size.upper()} Instruct",
            inputs,
            "llama3.2",
            Lifecycle(EOL, "2026-01-07", "2026-07-07", _LLAMA32_EOL),
            {INFERENCE_PROFILE},
            _src(
                _FT_TABLE.page,
                "Names and ids from the fine-tuning table; 11B and 90B take images "
                "(model-card-meta-llama-3-2-90b-instruct.html).",
            ),
        )
        for size, inputs in (
            ("1b", ("TEXT",)),
            ("3b", ("TEXT",)),
            ("11b", ("TEXT", "IMAGE")),
            ("90b", ("TEXT", "IMAGE")),
        )
    ),
    _titan(
        "amazon.titan-text-lite-v1",
        "Titan Text G1 - Lite",
        "4k",
        "2025-12-18",
        "weaviate/weaviate#10053, 2025-12-18, removes the end-of-life Titan Text Lite",
    ),
    _titan(
        "amazon.titan-text-express-v1",
        "Titan Text G1 - Express",
        "8k",
        "2025-12-29",
        "newrelic/newrelic-dotnet-agent#3373, 2025-12-29, stops using the EOLed Titan Express",
    ),
)


def _profile(
    prefix: str, model_id: str, name: str, regions: Iterable[str], source: Source = _PROFILES
) -> InferenceProfile:
    return InferenceProfile(f"{prefix}.{model_id}", name, (model_id,), tuple(regions), source)


_US = ("us-east-1", "us-east-2", "us-west-2")
_PROFILE_NAMES = _src(
    _PROFILES.page,
    f"{_PROFILES.note} Profile names follow the 'US <provider> <model>' style seen in public "
    "ListInferenceProfiles captures; they were not read from AWS.",
)

INFERENCE_PROFILES: tuple[InferenceProfile, ...] = (
    _profile("us", "amazon.nova-micro-v1:0", "US Amazon Nova Micro", _US, _PROFILE_NAMES),
    _profile("us", "amazon.nova-lite-v1:0", "US Amazon Nova Lite", _US, _PROFILE_NAMES),
    _profile("us", "amazon.nova-pro-v1:0", "US Amazon Nova Pro", _US, _PROFILE_NAMES),
    _profile(
        "us",
        "amazon.nova-premier-v1:0",
        "US Amazon Nova Premier",
        _US,
        _src(
            _DOCS + "batch-inference-supported.html",
            "Profile Regions us-east-1, us-east-2, us-west-2.",
        ),
    ),
    _profile(
        "us",
        "amazon.nova-2-lite-v1:0",
        "US Amazon Nova 2 Lite",
        _US,
        _src(_NOVA2 + "core-inference.html", f"Id from the page; Regions as for {_PROFILES.page}."),
    ),
    _profile(
        "global",
        "amazon.nova-2-lite-v1:0",
        "Global Amazon Nova 2 Lite",
        _US,
        _src(
            _NOVA2 + "core-inference.html",
            "A global profile routes to all commercial Regions (inference-profiles-support.html); "
            "only the US Regions are modelled here.",
        ),
    ),
    _profile(
        "us",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "US Anthropic Claude 3 Haiku",
        _US,
        _src(
            _PROFILES.page,
            "Called from us-east-2 it routes to us-east-1, us-east-2 or us-west-2; from "
            "us-west-2 only to us-east-1 and us-west-2. The model behind it is EOL since "
            "2026-09-10.",
        ),
    ),
    *(
        _profile("us", model.model_id, f"US Meta {model.name}", _US, _PROFILE_NAMES)
        for model in MODELS
        if model.provider == "Meta"
    ),
)


# ---------------------------------------------------------------- distillation, accounts


DISTILLATION_PAIRS: dict[str, tuple[str, ...]] = {
    "amazon.nova-premier-v1:0": (
        "amazon.nova-pro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-micro-v1:0",
    ),
    "amazon.nova-pro-v1:0": ("amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"),
}
"""Teacher model id -> the student model ids Bedrock pairs with it."""

DISTILLATION_SOURCE = _src(
    _NOVA + "customization.html",
    "Roles: Micro and Lite are students, Pro is teacher and student, Premier is teacher. "
    "That Premier teaches Pro follows from Pro being a student with Premier the only larger "
    "teacher; the Bedrock table itself (prequisites-model-distillation.html) could not be "
    "read, and its Anthropic and Meta pairs are not recorded. AWS's sample pairs Nova Pro "
    "with amazon.nova-micro-v1:0:128k. Nova Premier is EOL since 2026-09-14, so as of "
    "CHECKED its pairs cannot be used.",
)

DISTILLATION_LIMITS = {"min_prompts": 100, "max_prompts": 15000}
"""Prompts (or prompt-response pairs) a distillation job accepts, inclusive."""
DISTILLATION_LIMITS_SOURCE = _src(
    _NOVA + "custom-distill-prepare.html",
    "100 to 15K prompts or prompt-response pairs; distillation-data-prep-option-2.html also "
    "gives 15K as the maximum. maxResponseLengthForInference is an integer with no documented "
    "range (API_TeacherModelConfig.html, botocore); AWS's sample sends 1000.",
)
MAX_RESPONSE_LENGTH_FOR_INFERENCE: tuple[int | None, int | None] = (None, None)
"""Documented (min, max) of maxResponseLengthForInference: none found."""

RFT_LIMITS = {"min_records": 100, "max_prompts": 20000}
"""Training records of a REINFORCEMENT_FINE_TUNING job; datarules' rft-prompts set applies them."""
RFT_LIMITS_SOURCE = _src(
    _DOCS + "rft-prepare-data.html",
    "At least 100 training records; rft-nova-models.html gives at most 20K prompts.",
)

COUNT_TOKENS_MODELS = frozenset({"anthropic.claude-3-haiku-20240307-v1:0"})
"""Models whose bare id CountTokens accepts; every other id gets a ValidationException."""
COUNT_TOKENS_SOURCE = _src(
    _DOCS + "count-tokens.html",
    "The page lists the supported models; only its opening was read. alchemy.run's Bedrock "
    "CountTokens binding (read 2026-12-01) says a subset of Anthropic models is supported by "
    "bare id while Amazon Nova models and inference-profile ids are refused with 'The provided "
    "model doesn't support counting tokens'. Claude 3 Haiku is assumed supported (Anthropic "
    "counts its tokens); unverified on Bedrock, and it is past end of life anyway.",
)

BATCH_INFERENCE_ON_PROVISIONED = False
BATCH_INFERENCE_SOURCE = _src(
    _DOCS + "batch-inference.html",
    "The page notes batch inference isn't supported for provisioned models.",
)


@dataclass(frozen=True)
class Account:
    """An AWS account as Bedrock treats it: new to Bedrock, or an established user.

    ``legacy_access`` says whether Legacy models still answer it; ``quotas`` maps Service
    Quotas codes to their values.
    """

    kind: str
    legacy_access: bool
    quotas: dict[str, float] = field(hash=False)
    source: Source


QUOTA_NAMES = {
    CUSTOM_MODEL_UNITS: "Model units no-commitment Provisioned Throughputs across custom models",
    BASE_MODEL_UNITS: "Model units no-commitment Provisioned Throughputs across base models",
}
QUOTA_NAMES_SOURCE = _src(
    "cloud-custodian/cloud-custodian tests/terraform/bedrock_provisionable_custom_model/README.md",
    "Codes and names as Service Quotas lists them; not found on an AWS page in the stored copies.",
)

ACCOUNTS: dict[str, Account] = {
    "new": Account(
        "new",
        legacy_access=False,
        quotas={CUSTOM_MODEL_UNITS: 0, BASE_MODEL_UNITS: 0},
        source=_src(
            _DOCS + "prov-thru-purchase.html",
            "Before any Provisioned Throughput (with or without commitment) an account must "
            "ask the AWS support center for model units. botocore's modelUnits doc says an "
            "account has none by default 'for purchasing Provisioned Throughputs with "
            "commitment'; the user guide covers both, and the stand-in uses 0 for both. "
            "cloud-custodian's fixture README saw L-BE77399C at 0 by default in us-west-2. "
            "model-lifecycle.html: new customers cannot use Legacy models.",
        ),
    ),
    "established": Account(
        "established",
        legacy_access=True,
        quotas={CUSTOM_MODEL_UNITS: 2, BASE_MODEL_UNITS: 2},
        source=_src(
            _DOCS + "model-lifecycle.html",
            "Existing users keep Legacy models until EOL unless idle (15 days in "
            "aws-samples/amazon-bedrock-workshop#386, 30 days in fourTheorem/podwhisperer#24: "
            "the reports disagree). The 2 model units stand for a granted support request; "
            "AWS documents no such default, the value matches standin/quotas.py.",
        ),
    ),
}


@dataclass(frozen=True)
class ErrorMessage:
    """An error Bedrock returns, as reported verbatim in a public source."""

    code: str
    text: str
    source: Source


MESSAGES: dict[str, ErrorMessage] = {
    "eol": ErrorMessage(
        "ResourceNotFoundException",
        "This model version has reached the end of its life.",
        _src(_DOCS + "model-card-anthropic-claude-3-haiku.html"),
    ),
    "legacy_idle": ErrorMessage(
        "ResourceNotFoundException",
        "Access denied. This Model is marked by provider as Legacy and you have not been "
        "actively using the model in the last 15 days. Please upgrade to an active model on "
        "Amazon Bedrock",
        _src(
            "https://github.com/aws-samples/amazon-bedrock-workshop/issues/386",
            "fourTheorem/podwhisperer#24 quotes the same text with '30 days'.",
        ),
    ),
    "needs_profile": ErrorMessage(
        "ValidationException",
        "Invocation of model ID {model_id} with on-demand throughput isn’t supported. Retry "
        "your request with the ID or ARN of an inference profile that contains this model.",
        _src(
            "https://github.com/langchain-ai/langchain-aws/issues/258", "Also #1019 (Nova 2 Lite)."
        ),
    ),
    "no_model_units": ErrorMessage(
        "ServiceQuotaExceededException",
        "Your account does not currently have any no commitment model units reserved for "
        "{model_id}.",
        QUOTA_NAMES_SOURCE,
    ),
}


# ---------------------------------------------------------------- look-ups

_ARN = re.compile(
    r"arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)"
)


def find(ident: str) -> FoundationModel | None:
    """The model named by a model id, customization id, foundation-model ARN or profile id/ARN."""
    match = _ARN.fullmatch(ident)
    if match:
        ident = match["id"]
    for model in MODELS:
        if ident == model.model_id or (
            model.customization and ident == model.customization.customization_id
        ):
            return model
    found = profile(ident)
    if found:
        return next((m for m in MODELS if m.model_id == found.model_ids[0]), None)
    return None


def profile(ident: str) -> InferenceProfile | None:
    """The system-defined inference profile named by its id or ARN."""
    match = _ARN.fullmatch(ident)
    if match and match["kind"] == "inference-profile":
        ident = match["id"]
    return next((p for p in INFERENCE_PROFILES if p.profile_id == ident), None)


def models_in(region: str) -> list[FoundationModel]:
    """The catalog's models offered in ``region`` (whatever their lifecycle)."""
    return [model for model in MODELS if region in model.regions]


def _customizable(model_id: str, customization_type: str) -> FoundationModel:
    model = find(model_id)
    if model is None:
        raise CatalogError(f"The provided model identifier {model_id} is not valid.")
    custom = model.customization
    if custom is None or customization_type not in custom.types:
        raise CatalogError(
            f"The base model {model_id} does not support the customization type "
            f"{customization_type}."
        )
    return model


def hyperparameters(model_id: str, customization_type: str) -> tuple[HyperParameter, ...]:
    """The hyperparameters Bedrock accepts for ``model_id`` and ``customization_type``."""
    model = _customizable(model_id, customization_type)
    return HYPERPARAMETERS.get((model.family, customization_type), ())


def _checked(
    model_id: str, customization_type: str, values: Mapping[str, object]
) -> list[tuple[HyperParameter, object]]:
    specs = hyperparameters(model_id, customization_type)
    known = {spec.name for spec in specs}
    unknown = sorted(set(values) - known)
    if unknown:
        raise CatalogError(
            f"The hyperparameters {', '.join(unknown)} are not supported for "
            f"{customization_type} of {model_id}. Supported: "
            f"{', '.join(sorted(known)) or 'none'}."
        )
    return [
        (spec, values.get(spec.name, spec.default))
        for spec in specs
        if spec.name in values or spec.default is not None
    ]


def check_hyperparameters(
    model_id: str, customization_type: str, values: dict[str, object]
) -> dict[str, str]:
    """Validate ``values``, fill in defaults, and return the strings Bedrock expects.

    Raises :class:`CatalogError` for an unknown model, an unsupported customization type,
    an unknown name, a non-integer for an integer hyperparameter, or a value out of range.
    Bedrock's exact message text for these was not found; the wording follows its
    ValidationException style.
    """
    return {
        spec.name: spec.format(value)
        for spec, value in _checked(model_id, customization_type, values)
    }


def rft_hyperparameters(model_id: str, values: dict[str, object]) -> dict[str, int | float | str]:
    """Validate ``customizationConfig.rftConfig.hyperParameters`` (numbers, not strings)."""
    return {
        spec.name: spec.parse(value)
        for spec, value in _checked(model_id, REINFORCEMENT_FINE_TUNING, values)
    }


def table() -> list[dict[str, str]]:
    """One row per model, for a README table: names, Regions, customization, lifecycle."""
    day = datetime.date.fromisoformat(CHECKED)
    rows = []
    for model in MODELS:
        custom = model.customization
        lifecycle = []
        for region in sorted(model.regions):
            entry = model.lifecycle_in(region)
            status = entry.status_on(day)
            dated = {LEGACY: entry.since, EOL: entry.end_of_life}.get(status)
            lifecycle.append(f"{region}: {status}" + (f" since {dated}" if dated else ""))
        rows.append(
            {
                "Model": model.name,
                "Model ID": model.model_id,
                "Regions": ", ".join(sorted(model.regions)),
                "Customization": (
                    f"{', '.join(sorted(custom.types))} ({', '.join(sorted(custom.regions))})"
                    if custom
                    else "none"
                ),
                "Lifecycle": "; ".join(lifecycle),
                "Custom models served by": ", ".join(sorted(model.custom_serving)) or "n/a",
                "Source": model.source.page,
            }
        )
    return rows


# ---------------------------------------------------------------- Custom Model Import
# The stand-in's own statement of what a model import job accepts, read on IMPORT_CHECKED
# (the workshop keeps its own in its library; a contract test compares the two):
# [CMI]      "Import a customized model into Amazon Bedrock", _DOCS +
#            "model-customization-import-model.html": only its opening could be read here
#            (Regions, the features it does not work with, the patterns it serves); its list
#            of architectures and its file requirements could NOT be read.
# [CMI-JOB]  "Submit a model import job", _DOCS + "model-customization-import-model-job.html":
#            the job detects the architecture and validates that it is a compatible one.
# [CMI-CODE] "Code samples for Custom Model Import" (read in its ja_jp edition), _DOCS +
#            "custom-model-import-code-samples.html": the samples apply to the Mistral AI, Llama,
#            Qwen, GPTBigCode, Flan and Mixtral architectures, all with Converse; GPT-OSS
#            models take InvokeModel only.
# [CMI-RUN]  "Invoke your imported model", _DOCS + "invoke-imported-model.html": Converse is
#            not supported for Qwen2.5, Qwen2-VL, Qwen2.5-VL and GPT-OSS models.
# [CMU]      API_CustomModelUnits (_API + "API_CustomModelUnits.html"): Bedrock determines the
#            units a model copy needs when the model is imported; no formula is published.

IMPORT_CHECKED = "2026-12-02"
"""When the Custom Model Import facts below were read."""


def _import_src(page: str, note: str = "") -> Source:
    return Source(page, IMPORT_CHECKED, note)


IMPORT_REGIONS = ("us-east-1", "us-west-2")
IMPORT_REGIONS_SOURCE = _import_src(
    _DOCS + "model-customization-import-model.html",
    "US East (N. Virginia) and US West (Oregon) in the copy read; another mirror of the page "
    "adds Europe (Frankfurt), which this catalog does not model.",
)


@dataclass(frozen=True)
class ImportArchitecture:
    """One architecture a model import job accepts, as ``config.json`` names it.

    ``converse`` says whether the family takes Converse at all; ``shapes`` names the rule
    :mod:`standin.modelimport` checks the tensor shapes with (``llama``: embeddings, every
    attention and MLP projection and the layer count; ``embedding``: the embedding table only;
    ``""``: none).
    """

    class_name: str
    model_type: str
    family: str
    converse: bool
    shapes: str
    source: Source


_ARCH_NOTE = (
    "Family from [CMI-CODE]/[CMI-RUN]; the class and model_type are transformers' names for "
    "that family, matched by the stand-in: no page read lists classes."
)
_QWEN2_NOTE = (
    _ARCH_NOTE + " Qwen2 and Qwen2.5 share Qwen2ForCausalLM and only Qwen2.5 refuses Converse "
    "[CMI-RUN]; config.json cannot tell them apart, so the stand-in takes the conservative "
    "reading: no Converse."
)
_CMI_CODE = _DOCS + "custom-model-import-code-samples.html"
_CMI_RUN = _DOCS + "invoke-imported-model.html"

IMPORT_ARCHITECTURES: Mapping[str, ImportArchitecture] = {
    a.class_name: a
    for a in (
        ImportArchitecture(
            "LlamaForCausalLM", "llama", "Llama", True, "llama", _import_src(_CMI_CODE, _ARCH_NOTE)
        ),
        ImportArchitecture(
            "MistralForCausalLM",
            "mistral",
            "Mistral AI",
            True,
            "llama",
            _import_src(_CMI_CODE, _ARCH_NOTE),
        ),
        ImportArchitecture(
            "MixtralForCausalLM",
            "mixtral",
            "Mixtral",
            True,
            "embedding",
            _import_src(_CMI_CODE, _ARCH_NOTE + " Experts' shapes are not checked."),
        ),
        ImportArchitecture(
            "Qwen2ForCausalLM",
            "qwen2",
            "Qwen2 / Qwen2.5",
            False,
            "llama",
            _import_src(_CMI_RUN, _QWEN2_NOTE),
        ),
        ImportArchitecture(
            "GPTBigCodeForCausalLM",
            "gpt_bigcode",
            "GPTBigCode",
            True,
            "embedding",
            _import_src(_CMI_CODE, _ARCH_NOTE),
        ),
        ImportArchitecture(
            "T5ForConditionalGeneration",
            "t5",
            "Flan",
            True,
            "embedding",
            _import_src(_CMI_CODE, _ARCH_NOTE + " Flan-T5 models are T5 checkpoints."),
        ),
        ImportArchitecture(
            "Qwen2VLForConditionalGeneration",
            "qwen2_vl",
            "Qwen2-VL",
            False,
            "",
            _import_src(_CMI_RUN, _ARCH_NOTE + " Vision towers' shapes are not checked."),
        ),
        ImportArchitecture(
            "Qwen2_5_VLForConditionalGeneration",
            "qwen2_5_vl",
            "Qwen2.5-VL",
            False,
            "",
            _import_src(_CMI_RUN, _ARCH_NOTE + " Vision towers' shapes are not checked."),
        ),
        ImportArchitecture(
            "GptOssForCausalLM",
            "gpt_oss",
            "GPT-OSS",
            False,
            "embedding",
            _import_src(_CMI_CODE, _ARCH_NOTE),
        ),
    )
}
"""Architectures a model import job accepts, by ``config.json``'s class name. The full list of
[CMI] could not be read, so families it may add (Llama vision, Qwen3, ...) are refused until
someone reads it and adds them here with a source."""

IMPORT_DTYPES = frozenset({"F32", "F16", "BF16"})
"""Safetensors dtype codes of weights a job accepts: fp32, fp16 and bf16 (quantised ones are
refused)."""
IMPORT_DTYPES_SOURCE = _import_src(
    _DOCS + "model-customization-import-model.html",
    "The project's design guide and issue #14 state fp32/fp16/bf16; the part of [CMI] that "
    "states precisions could not be read here.",
)

IMPORT_TOKENIZER_CONFIG = "tokenizer_config.json"
IMPORT_TOKENIZER_VOCABULARIES = ("tokenizer.json", "tokenizer.model", "spiece.model", "vocab.json")
IMPORT_CHAT_TEMPLATES = ("chat_template.jinja", "chat_template.json")
IMPORT_TOKENIZER_SOURCE = _import_src(
    _DOCS + "model-customization-import-model.html",
    "The part of [CMI] naming the tokenizer files could not be read. The stand-in's rule: "
    "tokenizer_config.json and one vocabulary file (what transformers' save_pretrained writes "
    "for fast, SentencePiece and BPE tokenizers). A chat template (in tokenizer_config.json "
    "or its own file) decides instructSupported for a family that takes Converse: Converse "
    "turns messages into a prompt with it. Bedrock documents no rule for that field.",
)

IMPORT_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
IMPORT_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
IMPORT_WEIGHTS_SOURCE = _import_src(
    _DOCS + "model-customization-import-model-job.html",
    "Weights must be Hugging Face safetensors (issue #14, the design guide); a PEFT adapter "
    "alone is not a model (issue #14: 'no separate adapters'; merge it first). The stand-in "
    "also refuses an adapter beside a model (conservative: Bedrock would not apply it).",
)

CMU_BYTES = 8 * 2**30
"""Weight bytes one custom model unit holds in the stand-in's rule (see CMU_SOURCE)."""
CMU_VERSION = "v1.0"
CMU_SOURCE = _import_src(
    _API + "API_CustomModelUnits.html",
    "AWS publishes no formula. The stand-in's rule, NOT AWS's: one unit per started 8 GiB of "
    "weights at 2 bytes a parameter (16-bit serving, whatever the folder's dtype), at least "
    "one. The version string fits botocore's pattern v\\d+.\\d+; the value AWS sends was not "
    "seen.",
)


def custom_model_units(parameters: int) -> int:
    """Custom model units per model copy for a model of ``parameters`` (CMU_SOURCE's rule)."""
    return max(1, math.ceil(parameters * 2 / CMU_BYTES))


# ------------------------------------------------- Custom Model Import: running imported models
# What the stand-in's runtime does with an imported model, read on IMPORT_CHECKED with the
# search tool (docs and issues corpora). Only each page's opening could be read: where a fact
# sits further down a page, the note says it could NOT be read and what the stand-in chose.
# [CMI-RUN]   "Invoke your imported model", _DOCS + "invoke-imported-model.html" (English
#             edition, two mirrors; ko_kr edition for the paragraph on parameters): an imported
#             model answers InvokeModel and InvokeModelWithResponseStream on demand, and
#             Converse/ConverseStream for the messages format; use the inference parameters of
#             the family the model was customized from, and parameters that do not match are
#             ignored. Since 2025-11-17, models imported after 2025-11-11 take three API
#             formats: BedrockCompletion (text, "compatible with current Bedrock workflows"),
#             OpenAICompletion (text, OpenAI's Completions schema) and OpenAIChatCompletion
#             (text and images, OpenAI's Chat schema). The page's examples of each format
#             could NOT be read.
# [CMI-ADV]   "Advanced API features for imported models", _DOCS +
#             "custom-model-import-advanced-features.html": its BedrockCompletion example
#             sends the text under "prompt".
# [LLAMA]     "Meta Llama models", _DOCS + "model-parameters-meta.html": only the opening
#             (InvokeModel and InvokeModelWithResponseStream take the request body) was read;
#             its request and response fields could NOT be read here.
# [MISTRAL]   "Mistral AI text completion", _DOCS + "model-parameters-mistral-text-completion
#             .html" (English and zh_cn editions): request {prompt, max_tokens, stop,
#             temperature, top_p, top_k}; the response is cut once it reaches max_tokens.
# [MNR]       ModelNotReadyException in botocore's bedrock-runtime model (1.44.5) and the SDK
#             references (sdk-for-kotlin bedrockruntime, aws-sdk-bedrockruntime for Ruby,
#             sdk-for-python v1 "Bedrock Runtime > Errors > ModelNotReadyException"): HTTP
#             429, "not ready to serve inference requests", SDKs retry it up to 5 times.
# [MNR-KC]    AWS re:Post Knowledge Center, "bedrock-imported-models-modelnotreadyexception"
#             (https://repost.aws/es/knowledge-center/bedrock-imported-models-modelnotreadyexception,
#             Spanish edition): Bedrock evicts an imported model it has not used for a while,
#             "normally one hour"; the next call gets ModelNotReadyException ("Model is not ready
#             for inference. Wait and try your request again"); keep a steady load or batch
#             requests; imported models have no provisioned throughput equivalent.
# NOT found (docs and issues searched): a documented idle time other than [MNR-KC]'s "normally
# one hour" (the five minutes in the design guide are billing windows, not an idle time), how
# long a cold start lasts, the streamed chunk format of imported models, the default
# temperature and token limit Bedrock applies to an imported model.

IMPORT_IDLE_SECONDS = 3600.0
"""How long an imported model stays loaded without calls before Bedrock drops its copy."""
IMPORT_IDLE_SOURCE = _import_src(
    "https://repost.aws/knowledge-center/bedrock-imported-models-modelnotreadyexception",
    "[MNR-KC]: 'normally one hour'. The stand-in's default; WORKSHOP_STANDIN_IMPORT_IDLE_SECONDS "
    "changes it.",
)
IMPORT_NOT_READY_CODE = "ModelNotReadyException"
IMPORT_NOT_READY_STATUS = 429
IMPORT_NOT_READY_TEXT = (
    "The imported model {name} is being loaded (a cold start: no copy of it is in memory, "
    "after its import or after {idle:g} s without calls). Retry with exponential back-off; "
    "the AWS SDKs retry this error by themselves."
)
"""The stand-in's own wording (not Bedrock's) of the cold-start answer."""
IMPORT_NOT_READY_SOURCE = _import_src(
    _CMI_RUN,
    "[MNR] for the code, the status and the SDK retries; [MNR-KC] for the cause and the advice.",
)

BEDROCK_COMPLETION = "BedrockCompletion"
OPENAI_COMPLETION = "OpenAICompletion"
OPENAI_CHAT_COMPLETION = "OpenAIChatCompletion"
IMPORT_FORMATS_SOURCE = _import_src(
    _CMI_RUN,
    "The three format names are [CMI-RUN]'s. How a body picks its format could NOT be read: "
    "the stand-in's rule is 'messages' -> OpenAIChatCompletion; 'prompt' with 'max_tokens' "
    "(and no 'max_gen_len') -> OpenAICompletion; any other 'prompt' -> BedrockCompletion "
    "(public client code that quotes AWS's format table routes max_gen_len and max_tokens "
    "this way). BedrockCompletion's fields are taken from Bedrock's Llama format (prompt, "
    "max_gen_len, temperature, top_p; generation, prompt_token_count, generation_token_count, "
    "stop_reason 'stop' or 'length'), which its name and [CMI-RUN]'s 'compatible with "
    "current Bedrock workflows' point to; [LLAMA]'s field list itself could NOT be read. The "
    "OpenAI formats answer in OpenAI's schemas (choices, usage, finish_reason 'stop' or "
    "'length'), as [CMI-RUN] says they follow them; OpenAI's pages were not read here.",
)
IMPORT_DEFAULT_MAX_TOKENS = 512
"""Tokens generated when a body names no limit: the stand-in's choice (not found)."""
IMPORT_STOP_REASONS = {
    BEDROCK_COMPLETION: {"end": "stop", "limit": "length"},
    OPENAI_COMPLETION: {"end": "stop", "limit": "length"},
    OPENAI_CHAT_COMPLETION: {"end": "stop", "limit": "length"},
}
"""Why generation stopped (the model's end-of-sequence token, or the token limit), per format."""
IMPORT_TEMPERATURE_NOTE = (
    "Bedrock's default temperature for an imported model was not found: the stand-in decodes "
    "greedily when the body names none (or 0), so such answers are reproducible, and samples "
    "with a seed taken from the request body when it is above 0."
)
