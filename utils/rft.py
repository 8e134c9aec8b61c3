"""Reinforcement fine-tuning results: held-out accuracy scored by the job's own reward function.

The models answer the held-out prompts through Converse (the base model and the tuned
one alike); each answer is then scored by the same reward file the Lambda grader runs,
loaded here (:mod:`utils.rewards`), so "accuracy" means exactly what the training reward
meant. Means come with percentile-bootstrap intervals, as the other lessons' scores do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils import rewards
from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from utils.evaluation.runners import Runner
    from utils.jobs import Job
    from utils.state import State


def prompt_of(record: Mapping[str, Any]) -> tuple[str | None, str]:
    """The system text and the last user text of a reinforcement fine-tuning record."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WorkshopError("A record has no messages.", "Make it with utils.rft_data.")
    system = next((m["content"] for m in messages if m.get("role") == "system"), None)
    users = [m["content"] for m in messages if m.get("role") == "user"]
    if not users or not isinstance(users[-1], str):
        raise WorkshopError(
            f"Record {record.get('id')!r} has no user text to answer.",
            "Give each record a user message with the question.",
        )
    return (system if isinstance(system, str) else None), users[-1]


@dataclass
class Accuracy:
    """Answers and scores per model and record, and their summary with intervals."""

    per_sample: pd.DataFrame
    summary: pd.DataFrame

    @property
    def failures(self) -> int:
        """Calls that failed, or answers the reward function could not score."""
        return int(self.per_sample["score"].isna().sum())

    def table(self) -> pd.DataFrame:
        """Accuracy per model, with its 95% interval, in percent."""
        frame = self.summary.set_index("model")[["mean", "ci_low", "ci_high", "n_scored"]]
        scaled = frame.copy()
        for column in ("mean", "ci_low", "ci_high"):
            scaled[column] = 100 * scaled[column]
        return scaled.rename(
            columns={"mean": "accuracy %", "ci_low": "95% low", "ci_high": "95% high"}
        )


def accuracy(
    runners: Mapping[str, Runner],
    records: Sequence[Mapping[str, Any]],
    *,
    reward_file: str | Path = rewards.ARITHMETIC_REWARD,
    max_workers: int = 4,
    progress: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
) -> Accuracy:
    """Every model answers every record's prompt; the reward file scores each answer.

    Runners are the evaluation's (:class:`utils.evaluation.runners.ConverseRunner`, for a
    base model id or a deployment ARN); their ``system`` is set from the records' own system
    message, which every record of a dataset shares.

    Raises:
        WorkshopError: The records are empty or do not share one system message, or the
            reward file answers out of step (see :func:`utils.rewards.grade`).
    """
    import pandas as pd

    from utils.evaluation.comparison import bootstrap_summary
    from utils.evaluation.runners import generate

    if not records:
        raise WorkshopError("No held-out records to score.", "Pass the test split.")
    prompts = [prompt_of(r) for r in records]
    systems = {system for system, _ in prompts}
    if len(systems) != 1:
        raise WorkshopError(
            "The records have different system messages.",
            "Score one dataset at a time: its records share the system prompt.",
        )
    system = systems.pop()
    for runner in runners.values():
        if hasattr(runner, "system"):
            runner.system = system
    outputs = generate(runners, [text for _, text in prompts], max_workers, progress=progress)
    rows = []
    for label in runners:
        mine: list[dict[str, Any]] = [
            {str(k): v for k, v in row.items()}
            for row in outputs[outputs["model"] == label].sort_values("record").to_dict("records")
        ]
        answered = [(int(r["record"]), str(r["output"])) for r in mine if r["output"] is not None]
        samples = [rewards.sample(dict(records[i]), text, f"{label}-{i}") for i, text in answered]
        graded = rewards.grade(samples, reward_file) if samples else []
        scores = {
            i: got.get("aggregate_reward_score")
            for (i, _), got in zip(answered, graded, strict=True)
        }
        for row in mine:
            index = int(row["record"])
            rows.append(
                {
                    "model": label,
                    "record": index,
                    "prompt": row["prompt"],
                    "reference": records[index].get("reference_answer"),
                    "output": row["output"],
                    "error": row["error"],
                    "score": scores.get(index),
                    "local": row["local"],
                }
            )
    per_sample = pd.DataFrame(rows)
    per_sample["score"] = pd.to_numeric(per_sample["score"], errors="coerce")
    summary = bootstrap_summary(per_sample, ("score",), n_boot=n_boot, seed=seed)
    return Accuracy(per_sample=per_sample, summary=summary)


def plot_accuracy(result: Accuracy, title: str = "Held-out accuracy") -> Figure:
    """Bars of accuracy per model with their 95% intervals."""
    import matplotlib.pyplot as plt

    table = result.table()
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    means = table["accuracy %"]
    errors = [means - table["95% low"], table["95% high"] - means]
    ax.bar(range(len(table)), means, yerr=errors, capsize=5, color="#4c78a8")
    ax.set_xticks(range(len(table)), list(table.index), rotation=10)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


