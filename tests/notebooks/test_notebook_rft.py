"""The reinforcement fine-tuning lesson through papermill against the local stand-in."""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

from standin import StandIn
from tests.helpers import CLEANUP, NOTHING_LEFT, RFT, execute, remaining, text_of
from utils import clients
from utils.state import State

pytestmark = pytest.mark.same_in_every_account  # served on demand: no model units needed


def _images(nb: object) -> int:
    return sum(
        1
        for cell in nb.cells  # type: ignore[attr-defined]
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )


def test_rft_learns_from_its_lambda_grader_beats_its_base_and_removes_what_it_made(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    setup_roles = set(remaining()["roles"])
    nb = execute(RFT, tmp_path)
    text = text_of(nb)
    results = run_state.results()["interactive"]
    assert results["records"] == {"train": 120, "validation": 30, "test": 40}
    assert "VALID dataset for reinforcement-fine-tuning" in text
    # The grader ran twice on the probe, here and in Lambda, and answered the same.
    assert text.count("no reference_answer (looked in metadata and at") >= 2
    assert "Created arn:aws:lambda:us-east-1:" in text
    assert "price unknown" in text  # no RFT price was found: never shown as $0
    job = results["job:reinforcement-fine-tuning"]
    assert job["status"] == "Completed" and job["type"] == "REINFORCEMENT_FINE_TUNING"
    rewards = results["rewards"]
    assert rewards["training first"] < 0.5 < rewards["training last"]
    assert rewards["validation last"] >= rewards["validation first"]
    accuracy = results["accuracy"]
    base, tuned = accuracy["base model"], accuracy["reinforcement fine-tuned"]
    assert base["n"] == tuned["n"] == 40
    assert tuned["95% low"] > base["95% high"]  # better beyond the sampling noise
    assert _images(nb) >= 2  # reward curves, accuracy bars
    assert "small LOCAL models" in text
    # The judge grader scored the probe through the stand-in's judge model, and said so.
    assert "ValueError: no reference_answer" in text
    # What the lesson removed itself: deployment, both functions, their roles, the grant.
    left = remaining()
    assert left["deployments"] == left["lambda functions"] == []
    assert set(left["roles"]) == setup_roles
    assert not any(name.endswith("-rft-grader") for name in left["policies"])
    assert len(left["models"]) == 1

    # A re-run re-attaches to the finished job instead of paying for a second one.
    again = execute(RFT, tmp_path)
    assert "Re-attached to job" in text_of(again)
    listed = clients.client("bedrock").list_model_customization_jobs()
    assert len(listed["modelCustomizationJobSummaries"]) == 1

    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_cleanup_removes_the_grader_roles_and_job_of_a_lesson_interrupted_while_waiting(
    aws: StandIn, set_up: State, run_state: State, tmp_path: Path
) -> None:
    aws.inject(operation="GetModelCustomizationJob", error="AccessDeniedException", times=1)
    with pytest.raises(papermill.PapermillExecutionError):
        execute(RFT, tmp_path)
    kinds = [r["kind"] for r in run_state.resources()]
    assert kinds.count("lambda-function") == 1 and "customization-job" in kinds
    assert remaining()["lambda functions"] != []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
    assert run_state.resources() == []


def test_an_out_of_range_learning_rate_stops_before_any_job(
    set_up: State, run_state: State, tmp_path: Path
) -> None:
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        execute(RFT, tmp_path, learning_rate=0.01)
    said = caught.value.evalue
    assert "learningRate=0.01 is out of range" in said and "1e-07 to 0.001" in said
    listed = clients.client("bedrock").list_model_customization_jobs()
    assert listed["modelCustomizationJobSummaries"] == []
    execute(CLEANUP, tmp_path)
    assert remaining() == NOTHING_LEFT
