"""The arithmetic dataset maker: seeded, checked answers, splits that pass the validator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from utils import rft_data, validation
from utils.errors import WorkshopError


def test_same_seed_same_data_and_other_seeds_differ() -> None:
    assert rft_data.make_splits(seed=3) == rft_data.make_splits(seed=3)
    assert rft_data.make_splits(seed=3) != rft_data.make_splits(seed=4)


def test_answers_are_the_arithmetic_of_the_question() -> None:
    # Recompute the one template whose question names every number and its operations.
    for problem in rft_data.problems(300, seed=1):
        found = re.fullmatch(
            r"A shelf holds (\d+) boxes of (\d+) (\w+)\. (\d+) \3 are eaten\. .*", problem.question
        )
        if found:
            boxes, per, _, eaten = found.groups()
            assert problem.answer == int(boxes) * int(per) - int(eaten)
        assert isinstance(problem.answer, int)


def test_splits_have_the_sizes_asked_and_share_no_question() -> None:
    splits = rft_data.make_splits(train=120, validation=15, test=10, seed=0)
    assert {k: len(v) for k, v in splits.items()} == {"train": 120, "validation": 15, "test": 10}
    questions = [r["messages"][-1]["content"] for rows in splits.values() for r in rows]
    assert len(set(questions)) == len(questions)
    first = splits["train"][0]
    assert first["id"] == "train-00000"
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert isinstance(first["reference_answer"]["answer"], int)


def test_written_files_pass_the_rft_validator(tmp_path: Path) -> None:
    paths = rft_data.write_splits(tmp_path, train=100, validation=10, test=5, seed=2)
    assert set(paths) == {"train", "validation", "test"}
    report = validation.validate_dataset(
        paths["train"], paths["validation"], job="rft", model=rft_data.RFT_MODEL
    )
    assert report.valid, str(report)
    lines = paths["test"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and all(json.loads(line)["id"].startswith("test-") for line in lines)


def test_an_empty_split_writes_no_file(tmp_path: Path) -> None:
    paths = rft_data.write_splits(tmp_path, train=100, validation=0, test=0)
    assert list(paths) == ["train"] and not (tmp_path / "validation.jsonl").exists()


@pytest.mark.parametrize("train", [99, 20_001])
def test_a_train_split_bedrock_would_refuse_is_refused(train: int) -> None:
    with pytest.raises(WorkshopError, match="100 to 20,000"):
        rft_data.make_splits(train=train)


def test_too_many_distinct_problems_is_an_error_not_a_hang() -> None:
    with pytest.raises(WorkshopError, match="distinct problems"):
        rft_data.problems(2_000_000, seed=0)


def test_the_splits_made_are_the_splits_written_and_previewed(tmp_path: Path) -> None:
    splits = rft_data.make_splits(100, 5, 3, seed=11)
    files = rft_data.write(splits, tmp_path / "out")
    assert sorted(files) == ["test", "train", "validation"]
    read = [json.loads(line) for line in files["test"].read_text().splitlines()]
    assert read == splits["test"]
    assert rft_data.write_splits(tmp_path / "again", 100, 5, 3, seed=11)["train"].read_text() == (
        files["train"].read_text()
    )
    table = rft_data.preview(splits["train"], 2)
    assert list(table.columns) == ["id", "question", "reference_answer"]
    assert table.loc[0, "question"] == splits["train"][0]["messages"][1]["content"]
    assert table.loc[1, "reference_answer"] == splits["train"][1]["reference_answer"]
