"""The checks a stand-in customization job applies to the dataset it reads from S3."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import re
import struct
import zlib
from typing import Any

import pytest

from standin import catalog, datarules
from standin.datarules import MAX_PROBLEMS, RULE_SETS, SOURCES, Problem, Verdict, check_dataset

BUCKET = "s3://workshop-data-123"


# --- Builders ---------------------------------------------------------------------------------


def jsonl(*records: Any) -> bytes:
    """One line per record; strings are written as they are (for broken lines)."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return ("\n".join(lines) + "\n").encode()


def text(t: str) -> dict:
    return {"text": t}


def image(uri: str, fmt: str = "png", owner: str | None = None) -> dict:
    location: dict[str, str] = {"uri": uri}
    if owner is not None:
        location["bucketOwner"] = owner
    return {"image": {"format": fmt, "source": {"s3Location": location}}}


def video(uri: str, fmt: str = "mp4") -> dict:
    return {"video": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def converse(
    user: list[dict] | None = None, answer: str = "The capital of France is Paris.", **extra: Any
) -> dict:
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [text("You answer in one sentence.")],
        "messages": [
            {"role": "user", "content": user or [text("What is the capital of France?")]},
            {"role": "assistant", "content": [text(answer)]},
        ],
    }
    record.update(extra)
    return record


def haiku(i: int = 0) -> dict:
    return {
        "system": "You are a helpful assistant.",
        "messages": [
            {"role": "user", "content": f"What is {i} plus one?"},
            {"role": "assistant", "content": f"It is {i + 1}."},
        ],
    }


def prompt(i: int = 0, answer: bool = False) -> dict:
    record = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [text("You summarise dialogues in one sentence.")],
        "messages": [{"role": "user", "content": [text(f"Summarise dialogue number {i}.")]}],
    }
    if answer:
        record["messages"].append({"role": "assistant", "content": [text("A summary.")]})
    return record


def rft_prompt(i: int = 0, **extra: Any) -> dict:
    """A reinforcement fine-tuning prompt: a system and a user turn, and a reference answer."""
    record = {
        "messages": [
            {"role": "system", "content": "Answer with the number only."},
            {"role": "user", "content": f"What is {i} plus 3?"},
        ],
        "reference_answer": {"answer": i + 3},
    }
    record.update(extra)
    return record


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real RGB PNG, written with zlib and struct."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


