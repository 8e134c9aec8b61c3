"""Preflight: regions without Bedrock and models a region cannot customize are caught early."""

from __future__ import annotations

import pytest

from utils import preflight
from utils.errors import WorkshopError
from utils.local import StandIn


def test_bedrock_regions_come_from_botocore_data() -> None:
    regions = preflight.bedrock_regions()
    assert "us-east-1" in regions and "us-west-2" in regions
    preflight.check_region("us-east-1")


@pytest.mark.parametrize("region", ["ap-east-1", "us-eats-1"])
def test_region_without_bedrock_lists_alternatives(region: str) -> None:
    # ap-east-1 has no Bedrock in the pinned botocore's endpoint data; the other is a typo.
    with pytest.raises(WorkshopError) as caught:
        preflight.check_region(region)
    assert f"not offered in {region}" in str(caught.value)
    assert "us-east-1" in str(caught.value)


def test_customizable_model_passes_and_lists_the_offer(aws: StandIn) -> None:
    table = preflight.check_customization("amazon.nova-micro-v1:0", "FINE_TUNING")
    assert "amazon.nova-micro-v1:0:128k" in set(table["model id"])
    assert list(table.columns) == ["model id", "name", "provider", "lifecycle"]


def test_model_not_offered_for_that_customization_says_what_is(aws: StandIn) -> None:
    with pytest.raises(WorkshopError) as caught:
        preflight.check_customization("amazon.nova-micro-v1:0", "CONTINUED_PRE_TRAINING")
    message = str(caught.value)
    assert "does not offer Amazon Nova Micro" in message
    assert "amazon.titan-text-lite-v1:0:4k" in message
