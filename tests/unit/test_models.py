"""The model registry: lookups and hyperparameter checks before any call."""

from __future__ import annotations

import pytest

from utils import inference, models
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


def _families_by_format() -> list[models.ModelFamily]:
    return list({fam.invoke_format: fam for fam in models.FAMILIES}.values())


@pytest.mark.parametrize("fam", models.FAMILIES, ids=lambda f: f.key)
def test_invoke_model_body_round_trips_and_agrees_with_converse(
    before_retirements: object, fam: models.ModelFamily
) -> None:
    import json

    from utils import clients

    system = "You summarize dialogues." if fam.converse_system else None
    prompt = (
        "Summarize the following conversation.\n\n#Person1#: The printer on floor two is "
        "jammed again.\n#Person2#: I will call the technician this afternoon."
    )
    body = models.invoke_request(fam.model_id, prompt, system=system, max_tokens=60)
    runtime = clients.client("bedrock-runtime")
    model_id = inference.runtime_id(fam.model_id)  # a profile where the bare id is refused
    raw = runtime.invoke_model(modelId=model_id, body=json.dumps(body))
    text = models.invoke_text(fam.model_id, json.loads(raw["body"].read()))
    request = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": 60},
    }
    if system:
        request["system"] = [{"text": system}]
    conversed = runtime.converse(**request)["output"]["message"]["content"][0]["text"]
    # The same local base model answers both ways, so the two paths must agree exactly.
    assert text == conversed and text


@pytest.mark.parametrize("fam", _families_by_format(), ids=lambda f: f.invoke_format)
def test_a_body_of_another_family_is_refused(
    before_retirements: object, fam: models.ModelFamily
) -> None:
    import json

    from botocore.exceptions import ClientError

    from utils import clients

    other = next(f for f in models.FAMILIES if f.invoke_format != fam.invoke_format)
    body = models.invoke_request(other.model_id, "Hello there.")
    with pytest.raises(ClientError) as caught:
        clients.client("bedrock-runtime").invoke_model(
            modelId=inference.runtime_id(fam.model_id), body=json.dumps(body)
        )
    assert fam.invoke_format in caught.value.response["Error"]["Message"]


def test_llama_prompts_use_the_chat_template() -> None:
    body = models.invoke_request("meta.llama3-1-8b-instruct-v1:0", "Hi?", system="Be brief.")
    assert body["prompt"] == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_titan_takes_no_system_prompt(before_retirements: object) -> None:
    from botocore.exceptions import ClientError

    from utils import clients

    with pytest.raises(WorkshopError):
        models.invoke_request("amazon.titan-text-lite-v1", "Hi", system="Be brief.")
    with pytest.raises(ClientError) as caught:
        clients.client("bedrock-runtime").converse(
            modelId="amazon.titan-text-lite-v1",
            system=[{"text": "Be brief."}],
            messages=[{"role": "user", "content": [{"text": "Hi"}]}],
        )
    assert "does not support system messages" in caught.value.response["Error"]["Message"]


def test_invocation_table_describes_every_family() -> None:
    table = models.invocation_table()
    assert list(table.index) == [f.name for f in models.FAMILIES]
    assert table.loc["Anthropic Claude 3 Haiku", "invoke_model response"].startswith("content[]")
    assert table.loc["Amazon Nova Micro", "serving"] == "on demand or provisioned"
    assert table.loc["Amazon Titan Text G1 - Lite", "converse"] == "yes, without system prompt"


def test_inference_invoke_sends_the_family_body_and_explains_a_mismatch(
    before_retirements: object,
) -> None:
    from utils import inference

    body, text = inference.invoke("anthropic.claude-3-haiku-20240307-v1:0", "Hi there", system="X")
    assert body["anthropic_version"] == "bedrock-2023-05-31" and body["system"] == "X"
    assert text
    with pytest.raises(WorkshopError) as caught:
        inference.invoke("amazon.nova-micro-v1:0", "Hi", family_model="amazon.titan-text-lite-v1")
    assert "family_model" in str(caught.value) and "nova-messages-v1" in str(caught.value)


def test_distillation_pairs_teach_down_and_refuse_the_rest() -> None:
    from standin import learner

    for teacher, students in models.DISTILLATION_TEACHERS.items():
        retired = models.TEACHER_LIFECYCLE[teacher].status() == models.EOL
        for student in students:
            if retired:
                with pytest.raises(WorkshopError, match="reached end of life"):
                    models.check_distillation_pair(teacher, student)
            else:
                models.check_distillation_pair(teacher, student)
            assert models.DISTILLATION in models.family(student).customizations
            # The stand-in's teacher must really be stronger than its student's base.
            assert retired or learner.model_tier(teacher) > learner.model_tier(student)
    with pytest.raises(WorkshopError) as caught:
        models.check_distillation_pair("amazon.nova-pro-v1:0", "meta.llama3-1-8b-instruct-v1:0")
    assert "amazon.nova-pro-v1:0 teaches amazon.nova-lite-v1:0" in str(caught.value)
    with pytest.raises(WorkshopError):
        models.check_distillation_pair("amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0")


