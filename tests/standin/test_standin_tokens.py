"""The stand-in's token count: exact values, its ratio to characters, and monotonicity."""

from __future__ import annotations

import itertools
import random

import pytest

from standin.tokens import count_tokens

PROSE = [
    "The museum opens at nine in the morning and closes at six in the evening. Visitors can "
    "buy tickets at the front desk or online, and children under twelve enter for free. On the "
    "first floor there is a permanent exhibition about the history of the city, with maps, "
    "paintings and everyday objects from the last three centuries. Guided tours start every "
    "hour and last about forty-five minutes.",
    "Fine-tuning adapts a pretrained language model to a narrower task by continuing its "
    "training on labelled examples. Because the model already knows a great deal about grammar "
    "and the world, a few hundred well-chosen examples are often enough to change its tone, its "
    "format or the kind of answer it gives. The price is that the model may forget some of what "
    "it knew, so it is worth keeping a held-out set of questions to check that general "
    "abilities have not degraded.",
    "She bought a navy backpack on Tuesday, but when she got home she saw that the zip was "
    "broken. The next morning she took it back to the shop with the receipt. The assistant "
    "apologised, checked the bag and offered her a full refund or a new one of the same kind; "
    "she chose the refund and left with her money in less than five minutes.",
]

CODE = """def count_tokens(text: str) -> int:
    total = 0
    for i, ch in enumerate(text):
        if ch.isdigit():
            total += 1
    return total


class Verdict:
    records: int = 0
    problems: list[str] = field(default_factory=list)
"""

NUMBERS = (
    "2023-01-01,1045.50,3.14159,72\n2023-01-02,1102.75,2.71828,68\n"
    "2023-01-03,998.20,1.41421,75\nTotal: 3146.45 (avg 1048.82)"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("the", 1),
        (" the", 1),  # the space before a word is part of its token
        ("tokenizer", 3),  # pieces of at most 4 letters: toke, nize, r
        ("Hello, world!", 6),  # Hell+o, ",", " worl"+"d", "!"
        ("2024", 2),  # digit groups of at most 3
        ("1234567", 3),
        ("a\nb", 3),  # a line break is a token
        ("a\n\n\nb", 5),
        ("    x", 2),  # 3 spaces of indentation (1 token) + " x"
        ("x   ", 2),  # trailing spaces have nothing to join: one token per 4
        ("café", 2),  # "caf" + the accented letter on its own
        ("日本語", 3),  # one token per CJK character
        ("😀", 2),  # a non-ASCII symbol counts 2
        ("don't", 3),  # don, ', t
    ],
)
def test_exact_counts(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_english_prose_counts_at_least_characters_over_four() -> None:
    for text in PROSE:
        tokens = count_tokens(text)
        ratio = len(text) / tokens
        # Conservative: more tokens than characters / 4, and not absurdly many (3 to 4 chars).
        assert tokens >= len(text) / 4
        assert 3.0 <= ratio <= 4.0, ratio
    whole = " ".join(PROSE)
    assert 3.3 <= len(whole) / count_tokens(whole) <= 3.7


def test_code_and_numbers_cost_more_tokens_per_character_than_prose() -> None:
    prose = " ".join(PROSE)
    prose_rate = count_tokens(prose) / len(prose)
    code_rate = count_tokens(CODE) / len(CODE)
    number_rate = count_tokens(NUMBERS) / len(NUMBERS)
    assert code_rate > 1.25 * prose_rate
    assert number_rate > 1.5 * prose_rate
    assert number_rate > code_rate


def test_the_workshop_224_record_is_over_the_titan_limit() -> None:
    # amazon-bedrock-workshop#224: a chunk sized by 6 characters per token (here 19,800
    # characters, 3,300 tokens by that rule) that Bedrock counted at 4,919, over Titan's
    # 4,096. The stand-in must refuse such a record too, and count at least as many tokens.
    text = ""
    while len(text) < 19_800:
        text += " ".join(PROSE) + "\n"
    text = text[:19_800]
    assert len(text) // 6 < 4_096
    assert count_tokens(text) > 4_919


def test_appending_text_never_lowers_the_count() -> None:
    samples = [*PROSE, CODE, NUMBERS, "x   \n  y", "a  b\t c\r\n", "日本 語😀 é1,2"]
    rng = random.Random(7)
    alphabet = "ab Z09 \n\t.,'é日😀-"
    samples += ["".join(rng.choice(alphabet) for _ in range(300)) for _ in range(20)]
    for text in samples:
        counts = [count_tokens(text[:i]) for i in range(len(text) + 1)]
        assert all(a <= b for a, b in itertools.pairwise(counts)), text


def test_concatenation_costs_about_the_sum_of_its_parts() -> None:
    a, b = PROSE[0], PROSE[1]
    joined = count_tokens(a + " " + b)
    # The joining space is absorbed; nothing else merges across a sentence boundary.
    assert joined == count_tokens(a) + count_tokens(b)
