"""The stand-in's Bedrock catalog: every fact sourced, ids in botocore's shapes, rules enforced."""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import botocore.session
import pytest

from standin import catalog
from standin.catalog import (
    ACTIVE,
    CONTINUED_PRE_TRAINING,
    DISTILLATION,
    EOL,
    FINE_TUNING,
    INFERENCE_PROFILE,
    LEGACY,
    ON_DEMAND,
    REINFORCEMENT_FINE_TUNING,
    CatalogError,
    Source,
)

BEDROCK = botocore.session.get_session().get_service_model("bedrock")
RUNTIME = botocore.session.get_session().get_service_model("bedrock-runtime")
DAY = datetime.date.fromisoformat


def pattern(shape: str, model=BEDROCK) -> re.Pattern[str]:
    return re.compile(model.shape_for(shape).metadata["pattern"])


def enum(shape: str) -> list[str]:
    return BEDROCK.shape_for(shape).enum


def model(model_id: str) -> catalog.FoundationModel:
    found = catalog.find(model_id)
    assert found is not None, model_id
    return found


def all_sources() -> list[tuple[str, Source]]:
    """Every Source in the catalog, labelled with the fact it backs."""
    found: list[tuple[str, Source]] = []
    for m in catalog.MODELS:
        found.append((m.model_id, m.source))
        found += [(f"{m.model_id} inference", s) for s in (m.inference_source,) if s]
        found += [(f"{m.model_id} serving", s) for s in (m.serving_source,) if s]
        found += [(f"{m.model_id} {r}", lc.source) for r, lc in m.lifecycle.items()]
        if m.customization:
            found.append((m.customization.customization_id, m.customization.source))
    for key, specs in catalog.HYPERPARAMETERS.items():
        found += [(f"{key} {spec.name}", spec.source) for spec in specs]
    found += [(p.profile_id, p.source) for p in catalog.INFERENCE_PROFILES]
    found += [(f"account {k}", a.source) for k, a in catalog.ACCOUNTS.items()]
    found += [(f"message {k}", m.source) for k, m in catalog.MESSAGES.items()]
    found += [
        ("distillation pairs", catalog.DISTILLATION_SOURCE),
        ("distillation limits", catalog.DISTILLATION_LIMITS_SOURCE),
        ("distillation hyperparameters", catalog.DISTILLATION_HYPERPARAMETERS_SOURCE),
        ("rft limits", catalog.RFT_LIMITS_SOURCE),
        ("batch", catalog.BATCH_INFERENCE_SOURCE),
        ("quota names", catalog.QUOTA_NAMES_SOURCE),
    ]
    return found


# ------------------------------------------------------------------ sources


def test_every_fact_names_a_source_read_on_the_checked_date() -> None:
    sources = all_sources()
    assert len(sources) > 60
    for label, source in sources:
        assert isinstance(source, Source), label
        assert source.page.strip(), label
        assert source.read == catalog.CHECKED == "2026-12-01", label


def test_every_model_has_lifecycle_in_each_of_its_regions() -> None:
    for m in catalog.MODELS:
        assert set(m.lifecycle) == set(m.regions), m.model_id
        assert set(m.regions) <= set(catalog.REGIONS)
        assert m.on_demand_regions <= m.regions


