"""The checks of one record: its keys and types, texts, messages, media and token count.

:class:`RecordChecker` knows the record formats (conversation, distillation prompts,
prompt/completion, Claude 3 Haiku messages and continued pre-training text) and reports
each problem it finds through an :data:`~utils.validation.report.Emit` callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from utils.token_estimate import estimate_tokens
from utils.validation.media import MediaProbe
from utils.validation.report import Emit
from utils.validation.rules import (
    CONVERSATION_SCHEMA,
    IMAGE_FORMATS,
    VIDEO_FORMATS,
    DatasetRules,
)

_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)$")
_JSON_TYPES: dict[type, str] = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


def _conversation_text(record: dict[Any, Any]) -> str:
    """Every text of a conversation record: its system blocks and each message's text items."""
    system = record.get("system")
    blocks = system if isinstance(system, list) else []
    texts = [b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)]
    for message in record.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for item in content if isinstance(content, list) else []:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                texts.append(item["text"])
    return "\n".join(texts)


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


_NO_KEYS: Mapping[str, type] = {}
_CONTENT_ITEM_KEYS: Mapping[str, type] = {"text": str, "image": dict, "video": dict}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_keys(
    obj: dict[Any, Any],
    path: str,
    required: Mapping[str, type],
    optional: Mapping[str, type],
    emit: Emit,
) -> dict[str, bool]:
    """Check required/unknown keys and JSON types; say which keys hold the right type."""
    ok: dict[str, bool] = {}
    present = 0
    for schema in (required, optional):
        for key, kind in schema.items():
            if key not in obj:
                if schema is required:
                    emit(
                        _join(path, key),
                        "schema.required",
                        f"'{key}' is missing; add it as {_JSON_TYPES[kind]}.",
                    )
                ok[key] = False
                continue
            present += 1
            value = obj[key]
            # bool is an int in Python, but never a valid number or string here.
            good = isinstance(value, kind) and not isinstance(value, bool)
            if not good:
                emit(
                    _join(path, key),
                    "schema.type",
                    f"must be {_JSON_TYPES[kind]}, not {_type_name(value)}.",
                )
            ok[key] = good
    if present == len(obj):  # every key is a known one: nothing to scan for
        return ok
    allowed = [*required, *optional]
    for key in obj:
        if key not in allowed:
            expected = ", ".join(f"'{k}'" for k in allowed)
            emit(
                _join(path, str(key)),
                "schema.unknown_key",
                f"'{key}' is not part of this format; remove it (allowed here: {expected}).",
            )
    return ok


def _check_text(value: str, path: str, emit: Emit, reserved: tuple[str, ...] = ()) -> None:
    if not value.strip():
        emit(path, "text.empty", "is empty; write the text or remove the item.")
        return
    for word in reserved:
        if word in value:
            shown = word.replace("\n", "\\n")
            emit(
                path,
                "text.reserved",
                f"contains '{shown}', which the model reserves; reword or remove it.",
            )
            break


@dataclass
class _RecordMedia:
    images: int = 0
    videos: int = 0


