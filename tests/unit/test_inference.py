"""utils.inference: where answers came from, told from the answers themselves."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from utils import clients, evaluation, inference


def test_say_if_local_reads_the_marks_the_answers_carry(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = pd.DataFrame({"prompt": ["p"], "base": ["a"]})
    bedrock.attrs.update(local=False)
    standin = bedrock.copy()
    standin.attrs.update(local=True)

    assert inference.say_if_local(bedrock) is False
    assert capsys.readouterr().out == ""
    assert inference.say_if_local(bedrock, standin) is True
    assert capsys.readouterr().out == inference.LOCAL_NOTE + "\n"  # printed once
    assert inference.say_if_local(False, pd.DataFrame()) is False  # no mark: not local

    class Marked:
        local = True

    assert inference.say_if_local(Marked()) is True


def test_an_evaluation_is_local_when_any_answer_was(capsys: pytest.CaptureFixture[str]) -> None:
    def result(marks: list[Any]) -> evaluation.EvaluationResult:
        outputs = pd.DataFrame({"model": ["m"] * len(marks), "local": marks})
        return evaluation.EvaluationResult(outputs, pd.DataFrame(), pd.DataFrame(), 0)

    assert result([None, True]).local is True
    assert result([False, None]).local is False  # a failed call has no mark
    assert inference.say_if_local(result([True])) is True
    assert "LOCAL models" in capsys.readouterr().out


def test_answers_from_the_standin_are_marked_and_name_the_id_that_answered(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    table = inference.side_by_side(
        {"micro": "amazon.nova-micro-v1:0", "lite": "amazon.nova-lite-v1:0"},
        ["Summarize: #Person1#: The train is late. #Person2#: Then we take the bus."],
        max_tokens=30,
    )
    assert clients.current_backend() == "local"
    assert table.attrs["local"] is True
    assert set(table.attrs["called_as"]) == {"micro", "lite"}
    assert table.attrs["called_as"]["micro"] == "amazon.nova-micro-v1:0"
    assert inference.say_if_local(table) is True
