"""Self-check of the contract corpus in tests/contract/: manifest, data files, generator.

The corpus states what Amazon Bedrock would decide about each small dataset. These tests only
check that the corpus is well formed and reproducible; comparing validators against it is the job
of the contract test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONTRACT = Path(__file__).resolve().parent
DATASETS = CONTRACT / "datasets"
MANIFEST = CONTRACT / "verdicts.json"
GENERATOR = CONTRACT / "make_corpus.py"

RULE_SETS = {
    "nova-conversation",
    "nova-micro-conversation",
    "llama-3.2-conversation",
    "llama-3.2-vision-conversation",
    "llama-3.1-prompt-completion",
    "titan-prompt-completion",
    "titan-cpt",
    "claude-3-haiku-messages",
    "distillation-prompts",
    "rft-prompts",
}
JOBS = {"fine-tuning", "continued-pretraining", "distillation", "reinforcement-fine-tuning"}
CATEGORIES = {"json", "schema", "roles", "empty", "media", "reserved", "tokens", "count"}
FILE_LEVEL = {"count"}
FIELDS = {
    "id",
    "file",
    "rules",
    "job",
    "model",
    "split",
    "valid",
    "rule",
    "line",
    "why",
    "source",
}
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases(manifest: dict) -> list[dict]:
    return manifest["cases"]


def data_lines(case: dict) -> list[str]:
    return (DATASETS / case["file"]).read_text(encoding="utf-8").splitlines()


def is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def test_manifest_parses(manifest: dict, cases: list[dict]) -> None:
    assert DATE.fullmatch(manifest["checked"])
    assert isinstance(cases, list)
    assert len(cases) >= 40


def test_case_fields(cases: list[dict]) -> None:
    for case in cases:
        assert set(case) == FIELDS, case["id"]
        assert case["rules"] in RULE_SETS, case["id"]
        assert case["job"] in JOBS, case["id"]
        assert case["split"] in {"train", "validation"}, case["id"]
        assert isinstance(case["model"], str) and case["model"], case["id"]
        assert isinstance(case["valid"], bool), case["id"]
        assert case["file"] == f"{case['id']}.jsonl", case["id"]


def test_ids_unique(cases: list[dict]) -> None:
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids))


def test_files_exist_and_every_file_is_listed(cases: list[dict]) -> None:
    listed = {case["file"] for case in cases}
    on_disk = {path.name for path in DATASETS.iterdir()}
    assert listed <= on_disk, sorted(listed - on_disk)
    assert on_disk <= listed, sorted(on_disk - listed)


def test_verdict_shape(cases: list[dict]) -> None:
    for case in cases:
        if case["valid"]:
            assert case["rule"] is None and case["line"] is None, case["id"]
            continue
        assert case["rule"] in CATEGORIES, case["id"]
        assert isinstance(case["line"], int) and not isinstance(case["line"], bool), case["id"]
        assert (case["line"] == 0) == (case["rule"] in FILE_LEVEL), case["id"]


def test_every_case_names_a_dated_source(cases: list[dict]) -> None:
    for case in cases:
        assert isinstance(case["why"], str) and case["why"].strip(), case["id"]
        assert isinstance(case["source"], str) and DATE.search(case["source"]), case["id"]


def test_named_line_exists(cases: list[dict]) -> None:
    for case in cases:
        if case["valid"] or case["line"] == 0:
            continue
        assert 1 <= case["line"] <= len(data_lines(case)), case["id"]


def test_only_the_named_line_breaks_json(cases: list[dict]) -> None:
    """A json case is unreadable exactly at its named line; every other line is a JSON object."""
    for case in cases:
        lines = data_lines(case)
        assert lines, case["id"]
        bad = [number for number, line in enumerate(lines, 1) if not is_object(line)]
        expected = [case["line"]] if case["rule"] == "json" else []
        assert bad == expected, case["id"]


def test_every_rule_set_has_valid_and_invalid_cases(cases: list[dict]) -> None:
    for rules in RULE_SETS:
        verdicts = {case["valid"] for case in cases if case["rules"] == rules}
        assert verdicts == {True, False}, rules


def test_generator_reproduces_the_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True)
    made = {path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()}
    kept = {Path("verdicts.json")} | {Path("datasets") / path.name for path in DATASETS.iterdir()}
    assert made == kept
    for relative in sorted(made):
        assert (tmp_path / relative).read_bytes() == (CONTRACT / relative).read_bytes(), relative
