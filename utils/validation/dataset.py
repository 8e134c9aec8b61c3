"""A training file and its validation file checked together, with the limits that span both."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.validation.api import validate_file
from utils.validation.media import MAX_MEDIA_CHECKS
from utils.validation.reading import MAX_LINE_BYTES
from utils.validation.report import MAX_PROBLEMS, Problem, ValidationReport, invalid_error
from utils.validation.rules import rules_for


@dataclass
class DatasetReport:
    """The outcome of validating a training file and its optional validation file together.

    Attributes:
        train: Report of the training file.
        validation: Report of the validation file, if one was given.
        problems: Problems of the pair (limits that span both files); ``line`` is None.
        max_total_records: The limit on both files together, if the model has one.
    """

    train: ValidationReport
    validation: ValidationReport | None = None
    problems: list[Problem] = field(default_factory=list)
    max_total_records: int | None = None

    @property
    def reports(self) -> list[ValidationReport]:
        """The file reports: training first, then validation when given."""
        return [self.train] if self.validation is None else [self.train, self.validation]

    @property
    def source(self) -> str:
        """The files, as ``train + validation`` in messages about both."""
        return " + ".join(r.source for r in self.reports)

    @property
    def records_read(self) -> int:
        """Records read in both files."""
        return sum(r.records_read for r in self.reports)

    @property
    def counts_by_rule(self) -> Counter[str]:
        """Problems by rule id over both files and the pair."""
        counts: Counter[str] = Counter(p.rule for p in self.problems)
        for report in self.reports:
            counts.update(report.counts_by_rule)
        return counts

    @property
    def valid(self) -> bool:
        """True when neither file nor the pair has a problem."""
        return not self.problems and all(r.valid for r in self.reports)

    def format_problems(self) -> list[str]:
        """Problems of the training file, the validation file, then of the pair."""
        lines = [line for report in self.reports for line in report.format_problems()]
        return lines + [p.format(self.source) for p in self.problems]

    def summary(self) -> str:
        """One line for the pair: verdict, records per file and in all, problems by rule."""
        verdict = "VALID" if self.valid else "INVALID"
        parts = [f"{r.split} {r.records_read}" for r in self.reports]
        limit = f" (at most {self.max_total_records:,})" if self.max_total_records else ""
        line = (
            f"{self.source}: {verdict} dataset for {self.train.job} of {self.train.model}: "
            f"{', '.join(parts)} records, {self.records_read} in all{limit}"
        )
        if self.valid:
            return line + "; no problems."
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(self.counts_by_rule.items()))
        return f"{line}; problems by rule: {by_rule}."

    def to_dict(self) -> dict[str, Any]:
        """The reports of both files and the pair's problems as a JSON-ready dict."""
        return {
            "source": self.source,
            "valid": self.valid,
            "records_read": self.records_read,
            "max_total_records": self.max_total_records,
            "counts_by_rule": dict(sorted(self.counts_by_rule.items())),
            "train": self.train.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
            "problems": [p.to_dict() | {"text": p.format(self.source)} for p in self.problems],
            "summary": self.summary(),
        }

    def raise_if_invalid(self, show: int = 10) -> DatasetReport:
        """Return the report when valid, else raise :class:`WorkshopError` listing the problems.

        Raises:
            WorkshopError: With the first ``show`` problems and the summary line.
        """
        if self.valid:
            return self
        raise invalid_error(self.format_problems(), self.counts_by_rule, self.summary(), show)

    def __str__(self) -> str:
        summaries = [r.summary() for r in self.reports]
        return "\n".join([*self.format_problems(), *summaries, self.summary()])


def validate_dataset(
    train: str | Path,
    validation: str | Path | None = None,
    job: str = "fine-tuning",
    model: str = "amazon.nova-micro-v1:0",
    *,
    check_media: bool = True,
    max_media_checks: int = MAX_MEDIA_CHECKS,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_problems: int = MAX_PROBLEMS,
    token_counter: Callable[[str], int] | None = None,
) -> DatasetReport:
    """Validate a training file and an optional validation file, and the limits on both.

    Each file is read once with :func:`validate_file` (its own split's rules); then the
    limits that span the pair are checked, such as Claude 3 Haiku's 10,000 records in
    all (``count.total_max``). Options are those of :func:`validate_file`, per file.

    Raises:
        WorkshopError: Unknown job or model, or a job the model does not support.
    """
    _, _, rules = rules_for(job, model)
    options: dict[str, Any] = {
        "job": job,
        "model": model,
        "check_media": check_media,
        "max_media_checks": max_media_checks,
        "max_line_bytes": max_line_bytes,
        "max_problems": max_problems,
        "token_counter": token_counter,
    }
    report = DatasetReport(
        train=validate_file(train, split="train", **options),
        validation=None
        if validation is None
        else validate_file(validation, split="validation", **options),
        max_total_records=rules.max_total_records,
    )
    limit = rules.max_total_records
    if report.validation is not None and limit is not None:
        counts = [
            r.records_valid if rules.count_valid_only else r.records_read for r in report.reports
        ]
        if sum(counts) > limit:
            report.problems.append(
                Problem(
                    None,
                    "",
                    "count.total_max",
                    f"the training ({counts[0]:,}) and validation ({counts[1]:,}) files hold "
                    f"{sum(counts):,} records together; the limit is {limit:,} in all: remove "
                    "some, or move fewer records to the validation file.",
                )
            )
    return report
