"""Small helpers every part of the stand-in's Bedrock shares: ids, times, S3 URIs, pages, text."""

from __future__ import annotations

import secrets
import string
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from standin.restjson import validation_error

ID_ALPHABET = string.ascii_lowercase + string.digits
"""Characters of the ids the stand-in makes: lower-case letters and digits."""


def now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh 12-character id."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(12))


def split_s3(uri: str) -> tuple[str, str]:
    """Bucket and key of an ``s3://`` URI; a ValidationException for anything else."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise validation_error(f"{uri!r} is not an S3 URI of the form s3://bucket/key.")
    return parsed.netloc, parsed.path.lstrip("/")


def page(items: list[Any], p: dict[str, Any]) -> tuple[list[Any], str | None]:
    """One page of ``items`` for a list operation's ``maxResults`` and ``nextToken``."""
    start = int(p.get("nextToken") or 0)
    size = int(p.get("maxResults") or 100)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def listing(
    items: list[Any], p: dict[str, Any], key: str, summarize: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """A list operation's answer: one :func:`page` of summaries under ``key``, and its token."""
    shown, token = page(items, p)
    out: dict[str, Any] = {key: [summarize(item) for item in shown]}
    if token:
        out["nextToken"] = token
    return out


def content_text(content: Any) -> str:
    """The text of message content: a string, or the ``text`` items of a block list."""
    if isinstance(content, str):
        return content
    items = [c.get("text") for c in content or [] if isinstance(c, dict)]
    return "\n".join(t for t in items if isinstance(t, str))
