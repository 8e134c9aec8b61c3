"""Tests for utils.datasets: JSON Lines I/O, loading, formatting, splitting, chunking, preview."""

from __future__ import annotations

import itertools
import json
import sys
import types
from pathlib import Path

import pytest

from utils import datasets, paths, validation
from utils.errors import WorkshopError

DIALOGUE = "#Person1#: Where is the station?\n#Person2#: Two blocks north."
ROWS = [
    {
        "id": f"dlg-{i:04d}",
        "topic": "directions",
        "dialogue": f"#Person1#: Where is stop {i}?\n#Person2#: Next to the café.",
        "summary": f"#Person2# tells #Person1# where stop {i} is.",
    }
    for i in range(1, 21)
]


# --------------------------------------------------------------------------- formatting


def test_summary_prompt_is_instruction_blank_line_dialogue() -> None:
    assert datasets.summary_prompt(DIALOGUE) == (
        "Summarize the following conversation.\n\n"
        "#Person1#: Where is the station?\n#Person2#: Two blocks north."
    )


def test_system_prompt_is_one_line() -> None:
    assert datasets.SUMMARY_SYSTEM.strip() and "\n" not in datasets.SUMMARY_SYSTEM


def test_to_conversation_exact() -> None:
    assert datasets.to_conversation("P", "C", system="S") == {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "S"}],
        "messages": [
            {"role": "user", "content": [{"text": "P"}]},
            {"role": "assistant", "content": [{"text": "C"}]},
        ],
    }


def test_to_conversation_default_system_and_none() -> None:
    assert datasets.to_conversation("P", "C")["system"] == [{"text": datasets.SUMMARY_SYSTEM}]
    assert "system" not in datasets.to_conversation("P", "C", system=None)


def test_other_formats_exact() -> None:
    assert datasets.to_prompt_completion("P", "C") == {"prompt": "P", "completion": "C"}
    assert datasets.to_claude_haiku("P", "C", "S") == {
        "system": "S",
        "messages": [
            {"role": "user", "content": "P"},
            {"role": "assistant", "content": "C"},
        ],
    }
    assert datasets.to_continued_pretraining("text") == {"input": "text"}


# --------------------------------------------------------------------------- JSON Lines


def test_write_jsonl_compact_utf8_final_newline(tmp_path: Path) -> None:
    out = datasets.write_jsonl(
        [{"a": "café", "b": [1, 2]}, {"c": None}], tmp_path / "d" / "x.jsonl"
    )
    assert out == tmp_path / "d" / "x.jsonl"
    assert out.read_bytes() == '{"a":"café","b":[1,2]}\n{"c":null}\n'.encode()
    assert list(datasets.read_jsonl(out)) == [{"a": "café", "b": [1, 2]}, {"c": None}]


def test_write_jsonl_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "x.jsonl"
    datasets.write_jsonl([{"a": 1}], target)
    datasets.write_jsonl([{"a": 2}], target)
    assert target.read_text(encoding="utf-8") == '{"a":2}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_read_jsonl_skips_blank_lines_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a":1}\n\n{"a":2}')
    assert list(datasets.read_jsonl(path)) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize("content", ['{"a":1}\n{"a":\n', '{"a":1}\n[1]\n'])
def test_read_jsonl_bad_line_names_file_and_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WorkshopError, match=r"x\.jsonl:2"):
        list(datasets.read_jsonl(path))


def test_read_jsonl_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkshopError, match="Cannot open"):
        list(datasets.read_jsonl(tmp_path / "missing.jsonl"))


# --------------------------------------------------------------------------- loading


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args: object, **kwargs: object) -> bool:
        raise AssertionError("the Hub must not be contacted when offline")

    monkeypatch.setattr(datasets, "_hub_reachable", no_network)
    monkeypatch.setattr(datasets, "_load_from_hub", no_network)


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    datasets.write_jsonl(ROWS, tmp_path / "dialogues.jsonl")
    return ROWS


def test_auto_falls_back_to_bundled_when_offline(offline: None, bundled: list) -> None:
    rows, origin = datasets.load_dialogsum()
    assert origin == "bundled"
    assert rows == bundled


def test_limit_applies_to_bundled(offline: None, bundled: list) -> None:
    rows, origin = datasets.load_dialogsum("auto", limit=3)
    assert (rows, origin) == (bundled[:3], "bundled")


def test_hub_forced_offline_is_a_clear_error(offline: None) -> None:
    with pytest.raises(WorkshopError, match="HF_DATASETS_OFFLINE"):
        datasets.load_dialogsum("hub")


def test_auto_falls_back_when_hub_unreachable(
    monkeypatch: pytest.MonkeyPatch, bundled: list
) -> None:
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "_hub_reachable", lambda timeout=3.0: False)
    assert datasets.load_dialogsum()[1] == "bundled"


