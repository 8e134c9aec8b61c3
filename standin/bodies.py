"""The ``invoke_model`` bodies of each model family, read and answered as Bedrock does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from standin.common import content_text, new_id
from standin.restjson import validation_error

LLAMA_IMAGE_TOKEN = "<|image|>"
"""Where an image sits in a Llama 3.2 Vision prompt ("Meta Llama 3.2" request format)."""

LLAMA_TURN = re.compile(
    r"<\|start_header_id\|>(system|user|assistant)<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>",
    re.S,
)


def llama_parts(prompt: str) -> tuple[str, str | None]:
    """The last user turn and the system prompt of a Llama 3 chat-template prompt."""
    turns = LLAMA_TURN.findall(prompt)
    if not turns:
        return prompt, None  # a bare prompt, as Llama also accepts
    users = [text for role, text in turns if role == "user"]
    system = next((text for role, text in turns if role == "system"), None)
    return (users[-1] if users else ""), system


def invoke_body(
    request: dict[str, Any], generate: Callable[..., str], images: list[bytes]
) -> dict[str, Any]:
    """Answer an ``invoke_model`` body in the request/response format of its family."""
    if "messages" in request and "anthropic_version" in request:
        system = request.get("system") if isinstance(request.get("system"), str) else None
        prompt = content_text(request["messages"][-1]["content"])
        text = generate(prompt, system, int(request.get("max_tokens", 512)), images=images)
        return {
            "id": "msg_local_" + new_id(),
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": len(prompt.split()), "output_tokens": len(text.split())},
        }
    if "messages" in request:
        system = "\n".join(s.get("text", "") for s in request.get("system", [])) or None
        prompt = content_text(request["messages"][-1]["content"])
        max_tokens = int(request.get("inferenceConfig", {}).get("maxTokens", 512))
        text = generate(prompt, system, max_tokens, images=images)
        n_in, n_out = len(prompt.split()), len(text.split())
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "max_tokens" if n_out >= max_tokens else "end_turn",
            "usage": {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out},
        }
    if "inputText" in request:
        cfg = request.get("textGenerationConfig", {})
        text = generate(request["inputText"], None, int(cfg.get("maxTokenCount", 512)))
        return {
            "inputTextTokenCount": len(request["inputText"].split()),
            "results": [
                {"tokenCount": len(text.split()), "outputText": text, "completionReason": "FINISH"}
            ],
        }
    if "prompt" in request:
        prompt, system = llama_parts(request["prompt"])
        prompt = prompt.replace(LLAMA_IMAGE_TOKEN, "")
        text = generate(prompt, system, int(request.get("max_gen_len", 512)), images=images)
        return {
            "generation": text,
            "prompt_token_count": len(request["prompt"].split()),
            "generation_token_count": len(text.split()),
            "stop_reason": "stop",
        }
    raise validation_error(
        "The local stand-in does not recognise this request body; send the messages, "
        "inputText or prompt format of the model's family."
    )
