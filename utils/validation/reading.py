"""Reading JSON Lines: opening a file or S3 object, splitting lines and parsing each record.

:class:`Engine` reads a stream line by line in bounded memory, reports file- and
line-level problems (encoding, blank lines, JSON syntax, duplicate keys) and hands each
record to a :class:`~utils.validation.records.RecordChecker`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from utils.errors import error_code
from utils.validation.records import RecordChecker
from utils.validation.report import Emit, Problem, ValidationReport
from utils.validation.rules import DatasetRules

MAX_LINE_BYTES = 10 * 1024 * 1024
"""Longest line read (10 MiB); longer lines are reported as ``line.too_long``, never loaded."""


class _RawReader(io.RawIOBase):
    """Adapts anything with ``read(n)`` (an S3 body) so that ``io.BufferedReader`` can wrap it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Stop(Exception):
    """Reading cannot go on (file-level problem already reported)."""


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """The bucket and key of an ``s3://bucket/key`` URI, or None when it is not one."""
    match = re.match(r"^s3://([^/]+)/(.+)$", uri)
    return (match.group(1), match.group(2)) if match else None


def open_source(source: str | Path, report: ValidationReport) -> IO[bytes] | None:
    """Open a local path or ``s3://`` URI as a buffered binary stream.

    Returns None when it cannot be opened, after adding the file-level problem (missing,
    a directory, unreadable) to ``report``.
    """
    text = str(source)
    if text.startswith("s3://"):
        return _open_s3(text, report)
    path = Path(text).expanduser()
    if path.is_dir():
        report.add(
            Problem(None, "", "file.directory", "is a directory; pass the path of a .jsonl file.")
        )
        return None
    try:
        return path.open("rb", buffering=1 << 20)
    except FileNotFoundError:
        report.add(
            Problem(None, "", "file.missing", "does not exist; check the path and the file name.")
        )
    except OSError as exc:
        report.add(
            Problem(
                None,
                "",
                "file.unreadable",
                f"cannot be read ({exc.strerror or exc}); check its permissions.",
            )
        )
    return None


def _open_s3(uri: str, report: ValidationReport) -> IO[bytes] | None:
    from utils.clients import client  # here, not at the top: it loads boto3 (see media.py)

    parts = parse_s3_uri(uri)
    if parts is None:
        report.add(
            Problem(None, "", "file.missing", "is not a valid S3 URI; write it as s3://bucket/key.")
        )
        return None
    bucket, key = parts
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        code = error_code(exc)
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            report.add(
                Problem(
                    None,
                    "",
                    "file.missing",
                    f"does not exist ({code}); check the bucket and key, or upload the file.",
                )
            )
        else:
            report.add(
                Problem(
                    None,
                    "",
                    "file.unreadable",
                    f"cannot be read from Amazon S3 ({code or exc}); check the bucket name, "
                    "your credentials and your s3:GetObject permission.",
                )
            )
        return None
    except BotoCoreError as exc:
        report.add(
            Problem(
                None,
                "",
                "file.unreadable",
                f"cannot be read from Amazon S3 ({exc}); check the network and credentials.",
            )
        )
        return None
    return io.BufferedReader(_RawReader(body), buffer_size=1 << 20)


def _lines(stream: IO[bytes], max_line_bytes: int) -> Iterator[tuple[bytes | None, bool, int]]:
    """Yield ``(line, ended_with_newline, size)``; ``line`` is None when longer than the cap."""
    while True:
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            # Too long: skip to the end of the line in bounded reads.
            size = len(raw)
            ended = False
            while chunk := stream.readline(1 << 20):
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    ended = True
                    break
            yield None, ended, size
            continue
        ended = raw.endswith(b"\n")
        yield raw, ended, len(raw)


