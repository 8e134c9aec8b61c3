"""The chart dataset: drawn reproducibly, captioned from its data, valid for Llama 3.2 Vision."""

from __future__ import annotations

import io
import json
import re

import matplotlib.image as mpimg
import numpy as np
import pytest

from standin import StandIn
from standin.bedrock import ACCOUNT_ID
from tests.helpers import make_bucket, put_jsonl
from utils import charts, clients, datasets, s3, validation

LLAMA_VISION = "meta.llama3-2-11b-instruct-v1:0"
NUMBERS = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh"]
CAPTION = re.compile(
    r"A (bar|line|pie) chart with (\w+) (bars|points|slices); the (tallest|highest|largest) is "
    r"(?:the (\w+), and the values are (rising|falling|mixed)|(\w+))\.$"
)


@pytest.fixture(scope="module")
def examples() -> list[charts.Chart]:
    return charts.make_examples(30, seed=3)


def _rgb(chart: charts.Chart) -> np.ndarray:
    return mpimg.imread(io.BytesIO(chart.png), format="png")[:, :, :3]


def _mask(rgb: np.ndarray, colour: str, tolerance: float = 0.12) -> np.ndarray:
    target = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.abs(rgb - target).max(axis=2) <= tolerance


def _column_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    columns = np.concatenate(([0], mask.any(axis=0).astype(int), [0]))
    edges = np.flatnonzero(np.diff(columns))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def test_same_seed_same_bytes_other_seed_other_charts(examples) -> None:
    again = charts.make_examples(30, seed=3)
    assert [c.png for c in again] == [c.png for c in examples]
    assert [c.caption for c in again] == [c.caption for c in examples]
    other = charts.make_examples(30, seed=4)
    assert [c.values for c in other] != [c.values for c in examples]
    assert [c.name for c in charts.make_examples(2, seed=3, start=30)] == [
        "chart-0030",
        "chart-0031",
    ]


def test_every_chart_is_a_small_png(examples) -> None:
    for chart in examples:
        info = validation.image_info(chart.png)
        assert (info.format, info.width, info.height) == ("png", charts.WIDTH, charts.HEIGHT)
        assert len(chart.png) < 20_000
    assert {c.kind for c in examples} == set(charts.KINDS)
    assert {len(c.values) for c in examples} <= set(range(3, 8))


def test_captions_state_what_the_data_says(examples) -> None:
    for chart in examples:
        found = CAPTION.match(chart.caption)
        assert found, chart.caption
        kind, count, _, _, ordinal, direction, colour = found.groups()
        assert kind == chart.kind
        assert NUMBERS[count] == len(chart.values)
        peak = int(np.argmax(chart.values))
        if kind == "pie":
            assert colour == list(charts.PALETTE)[peak]
        else:
            assert ordinal == ORDINALS[peak]
            assert direction == charts.trend(chart.values)


def test_trend_follows_the_correlation_and_refuses_borderline_values() -> None:
    assert charts.trend([1, 2, 3, 5]) == "rising"
    assert charts.trend([5, 3, 2, 1]) == "falling"
    assert charts.trend([1, 5, 1, 5, 1]) == "mixed"
    assert charts.trend([1, 2, 1, 3]) is None  # r is about 0.67
    with pytest.raises(ValueError, match="borderline"):
        charts.caption("bar", [1, 2, 1, 3])
    with pytest.raises(ValueError, match="3 to 7"):
        charts.caption("bar", [1, 2])
    with pytest.raises(ValueError, match="Unknown chart kind"):
        charts.draw("scatter", [1, 2, 3])


def test_the_picture_shows_what_the_caption_says(examples) -> None:
    """Read the PNGs back with matplotlib and count what is drawn, independently of the model."""
    for chart in examples:
        rgb = _rgb(chart)
        peak = int(np.argmax(chart.values))
        if chart.kind == "pie":
            areas = [_mask(rgb, hex_colour).sum() for hex_colour in charts.PALETTE.values()]
            present = [a for a in areas if a > 50]
            assert len(present) == len(chart.values), chart.name
            assert int(np.argmax(areas)) == peak, chart.name
            continue
        colour = charts.BAR_COLOUR if chart.kind == "bar" else charts.MARKER_COLOUR
        mask = _mask(rgb, colour)
        runs = _column_runs(mask)
        assert len(runs) == len(chart.values), chart.name
        tops = [np.flatnonzero(mask[:, a:b].any(axis=1))[0] for a, b in runs]
        assert int(np.argmin(tops)) == peak, chart.name  # the highest top is the largest value


