"""Tests for utils.validation and the ``python -m utils.validation`` command line."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import struct
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils import clients, validation
from utils.errors import WorkshopError
from utils.validation import (
    ImageInfo,
    Problem,
    image_info,
    validate_dataset,
    validate_file,
    validate_records,
)
from utils.validation.__main__ import main

NOVA_MICRO = "amazon.nova-micro-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
LLAMA_3B = "meta.llama3-2-3b-instruct-v1:0"
LLAMA_11B = "meta.llama3-2-11b-instruct-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROOT = Path(__file__).resolve().parents[2]


def nova(n_turns: int = 1, system: str | None = "Summarize dialogues.") -> dict[str, Any]:
    """A valid bedrock-conversation-2024 record with ``n_turns`` user/assistant pairs."""
    messages = []
    for i in range(n_turns):
        messages.append({"role": "user", "content": [{"text": f"Question {i}?"}]})
        messages.append({"role": "assistant", "content": [{"text": f"Answer {i}."}]})
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024", "messages": messages}
    if system is not None:
        record["system"] = [{"text": system}]
    return record


def image(uri: str = "s3://my-bucket/img/cat.png", fmt: str = "png") -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def video(uri: str = "s3://my-bucket/vid/clip.mp4", fmt: str = "mp4") -> dict[str, Any]:
    return {"video": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def with_user_items(*items: dict[str, Any]) -> dict[str, Any]:
    record = nova()
    record["messages"][0]["content"].extend(items)
    return record


def claude() -> dict[str, Any]:
    return {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Hello?"},
            {"role": "assistant", "content": "Hi."},
        ],
    }


def rules_of(report: validation.ValidationReport) -> set[str]:
    return set(report.counts_by_rule)


def check_one(
    record: Any, model: str = NOVA_MICRO, job: str = "fine-tuning"
) -> validation.ValidationReport:
    # "validation" split: Nova has no minimum count there, so one record is enough.
    return validate_records([record], job=job, model=model, split="validation")


def write(tmp_path: Path, data: bytes, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


# --------------------------------------------------------------------------- per-rule cases

Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    def mutate(record: dict[str, Any]) -> dict[str, Any]:
        target: Any = record
        keys = path.split("/")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
        return record

    return mutate


_DELETE = object()

# (rule, model, job, base record, mutation, expected field path)
CASES: list[tuple[str, str, str, Callable[[], Any], Mutation, str]] = [
    ("json.not_object", NOVA_MICRO, "fine-tuning", nova, lambda r: [r], ""),
    ("schema.required", NOVA_MICRO, "fine-tuning", nova, _set("messages", _DELETE), "messages"),
    (
        "schema.required",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/1/role", _DELETE),
        "messages[1].role",
    ),
    ("schema.type", NOVA_MICRO, "fine-tuning", nova, _set("system", "text"), "system"),
    (
        "schema.type",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/0/content/0/text", 5),
        "messages[0].content[0].text",
    ),
    ("schema.unknown_key", NOVA_MICRO, "fine-tuning", nova, _set("extra", 1), "extra"),
    (
        "schema.unknown_key",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/0/name", "bob"),
        "messages[0].name",
    ),
    (
        "text.empty",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/1/content/0/text", "  "),
        "messages[1].content[0].text",
    ),
    (
        "text.empty",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("system/0/text", ""),
        "system[0].text",
    ),
    (
        "text.reserved",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/0/content/0/text", "User: hi [EOS]"),
        "messages[0].content[0].text",
    ),
    (
        "messages.count",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        lambda r: _set("messages", r["messages"][:1])(r),
        "messages",
    ),
    (
        "messages.role",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/1/role", "bot"),
        "messages[1].role",
    ),
    (
        "messages.first_user",
        NOVA_MICRO,
        "fine-tuning",
        lambda: nova(2),
        lambda r: _set("messages", r["messages"][1:])(r),
        "messages[0].role",
    ),
    (
        "messages.last_assistant",
        NOVA_MICRO,
        "fine-tuning",
        lambda: nova(2),
        lambda r: _set("messages", r["messages"][:3])(r),
        "messages[2].role",
    ),
    (
        "messages.alternation",
        NOVA_MICRO,
        "fine-tuning",
        lambda: nova(2),
        _set("messages/2/role", "assistant"),
        "messages[2].role",
    ),
    (
        "content.empty",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/0/content", []),
        "messages[0].content",
    ),
    (
        "content.item",
        NOVA_LITE,
        "fine-tuning",
        nova,
        _set("messages/0/content/0", {"text": "x", **image()}),
        "messages[0].content[0]",
    ),
    (
        "content.item",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        _set("messages/0/content/0", {}),
        "messages[0].content[0]",
    ),
    (
        "media.micro",
        NOVA_MICRO,
        "fine-tuning",
        nova,
        lambda r: with_user_items(image()),
        "messages[0].content[1].image",
    ),
    (
        "media.assistant",
        NOVA_LITE,
        "fine-tuning",
        nova,
        lambda r: (r["messages"][1]["content"].append(image()), r)[1],
        "messages[1].content[1].image",
    ),
    (
        "media.image_count",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(*[image()] * 10),
        lambda r: (r["messages"][0]["content"].append(image()), r)[1],
        "messages",
    ),
    (
        "media.video_count",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(video()),
        lambda r: (r["messages"][0]["content"].append(video()), r)[1],
        "messages",
    ),
    (
        "media.both",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(video()),
        lambda r: (r["messages"][0]["content"].append(image()), r)[1],
        "messages",
    ),
    (
        "media.format",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(image(fmt="jpeg")),
        _set("messages/0/content/1/image/format", "jpg"),
        "messages[0].content[1].image.format",
    ),
    (
        "media.format",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(video(fmt="webm")),
        _set("messages/0/content/1/video/format", "avi"),
        "messages[0].content[1].video.format",
    ),
    (
        "media.uri",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(image()),
        _set("messages/0/content/1/image/source/s3Location/uri", "https://x/cat.png"),
        "messages[0].content[1].image.source.s3Location.uri",
    ),
    (
        "media.uri",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(image()),
        _set("messages/0/content/1/image/source/s3Location/bucketOwner", "me"),
        "messages[0].content[1].image.source.s3Location.bucketOwner",
    ),
    (
        "schema.required",
        NOVA_LITE,
        "fine-tuning",
        lambda: with_user_items(image()),
        _set("messages/0/content/1/image/source", {"bytes": "AAAA"}),
        "messages[0].content[1].image.source.s3Location",
    ),
    # Llama 3.2: conversation format; 1B/3B text only, 11B/90B images but no videos
    (
        "media.not_supported",
        LLAMA_3B,
        "fine-tuning",
        nova,
        lambda r: with_user_items(image()),
        "messages[0].content[1].image",
    ),
    (
        "media.not_supported",
        LLAMA_11B,
        "fine-tuning",
        lambda: with_user_items(image()),
        lambda r: with_user_items(video()),
        "messages[0].content[1].video",
    ),
    (
        "media.assistant",
        LLAMA_11B,
        "fine-tuning",
        nova,
        lambda r: (r["messages"][1]["content"].append(image()), r)[1],
        "messages[1].content[1].image",
    ),
    (
        "media.format",
        "meta.llama3-2-90b-instruct-v1:0",
        "fine-tuning",
        lambda: with_user_items(image(fmt="webp")),
        _set("messages/0/content/1/image/format", "bmp"),
        "messages[0].content[1].image.format",
    ),
    (
        "messages.last_assistant",
        LLAMA_3B,
        "fine-tuning",
        lambda: nova(2),
        lambda r: _set("messages", r["messages"][:3])(r),
        "messages[2].role",
    ),
    # prompt/completion (Titan, Llama 3.1)
    (
        "schema.required",
        TITAN,
        "fine-tuning",
        lambda: {"prompt": "P", "completion": "C"},
        _set("completion", _DELETE),
        "completion",
    ),
    (
        "text.empty",
        LLAMA,
        "fine-tuning",
        lambda: {"prompt": "P", "completion": "C"},
        _set("prompt", ""),
        "prompt",
    ),
    (
        "schema.unknown_key",
        LLAMA,
        "fine-tuning",
        lambda: {"prompt": "P", "completion": "C"},
        _set("messages", []),
        "messages",
    ),
    # continued pre-training
    (
        "tokens.max",
        TITAN,
        "continued-pretraining",
        lambda: {"input": "x" * (4096 * 3)},
        _set("input", "x" * (4096 * 3 + 1)),
        "input",
    ),
    (
        "schema.type",
        TITAN,
        "continued-pretraining",
        lambda: {"input": "text"},
        _set("input", ["text"]),
        "input",
    ),
    # Claude 3 Haiku
    ("schema.type", HAIKU, "fine-tuning", claude, _set("system", [{"text": "x"}]), "system"),
    (
        "schema.type",
        HAIKU,
        "fine-tuning",
        claude,
        _set("messages/0/content", [{"text": "Hello?"}]),
        "messages[0].content",
    ),
    (
        "text.reserved",
        HAIKU,
        "fine-tuning",
        claude,
        _set("messages/1/content", "Hi.\nHuman: more"),
        "messages[1].content",
    ),
    (
        "text.reserved",
        HAIKU,
        "fine-tuning",
        claude,
        _set("system", "Be brief.\nAssistant: ok"),
        "system",
    ),
    (
        "messages.alternation",
        HAIKU,
        "fine-tuning",
        claude,
        _set("messages/1/role", "user"),
        "messages[1].role",
    ),
    (
        "tokens.max",
        HAIKU,
        "fine-tuning",
        claude,
        _set("messages/1/content", "y" * (32_000 * 6 + 1)),
        "messages",
    ),
    # distillation prompts
    (
        "system.count",
        NOVA_MICRO,
        "distillation",
        lambda: nova(system="s"),
        lambda r: (r["system"].append({"text": "again"}), r)[1],
        "system",
    ),
    (
        "messages.count",
        NOVA_MICRO,
        "distillation",
        lambda: nova(1),
        lambda r: nova(2),
        "messages",
    ),
    (
        "content.single_text",
        NOVA_MICRO,
        "distillation",
        lambda: nova(1),
        lambda r: (r["messages"][0]["content"].append({"text": "more"}), r)[1],
        "messages[0].content",
    ),
    (
        "media.not_supported",
        NOVA_LITE,
        "distillation",
        lambda: nova(1),
        lambda r: (r["messages"][0]["content"].append(image()), r)[1],
        "messages[0].content[1].image",
    ),
]


@pytest.mark.parametrize(
    ("rule", "model", "job", "base", "mutate", "path"),
    CASES,
    ids=[f"{c[0]}-{c[5] or 'record'}-{c[1].split('.')[1][:10]}-{c[2]}" for c in CASES],
)
def test_rule_passes_then_fails(
    rule: str, model: str, job: str, base: Callable[[], Any], mutate: Mutation, path: str
) -> None:
    good = base()
    report = check_one(good, model, job)
    # Record rules only: some families need more records than one (count.min).
    assert report.records_valid == 1, report.format_problems()
    bad = check_one(mutate(copy.deepcopy(good)), model, job)
    assert bad.records_valid == 0
    assert rule in bad.counts_by_rule, bad.format_problems()
    flagged = [p for p in bad.problems if p.rule == rule]
    assert any(p.path == path for p in flagged), flagged
    assert all(p.line == 1 and p.message for p in flagged)


def test_every_rule_is_described_and_tested_somewhere() -> None:
    tested = {c[0] for c in CASES} | {
        "file.missing",
        "file.directory",
        "file.unreadable",
        "file.empty",
        "file.too_large",
        "encoding.bom",
        "encoding.utf16",
        "encoding.utf8",
        "line.blank",
        "line.too_long",
        "json.syntax",
        "json.truncated",
        "json.array",
        "json.pretty_printed",
        "json.duplicate_key",
        "media.mixed_dataset",
        "media.bucket",
        "media.unreachable",
        "media.content",
        "media.size",
        "media.dimensions",
        "count.min",
        "schema.version",  # test_distillation_prompts_need_the_exact_schema_version
        "count.max",
        "count.total_max",
        # tests/unit/test_rft_validation.py
        "messages.system_first",
        "messages.last_user",
        "reference.missing",
    }
    assert tested == set(validation.RULES)


def test_nova_lite_accepts_images_and_one_video_in_user_turns() -> None:
    assert check_one(
        with_user_items(*[image(fmt=f) for f in validation.IMAGE_FORMATS]), NOVA_LITE
    ).valid
    for fmt in validation.VIDEO_FORMATS:
        assert check_one(with_user_items(video(fmt=fmt)), "amazon.nova-pro-v1:0").valid


def test_dataset_mixing_images_and_videos() -> None:
    records = [with_user_items(image()), nova(), with_user_items(video())]
    report = validate_records(records, model=NOVA_LITE, split="validation")
    mixed = [p for p in report.problems if p.rule == "media.mixed_dataset"]
    assert [(p.line, p.rule) for p in mixed] == [(3, "media.mixed_dataset")]
    assert "line 1" in mixed[0].message
    assert report.records_valid == 2


def test_media_must_share_the_dataset_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.BytesIO(jsonl([with_user_items(image("s3://other-bucket/x.png"))] * 8))
    report = _validate_s3_stream(monkeypatch, "s3://data-bucket/train.jsonl", stream, NOVA_LITE)
    assert report.counts_by_rule == {"media.bucket": 8}
    assert "data-bucket" in report.problems[0].message


def test_multi_turn_conversation_is_valid() -> None:
    assert check_one(nova(5)).valid
    assert check_one(nova(1, system=None)).valid


def test_problem_order_follows_field_order() -> None:
    record = nova(6)
    record["messages"][11]["role"] = "user"
    record["messages"][0]["content"][0]["text"] = ""
    report = check_one(record)
    paths = [p.path for p in report.problems]
    assert paths == sorted(paths, key=validation.path_key)
    assert paths[0] == "messages[0].content[0].text"


# --------------------------------------------------------------------------- counts


def test_count_min_for_nova_train(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, jsonl([nova()] * 7)))
    assert rules_of(report) == {"count.min"}
    assert report.records_valid == 7
    assert report.problems[0].line is None
    assert validate_file(write(tmp_path, jsonl([nova()] * 8))).valid


def test_count_max_for_validation_split() -> None:
    records = [{"prompt": "P", "completion": "C"}] * 1001
    assert rules_of(validate_records(records, model=TITAN, split="validation")) == {"count.max"}
    assert validate_records(records[:1000], model=TITAN, split="validation").valid
    assert validate_records(records, model=TITAN, split="train").valid


def test_claude_needs_32_records() -> None:
    assert rules_of(validate_records([claude()] * 31, model=HAIKU)) == {"count.min"}
    assert validate_records([claude()] * 32, model=HAIKU).valid


def test_distillation_counts_valid_prompts_only() -> None:
    prompts = [nova(1)] * 100
    assert validate_records(prompts, job="distillation").valid
    prompts[0] = nova(2)
    report = validate_records(prompts, job="distillation")
    assert rules_of(report) == {"messages.count", "count.min"}


def test_file_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = validation.MODELS[NOVA_MICRO]
    small = dataclasses.replace(info.jobs["distillation"], max_bytes=100, min_records={})
    monkeypatch.setitem(
        validation.MODELS, NOVA_MICRO, dataclasses.replace(info, jobs={"distillation": small})
    )
    report = validate_file(write(tmp_path, jsonl([nova(1)] * 3)), job="distillation")
    assert rules_of(report) == {"file.too_large"}


# --------------------------------------------------------------------------- bad input


def test_empty_file(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, b""))
    assert rules_of(report) == {"file.empty"}
    assert report.records_read == 0


def test_file_of_blank_lines(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, b"\n  \n\r\n"))
    assert report.counts_by_rule == {"line.blank": 3, "file.empty": 1}
    assert [p.line for p in report.problems] == [1, 2, 3, None]


def test_blank_line_between_records(tmp_path: Path) -> None:
    data = jsonl([nova()] * 4) + b"\n" + jsonl([nova()] * 4)
    report = validate_file(write(tmp_path, data))
    assert [(p.line, p.rule) for p in report.problems] == [(5, "line.blank")]
    assert report.records_read == report.records_valid == 8


def test_byte_order_mark(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, b"\xef\xbb\xbf" + jsonl([nova()] * 8)))
    assert [(p.line, p.rule) for p in report.problems] == [(1, "encoding.bom")]
    assert report.records_read == 8 and report.records_valid == 7


def test_utf16_file(tmp_path: Path) -> None:
    report = validate_file(
        write(tmp_path, "\ufeff".encode("utf-16-le") + jsonl([nova()]).decode().encode("utf-16-le"))
    )
    assert rules_of(report) == {"encoding.utf16"}


def test_invalid_utf8(tmp_path: Path) -> None:
    data = jsonl([nova()] * 8) + b'{"prompt": "caf\xe9"}\n'
    report = validate_file(write(tmp_path, data))
    assert [(p.line, p.rule) for p in report.problems] == [(9, "encoding.utf8")]
    assert "byte 16" in report.problems[0].message


def test_truncated_last_line(tmp_path: Path) -> None:
    data = jsonl([nova()] * 8) + json.dumps(nova()).encode()[:40]
    report = validate_file(write(tmp_path, data))
    assert [(p.line, p.rule) for p in report.problems] == [(9, "json.truncated")]


def test_last_line_without_newline_is_fine(tmp_path: Path) -> None:
    assert validate_file(write(tmp_path, jsonl([nova()] * 8).rstrip(b"\n"))).valid


def test_crlf_line_endings_are_fine(tmp_path: Path) -> None:
    assert validate_file(write(tmp_path, jsonl([nova()] * 8).replace(b"\n", b"\r\n"))).valid


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    data = jsonl([nova()] * 3) + b'{"messages": [}\n' + jsonl([nova()] * 5)
    report = validate_file(write(tmp_path, data))
    assert [(p.line, p.rule) for p in report.problems] == [(4, "json.syntax")]
    assert "column" in report.problems[0].message


def test_nan_and_duplicate_keys(tmp_path: Path) -> None:
    good = json.dumps(nova())
    data = jsonl([nova()] * 7) + b'{"input": NaN}\n' + good[:-1].encode() + b', "messages": []}\n'
    report = validate_file(write(tmp_path, data))
    assert (8, "json.syntax") in [(p.line, p.rule) for p in report.problems]
    assert (9, "json.duplicate_key") in [(p.line, p.rule) for p in report.problems]


def test_gigantic_single_line_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"input": "')
        fh.write(b"x" * (50 * 1024 * 1024))
        fh.write(b'"}\n')
        fh.write(jsonl([nova()] * 8))
    tracemalloc.start()
    try:
        report = validate_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(p.line, p.rule) for p in report.problems] == [(1, "line.too_long")]
    assert report.records_read == 9 and report.records_valid == 8
    assert peak < 2.5 * validation.MAX_LINE_BYTES  # never the whole 50 MB line


def test_line_cap_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, jsonl([nova()] * 8))
    report = validate_file(path, max_line_bytes=50)
    assert report.counts_by_rule["line.too_long"] == 8
    assert "50-byte" in report.problems[0].message


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (json.dumps([nova()] * 8).encode(), "json.array"),
        (json.dumps([nova()] * 8, indent=2).encode(), "json.array"),
        (json.dumps(nova(), indent=2).encode(), "json.pretty_printed"),
    ],
)
def test_json_array_or_pretty_printed_file(tmp_path: Path, data: bytes, rule: str) -> None:
    report = validate_file(write(tmp_path, data))
    assert rules_of(report) == {rule}
    assert len(report.problems) == 1 and report.problems[0].line == 1


def test_non_object_lines(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, b'"text"\n42\nnull\n' + jsonl([nova()] * 8)))
    assert [(p.line, p.rule) for p in report.problems] == [
        (1, "json.not_object"),
        (2, "json.not_object"),
        (3, "json.not_object"),
    ]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = validate_file(tmp_path / "nope.jsonl")
    assert rules_of(missing) == {"file.missing"} and missing.records_read == 0
    directory = validate_file(tmp_path)
    assert rules_of(directory) == {"file.directory"}


def test_read_error_midway_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("connection reset")
            return jsonl([nova()] * 2)[:n]

    report = _validate_s3_stream(monkeypatch, "s3://b/k.jsonl", Flaky(), NOVA_MICRO)
    assert "file.unreadable" in report.counts_by_rule
    assert "connection reset" in report.problems[-1].message


# --------------------------------------------------------------------------- models and jobs


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.nova-micro-v1:0",
        "us.amazon.nova-micro-v1:0",
        "amazon.nova-micro-v1:0:128k",
        "eu.amazon.nova-micro-v1:0:128k",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "AMAZON.NOVA-MICRO-V1:0",
    ],
)
def test_model_id_variants(model_id: str) -> None:
    assert validation.resolve_model(model_id).model_id == "amazon.nova-micro-v1:0"


def test_titan_customization_suffix() -> None:
    assert validation.resolve_model("amazon.titan-text-lite-v1:0:4k").model_id == (
        "amazon.titan-text-lite-v1"
    )


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(WorkshopError) as info:
        validate_records([], model="openai.gpt-9")
    message = str(info.value)
    assert "openai.gpt-9" in message
    assert all(model_id in message for model_id in validation.MODELS)


def test_job_spellings_and_unsupported_job() -> None:
    assert validation.normalize_job("CONTINUED_PRE_TRAINING") == "continued-pretraining"
    assert validation.normalize_job("FINE_TUNING") == "fine-tuning"
    with pytest.raises(WorkshopError, match="Unknown job"):
        validation.normalize_job("pretraining")
    with pytest.raises(WorkshopError, match=r"amazon\.titan-text-lite-v1"):
        validate_records([], job="continued-pretraining", model=NOVA_MICRO)
    with pytest.raises(WorkshopError, match="split"):
        validate_records([], split="test")


# --------------------------------------------------------------------------- report


def _bad_report(tmp_path: Path) -> validation.ValidationReport:
    bad = nova()
    bad["messages"][1]["content"][0]["text"] = ""
    return validate_file(write(tmp_path, jsonl([nova()] * 8 + [bad]), "train.jsonl"))


def test_report_fields_and_summary(tmp_path: Path) -> None:
    report = _bad_report(tmp_path)
    assert not report.valid
    assert (report.records_read, report.records_valid, report.records_invalid) == (9, 8, 1)
    assert report.problems == [
        Problem(9, "messages[1].content[0].text", "text.empty", report.problems[0].message)
    ]
    assert report.counts_by_rule == {"text.empty": 1}
    summary = report.summary()
    assert "\n" not in summary
    assert "INVALID" in summary and "9 records read, 8 valid, 1 invalid" in summary
    assert "text.empty 1" in summary


def test_report_formats(tmp_path: Path) -> None:
    report = _bad_report(tmp_path)
    source = str(tmp_path / "train.jsonl")
    assert report.format_problems() == [
        f"{source}:9: messages[1].content[0].text: is empty; write the text or remove the item."
    ]
    frame = report.to_frame()
    assert list(frame.columns) == ["line", "path", "rule", "message"]
    assert frame.iloc[0]["line"] == 9 and frame.iloc[0]["rule"] == "text.empty"
    data = json.loads(json.dumps(report.to_dict()))
    assert data["valid"] is False and data["records_invalid"] == 1
    assert data["counts_by_rule"] == {"text.empty": 1}
    assert data["problems"][0]["line"] == 9


def test_raise_if_invalid(tmp_path: Path) -> None:
    report = _bad_report(tmp_path)
    with pytest.raises(WorkshopError) as info:
        report.raise_if_invalid()
    message = str(info.value)
    assert f"{tmp_path / 'train.jsonl'}:9: messages[1].content[0].text: is empty" in message
    assert report.summary() in message
    ok = validate_records([nova()] * 8)
    assert ok.raise_if_invalid() is ok


def test_problems_are_capped_but_all_counted() -> None:
    report = validate_records([{"x": 1}] * 50, max_problems=10)
    assert len(report.problems) == 10
    assert report.counts_by_rule == {"schema.required": 50, "schema.unknown_key": 50}
    assert report.problems_omitted == 90
    with pytest.raises(WorkshopError, match="and 95 more"):
        report.raise_if_invalid(show=5)


def test_file_level_problem_format() -> None:
    assert Problem(None, "", "file.empty", "holds no records.").format("f.jsonl") == (
        "f.jsonl: holds no records."
    )
    assert Problem(3, "", "json.syntax", "bad.").format("f.jsonl") == "f.jsonl:3: bad."


# --------------------------------------------------------------------------- S3 sources


def _validate_s3_stream(
    monkeypatch: pytest.MonkeyPatch, uri: str, body: Any, model: str
) -> validation.ValidationReport:
    """Validate ``uri`` with an S3 client whose ``get_object`` returns ``body``; no media fetch."""

    class Stub:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            return {"Body": body}

    monkeypatch.setattr(clients, "client", lambda service, region_name=None: Stub())
    return validate_file(uri, model=model, check_media=False)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    clients.clear_cache()
    yield
    clients.clear_cache()


def test_s3_source_is_streamed(aws_env: None) -> None:
    from moto import mock_aws

    with mock_aws():
        s3 = clients.client("s3")
        s3.create_bucket(Bucket="workshop-data")
        s3.put_object(Bucket="workshop-data", Key="train.jsonl", Body=jsonl([nova()] * 8))
        bad = jsonl([nova()] * 7) + b"{oops\n"
        s3.put_object(Bucket="workshop-data", Key="bad.jsonl", Body=bad)
        ok = validate_file("s3://workshop-data/train.jsonl")
        assert ok.valid and ok.records_read == 8
        report = validate_file("s3://workshop-data/bad.jsonl")
        assert report.format_problems()[0].startswith("s3://workshop-data/bad.jsonl:8: ")
        assert rules_of(validate_file("s3://workshop-data/missing.jsonl")) == {"file.missing"}
        assert rules_of(validate_file("s3://no-such-bucket/x.jsonl")) == {"file.missing"}
        assert rules_of(validate_file("s3://workshop-data")) == {"file.missing"}


def test_unreadable_s3_object(monkeypatch: pytest.MonkeyPatch) -> None:
    class Denied:
        def get_object(self, **kwargs: Any) -> dict[str, Any]:
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError(error, "GetObject")

    monkeypatch.setattr(clients, "client", lambda service, region_name=None: Denied())
    report = validate_file("s3://locked/train.jsonl")
    assert rules_of(report) == {"file.unreadable"}
    assert "AccessDenied" in report.problems[0].message


# --------------------------------------------------------------------------- command line


def test_cli_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, jsonl([nova()] * 8))
    assert main([str(path), "--job", "fine-tuning", "--model", "us.amazon.nova-lite-v1:0"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "VALID" in out[0] and "8 records read" in out[0]


def test_cli_invalid_lists_problems_then_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _bad_report(tmp_path)
    path = tmp_path / "train.jsonl"
    assert main([str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [*report.format_problems(), report.summary()]
    assert out[0].startswith(f"{path}:9: messages[1].content[0].text: ")


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = _bad_report(tmp_path)
    assert main([str(tmp_path / "train.jsonl"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(report.to_dict()))


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write(tmp_path, jsonl([nova()] * 8)))
    assert main([path, "--model", "nope"]) == 2
    assert "Unknown model" in capsys.readouterr().err
    assert main([path, "--job", "pretraining"]) == 2
    assert main([path, "--split", "test"]) == 2
    assert main([]) == 2
    assert main([path, "--job", "continued-pretraining", "--model", NOVA_MICRO]) == 2


def test_cli_missing_file_is_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().out


def test_cli_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, jsonl([nova()] * 7))
    result = subprocess.run(
        [sys.executable, "-m", "utils.validation", str(path), "--model", NOVA_MICRO],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"{path}: has 7 records;")
    assert lines[-1].startswith(f"{path}: INVALID") and "count.min 1" in lines[-1]
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- properties

_RESERVED = validation.NOVA_RESERVED
texts = st.text(min_size=1, max_size=30).filter(
    lambda s: bool(s.strip()) and not any(w in s for w in _RESERVED)
)


@st.composite
def nova_records(draw: st.DrawFn) -> dict[str, Any]:
    turns = draw(st.integers(1, 4))
    messages = []
    for _ in range(turns):
        messages.append({"role": "user", "content": [{"text": draw(texts)}]})
        messages.append({"role": "assistant", "content": [{"text": draw(texts)}]})
    record: dict[str, Any] = {"messages": messages}
    if draw(st.booleans()):
        record["system"] = [{"text": draw(texts)}]
    if draw(st.booleans()):
        record["schemaVersion"] = "bedrock-conversation-2024"
    return record


def _drop_key(record: dict[str, Any], data: st.DataObject) -> set[str]:
    choice = data.draw(st.sampled_from(["messages", "role", "content", "text"]))
    if choice == "messages":
        del record["messages"]
        return {"schema.required"}
    message = data.draw(st.sampled_from(record["messages"]))
    if choice in ("role", "content"):
        del message[choice]
        return {"schema.required"}
    del message["content"][0]["text"]
    return {"content.item"}


def _swap_roles(record: dict[str, Any], data: st.DataObject) -> set[str]:
    for message in record["messages"]:
        message["role"] = "assistant" if message["role"] == "user" else "user"
    return {"messages.first_user"}


def _empty_text(record: dict[str, Any], data: st.DataObject) -> set[str]:
    message = data.draw(st.sampled_from(record["messages"]))
    message["content"][0]["text"] = data.draw(st.sampled_from(["", " ", "\n\t"]))
    return {"text.empty"}


def _change_type(record: dict[str, Any], data: st.DataObject) -> set[str]:
    value = data.draw(
        st.one_of(
            st.integers(),
            st.none(),
            st.booleans(),
            st.floats(allow_nan=False, allow_infinity=False),
        )
    )
    target = data.draw(st.sampled_from(["messages", "role", "content", "text", "system"]))
    message = data.draw(st.sampled_from(record["messages"]))
    if target == "messages":
        record["messages"] = value
    elif target == "system":
        record["system"] = value
    elif target == "text":
        message["content"][0]["text"] = value
    else:
        message[target] = value
    return {"schema.type"}


def _add_media(record: dict[str, Any], data: st.DataObject) -> set[str]:
    message = data.draw(st.sampled_from(record["messages"]))
    message["content"].append(data.draw(st.sampled_from([image(), video()])))
    return {"media.micro"}


MUTATIONS = [_drop_key, _swap_roles, _empty_text, _change_type, _add_media]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=nova_records(), mutation=st.sampled_from(MUTATIONS), data=st.data())
def test_mutations_are_flagged(record: dict[str, Any], mutation: Any, data: st.DataObject) -> None:
    assert check_one(record).valid
    expected = mutation(record, data)
    report = check_one(record)
    assert not report.valid
    assert expected & set(report.counts_by_rule), (expected, report.format_problems())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["messages", "role", "content", "text", "image", "video", "system", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    value=json_values,
    target=st.sampled_from(
        [
            (NOVA_MICRO, "fine-tuning"),
            (NOVA_LITE, "fine-tuning"),
            (NOVA_LITE, "distillation"),
            (TITAN, "fine-tuning"),
            (TITAN, "continued-pretraining"),
            (HAIKU, "fine-tuning"),
        ]
    ),
)
def test_arbitrary_json_never_raises(value: Any, target: tuple[str, str]) -> None:
    report = validate_records([value], job=target[1], model=target[0], split="validation")
    assert report.records_read == 1
    assert all(p.rule in validation.RULES for p in report.problems)


# --------------------------------------------------------------------------- Llama 3.2


def test_llama_32_vision_takes_images_without_a_count_limit() -> None:
    # AWS documents no per-record image count for Llama 3.2, unlike Nova's 10.
    record = with_user_items(*[image(fmt=f) for f in validation.IMAGE_FORMATS] * 3)
    assert check_one(record, LLAMA_11B).valid
    assert rules_of(check_one(record, NOVA_LITE)) == {"media.image_count"}
    assert check_one(nova(3), "us.meta.llama3-2-1b-instruct-v1:0").valid


def test_llama_32_record_counts() -> None:
    assert validate_records([nova()] * 10_000, model=LLAMA_3B).valid
    assert rules_of(validate_records([nova()] * 10_001, model=LLAMA_3B)) == {"count.max"}
    assert validate_records([nova()] * 1_000, model=LLAMA_11B, split="validation").valid
    too_many = validate_records([nova()] * 1_001, model=LLAMA_11B, split="validation")
    assert rules_of(too_many) == {"count.max"}


def test_llama_32_images_may_sit_in_another_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.BytesIO(jsonl([with_user_items(image("s3://other-bucket/x.png"))] * 3))
    report = _validate_s3_stream(monkeypatch, "s3://data-bucket/train.jsonl", stream, LLAMA_11B)
    assert report.valid, report.format_problems()


def test_llama_32_supports_fine_tuning_only() -> None:
    with pytest.raises(WorkshopError, match="does not support distillation"):
        validation.rules_for("distillation", LLAMA_11B)


# --------------------------------------------------------------------------- image headers


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + crc


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def _riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_lossy(width: int, height: int) -> bytes:
    return _riff(b"VP8 ", b"\x30\x01\x00\x9d\x01\x2a" + struct.pack("<HH", width, height))


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return _riff(b"VP8L", b"\x2f" + bits.to_bytes(4, "little") + b"\x00")


def webp_extended(width: int, height: int) -> bytes:
    sizes = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _riff(b"VP8X", b"\x00\x00\x00\x00" + sizes)


def jpeg(width: int, height: int, marker: int = 0xC0, app_bytes: int = 16, apps: int = 1) -> bytes:
    """A JPEG header: ``apps`` APP1 segments of ``app_bytes``, a fill byte, the frame header."""
    app = (b"\xff\xe1" + struct.pack(">H", app_bytes + 2) + b"\x00" * app_bytes) * apps
    frame = bytes([0xFF, marker]) + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app + b"\xff" + frame + b"\xff\xda\x00\x08" + b"\x00" * 6 + b"\xff\xd9"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(640, 480), ImageInfo("png", 640, 480)),
        (gif(1, 65535), ImageInfo("gif", 1, 65535)),
        (webp_lossy(1023, 77), ImageInfo("webp", 1023, 77)),
        (webp_lossless(16384, 3), ImageInfo("webp", 16384, 3)),
        (webp_extended(9000, 12), ImageInfo("webp", 9000, 12)),
        (jpeg(8193, 20), ImageInfo("jpeg", 8193, 20)),
        (jpeg(300, 200, marker=0xC2), ImageInfo("jpeg", 300, 200)),  # progressive
        (jpeg(5, 6, app_bytes=60_000, apps=3), ImageInfo("jpeg", 5, 6)),
        (png(640, 480)[:20], ImageInfo("png")),  # cut off before the size
        (jpeg(5, 6)[:30], ImageInfo("jpeg")),
        (b"\xff\xd8\xff\xd9", ImageInfo("jpeg")),  # ends before any frame header
        (b"GIF89a", ImageInfo("gif")),
        (b"hello world, not an image", None),
        (b"", None),
    ],
    ids=lambda v: v.format if isinstance(v, ImageInfo) else None,
)
def test_image_header_parsing(data: bytes, expected: ImageInfo | None) -> None:
    assert image_info(data) == expected


def test_image_headers_of_real_encoders() -> None:
    pil = pytest.importorskip("PIL.Image")
    features = pytest.importorskip("PIL.features")
    formats = [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}), ("GIF", {})]
    if features.check("webp"):
        formats += [("WEBP", {}), ("WEBP", {"lossless": True})]
    for name, options in formats:
        buffer = io.BytesIO()
        pil.new("RGB", (37, 21), (200, 30, 30)).save(buffer, name, **options)
        assert image_info(buffer.getvalue()) == ImageInfo(name.lower(), 37, 21), name


# --------------------------------------------------------------------------- media in Amazon S3


def picture(key: str, fmt: str = "png", bucket: str = "media-data") -> dict[str, Any]:
    return with_user_items(image(f"s3://{bucket}/{key}", fmt))


def test_images_are_checked_in_s3(aws_env: None, tmp_path: Path) -> None:
    from moto import mock_aws

    big = png(100, 100) + b"\x00" * (10 * 2**20)  # 10 MiB plus the header: over the limit
    objects = {
        "ok.png": png(640, 480),
        "wide.png": png(8193, 10),
        "big.png": big,
        "exif.jpg": jpeg(100, 9000, app_bytes=40_000, apps=2),  # frame header after 64 KiB
        "fake.png": b"not an image at all",
        "gif.png": gif(10, 10),
        "empty.png": b"",
    }
    records = [
        picture("ok.png"),
        picture("wide.png"),
        picture("big.png"),
        picture("exif.jpg", "jpeg"),
        picture("fake.png"),
        picture("gif.png"),
        picture("empty.png"),
        picture("missing.png"),
        picture("ok.png"),  # fetched once
        picture("wide.png", bucket="no-such-bucket"),
    ]
    with mock_aws():
        s3 = clients.client("s3")
        s3.create_bucket(Bucket="media-data")
        for key, body in objects.items():
            s3.put_object(Bucket="media-data", Key=key, Body=body)
        report = validate_file(write(tmp_path, jsonl(records)), model=LLAMA_11B, split="validation")
    found = {(p.line, p.rule, p.path) for p in report.problems}
    item = "messages[0].content[1].image"
    assert found == {
        (2, "media.dimensions", item),
        (3, "media.size", item),
        (4, "media.dimensions", item),
        (5, "media.content", item),
        (6, "media.content", f"{item}.format"),
        (7, "media.content", item),
        (8, "media.unreachable", f"{item}.source.s3Location.uri"),
        (10, "media.unreachable", f"{item}.source.s3Location.uri"),
    }
    messages = {p.line: p.message for p in report.problems}
    assert "8193x10" in messages[2] and "8192x8192" in messages[2]
    assert "10 MiB" in messages[3]
    assert "'gif'" in messages[6]
    assert "does not exist" in messages[8] and "404" in messages[8]
    assert report.records_valid == 2
    assert (report.media_checked, report.media_unchecked) == (9, 0)
    assert "9 media file(s) checked in Amazon S3" in report.summary()


def test_nova_images_must_exist_but_have_no_size_limit(aws_env: None, tmp_path: Path) -> None:
    from moto import mock_aws

    records = [picture("huge.png"), picture("gone.png")]
    with mock_aws():
        s3 = clients.client("s3")
        s3.create_bucket(Bucket="media-data")
        s3.put_object(Bucket="media-data", Key="huge.png", Body=png(20_000, 20_000))
        report = validate_file(write(tmp_path, jsonl(records)), model=NOVA_LITE, split="validation")
    assert [(p.line, p.rule) for p in report.problems] == [(2, "media.unreachable")]


class _CountingS3:
    """An S3 client stub: every call is recorded, and head_object answers with ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append(f"{Bucket}/{Key}")
        if self.error is not None:
            raise self.error
        return {"ContentLength": 0}