def test_auto_falls_back_when_hub_download_fails(
    monkeypatch: pytest.MonkeyPatch, bundled: list
) -> None:
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "_hub_reachable", lambda timeout=3.0: True)

    def fail(split: str, limit: int | None) -> list:
        raise ConnectionError("reset by peer")

    monkeypatch.setattr(datasets, "_load_from_hub", fail)
    assert datasets.load_dialogsum()[1] == "bundled"
    with pytest.raises(WorkshopError, match="reset by peer"):
        datasets.load_dialogsum("hub")


def test_hub_rows_are_mapped_to_bundled_field_names(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []

    def load_dataset(name: str, split: str) -> list[dict[str, str]]:
        calls.append((name, split))
        return [
            {"id": "train_0", "fname": "train_0", "dialogue": "D", "summary": "S", "topic": "T"}
        ]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "_hub_reachable", lambda timeout=3.0: True)
    rows, origin = datasets.load_dialogsum("hub", limit=1)
    assert origin == "hub"
    assert rows == [{"id": "train_0", "topic": "T", "dialogue": "D", "summary": "S"}]
    assert calls == [("knkarthick/dialogsum", "train[:1]")]


def test_unknown_source() -> None:
    with pytest.raises(WorkshopError, match="Unknown dataset source"):
        datasets.load_dialogsum("kaggle")


def test_missing_bundled_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    with pytest.raises(WorkshopError, match="missing"):
        datasets.load_bundled_dialogues()


@pytest.mark.skipif(
    not (paths.DATA_DIR / "dialogues.jsonl").is_file(), reason="data/dialogues.jsonl not built yet"
)
def test_bundled_rows_validate_as_nova_records() -> None:
    rows = datasets.load_bundled_dialogues()
    assert len(rows) >= 8
    assert all(set(row) >= {"id", "topic", "dialogue", "summary"} for row in rows)
    records = [
        datasets.to_conversation(datasets.summary_prompt(r["dialogue"]), r["summary"]) for r in rows
    ]
    for model in ("amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"):
        report = validation.validate_records(records, model=model)
        assert report.valid, report.format_problems(5)
        assert report.records_valid == len(rows)


# --------------------------------------------------------------------------- split


def test_split_sizes_and_disjoint() -> None:
    train, val, test = datasets.split(ROWS[:10])
    assert (len(train), len(val), len(test)) == (8, 1, 1)
    ids = [r["id"] for r in train + val + test]
    assert sorted(ids) == sorted(r["id"] for r in ROWS[:10])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 19, 20])
def test_split_sizes_sum_to_len(n: int) -> None:
    parts = datasets.split(ROWS[:n], (0.7, 0.2, 0.1))
    assert sum(len(p) for p in parts) == n
    assert all(abs(len(p) - n * f) < 1 for p, f in zip(parts, (0.7, 0.2, 0.1), strict=True))


def test_split_reproducible_and_order_independent() -> None:
    first = datasets.split(ROWS, seed=7)
    assert datasets.split(ROWS, seed=7) == first
    assert datasets.split(list(reversed(ROWS)), seed=7) == first
    assert datasets.split(ROWS, seed=8) != first


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError):
        datasets.split(ROWS, (0.5, 0.4))
    with pytest.raises(ValueError):
        datasets.split(ROWS, (0.8, 0.3, -0.1))


# --------------------------------------------------------------------------- tokens and chunks


def test_estimate_tokens_three_characters_a_token() -> None:
    assert datasets.estimate_tokens("") == 0
    assert datasets.estimate_tokens("abc") == 1
    assert datasets.estimate_tokens("abcd") == 2
    assert datasets.estimate_tokens("x" * 600) == 200


def test_the_estimate_stays_above_a_tokenizer_like_count_for_prose_not_for_code() -> None:
    from standin import tokens
    from utils import corpus

    prose = " ".join(corpus.botocore_documentation(["s3"])[:20])
    for text in (TEXT, prose):
        assert datasets.estimate_tokens(text) >= tokens.count_tokens(text)
    # Markup- and identifier-dense text takes more tokens than three characters each: the
    # reason the validator counts exactly with CountTokens where Bedrock offers it.
    dialogue = datasets.load_bundled_dialogues()[0]["dialogue"]
    code = "bedrock.create_model_customization_job(jobName='x-1')"
    for text in (dialogue, code):
        assert datasets.estimate_tokens(text) < tokens.count_tokens(text)


TEXT = " ".join(f"Sentence number {i} talks about harbour cranes and tides." for i in range(1, 41))


@pytest.mark.parametrize(("budget", "overlap"), [(10, 0), (10, 3), (25, 8), (40, 0), (7, 6)])
def test_chunks_respect_budget_and_cover_text(budget: int, overlap: int) -> None:
    chunks = datasets.chunk_text(TEXT, budget, overlap)
    assert len(chunks) > 1
    assert all(0 < datasets.estimate_tokens(c) <= budget for c in chunks)
    words = TEXT.split()
    rebuilt = chunks[0].split()
    for prev, cur in itertools.pairwise(chunks):
        prev_words, cur_words = prev.split(), cur.split()
        # the shared part is a suffix of the previous chunk and a prefix of this one
        shared = next(
            k
            for k in range(min(len(prev_words), len(cur_words)), -1, -1)
            if prev_words[len(prev_words) - k :] == cur_words[:k]
        )
        assert datasets.estimate_tokens(" ".join(cur_words[:shared])) <= overlap
        if overlap == 0:
            assert shared == 0 or prev_words[-shared:] != cur_words[:shared]
        rebuilt += cur_words[shared:]
    assert rebuilt == words