def test_content_text_reads_strings_and_text_blocks_only() -> None:
    assert models.content_text("plain") == "plain"
    blocks = [{"text": "first"}, {"image": {"format": "png"}}, {"text": "second"}, "stray"]
    assert models.content_text(blocks) == "first\nsecond"
    assert models.content_text(None) == ""


def _chart_png() -> bytes:
    from utils import charts

    return charts.make_examples(1, seed=5)[0].png


@pytest.mark.parametrize(
    "fam",
    [f for f in models.FAMILIES if "IMAGE" in f.input_modalities],
    ids=lambda f: f.key,
)
def test_invoke_model_with_an_image_agrees_with_converse(
    before_retirements: object, fam: models.ModelFamily
) -> None:
    import base64
    import json

    from utils import clients

    png, prompt = _chart_png(), "Describe this chart in one sentence."
    body = models.invoke_request(fam.model_id, prompt, max_tokens=60, images=[png])
    encoded = base64.b64encode(png).decode()
    if fam.invoke_format == models.NOVA_MESSAGES:
        image = body["messages"][0]["content"][0]["image"]
        assert image == {"format": "png", "source": {"bytes": encoded}}
    else:
        assert body["images"] == [encoded] and models.LLAMA_IMAGE_TOKEN + prompt in body["prompt"]
    runtime = clients.client("bedrock-runtime")
    model_id = inference.runtime_id(fam.model_id)  # a profile where the bare id is refused
    raw = runtime.invoke_model(modelId=model_id, body=json.dumps(body))
    text = models.invoke_text(fam.model_id, json.loads(raw["body"].read()))
    image_block = {"image": {"format": "png", "source": {"bytes": png}}}
    conversed = runtime.converse(
        modelId=model_id,
        messages=[{"role": "user", "content": [image_block, {"text": prompt}]}],
        inferenceConfig={"maxTokens": 60},
    )["output"]["message"]["content"][0]["text"]
    # Both paths show the local model the same pixels, so they must answer alike.
    assert text == conversed
    plain = runtime.invoke_model(
        modelId=model_id,
        body=json.dumps(models.invoke_request(fam.model_id, prompt, max_tokens=60)),
    )
    assert models.invoke_text(fam.model_id, json.loads(plain["body"].read())) != text


def test_images_for_a_text_only_model_are_refused_on_both_sides(
    before_retirements: object,
) -> None:
    import json

    from botocore.exceptions import ClientError

    from utils import clients, inference

    png = _chart_png()
    with pytest.raises(WorkshopError) as caught:
        models.invoke_request("amazon.nova-micro-v1:0", "What is this?", images=[png])
    assert "reads text only" in caught.value.problem
    with pytest.raises(WorkshopError):
        inference.invoke("amazon.titan-text-lite-v1", "What is this?", images=[png])
    # A body built by hand reaches the stand-in, which refuses as Bedrock does.
    body = models.invoke_request("amazon.nova-lite-v1:0", "What is this?", images=[png])
    runtime = clients.client("bedrock-runtime")
    with pytest.raises(ClientError) as refused:
        runtime.invoke_model(modelId="amazon.nova-micro-v1:0", body=json.dumps(body))
    assert "does not take images" in refused.value.response["Error"]["Message"]
    body["messages"][0]["content"][0]["image"]["source"]["bytes"] = "not base64!"
    with pytest.raises(ClientError) as broken:
        runtime.invoke_model(modelId="amazon.nova-lite-v1:0", body=json.dumps(body))
    assert "not valid base64" in broken.value.response["Error"]["Message"]
    llama = models.invoke_request("meta.llama3-2-11b-instruct-v1:0", "What?", images=[png])
    llama["images"] = [None]
    with pytest.raises(ClientError) as missing:
        runtime.invoke_model(
            modelId=inference.runtime_id("meta.llama3-2-11b-instruct-v1:0"), body=json.dumps(llama)
        )
    assert "not valid base64" in missing.value.response["Error"]["Message"]
    with pytest.raises(WorkshopError) as not_image:
        models.invoke_request("amazon.nova-lite-v1:0", "What is this?", images=[b"GIF? no"])
    assert "not PNG, JPEG, GIF or WebP" in not_image.value.problem


def test_shorten_images_keeps_the_body_but_not_the_pixels() -> None:
    png = _chart_png()
    nova = models.invoke_request("amazon.nova-lite-v1:0", "What is it?", images=[png])
    short = models.shorten_images(nova)
    block = short["messages"][0]["content"][0]["image"]
    assert block["format"] == "png" and block["source"]["bytes"].endswith("characters of base64>")
    assert short["messages"][0]["content"][1] == {"text": "What is it?"}
    assert nova["messages"][0]["content"][0]["image"]["source"]["bytes"] != block["source"]["bytes"]
    llama = models.invoke_request("meta.llama3-2-11b-instruct-v1:0", "What?", images=[png, png])
    assert (
        models.shorten_images(llama)["images"]
        == [f"<{len(llama['images'][0]):,} characters of base64>"] * 2
    )
    assert llama["prompt"].count(models.LLAMA_IMAGE_TOKEN) == 2
