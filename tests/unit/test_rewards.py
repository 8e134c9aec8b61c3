"""The arithmetic reward function, called locally as Lambda would call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from utils import rewards, rft_data
from utils.errors import WorkshopError

HANDLER = rewards.load().lambda_handler


def sample(sample_id: str, answer: Any, reference: Any = 42, top_level: bool = False) -> dict:
    out: dict[str, Any] = {
        "id": sample_id,
        "messages": [
            {"role": "user", "content": "What is 40 + 2?"},
            {"role": "assistant", "content": answer},
        ],
    }
    if top_level:  # SageMaker AI's page puts it here; Bedrock's under metadata
        out["reference_answer"] = {"answer": reference}
    else:
        out["metadata"] = {"reference_answer": {"answer": reference}}
    return out


def scores(batch: list[Any]) -> list[tuple[Any, Any]]:
    answers = HANDLER(batch, None)
    return [(r["id"], r.get("aggregate_reward_score", r.get("error"))) for r in answers]


@pytest.mark.parametrize(
    "answer",
    [
        "40 + 2 = 42.\nAnswer: 42",
        "Answer: **42**",
        "The total is 42",
        "answer = 42.0",
        [{"type": "text", "text": "Step: 40+2\nAnswer: 42"}],
    ],
)
def test_the_right_final_number_scores_one(answer: Any) -> None:
    [result] = HANDLER([sample("a", answer)], None)
    assert result["id"] == "a" and result["aggregate_reward_score"] == 1.0
    assert {m["type"] for m in result["metrics_list"]} == {"Reward", "Metric"}


@pytest.mark.parametrize(
    "answer", ["Answer: 41", "42 apples minus 1 is 41", "Answer: 42.5", "I cannot tell.", ""]
)
def test_a_wrong_or_missing_number_scores_zero(answer: str) -> None:
    [result] = HANDLER([sample("b", answer)], None)
    assert result["aggregate_reward_score"] == 0.0


def test_the_marked_answer_wins_over_later_numbers_and_commas_are_read() -> None:
    assert scores([sample("c", "Answer: 42 (checked in 3 steps)")]) == [("c", 1.0)]
    assert scores([sample("d", "Answer: 1,234", reference=1234)]) == [("d", 1.0)]
    assert scores([sample("e", "Answer: -7", reference="-7", top_level=True)]) == [("e", 1.0)]


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (sample("x", "") | {"messages": []}, "'messages' is missing"),
        (sample("x", "") | {"messages": [{"role": "user", "content": "q"}]}, "assistant"),
        (sample("x", 7), "content"),
        (sample("x", "Answer: 42") | {"metadata": {}}, "no reference_answer"),
        (sample("x", "Answer: 42", reference="forty-two"), "not a whole number"),
        (sample("x", "Answer: 42") | {"reference_answer": {"answer": 41}}, "disagree"),
    ],
)
def test_a_malformed_sample_gets_an_error_under_its_own_id(broken: dict, why: str) -> None:
    [result] = HANDLER([broken], None)
    assert result["id"] == "x" and why in result["error"]
    assert "aggregate_reward_score" not in result  # never a made-up score


def test_a_mixed_batch_keeps_order_and_ids() -> None:
    batch: list[Any] = [
        sample("s1", "Answer: 42"),
        {"messages": []},  # no id
        sample("s3", "Answer: 40"),
        "not a sample",
        sample("s5", "Answer: 42") | {"metadata": None},
    ]
    assert scores(batch) == [
        ("s1", 1.0),
        (None, "the sample has no string 'id'"),
        ("s3", 0.0),
        (None, "the sample is str, not an object"),
        ("s5", "no reference_answer (looked in metadata and at the top level)"),
    ]


def test_an_event_that_is_not_a_batch_raises() -> None:
    with pytest.raises(ValueError, match="list of samples"):
        HANDLER({"id": "a"}, None)


def test_the_file_imports_only_the_standard_library() -> None:
    import sys

    source = rewards.ARITHMETIC_REWARD.read_text(encoding="utf-8")
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_grade_runs_the_file_on_dataset_records_and_checks_the_ids() -> None:
    records = rft_data.make_splits(train=100, validation=0, test=3, seed=5)["test"]
    batch = [rewards.sample(r, f"Answer: {r['reference_answer']['answer']}") for r in records]
    batch[1] = rewards.sample(records[1], "Answer: -1")
    answers = rewards.grade(batch)
    assert [a["id"] for a in answers] == ["test-00000", "test-00001", "test-00002"]
    assert [a["aggregate_reward_score"] for a in answers] == [1.0, 0.0, 1.0]
    assert batch[0]["metadata"] == {"reference_answer": records[0]["reference_answer"]}


def test_grade_refuses_answers_whose_ids_do_not_line_up(tmp_path: Path) -> None:
    wrong = tmp_path / "swapped.py"
    wrong.write_text(
        "def lambda_handler(event, context):\n"
        "    return [{'id': s['id'], 'aggregate_reward_score': 1.0} for s in reversed(event)]\n",
        encoding="utf-8",
    )
    batch = [sample("a", "42"), sample("b", "42")]
    with pytest.raises(WorkshopError, match="Answer 0 has id 'b'"):
        rewards.grade(batch, wrong)
    unscored = tmp_path / "unscored.py"
    unscored.write_text(
        "def lambda_handler(event, context):\n    return [{'id': s['id']} for s in event]\n",
        encoding="utf-8",
    )
    with pytest.raises(WorkshopError, match="no number aggregate_reward_score"):
        rewards.grade(batch, unscored)
    with pytest.raises(WorkshopError, match="No reward function file"):
        rewards.load(tmp_path / "missing.py")
