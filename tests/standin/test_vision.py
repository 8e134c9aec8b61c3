"""The stand-in's image captioner: it learns from pixels, measured on held-out charts."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from standin import learner, vision
from utils import charts, evaluation

LLAMA_VISION = "meta.llama3-2-11b-instruct-v1:0"


def pairs(examples: list[charts.Chart]) -> list[tuple[bytes, str]]:
    return [(c.png, c.caption) for c in examples]


@pytest.fixture(scope="module")
def data() -> dict[str, list[charts.Chart]]:
    train, validation, test = charts.split(charts.make_examples(160, seed=11), 100, 20)
    return {"train": train, "validation": validation, "test": test}


@pytest.fixture(scope="module")
def run(data) -> learner.TrainingRun:
    return vision.fine_tune(pairs(data["train"]), pairs(data["validation"]), {}, LLAMA_VISION)


def test_fine_tuned_beats_the_base_model_on_held_out_charts(data, run) -> None:
    test = data["test"]
    references = [c.caption for c in test]
    tuned = [vision.custom_describe(run.artifact, charts.QUESTION, [c.png]) for c in test]
    base = [vision.base_describe(LLAMA_VISION, charts.QUESTION, [c.png]) for c in test]
    tuned_scores = evaluation.score(tuned, references, engine="local")
    base_scores = evaluation.score(base, references, engine="local")
    for metric in ("rouge1", "rougeL", "meteor"):
        assert tuned_scores[metric].mean() > base_scores[metric].mean() + 0.4, metric
    assert tuned_scores["rougeL"].mean() > 0.9
    # Most held-out captions are right word for word, and they differ from chart to chart.
    exact = sum(t == r for t, r in zip(tuned, references, strict=True))
    assert exact >= 0.6 * len(test), exact
    assert len(set(tuned)) > 10


def test_each_part_of_the_caption_is_read_from_the_image(data, run) -> None:
    """Slot by slot: kind, count, largest and trend are each mostly right on unseen charts."""
    test = data["test"]
    hits = np.zeros(4)
    for chart in test:
        said = vision.caption_image(run.artifact, chart.png).split()
        truth = chart.caption.split()
        slots = [1, 4, len(truth) - 1 if chart.kind == "pie" else 10, len(truth) - 1]
        hits += [said[i : i + 1] == truth[i : i + 1] for i in slots]
    accuracy = hits / len(test)
    assert accuracy[0] == 1.0, accuracy  # the kind of chart
    assert (accuracy[1:] >= 0.8).all(), accuracy


def test_the_same_image_gets_the_same_caption_whatever_the_question(data, run) -> None:
    chart = data["test"][0]
    first = vision.custom_describe(run.artifact, "What is this?", [chart.png])
    assert first == vision.custom_describe(run.artifact, charts.QUESTION, [chart.png])
    assert first != vision.custom_describe(run.artifact, "What is this?", [data["test"][2].png])


def test_metrics_have_bedrocks_columns_and_the_loss_falls(data, run) -> None:
    assert [list(r) for r in run.step_metrics[:1]] == [
        ["step_number", "epoch_number", "training_loss", "perplexity"]
    ]
    assert list(run.validation_metrics[0]) == [
        "step_number",
        "epoch_number",
        "validation_loss",
        "validation_perplexity",
    ]
    # Llama's defaults: five epochs of one image per step.
    assert len(run.step_metrics) == 5 * 100
    assert [r["epoch_number"] for r in run.validation_metrics] == [1, 2, 3, 4, 5]
    # From a uniform guess over the vocabulary (log V) to a small fraction of it.
    first = run.step_metrics[0]["training_loss"]
    assert first == pytest.approx(np.log(len(run.artifact["vocabulary"])), rel=1e-4)
    last = statistics.mean(r["training_loss"] for r in run.step_metrics[-20:])
    assert last < 0.05 * first
    assert run.step_metrics[0]["perplexity"] == pytest.approx(
        np.exp(run.step_metrics[0]["training_loss"]), rel=1e-4
    )
    assert run.validation_metrics[-1]["validation_loss"] < 0.5


def test_a_learning_rate_a_thousand_times_larger_ends_far_higher(data, run) -> None:
    hot = vision.fine_tune(
        pairs(data["train"]), pairs(data["validation"]), {"learningRate": "0.1"}, LLAMA_VISION
    )
    default_final = run.validation_metrics[-1]["validation_loss"]
    assert hot.validation_metrics[-1]["validation_loss"] > 10 * default_final


def test_epochs_and_batch_size_set_the_steps(data) -> None:
    train = pairs(data["train"][:30])
    short = vision.fine_tune(train, None, {"epochCount": "2", "batchSize": "4"}, LLAMA_VISION)
    assert len(short.step_metrics) == 2 * 8
    assert short.validation_metrics == []
    assert short.artifact["config"]["steps_per_epoch"] == 8


def test_same_data_and_settings_give_the_same_numbers(data, run) -> None:
    again = vision.fine_tune(pairs(data["train"]), pairs(data["validation"]), {}, LLAMA_VISION)
    assert again.step_metrics == run.step_metrics
    assert again.validation_metrics == run.validation_metrics
    assert json.dumps(again.artifact) == json.dumps(run.artifact)
    reseeded = vision.fine_tune(
        pairs(data["train"]), pairs(data["validation"]), {}, LLAMA_VISION, seed=1
    )
    assert reseeded.step_metrics != run.step_metrics


def test_the_artifact_survives_a_json_round_trip(data, run) -> None:
    artifact = json.loads(json.dumps(run.artifact))
    assert artifact["format"] == vision.ARTIFACT_FORMAT
    assert artifact["kind"] == vision.KIND
    assert artifact["config"]["hyperparameters"]["learningRate"] == 1e-4
    for chart in data["test"][:10]:
        assert vision.caption_image(artifact, chart.png) == vision.caption_image(
            run.artifact, chart.png
        )
    with pytest.raises(ValueError, match="Not a"):
        vision.caption_image({"format": learner.ARTIFACT_FORMAT}, data["test"][0].png)


def test_the_vocabulary_comes_from_the_training_captions_only(data) -> None:
    pies = [c for c in data["train"] if c.kind == "pie"]
    artifact = vision.fine_tune(pairs(pies), None, {}, LLAMA_VISION).artifact
    words = set(artifact["vocabulary"]) - {"</s>", "<unk>"}
    assert words == {w for c in pies for w in c.caption.split()}
    bar = next(c for c in data["test"] if c.kind == "bar")
    said = vision.caption_image(artifact, bar.png)
    assert "bar" not in said.split()  # never seen, so never written


def test_base_model_reports_only_coarse_facts_of_the_image(data) -> None:
    bar = next(c for c in data["test"] if c.kind == "bar")
    pie = next(c for c in data["test"] if c.kind == "pie")
    said = vision.base_describe(LLAMA_VISION, charts.QUESTION, [bar.png])
    assert said.startswith("This is a 320 by 240 pixel PNG image, mostly white")
    assert "blue" in said
    assert said != vision.base_describe(LLAMA_VISION, charts.QUESTION, [pie.png])
    assert "bar" not in said and "chart" not in said
    two = vision.base_describe(LLAMA_VISION, "Compare them.", [bar.png, pie.png])
    assert "2 images were sent" in two
    # Without an image it is the text base model.
    assert vision.base_describe(LLAMA_VISION, "Hello there", []) == learner.base_generate(
        LLAMA_VISION, "Hello there"
    )


def test_custom_model_without_an_image_answers_as_its_base(run) -> None:
    prompt = "Summarize the following conversation.\n\n#Person1#: Hi.\n#Person2#: Hello, Ann."
    assert vision.custom_describe(run.artifact, prompt, []) == learner.base_generate(
        LLAMA_VISION, prompt
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not an image at all", "not a readable"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable"),
    ],
)
def test_bytes_that_are_not_an_image_get_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(vision.ImageError, match=message):
        vision.image_features(data)
    with pytest.raises(vision.ImageError, match=message):
        vision.base_describe(LLAMA_VISION, "What is this?", [data])


def test_a_truncated_png_is_refused_and_other_formats_are_read(data) -> None:
    png = data["test"][0].png
    with pytest.raises(vision.ImageError, match="truncated"):
        vision.decode(png[: len(png) // 2])
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.open(BytesIO(png)).convert("RGB").save(buf, format="BMP")
    with pytest.raises(vision.ImageError, match="BMP file"):
        vision.decode(buf.getvalue())
    jpeg = BytesIO()
    Image.open(BytesIO(png)).convert("RGB").resize((640, 480)).save(jpeg, format="JPEG")
    pixels, fmt, size = vision.decode(jpeg.getvalue())
    assert (fmt, size, pixels.shape) == ("jpeg", (640, 480), (240, 320, 3))


def test_training_refuses_what_it_cannot_learn_from(data) -> None:
    with pytest.raises(ValueError, match="at least one"):
        vision.fine_tune([], None, {}, LLAMA_VISION)
    with pytest.raises(ValueError, match="at least one word"):
        vision.fine_tune([(data["train"][0].png, "  ")], None, {}, LLAMA_VISION)
    with pytest.raises(ValueError, match="must be a number"):
        vision.fine_tune(pairs(data["train"][:2]), None, {"epochCount": "x"}, LLAMA_VISION)
    with pytest.raises(vision.ImageError):
        vision.fine_tune([(b"junk", "a caption")], None, {}, LLAMA_VISION)
