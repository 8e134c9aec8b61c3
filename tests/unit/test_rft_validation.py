"""The reinforcement fine-tuning data validator: Bedrock's record shape and limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from utils import validation
from utils.errors import WorkshopError

MODEL = "amazon.nova-2-lite-v1:0"


def good(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Answer with a number."},
            {"role": "user", "content": f"What is {i} + 2?"},
        ],
        "reference_answer": {"answer": i + 2},
        **extra,
    }


def write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_documented_file_is_valid(tmp_path: Path) -> None:
    records = [good(i) for i in range(100)]
    # Free-form reference answers, extra fields for the grader, text parts, few-shot turns.
    records[1] = good(1, task_id="t-1", domain="math")
    records[2]["reference_answer"] = "Paris"
    records[3]["messages"][1]["content"] = [{"type": "text", "text": "What is 3 + 2?"}]
    records[4]["messages"][1:1] = [
        {"role": "user", "content": "What is 1 + 1?"},
        {"role": "assistant", "content": "2"},
    ]
    report = validation.validate_file(write(tmp_path / "t.jsonl", records), "rft", MODEL)
    assert report.valid, str(report)
    assert report.job == "reinforcement-fine-tuning"


@pytest.mark.parametrize(
    "spelling", ["rft", "REINFORCEMENT_FINE_TUNING", "reinforcement fine tuning"]
)
def test_job_spellings(spelling: str) -> None:
    assert validation.normalize_job(spelling) == "reinforcement-fine-tuning"


def test_only_models_with_rft_take_the_job() -> None:
    with pytest.raises(WorkshopError, match="does not support reinforcement-fine-tuning"):
        validation.validate_records([good()], "rft", "amazon.nova-micro-v1:0")


@pytest.mark.parametrize(
    ("record", "rule", "where", "words"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "reference.missing",
         "reference_answer", "add what the reward function compares"),
        (good() | {"reference_answer": {}}, "reference.missing", "reference_answer", "empty"),
        ({"reference_answer": 1}, "schema.required", "messages", "missing"),
        (good() | {"messages": "hi"}, "schema.type", "messages", "must be a list"),
        (good() | {"messages": []}, "messages.count", "messages", "at least one user"),
        (good() | {"messages": [{"role": "tool", "content": "x"}]}, "messages.role",
         "messages[0].role", "'system', 'user' or 'assistant'"),
        (good() | {"messages": [{"role": "user", "content": "q"}, {"role": "system",
         "content": "s"}, {"role": "user", "content": "q"}]}, "messages.system_first",
         "messages[1].role", "come first"),
        (good() | {"messages": [{"role": "user", "content": "q"},
         {"role": "assistant", "content": "a"}]}, "messages.last_user", "messages[1]",
         "end it with the user's question"),
        (good() | {"messages": [{"role": "user", "content": "  "}]}, "text.empty",
         "messages[0].content", "empty"),
        (good() | {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
         "content.item", "messages[0].content[0]", "text only"),
        (good() | {"messages": [{"role": "user"}]}, "schema.required", "messages[0].content",
         "add the text"),
        (good() | {"messages": [{"role": "user", "content": 5}]}, "schema.type",
         "messages[0].content", "string"),
    ],
)  # fmt: skip
def test_each_broken_rule_says_where_and_what_to_do(
    record: dict[str, Any], rule: str, where: str, words: str
) -> None:
    report = validation.validate_records([good(), record], "rft", MODEL)
    found = [p for p in report.problems if p.rule == rule]
    assert found, str(report)
    assert found[0].line == 2 and found[0].path == where and words in found[0].message


def test_bad_lines_of_a_file_are_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps(good(i)) for i in range(101)]
    lines[4] = "{not json"
    lines[7] = json.dumps({"messages": [{"role": "user", "content": "q"}]})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validation.validate_file(path, "rft", MODEL)
    found = {(p.line, p.rule) for p in report.problems}
    assert found == {(5, "json.syntax"), (8, "reference.missing")}
    assert f"{path}:8: reference_answer:" in "\n".join(report.format_problems())
    with pytest.raises(WorkshopError, match="Fix the lines listed"):
        report.raise_if_invalid()


@pytest.mark.parametrize(("count", "rule"), [(99, "count.min"), (20_001, "count.max")])
def test_bedrock_takes_100_to_20000_training_prompts(count: int, rule: str) -> None:
    report = validation.validate_records([good()] * count, "rft", MODEL)
    assert report.counts_by_rule == {rule: 1}
    assert ("at least 100" if rule == "count.min" else "at most 20,000") in str(report)


def test_a_validation_file_has_no_documented_count_limit() -> None:
    report = validation.validate_records([good()] * 3, "rft", MODEL, split="validation")
    assert report.valid, str(report)