class RecordChecker:
    """Checks records one at a time; keeps only the small state dataset-wide rules need."""

    def __init__(
        self,
        rules: DatasetRules,
        model_name: str,
        dataset_bucket: str | None,
        probe: MediaProbe | None = None,
        token_counter: Callable[[str], int] | None = None,
    ) -> None:
        self.rules = rules
        self.token_counter = token_counter
        self.model_name = model_name
        self.dataset_bucket = dataset_bucket
        self.probe = probe
        # The fast path covers the conversation rules only; any other limit forces the full check.
        self.fast = rules.format == "conversation" and rules.max_tokens is None
        self.first_image_line: int | None = None
        self.first_video_line: int | None = None
        self.mixed_reported = False

    def fast_key_count(self, record: Any) -> int:
        """Count the keys of a plain text-only conversation that passes every record rule.

        The hot path for big files: one tight pass over the common shape of a valid
        fine-tuning record. Returns -1 whenever anything differs (media, an unknown key,
        a wrong type, a role out of order, empty or reserved text, another format), and
        the caller then runs the full :meth:`check`, which finds and explains the problem.
        The key count lets the caller rule out duplicate keys from the raw line.
        """
        if not self.fast or type(record) is not dict:
            return -1
        messages = record.get("messages")
        if type(messages) is not list or len(messages) < 2 or len(messages) % 2:
            return -1
        keys = len(record)
        known = 1 + ("schemaVersion" in record) + ("system" in record)
        if keys != known:
            return -1  # an unknown top-level key
        reserved = self.rules.reserved
        if "schemaVersion" in record and type(record["schemaVersion"]) is not str:
            return -1
        if "system" in record:
            system = record["system"]
            if type(system) is not list:
                return -1
            for block in system:
                if type(block) is not dict or len(block) != 1:
                    return -1
                text = block.get("text")
                if type(text) is not str or not text.strip():
                    return -1
                for word in reserved:
                    if word in text:
                        return -1
                keys += 1
        role = "user"
        for message in messages:
            if type(message) is not dict or len(message) != 2 or message.get("role") != role:
                return -1
            content = message.get("content")
            if type(content) is not list or not content:
                return -1
            keys += 2
            words = reserved if role == "user" else ()
            for item in content:
                if type(item) is not dict or len(item) != 1:
                    return -1
                text = item.get("text")
                if type(text) is not str or not text.strip():
                    return -1
                for word in words:
                    if word in text:
                        return -1
            keys += len(content)
            role = "assistant" if role == "user" else "user"
        return keys

    def check(self, record: Any, line: int, emit: Emit) -> None:
        """Check one record (the ``line``-th) by its job's format; report problems to ``emit``."""
        if not isinstance(record, dict):
            emit(
                "",
                "json.not_object",
                f"holds {_type_name(record)}; each line must be one JSON object {{...}}.",
            )
            return
        fmt = self.rules.format
        if fmt in ("conversation", "distillation"):
            self._conversation(record, line, emit)
        elif fmt == "prompt-completion":
            ok = _check_keys(record, "", {"prompt": str, "completion": str}, {}, emit)
            for key in ("prompt", "completion"):
                if ok[key]:
                    _check_text(record[key], key, emit)
        elif fmt == "text":
            ok = _check_keys(record, "", {"input": str}, {}, emit)
            if ok["input"]:
                _check_text(record["input"], "input", emit)
                self._tokens(record["input"], "input", emit)
        elif fmt == "claude":
            self._claude(record, emit)

    def _tokens(self, text: str, path: str, emit: Emit) -> None:
        limit = self.rules.max_tokens
        if limit is None or (n := estimate_tokens(text)) <= limit:
            return
        how = "estimated at 3 characters a token"
        if self.token_counter is not None:
            n, how = self.token_counter(text), "counted with Bedrock's CountTokens"
            if n <= limit:
                return
        emit(
            path,
            "tokens.max",
            f"holds about {n:,} tokens ({how}); the limit is {limit:,}: shorten it or split "
            "it into several records (utils.datasets.chunk_text).",
        )

    # ---- Claude 3 Haiku: string system and string contents
    def _claude(self, record: dict[Any, Any], emit: Emit) -> None:
        ok = _check_keys(record, "", {"messages": list}, {"system": str}, emit)
        total = ""
        if ok["system"]:
            total += record["system"]
            if record["system"].strip():
                _check_text(record["system"], "system", emit, self.rules.reserved)
        if not ok["messages"]:
            return
        roles: list[str | None] = []
        for i, message in enumerate(record["messages"]):
            path = f"messages[{i}]"
            if not isinstance(message, dict):
                emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
                roles.append(None)
                continue
            mok = _check_keys(message, path, {"role": str, "content": str}, {}, emit)
            roles.append(self._role(message, mok, path, emit))
            if mok["content"]:
                total += message["content"]
                _check_text(message["content"], f"{path}.content", emit, self.rules.reserved)
        self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        self._tokens(total, "messages", emit)

    # ---- bedrock-conversation-2024 (fine-tuning) and distillation prompts
    def _conversation(self, record: dict[Any, Any], line: int, emit: Emit) -> None:
        distill = self.rules.format == "distillation"
        ok = _check_keys(
            record, "", {"messages": list}, {"schemaVersion": str, "system": list}, emit
        )
        # "Prepare your training datasets for distillation" (Amazon Bedrock user guide, read
        # 2026-12-01) requires this exact value; fine-tuning takes any string (Nova's page).
        exact = distill or self.rules.exact_schema
        if exact and record.get("schemaVersion") != CONVERSATION_SCHEMA:
            emit(
                "schemaVersion",
                "schema.version",
                f"is {record.get('schemaVersion')!r}; {self.model_name} needs exactly "
                f"{CONVERSATION_SCHEMA!r} here.",
            )
        if ok["system"]:
            blocks = record["system"]
            if (distill or self.rules.single_system) and len(blocks) != 1:
                emit(
                    "system",
                    "system.count",
                    f"has {len(blocks)} blocks; {self.model_name} takes exactly one "
                    "system block [{'text': ...}] here (or leave 'system' out).",
                )
            for i, block in enumerate(blocks):
                path = f"system[{i}]"
                if not isinstance(block, dict):
                    emit(path, "schema.type", f"must be an object, not {_type_name(block)}.")
                    continue
                if _check_keys(block, path, {"text": str}, {}, emit)["text"]:
                    _check_text(block["text"], f"{path}.text", emit, self.rules.reserved)
        if not ok["messages"]:
            return
        media = _RecordMedia()
        roles: list[str | None] = []
        for i, message in enumerate(record["messages"]):
            path = f"messages[{i}]"
            if not isinstance(message, dict):
                emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
                roles.append(None)
                continue
            mok = _check_keys(message, path, {"role": str, "content": list}, {}, emit)
            role = self._role(message, mok, path, emit)
            roles.append(role)
            if mok["content"]:
                self._content(message["content"], role, path, media, emit)
        if distill:
            self._order(roles, emit, min_messages=1, max_messages=2, end_with_assistant=False)
        else:
            self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        self._record_media(media, line, emit)
        if self.rules.max_tokens is not None:  # the whole row counts (Llama's limit)
            self._tokens(_conversation_text(record), "messages", emit)

    def _role(self, message: dict[Any, Any], ok: dict[str, bool], path: str, emit: Emit) -> Any:
        if not ok["role"]:
            return None
        role = message["role"]
        if role not in ("user", "assistant"):
            emit(
                f"{path}.role",
                "messages.role",
                f"is {role!r}; use 'user' or 'assistant' (put instructions in 'system').",
            )
            return None
        return role

    def _content(
        self, items: list[Any], role: str | None, path: str, media: _RecordMedia, emit: Emit
    ) -> None:
        distill = self.rules.format == "distillation"
        if not items:
            emit(f"{path}.content", "content.empty", "is empty; add a {'text': ...} item.")
            return
        if distill and (
            len(items) != 1 or not (isinstance(items[0], dict) and set(items[0]) == {"text"})
        ):
            emit(
                f"{path}.content",
                "content.single_text",
                f"has {len(items)} item(s); a distillation prompt message holds exactly one "
                "{'text': ...} item.",
            )
        reserved = self.rules.reserved if role != "assistant" else ()
        for j, item in enumerate(items):
            ipath = f"{path}.content[{j}]"
            if not isinstance(item, dict):
                emit(ipath, "schema.type", f"must be an object, not {_type_name(item)}.")
                continue
            kinds = [k for k in ("text", "image", "video") if k in item]
            _check_keys(item, ipath, _NO_KEYS, _CONTENT_ITEM_KEYS, emit)
            if len(kinds) != 1:
                emit(
                    ipath,
                    "content.item",
                    "must hold exactly one of 'text', 'image' or 'video'"
                    + (
                        f" (found {', '.join(kinds)}); split it into separate items."
                        if kinds
                        else "."
                    ),
                )
            if isinstance(item.get("text"), str):
                _check_text(item["text"], f"{ipath}.text", emit, reserved)
            for kind in ("image", "video"):
                if kind in item:
                    self._media(kind, item[kind], role, f"{ipath}.{kind}", media, emit)

    def _media(
        self, kind: str, value: Any, role: str | None, path: str, media: _RecordMedia, emit: Emit
    ) -> None:
        if kind == "image":
            media.images += 1
        else:
            media.videos += 1
        if kind not in self.rules.media:
            if self.rules.no_media_rule == "media.micro":
                emit(
                    path,
                    "media.micro",
                    f"Amazon Nova Micro takes text only; remove the {kind} or fine-tune "
                    "Amazon Nova Lite or Pro instead.",
                )
            elif not self.rules.media:
                emit(
                    path,
                    "media.not_supported",
                    f"{self.model_name} takes text only for this job; remove the {kind}.",
                )
            else:
                emit(path, "media.not_supported", f"{self.model_name} does not accept {kind}s.")
        elif role == "assistant":
            emit(
                path,
                "media.assistant",
                f"assistant turns hold text only; move the {kind} to a user message.",
            )
        if not isinstance(value, dict):
            return
        ok = _check_keys(value, path, {"format": str, "source": dict}, {}, emit)
        formats = IMAGE_FORMATS if kind == "image" else VIDEO_FORMATS
        if ok["format"] and value["format"] not in formats:
            hint = " ('jpg' is spelled 'jpeg')" if value["format"].lower() == "jpg" else ""
            emit(
                f"{path}.format",
                "media.format",
                f"is {value['format']!r}; use one of {', '.join(formats)}{hint}.",
            )
        if not ok["source"]:
            return
        spath = f"{path}.source"
        if not _check_keys(value["source"], spath, {"s3Location": dict}, {}, emit)["s3Location"]:
            return
        lpath = f"{spath}.s3Location"
        location = value["source"]["s3Location"]
        lok = _check_keys(location, lpath, {"uri": str}, {"bucketOwner": str}, emit)
        if lok["uri"]:
            match = _S3_URI.match(location["uri"])
            if not match:
                emit(
                    f"{lpath}.uri",
                    "media.uri",
                    f"is {location['uri'][:80]!r}; write it as s3://bucket/key "
                    "(upload the file to Amazon S3 first).",
                )
            elif (
                self.rules.same_bucket
                and self.dataset_bucket
                and match.group(1) != self.dataset_bucket
            ):
                emit(
                    f"{lpath}.uri",
                    "media.bucket",
                    f"is in bucket '{match.group(1)}'; copy it to the dataset's bucket "
                    f"'{self.dataset_bucket}'.",
                )
            if match and self.probe and kind in self.rules.media and role != "assistant":
                declared = value["format"] if ok["format"] else None
                self.probe.check(
                    location["uri"], match.group(1), match.group(2), kind, declared, path, emit
                )
        if lok["bucketOwner"] and not re.fullmatch(r"\d{12}", location["bucketOwner"]):
            emit(
                f"{lpath}.bucketOwner",
                "media.uri",
                "must be the 12-digit AWS account id that owns the bucket (or leave it out).",
            )

    def _record_media(self, media: _RecordMedia, line: int, emit: Emit) -> None:
        max_images = self.rules.max_images
        if max_images is not None and media.images > max_images and "image" in self.rules.media:
            emit(
                "messages",
                "media.image_count",
                f"has {media.images} images; use at most {max_images} per record.",
            )
        if media.videos > self.rules.max_videos and "video" in self.rules.media:
            emit(
                "messages",
                "media.video_count",
                f"has {media.videos} videos; use at most {self.rules.max_videos} per record.",
            )
        if media.images and media.videos and self.rules.media >= {"image", "video"}:
            emit(
                "messages",
                "media.both",
                "mixes images and a video; a record holds images or one video, never both.",
            )
        if media.images and self.first_image_line is None:
            self.first_image_line = line
        if media.videos and self.first_video_line is None:
            self.first_video_line = line
        if (
            not self.mixed_reported
            and self.rules.media
            and self.first_image_line is not None
            and self.first_video_line is not None
        ):
            self.mixed_reported = True
            emit(
                "messages",
                "media.mixed_dataset",
                f"the file has images (line {self.first_image_line}) and videos "
                f"(line {self.first_video_line}); a dataset holds one kind of media: "
                "split it into two datasets.",
            )

    def _order(
        self,
        roles: list[str | None],
        emit: Emit,
        *,
        min_messages: int,
        max_messages: int | None,
        end_with_assistant: bool,
    ) -> None:
        n = len(roles)
        if n < min_messages or (max_messages is not None and n > max_messages):
            wanted = (
                f"{min_messages} or {max_messages}"
                if max_messages == min_messages + 1
                else f"at least {min_messages}"
                if max_messages is None
                else f"{min_messages}-{max_messages}"
            )
            emit(
                "messages",
                "messages.count",
                f"has {n} message(s); this job needs {wanted}, starting with a user message"
                + (" and ending with the assistant's answer." if end_with_assistant else "."),
            )
        if n == 0:
            return
        if roles[0] == "assistant":
            emit(
                "messages[0].role",
                "messages.first_user",
                "is 'assistant'; the first message must come from the user.",
            )
        for i in range(1, n):
            if roles[i] is not None and roles[i] == roles[i - 1]:
                emit(
                    f"messages[{i}].role",
                    "messages.alternation",
                    f"is '{roles[i]}' again; user and assistant must alternate "
                    "(merge the two messages or add the missing turn).",
                )
        if end_with_assistant and n >= 2 and roles[-1] == "user":
            emit(
                f"messages[{n - 1}].role",
                "messages.last_assistant",
                "is 'user'; the last message must be the assistant's answer.",
            )