TRAIN_REWARD = "train_reward_mean"
VALIDATION_REWARD = "validation_reward_mean"
"""The reward columns the metrics files hold. No AWS page read (2026-12-02) gives the layout
of a reinforcement fine-tuning job's metrics files; these are the local stand-in's, and on
AWS the plot says which of them it did not find."""

CONSOLE_TRAIN_REWARD = "critic/rewards/mean"
"""The name Bedrock's console gives the mean training reward ("Monitor your RFT training
job", rft-submit-job.html, read 2026-12-02); read too, in case the files use it."""


def _train_column(training: pd.DataFrame) -> str | None:
    return next((c for c in (TRAIN_REWARD, CONSOLE_TRAIN_REWARD) if c in training), None)


def plot_rewards(training: pd.DataFrame, validation: pd.DataFrame | None = None) -> Figure:
    """Mean reward per training step (with its spread) and on the validation prompts."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.4))
    column = _train_column(training)
    if column is not None:
        steps, mean = training["step_number"], training[column]
        ax.plot(steps, mean, "o-", label="training samples (mean)")
        if "train_reward_std" in training:
            spread = training["train_reward_std"]
            # Rewards lie in [0, 1]; a band past either end would show rewards nobody gave.
            low, high = (mean - spread).clip(0, 1), (mean + spread).clip(0, 1)
            ax.fill_between(steps, low, high, alpha=0.2, label="± 1 std (within 0-1)")
    else:
        ax.text(0.5, 0.6, f"no {TRAIN_REWARD} column", ha="center", transform=ax.transAxes)
    if validation is not None and VALIDATION_REWARD in validation:
        ax.plot(validation["step_number"], validation[VALIDATION_REWARD], "s--", label="validation")
    ax.set_xlabel("training step")
    ax.set_ylabel("reward")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Reward during reinforcement fine-tuning")
    if ax.get_lines():
        ax.legend(fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def show_rewards(job: Job, state: State | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read the job's reward metrics, draw them, and record first and last for the run summary.

    The plot is a pyplot figure, which a notebook shows below the cell.
    """
    from utils import jobs

    training, validation = jobs.metrics(job)
    plot_rewards(training, validation)
    column = _train_column(training)
    if state is not None and column is not None and len(training):
        rewards_seen: dict[str, float] = {
            "training first": round(float(training[column].iloc[0]), 4),
            "training last": round(float(training[column].iloc[-1]), 4),
        }
        if validation is not None and VALIDATION_REWARD in validation and len(validation):
            rewards_seen["validation first"] = round(
                float(validation[VALIDATION_REWARD].iloc[0]), 4
            )
            rewards_seen["validation last"] = round(
                float(validation[VALIDATION_REWARD].iloc[-1]), 4
            )
        state.record_result("rewards", rewards_seen)
    return training, validation


def record_accuracy(result: Accuracy, state: State) -> pd.DataFrame:
    """Record each model's held-out accuracy with its interval for the run summary; the table."""
    table = result.table().round(1)
    state.record_result(
        "accuracy",
        {
            model: {
                "accuracy %": float(row["accuracy %"]),
                "95% low": float(row["95% low"]),
                "95% high": float(row["95% high"]),
                "n": int(row["n_scored"]),
            }
            for model, row in table.iterrows()
        },
    )
    return table


def probe_samples(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Three grader inputs from one record: a right answer, a wrong one, and one it cannot score.

    The third lacks its reference answer, so a careful grader answers it with an error under
    its id instead of a score.
    """
    answer = record.get("reference_answer", {}).get("answer")
    if not isinstance(answer, int):
        raise WorkshopError(
            f"Record {record.get('id')!r} has no whole-number reference answer.",
            "Make the records with utils.rft_data.",
        )
    right = rewards.sample(dict(record), f"Working it out step by step.\nAnswer: {answer}", "right")
    wrong = rewards.sample(dict(record), f"A quick guess.\nAnswer: {answer + 1}", "wrong")
    broken = rewards.sample(dict(record), f"Answer: {answer}", "no-reference")
    broken["metadata"].pop("reference_answer", None)
    return [right, wrong, broken]


def graded_table(samples: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> pd.DataFrame:
    """The samples beside what the grader answered for each: score or error."""
    import pandas as pd

    rows = []
    for asked, got in zip(samples, answers, strict=True):
        got = got if isinstance(got, dict) else {"error": f"not an object: {got!r}"}
        rows.append(
            {
                "id": asked.get("id"),
                "answer (last line)": str(asked["messages"][-1]["content"]).splitlines()[-1],
                "reference": (asked.get("metadata") or {}).get("reference_answer"),
                "answered id": got.get("id"),
                "score": got.get("aggregate_reward_score"),
                "error": got.get("error", ""),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "CONSOLE_TRAIN_REWARD",
    "TRAIN_REWARD",
    "VALIDATION_REWARD",
    "Accuracy",
    "accuracy",
    "graded_table",
    "plot_accuracy",
    "plot_rewards",
    "probe_samples",
    "prompt_of",
    "record_accuracy",
    "show_rewards",
]
