"""What the workshop's folder check (``utils.model_import``) and the stand-in's model import
jobs (``standin.catalog``, Custom Model Import) each believe Bedrock accepts.

Both were written from their own reading of the same pages. A difference fails unless
:data:`ALLOWED` lists it with the reason, and an allowed difference that has gone away fails too.
"""

from __future__ import annotations

from standin import catalog
from utils import model_import

ALLOWED: dict[tuple[str, str], str] = {
    ("Qwen2ForCausalLM", "converse"): (
        "Qwen2 takes Converse and Qwen2.5 does not, under one class: the workshop says it "
        "cannot tell (None), the stand-in refuses (False), its conservative reading."
    ),
}


def _differences() -> dict[tuple[str, str], tuple[object, object]]:
    found: dict[tuple[str, str], tuple[object, object]] = {}

    def differ(what: tuple[str, str], ours: object, theirs: object) -> None:
        if ours != theirs:
            found[what] = (ours, theirs)

    differ(
        ("*", "architectures"), set(model_import.ARCHITECTURES), set(catalog.IMPORT_ARCHITECTURES)
    )
    for name, ours in model_import.ARCHITECTURES.items():
        theirs = catalog.IMPORT_ARCHITECTURES.get(name)
        if theirs is None:
            continue
        differ((name, "model_type"), ours.model_type, theirs.model_type)
        differ((name, "converse"), ours.converse, theirs.converse)
    differ(("*", "dtypes"), set(model_import.DTYPES), set(catalog.IMPORT_DTYPES))
    differ(("*", "regions"), set(model_import.REGIONS), set(catalog.IMPORT_REGIONS))
    differ(
        ("*", "tokenizer vocabularies"),
        set(model_import.TOKENIZER_VOCABULARIES),
        set(catalog.IMPORT_TOKENIZER_VOCABULARIES),
    )
    differ(
        ("*", "tokenizer config"), model_import.TOKENIZER_CONFIG, catalog.IMPORT_TOKENIZER_CONFIG
    )
    differ(
        ("*", "adapter files"), set(model_import.ADAPTER_FILES), set(catalog.IMPORT_ADAPTER_FILES)
    )
    differ(
        ("*", "pickle weights"),
        set(model_import.PICKLE_WEIGHTS),
        set(catalog.IMPORT_PICKLE_SUFFIXES),
    )
    return found


def test_the_workshop_and_the_stand_in_agree_on_what_imports() -> None:
    found = _differences()
    assert {k: v for k, v in found.items() if k not in ALLOWED} == {}
    assert sorted(set(ALLOWED) - set(found)) == [], "allowed differences are gone: remove them"


def test_both_read_their_facts_on_the_same_day() -> None:
    assert model_import.CHECKED == catalog.IMPORT_CHECKED
