"""Generated names satisfy Bedrock's name patterns, and the stand-in enforces those patterns."""

from __future__ import annotations

import re

import botocore.session
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from standin import StandIn
from tests.helpers import conversation, make_bucket, make_role, put_jsonl
from utils import clients
from utils.naming import unique_name

_BEDROCK = botocore.session.get_session().get_service_model("bedrock")
NAME_FIELDS = [
    ("CreateModelCustomizationJob", "jobName"),
    ("CreateModelCustomizationJob", "customModelName"),
    ("CreateModelCustomizationJob", "clientRequestToken"),
    ("CreateProvisionedModelThroughput", "provisionedModelName"),
    ("CreateCustomModelDeployment", "modelDeploymentName"),
    ("CreateModelInvocationJob", "jobName"),
    ("CreateModelInvocationJob", "clientRequestToken"),
]
PATTERNS = {
    f"{op}.{field}": re.compile(
        _BEDROCK.operation_model(op).input_shape.members[field].metadata["pattern"]
    )
    for op, field in NAME_FIELDS
}


@given(
    prefix=st.text(min_size=0, max_size=80),
    workshop_id=st.from_regex(r"ws[0-9a-f]{6}", fullmatch=True),
)
def test_every_generated_name_fits_every_bedrock_name_pattern(
    prefix: str, workshop_id: str
) -> None:
    name = unique_name(prefix, workshop_id)
    assert 1 <= len(name) <= 63
    broken = [where for where, pattern in PATTERNS.items() if not pattern.fullmatch(name)]
    assert broken == [], name


@pytest.mark.parametrize(
    "prefix",
    ["fine-tuning-model", "a" * 40 + "-" + "b" * 30, "distil_student--x", "---", "dots.and spaces"],
)
def test_awkward_prefixes_keep_their_words_and_never_double_a_separator(prefix: str) -> None:
    name = unique_name(prefix, "ws1a2b3c")
    assert "--" not in name and not name.startswith("-") and not name.endswith("-")
    assert "ws1a2b3c" in name
    words = re.findall(r"[a-zA-Z0-9]+", prefix)
    if words:
        assert name.startswith(words[0][:20])


def test_the_standin_refuses_a_custom_model_name_with_two_hyphens(aws: StandIn) -> None:
    bucket = make_bucket()
    data = put_jsonl(bucket, "train.jsonl", [conversation(f"Q{i}", f"A{i}") for i in range(20)])
    request = {
        "jobName": "name-check",
        "customModelName": "model--x",
        "roleArn": make_role(),
        "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
        "trainingDataConfig": {"s3Uri": data},
        "outputDataConfig": {"s3Uri": f"s3://{bucket}/out/"},
    }
    bedrock = clients.client("bedrock")
    with pytest.raises(ClientError) as caught:
        bedrock.create_model_customization_job(**request)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "'model--x' at 'customModelName'" in error["Message"]
    assert "regular expression pattern: ([0-9a-zA-Z][_-]?){1,63}" in error["Message"]
    request["customModelName"] = unique_name("model--x", "ws1a2b3c")
    assert bedrock.create_model_customization_job(**request)["jobArn"]