def test_media_checks_can_be_switched_off_and_capped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stub = _CountingS3()
    monkeypatch.setattr(clients, "client", lambda service, region_name=None: stub)
    path = write(tmp_path, jsonl([picture(f"{i}.png") for i in range(5)]))
    offline = validate_file(path, model=LLAMA_11B, split="validation", check_media=False)
    assert offline.valid and stub.calls == []
    assert (offline.media_checked, offline.media_unchecked) == (0, 0)
    capped = validate_file(path, model=LLAMA_11B, split="validation", max_media_checks=2)
    assert stub.calls == ["media-data/0.png", "media-data/1.png"]
    assert (capped.media_checked, capped.media_unchecked) == (2, 3)
    assert rules_of(capped) == {"media.content"}  # the stub's objects are empty
    assert "3 reference(s) not checked" in capped.summary()
    assert validate_records([picture("0.png")], model=LLAMA_11B, split="validation").valid
    assert stub.calls == ["media-data/0.png", "media-data/1.png"]  # records: no fetch by default


def test_unreachable_s3_is_one_problem_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stub = _CountingS3(EndpointConnectionError(endpoint_url="https://s3.example"))
    monkeypatch.setattr(clients, "client", lambda service, region_name=None: stub)
    path = write(tmp_path, jsonl([picture(f"{i}.png") for i in range(3)]))
    report = validate_file(path, model=LLAMA_11B, split="validation")
    assert [(p.line, p.rule) for p in report.problems] == [(1, "media.unreachable")]
    assert "unreachable" in report.problems[0].message
    assert "--no-check-media" in report.problems[0].message
    assert len(stub.calls) == 1 and report.media_unchecked == 3


