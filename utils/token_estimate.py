"""Estimating tokens without a tokenizer: characters / 3, rounded up.

The estimate is deliberately conservative for prose (see :mod:`utils.tokens`, which counts
exactly with Bedrock's CountTokens where it can). Data preparation (:mod:`utils.datasets`)
chunks text by it and the validator (:mod:`utils.validation`) checks token limits with it.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 3
"""Characters per token assumed by :func:`estimate_tokens`: a conservative count (see
:mod:`utils.tokens`; six, the old guidance for Titan, undercounts)."""


def estimate_tokens(text: str) -> int:
    """Estimate tokens as characters / 3, rounded up: conservative, without a tokenizer.

    Used throughout the workshop (chunking, validation limits, cost estimates); English prose
    takes fewer tokens than this, but markup- and identifier-dense text (``#Person1#:``,
    code) can take more.
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)
