"""Reinforcement fine-tuning end to end: the workshop's helpers against the stand-in's job.

The workshop makes and validates the data, deploys its own reward file as the grader Lambda,
lets the service role call it, sends the request it built, waits, reads the reward curves,
serves the model, and scores base and tuned models with the same reward file. The
stand-in's job learns only from what that deployed function returns.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from standin import StandIn
from tests.helpers import NOTHING_LEFT, remaining
from utils import cleanup, deploy, evaluation, iam, jobs, lambdas, rft, rft_data, s3, validation
from utils.state import State

matplotlib.use("Agg")
ACCOUNT, REGION = "123456789012", "us-east-1"
NOVA2 = "amazon.nova-2-lite-v1:0"


@pytest.mark.same_in_every_account  # on-demand deployment: no model units needed
def test_a_job_learns_from_the_deployed_reward_file_and_beats_its_base(
    aws: StandIn, state: State, tmp_path: Path
) -> None:
    files = rft_data.write_splits(tmp_path / "rft", train=120, validation=30, test=24, seed=7)
    report = validation.validate_dataset(
        train=files["train"],
        validation=files["validation"],
        job="reinforcement-fine-tuning",
        model=NOVA2,
    )
    report.raise_if_invalid()
    bucket = s3.ensure_bucket("workshop-rft-bucket", REGION, state)
    role = iam.ensure_role("rft-service", "rft-service-s3", ACCOUNT, REGION, bucket, state)
    uris = {
        name: s3.upload_file(path, s3.uri(bucket, f"rft/data/{path.name}"))
        for name, path in files.items()
        if name != "test"
    }
    grader_role = lambdas.ensure_function_role("rft-grader", "rft-grader", ACCOUNT, REGION, state)
    grader = lambdas.deploy(
        rft.rewards.ARITHMETIC_REWARD, name="rft-grader", role_arn=grader_role, state=state
    )
    test = [dict(r) for r in rft_data.make_splits(120, 30, 24, seed=7)["test"]]
    sample = rft.rewards.sample(test[0], "Answer: -1", "probe")
    assert lambdas.invoke(grader, [sample])[0]["aggregate_reward_score"] == 0.0  # deployed as is
    iam.allow_invoke("rft-service", "rft-service-grader", grader.arn, state)

    settings = {"epochCount": 3, "batchSize": 16, "learningRate": 1e-5}
    settings |= {"trainingSamplePerPrompt": 4, "inferenceMaxTokens": 64, "evalInterval": 2}
    job = jobs.start(
        state=state,
        key="rft",
        base_model=NOVA2,
        training_uri=uris["train"],
        validation_uri=uris["validation"],
        output_uri=f"s3://{bucket}/rft/output/",
        role_arn=role,
        customization_type="REINFORCEMENT_FINE_TUNING",
        customization_config=jobs.rft_config(NOVA2, grader.arn, settings),
    )
    model_arn = jobs.wait_for_model(job, state, timeout=120)
    training, validated = jobs.metrics(job)
    assert validated is not None
    # The job's seed follows its (unique) name, so the curves differ run to run; what holds
    # every time: sampled from an untrained policy, few answers earn a reward, and the
    # trained policy earns it nearly always.
    sampled = training[rft.TRAIN_REWARD].tolist()
    assert sampled[0] < 0.5 < sampled[-1]
    assert validated[rft.VALIDATION_REWARD].iloc[-1] >= validated[rft.VALIDATION_REWARD].iloc[0]
    assert len(rft.plot_rewards(training, validated).axes[0].get_lines()) == 2

    endpoint = deploy.serve(
        state=state,
        key="rft",
        model_arn=model_arn,
        base_model=NOVA2,
        name_prefix="nova-2-rft",
        wait=True,
    )
    result = rft.accuracy(
        {
            "base model": evaluation.ConverseRunner(NOVA2, max_tokens=64),
            "reinforcement fine-tuned": evaluation.ConverseRunner(endpoint.arn, max_tokens=64),
        },
        test,
        progress=False,
    )
    table = result.table()
    assert result.failures == 0
    tuned, base = table.loc["reinforcement fine-tuned"], table.loc["base model"]
    assert tuned["accuracy %"] > base["accuracy %"] and tuned["95% low"] > base["95% high"]

    deploy.finish(endpoint, state, keep=False)
    cleanup.cleanup(state)
    assert remaining() == NOTHING_LEFT
    assert state.resources() == []


def test_the_judge_grader_scores_through_the_stand_ins_judge_and_reports_its_outages(
    aws: StandIn, state: State, tmp_path: Path
) -> None:
    from utils import inference, rewards

    judge_model = "amazon.nova-pro-v1:0"
    called_as = inference.runtime_id(judge_model)
    statement = iam.invoke_model_statement(judge_model, called_as, REGION, ACCOUNT)
    role = lambdas.ensure_function_role("judge", "judge", ACCOUNT, REGION, state, extra=[statement])
    judge = lambdas.deploy(
        rewards.JUDGE_REWARD,
        name="judge",
        role_arn=role,
        state=state,
        environment={"JUDGE_MODEL_ID": called_as},
    )
    record = rft_data.make_splits(100, 0, 1, seed=5)["test"][0]
    probe = rft.probe_samples(record)
    table = rft.graded_table(probe, lambdas.invoke(judge, probe)).set_index("id")
    # The function's own boto3 reached the stand-in's runtime, whose judge compared numbers.
    assert list(table["score"].iloc[:2]) == [1.0, 0.0]
    assert table.loc["no-reference", "error"].startswith("ValueError: no reference_answer")

    # A throttled judge (past the SDK's retries) is an error for that sample, never a score.
    aws.inject(operation="Converse", error="ThrottlingException", times=20)
    outage = lambdas.invoke(judge, probe[:1])
    assert outage[0]["id"] == "right" and "aggregate_reward_score" not in outage[0]
    assert "ThrottlingException" in outage[0]["error"]
    aws.clear_faults()
    assert lambdas.remove("judge", "judge", state) == {"function": "deleted", "role": "deleted"}
    assert remaining() == NOTHING_LEFT