def test_chunk_overlap_is_used() -> None:
    # 8 tokens = 24 characters; an overlap of 4 tokens = up to 12 characters
    chunks = datasets.chunk_text("one two three four five six seven eight nine ten", 8, 4)
    assert chunks[0] == "one two three four five"
    assert chunks[1].startswith("four five six")


def test_chunks_prefer_sentence_ends() -> None:
    text = "Short one. " + "word " * 3 + "end."
    chunks = datasets.chunk_text("Alpha beta gamma. Delta epsilon zeta eta theta.", 10)
    assert chunks[0] == "Alpha beta gamma."
    assert datasets.chunk_text(text, 100) == [text.strip()]


def test_chunk_cuts_words_longer_than_budget() -> None:
    chunks = datasets.chunk_text("a" * 25 + " tail", 4)
    assert chunks == ["a" * 12, "a" * 12, "a tail"]


def test_chunk_text_argument_errors() -> None:
    assert datasets.chunk_text("", 5) == []
    with pytest.raises(ValueError):
        datasets.chunk_text("x", 0)
    with pytest.raises(ValueError):
        datasets.chunk_text("x", 5, 5)


# --------------------------------------------------------------------------- preview


def test_preview_flattens_conversation_records() -> None:
    records = [datasets.to_conversation(f"P{i}", f"C{i}", system="S") for i in range(8)]
    frame = datasets.preview(records, n=3)
    assert list(frame.columns) == ["system", "user", "assistant"]
    assert frame.to_dict("records") == [
        {"system": "S", "user": f"P{i}", "assistant": f"C{i}"} for i in range(3)
    ]


def test_preview_other_formats() -> None:
    frame = datasets.preview([datasets.to_claude_haiku("P", "C", "S")])
    assert frame.iloc[0].to_dict() == {"system": "S", "user": "P", "assistant": "C"}
    frame = datasets.preview([datasets.to_prompt_completion("P", "C")])
    assert frame.iloc[0].to_dict() == {"prompt": "P", "completion": "C"}
    image = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/k.png"}}}}
    record = datasets.to_conversation("P", "C")
    record["messages"][0]["content"].append(image)
    assert datasets.preview([record]).iloc[0]["user"] == "P\n[image: s3://b/k.png]"


def test_written_records_validate(tmp_path: Path) -> None:
    records = [
        datasets.to_conversation(datasets.summary_prompt(r["dialogue"]), r["summary"]) for r in ROWS
    ]
    path = datasets.write_jsonl(records, tmp_path / "train.jsonl")
    report = validation.validate_file(path)
    assert report.valid and report.records_read == len(ROWS)
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0]) == records[0]


def test_records_follow_the_registry_format_of_each_family() -> None:
    from utils import models

    rows = [{"dialogue": "#Person1#: Hi.\n#Person2#: Hello.", "summary": "They greet."}]
    nova = datasets.summarization_records(rows, "amazon.nova-micro-v1:0")[0]
    assert nova["schemaVersion"] == "bedrock-conversation-2024"
    assert nova["messages"][1]["content"][0]["text"] == "They greet."
    haiku = datasets.summarization_records(rows, "anthropic.claude-3-haiku-20240307-v1:0")[0]
    assert haiku["messages"][0]["content"].endswith("#Person2#: Hello.")
    llama = datasets.summarization_records(rows, "meta.llama3-1-8b-instruct-v1:0")[0]
    assert set(llama) == {"prompt", "completion"}
    for fam in models.FAMILIES:
        record = datasets.for_model(fam.model_id, "p", "c")
        assert isinstance(record, dict) and record


def test_continuation_records_split_opening_from_what_follows() -> None:
    texts = [
        "one two three four five six seven eight",
        "too short",
        "a b c d e",  # four prompt words and one more: just long enough
    ]
    records = datasets.continuation_records(texts, prompt_words=4, reference_words=3)
    assert records == [
        {"prompt": "one two three four", "reference": "five six seven"},
        {"prompt": "a b c d", "reference": "e"},
    ]
    with pytest.raises(ValueError):
        datasets.continuation_records(texts, prompt_words=0)


def test_both_distillation_lessons_hold_out_the_same_dialogues() -> None:
    rows, _ = datasets.load_dialogsum("bundled")
    pool, held_out = datasets.distillation_split(rows)
    _, again_held = datasets.distillation_split(list(reversed(rows)))
    assert held_out == sorted(again_held, key=held_out.index)  # by content, not by order
    assert {r["dialogue"] for r in pool}.isdisjoint(r["dialogue"] for r in held_out)
    assert len(pool) + len(held_out) == len(rows)
    assert abs(len(held_out) / len(rows) - 0.15) < 0.02
