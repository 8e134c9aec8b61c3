"""The image fine-tuning notebook through papermill against the local stand-in."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

from tests.helpers import CLEANUP, MULTIMODAL, NOTHING_LEFT, execute, remaining, text_of
from utils import clients
from utils.state import State


def test_multimodal_fine_tuning_after_setup_then_cleanup_leaves_nothing(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    nb = execute(MULTIMODAL, tmp_path, train_charts=90, eval_records=24)
    text = text_of(nb)
    assert "train 90, validation 20 records, 110 in all; no problems" in text
    assert "134 charts: train 90, validation 20, test 24" in text

    bucket = run_state.get("bucket")
    listed = clients.client("s3").list_objects_v2(Bucket=bucket, Prefix="multimodal/")
    keys = {k["Key"] for k in listed["Contents"]}
    images = {k for k in keys if k.startswith("multimodal/images/")}
    assert len(images) == 110  # train and validation; the held-out charts stay local
    assert "multimodal/images/chart-0109.png" in images
    assert "multimodal/images/chart-0110.png" not in images
    assert {"multimodal/data/train.jsonl", "multimodal/data/validation.jsonl"} <= keys

    results = run_state.results()["interactive"]
    assert results["charts"] == {"train": 90, "validation": 20, "test": 24}
    assert results["job:fine-tuning-multimodal"]["status"] == "Completed"
    job = clients.client("bedrock").get_model_customization_job(
        jobIdentifier=results["job:fine-tuning-multimodal"]["arn"]
    )
    assert job["baseModelArn"].endswith("amazon.nova-lite-v1:0:300k")
    assert job["hyperParameters"]["epochCount"] == "3"
    # A guess over the caption vocabulary would lose about 3.7 nats per word.
    losses = [m["validationLoss"] for m in job["validationMetrics"]]
    assert len(losses) == 3 and max(losses) < 0.5, losses

    # Measured on held-out charts the job never saw.
    scores = results["scores"]
    assert set(scores) == {"base model", "fine-tuned"}
    for metric in ("rouge1", "rouge2", "rougeL", "meteor"):
        assert scores["fine-tuned"][metric] > scores["base model"][metric] + 0.5, metric
    exact = results["exact captions"]
    assert exact["fine-tuned"] >= 0.5 and exact["base model"] == 0.0

    shown = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(shown) >= 5  # examples, loss curves, before/after charts, score bars, spread
    assert "small LOCAL models" in text
    # invoke_model with the image in Nova's body answers as Converse with the image bytes.
    asked = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith(("invoke_model: ", "Converse: "))
    }
    assert asked["invoke_model"] == asked["Converse"] and asked["invoke_model"]
    assert '"image": {' in text and "characters of base64>" in text
    assert "on demand" in text  # Nova Lite is served by an on-demand deployment
    assert remaining()["deployments"] == []  # removed at the end of the notebook
    assert remaining()["throughputs"] == []
    assert len(remaining()["models"]) == 1

    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_a_text_only_model_stops_before_anything_is_created(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(MULTIMODAL, tmp_path, base_model="amazon.nova-micro-v1:0")
    assert "reads text only" in caught.value.evalue
    bucket = run_state.get("bucket")
    listed = clients.client("s3").list_objects_v2(Bucket=bucket, Prefix="multimodal/")
    assert listed.get("Contents", []) == []
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT


def test_multimodal_without_setup_names_the_notebook_to_run(
    run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(MULTIMODAL, tmp_path)
    assert "Run 00_setup.ipynb first" in caught.value.evalue


def test_llama_vision_stops_at_its_preflight_now_that_it_is_retired(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(MULTIMODAL, tmp_path, base_model="meta.llama3-2-11b-instruct-v1:0")
    assert caught.value.ename == "PreflightStop"
    assert "reached the end of its life" in caught.value.evalue
    assert "amazon.nova-lite-v1:0" in caught.value.evalue  # a live model that reads images
    assert (
        clients.client("s3")
        .list_objects_v2(Bucket=run_state.get("bucket"), Prefix="multimodal/")
        .get("Contents", [])
        == []
    )
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
