"""Tests of the local stand-in's numpy models, measured on a held-out split of the bundled data."""

from __future__ import annotations

import json
import math
import random
import re
import statistics
from collections.abc import Callable

import pytest
from rouge_score import rouge_scorer

from standin import learner
from tools import synthetic

MICRO = "amazon.nova-micro-v1:0"
LITE = "amazon.nova-lite-v1:0"
PRO = "amazon.nova-pro-v1:0"
INSTRUCTION = "Summarize the following conversation.\n\n"


def prompt(row: dict) -> str:
    return INSTRUCTION + row["dialogue"]


@pytest.fixture(scope="module")
def split() -> dict[str, list]:
    rows = synthetic.load()
    order = list(range(len(rows)))
    random.Random(2024).shuffle(order)
    shuffled = [rows[i] for i in order]
    pairs = [(prompt(r), r["summary"]) for r in shuffled]
    return {"test": shuffled[:80], "validation": pairs[80:120], "train": pairs[120:]}


@pytest.fixture(scope="module")
def runs(split) -> dict[str, learner.TrainingRun]:
    return {
        model: learner.fine_tune(split["train"], split["validation"], {}, base_model_id=model)
        for model in (MICRO, LITE, PRO)
    }


def mean_rouge_l(rows: list[dict], generate: Callable[[str], str]) -> float:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return statistics.mean(
        scorer.score(row["summary"], generate(prompt(row)))["rougeL"].fmeasure for row in rows
    )


@pytest.mark.parametrize("model", [MICRO, LITE, PRO])
def test_fine_tuned_beats_its_base_model_on_held_out_rows(split, runs, model):
    base = mean_rouge_l(split["test"], lambda p: learner.base_generate(model, p))
    tuned = mean_rouge_l(split["test"], lambda p: learner.custom_generate(runs[model].artifact, p))
    assert tuned > base + 0.05, (base, tuned)


def test_larger_base_models_extract_better(split):
    scores = [
        mean_rouge_l(split["test"], lambda p, m=m: learner.base_generate(m, p))
        for m in (MICRO, LITE, PRO)
    ]
    assert scores[0] < scores[1] < scores[2], scores


def test_base_summary_is_computed_from_the_dialogue(split):
    row = split["test"][0]
    first_line = row["dialogue"].split("\n")[0]
    answer = learner.base_generate(MICRO, prompt(row))
    assert answer.split()[1] == first_line.split()[1]
    other = split["test"][1]
    assert answer != learner.base_generate(MICRO, prompt(other))


def test_metrics_have_bedrocks_columns(runs):
    run = runs[LITE]
    assert run.step_metrics
    for row in run.step_metrics:
        assert list(row) == ["step_number", "epoch_number", "training_loss", "perplexity"]
    for row in run.validation_metrics:
        assert list(row) == [
            "step_number",
            "epoch_number",
            "validation_loss",
            "validation_perplexity",
        ]
    assert [r["step_number"] for r in run.step_metrics] == list(range(1, len(run.step_metrics) + 1))


def test_a_sensible_run_lowers_training_and_validation_loss(runs):
    run = runs[LITE]
    losses = [r["validation_loss"] for r in run.validation_metrics]
    assert len(losses) == 2  # one pass per epoch at the default of two epochs
    assert losses[-1] < losses[0]
    first = statistics.mean(r["training_loss"] for r in run.step_metrics[:5])
    last = statistics.mean(r["training_loss"] for r in run.step_metrics[-5:])
    assert last < first


def test_a_learning_rate_a_thousand_times_larger_ends_higher(split, runs):
    hot = learner.fine_tune(
        split["train"], split["validation"], {"learningRate": "0.01"}, base_model_id=LITE
    )
    default_final = runs[LITE].validation_metrics[-1]["validation_loss"]
    assert hot.validation_metrics[-1]["validation_loss"] > 2 * default_final


