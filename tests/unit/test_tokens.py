"""Token counts: Bedrock's CountTokens where the model has it, a conservative estimate elsewhere."""

from __future__ import annotations

from standin import StandIn
from standin import tokens as standin_tokens
from utils import tokens, validation

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
PROSE = " ".join(
    f"Sentence number {i} says that the harbour cranes lift containers at every tide."
    for i in range(1, 1300)
)


def test_models_without_count_tokens_fall_back_to_the_estimate(aws: StandIn) -> None:
    assert tokens.bedrock_counter("amazon.nova-micro-v1:0") is None
    assert tokens.bedrock_counter("us.amazon.nova-micro-v1:0") is None  # profiles are refused


def test_count_tokens_answers_with_the_standins_count(before_retirements: StandIn) -> None:
    count = tokens.bedrock_counter(HAIKU)
    assert count is not None
    assert count("Hello there, how are you?") == standin_tokens.count_tokens(
        "Hello there, how are you?"
    )
    assert count(PROSE) > count(PROSE[:1000]) > 0


def test_a_record_only_the_estimate_puts_over_the_limit_is_counted_before_it_is_refused(
    before_retirements: StandIn,
) -> None:
    record = {"messages": [{"role": "user", "content": PROSE},
                           {"role": "assistant", "content": "A summary."}]}  # fmt: skip
    records = [record] * 32  # Claude 3 Haiku's minimum
    estimated = validation.validate_records(records, "fine-tuning", HAIKU)
    assert {p.rule for p in estimated.problems} == {"tokens.max"}
    assert "estimated at 3 characters a token" in estimated.problems[0].message
    assert "no CountTokens" in estimated.summary()
    counted = validation.validate_records(
        records, "fine-tuning", HAIKU, token_counter=tokens.bedrock_counter(HAIKU)
    )
    assert counted.valid  # the exact count is under 32,000
    assert "counted with Bedrock's CountTokens" in counted.summary()
