"""Contract tests: the workshop and the stand-in, written from separate statements of the same
facts, must agree with each other and with the documented verdicts.

A disagreement is a failure unless it is listed below with its reason. The corpus of datasets
and their documented verdicts lives in ``tests/contract/`` (see ``make_corpus.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from standin import catalog, datarules
from utils import validation

CONTRACT = Path(__file__).parent
MANIFEST = json.loads((CONTRACT / "verdicts.json").read_text(encoding="utf-8"))
CASES = MANIFEST["cases"]

# Cases where a side is known to judge differently from the documented verdict, and why.
# Each entry is (case id, side) -> reason; a listed case that starts to agree fails too, so
# the list cannot go stale.
KNOWN: dict[tuple[str, str], str] = {}


def _workshop_valid(case: dict[str, Any]) -> bool:
    report = validation.validate_file(
        CONTRACT / "datasets" / case["file"],
        case["job"],
        case["model"],
        case["split"],
        check_media=False,
    )
    return report.valid


def _standin_valid(case: dict[str, Any]) -> bool:
    body = (CONTRACT / "datasets" / case["file"]).read_bytes()
    return datarules.check_dataset(body, case["rules"], case["split"]).valid


@pytest.mark.parametrize("side", ["workshop", "stand-in"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_both_sides_give_the_documented_verdict(case: dict[str, Any], side: str) -> None:
    judge = _workshop_valid if side == "workshop" else _standin_valid
    agrees = judge(case) == case["valid"]
    reason = KNOWN.get((case["id"], side))
    if reason:
        assert not agrees, f"{case['id']} now agrees on the {side} side: drop it from KNOWN"
        return
    assert agrees, (
        f"{side} says {'valid' if not case['valid'] else 'invalid'} for {case['id']}; the "
        f"documentation says {'valid' if case['valid'] else 'invalid'}: {case['why']} "
        f"({case['source']})"
    )


def test_every_case_names_a_model_both_sides_know() -> None:
    for case in CASES:
        assert validation.resolve_model(case["model"]).model_id == case["model"]
        assert catalog.find(case["model"]) is not None, case["model"]
        assert case["rules"] in datarules.RULE_SETS
