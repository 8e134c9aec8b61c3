"""Asking a model something through the Bedrock ``converse`` API, base or custom alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from utils import clients
from utils.errors import WorkshopError, explain


@dataclass(frozen=True)
class Answer:
    """A model's reply and where it came from."""

    model: str
    text: str
    local: bool
    input_tokens: int
    output_tokens: int
    latency_ms: int


def is_local(response: dict[str, Any]) -> bool:
    """Whether a response came from the local stand-in rather than Amazon Bedrock."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return clients.LOCAL_MARKER_HEADER in headers


_PROFILES: dict[tuple[str | None, str, str], str] = {}
"""Profiles found, by endpoint (a stand-in's or None for AWS), Region and model id."""


def runtime_id(model_id: str) -> str:
    """The id to call a base model by on demand: an inference profile where it needs one.

    Some base models (Amazon Nova 2 Lite; Meta Llama 3.2 while it lived) answer on demand
    only through an inference profile; called by the bare id Bedrock refuses with
    "Invocation of model ID ... with on-demand throughput isn't supported"
    (langchain-ai/langchain-aws#258). The registry says which families need one, and
    ``list_inference_profiles`` names the profile that serves the model from this Region.
    ARNs (throughputs, deployments, profiles) and other ids are returned unchanged.
    """
    from utils import models

    if model_id.startswith("arn:"):
        return model_id
    family = models.find(model_id)
    if family is None or family.profile is None or model_id != family.model_id:
        return model_id
    region = clients.region()
    key = (clients.endpoint_override(), region, model_id)
    if key not in _PROFILES:
        try:
            pages = clients.client("bedrock").get_paginator("list_inference_profiles")
            found = [
                p["inferenceProfileId"]
                for page in pages.paginate(typeEquals="SYSTEM_DEFINED")
                for p in page["inferenceProfileSummaries"]
                if any(m.get("modelArn", "").endswith(f"/{model_id}") for m in p["models"])
            ]
        except ClientError as err:
            denied = (
                "Your principal needs bedrock:ListInferenceProfiles, or call the model through "
                f"its profile yourself ({family.profile})."
            )
            raise explain(
                err,
                "Listing inference profiles",
                {"AccessDeniedException": denied},
                default=f"Call the model through its profile yourself ({family.profile}).",
            ) from err
        if not found:
            raise WorkshopError(
                f"{family.name} is called on demand through an inference profile, and {region} "
                "lists none for it.",
                f"Use a Region whose profiles include it (the registry names {family.profile}).",
            )
        # A profile of the Region's own geography first (us., eu., ...), then global.
        found.sort(key=lambda pid: (pid.split(".", 1)[0] == "global", pid))
        _PROFILES[key] = found[0]
    return _PROFILES[key]


CONVERSE_FIXES = {
    "AccessDeniedException": (
        "Enable access to this model in the Bedrock console (Model access), or allow "
        "bedrock:InvokeModel on it for your principal."
    ),
    "ValidationException": "Check the model id and the request shown above.",
}
"""What to do when a call to a model is refused, where the generic fix says less."""


def converse(
    model_id: str,
    prompt: str,
    *,
    system: str | None = None,
    max_tokens: int = 512,
    temperature: float = 0.0,
) -> Answer:
    """One user turn to a model id, provisioned throughput ARN or deployment ARN.

    A base model that needs an inference profile is called through one (:func:`runtime_id`);
    :attr:`Answer.model` says which id answered.
    """
    model_id = runtime_id(model_id)
    request: dict[str, Any] = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": temperature},
    }
    if system:
        request["system"] = [{"text": system}]
    try:
        resp = clients.client("bedrock-runtime").converse(**request)
    except ClientError as err:
        raise explain(err, f"converse with {model_id}", CONVERSE_FIXES) from err
    text = "".join(c.get("text", "") for c in resp["output"]["message"]["content"])
    return Answer(
        model=model_id,
        text=text,
        local=is_local(resp),
        input_tokens=resp["usage"]["inputTokens"],
        output_tokens=resp["usage"]["outputTokens"],
        latency_ms=resp["metrics"]["latencyMs"],
    )


def side_by_side(
    models: dict[str, str],
    prompts: list[str],
    references: list[str] | None = None,
    *,
    system: str | None = None,
    max_tokens: int = 512,
) -> pd.DataFrame:
    """A table of each model's answer to each prompt (and the reference, when given).

    ``attrs["called_as"]`` maps each label to the id that answered (an inference profile
    where the bare id is refused) and ``attrs["local"]`` says whether any answer came from
    the local stand-in; :func:`say_if_local` reads it.
    """
    rows = []
    called_as: dict[str, str] = {}
    local = False
    for i, prompt in enumerate(prompts):
        row: dict[str, Any] = {"prompt": prompt}
        if references is not None:
            row["reference"] = references[i]
        for label, model_id in models.items():
            answer = converse(model_id, prompt, system=system, max_tokens=max_tokens)
            row[label] = answer.text
            called_as[label] = answer.model
            local = local or answer.local
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(called_as=called_as, local=local)
    return frame


LOCAL_NOTE = "NOTE: these answers come from the workshop's small LOCAL models, not Amazon Bedrock."


def say_if_local(*sources: Any) -> bool:
    """Print :data:`LOCAL_NOTE` when any answer in ``sources`` came from the stand-in.

    A source is a :func:`side_by_side` table, a :class:`utils.evaluation.EvaluationResult`,
    anything with a boolean ``local`` attribute, or a bool. The answers already carry the
    stand-in's marker, so no model is called to find out. Returns whether it printed.
    """
    for source in sources:
        if isinstance(source, pd.DataFrame):
            marked = bool(source.attrs.get("local"))
        elif isinstance(source, bool):
            marked = source
        else:
            marked = bool(getattr(source, "local", False))
        if marked:
            print(LOCAL_NOTE)
            return True
    return False


def invoke(
    model_id: str,
    prompt: str,
    *,
    family_model: str | None = None,
    system: str | None = None,
    max_tokens: int = 512,
    images: Sequence[bytes] = (),
) -> tuple[dict[str, Any], str]:
    """One ``invoke_model`` call in the body format of the model's family; (request, text).

    ``family_model`` names the base model when ``model_id`` is a provisioned throughput
    or deployment ARN, whose family the ARN does not tell. ``images`` are encoded image
    files shown with the prompt, for the families that read images.
    """
    import json

    from utils import models

    base = family_model or model_id
    model_id = runtime_id(model_id)
    body = models.invoke_request(base, prompt, system=system, max_tokens=max_tokens, images=images)
    try:
        resp = clients.client("bedrock-runtime").invoke_model(
            modelId=model_id, body=json.dumps(body)
        )
    except ClientError as err:
        # A body in another family's format is refused as malformed.
        wrong_family = "Check that family_model names the base model the endpoint serves."
        raise explain(
            err,
            f"invoke_model with {model_id}",
            {"ValidationException": wrong_family},
            default=wrong_family,
        ) from err
    return body, models.invoke_text(base, json.loads(resp["body"].read()))
