"""The README's table of what Amazon Bedrock offers for customization, from ``utils.models``.

``python -m tools.offer`` prints it; ``python -m tools.offer --write`` puts it into README.md
between the markers. A test keeps the README and the registry the same.
"""

from __future__ import annotations

import argparse
import sys

from utils import models, paths

START = "<!-- offer-table:start -->"
END = "<!-- offer-table:end -->"


def _lifecycle(fam: models.ModelFamily) -> str:
    status = fam.life.status()
    if status == models.EOL:
        return f"**end of life** {fam.life.end_of_life}"
    if status == models.LEGACY:
        return f"Legacy since {fam.life.legacy}"
    return "Active"


def _serving(fam: models.ModelFamily) -> str:
    served = "on demand (deployment) or provisioned" if fam.on_demand_deployment else "provisioned"
    if fam.profile:
        served += f"; base model through `{fam.profile}`"
    return served


def markdown() -> str:
    """The table, one row per family of the registry."""
    lines = [
        f"As the workshop's registry (`utils/models.py`) holds it, checked {models.CHECKED}:",
        "",
        "| Model | Customization id | Regions | Customization | Lifecycle | Custom models served |",
        "|---|---|---|---|---|---|",
    ]
    for fam in models.FAMILIES:
        types = ", ".join(models.TYPE_WORDS[t] for t in sorted(fam.customizations))
        lines.append(
            f"| {fam.name} | `{fam.customization_id}` | {', '.join(fam.regions)} | {types} | "
            f"{_lifecycle(fam)} | {_serving(fam)} |"
        )
    return "\n".join(lines)


def readme_section(text: str) -> str:
    """What README.md holds between the markers."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip("\n")


def main(argv: list[str] | None = None) -> int:
    """Print the table, or write it into README.md with ``--write``."""
    parser = argparse.ArgumentParser(prog="python -m tools.offer", description=__doc__)
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    table = markdown()
    if not args.write:
        print(table)
        return 0
    readme = paths.ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:start] + "\n" + table + "\n" + text[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
