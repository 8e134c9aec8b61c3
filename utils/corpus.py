"""Domain text that exists on every machine with boto3: botocore's API documentation.

Continued pre-training needs unlabeled text from one domain. The service models that
botocore ships (``botocore/data/<service>/<date>/service-2.json``) describe every AWS
operation, shape and field in prose, so they are real AWS domain text that works offline
and needs no download. :func:`botocore_documentation` turns that HTML into plain-text
paragraphs ready for ``{"input": ...}`` records.

The models are read with botocore's own loader rather than a boto3 session, so neither
credentials nor a user's ``AWS_PROFILE`` play any part.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from typing import Any

import botocore.loaders

DEFAULT_SERVICES = ("s3", "bedrock", "iam", "bedrock-runtime", "sts")
"""Services read when none are named: storage, Bedrock itself and identity."""

MIN_WORDS = 8
"""Paragraphs shorter than this many words (field labels, "The ID." and the like) are dropped."""

# Tags that end a block of text in botocore's documentation HTML.
_BLOCK = re.compile(
    r"</?(?:p|li|ul|ol|note|important|dl|dt|dd|h\d|br|pre|div|table|tr)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _documentation(model: dict[str, Any]) -> Iterator[str]:
    """Every documentation string of a service model, in a fixed order.

    The service's own text comes first, then each operation (sorted by name), then each
    shape and its members (sorted by name), so the order never depends on dict order.
    """
    if isinstance(model.get("documentation"), str):
        yield model["documentation"]
    for name in sorted(model.get("operations", {})):
        doc = model["operations"][name].get("documentation")
        if isinstance(doc, str):
            yield doc
    shapes = model.get("shapes", {})
    for name in sorted(shapes):
        shape = shapes[name]
        if isinstance(shape.get("documentation"), str):
            yield shape["documentation"]
        members = shape.get("members", {})
        for member in sorted(members):
            doc = members[member].get("documentation")
            if isinstance(doc, str):
                yield doc


def paragraphs(markup: str, min_words: int = MIN_WORDS) -> list[str]:
    """Plain-text paragraphs of one documentation string.

    Block tags split paragraphs, other tags are removed, entities are decoded and white
    space is collapsed; paragraphs of fewer than ``min_words`` words are dropped.
    """
    out = []
    for block in _BLOCK.split(markup):
        text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", block))).strip()
        # Removing inline tags can leave a space before punctuation: "the <code>Key</code>."
        text = re.sub(r" ([.,;:)])", r"\1", text).replace("( ", "(")
        if len(text.split()) >= min_words:
            out.append(text)
    return out


def botocore_documentation(
    services: Sequence[str] = DEFAULT_SERVICES,
    limit: int | None = None,
    min_words: int = MIN_WORDS,
) -> list[str]:
    """Plain-text paragraphs of the API documentation botocore ships for ``services``.

    Args:
        services: botocore service names such as ``"s3"`` or ``"bedrock"``.
        limit: Keep at most this many paragraphs (the first ones), or all when None.
        min_words: Drop paragraphs shorter than this many words.

    Returns:
        Paragraphs in a deterministic order (service by service as given), each once.

    Raises:
        botocore.exceptions.UnknownServiceError: If a service is not in botocore's data.
    """
    loader = botocore.loaders.create_loader()
    seen: set[str] = set()
    out: list[str] = []
    for service in services:
        model = loader.load_service_model(service, "service-2")
        for doc in _documentation(model):
            for text in paragraphs(doc, min_words):
                if text not in seen:
                    seen.add(text)
                    out.append(text)
                    if limit is not None and len(out) >= limit:
                        return out
    return out