def test_access_denied_media_is_a_problem_per_object(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    denied = ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")
    stub = _CountingS3(denied)
    monkeypatch.setattr(clients, "client", lambda service, region_name=None: stub)
    path = write(tmp_path, jsonl([picture("a.png"), picture("b.png")]))
    report = validate_file(path, model=LLAMA_11B, split="validation")
    assert [(p.line, p.rule) for p in report.problems] == [
        (1, "media.unreachable"),
        (2, "media.unreachable"),
    ]
    assert "s3:GetObject" in report.problems[0].message


# --------------------------------------------------------------------------- train + validation


def test_claude_train_and_validation_together(tmp_path: Path) -> None:
    train = write(tmp_path, jsonl([claude()] * 9_001), "train.jsonl")
    val = write(tmp_path, jsonl([claude()] * 1_000), "validation.jsonl")
    report = validate_dataset(train, val, model=HAIKU)
    assert report.train.valid and report.validation is not None and report.validation.valid
    assert [(p.line, p.rule) for p in report.problems] == [(None, "count.total_max")]
    assert not report.valid and report.counts_by_rule == {"count.total_max": 1}
    assert "10,001" in report.problems[0].message
    assert report.format_problems()[0].startswith(f"{train} + {val}: the training (9,001)")
    assert "train 9001, validation 1000 records, 10001 in all (at most 10,000)" in report.summary()
    with pytest.raises(WorkshopError, match=r"count\.total_max"):
        report.raise_if_invalid()
    data = report.to_dict()
    assert data["train"]["records_read"] == 9_001 and data["problems"][0]["rule"] == (
        "count.total_max"
    )
    exact = write(tmp_path, jsonl([claude()] * 9_000), "exact.jsonl")
    assert validate_dataset(exact, val, model=HAIKU).valid
    alone = validate_dataset(train, model=HAIKU)
    assert alone.valid and alone.validation is None and alone.raise_if_invalid() is alone


def test_dataset_reports_problems_of_each_file(tmp_path: Path) -> None:
    train = write(tmp_path, jsonl([nova()] * 8), "train.jsonl")
    val = write(tmp_path, jsonl([nova(), {"messages": []}]), "validation.jsonl")
    report = validate_dataset(train, val, model=NOVA_LITE)
    assert report.max_total_records is None and not report.problems
    assert not report.valid and report.records_read == 10
    assert report.format_problems() == report.validation.format_problems()  # type: ignore[union-attr]
    assert str(report).splitlines()[-1] == report.summary()
    with pytest.raises(WorkshopError, match="Unknown model"):
        validate_dataset(train, val, model="nope")


# --------------------------------------------------------------------------- fast path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    record=nova_records(),
    mutation=st.sampled_from([None, *MUTATIONS]),
    data=st.data(),
    separators=st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : ")]),
)
def test_streamed_lines_agree_with_the_full_check(
    record: dict[str, Any],
    mutation: Any,
    data: st.DataObject,
    separators: tuple[str, str],
) -> None:
    # Files take a fast path for plain valid records; it must never accept a bad one.
    if mutation is not None:
        mutation(record, data)
    line = json.dumps(record, separators=separators).encode() + b"\n"
    streamed = validation.validate_stream(io.BytesIO(line), model=NOVA_MICRO, split="validation")
    direct = check_one(record)
    assert streamed.counts_by_rule == direct.counts_by_rule
    assert streamed.records_valid == direct.records_valid