def test_catalog_imports_nothing_from_the_workshop() -> None:
    text = Path(catalog.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+utils\b", text, re.MULTILINE)


# ------------------------------------------------------------------ botocore shapes


def test_model_ids_match_botocore_patterns() -> None:
    model_id = pattern("ModelIdentifier")
    summary_id = pattern("BedrockModelId")
    arn = pattern("FoundationModelArn")
    runtime_id = pattern("InvokeModelIdentifier", RUNTIME)
    for m in catalog.MODELS:
        assert model_id.fullmatch(m.model_id), m.model_id
        assert summary_id.fullmatch(m.model_id), m.model_id
        assert runtime_id.fullmatch(m.model_id), m.model_id
        for region in m.regions:
            assert arn.fullmatch(m.arn(region)), m.arn(region)


def test_customization_ids_match_base_model_identifier() -> None:
    base = pattern("BaseModelIdentifier")
    customizable = [m for m in catalog.MODELS if m.customization]
    assert len(customizable) == 13
    for m in customizable:
        assert base.fullmatch(m.customization.customization_id), m.model_id
        assert m.customization.customization_id.startswith(m.model_id + ":")


def test_profile_ids_and_arns_match_botocore_patterns() -> None:
    profile_id = pattern("InferenceProfileId")
    profile_arn = pattern("InferenceProfileArn")
    model_arn = pattern("FoundationModelArn")
    runtime_id = pattern("ConversationalModelId", RUNTIME)
    for p in catalog.INFERENCE_PROFILES:
        assert profile_id.fullmatch(p.profile_id), p.profile_id
        assert runtime_id.fullmatch(p.profile_id), p.profile_id
        assert profile_arn.fullmatch(p.arn("us-east-1", "123456789012"))
        assert all(model_arn.fullmatch(a) for a in p.model_arns), p.profile_id
        assert len(p.model_arns) == len(p.regions) * len(p.model_ids)
        assert {"us-east-1", "us-west-2"} <= set(p.regions)
        assert all(catalog.find(mid) for mid in p.model_ids)


def test_teacher_and_student_ids_match_botocore_patterns() -> None:
    teacher = pattern("TeacherModelIdentifier")
    base = pattern("BaseModelIdentifier")
    for teacher_id, students in catalog.DISTILLATION_PAIRS.items():
        assert teacher.fullmatch(teacher_id)
        for student in students:
            custom = model(student).customization
            assert custom and DISTILLATION in custom.types, student
            assert base.fullmatch(custom.customization_id)


def test_customization_types_are_botocore_enum_values() -> None:
    allowed = set(enum("CustomizationType"))
    listed = set(enum("ModelCustomization"))
    seen = set()
    for m in catalog.MODELS:
        if m.customization:
            assert m.customization.types <= allowed, m.model_id
            assert set(m.customization.data_formats) == m.customization.types, m.model_id
            seen |= m.customization.types
    assert seen == {FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING}
    # ListFoundationModels' filter enum has no RFT, so it cannot be listed that way.
    assert REINFORCEMENT_FINE_TUNING not in listed
    assert seen - {REINFORCEMENT_FINE_TUNING} <= listed


def test_lifecycle_statuses_follow_botocore_spelling() -> None:
    # botocore only knows ACTIVE and LEGACY; an EOL model is simply no longer listed.
    assert enum("FoundationModelLifecycleStatus") == [ACTIVE, LEGACY]
    assert EOL not in enum("FoundationModelLifecycleStatus")
    for m in catalog.MODELS:
        for lc in m.lifecycle.values():
            assert lc.status in {ACTIVE, LEGACY, EOL}
            assert lc.status == lc.status_on(DAY(catalog.CHECKED)), m.model_id


def test_inference_types_use_botocore_names_plus_inference_profile() -> None:
    # INFERENCE_PROFILE is what ListFoundationModels returns, though botocore's enum lacks it.
    assert INFERENCE_PROFILE not in enum("InferenceType")
    allowed = {*enum("InferenceType"), INFERENCE_PROFILE}
    for m in catalog.MODELS:
        assert m.inference_types <= allowed, m.model_id
        assert m.custom_serving <= {catalog.ON_DEMAND_DEPLOYMENT, catalog.PROVISIONED}


def test_modalities_are_known_values() -> None:
    # VIDEO is returned by the service for Nova even though botocore's enum stops at EMBEDDING.
    known = {*enum("ModelModality"), "VIDEO"}
    for m in catalog.MODELS:
        assert set(m.input_modalities) <= known
        assert m.output_modalities == ("TEXT",)


def test_rft_ranges_equal_botocore_rft_hyperparameters() -> None:
    shape = BEDROCK.shape_for("RFTHyperParameters")
    specs = {
        s.name: s
        for s in catalog.hyperparameters("amazon.nova-2-lite-v1:0", "REINFORCEMENT_FINE_TUNING")
    }
    assert set(specs) == set(shape.members)
    for name, member in shape.members.items():
        spec = specs[name]
        if getattr(member, "enum", None):
            assert list(spec.choices) == member.enum
            continue
        assert spec.integer == (member.type_name == "integer"), name
        if "min" in member.metadata:
            assert spec.minimum == member.metadata["min"], name
            assert spec.maximum == member.metadata["max"], name
        else:
            assert spec.maximum is None, name


# ------------------------------------------------------------------ hyperparameters


def test_defaults_are_filled_as_bedrock_strings() -> None:
    assert catalog.check_hyperparameters("amazon.nova-micro-v1:0:128k", FINE_TUNING, {}) == {
        "epochCount": "2",
        "learningRate": "1e-05",
        "learningRateWarmupSteps": "10",
    }
    filled = catalog.check_hyperparameters(
        "anthropic.claude-3-haiku-20240307-v1:0", FINE_TUNING, {"epochCount": 4}
    )
    assert filled == {
        "epochCount": "4",
        "batchSize": "32",
        "learningRateMultiplier": "1.0",
        "earlyStoppingThreshold": "0.001",
        "earlyStoppingPatience": "2",
    }


def test_given_values_are_formatted_as_strings() -> None:
    got = catalog.check_hyperparameters(
        "amazon.titan-text-express-v1",
        CONTINUED_PRE_TRAINING,
        {"epochCount": "3", "batchSize": 8, "learningRate": 0.00002, "learningRateWarmupSteps": 0},
    )
    assert got == {
        "epochCount": "3",
        "batchSize": "8",
        "learningRate": "2e-05",
        "learningRateWarmupSteps": "0",
    }


@pytest.mark.parametrize(
    "model_id, name, value",
    [
        ("amazon.nova-micro-v1:0", "epochCount", 6),
        ("amazon.nova-micro-v1:0", "epochCount", 0),
        ("amazon.nova-lite-v1:0:300k", "learningRate", "0.001"),
        ("meta.llama3-1-8b-instruct-v1:0", "batchSize", 2),
        ("anthropic.claude-3-haiku-20240307-v1:0", "earlyStoppingThreshold", 0.2),
        ("amazon.titan-text-lite-v1", "learningRateWarmupSteps", 251),
    ],
)
def test_out_of_range_values_are_refused(model_id: str, name: str, value: object) -> None:
    with pytest.raises(CatalogError, match=rf"{name} is out of range"):
        catalog.check_hyperparameters(model_id, FINE_TUNING, {name: value})


@pytest.mark.parametrize("value", [2.5, "2.5", "2.0", 2.0, True, "two", None])
def test_integer_hyperparameters_refuse_non_integers(value: object) -> None:
    with pytest.raises(CatalogError, match="epochCount"):
        catalog.check_hyperparameters("amazon.nova-pro-v1:0", FINE_TUNING, {"epochCount": value})


@pytest.mark.parametrize("value", ["fast", float("nan"), float("inf"), [1]])
def test_float_hyperparameters_refuse_non_numbers(value: object) -> None:
    with pytest.raises(CatalogError, match="must be a number"):
        catalog.check_hyperparameters("amazon.nova-pro-v1:0", FINE_TUNING, {"learningRate": value})


def test_unknown_names_are_refused() -> None:
    # Nova takes no batchSize on Bedrock, unlike Titan.
    with pytest.raises(CatalogError, match="batchSize are not supported"):
        catalog.check_hyperparameters("amazon.nova-micro-v1:0", FINE_TUNING, {"batchSize": "1"})


def test_distillation_takes_no_hyperparameters() -> None:
    assert catalog.hyperparameters("amazon.nova-lite-v1:0:300k", DISTILLATION) == ()
    assert catalog.check_hyperparameters("amazon.nova-lite-v1:0", DISTILLATION, {}) == {}
    with pytest.raises(CatalogError, match="epochCount are not supported"):
        catalog.check_hyperparameters("amazon.nova-lite-v1:0", DISTILLATION, {"epochCount": "2"})


def test_unsupported_customization_types_and_models_are_refused() -> None:
    with pytest.raises(CatalogError, match="does not support the customization type"):
        catalog.check_hyperparameters("amazon.nova-micro-v1:0", CONTINUED_PRE_TRAINING, {})
    with pytest.raises(CatalogError, match="does not support the customization type"):
        catalog.hyperparameters("amazon.nova-premier-v1:0", FINE_TUNING)
    with pytest.raises(CatalogError, match="not valid"):
        catalog.check_hyperparameters("amazon.nova-mega-v9:0", FINE_TUNING, {})


def test_rft_hyperparameters_are_numbers_with_no_defaults() -> None:
    got = catalog.rft_hyperparameters(
        "amazon.nova-2-lite-v1:0:256k",
        {"epochCount": "3", "learningRate": 1e-5, "reasoningEffort": "high"},
    )
    assert got == {"epochCount": 3, "learningRate": 1e-5, "reasoningEffort": "high"}
    assert catalog.rft_hyperparameters("amazon.nova-2-lite-v1:0", {}) == {}
    with pytest.raises(CatalogError, match="batchSize is out of range"):
        catalog.rft_hyperparameters("amazon.nova-2-lite-v1:0", {"batchSize": 8})
    with pytest.raises(CatalogError, match="Valid values are: low, medium, high"):
        catalog.rft_hyperparameters("amazon.nova-2-lite-v1:0", {"reasoningEffort": "max"})


def test_every_default_lies_within_its_own_range() -> None:
    for key, specs in catalog.HYPERPARAMETERS.items():
        for spec in specs:
            if spec.default is not None:
                assert spec.format(spec.default), (key, spec.name)
            if spec.minimum is not None and spec.maximum is not None:
                assert spec.minimum <= spec.maximum, (key, spec.name)


# ------------------------------------------------------------------ look-ups


def test_find_resolves_every_kind_of_identifier() -> None:
    micro = model("amazon.nova-micro-v1:0")
    assert catalog.find("amazon.nova-micro-v1:0:128k") is micro
    assert (
        catalog.find("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0") is micro
    )
    assert (
        catalog.find("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k")
        is micro
    )
    assert catalog.find("us.amazon.nova-micro-v1:0") is micro
    assert (
        catalog.find(
            "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-micro-v1:0"
        )
        is micro
    )
    assert catalog.find("global.amazon.nova-2-lite-v1:0").name == "Nova 2 Lite"
    assert catalog.find("amazon.nova-micro-v1") is None
    assert (
        catalog.find(
            "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdefghijkl"
        )
        is None
    )


def test_profile_resolves_ids_and_arns() -> None:
    found = catalog.profile("us.meta.llama3-2-11b-instruct-v1:0")
    assert found is not None
    assert found.model_ids == ("meta.llama3-2-11b-instruct-v1:0",)
    assert (
        "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-2-11b-instruct-v1:0"
        in found.model_arns
    )
    arn = found.arn("us-west-2", "123456789012")
    assert catalog.profile(arn) is found
    assert catalog.profile("meta.llama3-2-11b-instruct-v1:0") is None


def test_models_in_region() -> None:
    east = {m.model_id for m in catalog.models_in("us-east-1")}
    assert {"amazon.nova-micro-v1:0", "amazon.nova-2-lite-v1:0"} <= east
    assert catalog.models_in("eu-west-1") == []


# ------------------------------------------------------------------ lifecycle


def test_claude_3_haiku_reaches_end_of_life_on_2026_09_10() -> None:
    haiku = model("anthropic.claude-3-haiku-20240307-v1:0")
    for region in ("us-east-1", "us-west-2"):
        assert haiku.status_on(region, DAY("2026-09-10")) == EOL
        assert haiku.status_on(region, DAY("2026-12-01")) == EOL
        assert haiku.status_on(region, DAY("2026-09-09")) == LEGACY
        assert haiku.status_on(region, DAY("2026-01-01")) == ACTIVE
    assert haiku.lifecycle_in("us-east-1").end_of_life == "2026-09-10"
    assert "ResourceNotFoundException" in haiku.lifecycle_in("us-east-1").source.note
    assert catalog.MESSAGES["eol"].text == "This model version has reached the end of its life."


def test_lifecycle_of_other_models_as_of_the_checked_date() -> None:
    today = DAY(catalog.CHECKED)
    for model_id in (
        "amazon.nova-premier-v1:0",
        "meta.llama3-2-11b-instruct-v1:0",
        "amazon.titan-text-express-v1",
    ):
        assert model(model_id).status_on("us-east-1", today) == EOL, model_id
    assert model("amazon.nova-premier-v1:0").status_on("us-east-1", DAY("2026-06-01")) == LEGACY
    assert (
        model("meta.llama3-2-1b-instruct-v1:0").status_on("us-west-2", DAY("2026-07-06")) == LEGACY
    )
    for model_id in (
        "amazon.nova-micro-v1:0",
        "amazon.nova-2-lite-v1:0",
        "meta.llama3-1-8b-instruct-v1:0",
    ):
        assert model(model_id).status_on("us-west-2", today) == ACTIVE, model_id


def test_lifecycle_in_an_unmodelled_region_is_refused() -> None:
    with pytest.raises(CatalogError, match="not available in the Region eu-west-1"):
        model("amazon.nova-micro-v1:0").lifecycle_in("eu-west-1")


# ------------------------------------------------------------------ inference and serving


def test_llama_3_2_needs_an_inference_profile() -> None:
    for size in ("1b", "3b", "11b", "90b"):
        llama = model(f"meta.llama3-2-{size}-instruct-v1:0")
        assert ON_DEMAND not in llama.inference_types
        assert llama.inference_types == {INFERENCE_PROFILE}
        assert llama.needs_profile("us-east-1") and llama.needs_profile("us-west-2")
        assert catalog.profile(f"us.meta.llama3-2-{size}-instruct-v1:0") is not None
    assert (
        "langchain-aws/issues/258" in model("meta.llama3-2-3b-instruct-v1:0").inference_source.page
    )
    text = catalog.MESSAGES["needs_profile"].text.format(model_id="meta.llama3-2-3b-instruct-v1:0")
    assert "with on-demand throughput isn’t supported" in text


def test_which_other_models_need_a_profile() -> None:
    assert model("amazon.nova-2-lite-v1:0").needs_profile("us-east-1")
    assert model("amazon.nova-premier-v1:0").needs_profile("us-east-1")
    micro = model("amazon.nova-micro-v1:0")
    assert not micro.needs_profile("us-east-1")
    assert micro.needs_profile("us-west-2")
    assert not model("anthropic.claude-3-haiku-20240307-v1:0").needs_profile("us-west-2")


def test_how_custom_models_are_served() -> None:
    for model_id in ("amazon.nova-micro-v1:0", "amazon.nova-pro-v1:0", "amazon.nova-2-lite-v1:0"):
        assert catalog.ON_DEMAND_DEPLOYMENT in model(model_id).custom_serving
    for model_id in ("meta.llama3-1-8b-instruct-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"):
        assert model(model_id).custom_serving == {catalog.PROVISIONED}
    assert catalog.BATCH_INFERENCE_ON_PROVISIONED is False


def test_converse_system_prompt_and_invoke_formats() -> None:
    assert model("amazon.titan-text-lite-v1").converse_system is False
    assert model("amazon.nova-micro-v1:0").converse_system is True
    formats = {m.model_id: m.invoke_format for m in catalog.MODELS}
    assert formats["amazon.nova-2-lite-v1:0"] == catalog.NOVA_MESSAGES
    assert formats["anthropic.claude-3-haiku-20240307-v1:0"] == catalog.ANTHROPIC_MESSAGES
    assert formats["meta.llama3-1-70b-instruct-v1:0"] == catalog.LLAMA_PROMPT
    assert formats["amazon.titan-text-express-v1"] == catalog.TITAN_TEXT


def test_training_data_formats() -> None:
    assert model("amazon.nova-micro-v1:0").customization.data_formats == {
        FINE_TUNING: catalog.BEDROCK_CONVERSATION,
        DISTILLATION: catalog.BEDROCK_CONVERSATION,
    }
    titan = model("amazon.titan-text-lite-v1").customization
    assert titan.data_formats[CONTINUED_PRE_TRAINING] == catalog.CPT_INPUT
    assert titan.data_formats[FINE_TUNING] == catalog.PROMPT_COMPLETION
    haiku = model("anthropic.claude-3-haiku-20240307-v1:0").customization
    assert haiku.data_formats == {FINE_TUNING: catalog.CLAUDE_MESSAGES}
    assert haiku.regions == {"us-west-2"}
    nova2 = model("amazon.nova-2-lite-v1:0").customization
    assert nova2.customization_id == "amazon.nova-2-lite-v1:0:256k"
    assert REINFORCEMENT_FINE_TUNING in nova2.types


# ------------------------------------------------------------------ distillation, accounts


def test_distillation_pairs() -> None:
    assert catalog.DISTILLATION_PAIRS["amazon.nova-pro-v1:0"] == (
        "amazon.nova-lite-v1:0",
        "amazon.nova-micro-v1:0",
    )
    premier_students = catalog.DISTILLATION_PAIRS["amazon.nova-premier-v1:0"]
    assert "amazon.nova-pro-v1:0" in premier_students
    # Nova Pro is both a teacher and a student.
    assert DISTILLATION in model("amazon.nova-pro-v1:0").customization.types
    assert catalog.DISTILLATION_LIMITS == {"min_prompts": 100, "max_prompts": 15000}
    assert catalog.MAX_RESPONSE_LENGTH_FOR_INFERENCE == (None, None)


def test_new_account_has_no_model_units_and_no_legacy_access() -> None:
    new = catalog.ACCOUNTS["new"]
    assert new.kind == "new"
    assert new.quotas[catalog.CUSTOM_MODEL_UNITS] == 0
    assert new.quotas[catalog.BASE_MODEL_UNITS] == 0
    assert new.legacy_access is False
    established = catalog.ACCOUNTS["established"]
    assert established.legacy_access is True
    assert established.quotas[catalog.CUSTOM_MODEL_UNITS] > 0
    assert catalog.QUOTA_NAMES["L-BE77399C"] == (
        "Model units no-commitment Provisioned Throughputs across custom models"
    )


def test_facts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.MODELS[0].name = "changed"  # type: ignore[misc]
    assert hash(catalog.MODELS[0]) == hash(catalog.MODELS[0])


def test_table_has_one_row_per_model() -> None:
    rows = catalog.table()
    assert len(rows) == len(catalog.MODELS)
    assert set(rows[0]) == {
        "Model",
        "Model ID",
        "Regions",
        "Customization",
        "Lifecycle",
        "Custom models served by",
        "Source",
    }
    haiku = next(r for r in rows if r["Model ID"] == "anthropic.claude-3-haiku-20240307-v1:0")
    assert "us-east-1: EOL since 2026-09-10" in haiku["Lifecycle"]
    assert haiku["Custom models served by"] == "PROVISIONED"
