"""The workshop's registry (``utils.models``) against the stand-in's catalog (``standin.catalog``).

Both were written from their own reading of the sources. Every fact the workshop relies on is
compared; a difference fails unless :data:`ALLOWED` lists it with the reason, and an allowed
difference that has gone away fails too, so the list stays true.
"""

from __future__ import annotations

import datetime as dt

import pytest

from standin import catalog
from utils import clients, models

ALLOWED: dict[tuple[str, str], str] = {
    ("anthropic.claude-3-haiku-20240307-v1:0", "reads images"): (
        "Claude 3 Haiku reads images, but its fine-tuning data is text only, so the workshop "
        "sends it text only."
    ),
    ("amazon.titan-text-express-v1", "end_of_life"): (
        "No AWS page dates Titan Text's end of life. The workshop takes the earliest public "
        "report for both Titan models (2025-12-18); the stand-in takes a report per model "
        "(Express: 2025-12-29). Both say end of life as of the check."
    ),
}


def _compare(found: dict[tuple[str, str], tuple[object, object]]) -> None:
    unexpected = {k: v for k, v in found.items() if k not in ALLOWED}
    assert unexpected == {}
    stale = sorted(set(ALLOWED) - set(found))
    assert stale == [], "these allowed differences are gone: remove them from ALLOWED"


def _differences() -> dict[tuple[str, str], tuple[object, object]]:
    found: dict[tuple[str, str], tuple[object, object]] = {}
    day = dt.date.fromisoformat(models.CHECKED)

    def differ(fam: models.ModelFamily, what: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            found[(fam.model_id, what)] = (ours, theirs)

    for fam in models.FAMILIES:
        model = catalog.find(fam.model_id)
        assert model is not None and model.customization is not None, fam.model_id
        custom = model.customization
        differ(fam, "customization id", fam.customization_id, custom.customization_id)
        differ(fam, "customization types", set(fam.customizations), set(custom.types))
        differ(fam, "regions", set(fam.regions), set(custom.regions))
        for region in fam.regions:
            differ(fam, f"lifecycle {region}", fam.life.status(), model.status_on(region, day))
            ends = (fam.life.end_of_life, model.lifecycle_in(region).end_of_life)
            if all(ends):
                differ(fam, "end_of_life", *ends)
        differ(fam, "invoke format", fam.invoke_format, model.invoke_format)
        differ(fam, "converse system prompt", fam.converse_system, model.converse_system)
        differ(
            fam, "reads images", "IMAGE" in fam.input_modalities, "IMAGE" in model.input_modalities
        )
        differ(
            fam,
            "on-demand deployment",
            fam.on_demand_deployment,
            catalog.ON_DEMAND_DEPLOYMENT in model.custom_serving,
        )
        # Where the workshop customizes the family, its base model must be called the way
        # the stand-in serves it: through a profile wherever the bare id is refused.
        refused = any(model.needs_profile(r) for r in fam.regions)
        differ(fam, "calls by a refused bare id", refused and fam.profile is None, False)
        if fam.profile:
            differ(
                fam, "profile", fam.profile, fam.profile if catalog.profile(fam.profile) else None
            )
        if models.REINFORCEMENT_FINE_TUNING in fam.customizations:
            # Numbers, not strings, and no defaults: compared by bounds, kind and choices.
            ours_rft = {
                h.name: (h.minimum, h.maximum, h.integer, h.choices)
                for h in models.RFT_HYPERPARAMETERS
            }
            theirs_rft = {
                h.name: (h.minimum, h.maximum, h.integer, tuple(h.choices))
                for h in catalog.hyperparameters(
                    fam.customization_id, catalog.REINFORCEMENT_FINE_TUNING
                )
            }
            differ(fam, "hyperparameters REINFORCEMENT_FINE_TUNING", ours_rft, theirs_rft)
        for ctype in sorted(
            fam.customizations - {models.DISTILLATION, models.REINFORCEMENT_FINE_TUNING}
        ):
            ours = {
                h.name: (h.default, h.minimum, h.maximum, h.integer) for h in fam.hyperparameters
            }
            theirs = {
                h.name: (h.default, h.minimum, h.maximum, h.integer)
                for h in catalog.hyperparameters(fam.customization_id, ctype)
            }
            differ(fam, f"hyperparameters {ctype}", ours, theirs)
        if models.DISTILLATION in fam.customizations:
            differ(
                fam,
                "distillation hyperparameters",
                [],
                list(catalog.hyperparameters(fam.customization_id, catalog.DISTILLATION)),
            )
    return found


def test_the_registry_and_the_standin_catalog_agree_or_say_why_not() -> None:
    _compare(_differences())


def test_distillation_pairs_and_teacher_lifecycles_agree() -> None:
    ours = {t: set(s) for t, s in models.DISTILLATION_TEACHERS.items()}
    assert ours == {t: set(s) for t, s in catalog.DISTILLATION_PAIRS.items()}
    day = dt.date.fromisoformat(models.CHECKED)
    for teacher, life in models.TEACHER_LIFECYCLE.items():
        model = catalog.find(teacher)
        assert model is not None
        assert life.status() == model.status_on("us-east-1", day), teacher


def test_both_sides_check_the_same_day_and_mark_local_answers_the_same_way() -> None:
    from standin import server

    assert models.CHECKED == catalog.CHECKED
    assert clients.LOCAL_MARKER_HEADER == server.LOCAL_MARKER_HEADER


def test_every_fact_of_the_registry_names_its_source() -> None:
    for fam in models.FAMILIES:
        assert "read 2026-" in fam.source, fam.model_id  # ids, Regions, format, ranges
        assert fam.life.source, fam.model_id
        assert "2026-" in fam.life.source or "read" in fam.life.source, fam.model_id
    for teacher, life in models.TEACHER_LIFECYCLE.items():
        assert life.source, teacher


@pytest.mark.parametrize("fam", models.FAMILIES, ids=lambda f: f.key)
def test_the_standin_lists_each_live_family_where_the_registry_says(
    aws: object, fam: models.ModelFamily
) -> None:
    # Through the API, not the module: what a preflight would see.
    for region in ("us-east-1", "us-west-2"):
        listed = {
            m["modelId"]
            for m in clients.client("bedrock", region).list_foundation_models(
                byCustomizationType="FINE_TUNING"
            )["modelSummaries"]
        }
        expected = fam.life.status() != models.EOL and region in fam.regions
        assert (fam.customization_id in listed) == expected, (fam.model_id, region)
