"""Images and videos a record names in Amazon S3: fetching the objects and judging them.

:class:`MediaProbe` fetches each media object a dataset names (a HEAD request, then a
ranged GET of an image's header, read with :func:`utils.images.read_image_info`) and
reports what breaks the model's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from utils.errors import error_code
from utils.images import ImageInfo, Reader, read_image_info
from utils.validation.report import Emit, ValidationReport
from utils.validation.rules import IMAGE_FORMATS, DatasetRules

MAX_MEDIA_CHECKS = 1000
"""Distinct S3 media objects fetched per file by default; further references are only counted."""

MEDIA_HEADER_BYTES = 64 * 1024
"""Bytes fetched per ranged GET when reading an image header (at most 4 such reads per image)."""


@dataclass(frozen=True)
class _ObjectFacts:
    """What one fetch of an S3 object found: a problem, or its size and image header."""

    error: str | None = None
    size: int = 0
    image: ImageInfo | None = None


class _Unreachable(Exception):
    """Amazon S3 itself cannot be reached (network, endpoint or credentials)."""


def _s3_reader(s3: Any, bucket: str, key: str, size: int) -> Reader:
    """A reader over an S3 object that fetches it in ranged blocks, a few blocks at most."""
    blocks: dict[int, bytes] = {}
    max_blocks = 4

    def read(offset: int, count: int) -> bytes:
        out = bytearray()
        while count > 0 and offset < size:
            index = offset // MEDIA_HEADER_BYTES
            if index not in blocks:
                if len(blocks) >= max_blocks:
                    break  # the header is not where headers are; stop reading
                start = index * MEDIA_HEADER_BYTES
                end = min(size, start + MEDIA_HEADER_BYTES) - 1
                body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")["Body"]
                blocks[index] = body.read()
            block = blocks[index]
            piece = block[offset - index * MEDIA_HEADER_BYTES :][:count]
            if not piece:
                break
            out += piece
            offset += len(piece)
            count -= len(piece)
        return bytes(out)

    return read


_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_DENIED_CODES = frozenset({"403", "AccessDenied", "Forbidden"})


class MediaProbe:
    """Fetches media objects from Amazon S3 (HEAD, then a ranged GET of the image header).

    Each distinct URI is fetched once and at most ``max_checks`` are fetched per file,
    so requests and memory stay bounded whatever the file size. When S3 itself cannot
    be reached, the first reference gets one problem and the rest are counted unchecked.
    """

    def __init__(
        self, rules: DatasetRules, model_name: str, report: ValidationReport, max_checks: int
    ) -> None:
        self.rules = rules
        self.model_name = model_name
        self.report = report
        self.max_checks = max_checks
        self.facts: dict[str, _ObjectFacts] = {}
        self.unreachable = False
        self._s3: Any = None

    def check(
        self,
        uri: str,
        bucket: str,
        key: str,
        kind: str,
        declared: str | None,
        path: str,
        emit: Emit,
    ) -> None:
        """Fetch the object once (within the cap), then report what breaks the model's limits."""
        cache_key = f"{kind}:{uri}"  # an image's facts include its header; a video's do not
        facts = self.facts.get(cache_key)
        if facts is None:
            if self.unreachable or len(self.facts) >= self.max_checks:
                self.report.media_unchecked += 1
                return
            try:
                facts = self._fetch(bucket, key, kind)
            except _Unreachable as exc:
                self.unreachable = True
                self.report.media_unchecked += 1
                emit(
                    f"{path}.source.s3Location.uri",
                    "media.unreachable",
                    f"cannot be checked: Amazon S3 is unreachable ({exc}); check the network "
                    "and credentials, or validate without the S3 checks (check_media=False, "
                    "--no-check-media). Further media files are not checked.",
                )
                return
            self.facts[cache_key] = facts
            self.report.media_checked += 1
        self._judge(facts, kind, declared, path, emit)

    def _client(self) -> Any:
        if self._s3 is None:
            # Imported here, not at the top: utils.clients loads boto3 (about 12 MB and 60 ms),
            # which validating a local file without media checks never needs.
            from utils.clients import client

            self._s3 = client("s3")
        return self._s3

    def _fetch(self, bucket: str, key: str, kind: str) -> _ObjectFacts:
        try:
            s3 = self._client()
            size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            image = None
            if kind == "image" and size:
                image = read_image_info(_s3_reader(s3, bucket, key, size))
        except ClientError as exc:
            code = error_code(exc) or "error"
            if code in _MISSING_CODES:
                return _ObjectFacts(
                    f"does not exist in Amazon S3 ({code}); upload the {kind} or fix the URI."
                )
            if code in _DENIED_CODES:
                return _ObjectFacts(
                    f"cannot be read from Amazon S3 ({code}); allow s3:GetObject on it for you "
                    "and for the Bedrock service role."
                )
            return _ObjectFacts(f"cannot be read from Amazon S3 ({code}); check the URI.")
        except Exception as exc:  # no network, no credentials, bad endpoint: stop fetching
            raise _Unreachable(f"{type(exc).__name__}: {exc}") from exc
        return _ObjectFacts(size=size, image=image)

    def _judge(
        self, facts: _ObjectFacts, kind: str, declared: str | None, path: str, emit: Emit
    ) -> None:
        if facts.error is not None:
            emit(f"{path}.source.s3Location.uri", "media.unreachable", facts.error)
            return
        if facts.size == 0:
            emit(path, "media.content", f"the {kind} file is empty (0 bytes); upload it again.")
            return
        if kind != "image":
            return
        limit = self.rules.max_image_bytes
        if limit is not None and facts.size > limit:
            emit(
                path,
                "media.size",
                f"the image is {facts.size / 2**20:.1f} MiB; {self.model_name} takes images "
                f"up to {limit / 2**20:g} MiB: resize or recompress it.",
            )
        image = facts.image
        if image is None:
            emit(
                path,
                "media.content",
                "is not a PNG, JPEG, GIF or WebP image (unknown header); convert the file "
                "to one of these formats.",
            )
            return
        if declared in IMAGE_FORMATS and image.format != declared:
            emit(
                f"{path}.format",
                "media.content",
                f"is {declared!r} but the file is a {image.format.upper()} image; set "
                f"format to {image.format!r} or convert the file.",
            )
        side = self.rules.max_image_side
        width, height = image.width, image.height
        if (
            side is not None
            and width is not None
            and height is not None
            and max(width, height) > side
        ):
            emit(
                path,
                "media.dimensions",
                f"the image is {width}x{height} pixels; {self.model_name} "
                f"takes at most {side}x{side}: scale it down.",
            )
