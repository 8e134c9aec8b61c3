"""Cost estimates and the guard that keeps billable resources behind confirm_costs."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from standin import StandIn
from tests.helpers import dialogue_records, make_bucket, make_role, put_jsonl, remaining
from utils import cost, deploy, jobs, sessions
from utils.cost import price_list as price_list_api
from utils.errors import WorkshopError
from utils.state import State

TODAY = "2026-11-20"


@pytest.fixture(autouse=True)
def _no_real_price_list(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reaches the real Price List API: unless a test stubs it, it is unreachable."""

    def unreachable() -> Any:
        raise EndpointConnectionError(endpoint_url="https://api.pricing.us-east-1.amazonaws.com")

    monkeypatch.setattr(price_list_api, "pricing_client", unreachable)
    monkeypatch.setattr(price_list_api, "today", lambda: TODAY)
    cost.clear_price_cache()
    yield
    cost.clear_price_cache()


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
    # Nothing priced: no "at least $0.00", which would read as free.
    assert "price unknown" in est.summary() and "$" not in est.summary().split(";")[0]
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
    monkeypatch.setattr(sessions, "current_backend", lambda: "aws")


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
    established: StandIn, aws: StandIn, state: State, pretend_aws: None
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
    assert "price unknown" in caught.value.problem
    assert remaining()["throughputs"] == []
    endpoint = deploy.serve(**serve)  # on demand: billed per token only
    assert endpoint.kind == "deployment"
    assert deploy.serve(**serve, provisioned=True, confirm_costs=True).kind == (
        "provisioned-throughput"
    )


# --- Prices from the AWS Price List API (stubbed; no network) -----------------------------


def product(
    usagetype: str,
    usd: str,
    unit: str,
    *,
    feature: str = "",
    inference_type: str = "",
    model: str = "",
    region: str = "us-east-1",
    description: str | None = None,
    model_attribute: str = "model",
) -> str:
    """One ``PriceList`` entry shaped like ``aws pricing get-products`` output for Bedrock."""
    attributes = {
        "regionCode": region,
        "servicecode": "AmazonBedrock",
        "usagetype": usagetype,
        "locationType": "AWS Region",
        "location": "US East (N. Virginia)" if region == "us-east-1" else region,
        "servicename": "Amazon Bedrock",
        "operation": "",
    }
    for key, value in (
        ("feature", feature),
        ("inferenceType", inference_type),
        (model_attribute, model),
    ):
        if value:
            attributes[key] = value
    sku = f"SKU{zlib.crc32(f'{usagetype}|{usd}|{unit}'.encode()):010d}"
    return json.dumps(
        {
            "product": {"productFamily": "Amazon Bedrock", "attributes": attributes, "sku": sku},
            "serviceCode": "AmazonBedrock",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": description
                                or f"${usd} per {unit} for {usagetype} in US East (N. Virginia)",
                                "appliesTo": [],
                                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-10-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261001000000",
            "publicationDate": "2026-10-01T00:00:00Z",
        }
    )