def test_epochs_and_batch_size_set_the_number_of_steps(split, runs):
    n = len(split["train"])
    assert len(runs[LITE].step_metrics) == 2 * -(-n // 8)
    longer = learner.fine_tune(split["train"], None, {"epochCount": "4"}, base_model_id=LITE)
    assert len(longer.step_metrics) == 4 * -(-n // 8)
    assert {r["epoch_number"] for r in longer.step_metrics} == {1, 2, 3, 4}
    assert longer.validation_metrics == []
    smaller = learner.fine_tune(split["train"], None, {"batchSize": "4"}, base_model_id=LITE)
    assert len(smaller.step_metrics) == 2 * -(-n // 4)


def test_early_stopping_ends_the_run_when_validation_stops_improving(split):
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    hp = {"epochCount": "10", "batchSize": "32"}
    patient = {**hp, "earlyStoppingThreshold": "0", "earlyStoppingPatience": "10"}
    full = learner.fine_tune(split["train"], split["validation"], patient, base_model_id=haiku)
    losses = [r["validation_loss"] for r in full.validation_metrics]
    assert len(losses) == 10 and not full.artifact["config"]["stopped_early"]
    # Demand a large improvement per pass: the run ends at the first pass that misses it.
    strict = {**hp, "earlyStoppingThreshold": "0.02", "earlyStoppingPatience": "1"}
    cut = learner.fine_tune(split["train"], split["validation"], strict, base_model_id=haiku)
    misses = [i for i in range(1, 10) if losses[i] >= min(losses[:i]) - 0.02]
    assert misses, "the full run never slowed down; pick a larger threshold"
    passes = misses[0] + 1
    assert [r["validation_loss"] for r in cut.validation_metrics] == losses[:passes]
    assert len(cut.step_metrics) == passes * -(-len(split["train"]) // 32)
    assert cut.artifact["config"]["stopped_early"]
    # Without validation data there is nothing to stop on.
    blind = learner.fine_tune(split["train"], None, strict, base_model_id=haiku)
    assert len(blind.step_metrics) == len(full.step_metrics)


def test_warmup_changes_the_run(split, runs):
    cold = learner.fine_tune(
        split["train"], split["validation"], {"learningRateWarmupSteps": "0"}, base_model_id=LITE
    )
    assert cold.step_metrics[1]["training_loss"] != runs[LITE].step_metrics[1]["training_loss"]


def test_training_is_deterministic(split, runs):
    again = learner.fine_tune(split["train"], split["validation"], {}, base_model_id=LITE)
    assert json.dumps(again.artifact) == json.dumps(runs[LITE].artifact)
    assert again.step_metrics == runs[LITE].step_metrics
    assert again.validation_metrics == runs[LITE].validation_metrics
    reseeded = learner.fine_tune(split["train"], split["validation"], {}, LITE, seed=1)
    assert reseeded.step_metrics != runs[LITE].step_metrics


def test_hyperparameters_are_strings_and_unknown_ones_are_ignored(split):
    run = learner.fine_tune(
        split["train"][:16], None, {"epochCount": "1", "somethingElse": "x"}, base_model_id=LITE
    )
    assert run.artifact["config"]["hyperparameters"]["epochCount"] == 1
    with pytest.raises(ValueError, match="batchSize"):
        learner.fine_tune(split["train"][:16], None, {"batchSize": "many"}, base_model_id=LITE)
    with pytest.raises(ValueError):
        learner.fine_tune([], None, {}, base_model_id=LITE)


def test_artifact_json_round_trip_generates_the_same(split, runs):
    artifact = runs[PRO].artifact
    text = json.dumps(artifact)
    assert len(text) < 1_000_000
    restored = json.loads(text)
    for row in split["test"][:20]:
        assert learner.custom_generate(restored, prompt(row)) == learner.custom_generate(
            artifact, prompt(row)
        )
    with pytest.raises(ValueError):
        learner.custom_generate({"format": "other"}, prompt(split["test"][0]))


def test_generation_does_not_depend_on_the_instruction_wording(split, runs):
    row = split["test"][0]
    artifact = runs[LITE].artifact
    plain = learner.custom_generate(artifact, prompt(row))
    reworded = learner.custom_generate(artifact, f"Dialogue:\n{row['dialogue']}\n\nSummary:")
    assert plain == reworded


@pytest.mark.parametrize("limit", [1, 5, 12])
def test_max_tokens_is_respected(split, runs, limit):
    row = split["test"][2]
    for text in (
        learner.base_generate(PRO, prompt(row), max_tokens=limit),
        learner.custom_generate(runs[PRO].artifact, prompt(row), max_tokens=limit),
        learner.base_generate(LITE, "Explain why the sky looks blue at noon.", max_tokens=limit),
    ):
        assert 1 <= len(text.split()) <= limit


def test_prompts_without_a_dialogue_get_a_deterministic_answer_from_their_words(runs):
    question = "Which vegetables grow well in a cold climate with short summers?"
    for model in ("amazon.titan-text-lite-v1", "meta.llama3-1-8b-instruct-v1:0", PRO):
        answer = learner.base_generate(model, question)
        assert answer and answer == learner.base_generate(model, question)
        assert "vegetables" in answer
    assert learner.custom_generate(runs[PRO].artifact, question) == learner.base_generate(
        PRO, question
    )
    assert learner.base_generate(LITE, "?")


# -- continued pre-training ------------------------------------------------------------------

TITAN = "amazon.titan-text-lite-v1"


@pytest.fixture(scope="module")
def domain() -> dict[str, list[str]]:
    """Records of about 150 words of AWS API documentation, split three ways."""
    from utils import corpus

    paragraphs = corpus.botocore_documentation(("bedrock", "s3", "iam"))
    random.Random(7).shuffle(paragraphs)
    records, current = [], []
    for paragraph in paragraphs:
        current.append(paragraph)
        if sum(len(p.split()) for p in current) >= 150:
            records.append(" ".join(current))
            current = []
        if len(records) == 200:
            break
    return {"train": records[:150], "validation": records[150:175], "test": records[175:]}


@pytest.fixture(scope="module")
def pretrained(domain) -> learner.TrainingRun:
    return learner.continue_pretraining(domain["train"], domain["validation"], {}, TITAN)


def test_continued_pretraining_lowers_held_out_perplexity(domain, pretrained):
    untrained = learner.continue_pretraining(
        domain["train"], None, {"epochCount": "1", "learningRate": "0"}, TITAN
    )
    unigram = learner.unigram_baseline(domain["train"], TITAN)
    before = learner.perplexity(untrained.artifact, domain["test"])
    frequencies = learner.perplexity(unigram, domain["test"])
    after = learner.perplexity(pretrained.artifact, domain["test"])
    # Word frequencies alone beat a blank model; the trained bigram model beats both clearly.
    assert after < 0.7 * frequencies < 0.7 * before, (before, frequencies, after)


def test_continued_pretraining_metrics_are_measured_and_fall(pretrained):
    assert len(pretrained.validation_metrics) == 5  # Titan's default of five epochs
    for row in pretrained.step_metrics:
        assert list(row) == ["step_number", "epoch_number", "training_loss", "perplexity"]
        assert row["perplexity"] == pytest.approx(math.exp(row["training_loss"]), rel=1e-5)
    losses = [r["validation_loss"] for r in pretrained.validation_metrics]
    assert losses[-1] < losses[0]
    assert list(pretrained.validation_metrics[0]) == [
        "step_number",
        "epoch_number",
        "validation_loss",
        "validation_perplexity",
    ]
    first = statistics.mean(r["training_loss"] for r in pretrained.step_metrics[:20])
    last = statistics.mean(r["training_loss"] for r in pretrained.step_metrics[-20:])
    assert last < first


def test_continued_pretraining_hyperparameters_change_the_run(domain, pretrained):
    n = len(domain["train"])
    assert len(pretrained.step_metrics) == 5 * n  # batchSize 1
    short = learner.continue_pretraining(
        domain["train"], None, {"epochCount": "2", "batchSize": "4"}, TITAN
    )
    assert len(short.step_metrics) == 2 * -(-n // 4)
    assert {r["epoch_number"] for r in short.step_metrics} == {1, 2}
    hot = learner.continue_pretraining(
        domain["train"], domain["validation"], {"learningRate": "0.01"}, TITAN
    )
    final = pretrained.validation_metrics[-1]["validation_loss"]
    assert hot.validation_metrics[-1]["validation_loss"] > 2 * final
    with pytest.raises(ValueError, match="epochCount"):
        learner.continue_pretraining(domain["train"], None, {"epochCount": "few"}, TITAN)
    with pytest.raises(ValueError):
        learner.continue_pretraining(["", "  "], None, {}, TITAN)


def test_continued_pretraining_is_deterministic(domain, pretrained):
    again = learner.continue_pretraining(domain["train"], domain["validation"], {}, TITAN)
    assert json.dumps(again.artifact) == json.dumps(pretrained.artifact)
    assert again.step_metrics == pretrained.step_metrics
    assert again.validation_metrics == pretrained.validation_metrics
    reseeded = learner.continue_pretraining(domain["train"], None, {}, TITAN, seed=1)
    assert reseeded.step_metrics != pretrained.step_metrics


def test_pretrained_artifact_round_trips_through_json(domain, pretrained):
    text = json.dumps(pretrained.artifact, allow_nan=False)
    assert len(text) < 1_000_000
    restored = json.loads(text)
    assert restored["kind"] == "continued-pretraining"
    assert learner.perplexity(restored, domain["test"]) == pytest.approx(
        learner.perplexity(pretrained.artifact, domain["test"])
    )
    for start in ("The bucket", "A model customization job", "The IAM policy"):
        assert learner.custom_generate(restored, start) == learner.custom_generate(
            pretrained.artifact, start
        )


def test_pretrained_model_continues_a_domain_prompt_with_domain_words(domain, pretrained):
    prompt_text = "To store training data for a model customization job, the"
    text = learner.custom_generate(pretrained.artifact, prompt_text, max_tokens=40)
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9_'’-]*", text)
    assert len(words) >= 5, text
    assert len(words) <= 40
    vocabulary = {w.lower() for t in domain["train"] for w in re.findall(r"\S+", t)}
    vocabulary |= {w.strip(".,;:?!()").lower() for w in vocabulary}
    assert all(w.lower() in vocabulary for w in words), text
    assert text != learner.base_generate(TITAN, prompt_text)
    assert len(learner.custom_generate(pretrained.artifact, prompt_text, max_tokens=3).split()) <= 3
    # Dialogues and prompts without a single known word are left to the base model.
    dialogue = "#Person1#: Hi, I lost my keys.\n#Person2#: Let us look in the car."
    assert learner.custom_generate(pretrained.artifact, dialogue) == learner.base_generate(
        TITAN, dialogue
    )
    assert learner.custom_generate(pretrained.artifact, "Zyxx qwv?") == learner.base_generate(
        TITAN, "Zyxx qwv?"
    )


def test_fine_tune_artifacts_still_refuse_other_formats(runs):
    assert "kind" not in runs[LITE].artifact
    with pytest.raises(ValueError):
        learner.custom_generate({"format": "other", "kind": "other"}, "The bucket")


def test_a_base_model_asked_to_grade_computes_the_grade_from_the_texts() -> None:
    ask = "Reply with one line, SCORE: <0-10>, where 10 means fully correct."

    def graded(reference: str, answer: str) -> str:
        prompt = f"QUESTION: How many?\nREFERENCE: {reference}\nANSWER: {answer}"
        return learner.base_generate("amazon.nova-pro-v1:0", prompt, ask, 64)

    right = graded('{"answer": 42}', "Six sevens.\nAnswer: 42")
    assert right.startswith("SCORE: 10 ") and "local stand-in judge" in right
    assert graded('{"answer": 42}', "Answer: 41").startswith("SCORE: 0 ")
    assert "has no number" in graded('{"answer": 42}', "I cannot tell.")
    assert graded("the cat sat on the mat", "a cat on a mat").startswith("SCORE: 7 ")  # 2 of 3
    # Without the instruction or the fields it is no grading request: the usual answer.
    plain = learner.base_generate("amazon.nova-pro-v1:0", "REFERENCE: 1\nANSWER: 1", None, 64)
    assert not plain.startswith("SCORE")
