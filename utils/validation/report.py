"""What validation found: problems, each with its line, field and rule, and the reports of them.

A :class:`Problem` is one broken rule; a :class:`ValidationReport` gathers the problems of
one file or list of records with its counts and verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from utils.errors import WorkshopError

if TYPE_CHECKING:
    import pandas as pd

MAX_PROBLEMS = 1000
"""Problems kept in a report; further ones are only counted, so memory stays bounded."""

Emit = Callable[[str, str, str], None]
"""``emit(path, rule, message)``: how a check reports one problem of the record it checks."""


@dataclass(frozen=True)
class Problem:
    """One problem: where it is (line, field path) and what rule it breaks, with a fix.

    Attributes:
        line: 1-based line number (record position for in-memory records); None for the file.
        path: Field path such as ``messages[2].content[0].text``; empty for the whole line.
        rule: Rule id, a key of :data:`RULES`.
        message: What is wrong and how to fix it.
    """

    line: int | None
    path: str
    rule: str
    message: str

    def format(self, source: str) -> str:
        """``FILE:LINE: field.path: message`` (line and path left out when not known)."""
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {"line": self.line, "path": self.path, "rule": self.rule, "message": self.message}


@dataclass
class ValidationReport:
    """The outcome of validating one file or list of records.

    Attributes:
        source: What was read (path, ``s3://`` URI or ``<records>``).
        job: Normalized job name.
        model: Base model id the rules come from.
        split: ``train`` or ``validation``.
        records_read: Non-blank lines (or records) read.
        records_valid: Records without any problem.
        problems: The first :data:`MAX_PROBLEMS` problems, in file order.
        counts_by_rule: Count of every problem by rule id, including those not kept.
        bytes_read: Bytes read from the source.
        media_checked: Distinct media objects fetched from Amazon S3.
        media_unchecked: Media references not fetched (over ``max_media_checks``, or S3
            could not be reached).
    """

    source: str
    job: str
    model: str
    split: str
    records_read: int = 0
    records_valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts_by_rule: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0
    max_problems: int = MAX_PROBLEMS
    media_checked: int = 0
    media_unchecked: int = 0
    token_method: str | None = None
    """How tokens were counted, for models with a token limit per record."""

    @property
    def valid(self) -> bool:
        """True when no problem was found."""
        return not self.counts_by_rule

    @property
    def records_invalid(self) -> int:
        """Records with at least one problem."""
        return self.records_read - self.records_valid

    @property
    def problems_omitted(self) -> int:
        """Problems counted but not kept in :attr:`problems`."""
        return sum(self.counts_by_rule.values()) - len(self.problems)

    def add(self, problem: Problem) -> None:
        """Record a problem (kept while under ``max_problems``, always counted)."""
        self.counts_by_rule[problem.rule] += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)

    def summary(self) -> str:
        """One line: verdict, records read, valid and invalid, and problems by rule."""
        verdict = "VALID" if self.valid else "INVALID"
        line = (
            f"{self.source}: {verdict} for {self.job} of {self.model} ({self.split}): "
            f"{self.records_read} records read, {self.records_valid} valid, "
            f"{self.records_invalid} invalid"
        )
        if self.media_checked or self.media_unchecked:
            line += f"; {self.media_checked} media file(s) checked in Amazon S3"
            if self.media_unchecked:
                line += f", {self.media_unchecked} reference(s) not checked"
        if self.token_method:
            line += f"; tokens {self.token_method}"
        if self.valid:
            return line + "; no problems."
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.counts_by_rule.items()))
        return f"{line}; problems by rule: {by_rule}."

    def format_problems(self, limit: int | None = None) -> list[str]:
        """Problems as ``FILE:LINE: field.path: message`` lines (the first ``limit`` if given)."""
        shown = self.problems if limit is None else self.problems[:limit]
        return [p.format(self.source) for p in shown]

    def to_frame(self) -> pd.DataFrame:
        """Problems as a table with columns line, path, rule and message."""
        import pandas as pd

        frame = pd.DataFrame(
            [p.to_dict() for p in self.problems], columns=["line", "path", "rule", "message"]
        )
        frame["line"] = frame["line"].astype("Int64")
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The whole report as a JSON-ready dict."""
        return {
            "source": self.source,
            "job": self.job,
            "model": self.model,
            "split": self.split,
            "valid": self.valid,
            "records_read": self.records_read,
            "records_valid": self.records_valid,
            "records_invalid": self.records_invalid,
            "counts_by_rule": dict(sorted(self.counts_by_rule.items())),
            "problems": [p.to_dict() | {"text": p.format(self.source)} for p in self.problems],
            "problems_omitted": self.problems_omitted,
            "media_checked": self.media_checked,
            "media_unchecked": self.media_unchecked,
            "summary": self.summary(),
        }

    def raise_if_invalid(self, show: int = 10) -> ValidationReport:
        """Return the report when valid, else raise :class:`WorkshopError` listing the problems.

        Raises:
            WorkshopError: With the first ``show`` problems and the summary line.
        """
        if self.valid:
            return self
        raise invalid_error(self.format_problems(), self.counts_by_rule, self.summary(), show)

    def __str__(self) -> str:
        return "\n".join([*self.format_problems(), self.summary()])


def invalid_error(lines: list[str], counts: Counter[str], summary: str, show: int) -> WorkshopError:
    """The error for an invalid dataset: the first ``show`` problems, a count of the rest."""
    more = sum(counts.values()) - min(show, len(lines))
    shown = lines[:show] + ([f"... and {more} more problem(s)"] if more > 0 else [])
    return WorkshopError(
        "The dataset is not valid:\n" + "\n".join(shown) + "\n" + summary,
        "Fix the lines listed (each message says how), then validate again.",
    )