def request(region: str = "us-east-1", token: str | None = None) -> dict[str, Any]:
    """The ``get_products`` parameters the estimate must send for ``region``."""
    params: dict[str, Any] = {
        "ServiceCode": "AmazonBedrock",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def page(*items: str, token: str | None = None) -> dict[str, Any]:
    """A ``get_products`` answer."""
    answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": list(items)}
    if token:
        answer["NextToken"] = token
    return answer


NOVA_MICRO_ROWS = (
    product(
        "USE1-NovaMicro-Customization-Training",
        "1.2000000000",
        "1M tokens",
        feature="Model Customization",
        model="Nova Micro",
    ),
    product(
        "USE1-NovaMicro-Customization-Storage",
        "2.1000000000",
        "Model/month",
        feature="Model Customization",
        model="Nova Micro",
    ),
    product(
        "USE1-NovaMicro-input-tokens",
        "0.0000400000",
        "1K tokens",
        feature="On-demand Inference",
        inference_type="Input tokens",
        model="Nova Micro",
    ),
    product(
        "USE1-NovaMicro-output-tokens",
        "0.1600000000",
        "1M tokens",
        feature="On-demand Inference",
        inference_type="Output tokens",
        model="Nova Micro",
    ),
)
"""Nova Micro in us-east-1, with prices that differ from the snapshot so the source shows."""

NOISE_ROWS = (
    # Other rates of the same model (cheaper and dearer) that must not stand in for the
    # standard on-demand rate.
    product(
        "USE1-NovaMicro-input-tokens-batch",
        "0.0000175000",
        "1K tokens",
        feature="Batch Inference",
        inference_type="Input tokens",
        model="Nova Micro",
    ),
    product(
        "USE1-NovaMicro-input-tokens-custom-model",
        "0.0000100000",
        "1K tokens",
        feature="Model Customization",
        inference_type="Input tokens",
        model="Nova Micro",
    ),
    product(
        "USE1-NovaMicro-input-tokens-cross-region-global",
        "0.0000500000",
        "1K tokens",
        feature="On-demand Inference",
        inference_type="Input tokens",
        model="Nova Micro",
    ),
    # Another model whose name starts the same way, and another model's training.
    product(
        "USE1-NovaMicroX-input-tokens",
        "9.0000000000",
        "1K tokens",
        feature="On-demand Inference",
        inference_type="Input tokens",
        model="Nova Micro X",
    ),
    product(
        "USE1-NovaLite-Customization-Training",
        "0.0020000000",
        "1K tokens",
        feature="Model Customization",
        model="Nova Lite",
    ),
)


@pytest.fixture
def price_list(monkeypatch: pytest.MonkeyPatch, pretend_aws: None) -> Iterator[Stubber]:
    """A real ``pricing`` client behind a Stubber, used by aws-mode estimates in us-east-1."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    monkeypatch.setattr(price_list_api, "pricing_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_prices_come_from_the_price_list_with_units_normalised_to_1k_tokens(
    price_list: Stubber,
) -> None:
    price_list.add_response("get_products", page(*NOISE_ROWS, *NOVA_MICRO_ROWS), request())
    p = cost.prices("amazon.nova-micro-v1:0")
    assert p.training_per_1k_tokens == 0.0012  # 1.2 per 1M tokens
    assert p.storage_per_month == 2.1
    assert p.input_per_1k_tokens == 0.00004  # not the batch, custom-model or global rate
    assert p.output_per_1k_tokens == 0.00016  # 0.16 per 1M tokens
    assert p.provisioned_per_unit_hour is None  # not listed, and not in the snapshot
    listed = cost.PriceSource("price-list", TODAY, region="us-east-1")
    assert p.source_of("training_per_1k_tokens") == listed

    est = cost.training("amazon.nova-micro-v1:0", tokens=250_000, epochs=2)
    rows = est.table().set_index("item")
    assert rows.loc["training tokens x epochs", "cost (USD)"] == pytest.approx(0.6, abs=1e-12)
    assert rows.loc["custom model storage", "cost (USD)"] == 2.1
    assert est.complete and est.known_total == pytest.approx(2.7, abs=1e-12)
    assert rows["price source"].tolist() == [f"AWS Price List API, us-east-1, read {TODAY}"] * 2
    assert est.summary() == (
        "Training Amazon Nova Micro: $2.70; prices from the AWS Price List API for us-east-1, "
        f"read {TODAY}."
    )
    calls = cost.teacher_calls("amazon.nova-micro-v1:0", input_tokens=1_000_000, output_tokens=0)
    assert calls.known_total == pytest.approx(0.04, abs=1e-12)  # one read served both


def test_a_provisioned_throughput_hourly_price_becomes_known(price_list: Stubber) -> None:
    rows = (
        product(
            "USE1-TitanTextG1-Lite-ProvisionedThroughput-NoCommit-ModelUnits",
            "7.1000000000",
            "hour",
            feature="Provisioned Throughput Inference - no commit",
            model="Titan Text G1 - Lite",
            model_attribute="titanModel",
        ),
        product(
            "USE1-TitanTextG1-Lite-ProvisionedThroughput-Custom-NoCommit-ModelUnits",
            "7.5000000000",
            "hour",
            feature="Provisioned Throughput Inference - Custom - no commit",
            model="Titan Text G1 - Lite",
            model_attribute="titanModel",
        ),
        product(  # a commitment term is cheaper per hour but not what the workshop buys
            "USE1-TitanTextG1-Lite-ProvisionedThroughput-1month-ModelUnits",
            "6.4000000000",
            "hour",
            feature="Provisioned Throughput Inference - 1 month",
            model="Titan Text G1 - Lite",
            model_attribute="titanModel",
        ),
    )
    price_list.add_response("get_products", page(*rows), request())
    est = cost.serving("amazon.titan-text-lite-v1", provisioned=True, units=2, hours=3)
    row = est.table().iloc[0]
    assert row["price (USD)"] == "7.5 per 1 unit-hours"  # the custom-model rate
    assert row["cost (USD)"] == 45.0
    assert est.complete and "$45.00" in est.summary()
    # Training and storage are not listed here: those come from the snapshot, and say so.
    training = cost.training("amazon.titan-text-lite-v1", tokens=1000, epochs=1)
    assert training.known_total == pytest.approx(0.0004 + 1.95)
    assert "not in the AWS Price List API for us-east-1" in training.summary()
    assert cost.PRICES_AS_OF in training.summary()


def test_access_denied_falls_back_to_the_snapshot_and_says_so(price_list: Stubber) -> None:
    price_list.add_client_error(
        "get_products",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: pricing:GetProducts",
        http_status_code=400,
        expected_params=request(),
    )
    est = cost.training("amazon.nova-micro-v1:0", tokens=250_000, epochs=2)
    assert est.known_total == pytest.approx(2.45)  # the snapshot: 0.001/1k + 1.95
    summary = est.summary()
    assert "hand-copied snapshot" in summary and cost.PRICES_AS_OF in summary
    assert "allow pricing:GetProducts" in summary and "check them for your Region" in summary
    assert "prices from the AWS Price List API" not in summary
    assert est.table()["price source"].tolist() == [f"snapshot of {cost.PRICES_AS_OF}"] * 2
    # The refusal is remembered: no second request (the Stubber has none left to answer).
    assert cost.teacher_calls("amazon.nova-pro-v1:0", 100_000, 50_000).known_total == (
        pytest.approx(0.08 + 0.16)
    )


def test_nothing_matched_falls_back_to_the_snapshot(price_list: Stubber) -> None:
    price_list.add_response("get_products", page(*NOISE_ROWS[3:]), request())
    est = cost.training("amazon.nova-micro-v1:0", tokens=250_000, epochs=2)
    assert est.known_total == pytest.approx(2.45)
    assert "hand-copied snapshot; not in the AWS Price List API for us-east-1" in est.summary()


def test_a_unit_that_names_no_token_count_is_not_guessed(price_list: Stubber) -> None:
    unclear = product(
        "USE1-NovaMicro-Customization-Training",
        "1.2000000000",
        "Units",
        feature="Model Customization",
        model="Nova Micro",
        description="Nova Micro customization",
    )
    price_list.add_response("get_products", page(unclear, NOVA_MICRO_ROWS[1]), request())
    p = cost.prices("amazon.nova-micro-v1:0")
    assert p.training_per_1k_tokens == 0.001  # the snapshot's, not 1.2 per something
    assert p.source_of("training_per_1k_tokens").kind == "snapshot"  # type: ignore[union-attr]
    assert p.storage_per_month == 2.1
    est = cost.training("amazon.nova-micro-v1:0", tokens=1000, epochs=1)
    assert "prices from the AWS Price List API" in est.summary()
    assert "list prices of 2025-06" in est.summary()  # both sources are named


def test_every_page_of_the_price_list_is_read(price_list: Stubber) -> None:
    price_list.add_response("get_products", page(*NOVA_MICRO_ROWS[:2], token="page-2"), request())
    price_list.add_response(
        "get_products", page(*NOVA_MICRO_ROWS[2:], token="page-3"), request(token="page-2")
    )
    price_list.add_response("get_products", page(), request(token="page-3"))
    p = cost.prices("amazon.nova-micro-v1:0")
    assert (p.training_per_1k_tokens, p.storage_per_month) == (0.0012, 2.1)  # page 1
    assert (p.input_per_1k_tokens, p.output_per_1k_tokens) == (0.00004, 0.00016)  # page 2


def test_the_price_list_is_read_for_the_workshop_region(
    price_list: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    frankfurt = product(
        "EUC1-NovaMicro-input-tokens",
        "0.0000460000",
        "1K tokens",
        feature="On-demand Inference",
        inference_type="Input tokens",
        model="Nova Micro",
        region="eu-central-1",
    )
    price_list.add_response("get_products", page(frankfurt), request("eu-central-1"))
    p = cost.prices("amazon.nova-micro-v1:0")
    assert p.input_per_1k_tokens == 0.000046
    assert p.source_of("input_per_1k_tokens") == cost.PriceSource(
        "price-list", TODAY, region="eu-central-1"
    )


def test_local_mode_never_calls_the_price_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "current_backend", lambda: "local")
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    made: list[Any] = []
    monkeypatch.setattr(price_list_api, "pricing_client", lambda: made.append(client) or client)
    with Stubber(client):  # no responses queued: any call would raise
        est = cost.training("amazon.nova-micro-v1:0", tokens=250_000, epochs=2)
        assert cost.serving("amazon.nova-pro-v1:0", provisioned=True).complete is False
    assert made == []
    assert est.known_total == pytest.approx(2.45)
    assert est.summary().endswith(
        f"list prices of {cost.PRICES_AS_OF} (hand-copied snapshot), check them for your Region."
    )


def test_an_imported_model_bills_whole_five_minute_windows() -> None:
    assert [cost.billed_minutes(m) for m in (0, 0.2, 1, 4.99, 5, 5.01, 10, 10.000000001, 11)] == [
        0, 5, 5, 5, 5, 10, 10, 10, 15
    ]  # fmt: skip
    quote = cost.ImportPrices(per_cmu_minute=0.1, storage_per_cmu_month=2.0)
    # One 1-minute burst of a 2-unit model bills a whole window: 2 units x 5 min x $0.1.
    one = cost.imported_model(2, days=30, invoked_minutes=1, prices=quote).table()
    assert list(one["quantity"]) == [2.0, 10]
    assert list(one["cost (USD)"]) == pytest.approx([4.0, 1.0])
    # Six minutes in three bursts of two bill three windows (15 min), not two (6 min -> 10).
    spread = cost.imported_model(1, days=15, invoked_minutes=6, bursts=3, prices=quote)
    rows = spread.table().set_index("unit")
    assert rows.loc["CMU-minutes", "quantity"] == 15
    assert rows.loc["CMU-months", "quantity"] == pytest.approx(0.5)
    assert spread.known_total == pytest.approx(1.0 + 1.5)
    # Two copies running double the active minutes, not the storage.
    two = cost.imported_model(1, days=30, invoked_minutes=5, copies=2, prices=quote).table()
    assert list(two["quantity"]) == [1.0, 10]
    assert cost.imported_model(1, days=1, prices=quote).table()["quantity"].iloc[1] == 0
    with pytest.raises(WorkshopError):
        cost.imported_model(1, days=1, invoked_minutes=3, bursts=0)


def test_custom_model_import_prices_nobody_read_are_unknown() -> None:
    assert cost.IMPORT_PRICES == {}  # see utils/cost/snapshot.py: no price could be read
    est = cost.imported_model(None, days=7, invoked_minutes=12, cmu_version="v1.0")
    table = est.table()
    assert list(table["price (USD)"]) == ["unknown", "unknown"]
    assert not est.complete and "price unknown" in est.summary()
    assert "per custom model unit" in est.title  # units are set by Bedrock at import
    assert table["quantity"].iloc[1] == 15  # 12 minutes bill three windows


def test_reinforcement_shows_what_it_samples_and_grades_at_an_unknown_price(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    est = cost.reinforcement("amazon.nova-2-lite-v1:0", prompts=120, samples_per_prompt=4, epochs=3)
    table = est.table().set_index("item")
    assert table["quantity"].iloc[0] == table["quantity"].iloc[1] == 1440  # 120 x 4 x 3
    assert set(table["price (USD)"]) == {"unknown"}  # not found, not guessed
    assert est.summary().startswith("Reinforcement fine-tuning Amazon Nova 2 Lite: price unknown")
    assert "2026-12-02" in cost.RFT_PRICE_NOTE
    monkeypatch.setattr(sessions, "current_backend", lambda: "aws")
    with pytest.raises(WorkshopError, match="Not started, because it costs money") as caught:
        cost.confirm(est, confirm_costs=False)
    assert "price unknown" in caught.value.problem
