"""The README's table of Bedrock's offer is the registry's, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import offer
from utils import models, paths


def test_the_readme_table_is_the_one_the_registry_makes() -> None:
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    assert offer.readme_section(readme) == offer.markdown(), (
        "README.md is out of date: run .venv/bin/python -m tools.offer --write"
    )


def test_every_family_has_a_row_saying_its_lifecycle() -> None:
    table = offer.markdown()
    for fam in models.FAMILIES:
        row = next(line for line in table.splitlines() if f"`{fam.customization_id}`" in line)
        retired = fam.life.status() == models.EOL
        assert ("**end of life**" in row) == retired
        assert ", ".join(fam.regions) in row


def test_write_replaces_only_the_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "README.md").write_text(
        f"# Title\n\nbefore\n{offer.START}\nold table\n{offer.END}\nafter\n", encoding="utf-8"
    )
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    assert offer.main(["--write"]) == 0
    text = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n") and text.endswith(f"{offer.END}\nafter\n")
    assert offer.readme_section(text) == offer.markdown()
