"""Proof that the stand-in's local models learn, measured with the workshop's own scorer.

Every number here comes from training on data and scoring held-out answers with
:func:`utils.evaluation.score_outputs` (fmeval's ROUGE and METEOR transforms), the same
path the notebooks use; nothing is asserted by construction.
"""

from __future__ import annotations

import pytest

from standin import learner
from utils import datasets, evaluation

STUDENT = "amazon.nova-micro-v1:0"
TEACHER = "amazon.nova-pro-v1:0"


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, str]]]:
    rows, _ = datasets.load_dialogsum("bundled")
    train, validation, test = datasets.split(rows, (0.7, 0.1, 0.2), seed=11)
    return {"train": train, "validation": validation, "test": test[:60]}


def _pairs(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(datasets.summary_prompt(r["dialogue"]), r["summary"]) for r in rows]


def _means(outputs: dict[str, list[str]], references: list[str]) -> dict[str, dict[str, float]]:
    table = evaluation.score_outputs(outputs, references, n_boot=200).table()
    return {model: table.loc[model].to_dict() for model in table.index}


def test_fine_tuned_model_beats_its_base_on_rouge_l_and_meteor(data) -> None:
    run = learner.fine_tune(
        _pairs(data["train"]), _pairs(data["validation"]), {}, base_model_id=STUDENT
    )
    prompts = [p for p, _ in _pairs(data["test"])]
    references = [r["summary"] for r in data["test"]]
    means = _means(
        {
            "base": [learner.base_generate(STUDENT, p) for p in prompts],
            "fine-tuned": [learner.custom_generate(run.artifact, p) for p in prompts],
        },
        references,
    )
    for metric in ("rougeL", "meteor"):
        assert means["fine-tuned"][metric] > means["base"][metric] + 0.05, (metric, means)
    losses = [row["validation_loss"] for row in run.validation_metrics]
    assert losses[-1] < losses[0]  # a sensible run's validation loss falls


def test_distilled_student_lands_closer_to_its_teacher_than_its_base(data) -> None:
    train_prompts = [p for p, _ in _pairs(data["train"])]
    # The student learns the teacher's answers, never the human summaries.
    taught = [(p, learner.base_generate(TEACHER, p)) for p in train_prompts]
    run = learner.fine_tune(taught[:-40], taught[-40:], {}, base_model_id=STUDENT)
    prompts = [p for p, _ in _pairs(data["test"])]
    teacher_answers = [learner.base_generate(TEACHER, p) for p in prompts]
    students = {
        "student base": [learner.base_generate(STUDENT, p) for p in prompts],
        "distilled student": [learner.custom_generate(run.artifact, p) for p in prompts],
    }
    agreement = _means(students, teacher_answers)
    for metric in ("rougeL", "meteor"):
        assert agreement["distilled student"][metric] > agreement["student base"][metric], metric
    references = [r["summary"] for r in data["test"]]
    against_humans = _means({"teacher": teacher_answers, **students}, references)
    for metric in ("rougeL", "meteor"):
        teacher_score = against_humans["teacher"][metric]
        distilled_gap = abs(teacher_score - against_humans["distilled student"][metric])
        base_gap = abs(teacher_score - against_humans["student base"][metric])
        assert distilled_gap < base_gap, (metric, against_humans)


def test_a_learning_rate_a_thousand_times_the_default_does_not_get_as_far(data) -> None:
    train, validation = _pairs(data["train"]), _pairs(data["validation"])
    default = learner.fine_tune(train, validation, {}, base_model_id=STUDENT)
    rate = float(learner.DEFAULT_HYPERPARAMETERS["learningRate"]) * 1000
    wild = learner.fine_tune(train, validation, {"learningRate": str(rate)}, base_model_id=STUDENT)
    best_default = min(row["validation_loss"] for row in default.validation_metrics)
    best_wild = min(row["validation_loss"] for row in wild.validation_metrics)
    assert best_wild > best_default * 1.05, (best_default, best_wild)
