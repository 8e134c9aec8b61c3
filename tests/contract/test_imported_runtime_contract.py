"""The workshop's imported-model helpers against the stand-in's runtime, written apart.

utils.imported_inference holds the workshop's reading of the request and response formats;
standin/imported.py holds the stand-in's. Each answer is also checked against the same
weights run here with transformers, so neither side can agree with the other on a canned text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from standin import StandIn
from tests.helpers import TINY_LLAMA, save_tokenizer
from tests.standin.test_standin_model_import import CHAT_TEMPLATE
from utils import cleanup, clients, iam, imported, open_model, s3
from utils import imported_inference as ii
from utils.errors import WorkshopError
from utils.imported import ImportedModel
from utils.state import State

# Custom Model Import: no model units, no model a new account lacks (see tests/conftest.py).
pytestmark = pytest.mark.same_in_every_account

ACCOUNT = "123456789012"
REGION = "us-east-1"
PROMPT = "w3 w1 w4 w1 w5"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny Llama with a chat template, and one without (not instruct-capable)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("contract-models")
    made = {}
    for name, template in (("chat", CHAT_TEMPLATE), ("plain", None)):
        torch.manual_seed(7 if template else 8)
        LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).save_pretrained(root / name)
        save_tokenizer(root / name, template)
        made[name] = root / name
    return made


@pytest.fixture
def models(
    aws: StandIn, state: State, folders: dict[str, Path]
) -> Iterator[dict[str, ImportedModel]]:
    """Both folders imported through the workshop's own helpers, removed afterwards."""
    bedrock = aws.bedrock
    saved = bedrock.import_idle_seconds, bedrock.import_load_seconds
    bedrock.import_load_seconds = 0.2  # a cold start long enough to be seen
    bucket = s3.ensure_bucket("contract-import-bucket", REGION, state)
    role = iam.ensure_import_role("import-role", "import-policy", ACCOUNT, REGION, bucket, state)
    made = {}
    for name, folder in folders.items():
        job = imported.start_import(
            folder, state=state, bucket=bucket, role_arn=role, key=f"lesson-{name}", progress=False
        )
        made[name] = imported.wait_for_import(job, state, interval=0.05, progress=False)
    yield made
    cleanup.cleanup(state)
    bedrock.import_idle_seconds, bedrock.import_load_seconds = saved


def test_invoke_waits_out_the_cold_start_and_answers_with_the_folders_weights(
    models: dict[str, ImportedModel], folders: dict[str, Path]
) -> None:
    model = models["plain"]
    assert model.instruct_supported is False and models["chat"].instruct_supported is True
    body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=6)
    assert ii.default_format(model.architecture) == ii.BEDROCK_COMPLETION
    first = ii.invoke_with_backoff(model, body, first_delay=0.05, progress=False)
    assert first.attempts > 1 and first.waited_s > 0  # ModelNotReadyException, then an answer
    assert first.requests == first.attempts  # AWS_MAX_ATTEMPTS=1 here: the SDK retries nothing
    assert first.local is True
    assert set(first.payload) >= {"generation", "generation_token_count", "stop_reason"}
    weights, tokenizer = open_model.load(folders["plain"])
    assert first.text == open_model.generate(weights, tokenizer, PROMPT, max_new_tokens=6)
    assert first.payload["generation_token_count"] == len(tokenizer(first.text)["input_ids"])

    again = ii.invoke_with_backoff(model, body, first_delay=0.05, progress=False)
    assert again.attempts == 1 and again.text == first.text  # warm, greedy: the same answer
    other = ii.invoke_with_backoff(models["chat"], body, first_delay=0.05, progress=False)
    assert other.text != first.text  # another folder, another model


def test_the_stream_tells_the_same_answer_and_times_its_first_token(
    models: dict[str, ImportedModel],
) -> None:
    model = models["plain"]
    body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=6)
    whole = ii.invoke_with_backoff(model, body, first_delay=0.05, progress=False)
    streamed = ii.stream(model, body, progress=False)
    assert streamed.text == whole.text
    assert streamed.chunks >= 1 and streamed.output_tokens >= 1
    assert streamed.first_token_s is not None and 0 < streamed.first_token_s <= streamed.total_s


def test_converse_follows_instruct_support(models: dict[str, ImportedModel]) -> None:
    answer = ii.converse(models["chat"], "w2 w9", max_tokens=5, progress=False)
    assert answer.text and answer.local
    with pytest.raises(WorkshopError, match="invoke"):
        ii.converse(models["plain"], "w2 w9", max_tokens=5, progress=False)


def test_concurrency_levels_all_answer(models: dict[str, ImportedModel]) -> None:
    model = models["plain"]
    body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=4)
    frame = ii.measure_concurrency(model, body, levels=(1, 2), requests_per_level=2, progress=False)
    assert frame["concurrency"].tolist() == [1, 2]
    assert frame["errors"].tolist() == [0, 0]
    assert (frame["latency_mean_s"] > 0).all() and (frame["requests_per_s"] > 0).all()


def test_after_cleanup_the_runtime_no_longer_knows_the_model(
    models: dict[str, ImportedModel], state: State
) -> None:
    model = models["plain"]
    cleanup.cleanup(state)
    assert clients.client("bedrock").list_imported_models()["modelSummaries"] == []
    body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=2)
    with pytest.raises(WorkshopError, match="ResourceNotFoundException"):
        ii.invoke_with_backoff(model, body, first_delay=0.05, progress=False)


def test_the_evaluation_runner_scores_the_imported_model_and_pickles(
    models: dict[str, ImportedModel],
) -> None:
    import pickle

    from utils.evaluation.runners import generate

    model = models["plain"]
    runner = pickle.loads(pickle.dumps(ii.ImportedRunner(model, max_tokens=6)))
    body = ii.request_body(PROMPT, architecture=model.architecture, max_tokens=6)
    expected = ii.invoke_with_backoff(model, body, first_delay=0.05, progress=False).text
    frame = generate({"imported": runner}, [PROMPT, "w7 w7"], progress=False)
    assert frame["output"][0] == expected and frame["output"][1] != expected
    assert frame["local"].tolist() == [True, True] and frame.attrs["failures"] == 0