@pytest.mark.parametrize(
    "line",
    [
        '{"messages": [{"role": "user", "role": "user", "content": [{"text": "a"}]}, '
        '{"role": "assistant", "content": [{"text": "b"}]}]}',
        '{"messages" : [{"role" : "user", "content" : [{"text" : "a", "text" : "c"}]}, '
        '{"role" : "assistant", "content" : [{"text" : "b"}]}]}',
    ],
)
def test_duplicate_keys_in_an_otherwise_valid_line(line: str) -> None:
    report = validation.validate_stream(
        io.BytesIO(line.encode() + b"\n"), model=NOVA_MICRO, split="validation"
    )
    assert rules_of(report) == {"json.duplicate_key"}


def test_quotes_and_colons_inside_text_are_fine() -> None:
    record = nova()
    record["messages"][0]["content"][0]["text"] = 'He said "stop": then "go" :'
    line = json.dumps(record).encode() + b"\n"
    report = validation.validate_stream(io.BytesIO(line), model=NOVA_MICRO, split="validation")
    assert report.valid


# --------------------------------------------------------------------------- command line, pairs


def test_cli_pair_with_combined_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = str(write(tmp_path, jsonl([claude()] * 9_500), "train.jsonl"))
    val = str(write(tmp_path, jsonl([claude()] * 600), "validation.jsonl"))
    assert main([train, "--validation", val, "--model", HAIKU]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(f"{train} + {val}: the training (9,500) and validation (600)")
    assert out[1].startswith(f"{train}: VALID") and out[2].startswith(f"{val}: VALID")
    assert out[3].startswith(f"{train} + {val}: INVALID dataset") and "count.total_max 1" in out[3]
    assert main([train, "--validation", val, "--model", HAIKU, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False and data["validation"]["records_read"] == 600
    assert data["counts_by_rule"] == {"count.total_max": 1}


def test_cli_pair_valid_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = str(write(tmp_path, jsonl([nova()] * 8), "train.jsonl"))
    val = str(write(tmp_path, jsonl([nova()] * 2), "validation.jsonl"))
    assert main([train, "--validation", val]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3 and "VALID dataset" in out[2] and "10 in all" in out[2]
    assert main([train, "--validation", val, "--split", "validation"]) == 2
    assert "--validation" in capsys.readouterr().err
    assert main([train, "--validation", str(tmp_path / "nope.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().out
    assert main([train, "--max-media-checks", "-1"]) == 2


def test_cli_no_check_media(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = _CountingS3(EndpointConnectionError(endpoint_url="https://s3.example"))
    monkeypatch.setattr(clients, "client", lambda service, region_name=None: stub)
    path = str(write(tmp_path, jsonl([picture("a.png")]), "validation.jsonl"))
    args = [path, "--model", LLAMA_11B, "--split", "validation"]
    assert main(args) == 1
    assert "unreachable" in capsys.readouterr().out
    assert main([*args, "--no-check-media"]) == 0
    assert len(stub.calls) == 1


def test_throughput_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import validate_throughput
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert validate_throughput.main(["--records", "300", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "validator / floor time:" in out and "records valid: 300 of 300" in out


def test_distillation_prompts_need_the_exact_schema_version() -> None:
    prompt = {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Summarize briefly."}],
        "messages": [{"role": "user", "content": [{"text": "A dialogue to summarize."}]}],
    }
    good = [dict(prompt) for _ in range(100)]
    assert validation.validate_records(good, "distillation", "amazon.nova-micro-v1:0").valid
    wrong = [*good[:99], dict(prompt, schemaVersion="bedrock-conversation-2023")]
    report = validation.validate_records(wrong, "distillation", "amazon.nova-micro-v1:0")
    assert "schema.version" in rules_of(report) and not report.valid  # 99 valid prompts left
    # Fine-tuning data takes any string there, as Nova's data page says.
    chat = dict(prompt, messages=[*prompt["messages"], {"role": "assistant",
                "content": [{"text": "A summary."}]}], schemaVersion="anything")  # fmt: skip
    assert validation.validate_records([chat] * 8, "fine-tuning", "amazon.nova-micro-v1:0").valid


def test_distillation_takes_at_most_fifteen_thousand_prompts() -> None:
    prompt = {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [{"role": "user", "content": [{"text": "Summarize this."}]}],
    }
    assert validation.validate_records([prompt] * 15_000, "distillation").valid
    report = validation.validate_records([prompt] * 15_001, "distillation")
    assert "count.max" in rules_of(report)


def test_llama_3_2_records_follow_aws_llama_validator() -> None:
    def record(**extra: Any) -> dict[str, Any]:
        base = {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "Summarize."}],
            "messages": [
                {"role": "user", "content": [{"text": "A dialogue."}]},
                {"role": "assistant", "content": [{"text": "A summary."}]},
            ],
        }
        return {**base, **extra}

    llama, vision_90b = "meta.llama3-2-1b-instruct-v1:0", "meta.llama3-2-90b-instruct-v1:0"
    assert validate_records([record()] * 100, model=llama).valid
    assert rules_of(validate_records([record(schemaVersion="x")], model=llama)) >= {
        "schema.version"
    }
    two = record(system=[{"text": "A."}, {"text": "B."}])
    assert "system.count" in rules_of(validate_records([two], model=llama))
    long_turn = record()
    long_turn["messages"][0]["content"][0]["text"] = "word " * 7_000  # 35,000 characters
    assert "tokens.max" in rules_of(validate_records([long_turn], model=vision_90b))
    medium = record()
    medium["messages"][0]["content"][0]["text"] = "w" * 36_000  # 12,000 tokens estimated
    assert "tokens.max" not in rules_of(validate_records([medium], model=llama))
    assert "tokens.max" in rules_of(validate_records([medium], model=vision_90b))
