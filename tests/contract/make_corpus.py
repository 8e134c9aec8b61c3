"""Write the contract corpus: small JSON Lines datasets and verdicts.json.

Each case is one dataset file plus one manifest entry that says what Amazon Bedrock would decide
about it, with the documented rule behind the verdict and where that rule is written down. The
verdicts come from AWS documentation and AWS's own sample validators, never from this project's
code, so that two independently written validators can be checked against them.

    python tests/contract/make_corpus.py             # rewrite the files next to this script
    python tests/contract/make_corpus.py --out DIR   # write them somewhere else

The output is deterministic (standard library only, no randomness): running the script again
reproduces every file byte for byte.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

CHECKED = "2026-12-01"
READ = f"read {CHECKED}"
READ_RFT = "read 2026-12-02"  # the reinforcement fine-tuning pages

BUCKET = "s3://contract-corpus"
OWNER = "123456789012"
SCHEMA_VERSION = "bedrock-conversation-2024"

# Where the rules come from. Every entry names the page or file and the day it was read.
NOVA_FT = (
    "Amazon Nova User Guide, 'Preparing data for fine-tuning Understanding models' "
    f"(docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html, {READ})"
)
NOVA2_SFT = (
    "Amazon Nova 2 User Guide, 'Preparing data for SFT on Amazon Nova 2' "
    f"(docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-sft-2.html, {READ})"
)
NOVA_MEDIA = (
    "Amazon Nova User Guide, 'Multimodal support for Amazon Nova' "
    f"(docs.aws.amazon.com/nova/latest/userguide/modalities.html, {READ})"
)
NOVA_SAMPLE = (
    "AWS sample validator aws-samples/amazon-bedrock-samples, custom-models/bedrock-fine-tuning/"
    "nova/understanding/dataset_validation/nova_ft_dataset_validator.py and README.md "
    f"(github.com/aws-samples/amazon-bedrock-samples, commit 85fba9d, {READ})"
)
NOVA_SAMPLE_TOKENS = (
    "AWS sample validator nova_ft_dataset_validator.py as revised in aws-samples/"
    "amazon-bedrock-samples commit 12ea5e4, 'Update nova understanding validation script with "
    "invalid tokens' (2025-07-14; the main-branch snapshot 85fba9d does not have this check yet), "
    f"{READ}"
)
BEDROCK_PREPARE = (
    "Amazon Bedrock User Guide, 'Prepare your training datasets for fine-tuning and continued "
    "pre-training' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html, {READ})"
)
BEDROCK_TEXT = (
    "Amazon Bedrock User Guide, 'Prepare data for fine-tuning text-to-text models' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/preparing-text-data.html, {READ})"
)
BEDROCK_IMAGE_TEXT = (
    "Amazon Bedrock User Guide, 'Prepare data for fine-tuning image and text processing models' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/preparing-image-text-data.html, {READ})"
)
CONVERSE = (
    "Amazon Bedrock User Guide, 'Using the Converse API' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html, {READ})"
)
LLAMA_SAMPLE = (
    "AWS sample validator aws-samples/amazon-bedrock-samples, custom-models/bedrock-fine-tuning/"
    "meta-llama/dataset_validation/ (dataset_validation.py, utils/schema.py, README.md) "
    f"(github.com/aws-samples/amazon-bedrock-samples, commit 85fba9d, {READ})"
)
TITAN_MODELS = (
    "Amazon Bedrock User Guide, 'Amazon Titan Text models' (Titan Text G1 - Lite: max tokens 4K) "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/titan-text-models.html, {READ})"
)
TITAN_CPT_ISSUE = (
    "aws-samples/amazon-bedrock-workshop issue #224, job error 'Maximum input token count 4919 "
    "exceeds limit of 4096 for train data' for amazon.titan-text-lite-v1 continued pre-training "
    f"(github.com/aws-samples/amazon-bedrock-workshop/issues/224, {READ})"
)
HAIKU_SAMPLE = (
    "AWS sample validator aws-samples/amazon-bedrock-samples, custom-models/bedrock-fine-tuning/"
    "claude-haiku/DataValidation/ (README.md, data_validation.py) "
    f"(github.com/aws-samples/amazon-bedrock-samples, commit 85fba9d, {READ})"
)
HAIKU_COOKBOOK = (
    "Anthropic cookbook, 'Finetuning Claude 3 Haiku on Bedrock' "
    f"(platform.claude.com/cookbook/finetuning-finetuning-on-bedrock, {READ})"
)
DISTILL_PROMPTS = (
    "Amazon Bedrock User Guide, 'Option 1: Provide your own prompts for data preparation' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/distillation-data-prep-option-1.html, {READ})"
)
DISTILL_PREPARE = (
    "Amazon Bedrock User Guide, 'Prepare your training datasets for distillation' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/distillation-prepare-datasets.html, {READ})"
)
DISTILL_SAMPLE = (
    "AWS sample validator aws-samples/amazon-bedrock-samples, custom-models/model_distillation/"
    "dataset-validation/ (README.md 'Dataset constraints', schema.py, constants.py "
    "MIN_NUM_PROMPTS = 100) "
    f"(github.com/aws-samples/amazon-bedrock-samples, commit 85fba9d, {READ})"
)

RFT_PREPARE = (
    "Amazon Bedrock User Guide, 'Prepare data for Amazon Nova models' (reinforcement "
    "fine-tuning: OpenAI chat completion format, messages and reference_answer, optional extra "
    "fields, at least 100 training records) "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html, {READ_RFT})"
)
RFT_NOVA = (
    "Amazon Bedrock User Guide, 'Fine-tune Amazon Nova models with reinforcement fine-tuning' "
    f"(docs.aws.amazon.com/bedrock/latest/userguide/rft-nova-models.html, {READ_RFT})"
)
RFT_NOVA2 = (
    "Amazon Nova 2 User Guide / SageMaker AI, 'Preparing data for RFT on Amazon Nova 2' "
    "(text-based training data; messages with system, user and optionally assistant turns; "
    "reference_answer required) "
    f"(docs.aws.amazon.com/nova/latest/nova2-userguide/nova-data-prep-rft-2.html, {READ_RFT})"
)


def sources(*names: str) -> str:
    return "; ".join(names)


# --- text -----------------------------------------------------------------------------------

SUBJECTS = (
    "a cast iron pan",
    "a road bike chain",
    "a sourdough starter",
    "a vegetable garden",
    "a wool sweater",
    "a leather notebook",
    "a freshwater fish tank",
    "a houseplant in winter",
    "a kitchen knife",
    "a pair of hiking boots",
    "a wooden cutting board",
    "a laptop battery",
    "a compost heap",
    "a violin bow",
    "a tent after rain",
    "a coffee grinder",
    "a watercolor brush",
    "a snow shovel",
    "a bird feeder",
    "a garden hose",
    "a sewing machine",
    "a ceramic teapot",
    "a rain jacket",
    "a cordless drill",
    "a window box of herbs",
)

SYSTEM = "Give short, practical household care tips."

SENTENCES = (
    "The river leaves the hills in a wide bend and slows as it reaches the valley floor.",
    "Farmers along its banks have grown barley and beans there for as long as records go back.",
    "In spring the meltwater lifts the level by a meter and spreads fine silt on the fields.",
    "Most villages sit on the higher terraces, where the ground stays dry through the wet months.",
    "A stone bridge with five arches carries the old market road across the narrowest point.",
    "Travelers once paid a toll there, and the keeper's cottage still stands by the east arch.",
    "Summer evenings bring swifts that hunt insects low over the water until the light fades.",
    "The town library keeps a shelf of diaries written by the families who worked the mills.",
    "Those diaries describe floods, good harvests, weddings, and the price of flour each autumn.",
    "One writer noted that the bells could be heard three valleys away on a still winter morning.",
    "The mills closed long ago, but two of the wheels were restored by volunteers last decade.",
    "Visitors can now watch the wheels turn on open days and buy flour ground on the spot.",
    "Further downstream the valley narrows and the river runs quickly between steep wooded slopes.",
    "Anglers favor the deep pools below the rapids, where trout rest in the cooler water.",
    "A footpath follows the water for twelve kilometers and is marked with small wooden posts.",
    "Walkers are asked to close every gate, because sheep graze the meadows beside the path.",
    "Autumn turns the beech woods copper and gold, and the paths fill with fallen leaves.",
    "Local schools run a yearly count of the birds that winter along the lower reaches.",
    "The count has shown more herons and fewer ducks over the past twenty years.",
    "Scientists think cleaner water and changes in the fields explain much of that shift.",
    "Near the estuary the river widens again and meets the tide twice every day.",
    "Mud flats appear at low water and draw thousands of wading birds in the cold months.",
    "A small ferry still crosses the mouth of the river, as one has for several centuries.",
    "Its timetable depends on the tide, so passengers check the board by the slipway first.",
)


def question(i: int) -> str:
    return f"How should I look after {SUBJECTS[i % len(SUBJECTS)]}? (question {i + 1})"


def answer(i: int) -> str:
    return (
        f"Keep {SUBJECTS[i % len(SUBJECTS)]} clean and dry, and check it weekly (answer {i + 1})."
    )


def follow_up(i: int) -> str:
    return f"How often should I clean it more deeply? (question {i + 1}b)"


def follow_up_answer(i: int) -> str:
    return "Once a month, or sooner after heavy use."


def prose(min_chars: int, start: int) -> str:
    """English prose of at least min_chars characters, built from whole sentences."""
    parts: list[str] = []
    size = -1
    k = 0
    while size < min_chars:
        sentence = SENTENCES[(start + k) % len(SENTENCES)]
        parts.append(sentence)
        size += len(sentence) + 1
        k += 1
    return " ".join(parts)


# --- record builders --------------------------------------------------------------------------


def dumps(record: object) -> str:
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


def text(value: str) -> dict:
    return {"text": value}


def image(n: int, fmt: str = "png") -> dict:
    ext = "jpg" if fmt == "jpeg" else fmt
    location = {"uri": f"{BUCKET}/images/chart-{n}.{ext}", "bucketOwner": OWNER}
    return {"image": {"format": fmt, "source": {"s3Location": location}}}


def video(n: int, fmt: str = "mp4") -> dict:
    location = {"uri": f"{BUCKET}/videos/clip-{n}.{fmt}", "bucketOwner": OWNER}
    return {"video": {"format": fmt, "source": {"s3Location": location}}}


def message(role: str, *blocks: dict) -> dict:
    return {"role": role, "content": list(blocks)}


def converse(messages: list[dict], system: str | None = None) -> dict:
    record: dict = {"schemaVersion": SCHEMA_VERSION}
    if system is not None:
        record["system"] = [text(system)]
    record["messages"] = messages
    return record


def conversation_text(i: int) -> dict:
    """Converse-format text record; every third one has two exchanges."""
    messages = [message("user", text(question(i))), message("assistant", text(answer(i)))]
    if i % 3 == 2:
        messages += [
            message("user", text(follow_up(i))),
            message("assistant", text(follow_up_answer(i))),
        ]
    return converse(messages, SYSTEM if i % 2 == 0 else None)


def image_question(i: int, count: int = 1) -> str:
    if count == 1:
        return f"What does chart {i + 1} show? Answer in one sentence."
    return f"What do these {count} charts for set {i + 1} show together? Answer in one sentence."


def image_answer(i: int) -> str:
    return f"Chart set {i + 1} shows monthly rainfall, with the wettest month in early summer."


def conversation_image(i: int, count: int = 1, fmt: str = "png") -> dict:
    """Single exchange: a question with `count` images, answered in text."""
    images = [image(i * 20 + k + 1, fmt) for k in range(count)]
    user = message("user", text(image_question(i, count)), *images)
    return converse([user, message("assistant", text(image_answer(i)))])


def conversation_video(i: int) -> dict:
    user = message("user", text(f"Summarize what happens in clip {i + 1}."), video(i + 1))
    reply = message("assistant", text(f"Clip {i + 1} shows a ferry crossing a river at high tide."))
    return converse([user, reply])


def prompt_completion(i: int) -> dict:
    return {"prompt": question(i), "completion": answer(i)}


def pretraining(i: int) -> dict:
    return {"input": prose(150 + 30 * (i % 5), 3 * i)}


def haiku_messages(i: int) -> dict:
    messages = [{"role": "user", "content": question(i)}]
    messages.append({"role": "assistant", "content": answer(i)})
    if i % 4 == 3:
        messages.append({"role": "user", "content": follow_up(i)})
        messages.append({"role": "assistant", "content": follow_up_answer(i)})
    return {"system": SYSTEM, "messages": messages} if i % 2 == 0 else {"messages": messages}


def distillation_prompt(i: int) -> dict:
    """A single-turn prompt; every tenth carries a reference answer and every tenth a system."""
    messages = [message("user", text(f"One care tip for {SUBJECTS[i % len(SUBJECTS)]}? ({i + 1})"))]
    if i % 10 == 9:
        messages.append(message("assistant", text(answer(i))))
    return converse(messages, SYSTEM if i % 10 == 0 else None)


RFT_SYSTEM = "Solve the word problem. End your reply with 'Answer: <number>'."
RFT_ITEMS = ("apples", "pencils", "stamps", "marbles", "tickets", "shells", "coins")


def rft_prompt(i: int) -> dict:
    """An arithmetic word problem with its answer for the grader; every fifth has extra fields."""
    a, b = 12 + (7 * i) % 40, 3 + (5 * i) % 11
    item = RFT_ITEMS[i % len(RFT_ITEMS)]
    if i % 2 == 0:
        problem, result = f"Mia has {a} {item} and buys {b} more. How many does she have?", a + b
    else:
        problem, result = f"Leo has {a} {item} and gives away {b}. How many are left?", a - b
    record: dict = {
        "messages": [
            {"role": "system", "content": RFT_SYSTEM},
            {"role": "user", "content": f"{problem} (problem {i + 1})"},
        ],
        "reference_answer": {"answer": result},
    }
    if i % 5 == 4:
        record["id"] = f"arith-{i + 1:03d}"
        record["difficulty"] = "easy"
    return record


# --- cases ------------------------------------------------------------------------------------

RULE_SETS = {
    "nova-conversation": ("fine-tuning", "amazon.nova-lite-v1:0"),
    "nova-micro-conversation": ("fine-tuning", "amazon.nova-micro-v1:0"),
    "llama-3.2-conversation": ("fine-tuning", "meta.llama3-2-3b-instruct-v1:0"),
    "llama-3.2-vision-conversation": ("fine-tuning", "meta.llama3-2-11b-instruct-v1:0"),
    "llama-3.1-prompt-completion": ("fine-tuning", "meta.llama3-1-8b-instruct-v1:0"),
    "titan-prompt-completion": ("fine-tuning", "amazon.titan-text-lite-v1"),
    "titan-cpt": ("continued-pretraining", "amazon.titan-text-lite-v1"),
    "claude-3-haiku-messages": ("fine-tuning", "anthropic.claude-3-haiku-20240307-v1:0"),
    # A student Bedrock documents for distillation ("Customizing Amazon Nova models").
    "distillation-prompts": ("distillation", "amazon.nova-micro-v1:0"),
    # The one model Bedrock documents for reinforcement fine-tuning ("Amazon Nova 2 Lite").
    "rft-prompts": ("reinforcement-fine-tuning", "amazon.nova-2-lite-v1:0"),
}

# Records per file. Each is at or above the documented (or AWS-validator) minimum for its rule
# set, so that only the one planted defect can fail a file.
SIZES = {
    "nova-conversation": 10,
    "nova-micro-conversation": 10,
    # "Prepare data for fine-tuning your models": Llama takes 100 to 10,000 records across the
    # training and validation files.
    "llama-3.2-conversation": 100,
    "llama-3.2-vision-conversation": 100,
    "llama-3.1-prompt-completion": 100,
    "titan-prompt-completion": 10,
    "titan-cpt": 10,
    "claude-3-haiku-messages": 32,
    "distillation-prompts": 100,
    # "Prepare data for Amazon Nova models": at least 100 training records for RFT.
    "rft-prompts": 100,
}

CASES: list[dict] = []
FILES: dict[str, list[str]] = {}


def add(
    case_id: str,
    rules: str,
    lines: list[str],
    *,
    rule: str | None,
    line: int | None,
    why: str,
    source: str,
) -> None:
    """Register one case: its data lines and its manifest entry."""
    assert case_id not in FILES, case_id
    job, model = RULE_SETS[rules]
    FILES[case_id] = lines
    CASES.append(
        {
            "id": case_id,
            "file": f"{case_id}.jsonl",
            "rules": rules,
            "job": job,
            "model": model,
            "split": "train",
            "valid": rule is None,
            "rule": rule,
            "line": line,
            "why": why,
            "source": source,
        }
    )


def records(build: Callable[[int], object], count: int) -> list[str]:
    return [dumps(build(i)) for i in range(count)]


def planted(build: Callable[[int], object], count: int, line: int, bad: object | str) -> list[str]:
    """`count` good records with line `line` (1-based) replaced; a str is written verbatim."""
    lines = records(build, count)
    lines[line - 1] = bad if isinstance(bad, str) else dumps(bad)
    return lines


def nova_cases() -> None:
    rules = "nova-conversation"
    n = SIZES[rules]
    add(
        "nova-valid-basic",
        rules,
        records(conversation_text, n),
        rule=None,
        line=None,
        why=(
            "Ten text-only records in the Converse-based bedrock-conversation-2024 layout: "
            "optional system prompt, messages that start with user, alternate, and end with "
            "assistant."
        ),
        source=sources(NOVA_FT, NOVA2_SFT),
    )
    add(
        "nova-valid-image",
        rules,
        records(conversation_image, n),
        rule=None,
        line=None,
        why=(
            "Every record has one PNG image by S3 URI in the user turn and a text-only assistant "
            "reply; a dataset of text with images is allowed for Nova Lite."
        ),
        source=sources(NOVA_FT, NOVA_MEDIA),
    )
    add(
        "nova-valid-video",
        rules,
        records(conversation_video, n),
        rule=None,
        line=None,
        why=(
            "Every record has exactly one MP4 video in the user turn; a dataset of text with "
            "videos, one video per sample, is allowed."
        ),
        source=sources(NOVA_FT, NOVA_MEDIA),
    )
    add(
        "nova-valid-ten-images",
        rules,
        planted(conversation_image, n, 6, conversation_image(5, count=10)),
        rule=None,
        line=None,
        why=(
            "Line 6 carries ten images in one user turn. A sample may hold several images and the "
            "limit is ten, so exactly ten is still accepted."
        ),
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    odd_version = conversation_text(4)
    odd_version["schemaVersion"] = "contract-corpus-v7"
    add(
        "nova-schemaversion-any-string",
        rules,
        planted(conversation_text, n, 5, odd_version),
        rule=None,
        line=None,
        why=(
            "Line 5 uses schemaVersion 'contract-corpus-v7'. The Nova fine-tuning page says "
            "schemaVersion can be any string value, and AWS's sample validator accepts any string."
        ),
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    numeric_version = conversation_text(2)
    numeric_version["schemaVersion"] = 2024
    add(
        "nova-schemaversion-not-string",
        rules,
        planted(conversation_text, n, 3, numeric_version),
        rule="schema",
        line=3,
        why=(
            "Line 3 gives schemaVersion as the number 2024. The field may be any string value, "
            "but it must be a string; AWS's sample validator types it as a string."
        ),
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    no_messages = {"schemaVersion": SCHEMA_VERSION, "system": [text(SYSTEM)]}
    add(
        "nova-missing-messages",
        rules,
        planted(conversation_text, n, 4, no_messages),
        rule="schema",
        line=4,
        why="Line 4 has no messages field; messages is required in every record.",
        source=sources(NOVA2_SFT, NOVA_SAMPLE),
    )
    add(
        "nova-one-message",
        rules,
        planted(conversation_text, n, 7, converse([message("user", text(question(6)))])),
        rule="roles",
        line=7,
        why=(
            "Line 7 holds a single user message. The last turn must be the assistant's reply, so "
            "a sample needs both a user and an assistant turn."
        ),
        source=sources(NOVA_FT, NOVA2_SFT, NOVA_SAMPLE),
    )
    starts_assistant = converse(
        [
            message("assistant", text(answer(1))),
            message("user", text(question(1))),
            message("assistant", text(follow_up_answer(1))),
        ]
    )
    add(
        "nova-starts-with-assistant",
        rules,
        planted(conversation_text, n, 2, starts_assistant),
        rule="roles",
        line=2,
        why="Line 2 opens with an assistant turn; the first turn must always be role user.",
        source=sources(NOVA_FT, NOVA2_SFT),
    )
    ends_user = converse(
        [
            message("user", text(question(7))),
            message("assistant", text(answer(7))),
            message("user", text(follow_up(7))),
        ]
    )
    add(
        "nova-ends-with-user",
        rules,
        planted(conversation_text, n, 8, ends_user),
        rule="roles",
        line=8,
        why="Line 8 ends with a user turn; the last turn must be the assistant's response.",
        source=sources(NOVA_FT, NOVA2_SFT),
    )
    two_users = converse(
        [
            message("user", text(question(4))),
            message("user", text(follow_up(4))),
            message("assistant", text(answer(4))),
        ]
    )
    add(
        "nova-two-users-in-a-row",
        rules,
        planted(conversation_text, n, 5, two_users),
        rule="roles",
        line=5,
        why="Line 5 has two user turns in a row; turns must alternate between user and assistant.",
        source=sources(NOVA2_SFT, NOVA_SAMPLE),
    )
    empty_text = converse([message("user", text("")), message("assistant", text(answer(8)))])
    add(
        "nova-empty-text",
        rules,
        planted(conversation_text, n, 9, empty_text),
        rule="empty",
        line=9,
        why=(
            "Line 9 has a user turn whose only content block is empty text. AWS's Nova sample "
            "validator rejects text-only content of length zero."
        ),
        source=sources(NOVA_SAMPLE),
    )
    image_in_reply = converse(
        [
            message("user", text(image_question(2)), image(41)),
            message("assistant", text(image_answer(2)), image(42)),
        ]
    )
    add(
        "nova-image-in-assistant",
        rules,
        planted(conversation_image, n, 3, image_in_reply),
        rule="media",
        line=3,
        why=(
            "Line 3 puts an image in the assistant turn. Images and videos belong in user turns "
            "only; assistant content is text."
        ),
        source=sources(NOVA2_SFT, NOVA_SAMPLE),
    )
    add(
        "nova-eleven-images",
        rules,
        planted(conversation_image, n, 4, conversation_image(3, count=11)),
        rule="media",
        line=4,
        why="Line 4 carries eleven images in one sample; at most ten are allowed per sample.",
        source=sources(NOVA_SAMPLE, NOVA_FT),
    )
    image_and_video = converse(
        [
            message("user", text("What do chart 61 and clip 61 show?"), image(61), video(61)),
            message("assistant", text("Both show the river rising during the spring melt.")),
        ]
    )
    add(
        "nova-image-and-video",
        rules,
        planted(conversation_image, n, 6, image_and_video),
        rule="media",
        line=6,
        why=(
            "Line 6 mixes an image and a video in one sample. A dataset is text with images or "
            "text with videos, never both."
        ),
        source=sources(NOVA_FT, NOVA2_SFT, NOVA_SAMPLE),
    )
    two_videos = converse(
        [
            message("user", text("Compare clip 71 with clip 72."), video(71), video(72)),
            message("assistant", text("The second clip shows the ferry at low tide.")),
        ]
    )
    add(
        "nova-two-videos",
        rules,
        planted(conversation_video, n, 2, two_videos),
        rule="media",
        line=2,
        why="Line 2 has two videos in one sample; a sample can only have one video.",
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    add(
        "nova-image-format-bmp",
        rules,
        planted(conversation_image, n, 7, conversation_image(6, fmt="bmp")),
        rule="media",
        line=7,
        why=(
            "Line 7 declares image format 'bmp'. Nova accepts PNG, JPEG, GIF and WebP images "
            "(Nova 2 SFT lists PNG, JPEG and GIF); BMP is in neither list."
        ),
        source=sources(NOVA_MEDIA, NOVA2_SFT, NOVA_SAMPLE),
    )
    reserved_user = converse(
        [
            message("user", text("Finish this line of the script. Bot: hello there")),
            message("assistant", text(answer(3))),
        ]
    )
    add(
        "nova-reserved-keyword-user",
        rules,
        planted(conversation_text, n, 4, reserved_user),
        rule="reserved",
        line=4,
        why=(
            "Line 4's user prompt contains 'Bot:'. User:, Bot:, Assistant:, System:, <image>, "
            "<video> and [EOS] are reserved; a prompt that contains one fails the job."
        ),
        source=sources(NOVA_FT, NOVA_SAMPLE_TOKENS),
    )
    reserved_system = converse(
        [message("user", text(question(0))), message("assistant", text(answer(0)))],
        system="Describe the picture the user refers to as <image> in one sentence.",
    )
    add(
        "nova-reserved-keyword-system",
        rules,
        planted(conversation_text, n, 1, reserved_system),
        rule="reserved",
        line=1,
        why=(
            "Line 1's system prompt contains '<image>', a reserved keyword; the rule covers the "
            "system prompt as well as user prompts."
        ),
        source=sources(NOVA_FT, NOVA_SAMPLE_TOKENS),
    )
    truncated = dumps(conversation_text(5))[:60]
    add(
        "nova-not-json",
        rules,
        planted(conversation_text, n, 6, truncated),
        rule="json",
        line=6,
        why="Line 6 is a truncated record and not valid JSON; each line must be one JSON object.",
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    add(
        "nova-not-object",
        rules,
        planted(conversation_text, n, 10, [question(9), answer(9)]),
        rule="json",
        line=10,
        why="Line 10 is a JSON array, not an object; each line must be a JSON object.",
        source=sources(NOVA_FT),
    )


def nova_micro_cases() -> None:
    rules = "nova-micro-conversation"
    n = SIZES[rules]
    add(
        "nova-micro-valid-text",
        rules,
        records(conversation_text, n),
        rule=None,
        line=None,
        why="Text-only Converse-format records, the only kind Nova Micro can be fine-tuned on.",
        source=sources(NOVA_FT, NOVA_SAMPLE),
    )
    add(
        "nova-micro-image",
        rules,
        planted(conversation_text, n, 3, conversation_image(2)),
        rule="media",
        line=3,
        why="Line 3 includes an image; Nova Micro is a text-only model and takes no image samples.",
        source=sources(NOVA_SAMPLE),
    )
    add(
        "nova-micro-video",
        rules,
        planted(conversation_text, n, 8, conversation_video(7)),
        rule="media",
        line=8,
        why="Line 8 includes a video; Nova Micro is a text-only model and takes no video samples.",
        source=sources(NOVA_SAMPLE),
    )


def llama_32_cases() -> None:
    rules = "llama-3.2-conversation"
    n = SIZES[rules]
    add(
        "llama32-valid-basic",
        rules,
        records(conversation_text, n),
        rule=None,
        line=None,
        why=(
            "Llama 3.2 1B/3B take the Converse API message format: schemaVersion, optional "
            "system, and alternating user and assistant messages with content block arrays."
        ),
        source=sources(BEDROCK_PREPARE, BEDROCK_TEXT),
    )
    starts_assistant = converse(
        [message("assistant", text(answer(3))), message("user", text(question(3)))]
    )
    add(
        "llama32-starts-with-assistant",
        rules,
        planted(conversation_text, n, 4, starts_assistant),
        rule="roles",
        line=4,
        why=(
            "Line 4 opens with the assistant. A conversation is a user input followed by the "
            "assistant's response, alternating, and a Converse conversation starts with a user "
            "message."
        ),
        source=sources(BEDROCK_IMAGE_TEXT, CONVERSE),
    )
    two_users = converse(
        [
            message("user", text(question(6))),
            message("user", text(follow_up(6))),
            message("assistant", text(answer(6))),
        ]
    )
    add(
        "llama32-two-users-in-a-row",
        rules,
        planted(conversation_text, n, 7, two_users),
        rule="roles",
        line=7,
        why="Line 7 has two user messages in a row; user and assistant messages must alternate.",
        source=sources(BEDROCK_IMAGE_TEXT, CONVERSE),
    )
    add(
        "llama32-missing-messages",
        rules,
        planted(conversation_text, n, 2, {"schemaVersion": SCHEMA_VERSION}),
        rule="schema",
        line=2,
        why="Line 2 has no messages array; the conversation itself is required.",
        source=sources(BEDROCK_TEXT, LLAMA_SAMPLE),
    )
    string_content = {
        "schemaVersion": SCHEMA_VERSION,
        "messages": [
            {"role": "user", "content": question(8)},
            {"role": "assistant", "content": answer(8)},
        ],
    }
    add(
        "llama32-content-not-array",
        rules,
        planted(conversation_text, n, 9, string_content),
        rule="schema",
        line=9,
        why=(
            "Line 9 gives content as a plain string; in the Converse format content is an array "
            "of content blocks such as {'text': ...}."
        ),
        source=sources(BEDROCK_TEXT, CONVERSE, LLAMA_SAMPLE),
    )
    add(
        "llama32-text-model-image",
        rules,
        planted(conversation_text, n, 5, conversation_image(4)),
        rule="media",
        line=5,
        why=(
            "Line 5 includes an image, but Llama 3.2 3B is listed only as a text-to-text model; "
            "image fine-tuning is for the 11B and 90B Vision Instruct models."
        ),
        source=sources(BEDROCK_PREPARE),
    )
    add(
        "llama32-not-json",
        rules,
        planted(conversation_text, n, 3, "{'schemaVersion': 'bedrock-conversation-2024'}"),
        rule="json",
        line=3,
        why="Line 3 uses single quotes and is not valid JSON; each line must be a JSON object.",
        source=sources(BEDROCK_PREPARE),
    )


def llama_32_vision_record(i: int) -> dict:
    return conversation_image(i, fmt="jpeg" if i % 2 else "png")


def llama_32_vision_cases() -> None:
    rules = "llama-3.2-vision-conversation"
    n = SIZES[rules]
    add(
        "llama32-vision-valid",
        rules,
        records(llama_32_vision_record, n),
        rule=None,
        line=None,
        why=(
            "Each record is one exchange: a user turn with text and one PNG or JPEG image by S3 "
            "URI, and a text-only assistant reply."
        ),
        source=sources(BEDROCK_IMAGE_TEXT),
    )
    image_in_reply = converse(
        [
            message("user", text(image_question(5)), image(101)),
            message("assistant", text(image_answer(5)), image(102)),
        ]
    )
    add(
        "llama32-vision-image-in-assistant",
        rules,
        planted(llama_32_vision_record, n, 6, image_in_reply),
        rule="media",
        line=6,
        why="Line 6 puts an image in the assistant turn; assistant responses are always textual.",
        source=sources(BEDROCK_IMAGE_TEXT, LLAMA_SAMPLE),
    )
    add(
        "llama32-vision-image-format-bmp",
        rules,
        planted(llama_32_vision_record, n, 2, conversation_image(1, fmt="bmp")),
        rule="media",
        line=2,
        why="Line 2 declares a BMP image; Llama 3.2 Vision takes gif, jpeg, png and webp only.",
        source=sources(BEDROCK_IMAGE_TEXT),
    )


def llama_31_cases() -> None:
    rules = "llama-3.1-prompt-completion"
    n = SIZES[rules]
    add(
        "llama31-valid",
        rules,
        records(prompt_completion, n),
        rule=None,
        line=None,
        why="Llama 3.1 8B is a non-conversational model: one prompt and one completion per line.",
        source=sources(BEDROCK_PREPARE, BEDROCK_TEXT),
    )
    add(
        "llama31-missing-completion",
        rules,
        planted(prompt_completion, n, 5, {"prompt": question(4)}),
        rule="schema",
        line=5,
        why="Line 5 has a prompt but no completion; both fields are required.",
        source=sources(BEDROCK_TEXT, LLAMA_SAMPLE),
    )
    add(
        "llama31-completion-not-string",
        rules,
        planted(prompt_completion, n, 8, {"prompt": question(7), "completion": 42}),
        rule="schema",
        line=8,
        why="Line 8 gives the completion as a number; prompt and completion are strings.",
        source=sources(BEDROCK_TEXT, LLAMA_SAMPLE),
    )
    add(
        "llama31-not-json",
        rules,
        planted(prompt_completion, n, 2, '{"prompt": "Unfinished record", "completion": '),
        rule="json",
        line=2,
        why="Line 2 is cut off and not valid JSON; each line must be a JSON object.",
        source=sources(BEDROCK_PREPARE),
    )
    add(
        "llama31-not-object",
        rules,
        planted(prompt_completion, n, 10, '"just a string"'),
        rule="json",
        line=10,
        why="Line 10 is a bare JSON string, not an object; each line must be a JSON object.",
        source=sources(BEDROCK_PREPARE),
    )


def titan_cases() -> None:
    rules = "titan-prompt-completion"
    n = SIZES[rules]
    add(
        "titan-valid",
        rules,
        records(prompt_completion, n),
        rule=None,
        line=None,
        why="Titan Text takes non-conversational prompt and completion pairs, one per line.",
        source=sources(BEDROCK_PREPARE, BEDROCK_TEXT),
    )
    add(
        "titan-missing-prompt",
        rules,
        planted(prompt_completion, n, 3, {"completion": answer(2)}),
        rule="schema",
        line=3,
        why="Line 3 has a completion but no prompt; both fields are required.",
        source=sources(BEDROCK_TEXT),
    )
    add(
        "titan-not-json",
        rules,
        planted(prompt_completion, n, 9, "prompt=What is a good habit?, completion=Keep it dry."),
        rule="json",
        line=9,
        why="Line 9 is plain text, not JSON; each line must be a JSON object.",
        source=sources(BEDROCK_PREPARE),
    )


def titan_cpt_cases() -> None:
    rules = "titan-cpt"
    n = SIZES[rules]
    add(
        "titan-cpt-valid",
        rules,
        planted(pretraining, n, 4, {"input": prose(2_000, 11)}),
        rule=None,
        line=None,
        why=(
            "Continued pre-training takes unlabeled text as {'input': ...} per line. The longest "
            "record (line 4) is about 2,000 characters, well under 4,096 tokens by any counter."
        ),
        source=sources(BEDROCK_PREPARE, TITAN_CPT_ISSUE),
    )
    add(
        "titan-cpt-over-token-limit",
        rules,
        planted(pretraining, n, 6, {"input": prose(40_000, 7)}),
        rule="tokens",
        line=6,
        why=(
            "Line 6 is about 40,000 characters of prose, far above 4,096 tokens by any reasonable "
            "count (over 6,600 even at 6 characters per token). Titan Text Lite continued "
            "pre-training fails with 'Maximum input token count ... exceeds limit of 4096'."
        ),
        source=sources(TITAN_CPT_ISSUE, TITAN_MODELS, BEDROCK_TEXT),
    )
    add(
        "titan-cpt-missing-input",
        rules,
        planted(pretraining, n, 2, {"text": prose(300, 2)}),
        rule="schema",
        line=2,
        why="Line 2 keeps its text under 'text'; continued pre-training records use the key input.",
        source=sources(BEDROCK_PREPARE),
    )
    add(
        "titan-cpt-input-not-string",
        rules,
        planted(pretraining, n, 9, {"input": [SENTENCES[0], SENTENCES[1]]}),
        rule="schema",
        line=9,
        why="Line 9 gives input as an array; the input field holds one text string.",
        source=sources(BEDROCK_PREPARE),
    )
    add(
        "titan-cpt-not-json",
        rules,
        planted(pretraining, n, 5, SENTENCES[4]),
        rule="json",
        line=5,
        why="Line 5 is a bare sentence, not a JSON object.",
        source=sources(BEDROCK_PREPARE),
    )


def haiku_cases() -> None:
    rules = "claude-3-haiku-messages"
    n = SIZES[rules]
    add(
        "haiku-valid",
        rules,
        records(haiku_messages, n),
        rule=None,
        line=None,
        why=(
            "32 records (the minimum) of {'system': string (optional), 'messages': [...]} with "
            "string content, starting with user, alternating, ending with assistant."
        ),
        source=sources(HAIKU_COOKBOOK, HAIKU_SAMPLE),
    )
    add(
        "haiku-too-few-records",
        rules,
        records(haiku_messages, n - 1),
        rule="count",
        line=0,
        why="31 records; a Claude 3 Haiku training file needs between 32 and 10,000 records.",
        source=sources(HAIKU_SAMPLE),
    )
    human = haiku_messages(16)
    human["messages"][0]["content"] = "Continue this transcript.\nHuman: where is the ferry?"
    add(
        "haiku-reserved-human",
        rules,
        planted(haiku_messages, n, 17, human),
        rule="reserved",
        line=17,
        why="Line 17's user content contains '\\nHuman:', a reserved keyword for Claude.",
        source=sources(HAIKU_SAMPLE),
    )
    assistant = haiku_messages(24)
    assistant["messages"][0]["content"] = "Read the log below.\nAssistant: the mill is closed."
    add(
        "haiku-reserved-assistant",
        rules,
        planted(haiku_messages, n, 25, assistant),
        rule="reserved",
        line=25,
        why="Line 25's user content contains '\\nAssistant:', a reserved keyword for Claude.",
        source=sources(HAIKU_SAMPLE),
    )
    starts_assistant = {
        "system": SYSTEM,
        "messages": [
            {"role": "assistant", "content": answer(4)},
            {"role": "user", "content": question(4)},
            {"role": "assistant", "content": follow_up_answer(4)},
        ],
    }
    add(
        "haiku-starts-with-assistant",
        rules,
        planted(haiku_messages, n, 5, starts_assistant),
        rule="roles",
        line=5,
        why="Line 5 begins with an assistant message; the first message must be from the user.",
        source=sources(HAIKU_COOKBOOK, HAIKU_SAMPLE),
    )
    ends_user = {
        "system": SYSTEM,
        "messages": [
            {"role": "user", "content": question(10)},
            {"role": "assistant", "content": answer(10)},
            {"role": "user", "content": follow_up(10)},
        ],
    }
    add(
        "haiku-ends-with-user",
        rules,
        planted(haiku_messages, n, 11, ends_user),
        rule="roles",
        line=11,
        why="Line 11 ends with a user message; the last message must be from the assistant.",
        source=sources(HAIKU_COOKBOOK, HAIKU_SAMPLE),
    )
    two_users = {
        "messages": [
            {"role": "user", "content": question(20)},
            {"role": "user", "content": follow_up(20)},
            {"role": "assistant", "content": answer(20)},
        ]
    }
    add(
        "haiku-two-users-in-a-row",
        rules,
        planted(haiku_messages, n, 21, two_users),
        rule="roles",
        line=21,
        why="Line 21 has two user messages in a row; user and assistant messages must alternate.",
        source=sources(HAIKU_COOKBOOK, HAIKU_SAMPLE),
    )
    extra = haiku_messages(29)
    extra["metadata"] = {"source": "contract-corpus"}
    add(
        "haiku-extra-key",
        rules,
        planted(haiku_messages, n, 30, extra),
        rule="schema",
        line=30,
        why="Line 30 adds a 'metadata' key beside system and messages; no extraneous keys allowed.",
        source=sources(HAIKU_COOKBOOK),
    )


def distillation_cases() -> None:
    rules = "distillation-prompts"
    n = SIZES[rules]
    dropped = (
        " Bedrock drops prompts that do not conform, so this file is left with 99 usable prompts "
        "and also fails the 100-prompt minimum."
    )
    add(
        "distill-valid-100",
        rules,
        records(distillation_prompt, n),
        rule=None,
        line=None,
        why=(
            "100 prompts, the minimum: schemaVersion bedrock-conversation-2024, optional system, "
            "one user prompt, and on some lines an optional assistant answer."
        ),
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )
    add(
        "distill-too-few-prompts",
        rules,
        records(distillation_prompt, n - 1),
        rule="count",
        line=0,
        why="99 prompts; a distillation input dataset needs at least 100 valid prompts.",
        source=sources(DISTILL_SAMPLE),
    )
    wrong_version = distillation_prompt(41)
    wrong_version["schemaVersion"] = "bedrock-conversation-2023"
    add(
        "distill-wrong-schemaversion",
        rules,
        planted(distillation_prompt, n, 42, wrong_version),
        rule="schema",
        line=42,
        why=(
            "Line 42 uses schemaVersion bedrock-conversation-2023; distillation prompts must "
            "carry bedrock-conversation-2024." + dropped
        ),
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )
    no_version = distillation_prompt(12)
    del no_version["schemaVersion"]
    add(
        "distill-missing-schemaversion",
        rules,
        planted(distillation_prompt, n, 13, no_version),
        rule="schema",
        line=13,
        why="Line 13 has no schemaVersion; every distillation prompt must include it." + dropped,
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )
    third = converse(
        [
            message("user", text(question(63))),
            message("assistant", text(answer(63))),
            message("user", text(follow_up(63))),
        ]
    )
    add(
        "distill-third-message",
        rules,
        planted(distillation_prompt, n, 64, third),
        rule="roles",
        line=64,
        why=(
            "Line 64 has a third message, a second user prompt. With a Meta Llama (or Anthropic) "
            "student only single-turn prompts are supported: one user prompt, optionally one "
            "assistant answer." + dropped
        ),
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )
    starts_assistant = converse(
        [message("assistant", text(answer(76))), message("user", text(question(76)))]
    )
    add(
        "distill-starts-with-assistant",
        rules,
        planted(distillation_prompt, n, 77, starts_assistant),
        rule="roles",
        line=77,
        why=(
            "Line 77 starts with an assistant message; the user prompt comes first and the "
            "optional assistant answer after it." + dropped
        ),
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )
    with_image = converse(
        [message("user", text("What does chart 88 show?"), image(88))],
    )
    add(
        "distill-image-in-prompt",
        rules,
        planted(distillation_prompt, n, 88, with_image),
        rule="media",
        line=88,
        why=(
            "Line 88 adds an image to the prompt; Bedrock model distillation supports only the "
            "text-to-text modality." + dropped
        ),
        source=sources(DISTILL_PREPARE, DISTILL_SAMPLE),
    )
    add(
        "distill-not-json",
        rules,
        planted(distillation_prompt, n, 30, dumps(distillation_prompt(29))[:-2]),
        rule="json",
        line=30,
        why="Line 30 lost its closing brackets and is not valid JSON." + dropped,
        source=sources(DISTILL_PROMPTS, DISTILL_SAMPLE),
    )


def rft_cases() -> None:
    # A 20,001-prompt file (the 20K maximum of rft-nova-models.html) would add megabytes to the
    # corpus; the stand-in's and the workshop's own unit tests check that limit instead.
    rules = "rft-prompts"
    n = SIZES[rules]
    add(
        "rft-valid-100",
        rules,
        records(rft_prompt, n),
        rule=None,
        line=None,
        why=(
            "100 prompts, the minimum: each line is an OpenAI chat record with a system and a "
            "user message of text and a reference_answer for the grader; every fifth line adds "
            "'id' and 'difficulty', extra fields that are allowed and passed to the grader."
        ),
        source=sources(RFT_PREPARE, RFT_NOVA2),
    )
    add(
        "rft-too-few-records",
        rules,
        records(rft_prompt, n - 1),
        rule="count",
        line=0,
        why="99 prompts; reinforcement fine-tuning needs at least 100 training records.",
        source=sources(RFT_PREPARE, RFT_NOVA),
    )
    no_reference = rft_prompt(22)
    del no_reference["reference_answer"]
    add(
        "rft-missing-reference-answer",
        rules,
        planted(rft_prompt, n, 23, no_reference),
        rule="schema",
        line=23,
        why=(
            "Line 23 has messages but no reference_answer; every record carries the expected "
            "output or criteria the reward function scores against."
        ),
        source=sources(RFT_PREPARE, RFT_NOVA2),
    )
    no_user = rft_prompt(46)
    no_user["messages"] = [m for m in no_user["messages"] if m["role"] != "user"]
    add(
        "rft-no-user-message",
        rules,
        planted(rft_prompt, n, 47, no_user),
        rule="roles",
        line=47,
        why=(
            "Line 47's messages hold only the system instruction; the prompt given to the model "
            "is the user's task, and this record has none."
        ),
        source=sources(RFT_PREPARE, RFT_NOVA2),
    )
    add(
        "rft-not-json",
        rules,
        planted(rft_prompt, n, 61, dumps(rft_prompt(60))[:-1]),
        rule="json",
        line=61,
        why="Line 61 lost its closing brace and is not valid JSON; each line is one JSON prompt.",
        source=sources(RFT_PREPARE),
    )
    with_image = rft_prompt(84)
    with_image["messages"][1]["content"] = [
        {"type": "text", "text": "How many apples are in this photo? (problem 85)"},
        {"type": "image_url", "image_url": {"url": f"{BUCKET}/images/apples-85.png"}},
    ]
    add(
        "rft-image-content",
        rules,
        planted(rft_prompt, n, 85, with_image),
        rule="media",
        line=85,
        why=(
            "Line 85's user message adds an image part; reinforcement fine-tuning of Amazon "
            "Nova 2 takes text-based data only."
        ),
        source=sources(RFT_NOVA2),
    )


def build() -> tuple[dict, dict[str, bytes]]:
    """The manifest and the data files (name -> bytes)."""
    CASES.clear()
    FILES.clear()
    nova_cases()
    nova_micro_cases()
    llama_32_cases()
    llama_32_vision_cases()
    llama_31_cases()
    titan_cases()
    titan_cpt_cases()
    haiku_cases()
    distillation_cases()
    rft_cases()
    manifest = {"checked": CHECKED, "cases": list(CASES)}
    data = {
        f"{case_id}.jsonl": ("\n".join(lines) + "\n").encode() for case_id, lines in FILES.items()
    }
    return manifest, data


def write(out: Path) -> None:
    manifest, data = build()
    datasets = out / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    for stale in datasets.glob("*.jsonl"):
        if stale.name not in data:
            stale.unlink()
    for name, content in data.items():
        (datasets / name).write_bytes(content)
    (out / "verdicts.json").write_bytes((json.dumps(manifest, indent=2) + "\n").encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write datasets/ and verdicts.json into (default: next to this script)",
    )
    args = parser.parse_args(argv)
    write(args.out)


if __name__ == "__main__":
    main()
