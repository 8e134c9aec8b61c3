"""The offline domain corpus built from botocore's own API documentation."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import UnknownServiceError

from utils import corpus

HTML_TAG = re.compile(
    r"</?(?:p|a|b|i|code|ul|ol|li|note|important|br|div|em|strong|fullname|dl|dt|dd|pre)\b"
    r"[^>]*>"
)  # botocore writes its tags in lower case; "<Code>" or "<Region>" are escaped text


def test_paragraphs_are_plain_text_without_html():
    texts = corpus.botocore_documentation()
    assert texts
    for text in texts:
        assert not HTML_TAG.search(text), text
        assert "&amp;" not in text and "&quot;" not in text
        assert text == text.strip() and "  " not in text and "\n" not in text
        assert len(text.split()) >= corpus.MIN_WORDS


def test_corpus_is_deterministic_and_unique():
    first = corpus.botocore_documentation(("s3", "bedrock"))
    assert first == corpus.botocore_documentation(("s3", "bedrock"))
    assert len(set(first)) == len(first)
    assert corpus.botocore_documentation(("s3", "bedrock"), limit=25) == first[:25]


def test_corpus_is_large_enough_to_train_on():
    texts = corpus.botocore_documentation()
    words = sum(len(t.split()) for t in texts)
    assert len(texts) > 2_000 and words > 50_000
    bedrock = " ".join(corpus.botocore_documentation(("bedrock",))).lower()
    for term in ("customization", "provisioned throughput", "custom model"):
        assert term in bedrock


def test_a_users_aws_profile_does_not_matter(monkeypatch):
    expected = corpus.botocore_documentation(("sts",))
    monkeypatch.setenv("AWS_PROFILE", "a-profile-that-does-not-exist")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    assert corpus.botocore_documentation(("sts",)) == expected


def test_paragraphs_split_blocks_and_decode_entities():
    markup = (
        "<p>Creates a <code>Bucket</code> for the objects you store in one place.</p>"
        "<ul><li><p>Short item.</p></li><li>Names use &lt;Region&gt; and A &amp; B in the ARN"
        " always.</li></ul>"
    )
    assert corpus.paragraphs(markup) == [
        "Creates a Bucket for the objects you store in one place.",
        "Names use <Region> and A & B in the ARN always.",
    ]


def test_unknown_service_is_an_error():
    with pytest.raises(UnknownServiceError):
        corpus.botocore_documentation(("no-such-service",))
