"""Jobs, provisioned throughput, inference and cleanup end to end against the stand-in."""

from __future__ import annotations

from typing import Any

import matplotlib
import pytest

from standin import StandIn
from tests.helpers import NOTHING_LEFT, dialogue_records, put_jsonl, remaining
from utils import cleanup, clients, deploy, iam, inference, jobs, s3
from utils.errors import WorkshopError
from utils.state import State

matplotlib.use("Agg")
ACCOUNT = "123456789012"


@pytest.fixture
def setup(aws: StandIn, state: State) -> dict[str, Any]:
    """What 00_setup leaves behind: bucket, role, uploaded data."""
    bucket = s3.ensure_bucket("workshop-flow-bucket", "us-east-1", state)
    role = iam.ensure_role("flow-role", "flow-policy", ACCOUNT, "us-east-1", bucket, state)
    records = dialogue_records(30)
    return {
        "bucket": bucket,
        "role": role,
        "train": put_jsonl(bucket, "data/train.jsonl", records[:24]),
        "validation": put_jsonl(bucket, "data/validation.jsonl", records[24:]),
        "output": f"s3://{bucket}/output/",
    }


def _start(state: State, setup: dict[str, Any], **extra: Any) -> jobs.Job:
    args: dict[str, Any] = {
        "state": state,
        "key": "fine-tuning",
        "base_model": "amazon.nova-micro-v1:0",
        "training_uri": setup["train"],
        "validation_uri": setup["validation"],
        "output_uri": setup["output"],
        "role_arn": setup["role"],
        "hyperparameters": {"epochCount": 2},
    }
    args.update(extra)
    return jobs.start(**args)


