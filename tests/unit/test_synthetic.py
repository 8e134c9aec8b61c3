"""Tests of the bundled dialogue-summarization dataset and its generator."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tools import synthetic

TURN = re.compile(r"#Person[12]#: \S")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return synthetic.generate()


def test_regeneration_is_byte_identical_to_the_bundled_file(tmp_path, rows):
    written = synthetic.write(tmp_path / "dialogues.jsonl")
    assert written.read_bytes() == synthetic.OUTPUT_PATH.read_bytes()
    assert synthetic.to_jsonl(rows).encode("utf-8") == synthetic.OUTPUT_PATH.read_bytes()


def test_bundled_file_loads_to_the_generated_rows(rows):
    assert synthetic.load() == rows


def test_row_schema(rows):
    assert len(rows) == synthetic.DEFAULT_SIZE
    for number, row in enumerate(rows, start=1):
        assert list(row) == ["id", "topic", "dialogue", "summary"]
        assert row["id"] == f"dlg-{number:04d}"
        assert row["topic"] in synthetic.FAMILIES
        lines = row["dialogue"].split("\n")
        assert synthetic.MIN_TURNS <= len(lines) <= synthetic.MAX_TURNS
        assert all(TURN.match(line) for line in lines), row["id"]
        assert "#Person" in row["summary"]
        assert row["summary"].endswith(".")
        assert "\n" not in row["summary"]
        # Abstractive: the summary is not simply a line of the dialogue.
        assert row["summary"] not in row["dialogue"]


def test_every_family_is_well_represented(rows):
    counts = Counter(row["topic"] for row in rows)
    assert set(counts) == set(synthetic.FAMILIES)
    assert len(synthetic.FAMILIES) >= 10
    assert min(counts.values()) >= len(rows) // len(synthetic.FAMILIES) - 1


def test_dialogues_and_summaries_vary(rows):
    assert len({row["dialogue"] for row in rows}) == len(rows)
    assert len({row["summary"] for row in rows}) >= 0.95 * len(rows)
    assert len({row["dialogue"].split("\n")[0] for row in rows}) >= 150
    turns = Counter(row["dialogue"].count("\n") + 1 for row in rows)
    assert len(turns) >= 5
    for topic in synthetic.FAMILIES:
        summaries = {row["summary"] for row in rows if row["topic"] == topic}
        assert len(summaries) >= 25, topic


def test_summary_slots_occur_in_the_dialogue():
    for scenario in synthetic.scenarios():
        assert scenario.slots
        # Case-insensitive: a slot may open a sentence in the dialogue ("Two nights.").
        for slot in scenario.slots:
            assert slot.lower() in scenario.dialogue.lower(), (scenario.topic, slot)
            assert slot.lower() in scenario.summary.lower(), (scenario.topic, slot)


def test_generation_is_seeded_and_prefix_stable(rows):
    assert synthetic.generate(30) == rows[:30]
    assert synthetic.generate(30, seed=8) != rows[:30]
    assert synthetic.generate(30, seed=8) == synthetic.generate(30, seed=8)
