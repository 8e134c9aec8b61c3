"""The stand-in runs the models it imported: cold starts, bodies, streams, Converse.

Tiny random Llama models are built here, imported through the stand-in's own model import
jobs, and their answers compared with the same weights run directly with transformers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from botocore.exceptions import ClientError
from botocore.model import StructureShape
from botocore.validate import ParamValidator
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from standin import StandIn
from standin.server import LOCAL_MARKER_HEADER
from tests.helpers import RUNTIME, TINY_LLAMA, checked, make_bucket, save_tokenizer
from tests.standin.test_standin_model_import import (
    BUCKET,
    CHAT_TEMPLATE,
    import_role,
    start,
    upload,
    wait,
)
from utils import clients

# Custom Model Import: no model units, no model a new account lacks (see tests/conftest.py).
pytestmark = pytest.mark.same_in_every_account

PROMPT = "w1 w2 w3 w4"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny Llama models with different seeds, and the first again with a chat template."""
    root = tmp_path_factory.mktemp("runtime-models")
    made = {}
    for name, seed, template in (("a", 1, None), ("b", 2, None), ("chat", 1, CHAT_TEMPLATE)):
        torch.manual_seed(seed)
        LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).save_pretrained(root / name)
        save_tokenizer(root / name, template)
        made[name] = root / name
    return made


@pytest.fixture
def runtime(aws: StandIn) -> Iterator[Any]:
    """A bedrock-runtime client, with cold starts as short as the stand-in allows."""
    bedrock = aws.bedrock
    saved = bedrock.import_idle_seconds, bedrock.import_load_seconds
    bedrock.import_idle_seconds, bedrock.import_load_seconds = 3600.0, 0.0
    make_bucket(BUCKET)
    yield clients.client("bedrock-runtime")
    bedrock.import_idle_seconds, bedrock.import_load_seconds = saved