def test_full_flow_then_cleanup_leaves_nothing(
    established: StandIn, aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    job = _start(state, setup)
    assert not job.reused
    final = jobs.wait(job, state, interval=0.05, progress=False)
    assert final["status"] == "Completed"
    training, validation = jobs.metrics(job)
    assert list(training.columns) == ["step_number", "epoch_number", "training_loss", "perplexity"]
    assert validation is not None and len(validation) == 2  # one pass per epoch
    fig = jobs.plot_metrics(training, validation)
    assert len(fig.axes[0].lines) == 2
    losses = jobs.loss_summary(training, validation)
    assert losses["training first"] == round(training["training_loss"].iloc[0], 4)
    assert losses["validation last"] == round(validation["validation_loss"].iloc[1], 4)
    assert losses["validation last"] < losses["validation first"]  # measured, so it can fail
    assert jobs.loss_summary(training)["validation first"] is None

    pt = deploy.create_throughput(
        state=state, key="fine-tuning", model_arn=final["outputModelArn"], name_prefix="flow-pt"
    )
    assert (
        deploy.create_throughput(
            state=state, key="fine-tuning", model_arn=final["outputModelArn"], name_prefix="flow-pt"
        )
        == pt
    )  # re-run reuses the throughput it already pays for
    assert (
        deploy.wait_for_throughput(pt, state, interval=0.05, progress=False)["status"]
        == "InService"
    )
    prompt = setup_prompt()
    custom = inference.converse(pt, prompt)
    base = inference.converse("amazon.nova-micro-v1:0", prompt)
    assert custom.local and base.local
    assert custom.text and base.text and custom.text != base.text
    table = inference.side_by_side({"base": "amazon.nova-micro-v1:0", "custom": pt}, [prompt])
    assert list(table.columns) == ["prompt", "base", "custom"]
    assert table.attrs["called_as"] == {"base": "amazon.nova-micro-v1:0", "custom": pt}
    assert table.attrs["local"] is True

    kinds = {r["kind"] for r in state.resources()}
    assert kinds == {
        "s3-bucket", "iam-role", "iam-policy", "customization-job", "custom-model",
        "provisioned-throughput",
    }  # fmt: skip
    preview = cleanup.cleanup(state, dry_run=True)
    assert set(preview["action"]) == {"would remove"}
    assert len(remaining()["throughputs"]) == 1  # dry run changed nothing

    report = cleanup.cleanup(state)
    assert not report["remains"].any(), report
    assert state.resources() == []
    assert remaining() == NOTHING_LEFT
    again = cleanup.cleanup(state)
    assert again.empty


def setup_prompt() -> str:
    return dialogue_records(40)[-1]["messages"][0]["content"][0]["text"]


def test_rerun_while_running_reattaches_instead_of_starting_twice(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    aws.bedrock.job_seconds = 30
    try:
        first = _start(state, setup)
        second = _start(state, setup)
        assert second.reused and second.arn == first.arn
        listed = clients.client("bedrock").list_model_customization_jobs()
        assert len(listed["modelCustomizationJobSummaries"]) == 1
        report = cleanup.cleanup(state)
        assert "stopped" in set(report["action"])
    finally:
        aws.bedrock.job_seconds = 0.3
    assert remaining()["running jobs"] == []


@pytest.mark.parametrize(
    "changed",
    [
        {"base_model": "amazon.nova-lite-v1:0"},
        {"hyperparameters": {"epochCount": 3}},
        {"training_uri": "other"},  # other data
    ],
    ids=["base-model", "hyperparameters", "data"],
)
def test_a_changed_request_starts_a_new_job_and_keeps_the_old_one_for_cleanup(
    aws: StandIn, state: State, setup: dict[str, Any], changed: dict[str, Any]
) -> None:
    if changed.get("training_uri") == "other":
        changed = {
            "training_uri": put_jsonl(setup["bucket"], "data/other.jsonl", dialogue_records(30))
        }
    first = _start(state, setup)
    jobs.wait(first, state, interval=0.05, progress=False)
    assert _start(state, setup).reused  # the same request re-attaches
    second = _start(state, setup, **changed)
    assert not second.reused and second.arn != first.arn
    found = jobs.describe(second)
    if "base_model" in changed:
        assert found["baseModelArn"].endswith("amazon.nova-lite-v1:0:300k")
    assert {r["id"] for r in state.resources("customization-job")} == {first.name, second.name}
    jobs.wait(second, state, interval=0.05, progress=False)
    assert not cleanup.cleanup(state)["remains"].any()
    assert remaining() == NOTHING_LEFT


def test_failed_job_explains_and_is_not_reused(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    job = _start(state, setup, training_uri=f"s3://{setup['bucket']}/data/missing.jsonl")
    with pytest.raises(WorkshopError) as caught:
        jobs.wait(job, state, interval=0.05, progress=False)
    assert "ended Failed" in str(caught.value)
    assert "missing.jsonl" in str(caught.value)
    retry = _start(state, setup)
    assert not retry.reused and retry.arn != job.arn


def test_wait_times_out_with_next_steps(aws: StandIn, state: State, setup: dict[str, Any]) -> None:
    aws.bedrock.job_seconds = 30
    try:
        job = _start(state, setup)
        with pytest.raises(WorkshopError) as caught:
            jobs.wait(job, state, timeout=0.2, interval=0.05, progress=False)
        assert "still InProgress" in str(caught.value)
        assert "re-attaches" in str(caught.value)
        jobs.stop(job)
        jobs.stop(job)  # stopping twice is harmless
    finally:
        aws.bedrock.job_seconds = 0.3


def test_bad_hyperparameter_is_refused_before_any_call(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    with pytest.raises(WorkshopError, match="1 to 5"):
        _start(state, setup, hyperparameters={"epochCount": 50})
    assert state.resources("customization-job") == []
    assert (
        clients.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
        == []
    )


def test_rejected_job_is_not_left_recorded(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    with pytest.raises(WorkshopError) as caught:
        _start(state, setup, role_arn=f"arn:aws:iam::{ACCOUNT}:role/nobody")
    assert "ValidationException" in str(caught.value)
    assert state.resources("customization-job") == []


def test_cleanup_finds_a_model_the_kernel_never_recorded(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    job = _start(state, setup)
    bedrock = clients.client("bedrock")
    # The kernel "died" before jobs.wait recorded the model: only the job is in state.
    while bedrock.get_model_customization_job(jobIdentifier=job.arn)["status"] != "Completed":
        pass
    assert state.resources("custom-model") == []
    cleanup.cleanup(state)
    assert remaining()["models"] == []


def test_cleanup_tolerates_resources_already_gone(aws: StandIn, state: State) -> None:
    state.add_resource("s3-bucket", "never-made-bucket")
    state.add_resource("iam-role", "never-made-role")
    state.add_resource("iam-policy", "p", arn=f"arn:aws:iam::{ACCOUNT}:policy/p")
    state.add_resource(
        "provisioned-throughput",
        "pt",
        arn="arn:aws:bedrock:us-east-1:123456789012:provisioned-model/zzzzzzzzzzzz",
    )
    state.add_resource("custom-model", "arn:aws:bedrock:us-east-1:123456789012:custom-model/x/y")
    report = cleanup.cleanup(state)
    assert set(report["action"]) == {"already gone"}
    assert state.resources() == []


def test_a_throughput_cleanup_may_not_delete_stays_recorded_with_the_reason(
    aws: StandIn, state: State
) -> None:
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/denied"
    state.add_resource("provisioned-throughput", "pt-denied", arn=arn, key="fine-tuning")
    state.set("throughput:fine-tuning", {"name": "pt-denied", "arn": arn})
    aws.inject(operation="DeleteProvisionedModelThroughput", error="AccessDeniedException", times=1)
    [row] = cleanup.cleanup(state).to_dict("records")
    assert row["remains"] is True
    assert row["action"].startswith(
        f"Deleting provisioned throughput {arn} failed with AccessDeniedException: "
    )
    assert "What to do: Your principal lacks the permission" in row["action"]
    assert state.get("throughput:fine-tuning") == {"name": "pt-denied", "arn": arn}
    [again] = cleanup.cleanup(state).to_dict("records")  # the fault is used up
    assert (again["action"], again["remains"]) == ("already gone", False)
    assert state.resources() == [] and state.get("throughput:fine-tuning") is None


def test_converse_errors_name_the_fix(aws: StandIn) -> None:
    with pytest.raises(WorkshopError) as caught:
        inference.converse("acme.unknown-v1", "hello")
    assert "ValidationException" in str(caught.value)


def test_empty_cleanup_table_still_filters(aws: StandIn, state: State) -> None:
    report = cleanup.cleanup(state)
    assert report.empty and report["remains"].dtype == bool
    assert list(report[report["remains"]].columns) == ["kind", "id", "action", "remains"]


def test_settings_show_the_request_as_bedrock_recorded_it(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    job = _start(state, setup)
    shown = jobs.settings(job)
    assert shown["jobName"] == job.name
    assert shown["hyperParameters"]["epochCount"] == "2"
    assert shown["trainingDataConfig"] == {"s3Uri": setup["train"]}
    assert shown["baseModelArn"].endswith("foundation-model/amazon.nova-micro-v1:0:128k")


def test_nova_is_served_on_demand_and_answers_like_its_throughput(
    established: StandIn, aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    job = _start(state, setup)
    model_arn = jobs.wait(job, state, interval=0.05, progress=False)["outputModelArn"]
    endpoint = deploy.serve(
        state=state,
        key="ft",
        model_arn=model_arn,
        base_model="amazon.nova-micro-v1:0",
        name_prefix="ft",
    )
    assert endpoint.kind == "deployment" and "per token" in endpoint.billing
    again = deploy.serve(
        state=state, key="ft", model_arn=model_arn, base_model="amazon.nova-micro-v1:0",
        name_prefix="ft",
    )  # fmt: skip
    assert again == endpoint  # a re-run reuses the deployment
    assert deploy.wait_ready(endpoint, state, interval=0.05, progress=False)["status"] == "Active"
    provisioned = deploy.serve(
        state=state, key="ft-pt", model_arn=model_arn, base_model="amazon.nova-micro-v1:0",
        name_prefix="ft", provisioned=True,
    )  # fmt: skip
    assert provisioned.kind == "provisioned-throughput" and "per hour" in provisioned.billing
    deploy.wait_ready(provisioned, state, interval=0.05, progress=False)
    prompt = setup_prompt()
    assert (
        inference.converse(endpoint.arn, prompt).text
        == inference.converse(provisioned.arn, prompt).text
    )  # the same custom model behind both
    assert deploy.remove(endpoint, state) is True
    assert deploy.remove(endpoint, state) is False
    assert state.resources("custom-model-deployment") == []
    cleanup.cleanup(state)
    assert remaining() == NOTHING_LEFT


def test_family_without_on_demand_gets_provisioned_throughput(
    established: StandIn,
    aws: StandIn,
    state: State,
    setup: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bedrock fine-tunes Llama 3.1 in us-west-2 only.
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    clients.clear_cache()
    rows = [{"prompt": f"Summarize: item {i} arrived late.", "completion": f"Item {i} was late."}
            for i in range(100)]  # fmt: skip
    train = put_jsonl(setup["bucket"], "data/llama.jsonl", rows)
    job = _start(
        state, setup, base_model="meta.llama3-1-8b-instruct-v1:0", training_uri=train,
        validation_uri=None, hyperparameters={"epochCount": 1},
    )  # fmt: skip
    model_arn = jobs.wait(job, state, interval=0.05, progress=False)["outputModelArn"]
    endpoint = deploy.serve(
        state=state, key="llama", model_arn=model_arn,
        base_model="meta.llama3-1-8b-instruct-v1:0", name_prefix="llama",
    )  # fmt: skip
    assert endpoint.kind == "provisioned-throughput"
    with pytest.raises(WorkshopError, match="provisioned throughput instead"):
        deploy.create_deployment(state=state, key="x", model_arn=model_arn, name_prefix="x")
    report = cleanup.cleanup(state)
    assert not report["remains"].any()
    assert remaining() == NOTHING_LEFT


def test_customization_config_is_sent_only_when_given(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    plain = jobs.describe(_start(state, setup))
    assert "customizationConfig" not in plain
    config = {
        "distillationConfig": {
            "teacherModelConfig": {
                "teacherModelIdentifier": "amazon.nova-pro-v1:0",
                "maxResponseLengthForInference": 1000,
            }
        }
    }
    prompts = [
        {"schemaVersion": r["schemaVersion"], "system": r["system"], "messages": r["messages"][:1]}
        for r in dialogue_records(120)
    ]
    job = _start(
        state,
        setup,
        key="distillation",
        training_uri=put_jsonl(setup["bucket"], "distillation/prompts.jsonl", prompts),
        validation_uri=None,
        customization_type="DISTILLATION",
        customization_config=config,
        hyperparameters=None,  # Bedrock takes none for distillation
    )
    described = jobs.describe(job)
    assert described["customizationType"] == "DISTILLATION"
    assert described["customizationConfig"] == config
    assert jobs.settings(job)["customizationConfig"] == config


@pytest.mark.parametrize("layout", jobs.VALIDATION_METRICS)
def test_validation_metrics_are_read_from_every_known_layout(
    aws: StandIn, state: State, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = s3.ensure_bucket("workshop-metrics-bucket", "us-east-1", state)
    arn = "arn:aws:bedrock:us-east-1:1:model-customization-job/m/abc"
    job = jobs.Job("k", "n", arn, "m", f"s3://{bucket}/out/", reused=False)
    base = f"out/model-customization-job-{job.job_id}"
    files = {
        jobs.TRAINING_METRICS: b"step_number,epoch_number,training_loss,perplexity\n0,0,0.9,2.4\n",
        layout: b"step_number,epoch_number,validation_loss\n0,0,0.75\n",
    }
    for key, body in files.items():
        clients.client("s3").put_object(Bucket=bucket, Key=f"{base}/{key}", Body=body)
    training, validation = jobs.metrics(job)
    assert validation is not None and validation["validation_loss"].tolist() == [0.75]
    assert training["training_loss"].tolist() == [0.9]
    assert "No validation metrics" not in capsys.readouterr().out


def test_missing_validation_metrics_are_said_not_silently_dropped(
    aws: StandIn, state: State, setup: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    job = _start(state, setup)
    assert jobs.wait(job, state, interval=0.05, progress=False)["status"] == "Completed"
    bucket, _ = s3.split_uri(job.output_uri)
    base = f"output/model-customization-job-{job.job_id}"
    s3c = clients.client("s3")
    # The stand-in writes the documented layout; remove it to play a job that wrote none.
    s3c.delete_object(Bucket=bucket, Key=f"{base}/{jobs.VALIDATION_METRICS[0]}")
    training, validation = jobs.metrics(job)
    assert validation is None and len(training) > 0
    said = capsys.readouterr().out
    assert "No validation metrics under" in said and jobs.VALIDATION_METRICS[0] in said
    assert "no validation metrics" in jobs.plot_metrics(training).axes[0].get_title()


def test_the_request_is_built_and_checked_before_anything_is_sent(
    aws: StandIn, state: State, setup: dict[str, Any]
) -> None:
    key_arn = clients.client("kms").create_key()["KeyMetadata"]["Arn"]
    state.set("protection", {"kms_key_arn": key_arn})
    built = jobs.request(
        state=state,
        key="fine-tuning",
        base_model="amazon.nova-micro-v1:0",
        training_uri=setup["train"],
        validation_uri=setup["validation"],
        output_uri=setup["output"],
        role_arn=setup["role"],
        hyperparameters={"epochCount": 3, "learningRate": 0.00002},
    )
    body = built.body
    assert body["baseModelIdentifier"] == "amazon.nova-micro-v1:0:128k"
    # Strings, as Bedrock takes them; the family's default fills what was not given.
    assert body["hyperParameters"] == {
        "epochCount": "3",
        "learningRate": "2e-05",
        "learningRateWarmupSteps": "10",
    }
    assert body["customModelKmsKeyId"] == key_arn  # what setup recorded
    assert body["validationDataConfig"] == {"validators": [{"s3Uri": setup["validation"]}]}
    assert body["jobName"] == body["clientRequestToken"] and state.workshop_id in body["jobName"]
    assert "baseModelIdentifier" in built._repr_html_() and "2e-05" in built._repr_html_()
    listed = clients.client("bedrock").list_model_customization_jobs()
    assert listed["modelCustomizationJobSummaries"] == []
    assert state.resources("customization-job") == []  # nothing recorded either

    job = jobs.start(built, state=state)
    assert jobs.describe(job)["jobName"] == body["jobName"]  # sent exactly as shown
    with pytest.raises(WorkshopError, match="got a request and also"):
        jobs.start(built, state=state, key="other")
    with pytest.raises(WorkshopError, match="out of range"):
        jobs.request(**{**_fields(setup), "hyperparameters": {"epochCount": 9}}, state=state)


def _fields(setup: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": "fine-tuning",
        "base_model": "amazon.nova-micro-v1:0",
        "training_uri": setup["train"],
        "output_uri": setup["output"],
        "role_arn": setup["role"],
    }


def test_the_lesson_helpers_wait_show_serve_and_finish(
    aws: StandIn, state: State, setup: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    job = _start(state, setup)
    arn = jobs.wait_for_model(job, state, timeout=60)
    assert arn == jobs.describe(job)["outputModelArn"]
    assert f"Completed: custom model {arn}" in capsys.readouterr().out

    training, validation = jobs.show_metrics(job, state)
    losses = state.results("interactive")["losses"]
    assert losses["training first"] == round(training["training_loss"].iloc[0], 4)
    assert validation is not None and len(validation)

    endpoint = deploy.serve(
        state=state,
        key="fine-tuning",
        model_arn=arn,
        base_model="amazon.nova-micro-v1:0",
        name_prefix="helpers",
        wait=True,
    )
    assert f"Ready: {endpoint.arn}\nBilled on demand" in capsys.readouterr().out
    assert inference.converse(endpoint.arn, setup_prompt()).text  # it answers

    kept = deploy.finish(endpoint, state, keep=True)
    assert kept.startswith(f"Kept {endpoint.arn}") and len(remaining()["deployments"]) == 1
    assert deploy.finish(endpoint, state, keep=False) == f"Deleted: {endpoint.arn}"
    assert remaining()["deployments"] == []
    assert deploy.finish(endpoint, state, keep=False) == f"Already gone: {endpoint.arn}"


def test_the_distillation_config_names_the_teacher_and_its_answer_length() -> None:
    config = jobs.distillation_config("amazon.nova-pro-v1:0", 300)
    assert config == {
        "distillationConfig": {
            "teacherModelConfig": {
                "teacherModelIdentifier": "amazon.nova-pro-v1:0",
                "maxResponseLengthForInference": 300,
            }
        }
    }
    # The shape botocore's service model gives customizationConfig, so Bedrock takes it.
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.operation_model("CreateModelCustomizationJob").input_shape
    teacher = shape.members["customizationConfig"].members["distillationConfig"]
    assert set(config["distillationConfig"]) <= set(teacher.members)
    assert set(config["distillationConfig"]["teacherModelConfig"]) <= set(
        teacher.members["teacherModelConfig"].members
    )