def path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key for field paths, so that problems read in field order.

    Indexes sort as numbers (``messages[10]`` after ``messages[9]``); the empty path first.
    """
    return tuple(
        (0, int(token[1:-1])) if token.startswith("[") else (1, token)
        for token in re.findall(r"\[\d+\]|[^.\[\]]+", path)
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_decode_fast = json.JSONDecoder().decode
_KEY_END = re.compile(r'"[ \t\r\n]*:')


def _key_tokens_at_most(text: str) -> int:
    """An upper bound on the keys written in a JSON line: closing quotes followed by a colon.

    Every key ends with ``"`` and optional whitespace before its ``:``; a string value can
    add to the count (an escaped quote before a colon) but never lower it. When the bound
    equals the keys of the parsed record, no object can have held a key twice.
    """
    if '" ' in text or '"\t' in text or '"\r' in text or '"\n' in text:
        return len(_KEY_END.findall(text))
    return text.count('":')


class Engine:
    """Reads lines, parses JSON and hands each record to a :class:`RecordChecker`."""

    def __init__(
        self, report: ValidationReport, checker: RecordChecker, max_line_bytes: int = MAX_LINE_BYTES
    ) -> None:
        self.report = report
        self.checker = checker
        self.max_line_bytes = max_line_bytes
        self.first_record_seen = False

    def emit_for(self, line: int, found: list[Problem]) -> Emit:
        """An emit callback that appends each problem, at ``line``, to ``found``."""

        def emit(path: str, rule: str, message: str) -> None:
            found.append(Problem(line, path, rule, message))

        return emit

    def record(self, line: int, record: Any, extra: Iterable[Problem] = ()) -> None:
        """Check one parsed record and add its problems (with ``extra``) in field order."""
        found = list(extra)
        try:
            self.checker.check(record, line, self.emit_for(line, found))
        except RecursionError:
            found.append(
                Problem(line, "", "json.syntax", "is nested too deeply; flatten the record.")
            )
        self.report.records_read += 1
        if not found:
            self.report.records_valid += 1
        # Checks run rule by rule; reading is easier in field order.
        for problem in sorted(found, key=lambda p: path_key(p.path)):
            self.report.add(problem)

    def stream(self, stream: IO[bytes], max_line_bytes: int) -> bool:
        """Check every line; return False when reading stopped early at a file-level problem."""
        report = self.report
        try:
            # Every opened source is buffered, so peeking does not consume the head.
            head = stream.peek(4)[:4] if isinstance(stream, io.BufferedReader) else b""
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                report.add(
                    Problem(
                        None,
                        "",
                        "encoding.utf16",
                        "is saved as UTF-16; save it as UTF-8 (without byte-order mark).",
                    )
                )
                return False
            for number, (raw, ended, size) in enumerate(_lines(stream, max_line_bytes), start=1):
                report.bytes_read += size
                self.line(number, raw, ended, size)
        except _Stop:
            return False
        except Exception as exc:  # a dropped connection or disk error mid-file
            report.add(
                Problem(
                    None,
                    "",
                    "file.unreadable",
                    f"reading stopped ({type(exc).__name__}: {exc}); check the file and try again.",
                )
            )
            return False
        return True

    def line(self, number: int, raw: bytes | None, ended: bool, size: int) -> None:
        """Decode and parse one line (None: longer than the cap), then check its record."""
        report = self.report
        if raw is None:
            self.record_failed(
                number,
                [
                    Problem(
                        number,
                        "",
                        "line.too_long",
                        f"is {size:,} bytes, over the {self.max_line_bytes:,}-byte limit of the "
                        "validator; shorten the record or split it into several.",
                    )
                ],
            )
            return
        extra: list[Problem] = []
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            extra.append(
                Problem(
                    1,
                    "",
                    "encoding.bom",
                    "starts with a byte-order mark; save the file as UTF-8 without BOM.",
                )
            )
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            for problem in extra:
                report.add(problem)
            report.add(
                Problem(
                    number, "", "line.blank", "is empty; delete blank lines (one record per line)."
                )
            )
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            extra.append(
                Problem(
                    number,
                    "",
                    "encoding.utf8",
                    f"is not valid UTF-8 (byte {exc.start + 1} of the line); "
                    "re-save the file with UTF-8 encoding.",
                )
            )
            self.record_failed(number, extra)
            return
        first = not self.first_record_seen
        self.first_record_seen = True
        if not extra and self.checker.fast and self._fast_record(text):
            return
        stripped = text.strip()
        if first and stripped in ("[", "{"):
            if stripped == "[":
                rule, message = (
                    "json.array",
                    "starts a JSON array; write JSON Lines instead: one object per line, "
                    "no brackets or commas between them (utils.datasets.write_jsonl).",
                )
            else:
                rule, message = (
                    "json.pretty_printed",
                    "starts a JSON object spread over several lines; put each object "
                    "on a single line (json.dumps without indent).",
                )
            for problem in extra:
                report.add(problem)
            report.add(Problem(number, "", rule, message))
            raise _Stop
        duplicates: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            obj: dict[str, Any] = {}
            for key, value in items:
                if key in obj:
                    duplicates.append(key)
                obj[key] = value
            return obj

        try:
            record = json.loads(text, object_pairs_hook=pairs, parse_constant=_reject_constant)
        except RecursionError:
            extra.append(
                Problem(number, "", "json.syntax", "is nested too deeply; flatten the record.")
            )
            self.record_failed(number, extra)
            return
        except ValueError as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            col = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            if not ended:
                extra.append(
                    Problem(
                        number,
                        "",
                        "json.truncated",
                        f"ends without a newline and is incomplete JSON ({msg}{col}); "
                        "the file looks cut off: write or upload it again.",
                    )
                )
            else:
                extra.append(
                    Problem(
                        number,
                        "",
                        "json.syntax",
                        f"is not valid JSON ({msg}{col}); fix quotes, commas and brackets "
                        "(one complete object per line).",
                    )
                )
            self.record_failed(number, extra)
            return
        if isinstance(record, list):
            extra.append(
                Problem(
                    number,
                    "",
                    "json.array",
                    "holds a JSON array; write each element as its own line (JSON Lines).",
                )
            )
            if first:
                # The whole file is one array: counting its "records" would only add noise.
                for problem in extra:
                    report.add(problem)
                raise _Stop
            self.record_failed(number, extra)
            return
        for key in dict.fromkeys(duplicates):
            extra.append(
                Problem(
                    number,
                    key,
                    "json.duplicate_key",
                    f"'{key}' appears twice in one object; keep only one.",
                )
            )
        self.record(number, record, extra)

    def _fast_record(self, text: str) -> bool:
        """Count the line as a valid record when the fast path proves it is; else False."""
        try:
            record = _decode_fast(text)
        except (ValueError, RecursionError):
            return False  # the full path parses again and explains the error
        keys = self.checker.fast_key_count(record)
        if keys < 0 or _key_tokens_at_most(text) != keys:
            return False
        self.report.records_read += 1
        self.report.records_valid += 1
        return True

    def record_failed(self, number: int, problems: list[Problem]) -> None:
        """Count a line that holds no checkable record, with the problems that say why."""
        self.report.records_read += 1
        for problem in problems:
            self.report.add(problem)

    def finish(self, rules: DatasetRules, split: str) -> None:
        """Check the limits of the whole file: its size and its record count for ``split``."""
        report = self.report
        if rules.max_bytes is not None and report.bytes_read > rules.max_bytes:
            report.add(
                Problem(
                    None,
                    "",
                    "file.too_large",
                    f"is {report.bytes_read:,} bytes; the limit is {rules.max_bytes:,}: "
                    "use fewer or shorter records.",
                )
            )
        if report.records_read == 0:
            report.add(
                Problem(None, "", "file.empty", "holds no records; write one JSON object per line.")
            )
            return
        counted = report.records_valid if rules.count_valid_only else report.records_read
        what = "valid records" if rules.count_valid_only else "records"
        low = rules.min_records.get(split)
        high = rules.max_records.get(split)
        if low is not None and counted < low:
            report.add(
                Problem(
                    None,
                    "",
                    "count.min",
                    f"has {counted:,} {what}; the {split} file needs at least {low:,}: "
                    "add more examples.",
                )
            )
        if high is not None and counted > high:
            report.add(
                Problem(
                    None,
                    "",
                    "count.max",
                    f"has {counted:,} {what}; the {split} file takes at most {high:,}: "
                    "remove some or sample a subset.",
                )
            )
