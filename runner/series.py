"""The series, once: which notebooks, in what order, and what each does.

The runner's order (:data:`runner.run.NOTEBOOKS`), the table at the top of every
notebook and the table in the README are all written from :data:`SERIES`: ``make format``
rewrites the copies between the ``series`` markers and ``make lint`` fails when one has
drifted (``python -m tools.notebooks --check``).
"""

from __future__ import annotations

from dataclasses import dataclass

START, END = "<!-- series:start -->", "<!-- series:end -->"
"""Markers around each written copy; in a notebook they are invisible HTML comments."""


@dataclass(frozen=True)
class Notebook:
    """One notebook of the series.

    Attributes:
        path: Relative to the repository root.
        summary: One line for the table at the top of every notebook.
        detail: What it does, for the README.
        local: How long it takes against the local stand-in (measured, see the README).
        account: What it takes and costs against a real account.
    """

    path: str
    summary: str
    detail: str
    local: str
    account: str


SERIES: tuple[Notebook, ...] = (
    Notebook(
        path="00_setup.ipynb",
        summary=(
            "Checks the account and Region, creates the bucket and the Bedrock service role, "
            "writes the state file the lessons read"
        ),
        detail=(
            "Preflight (credentials, Region, what Bedrock customizes there and each model's "
            "lifecycle), bucket and Bedrock service role, the state file claimed for this "
            "backend, account and Region; each lesson then prepares its own data"
        ),
        local="~2 s",
        account="~1 min, no hourly charge",
    ),
    Notebook(
        path="fine-tuning/01_fine_tune_and_evaluate.ipynb",
        summary=(
            "Prepares data for its model (Amazon Nova Micro by default; any live family), "
            "fine-tunes it, serves it the cheapest way, compares it with its base model"
        ),
        detail=(
            "Fine-tunes a model on dialogue summaries (Amazon Nova Micro by default; `base_model`"
            " picks any live family: Nova Micro/Lite/Pro, Nova 2 Lite (its base model called "
            "through an inference profile), Llama 3.1 in us-west-2, with data format, "
            "hyperparameters and serving from the registry in `utils/models.py`; a retired one "
            "stops at the preflight), prepares, validates and uploads the dialogues in that "
            "model's format, waits with progress, plots loss curves, serves the "
            "model the cheapest way (an on-demand deployment; provisioned throughput with "
            "`provisioned_throughput=True`), compares base and custom answers, scores both with "
            "fmeval, removes the endpoint"
        ),
        local="~10 s",
        account=(
            "1-3 h; training tokens, model storage, tokens served (**or provisioned throughput by"
            " the hour**)"
        ),
    ),
    Notebook(
        path="fine-tuning/02_fine_tune_multimodal.ipynb",
        summary=(
            "Fine-tunes Amazon Nova Lite on chart images and their captions, serves it on demand,"
            " compares it with its base model on held-out charts"
        ),
        detail=(
            "Image + text fine-tuning of Amazon Nova Lite (Nova Pro allowed; Llama 3.2 Vision, "
            "for which it was first written, reached end of life): charts drawn with matplotlib "
            "from seeded random data (`utils/charts/`) with captions derived from the same "
            "data, images uploaded to S3 and referenced by `s3Location` in "
            "`bedrock-conversation-2024` records, validated with the S3 image checks, a "
            "`FINE_TUNING` job, loss curves, an on-demand deployment, base and fine-tuned models "
            "captioning held-out charts (shown under each chart) and scored with fmeval, "
            "deployment removed"
        ),
        local="~15 s",
        account="1-3 h; training tokens (images count too) × epochs, model storage, tokens served",
    ),
    Notebook(
        path="fine-tuning/03_reinforcement_fine_tuning.ipynb",
        summary=(
            "Reinforcement fine-tunes Amazon Nova 2 Lite on arithmetic word problems with a "
            "reward function deployed to AWS Lambda, compares its held-out accuracy with the base"
        ),
        detail=(
            "Reinforcement fine-tuning (`REINFORCEMENT_FINE_TUNING`) of Amazon Nova 2 Lite: "
            "seeded word problems with computed answers in train, validation and held-out "
            "splits, validated; the reward function `fine-tuning/rewards/arithmetic_reward.py` "
            "run locally, then deployed to AWS Lambda (a role with its own logs only) and "
            "called once; `lambda:InvokeFunction` on that function for the service role; "
            "`rftConfig` with its numeric hyperparameters checked and a cost estimate whose "
            "price is unknown; reward curves; an on-demand deployment; base and tuned accuracy "
            "on held-out problems scored by the same reward file, with intervals; the "
            "model-as-judge grader called once; deployment, functions, roles and grant removed"
        ),
        local="~25 s",
        account=(
            "hours; training (price not found: shown as unknown), Lambda calls, model storage, "
            "tokens served"
        ),
    ),
    Notebook(
        path="continued-pretraining/01_continued_pretraining.ipynb",
        summary=(
            "Continued pre-training of Amazon Titan Text on AWS API documentation; Titan Text has"
            " reached end of life, so on Bedrock today the preflight stops and says what remains"
        ),
        detail=(
            "Continued pre-training of Amazon Titan Text Lite (or Express) on unlabeled AWS API "
            "documentation read offline from botocore's service models. **Titan Text has reached "
            "end of life**, so against Bedrock as it is today the preflight asks Bedrock, gets "
            "`ResourceNotFoundException: This model version has reached the end of its life`, and"
            " stops before anything is created (the run summary marks it *stopped*) with what "
            "remains instead. The whole path (records packed within the token budget, a "
            "`CONTINUED_PRE_TRAINING` job, loss and perplexity curves, provisioned throughput, "
            "base and custom models scored with fmeval) still runs against the stand-in playing a"
            ' day when Titan was active (`StandIn.play("established", "2025-01-15")`), and the '
            "tests run it there"
        ),
        local="seconds (stops)",
        account="nothing: stops before any call that bills",
    ),
    Notebook(
        path="distillation/01_distillation_from_prompts.ipynb",
        summary=(
            "Distils Amazon Nova Pro into Amazon Nova Micro from unanswered prompts, serves the "
            "student on demand, compares teacher, distilled student and student base"
        ),
        detail=(
            "Distillation from Amazon Nova Pro (teacher) into Amazon Nova Micro (student; Lite "
            "allowed): 100+ dialogue-summarization prompts with no answers in "
            "`bedrock-conversation-2024` (system block and user turn only), validated and "
            "uploaded; a `DISTILLATION` job with the teacher in `customizationConfig`, loss "
            "curves, an on-demand deployment of the student, teacher, distilled student and "
            "student base scored with fmeval on held-out dialogues with the gap to the teacher, "
            "deployment removed"
        ),
        local="~10 s",
        account=(
            "1-3 h; teacher inference on every prompt, training tokens × epochs, model storage, "
            "tokens served"
        ),
    ),
    Notebook(
        path="distillation/02_distillation_from_invocation_logs.ipynb",
        summary=(
            "Logs tagged Amazon Nova Pro calls to S3, distils Nova Micro from the logs filtered "
            "by request metadata, then switches logging back off"
        ),
        detail=(
            "Distillation from model invocation logs: a bucket policy statement that lets only "
            "your account's Bedrock write the logs, `put_model_invocation_logging_configuration` "
            "(refused if logging already goes elsewhere unless `replace_existing_logging=True`; "
            "the previous setting is recorded and put back), Nova Pro called with "
            "`requestMetadata` tags plus other traffic, the logs waited for and shown, logging "
            "switched back off, a `DISTILLATION` job reading `invocationLogsConfig` with "
            "`requestMetadataFilters` (`andAll`) and `usePromptResponse`, loss curves, on-demand "
            "deployment, teacher vs distilled vs base scored with fmeval"
        ),
        local="~10 s",
        account=(
            "1-3 h; teacher calls, log storage, training tokens × epochs, model storage, tokens "
            "served"
        ),
    ),
    Notebook(
        path="custom-model-import/01_adapt_and_import.ipynb",
        summary=(
            "Continues pre-training an open model (SmolLM2-135M) with LoRA in the kernel, "
            "imports it with Custom Model Import, calls, times and scores it"
        ),
        detail=(
            "Custom Model Import: the folder checked against what Bedrock accepts before any "
            "upload; continued pre-training of SmolLM2-135M-Instruct (built offline by "
            "`00_setup.ipynb` or `make assets`; `model_folder` takes any Hugging Face folder) "
            "with LoRA on AWS "
            "documentation, held-out perplexity before and after; adapters merged and saved in "
            "bf16; a read-only import role, the upload with progress, a model import job "
            "recorded before it is sent, the imported model's units and cost; `invoke_model` in "
            "its architecture's body with a cold start backed off, streaming with time to "
            "first token, Converse; latency at concurrency 1, 2 and 4; base, adapted and Amazon"
            " Nova Micro scored with fmeval; imported model and folder removed"
        ),
        local="~55 s",
        account=(
            "minutes; CMU storage per month, active copies per 5-minute window (prices unknown "
            "to the workshop)"
        ),
    ),
    Notebook(
        path="03_cleanup.ipynb",
        summary="Removes everything the workshop created",
        detail=(
            "Removes everything the workshop recorded (throughputs first; invocation logging put "
            "back as it was), shows what it removed and fails if anything is left"
        ),
        local="seconds",
        account="stops all charges",
    ),
)
"""The series in the order it runs; setup first, cleanup last."""


def notebook_table(current: str) -> str:
    """The table at the top of notebook ``current``, which it marks."""
    rows = ["| | Notebook | What it does |", "|---|---|---|"]
    for nb in SERIES:
        here = "**▶ you are here**" if nb.path == current else ""
        rows.append(f"| {here} | `{nb.path}` | {nb.summary} |")
    return "\n".join(rows)


def readme_table() -> str:
    """The README's table of the series, with times and costs."""
    rows = ["| Notebook | What it does | Local | Your account |", "|---|---|---|---|"]
    for nb in SERIES:
        rows.append(f"| [`{nb.path}`]({nb.path}) | {nb.detail} | {nb.local} | {nb.account} |")
    return "\n".join(rows)


def replace_marked(text: str, table: str) -> str:
    """``text`` with what lies between the markers replaced by ``table``.

    Raises:
        ValueError: The markers are missing or out of order.
    """
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"expected {START} ... {END} around the series table")
    return f"{text[: start + len(START)]}\n{table}\n{text[end:]}"