class FakeS3:
    """A read_object that serves a dict of objects and records what it was asked for."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.calls: list[str] = []

    def __call__(self, uri: str) -> bytes:
        self.calls.append(uri)
        if uri not in self.objects:
            raise KeyError(f"NoSuchKey: {uri}")
        return self.objects[uri]


def rules_of(verdict: Verdict) -> set[tuple[int, str]]:
    return {(p.line, p.rule) for p in verdict.problems}


def only(verdict: Verdict) -> Problem:
    assert len(verdict.problems) == 1, verdict.problems
    return verdict.problems[0]


def nova_file(*records: dict, fill: int = 8) -> bytes:
    """The records, then valid ones up to ``fill`` records (Nova needs 8 to train)."""
    padding = [converse() for _ in range(max(0, fill - len(records)))]
    return jsonl(*records, *padding)


# --- Valid datasets ---------------------------------------------------------------------------

VALID: dict[str, tuple[bytes, int]] = {
    "nova-conversation": (jsonl(*[converse() for _ in range(8)]), 8),
    "nova-micro-conversation": (jsonl(*[converse() for _ in range(10)]), 10),
    "llama-3.2-conversation": (jsonl(*[converse() for _ in range(100)]), 100),
    "llama-3.2-vision-conversation": (
        jsonl(
            *[
                converse([text("Describe the chart."), image(f"{BUCKET}/c/{i}.png")])
                for i in range(100)
            ]
        ),
        100,
    ),
    "llama-3.1-prompt-completion": (
        jsonl(*[{"prompt": f"Question {i}?", "completion": f"Answer {i}."} for i in range(100)]),
        100,
    ),
    "titan-prompt-completion": (
        jsonl(*[{"prompt": f"Question {i}?", "completion": f"Answer {i}."} for i in range(5)]),
        5,
    ),
    "titan-cpt": (
        jsonl(*[{"input": f"AWS stands for Amazon Web Services ({i})."} for i in range(5)]),
        5,
    ),
    "claude-3-haiku-messages": (jsonl(*[haiku(i) for i in range(32)]), 32),
    "distillation-prompts": (jsonl(*[prompt(i, answer=i % 2 == 0) for i in range(100)]), 100),
    "rft-prompts": (jsonl(*[rft_prompt(i) for i in range(100)]), 100),
}


def test_every_rule_set_has_a_valid_example() -> None:
    assert set(VALID) == set(RULE_SETS)


@pytest.mark.parametrize("rules", RULE_SETS)
def test_a_valid_dataset_passes_with_its_record_count(rules: str) -> None:
    body, count = VALID[rules]
    verdict = check_dataset(body, rules, "train")
    assert verdict.valid, verdict.summary()
    assert verdict.records == count
    assert verdict.invalid_records == 0
    assert verdict.summary() == f"{count} records valid"


def test_unknown_rule_set_and_split_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule set"):
        check_dataset(b"{}", "gpt-conversation", "train")
    with pytest.raises(ValueError, match="split"):
        check_dataset(b"{}", "titan-cpt", "test")


# --- JSON Lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"\n\n  \n"])
def test_an_empty_file_is_invalid(body: bytes) -> None:
    verdict = check_dataset(body, "titan-cpt", "train")
    assert verdict.records == 0
    assert rules_of(verdict) == {(0, "file.empty")}


def test_broken_lines_are_named_by_their_line_number() -> None:
    body = jsonl(
        {"input": "fine"},
        '{"input": "unterminated',
        "[1, 2, 3]",
        '{"input": NaN}',
        "",  # blank lines are skipped but still counted in line numbers
        {"input": "fine again"},
    )
    verdict = check_dataset(body, "titan-cpt", "train")
    assert verdict.records == 5
    assert rules_of(verdict) == {(2, "json.syntax"), (3, "json.object"), (4, "json.syntax")}
    assert verdict.invalid_records == 3


def test_bytes_that_are_not_utf8_and_a_byte_order_mark_are_refused() -> None:
    body = b'{"input": "ok"}\n{"input": "caf\xe9"}\n'
    assert rules_of(check_dataset(body, "titan-cpt", "train")) == {(2, "file.encoding")}
    bom = b"\xef\xbb\xbf" + jsonl({"input": "ok"})
    assert rules_of(check_dataset(bom, "titan-cpt", "train")) == {(1, "file.encoding")}


def test_the_file_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limits are 100 MB and more; shrink one to test the check itself.
    small = dataclasses.replace(datarules._LIMITS["titan-cpt"], validation_bytes=100)
    monkeypatch.setitem(datarules._LIMITS, "titan-cpt", small)
    body = jsonl(*[{"input": "x" * 40} for _ in range(3)])
    problem = only(check_dataset(body, "titan-cpt", "validation"))
    assert (problem.line, problem.rule) == (0, "file.size")
    assert problem.message == (
        "the validation data file has 162 bytes; the limit is 100 bytes: split or shorten the "
        "dataset"
    )


# --- Nova -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        (converse(schemaVersion=2024), "schema.version"),
        ({k: v for k, v in converse().items() if k != "messages"}, "schema.required"),
        (converse(messages="hello"), "schema.type"),
        (converse(id="row-1"), "schema.unknown"),
        (converse(system="You answer briefly."), "system.format"),
        (converse(system=[{"text": "   "}]), "content.empty"),
        (converse([text("")]), "content.empty"),
        (converse([{"text": "Hi", "image": {}}]), "content.format"),
        (converse([{"document": {"format": "pdf"}}]), "content.format"),
        (converse([text("User: what is the capital of France?")]), "text.reserved"),
        (converse(answer="bot: Paris."), "text.reserved"),  # case does not matter
        (converse([text("Describe."), image(f"{BUCKET}/a.jpg", fmt="jpg")]), "media.format"),
        (converse([text("Describe."), image("https://example.com/a.png")]), "media.uri"),
        (converse([text("Describe."), image(f"{BUCKET}/my chart.png")]), "media.uri"),
        (converse([text("Describe."), image(f"{BUCKET}/a.png", owner="me")]), "media.uri"),
        (
            converse([text("Describe.")] + [image(f"{BUCKET}/{i}.png") for i in range(11)]),
            "media.count",
        ),
        (
            converse([text("Watch."), video(f"{BUCKET}/a.mp4"), video(f"{BUCKET}/b.mp4")]),
            "media.count",
        ),
        (
            converse([text("Both."), image(f"{BUCKET}/a.png"), video(f"{BUCKET}/a.mp4")]),
            "media.mixed",
        ),
        (converse([text("Watch."), video(f"{BUCKET}/a.avi", fmt="avi")]), "media.format"),
    ],
)
def test_nova_record_rules(record: dict, rule: str) -> None:
    verdict = check_dataset(nova_file(converse(), record), "nova-conversation", "train")
    assert (2, rule) in rules_of(verdict), verdict.problems
    assert {p.line for p in verdict.problems} == {2}
    assert verdict.invalid_records == 1


def _with_messages(*messages: dict) -> dict:
    return converse(messages=list(messages))


USER = {"role": "user", "content": [text("Hello?")]}
ASSISTANT = {"role": "assistant", "content": [text("Hello.")]}


@pytest.mark.parametrize(
    ("messages", "rule"),
    [
        ((USER,), "messages.count"),
        ((ASSISTANT, USER, ASSISTANT), "roles.first"),
        ((USER, USER, ASSISTANT), "roles.alternate"),
        ((USER, ASSISTANT, USER), "roles.last"),
        ((USER, {"role": "system", "content": [text("Hi.")]}), "roles.value"),
        (
            (USER, {"role": "assistant", "content": [text("Hi."), image(f"{BUCKET}/a.png")]}),
            "media.assistant",
        ),
        ((USER, {"role": "assistant", "content": []}), "content.format"),
        ((USER, {"role": "assistant", "content": [text("Hi.")], "name": "bot"}), "schema.unknown"),
    ],
)
def test_nova_turn_rules(messages: tuple[dict, ...], rule: str) -> None:
    verdict = check_dataset(nova_file(_with_messages(*messages)), "nova-conversation", "train")
    assert (1, rule) in rules_of(verdict), verdict.problems


def test_a_nova_dataset_holds_images_or_videos_not_both() -> None:
    body = nova_file(
        converse([text("Describe."), image(f"{BUCKET}/a.png")]),
        converse(),
        converse([text("Watch."), video(f"{BUCKET}/a.mp4")]),
    )
    verdict = check_dataset(body, "nova-conversation", "train")
    problem = only(verdict)
    assert (problem.line, problem.rule) == (3, "media.modality")
    assert "line 1" in problem.message


def test_nova_micro_takes_no_media() -> None:
    record = converse([text("Describe."), image(f"{BUCKET}/a.png")])
    assert check_dataset(nova_file(record), "nova-conversation", "train").valid
    verdict = check_dataset(nova_file(record), "nova-micro-conversation", "train")
    assert rules_of(verdict) == {(1, "media.unsupported")}


def test_nova_record_counts_span_both_files() -> None:
    seven = jsonl(*[converse() for _ in range(7)])
    problem = only(check_dataset(seven, "nova-conversation", "train"))
    assert (problem.line, problem.rule) == (0, "count.min")
    assert problem.message == "train data has 7 records; at least 8 are needed"
    # A validation file has no minimum of its own.
    assert check_dataset(jsonl(converse()), "nova-conversation", "validation").valid
    body = jsonl(*[converse() for _ in range(20)])
    assert check_dataset(body, "nova-conversation", "train", other_split_records=19_980).valid
    verdict = check_dataset(body, "nova-conversation", "validation", other_split_records=19_990)
    assert rules_of(verdict) == {(0, "count.total")}
    assert "together have 20010 records; at most 20000" in verdict.problems[0].message


# --- Llama 3.2 --------------------------------------------------------------------------------


def test_llama_takes_one_system_block() -> None:
    two = converse(system=[text("Be brief."), text("Be polite.")])
    body = jsonl(two, *[converse() for _ in range(99)])
    assert rules_of(check_dataset(body, "llama-3.2-conversation", "train")) == {(1, "system.count")}
    assert check_dataset(body, "nova-conversation", "train").valid  # Nova takes several


def test_llama_record_counts_and_the_sum_of_both_files() -> None:
    sixty = jsonl(*[converse() for _ in range(60)])
    problem = only(check_dataset(sixty, "llama-3.2-conversation", "train"))
    assert (problem.line, problem.rule) == (0, "count.total")
    assert "at least 100" in problem.message
    # With the validation file's 40 records the sum reaches 100.
    assert check_dataset(sixty, "llama-3.2-conversation", "train", other_split_records=40).valid
    # The minimum is a sum, checked with the training file: a small validation file is fine.
    assert check_dataset(sixty, "llama-3.2-conversation", "validation").valid
    many = jsonl(*[converse() for _ in range(1_001)])
    verdict = check_dataset(many, "llama-3.2-conversation", "validation")
    assert rules_of(verdict) == {(0, "count.max")}
    assert verdict.problems[0].message == (
        "validation data has 1001 records; at most 1000 are allowed"
    )
    train = jsonl(*[converse() for _ in range(9_500)])
    verdict = check_dataset(train, "llama-3.2-conversation", "train", other_split_records=600)
    assert rules_of(verdict) == {(0, "count.total")}


def test_llama_token_limit_per_record() -> None:
    long_answer = "word " * 16_100  # one token per word
    body = jsonl(converse(answer=long_answer), *[converse() for _ in range(99)])
    verdict = check_dataset(body, "llama-3.2-conversation", "train")
    problem = only(verdict)
    assert (problem.line, problem.rule) == (1, "tokens.max")
    assert re.search(
        r"input token count \d+ exceeds limit of 16000 for train data", problem.message
    )


def test_llama_text_models_take_no_images_and_no_model_takes_videos() -> None:
    with_image = converse([text("Describe."), image(f"{BUCKET}/a.png")])
    with_video = converse([text("Watch."), video(f"{BUCKET}/a.mp4")])
    body = jsonl(with_image, with_video, *[converse() for _ in range(98)])
    assert rules_of(check_dataset(body, "llama-3.2-conversation", "train")) == {
        (1, "media.unsupported"),
        (2, "media.unsupported"),
    }
    assert rules_of(check_dataset(body, "llama-3.2-vision-conversation", "train")) == {
        (2, "media.unsupported")
    }


def test_llama_vision_takes_one_image_per_record() -> None:
    two = converse([text("Compare."), image(f"{BUCKET}/a.png"), image(f"{BUCKET}/b.png")])
    body = jsonl(two, *[converse() for _ in range(99)])
    assert rules_of(check_dataset(body, "llama-3.2-vision-conversation", "train")) == {
        (1, "media.count")
    }


# --- Images fetched from S3 -------------------------------------------------------------------


def vision_file(*records: dict) -> bytes:
    return jsonl(*records, *[converse() for _ in range(100 - len(records))])


def chart(uri: str, fmt: str = "png") -> dict:
    return converse([text("What does the chart show?"), image(uri, fmt)], answer="Two bars.")


def test_the_png_builder_makes_real_images() -> None:
    png = make_png(64, 48)
    assert datarules.image_header(png) == ("png", 64, 48)
    pil = pytest.importorskip("PIL.Image")
    with pil.open(io.BytesIO(png)) as img:
        img.load()
        assert img.size == (64, 48)


def test_images_are_fetched_and_measured() -> None:
    uri = f"{BUCKET}/charts/ok.png"
    s3 = FakeS3({uri: make_png(64, 48)})
    body = vision_file(chart(uri), chart(uri))
    verdict = check_dataset(body, "llama-3.2-vision-conversation", "train", read_object=s3)
    assert verdict.valid, verdict.summary()
    assert s3.calls == [uri]  # each object is read once


def test_image_references_alone_are_checked_without_read_object() -> None:
    body = vision_file(chart(f"{BUCKET}/charts/missing.png"))
    assert check_dataset(body, "llama-3.2-vision-conversation", "train").valid


@pytest.mark.parametrize(
    ("data", "fmt", "rule"),
    [
        (None, "png", "media.fetch"),  # no such object
        (make_png(9_000, 20), "png", "image.dimensions"),
        (make_png(20, 8_193), "png", "image.dimensions"),
        (make_png(5, 5), "png", "image.dimensions"),
        (b"not an image at all", "png", "image.decode"),
        (make_png(64, 48), "jpeg", "image.decode"),
        (make_png(64, 48) + b"\0" * (10 * 1024 * 1024), "png", "media.size"),
    ],
)
def test_bad_images_are_refused(data: bytes | None, fmt: str, rule: str) -> None:
    uri = f"{BUCKET}/charts/x.png"
    s3 = FakeS3({} if data is None else {uri: data})
    verdict = check_dataset(
        vision_file(converse(), chart(uri, fmt)),
        "llama-3.2-vision-conversation",
        "train",
        read_object=s3,
    )
    problem = only(verdict)
    assert (problem.line, problem.rule) == (2, rule)
    assert uri in problem.message


def test_oversized_dimensions_read_like_a_failure_message() -> None:
    uri = f"{BUCKET}/charts/wide.png"
    s3 = FakeS3({uri: make_png(9_000, 20)})
    verdict = check_dataset(
        vision_file(chart(uri)), "llama-3.2-vision-conversation", "train", read_object=s3
    )
    assert verdict.summary() == (
        f"1 of 100 records invalid: line 1: messages[0].content[1]: {uri} is 9000x20 pixels; "
        "each side must be 10 to 8192 pixels: resize it"
    )


def test_large_images_spend_tokens_against_the_llama_limit() -> None:
    uri = f"{BUCKET}/charts/big.png"
    assert datarules.llama_image_tokens(1_200, 1_200) == 4 * 1601
    assert datarules.llama_image_tokens(300, 300) == 1601
    s3 = FakeS3({uri: make_png(1_200, 1_200)})
    # About 4,000 text tokens: under 10,000 alone, over it with the image's 6,404.
    record = converse([text("word " * 4_000), image(uri)])
    assert check_dataset(vision_file(record), "llama-3.2-vision-conversation", "train").valid
    verdict = check_dataset(
        vision_file(record), "llama-3.2-vision-conversation", "train", read_object=s3
    )
    assert rules_of(verdict) == {(1, "tokens.max")}


def test_image_headers_of_other_formats() -> None:
    pil = pytest.importorskip("PIL.Image")
    for fmt, save_as in (("jpeg", "JPEG"), ("gif", "GIF"), ("webp", "WEBP")):
        out = io.BytesIO()
        pil.new("RGB", (321, 123), (10, 120, 200)).save(out, format=save_as)
        assert datarules.image_header(out.getvalue()) == (fmt, 321, 123), fmt
    out = io.BytesIO()
    pil.new("RGBA", (77, 33), (10, 120, 200, 128)).save(out, format="WEBP", lossless=True)
    assert datarules.image_header(out.getvalue()) == ("webp", 77, 33)


def test_nova_fetches_images_too() -> None:
    uri = f"{BUCKET}/charts/x.png"
    record = converse([text("Describe."), image(uri)])
    verdict = check_dataset(nova_file(record), "nova-conversation", "train", read_object=FakeS3({}))
    assert rules_of(verdict) == {(1, "media.fetch")}
    ok = check_dataset(
        nova_file(record),
        "nova-conversation",
        "train",
        read_object=FakeS3({uri: make_png(9_000, 20)}),
    )
    assert ok.valid  # no documented dimension limit for Nova


# --- Prompt-completion and continued pre-training ---------------------------------------------


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        ({"prompt": "Question?"}, "schema.required"),
        ({"prompt": "Question?", "completion": "Answer.", "id": 3}, "schema.unknown"),
        ({"prompt": "Question?", "completion": ["Answer."]}, "schema.type"),
        ({"prompt": "  ", "completion": "Answer."}, "content.empty"),
    ],
)
@pytest.mark.parametrize("rules", ["titan-prompt-completion", "llama-3.1-prompt-completion"])
def test_prompt_completion_rules(rules: str, record: dict, rule: str) -> None:
    good = {"prompt": "Question?", "completion": "Answer."}
    verdict = check_dataset(jsonl(good, record, *[good] * 98), rules, "train")
    assert rules_of(verdict) == {(2, rule)}


def test_prompt_completion_token_limits_differ_by_model() -> None:
    record = {"prompt": "word " * 2_500, "completion": "word " * 2_500}  # about 5,000 tokens
    good = {"prompt": "Question?", "completion": "Answer."}
    body = jsonl(*[good] * 99, record)
    assert check_dataset(body, "llama-3.1-prompt-completion", "train").valid
    problem = only(check_dataset(body, "titan-prompt-completion", "train"))
    assert (problem.line, problem.rule) == (100, "tokens.max")
    assert "exceeds limit of 4096 for train data" in problem.message


def test_titan_cpt_rules() -> None:
    prose = (
        "The museum opens at nine in the morning and closes at six in the evening. Visitors "
        "can buy tickets at the front desk or online, and children under twelve enter free. "
    )
    chunk = (prose * 200)[:19_800]  # amazon-bedrock-workshop#224: Bedrock counted 4,919
    body = jsonl(
        {"input": "AWS stands for Amazon Web Services."},
        {"input": chunk},
        {"prompt": "x", "completion": "y"},
        {"input": 42},
        {"input": ""},
        {"input": "fine", "source": "book"},
    )
    verdict = check_dataset(body, "titan-cpt", "train")
    assert rules_of(verdict) == {
        (2, "tokens.max"),
        (3, "schema.unknown"),
        (3, "schema.required"),
        (4, "schema.type"),
        (5, "content.empty"),
        (6, "schema.unknown"),
    }
    assert re.fullmatch(
        r"input token count \d{4} exceeds limit of 4096 for train data; shorten the record or "
        r"split it into smaller ones",
        verdict.problems[0].message,
    )


def test_titan_cpt_validation_count() -> None:
    body = jsonl(*[{"input": f"line {i}"} for i in range(1_001)])
    assert rules_of(check_dataset(body, "titan-cpt", "validation")) == {(0, "count.max")}
    assert check_dataset(body, "titan-cpt", "train").valid


# --- Claude 3 Haiku ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        ({**haiku(), "system": ["You are helpful."]}, "system.format"),
        ({"system": "x"}, "schema.required"),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "user", "content": [{"text": "Hi"}]},
                    {"role": "assistant", "content": "Hello."},
                ],
            },
            "schema.type",
        ),
        ({**haiku(), "messages": [{"role": "user", "content": "Hi"}]}, "messages.count"),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "assistant", "content": "Hi"},
                    {"role": "user", "content": "Hello."},
                ],
            },
            "roles.first",
        ),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "user", "content": "Hi again"},
                    {"role": "assistant", "content": "Hello."},
                ],
            },
            "roles.alternate",
        ),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Bye"},
                ],
            },
            "roles.last",
        ),
        ({**haiku(), "system": "Talk like this:\nHuman: hi\nAssistant: hello"}, "text.reserved"),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "  "},
                ],
            },
            "content.empty",
        ),
        ({**haiku(), "temperature": 0.2}, "schema.unknown"),
        (
            {
                **haiku(),
                "messages": [
                    {"role": "user", "content": "word " * 32_100},
                    {"role": "assistant", "content": "Ok."},
                ],
            },
            "tokens.max",
        ),
    ],
)
def test_claude_haiku_record_rules(record: dict, rule: str) -> None:
    verdict = check_dataset(
        jsonl(*[haiku(i) for i in range(40)], record), "claude-3-haiku-messages", "train"
    )
    assert (41, rule) in rules_of(verdict), verdict.problems
    assert {p.line for p in verdict.problems} == {41}


def test_claude_haiku_allows_the_words_without_the_reserved_form() -> None:
    record = {**haiku(), "system": "Human: and Assistant: are fine at the start of the text"}
    record["messages"][0]["content"] = "The Human and the Assistant spoke."
    body = jsonl(*[haiku(i) for i in range(40)], record)
    assert check_dataset(body, "claude-3-haiku-messages", "train").valid


def test_claude_haiku_record_counts() -> None:
    few = jsonl(*[haiku(i) for i in range(31)])
    for split in ("train", "validation"):
        problem = only(check_dataset(few, "claude-3-haiku-messages", split))
        assert (problem.line, problem.rule) == (0, "count.min")
    body = jsonl(*[haiku(i) for i in range(9_990)])
    verdict = check_dataset(body, "claude-3-haiku-messages", "train", other_split_records=20)
    assert rules_of(verdict) == {(0, "count.total")}
    assert check_dataset(body, "claude-3-haiku-messages", "train", other_split_records=10).valid
    val = jsonl(*[haiku(i) for i in range(1_001)])
    assert rules_of(check_dataset(val, "claude-3-haiku-messages", "validation")) == {
        (0, "count.max")
    }


# --- Distillation prompts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"schemaVersion": "bedrock-conversion-2024"}, "schema.version"),
        ({"system": [text("One."), text("Two.")]}, "system.count"),
        ({"system": []}, "system.count"),
        ({"system": "Be brief."}, "system.format"),
        ({"toolConfig": {}}, "schema.unknown"),
        ({"messages": []}, "messages.count"),
        ({"messages": [USER, ASSISTANT, USER]}, "messages.count"),
        ({"messages": [ASSISTANT]}, "roles.first"),
        ({"messages": [USER, USER]}, "roles.alternate"),
        ({"messages": [{"role": "user", "content": [text("a"), text("b")]}]}, "content.count"),
        ({"messages": [{"role": "user", "content": [image(f"{BUCKET}/a.png")]}]}, "content.format"),
        ({"messages": [{"role": "user", "content": [text("")]}]}, "content.empty"),
    ],
)
def test_distillation_record_rules(change: dict, rule: str) -> None:
    record = {**prompt(), **change}
    verdict = check_dataset(
        jsonl(record, *[prompt(i) for i in range(100)]), "distillation-prompts", "train"
    )
    assert (1, rule) in rules_of(verdict), verdict.problems
    assert {p.line for p in verdict.problems} == {1}


def test_distillation_takes_prompts_without_a_system_block() -> None:
    record = {k: v for k, v in prompt().items() if k != "system"}
    assert check_dataset(jsonl(*[record] * 100), "distillation-prompts", "train").valid


def test_distillation_prompt_counts() -> None:
    problem = only(
        check_dataset(jsonl(*[prompt(i) for i in range(99)]), "distillation-prompts", "train")
    )
    assert (problem.line, problem.rule) == (0, "count.min")
    assert problem.message == "train data has 99 records; at least 100 are needed"
    verdict = check_dataset(
        jsonl(*[prompt(i) for i in range(15_001)]), "distillation-prompts", "train"
    )
    assert rules_of(verdict) == {(0, "count.max")}


# --- Reinforcement fine-tuning prompts --------------------------------------------------------


def rft_file(line: int, bad: dict | str, count: int = 100) -> bytes:
    """``count`` good RFT prompts with line ``line`` (1-based) replaced by ``bad``."""
    records: list[Any] = [rft_prompt(i) for i in range(count)]
    records[line - 1] = bad
    return jsonl(*records)


def test_rft_prompts_take_text_parts_extra_fields_and_any_reference() -> None:
    parts = {"role": "user", "content": [{"type": "text", "text": "What is 2 plus 3?"}]}
    records = [
        rft_prompt(0, id="sample-001", difficulty="easy"),  # fields for the grader
        rft_prompt(1, messages=[parts]),  # no system turn, content as text parts
        rft_prompt(2, reference_answer="5"),  # any JSON the grader understands
        rft_prompt(3, reference_answer={"solution": "x = 4", "steps": ["2x = 8"]}),
        rft_prompt(4, messages=[*rft_prompt(4)["messages"], {"role": "assistant", "content": "7"}]),
    ]
    body = jsonl(*records, *[rft_prompt(i) for i in range(5, 100)])
    verdict = check_dataset(body, "rft-prompts", "train")
    assert verdict.valid, verdict.summary()
    assert verdict.summary() == "100 records valid"


@pytest.mark.parametrize(
    ("bad", "rule", "message"),
    [
        (
            {"messages": rft_prompt()["messages"]},
            "schema.required",
            "the record has no 'reference_answer'; add what the grader scores the answer "
            'against, such as {"answer": 42}',
        ),
        (
            rft_prompt(reference_answer=None),
            "schema.required",
            "'reference_answer' is null; give the grader the expected answer or its criteria",
        ),
        (
            {"reference_answer": {"answer": 3}},
            "schema.required",
            "the record has no 'messages' list; add the prompt's turns",
        ),
        (
            rft_prompt(messages="What is 0 plus 3?"),
            "schema.type",
            "'messages' must be a list of {role, content} objects",
        ),
        (
            rft_prompt(messages=[]),
            "messages.count",
            "'messages' is empty; a prompt needs at least a user turn",
        ),
        (
            rft_prompt(messages=[{"role": "system", "content": "Answer with the number only."}]),
            "roles.user",
            "no message has role 'user'; a prompt needs a user turn for the model to answer",
        ),
        (
            rft_prompt(
                messages=[{"role": "tool", "content": "3"}, {"role": "user", "content": "?"}]
            ),
            "roles.value",
            "messages[0] has role 'tool'; use 'system', 'user' or 'assistant'",
        ),
        (
            rft_prompt(messages=[{"role": "user"}]),
            "schema.required",
            "messages[0] has no 'content'; add the turn's text",
        ),
        (
            rft_prompt(messages=[{"role": "user", "content": 3}]),
            "schema.type",
            'messages[0].content must be a string or a list of {"type": "text", "text": ...} parts',
        ),
        (
            rft_prompt(messages=[{"role": "user", "content": [{"text": "What is 0 plus 3?"}]}]),
            "content.format",
            'messages[0].content[0] must be {"type": "text", "text": ...}',
        ),
        (
            rft_prompt(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "How many apples are in the picture?"},
                            {"type": "image_url", "image_url": {"url": f"{BUCKET}/apples.png"}},
                        ],
                    }
                ]
            ),
            "media.unsupported",
            "messages[0].content[1] holds media (image_url); reinforcement fine-tuning of Amazon "
            "Nova 2 takes text only: remove the part or describe it in words",
        ),
        (
            rft_prompt(messages=[{"role": "user", "content": [image(f"{BUCKET}/a.png")]}]),
            "media.unsupported",
            "messages[0].content[0] holds media (image); reinforcement fine-tuning of Amazon "
            "Nova 2 takes text only: remove the part or describe it in words",
        ),
    ],
)
def test_rft_record_rules_name_the_line(bad: dict, rule: str, message: str) -> None:
    verdict = check_dataset(rft_file(37, bad), "rft-prompts", "train")
    assert verdict.problems == [Problem(37, rule, message)]
    assert verdict.records == 100
    assert verdict.invalid_records == 1
    assert verdict.summary() == f"1 of 100 records invalid: line 37: {message}"


def test_rft_lines_that_are_not_json_objects_are_named() -> None:
    verdict = check_dataset(rft_file(12, '{"messages": [}'), "rft-prompts", "train")
    assert [(p.line, p.rule) for p in verdict.problems] == [(12, "json.syntax")]
    verdict = check_dataset(rft_file(99, "[1, 2]"), "rft-prompts", "validation")
    assert verdict.problems == [
        Problem(
            99, "json.object", "the line is a JSON list, not an object; write each record as {...}"
        )
    ]


def test_rft_training_counts_come_from_the_catalog_limits() -> None:
    least, most = catalog.RFT_LIMITS["min_records"], catalog.RFT_LIMITS["max_prompts"]
    assert (least, most) == (100, 20_000)
    few = check_dataset(jsonl(*[rft_prompt(i) for i in range(least - 1)]), "rft-prompts", "train")
    assert few.problems == [
        Problem(0, "count.min", "train data has 99 records; at least 100 are needed")
    ]
    # The pages set no minimum for validation data: one prompt will do.
    assert check_dataset(jsonl(rft_prompt()), "rft-prompts", "validation").valid
    many = jsonl(*[rft_prompt(i % 50) for i in range(most + 1)])
    assert check_dataset(many, "rft-prompts", "train").problems == [
        Problem(0, "count.max", "train data has 20001 records; at most 20000 are allowed")
    ]
    assert check_dataset(
        jsonl(*[rft_prompt(i % 50) for i in range(most)]), "rft-prompts", "train"
    ).valid


# --- Verdicts, summaries and sources ----------------------------------------------------------


def test_summary_names_the_first_invalid_records_like_a_failure_message() -> None:
    bad_roles = _with_messages(USER, USER, ASSISTANT)
    body = nova_file(
        converse(), bad_roles, converse(), converse(schemaVersion=1), '{"broken"', converse()
    )
    verdict = check_dataset(body, "nova-conversation", "train")
    assert verdict.records == 8
    assert verdict.invalid_records == 3
    assert not verdict.valid
    assert verdict.summary(limit=2) == (
        "3 of 8 records invalid: line 2: messages[0] and messages[1] both have role 'user'; "
        "roles must alternate user, assistant, user, ...: merge the two turns; "
        "line 4: schemaVersion is 1; it must be a string such as 'bedrock-conversation-2024'; "
        "and 1 more invalid records"
    )
    assert verdict.summary().endswith(
        "line 5: the line is not valid JSON (Expecting ':' delimiter at column 10); write each "
        "record as one JSON object on one line"
    )


def test_summary_leads_with_file_level_problems() -> None:
    body = jsonl(converse(), converse(schemaVersion=1))
    summary = check_dataset(body, "nova-conversation", "train").summary()
    assert summary == (
        "train data has 2 records; at least 8 are needed. 1 of 2 records invalid: line 2: "
        "schemaVersion is 1; it must be a string such as 'bedrock-conversation-2024'"
    )


def test_problems_are_capped_but_every_invalid_record_is_counted() -> None:
    body = jsonl(*[converse(schemaVersion="v1", id=i) for i in range(400)])
    verdict = check_dataset(body, "nova-conversation", "train")
    assert verdict.records == 400
    assert verdict.invalid_records == 400
    assert len(verdict.problems) == MAX_PROBLEMS
    assert verdict.summary().startswith("400 of 400 records invalid: line 1: ")
    assert verdict.summary().endswith("; and 397 more invalid records")


def test_file_level_problems_survive_the_cap() -> None:
    body = jsonl(*[converse(schemaVersion="v1", id=i) for i in range(1_001)])
    verdict = check_dataset(body, "llama-3.2-conversation", "validation")
    assert len(verdict.problems) == MAX_PROBLEMS
    assert verdict.problems[0] == Problem(
        0, "count.max", "validation data has 1001 records; at most 1000 are allowed"
    )


def test_every_rule_the_module_emits_has_a_dated_source() -> None:
    source = inspect.getsource(datarules)
    emitted = set(re.findall(r'(?:found\.add\(|Problem\(\s*0,)\s*"([a-z]+\.[a-z]+)"', source))
    emitted |= {"roles.first", "roles.alternate"}  # chosen by a variable in _distillation
    assert len(emitted) > 30
    assert emitted <= set(SOURCES), emitted - set(SOURCES)
    for rule, where in SOURCES.items():
        assert re.search(r"read 2026-12-0[12]\b", where), rule


def test_nova_takes_any_schema_version_string_while_llama_pins_it() -> None:
    records = [converse(schemaVersion="my-own-version") for _ in range(8)]
    assert check_dataset(jsonl(*records), "nova-conversation", "train").valid
    verdict = check_dataset(jsonl(*records), "llama-3.2-conversation", "train")
    assert not verdict.valid
    assert {p.rule for p in verdict.problems} >= {"schema.version"}
    missing = [{k: v for k, v in r.items() if k != "schemaVersion"} for r in records]
    assert not check_dataset(jsonl(*missing), "nova-conversation", "train").valid
