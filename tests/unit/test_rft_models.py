"""The registry's reinforcement fine-tuning facts: which models, and typed hyperparameters."""

from __future__ import annotations

import botocore.session
import pytest

from utils import models
from utils.errors import WorkshopError

NOVA2 = "amazon.nova-2-lite-v1:0"


def test_nova_2_lite_in_us_east_1_is_the_only_rft_base_model() -> None:
    found = models.rft_families()
    assert [f.customization_id for f in found] == ["amazon.nova-2-lite-v1:0:256k"]
    assert found[0].regions == ("us-east-1",)
    assert "rft-nova-models.html" in found[0].source and "read 2026-12-02" in found[0].source
    assert "amazon.nova-2-lite-v1:0 (us-east-1)" in models.alternatives(
        models.REINFORCEMENT_FINE_TUNING
    )


def test_values_come_back_as_numbers_not_strings() -> None:
    got = models.check_rft_hyperparameters(
        f"us.{NOVA2}",
        {
            "epochCount": "3",
            "batchSize": 64.0,
            "learningRate": "1e-5",
            "maxPromptLength": 4096,
            "trainingSamplePerPrompt": 4,
            "inferenceMaxTokens": "2048",
            "reasoningEffort": " Medium ",
            "evalInterval": 10,
        },
    )
    assert got == {
        "epochCount": 3,
        "batchSize": 64,
        "learningRate": 1e-5,
        "maxPromptLength": 4096,
        "trainingSamplePerPrompt": 4,
        "inferenceMaxTokens": 2048,
        "reasoningEffort": "medium",
        "evalInterval": 10,
    }
    assert type(got["epochCount"]) is int and type(got["learningRate"]) is float


def test_nothing_given_means_nothing_sent() -> None:
    # No default is documented: Bedrock chooses, the workshop invents none.
    assert models.check_rft_hyperparameters(NOVA2, {}) == {}


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        ({"epochCount": 0}, ["epochCount=0", "out of range", "1 to 50"]),
        ({"epochCount": 51}, ["epochCount=51", "1 to 50"]),
        ({"batchSize": 8}, ["batchSize=8", "16 to 512"]),
        ({"learningRate": 0.01}, ["learningRate=0.01", "1e-07 to 0.001"]),
        ({"trainingSamplePerPrompt": 1}, ["2 to 16"]),
        ({"evalInterval": 101}, ["1 to 100"]),
        ({"epochCount": 2.5}, ["whole number"]),
        ({"epochCount": True}, ["not a number"]),
        ({"learningRate": "fast"}, ["not a number"]),
        ({"learningRate": float("nan")}, ["finite"]),
        ({"maxPromptLength": 0}, ["at least 1", "no range documented"]),
        ({"reasoningEffort": "extreme"}, ["'low', 'medium', 'high'"]),
        ({"reasoningEffort": 2}, ["not allowed"]),
    ],
)
def test_bad_values_name_the_parameter_the_range_and_the_source(
    values: dict[str, object], needles: list[str]
) -> None:
    with pytest.raises(WorkshopError) as err:
        models.check_rft_hyperparameters(NOVA2, values)
    text = str(err.value)
    for needle in [*needles, "API_RFTHyperParameters.html", "read 2026-12-02"]:
        assert needle in text


def test_unknown_names_and_models_without_rft_are_refused() -> None:
    with pytest.raises(WorkshopError, match="no hyperparameter learningRateWarmupSteps"):
        models.check_rft_hyperparameters(NOVA2, {"learningRateWarmupSteps": 5})
    with pytest.raises(WorkshopError, match="no reinforcement fine-tuning for Amazon Nova Micro"):
        models.check_rft_hyperparameters("amazon.nova-micro-v1:0", {})


def test_the_string_checker_sends_rft_to_its_own() -> None:
    with pytest.raises(WorkshopError, match="check_rft_hyperparameters"):
        models.check_hyperparameters(NOVA2, {}, models.REINFORCEMENT_FINE_TUNING)


def test_ranges_and_types_match_botocore() -> None:
    shape = (
        botocore.session.get_session().get_service_model("bedrock").shape_for("RFTHyperParameters")
    )
    ours = {h.name: h for h in models.RFT_HYPERPARAMETERS}
    assert set(ours) == set(shape.members)
    for name, member in shape.members.items():
        spec = ours[name]
        if member.type_name == "string":
            assert spec.choices == tuple(member.enum), name
            continue
        assert spec.integer == (member.type_name == "integer"), name
        if "min" in member.metadata:
            assert (spec.minimum, spec.maximum) == (
                member.metadata["min"],
                member.metadata["max"],
            ), name
        else:  # botocore gives no range: the workshop's floor of 1 is its own, and says so
            assert spec.maximum is None and spec.minimum == 1 and spec.note, name


def test_the_table_shows_every_setting_with_its_allowed_values() -> None:
    table = models.rft_hyperparameter_table()
    assert list(table.index) == [h.name for h in models.RFT_HYPERPARAMETERS]
    assert table.loc["batchSize", "allowed"] == "a whole number from 16 to 512"
    assert table.loc["reasoningEffort", "allowed"] == "one of 'low', 'medium', 'high'"
    assert "no range documented" in table.loc["inferenceMaxTokens", "note"]
