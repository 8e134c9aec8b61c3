"""Command line for the dataset validator: ``python -m utils.validation FILE [options]``.

Exit status: 0 when the file (or pair of files) is valid, 1 when it has problems
(including a missing or unreadable file), 2 for a usage error (unknown option, job,
model or split).

Examples::

    python -m utils.validation data/train.jsonl --job fine-tuning --model amazon.nova-lite-v1:0
    python -m utils.validation train.jsonl --validation validation.jsonl \\
        --model anthropic.claude-3-haiku-20240307-v1:0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from utils.errors import WorkshopError
from utils.validation import (
    JOBS,
    MAX_MEDIA_CHECKS,
    MODELS,
    SPLITS,
    DatasetReport,
    ValidationReport,
    validate_dataset,
    validate_file,
)

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.validation",
        description="Check a JSON Lines dataset for an Amazon Bedrock customization job.",
        epilog="Exit status: 0 valid, 1 invalid, 2 usage error. Known models: " + ", ".join(MODELS),
    )
    parser.add_argument("file", help="path or s3://bucket/key of the .jsonl file")
    parser.add_argument("--job", default="fine-tuning", help=f"one of {', '.join(JOBS)}")
    parser.add_argument(
        "--model", default="amazon.nova-micro-v1:0", help="base model id (default: %(default)s)"
    )
    parser.add_argument(
        "--split",
        default=None,
        choices=SPLITS,
        help="split of FILE (default: train; FILE is the training file with --validation)",
    )
    parser.add_argument(
        "--validation",
        metavar="FILE",
        help="validation file to check with FILE as a pair (adds limits that span both)",
    )
    parser.add_argument(
        "--no-check-media",
        dest="check_media",
        action="store_false",
        help="do not fetch images and videos from Amazon S3 (validate offline)",
    )
    parser.add_argument(
        "--max-media-checks",
        type=_count,
        default=MAX_MEDIA_CHECKS,
        metavar="N",
        help="most media objects fetched per file (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _print(report: ValidationReport | DatasetReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for line in report.format_problems():
        print(line)
    parts = report.reports if isinstance(report, DatasetReport) else [report]
    omitted = sum(r.problems_omitted for r in parts)
    if omitted:
        print(f"... and {omitted} more problem(s) not shown")
    if isinstance(report, DatasetReport):
        for part in parts:
            print(part.summary())
    print(report.summary())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validator on the command line arguments and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        return int(exc.code or 0)
    if args.validation is not None and args.split not in (None, "train"):
        print(
            f"{parser.prog}: error: with --validation, FILE is the training file; drop --split.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    options: dict[str, Any] = {
        "job": args.job,
        "model": args.model,
        "check_media": args.check_media,
        "max_media_checks": args.max_media_checks,
    }
    report: ValidationReport | DatasetReport
    try:
        if args.validation is None:
            report = validate_file(args.file, split=args.split or "train", **options)
        else:
            report = validate_dataset(args.file, args.validation, **options)
    except WorkshopError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        _print(report, args.json)
    except BrokenPipeError:
        # Output piped into `head` and closed early: the verdict still goes to the exit status.
        sys.stdout = None  # keeps the interpreter from flushing again
    return EXIT_VALID if report.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