def imported(folder: Path, name: str, **upload_options: Any) -> str:
    """Import a folder through a model import job; returns the imported model's ARN."""
    uri = upload(folder, f"models/{name}", **upload_options)
    job = wait(start(uri, import_role(f"role-{name}"), name=f"job-{name}", model=name))
    assert job["status"] == "Completed", job.get("failureMessage")
    return str(job["importedModelArn"])


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return {
        **caught.value.response["Error"],
        "status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def when_ready(call: Callable[..., Any], **kwargs: Any) -> Any:
    """The answer once the model is loaded (ModelNotReadyException until then)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return call(**kwargs)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ModelNotReadyException":
                raise
            assert time.monotonic() < deadline, "the imported model never loaded"
            time.sleep(0.05)


def invoke(runtime: Any, arn: str, body: dict[str, Any]) -> dict[str, Any]:
    """An invoke_model answer (waiting out a cold start), checked against the output shape."""
    response = when_ready(runtime.invoke_model, modelId=arn, body=json.dumps(body))
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert LOCAL_MARKER_HEADER in headers
    raw = response["body"].read()
    checked(RUNTIME, "InvokeModel", {**response, "body": raw})
    return dict(json.loads(raw))


def direct(folder: Path, ids: list[int], max_new: int) -> tuple[list[int], bool]:
    """The same weights run with transformers: greedy tokens (EOS dropped), and whether EOS."""
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto")
    prompt = torch.tensor([ids])
    # Every prompt token is attended to ([UNK] is id 0, which generate would take for padding).
    out = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=max_new,
        do_sample=False,
        pad_token_id=1,
    )
    new = out[0, len(ids) :].tolist()
    config = model.generation_config
    ended = bool(new) and config is not None and new[-1] == config.eos_token_id
    return (new[:-1] if ended else new), ended


def test_the_first_call_is_a_cold_start_then_the_model_answers(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    aws.bedrock.import_load_seconds = 0.5  # long enough to see the load under way
    first = error_of(runtime.invoke_model, modelId=arn, body=json.dumps({"prompt": PROMPT}))
    assert first["Code"] == "ModelNotReadyException" and first["status"] == 429
    assert "being loaded" in first["Message"] and "back-off" in first["Message"]
    assert aws.bedrock.imports.runtime.state(arn) == "loading"
    again = error_of(runtime.invoke_model, modelId=arn, body=json.dumps({"prompt": PROMPT}))
    assert again["Code"] == "ModelNotReadyException"  # still loading: the same answer
    body = invoke(runtime, arn, {"prompt": PROMPT, "max_gen_len": 4})
    assert set(body) == {
        "generation",
        "prompt_token_count",
        "generation_token_count",
        "stop_reason",
    }
    assert aws.bedrock.imports.runtime.state(arn) == "warm"


def test_an_idle_model_is_dropped_and_loads_again(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    body = {"prompt": PROMPT, "max_gen_len": 3}
    answer = invoke(runtime, arn, body)
    aws.bedrock.import_idle_seconds = 0.2
    time.sleep(0.3)
    cold = error_of(runtime.invoke_model, modelId=arn, body=json.dumps(body))
    assert cold["Code"] == "ModelNotReadyException"
    assert invoke(runtime, arn, body) == answer  # the same weights, loaded again


def test_bedrock_completion_equals_transformers_greedy_on_the_same_weights(
    runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    tokenizer = AutoTokenizer.from_pretrained(folders["a"])
    ids = tokenizer(PROMPT)["input_ids"]
    for limit in (1, 6):
        body = invoke(runtime, arn, {"prompt": PROMPT, "max_gen_len": limit, "temperature": 0})
        tokens, ended = direct(folders["a"], ids, limit)
        assert body["generation"] == tokenizer.decode(tokens, skip_special_tokens=True)
        assert body["prompt_token_count"] == len(ids)
        assert body["generation_token_count"] == len(tokens)
        assert body["stop_reason"] == ("stop" if ended else "length")


def test_the_model_stops_at_its_end_of_sequence_token(
    runtime: Any, folders: dict[str, Path]
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(folders["a"])
    ids = tokenizer(PROMPT)["input_ids"]
    tokens, _ = direct(folders["a"], ids, 6)
    eos = tokens[2]  # the third token the model picks becomes its end of sequence
    stop_at = tokens.index(eos)

    def with_eos(name: str, raw: bytes) -> bytes:
        if name in ("config.json", "generation_config.json"):
            return json.dumps(json.loads(raw) | {"eos_token_id": eos}).encode()
        return raw

    arn = imported(folders["a"], "tiny-eos", change=with_eos)
    body = invoke(runtime, arn, {"prompt": PROMPT, "max_gen_len": 6})
    assert body["stop_reason"] == "stop"
    assert body["generation_token_count"] == stop_at
    assert body["generation"] == tokenizer.decode(tokens[:stop_at])


def test_two_folders_give_different_answers(runtime: Any, folders: dict[str, Path]) -> None:
    answers = {
        name: invoke(runtime, imported(folders[name], f"tiny-{name}"), {"prompt": PROMPT})
        for name in ("a", "b")
    }
    assert answers["a"]["generation"] != answers["b"]["generation"]


def test_sampling_is_reproducible_from_the_request(runtime: Any, folders: dict[str, Path]) -> None:
    arn = imported(folders["a"], "tiny-a")
    body = {"prompt": PROMPT, "max_gen_len": 12, "temperature": 1.0, "top_p": 0.95}
    first = invoke(runtime, arn, body)
    assert invoke(runtime, arn, body) == first
    assert first["generation_token_count"] >= 1


def test_openai_formats_answer_in_their_own_schemas(runtime: Any, folders: dict[str, Path]) -> None:
    plain, chat = imported(folders["a"], "tiny-a"), imported(folders["chat"], "tiny-chat")
    bedrock = invoke(runtime, plain, {"prompt": PROMPT, "max_gen_len": 5})
    completion = invoke(runtime, plain, {"prompt": PROMPT, "max_tokens": 5})
    assert completion["object"] == "text_completion"
    (choice,) = completion["choices"]
    assert choice["text"] == bedrock["generation"]
    assert choice["finish_reason"] == bedrock["stop_reason"]
    assert completion["usage"] == {
        "prompt_tokens": bedrock["prompt_token_count"],
        "completion_tokens": bedrock["generation_token_count"],
        "total_tokens": bedrock["prompt_token_count"] + bedrock["generation_token_count"],
    }
    messages = [{"role": "user", "content": PROMPT}]
    answer = invoke(runtime, chat, {"messages": messages, "max_tokens": 5})
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    tokenizer = AutoTokenizer.from_pretrained(folders["chat"])
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert answer["usage"]["prompt_tokens"] == len(tokenizer(text)["input_ids"])
    refused = error_of(runtime.invoke_model, modelId=plain, body=json.dumps({"messages": messages}))
    assert refused["Code"] == "ValidationException" and "prompt" in refused["Message"]


def stream_chunks(runtime: Any, arn: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = when_ready(
        runtime.invoke_model_with_response_stream, modelId=arn, body=json.dumps(body)
    )
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert LOCAL_MARKER_HEADER in headers and response["contentType"] == "application/json"
    rest = {k: v for k, v in response.items() if k != "body"}
    checked(RUNTIME, "InvokeModelWithResponseStream", rest | {"body": {}})
    chunks = []
    for event in response["body"]:
        assert set(event) == {"chunk"}
        chunks.append(json.loads(event["chunk"]["bytes"]))
    return chunks


def test_a_stream_sends_the_same_answer_piece_by_piece(
    runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    body = {"prompt": PROMPT, "max_gen_len": 6}
    whole = invoke(runtime, arn, body)
    chunks = stream_chunks(runtime, arn, body)
    assert len(chunks) == whole["generation_token_count"] + 1  # a piece a token, then the end
    assert "".join(c["generation"] for c in chunks) == whole["generation"]
    assert chunks[0]["prompt_token_count"] == whole["prompt_token_count"]
    assert [c["stop_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    last = chunks[-1]
    assert last["stop_reason"] == whole["stop_reason"]
    assert last["generation_token_count"] == whole["generation_token_count"]
    metrics = last["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == whole["prompt_token_count"]
    assert metrics["outputTokenCount"] == whole["generation_token_count"]
    chat = stream_chunks(runtime, arn, {"prompt": PROMPT, "max_tokens": 6})
    assert "".join(c["choices"][0]["text"] for c in chat) == whole["generation"]


def test_converse_uses_the_chat_template_and_streams_too(
    runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["chat"], "tiny-chat")
    request = {
        "modelId": arn,
        "system": [{"text": "w5 w6"}],
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
        "inferenceConfig": {"maxTokens": 5},
    }
    answer = checked(RUNTIME, "Converse", when_ready(runtime.converse, **request))
    tokenizer = AutoTokenizer.from_pretrained(folders["chat"])
    template = [{"role": "system", "content": "w5 w6"}, {"role": "user", "content": PROMPT}]
    text = tokenizer.apply_chat_template(template, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    tokens, ended = direct(folders["chat"], ids, 5)
    assert answer["output"]["message"]["content"] == [
        {"text": tokenizer.decode(tokens, skip_special_tokens=True)}
    ]
    assert answer["usage"]["inputTokens"] == len(ids)
    assert answer["usage"]["outputTokens"] == len(tokens)
    assert answer["stopReason"] == ("end_turn" if ended else "max_tokens")

    streamed = runtime.converse_stream(**request)
    events = list(streamed["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == [
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    for event in events:
        ((kind, value),) = event.items()
        stream = RUNTIME.shape_for("ConverseStreamOutput")
        assert isinstance(stream, StructureShape)
        shape = stream.members[kind]
        assert not ParamValidator().validate(value, shape).has_errors()
    deltas = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert deltas == answer["output"]["message"]["content"][0]["text"]
    assert events[-1]["metadata"]["usage"] == answer["usage"]


def test_converse_refuses_a_model_that_is_not_instruct_capable(
    runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    error = error_of(
        runtime.converse, modelId=arn, messages=[{"role": "user", "content": [{"text": PROMPT}]}]
    )
    assert error["Code"] == "ValidationException"
    assert "InvokeModel" in error["Message"] and "prompt" in error["Message"]


def test_a_deleted_model_is_gone_with_its_cache(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-a")
    invoke(runtime, arn, {"prompt": PROMPT, "max_gen_len": 2})
    cache = aws.bedrock.imports.runtime._slots[arn].folder
    assert (cache / "model.safetensors").is_file()
    clients.client("bedrock").delete_imported_model(modelIdentifier=arn)
    assert not cache.exists()
    for call, kwargs in (
        (runtime.invoke_model, {"body": json.dumps({"prompt": PROMPT})}),
        (runtime.invoke_model_with_response_stream, {"body": json.dumps({"prompt": PROMPT})}),
        (runtime.converse, {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]}),
    ):
        assert error_of(call, modelId=arn, **kwargs)["Code"] == "ResourceNotFoundException"


def test_the_job_copies_the_folder_so_the_model_outlives_its_s3_files(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["b"], "tiny-copied")
    copy = aws.bedrock.imports.runtime._slots[arn]
    assert copy.state == "cold" and (copy.folder / "model.safetensors").is_file()
    s3 = clients.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="models/tiny-copied/")["Contents"]
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    body = {"prompt": PROMPT, "max_gen_len": 4}
    ids = AutoTokenizer.from_pretrained(folders["b"])(PROMPT, add_special_tokens=False)
    tokens, _ = direct(folders["b"], ids["input_ids"], 4)
    answer = invoke(runtime, arn, body)
    assert answer["generation_token_count"] == len(tokens)  # the weights of folder b, not a
    clients.client("bedrock").delete_imported_model(modelIdentifier=arn)
    assert not copy.folder.exists()


def test_the_preload_and_a_first_load_import_transformers_without_racing() -> None:
    # Two threads importing transformers at once in a fresh process: unguarded, one of them
    # sees "cannot import name 'AutoModelForCausalLM'" (every time on this machine).
    script = (
        "import threading\n"
        "from standin import imported\n"
        "errors = []\n"
        "def go():\n"
        "    try:\n"
        "        imported._import_libraries()\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=go) for _ in range(2)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_model_deleted_before_any_call_leaves_no_copy(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    arn = imported(folders["a"], "tiny-never-called")
    folder = aws.bedrock.imports.runtime._slots[arn].folder
    assert folder.is_dir()
    clients.client("bedrock").delete_imported_model(modelIdentifier=arn)
    assert not folder.exists()


def test_a_failed_import_keeps_no_copy(
    aws: StandIn, runtime: Any, folders: dict[str, Path]
) -> None:
    uri = upload(folders["a"], "models/no-tokenizer", skip=("tokenizer.json",))
    job = wait(start(uri, import_role("role-no-tokenizer"), name="job-nt", model="tiny-nt"))
    assert job["status"] == "Failed" and "tokenizer" in job["failureMessage"]
    job_id = job["jobArn"].rsplit("/", 1)[-1]
    assert not (aws.bedrock.imports.runtime._cache() / f"import-{job_id}").exists()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"input": "w1"}', "'prompt'"),
        (b'{"prompt": ""}', "non-empty string"),
        (b'{"prompt": "w1", "max_gen_len": "ten"}', "max_gen_len"),
        (b'{"prompt": "w1", "max_gen_len": 0}', "max_gen_len"),
        (b'{"prompt": "w1", "temperature": -1}', "temperature"),
        (b'{"messages": "w1"}', "messages"),
    ],
)
def test_malformed_bodies_are_refused(
    runtime: Any, folders: dict[str, Path], body: bytes, says: str
) -> None:
    arn = imported(folders["chat"], "tiny-chat")
    invoke(runtime, arn, {"prompt": PROMPT, "max_gen_len": 1})  # warm, so the body is read
    error = error_of(runtime.invoke_model, modelId=arn, body=body)
    assert error["Code"] == "ValidationException" and error["status"] == 400
    assert says in error["Message"]
