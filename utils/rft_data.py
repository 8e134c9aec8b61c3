"""Seeded arithmetic word problems for reinforcement fine-tuning, with answers a grader can check.

Each problem is built from a template and random quantities, and its answer is computed, not
written: the reward function (``fine-tuning/rewards/arithmetic_reward.py``) can then score a
model's answer exactly. Records follow Bedrock's reinforcement fine-tuning format ("Prepare
data for Amazon Nova models", rft-prepare-data.html, read 2026-12-02): OpenAI chat
``messages`` (a system and a user turn, no assistant turn: the model writes that one) and a
``reference_answer`` object; the extra ``id`` field is allowed there and helps tracing.

The same seed gives the same problems; the splits never share a question.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError
from utils.validation.rules import MODELS

if TYPE_CHECKING:
    import pandas as pd

SYSTEM_PROMPT = (
    "You solve arithmetic word problems. Think step by step, then give the final answer "
    "as a whole number on the last line, written as 'Answer: <number>'."
)
"""The instruction each prompt carries; the reward function reads the last number it asks for."""

RFT_MODEL = "amazon.nova-2-lite-v1:0"

MIN_TRAIN = MODELS[RFT_MODEL].jobs["reinforcement-fine-tuning"].min_records["train"]
"""Fewest training records Bedrock takes (100, from the validator's rules)."""

MAX_TRAIN = MODELS[RFT_MODEL].jobs["reinforcement-fine-tuning"].max_records["train"]
"""Most prompts Bedrock takes for reinforcement fine-tuning (20,000)."""


@dataclass(frozen=True)
class Problem:
    """One word problem and its answer."""

    question: str
    answer: int


def _eaten(r: random.Random) -> Problem:
    shelves, per, eaten = r.randint(2, 9), r.randint(6, 24), r.randint(1, 20)
    thing = r.choice(["apples", "pears", "plums", "lemons"])
    return Problem(
        f"A shelf holds {shelves} boxes of {per} {thing}. {eaten} {thing} are eaten. "
        f"How many {thing} are left?",
        shelves * per - eaten,
    )


def _shared(r: random.Random) -> Problem:
    friends, each, extra = r.randint(2, 8), r.randint(3, 15), r.randint(0, 9)
    return Problem(
        f"{friends} friends share some marbles so that each gets {each}, and {extra} marbles "
        "are left over. How many marbles were there?",
        friends * each + extra,
    )


def _bus(r: random.Random) -> Problem:
    start, off, on = r.randint(20, 60), r.randint(1, 19), r.randint(0, 25)
    return Problem(
        f"A bus leaves with {start} passengers. At the first stop {off} get off and {on} get "
        "on. How many passengers are on the bus now?",
        start - off + on,
    )


def _savings(r: random.Random) -> Problem:
    weeks, saved, spent = r.randint(3, 12), r.randint(5, 40), r.randint(1, 30)
    return Problem(
        f"Mia saves {saved} dollars a week for {weeks} weeks, then spends {spent} dollars on a "
        "book. How many dollars does she have left?",
        weeks * saved - spent,
    )


def _rows(r: random.Random) -> Problem:
    rows, seats, empty = r.randint(4, 20), r.randint(8, 30), r.randint(0, 12)
    return Problem(
        f"A hall has {rows} rows of {seats} seats. {empty} seats are empty. How many seats "
        "are taken?",
        rows * seats - empty,
    )


def _split(r: random.Random) -> Problem:
    groups, size = r.randint(2, 12), r.randint(3, 25)
    return Problem(
        f"A teacher puts {groups * size} pencils into {groups} equal cups. How many pencils "
        "go in each cup?",
        size,
    )


TEMPLATES: tuple[Callable[[random.Random], Problem], ...] = (
    _eaten,
    _shared,
    _bus,
    _savings,
    _rows,
    _split,
)
"""The problem makers; each draws its quantities from the generator it is given."""


_MAX_MISSES = 2_000


def problems(count: int, seed: int = 0) -> list[Problem]:
    """``count`` distinct problems, the same for the same seed.

    Raises:
        WorkshopError: The templates cannot make that many distinct problems.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Problem] = []
    # Duplicates are skipped; when this many draws in a row bring nothing new, the templates
    # are all but exhausted, and the request fails instead of looping for ever.
    misses = 0
    while len(out) < count and misses < _MAX_MISSES:
        problem = rng.choice(TEMPLATES)(rng)
        if problem.question in seen:
            misses += 1
            continue
        misses = 0
        seen.add(problem.question)
        out.append(problem)
    if len(out) < count:
        raise WorkshopError(
            f"Only {len(out):,} distinct problems could be made, not {count:,}.",
            "Ask for fewer records.",
        )
    return out


def record(problem: Problem, record_id: str) -> dict[str, Any]:
    """The reinforcement fine-tuning record of one problem."""
    return {
        "id": record_id,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": problem.question},
        ],
        "reference_answer": {"answer": problem.answer},
    }


def make_splits(
    train: int = MIN_TRAIN, validation: int = 20, test: int = 20, seed: int = 0
) -> dict[str, list[dict[str, Any]]]:
    """Records for ``train``, ``validation`` and a held-out ``test`` split, no question shared.

    Raises:
        WorkshopError: ``train`` is outside what Bedrock accepts (100 to 20,000), or a size
            is negative.
    """
    if not MIN_TRAIN <= train <= MAX_TRAIN:
        raise WorkshopError(
            f"A reinforcement fine-tuning training file of {train:,} records is refused.",
            f"Ask for {MIN_TRAIN:,} to {MAX_TRAIN:,} training records (rft-prepare-data.html, "
            "rft-nova-models.html).",
        )
    if validation < 0 or test < 0:
        raise WorkshopError("Split sizes cannot be negative.", "Give 0 or more records.")
    drawn = problems(train + validation + test, seed)
    sizes = {"train": train, "validation": validation, "test": test}
    out: dict[str, list[dict[str, Any]]] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = [
            record(p, f"{name}-{i:05d}") for i, p in enumerate(drawn[start : start + size])
        ]
        start += size
    return out


def _lines(records: list[dict[str, Any]]) -> Iterator[str]:
    for item in records:
        yield json.dumps(item, ensure_ascii=False) + "\n"


def write(splits: dict[str, list[dict[str, Any]]], folder: str | Path) -> dict[str, Path]:
    """Write each split as ``<name>.jsonl`` in ``folder``; return their paths.

    An empty split is not written (a zero-line file is not a dataset).
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, records in splits.items():
        if not records:
            continue
        path = root / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(_lines(records))
        paths[name] = path
    return paths


def write_splits(
    folder: str | Path,
    train: int = MIN_TRAIN,
    validation: int = 20,
    test: int = 20,
    seed: int = 0,
) -> dict[str, Path]:
    """Make the splits (:func:`make_splits`) and write them (:func:`write`); their paths."""
    return write(make_splits(train, validation, test, seed), folder)


def preview(records: list[dict[str, Any]], n: int = 5) -> pd.DataFrame:
    """The first ``n`` records as a table: id, question and the answer the grader checks."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "id": r.get("id"),
                "question": next(
                    (m["content"] for m in r["messages"] if m.get("role") == "user"), ""
                ),
                "reference_answer": r.get("reference_answer"),
            }
            for r in records[:n]
        ]
    )
