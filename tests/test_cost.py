"""Cost estimates and the guard that keeps billable resources behind confirm_costs."""

from __future__ import annotations

import pytest

from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl, remaining
from utils import clients, cost, deploy, jobs
from utils.errors import WorkshopError
from utils.local import StandIn
from utils.state import State


def test_training_estimate_multiplies_tokens_epochs_and_the_listed_price() -> None:
    est = cost.training("amazon.nova-micro-v1:0", tokens=250_000, epochs=2)
    rows = est.table().set_index("item")
    assert rows.loc["training tokens x epochs", "quantity"] == 500_000
    assert rows.loc["training tokens x epochs", "cost (USD)"] == pytest.approx(0.5)  # 0.001/1k
    assert rows.loc["custom model storage", "cost (USD)"] == pytest.approx(1.95)
    assert est.complete and est.known_total == pytest.approx(2.45)
    assert "$2.45" in est.summary() and cost.PRICES_AS_OF in est.summary()


def test_unknown_prices_are_shown_as_unknown_not_guessed() -> None:
    est = cost.serving("amazon.titan-text-lite-v1", provisioned=True, units=2, hours=3)
    row = est.table().iloc[0]
    assert row["quantity"] == 6 and row["price (USD)"] == "unknown"
    assert not est.complete
    assert "at least $0.00" in est.summary() and "some prices unknown" in est.summary()
    llama = cost.training("meta.llama3-1-8b-instruct-v1:0", tokens=1000, epochs=1)
    assert llama.known_total == 0.0 and not llama.complete


def test_teacher_calls_are_priced_per_input_and_output_token() -> None:
    est = cost.teacher_calls("amazon.nova-pro-v1:0", input_tokens=100_000, output_tokens=50_000)
    assert est.known_total == pytest.approx(0.08 + 0.16)


def test_nothing_is_billed_on_the_standin(aws: StandIn) -> None:
    est = cost.training("amazon.nova-micro-v1:0", 1000, 1)
    assert "nothing is billed" in cost.confirm(est, confirm_costs=False)


@pytest.fixture
def pretend_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls still go to the stand-in, but the guard sees a real account."""
    monkeypatch.setattr(clients, "current_backend", lambda: "aws")


def test_on_aws_a_job_starts_only_when_costs_are_confirmed(
    aws: StandIn, state: State, pretend_aws: None
) -> None:
    bucket, role = make_bucket(), make_role()
    train = put_jsonl(bucket, "train.jsonl", dialogue_records(12))
    est = cost.training("amazon.nova-micro-v1:0", 40_000, 2)
    kwargs = {
        "state": state,
        "key": "fine-tuning",
        "base_model": "amazon.nova-micro-v1:0",
        "training_uri": train,
        "output_uri": f"s3://{bucket}/out/",
        "role_arn": role,
        "estimate": est,
    }
    with pytest.raises(WorkshopError) as caught:
        jobs.start(**kwargs)
    assert "Not started, because it costs money" in caught.value.problem
    assert "$2.03" in caught.value.problem  # 80k tokens at 0.001/1k + 1.95 storage
    assert "confirm_costs=True" in (caught.value.fix or "")
    assert remaining()["running jobs"] == [] and state.resources("customization-job") == []
    job = jobs.start(**kwargs, confirm_costs=True)
    assert job.reused is False
    assert jobs.start(**kwargs).reused is True  # re-attaching costs nothing: no confirmation


def test_on_aws_a_provisioned_throughput_needs_confirmation_but_on_demand_does_not(
    aws: StandIn, state: State, pretend_aws: None
) -> None:
    bucket, role = make_bucket(), make_role()
    train = put_jsonl(bucket, "train.jsonl", dialogue_records(12))
    job = jobs.start(
        state=state,
        key="ft",
        base_model="amazon.nova-micro-v1:0",
        training_uri=train,
        output_uri=f"s3://{bucket}/out/",
        role_arn=role,
        confirm_costs=True,
    )
    model = jobs.wait(job, state, interval=0.1, progress=False)["outputModelArn"]
    serve = {
        "state": state,
        "key": "ft",
        "model_arn": model,
        "base_model": "amazon.nova-micro-v1:0",
        "name_prefix": "nova-ft",
    }
    with pytest.raises(WorkshopError) as caught:
        deploy.serve(**serve, provisioned=True)
    assert "provisioned model units x hours" not in caught.value.problem  # the summary line
    assert "some prices unknown" in caught.value.problem
    assert remaining()["throughputs"] == []
    endpoint = deploy.serve(**serve)  # on demand: billed per token only
    assert endpoint.kind == "deployment"
    assert deploy.serve(**serve, provisioned=True, confirm_costs=True).kind == (
        "provisioned-throughput"
    )
