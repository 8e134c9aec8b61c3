"""The checks of one record: its keys and types, texts, messages, media and token count.

:class:`RecordChecker` knows the record formats (conversation, distillation prompts,
prompt/completion, Claude 3 Haiku messages and continued pre-training text) and reports
each problem it finds through an :data:`~utils.validation.report.Emit` callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
_CONVERSATION_KEYS: Mapping[str, type] = {"messages": list}
_CONVERSATION_OPTIONAL: Mapping[str, type] = {"schemaVersion": str, "system": list}
_MESSAGE_KEYS: Mapping[str, type] = {"role": str, "content": list}
_TEXT_KEYS: Mapping[str, type] = {"text": str}
_CONTENT_ITEM_KEYS: Mapping[str, type] = {"text": str, "image": dict, "video": dict}
_ROLES = ("user", "assistant")


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


_RESERVED_SEARCH: dict[tuple[str, ...], Callable[[str], re.Match[str] | None]] = {}
"""A search for any string of a reserved list, compiled at its first use: one scan per text."""


def _text_problem(value: str, reserved: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """The rule and message a text breaks (empty, or holding a reserved string), or None."""
    if not value.strip():
        return "text.empty", "is empty; write the text or remove the item."
    if not reserved:
        return None
    search = _RESERVED_SEARCH.get(reserved)
    if search is None:
        search = _RESERVED_SEARCH[reserved] = re.compile("|".join(map(re.escape, reserved))).search
    if search(value) is None:
        return None
    for word in reserved:  # name the first of the list that the text holds
        if word in value:
            shown = word.replace("\n", "\\n")
            return (
                "text.reserved",
                f"contains '{shown}', which the model reserves; reword or remove it.",
            )
    return None


def _check_text(value: str, path: str, emit: Emit, reserved: tuple[str, ...] = ()) -> None:
    if (problem := _text_problem(value, reserved)) is not None:
        emit(path, *problem)


@dataclass
class _RecordMedia:
    """The media of one record: how many images and videos, and which to fetch from S3."""

    images: int = 0
    videos: int = 0
    fetches: list[tuple[str, str, str, str, str | None, str]] = field(default_factory=list)
    """``MediaProbe.check`` arguments (uri, bucket, key, kind, declared format, path)."""


class _Refused(Exception):
    """A rule failed in :meth:`RecordChecker.fast_key_count`; the full check explains it."""


def _refuse(path: str, rule: str, message: str) -> None:
    raise _Refused


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
        """Count the keys of a text-only conversation that passes every record rule, else -1.

        The hot path for big files: the record rules of :meth:`check`, run with an emit that
        stops at the first problem, on a record parsed without the duplicate-key hook.
        Returns -1 when a rule fails, when the record holds media (whose S3 checks and
        dataset-wide rules only :meth:`check` runs) or for another format; the caller then
        runs the full :meth:`check`, which finds and explains the problem. The key count
        (of the record, its system blocks, messages and content items) lets the caller
        rule out duplicate keys from the raw line.
        """
        if not self.fast or type(record) is not dict:
            return -1
        media = _RecordMedia()
        try:
            keys = self._conversation_rules(record, media, _refuse)
        except _Refused:
            return -1
        if media.images or media.videos:
            return -1
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
        elif fmt == "rft":
            _check_rft(record, emit)

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
            roles.append(self._role(message["role"], i, emit) if mok["role"] else None)
            if mok["content"]:
                total += message["content"]
                _check_text(message["content"], f"{path}.content", emit, self.rules.reserved)
        self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        self._tokens(total, "messages", emit)

    # ---- bedrock-conversation-2024 (fine-tuning) and distillation prompts
    #
    # Each object is first tested for its one valid shape (exactly the keys of its format,
    # each of its type); only an object that fails goes through _check_keys, which names
    # what is wrong. Paths are built only for a problem. So a valid record costs little,
    # and fast_key_count can run these same rules on every line of a big file.
    def _conversation(self, record: dict[Any, Any], line: int, emit: Emit) -> None:
        media = _RecordMedia()
        self._conversation_rules(record, media, emit)
        self._record_media(media, line, emit)
        if self.probe is not None:
            for fetch in media.fetches:
                self.probe.check(*fetch, emit)
        if self.rules.max_tokens is not None:  # the whole row counts (Llama's limit)
            self._tokens(_conversation_text(record), "messages", emit)

    def _conversation_rules(self, record: dict[Any, Any], media: _RecordMedia, emit: Emit) -> int:
        """Check the rules of one record alone; count its media in ``media`` and return its keys.

        Touches no state of the checker and fetches nothing: media to fetch from Amazon S3
        are listed in ``media.fetches``. The keys returned are those of the record, its
        system blocks, messages and content items.
        """
        rules = self.rules
        distill = rules.format == "distillation"
        keys = len(record)
        messages: Any = record.get("messages")
        version: Any = record.get("schemaVersion")
        system: Any = record.get("system")
        if (
            type(messages) is list
            and (version is None or type(version) is str)
            and (system is None or type(system) is list)
            and keys == 1 + (version is not None) + (system is not None)
        ):
            has_messages, has_system = True, system is not None
        else:
            ok = _check_keys(record, "", _CONVERSATION_KEYS, _CONVERSATION_OPTIONAL, emit)
            has_messages, has_system = ok["messages"], ok["system"]
        # "Prepare your training datasets for distillation" (Amazon Bedrock user guide, read
        # 2026-12-01) requires this exact value; fine-tuning takes any string (Nova's page).
        if (distill or rules.exact_schema) and version != CONVERSATION_SCHEMA:
            emit(
                "schemaVersion",
                "schema.version",
                f"is {version!r}; {self.model_name} needs exactly {CONVERSATION_SCHEMA!r} here.",
            )
        if has_system:
            keys += self._system(system, distill, emit)
        if not has_messages:
            return keys
        roles: list[str | None] = []
        for i, message in enumerate(messages):
            if (
                type(message) is dict
                and len(message) == 2
                and type(role := message.get("role")) is str
                and type(content := message.get("content")) is list
            ):
                keys += 2
            else:
                path = f"messages[{i}]"
                if not isinstance(message, dict):
                    emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
                    roles.append(None)
                    continue
                keys += len(message)
                mok = _check_keys(message, path, _MESSAGE_KEYS, _NO_KEYS, emit)
                role = message["role"] if mok["role"] else None
                content = message["content"] if mok["content"] else None
            if role is not None and role not in _ROLES:
                role = self._role(role, i, emit)
            roles.append(role)
            if content is None:
                continue
            # The content list: one item per text, image or video.
            if not content:
                emit(
                    f"messages[{i}].content", "content.empty", "is empty; add a {'text': ...} item."
                )
                continue
            if distill and (
                len(content) != 1
                or not (isinstance(content[0], dict) and set(content[0]) == {"text"})
            ):
                emit(
                    f"messages[{i}].content",
                    "content.single_text",
                    f"has {len(content)} item(s); a distillation prompt message holds exactly "
                    "one {'text': ...} item.",
                )
            reserved = rules.reserved if role != "assistant" else ()
            for j, item in enumerate(content):
                if type(item) is dict and len(item) == 1 and type(text := item.get("text")) is str:
                    keys += 1
                    if (problem := _text_problem(text, reserved)) is not None:
                        emit(f"messages[{i}].content[{j}].text", *problem)
                else:
                    keys += self._item(item, f"messages[{i}].content[{j}]", role, media, emit)
        if distill:
            self._order(roles, emit, min_messages=1, max_messages=2, end_with_assistant=False)
        else:
            self._order(roles, emit, min_messages=2, max_messages=None, end_with_assistant=True)
        return keys

    def _system(self, blocks: list[Any], distill: bool, emit: Emit) -> int:
        """Check a conversation's ``system`` list; return the keys of its blocks."""
        if (distill or self.rules.single_system) and len(blocks) != 1:
            emit(
                "system",
                "system.count",
                f"has {len(blocks)} blocks; {self.model_name} takes exactly one "
                "system block [{'text': ...}] here (or leave 'system' out).",
            )
        reserved = self.rules.reserved
        keys = 0
        for i, block in enumerate(blocks):
            if type(block) is dict and len(block) == 1 and type(text := block.get("text")) is str:
                keys += 1
            else:
                path = f"system[{i}]"
                if not isinstance(block, dict):
                    emit(path, "schema.type", f"must be an object, not {_type_name(block)}.")
                    continue
                keys += len(block)
                if not _check_keys(block, path, _TEXT_KEYS, _NO_KEYS, emit)["text"]:
                    continue
                text = block["text"]
            if (problem := _text_problem(text, reserved)) is not None:
                emit(f"system[{i}].text", *problem)
        return keys

    def _role(self, role: Any, i: int, emit: Emit) -> str | None:
        """The role of message ``i`` when it is 'user' or 'assistant'; else report it, None."""
        if role in _ROLES:
            return str(role)
        emit(
            f"messages[{i}].role",
            "messages.role",
            f"is {role!r}; use 'user' or 'assistant' (put instructions in 'system').",
        )
        return None

    def _item(self, item: Any, path: str, role: str | None, media: _RecordMedia, emit: Emit) -> int:
        """Check a content item other than a plain ``{"text": ...}``; return its keys."""
        if not isinstance(item, dict):
            emit(path, "schema.type", f"must be an object, not {_type_name(item)}.")
            return 0
        kinds = [k for k in ("text", "image", "video") if k in item]
        _check_keys(item, path, _NO_KEYS, _CONTENT_ITEM_KEYS, emit)
        if len(kinds) != 1:
            emit(
                path,
                "content.item",
                "must hold exactly one of 'text', 'image' or 'video'"
                + (f" (found {', '.join(kinds)}); split it into separate items." if kinds else "."),
            )
        if isinstance(item.get("text"), str):
            reserved = self.rules.reserved if role != "assistant" else ()
            _check_text(item["text"], f"{path}.text", emit, reserved)
        for kind in ("image", "video"):
            if kind in item:
                self._media(kind, item[kind], role, f"{path}.{kind}", media, emit)
        return len(item)

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
                media.fetches.append(
                    (location["uri"], match.group(1), match.group(2), kind, declared, path)
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


# ---- Reinforcement fine-tuning: OpenAI chat messages plus reference_answer
# "Prepare data for Amazon Nova models" (rft-prepare-data.html) and "Preparing data for RFT
# on Amazon Nova 2" (nova-data-prep-rft-2.html), both read 2026-12-02: `messages` holds
# system, user and optionally assistant turns with text content; `reference_answer` is
# whatever the reward function needs (any JSON); further fields are allowed and reach the
# grader. Nova 2 RFT takes text only, so content is a string or a list of text parts.
_RFT_ROLES = ("system", "user", "assistant")


def _rft_content(content: Any, path: str, emit: Emit) -> None:
    if isinstance(content, str):
        _check_text(content, path, emit)
        return
    if not isinstance(content, list) or not content:
        emit(
            path,
            "schema.type",
            f"must be the message text as a string, not {_type_name(content)}.",
        )
        return
    for j, part in enumerate(content):
        where = f"{path}[{j}]"
        text = part.get("text") if isinstance(part, dict) else None
        if (
            not isinstance(part, dict)
            or part.get("type", "text") != "text"
            or not isinstance(text, str)
        ):
            emit(
                where,
                "content.item",
                'must be a text part {"type": "text", "text": "..."}: reinforcement '
                "fine-tuning of Nova 2 takes text only.",
            )
            continue
        _check_text(text, f"{where}.text", emit)


def _check_rft(record: dict[Any, Any], emit: Emit) -> None:
    """Check one reinforcement fine-tuning prompt record."""
    if "reference_answer" not in record:
        emit(
            "reference_answer",
            "reference.missing",
            "'reference_answer' is missing; add what the reward function compares the "
            'answer with, such as {"answer": 42}.',
        )
    elif record["reference_answer"] in (None, "", {}, []):
        emit(
            "reference_answer",
            "reference.missing",
            "is empty; give the reward function something to score against, such as "
            '{"answer": 42}.',
        )
    messages = record.get("messages")
    if "messages" not in record:
        emit("messages", "schema.required", "'messages' is missing; add the prompt as a list.")
        return
    if not isinstance(messages, list):
        emit("messages", "schema.type", f"must be a list, not {_type_name(messages)}.")
        return
    if not messages:
        emit("messages", "messages.count", "is empty; add at least one user message.")
        return
    roles: list[str | None] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            emit(path, "schema.type", f"must be an object, not {_type_name(message)}.")
            roles.append(None)
            continue
        role = message.get("role")
        if "role" not in message:
            emit(f"{path}.role", "schema.required", "'role' is missing; add 'user' or 'system'.")
        elif role not in _RFT_ROLES:
            emit(
                f"{path}.role",
                "messages.role",
                f"is {role!r}; use 'system', 'user' or 'assistant'.",
            )
        elif role == "system" and i > 0:
            emit(
                f"{path}.role",
                "messages.system_first",
                "a system message must come first; move it to the start.",
            )
        roles.append(role if isinstance(role, str) else None)
        if "content" not in message:
            emit(f"{path}.content", "schema.required", "'content' is missing; add the text.")
        else:
            _rft_content(message["content"], f"{path}.content", emit)
    # Bedrock appends the model's answer as the assistant turn before it calls the grader
    # (reward-functions.html), so the prompt must end where the model is to answer: with
    # the user. This is inferred from that page, not stated as a rule there.
    if roles[-1] != "user":
        emit(
            f"messages[{len(messages) - 1}]",
            "messages.last_user",
            f"the prompt ends with {roles[-1] or 'an invalid message'!s}; end it with the user's "
            "question (the model's answer is added after it during training).",
        )