def test_split_keeps_order_and_refuses_too_few(examples) -> None:
    train, val, test = charts.split(examples, 20, 5)
    assert [c.name for c in train + val + test] == [c.name for c in examples]
    assert (len(train), len(val), len(test)) == (20, 5, 5)
    with pytest.raises(ValueError, match="cannot give"):
        charts.split(examples, 28, 5)


def test_records_put_the_image_before_the_question_and_the_caption_last(examples) -> None:
    record = charts.to_record(examples[0], "bucket-a", "charts/images/", ACCOUNT_ID)
    user, assistant = record["messages"]
    assert record["schemaVersion"] == "bedrock-conversation-2024"
    assert user["content"][0]["image"] == {
        "format": "png",
        "source": {
            "s3Location": {
                "uri": "s3://bucket-a/charts/images/chart-0000.png",
                "bucketOwner": ACCOUNT_ID,
            }
        },
    }
    assert user["content"][1] == {"text": charts.QUESTION}
    assert assistant == {"role": "assistant", "content": [{"text": examples[0].caption}]}
    json.dumps(record)  # plain JSON: no bytes inside


def test_records_are_valid_llama_vision_fine_tuning_data(examples) -> None:
    records = charts.to_records(examples, "bucket-a", "charts", ACCOUNT_ID)
    report = validation.validate_records(records, "fine-tuning", LLAMA_VISION, "train")
    assert report.valid, report.format_problems()
    assert report.records_valid == len(examples)
    # A text-only model refuses the same records.
    text_only = validation.validate_records(
        records, "fine-tuning", "meta.llama3-2-1b-instruct-v1:0", "train"
    )
    assert text_only.counts_by_rule["media.not_supported"] == len(examples)


def test_uploaded_records_pass_the_s3_media_checks(examples, aws: StandIn, tmp_path) -> None:
    """The lesson's path: images up, records written and validated locally, the file up."""
    bucket = make_bucket()
    s3_client = clients.client("s3")
    uris = charts.upload_images(s3_client, examples[:12], bucket, "charts/images")
    assert uris[0] == f"s3://{bucket}/charts/images/chart-0000.png"
    stored = s3_client.get_object(Bucket=bucket, Key="charts/images/chart-0000.png")
    assert stored["Body"].read() == examples[0].png
    assert stored["ContentType"] == "image/png"
    records = charts.to_records(examples[:12], bucket, "charts/images", ACCOUNT_ID)
    path = datasets.write_jsonl(records, tmp_path / "train.jsonl")
    uri = s3.upload_file(path, s3.uri(bucket, "charts/train.jsonl"))
    lines = s3.read_bytes(uri).splitlines()
    assert [json.loads(line) for line in lines] == records
    report = validation.validate_file(uri, "fine-tuning", LLAMA_VISION, "train")
    assert report.valid, report.format_problems()
    assert report.media_checked == 12


def test_media_checks_catch_a_missing_and_a_mislabelled_image(examples, aws: StandIn) -> None:
    bucket = make_bucket()
    charts.upload_images(clients.client("s3"), examples[:2], bucket, "charts/images")
    records = charts.to_records(examples[:3], bucket, "charts/images", ACCOUNT_ID)
    records[1]["messages"][0]["content"][0]["image"]["format"] = "jpeg"
    uri = put_jsonl(bucket, "charts/train.jsonl", records)
    report = validation.validate_file(uri, "fine-tuning", LLAMA_VISION, "train")
    rules = report.counts_by_rule
    assert rules["media.unreachable"] == 1  # chart-0002 was never uploaded
    assert rules["media.content"] == 1  # a PNG declared as JPEG


def test_chart_runner_sends_the_png_with_the_question(examples) -> None:
    runner = charts.ChartRunner("model-x", examples[:2], system=charts.SYSTEM, max_tokens=60)
    request = runner.request(examples[1].name)
    image, question = request["messages"][0]["content"]
    assert image == {"image": {"format": "png", "source": {"bytes": examples[1].png}}}
    assert question == {"text": charts.QUESTION}
    assert request["system"] == [{"text": charts.SYSTEM}]
    assert request["inferenceConfig"]["maxTokens"] == 60
    with pytest.raises(KeyError, match="No chart named"):
        runner.request("chart-9999")
    import pickle

    assert pickle.loads(pickle.dumps(runner)).images == runner.images


def test_plot_examples_shows_each_chart_with_its_captions(examples) -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = charts.plot_examples(examples[:4], {"model": ["an answer"] * 4}, columns=2)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 4
    texts = [t.get_text() for ax in shown for t in ax.texts]
    assert any(examples[0].caption.split(";")[0] in t.replace("\n", " ") for t in texts)
    assert all("model: an answer" in t for t in texts)
