"""Held-out accuracy of reinforcement fine-tuned models, scored by the lesson's reward file."""

from __future__ import annotations

import re
from typing import Any

import matplotlib
import pytest

from utils import rft, rft_data
from utils.errors import WorkshopError
from utils.evaluation.runners import Reply

matplotlib.use("Agg")


class Solver:
    """A runner that answers right every ``every``-th question and wrong otherwise."""

    def __init__(self, answers: dict[str, int], every: int) -> None:
        self.answers, self.every, self.calls = answers, every, 0
        self.system: str | None = None

    def generate_one(self, prompt: str) -> Reply:
        self.calls += 1
        right = self.answers[prompt]
        index = sorted(self.answers).index(prompt)
        value = right if index % self.every == 0 else right + 1
        return Reply(text=f"Working it out. Answer: {value}", from_local_standin=True)


class Broken:
    system: str | None = None

    def generate_one(self, prompt: str) -> Reply:
        raise RuntimeError("no connection")


@pytest.fixture
def test_split() -> list[dict[str, Any]]:
    return rft_data.make_splits(train=100, validation=0, test=12, seed=3)["test"]


def _answers(records: list[dict[str, Any]]) -> dict[str, int]:
    return {rft.prompt_of(r)[1]: int(r["reference_answer"]["answer"]) for r in records}


def test_accuracy_is_what_the_reward_file_says_with_intervals(
    test_split: list[dict[str, Any]],
) -> None:
    answers = _answers(test_split)
    always, half = Solver(answers, every=1), Solver(answers, every=2)
    result = rft.accuracy({"tuned": always, "base": half}, test_split, progress=False)
    table = result.table()
    assert table.loc["tuned", "accuracy %"] == 100.0
    assert table.loc["base", "accuracy %"] == pytest.approx(50.0)
    assert table.loc["base", "95% low"] < 50.0 < table.loc["base", "95% high"]
    assert always.calls == half.calls == len(test_split)
    assert always.system == rft_data.SYSTEM_PROMPT  # the records' own system message
    assert result.failures == 0
    assert set(result.per_sample["score"]) == {0.0, 1.0}
    assert rft.plot_accuracy(result).axes[0].get_ylim() == (0.0, 100.0)


def test_a_failed_call_is_counted_as_a_failure_not_a_wrong_answer(
    test_split: list[dict[str, Any]],
) -> None:
    result = rft.accuracy({"down": Broken()}, test_split, progress=False)
    assert result.failures == len(test_split)
    assert result.summary.loc[0, "n_scored"] == 0
    assert result.per_sample["error"].str.contains("no connection").all()


def test_records_must_share_one_system_message(test_split: list[dict[str, Any]]) -> None:
    other = {**test_split[1], "messages": [{"role": "system", "content": "Be brief."}]}
    other["messages"] += [m for m in test_split[1]["messages"] if m["role"] == "user"]
    with pytest.raises(WorkshopError, match="different system messages"):
        rft.accuracy({"x": Broken()}, [test_split[0], other], progress=False)
    with pytest.raises(WorkshopError, match="No held-out records"):
        rft.accuracy({"x": Broken()}, [], progress=False)


def test_the_prompt_is_the_last_user_message(test_split: list[dict[str, Any]]) -> None:
    system, text = rft.prompt_of(test_split[0])
    assert system == rft_data.SYSTEM_PROMPT and re.search(r"\d", text)
    with pytest.raises(WorkshopError, match="no user text"):
        rft.prompt_of({"id": "x", "messages": [{"role": "system", "content": "s"}]})


def test_reward_curves_are_plotted_and_a_missing_column_is_said() -> None:
    import pandas as pd

    training = pd.DataFrame(
        {
            "step_number": [1, 2, 3],
            "epoch_number": [0, 0, 1],
            "train_reward_mean": [0.2, 0.5, 0.8],
            "train_reward_std": [0.1, 0.2, 0.1],
        }
    )
    validation = pd.DataFrame({"step_number": [2, 3], "validation_reward_mean": [0.4, 0.9]})
    ax = rft.plot_rewards(training, validation).axes[0]
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[0.2, 0.5, 0.8], [0.4, 0.9]]
    bare = rft.plot_rewards(training.drop(columns=["train_reward_mean"])).axes[0]
    assert "no train_reward_mean column" in [t.get_text() for t in bare.texts]


def test_the_band_stays_within_rewards_and_the_console_name_is_read() -> None:
    import pandas as pd

    training = pd.DataFrame(
        {
            "step_number": [1, 2],
            "critic/rewards/mean": [0.1, 0.9],
            "train_reward_std": [0.3, 0.3],
        }
    )
    ax = rft.plot_rewards(training).axes[0]
    assert list(ax.get_lines()[0].get_ydata()) == [0.1, 0.9]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.0) and band.max() == pytest.approx(1.0)


def test_the_probe_holds_a_right_a_wrong_and_an_unscorable_answer(
    test_split: list[dict[str, Any]],
) -> None:
    from utils import rewards

    probe = rft.probe_samples(test_split[0])
    assert [p["id"] for p in probe] == ["right", "wrong", "no-reference"]
    table = rft.graded_table(probe, rewards.grade(probe)).set_index("id")
    assert list(table["score"].iloc[:2]) == [1.0, 0.0]
    assert table.loc["no-reference", "error"].startswith("no reference_answer")
    assert list(table["answered id"]) == ["right", "wrong", "no-reference"]
    answer = test_split[0]["reference_answer"]["answer"]
    assert table.loc["wrong", "answer (last line)"] == f"Answer: {answer + 1}"
    with pytest.raises(WorkshopError, match="no whole-number reference answer"):
        rft.probe_samples({"id": "x", "messages": [], "reference_answer": {"answer": "7"}})


def test_accuracy_and_rewards_reach_the_run_summary(
    test_split: list[dict[str, Any]], tmp_path: Any
) -> None:
    from utils.jobs import Job
    from utils.state import State

    answers = _answers(test_split)
    result = rft.accuracy(
        {"always": Solver(answers, 1), "third": Solver(answers, 3)}, test_split, progress=False
    )
    state = State(tmp_path / "state.json")
    table = rft.record_accuracy(result, state)
    recorded = state.results()["interactive"]["accuracy"]
    assert recorded["always"] == {"accuracy %": 100.0, "95% low": 100.0, "95% high": 100.0, "n": 12}
    assert recorded["third"]["accuracy %"] == pytest.approx(100 * 4 / 12, abs=0.05)
    assert table.loc["third", "95% low"] < recorded["third"]["accuracy %"]

    import pandas as pd

    training = pd.DataFrame({"step_number": [1, 2], "train_reward_mean": [0.25, 0.75]})
    validation = pd.DataFrame({"step_number": [2], "validation_reward_mean": [0.5]})
    job = Job(
        key="rft", reused=False, name="j", arn="arn", custom_model_name="m", output_uri="s3://b/o/"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("utils.jobs.metrics", lambda _job: (training, validation))
        got = rft.show_rewards(job, state)
    assert got[0] is training
    assert state.results()["interactive"]["rewards"] == {
        "training first": 0.25,
        "training last": 0.75,
        "validation first": 0.5,
        "validation last": 0.5,
    }
