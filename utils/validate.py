"""Command line for the dataset validator: ``python -m utils.validate FILE [options]``.

Exit status: 0 when the file is valid, 1 when it has problems (including a missing or
unreadable file), 2 for a usage error (unknown option, job, model or split).

Example::

    python -m utils.validate data/train.jsonl --job fine-tuning --model amazon.nova-lite-v1:0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from utils.errors import WorkshopError
from utils.validation import JOBS, MODELS, SPLITS, validate_file

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.validate",
        description="Check a JSON Lines dataset for an Amazon Bedrock customization job.",
        epilog="Exit status: 0 valid, 1 invalid, 2 usage error. Known models: " + ", ".join(MODELS),
    )
    parser.add_argument("file", help="path or s3://bucket/key of the .jsonl file")
    parser.add_argument("--job", default="fine-tuning", help=f"one of {', '.join(JOBS)}")
    parser.add_argument(
        "--model", default="amazon.nova-micro-v1:0", help="base model id (default: %(default)s)"
    )
    parser.add_argument("--split", default="train", choices=SPLITS, help="default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the validator on the command line arguments and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad arguments
        return int(exc.code or 0)
    try:
        report = validate_file(args.file, job=args.job, model=args.model, split=args.split)
    except WorkshopError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.json:
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            for line in report.format_problems():
                print(line)
            if report.problems_omitted:
                print(f"... and {report.problems_omitted} more problem(s) not shown")
            print(report.summary())
    except BrokenPipeError:
        # Output piped into `head` and closed early: the verdict still goes to the exit status.
        sys.stdout = None  # type: ignore[assignment]  # keeps the interpreter from flushing again
    return EXIT_VALID if report.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
