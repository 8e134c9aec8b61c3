"""The model registry: lookups and hyperparameter checks before any call."""

from __future__ import annotations

import pytest

from utils import models
from utils.errors import WorkshopError


@pytest.mark.parametrize(
    "ident",
    [
        "amazon.nova-micro-v1:0",
        "amazon.nova-micro-v1:0:128k",
        "us.amazon.nova-micro-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "nova-micro",
    ],
)
def test_every_spelling_finds_the_family(ident: str) -> None:
    assert models.family(ident).key == "nova-micro"


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(WorkshopError) as caught:
        models.family("acme.model-v1")
    assert "amazon.nova-micro-v1:0" in str(caught.value)


def test_defaults_are_strings_and_overrides_are_normalised() -> None:
    out = models.check_hyperparameters("amazon.nova-micro-v1:0", {"epochCount": 3})
    assert out == {"epochCount": "3", "learningRate": "1e-05", "learningRateWarmupSteps": "10"}
    assert (
        models.check_hyperparameters("amazon.nova-micro-v1:0", {"learningRate": "0.0001"})[
            "learningRate"
        ]
        == "0.0001"
    )


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"epochCount": 6}, "1 to 5"),
        ({"learningRate": 1.0}, "1e-06 to 0.0001"),
        ({"epochCount": 2.5}, "whole number"),
        ({"epochCount": "two"}, "not a number"),
        ({"batchSize": 8}, "no hyperparameter batchSize"),
    ],
)
def test_bad_hyperparameters_are_refused_with_the_range(values: dict, needle: str) -> None:
    with pytest.raises(WorkshopError) as caught:
        models.check_hyperparameters("amazon.nova-micro-v1:0", values)
    assert needle in str(caught.value)


def test_every_family_has_consistent_defaults() -> None:
    for fam in models.FAMILIES:
        assert fam.customization_id.startswith(fam.model_id)
        for hp in fam.hyperparameters:
            assert hp.minimum <= hp.default <= hp.maximum, (fam.key, hp.name)
        # The defaults themselves must pass the check.
        assert models.check_hyperparameters(fam.model_id, {}) == fam.defaults()
