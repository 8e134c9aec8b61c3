"""Images and videos a record names in Amazon S3: reading image headers and fetching the objects.

:func:`image_info` reads an image's format and dimensions from its first bytes;
:class:`MediaProbe` fetches each media object a dataset names (a HEAD request and a ranged
GET of the header) and reports what breaks the model's limits.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from utils.errors import error_code
from utils.validation.report import Emit, ValidationReport
from utils.validation.rules import IMAGE_FORMATS, DatasetRules

MAX_MEDIA_CHECKS = 1000
"""Distinct S3 media objects fetched per file by default; further references are only counted."""

MEDIA_HEADER_BYTES = 64 * 1024
"""Bytes fetched per ranged GET when reading an image header (at most 4 such reads per image)."""

Reader = Callable[[int, int], bytes]
"""``read(offset, size)``: up to ``size`` bytes from ``offset`` (fewer at the end)."""


@dataclass(frozen=True)
class ImageInfo:
    """What an image header says: its format and, when found, its size in pixels.

    Attributes:
        format: ``png``, ``jpeg``, ``gif`` or ``webp`` (the spelling Bedrock uses).
        width: Width in pixels, or None when the header ends before it.
        height: Height in pixels, or None when the header ends before it.
    """

    format: str
    width: int | None = None
    height: int | None = None


# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_MAX_SEGMENTS = 256


def image_info(data: bytes) -> ImageInfo | None:
    """Read the format and dimensions of a PNG, JPEG, GIF or WebP image from its first bytes.

    Only the header is parsed (no image library is needed); a JPEG may need more bytes
    than the others because metadata segments come before the frame header.

    Args:
        data: The start of the file (the whole file also works).

    Returns:
        The format and dimensions (None for a dimension past the end of ``data``), or
        None when the bytes are not one of the four formats.
    """
    return _image_info(lambda offset, size: data[offset : offset + size])


def _image_info(read: Reader) -> ImageInfo | None:
    head = read(0, 32)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        # The IHDR chunk always comes first: length, type, then width and height.
        if len(head) >= 24 and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return ImageInfo("png", width, height)
        return ImageInfo("png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        if len(head) >= 10:
            width, height = struct.unpack("<HH", head[6:10])
            return ImageInfo("gif", width, height)
        return ImageInfo("gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_info(head)
    if head[:3] == b"\xff\xd8\xff":
        return _jpeg_info(read)
    return None


def _webp_info(head: bytes) -> ImageInfo:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        # Lossy: a 14-bit width and height follow the key-frame start code.
        width, height = struct.unpack("<HH", head[26:30])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        # Lossless: width - 1 and height - 1 packed as two 14-bit fields.
        bits = int.from_bytes(head[21:25], "little")
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(head) >= 30:
        # Extended: canvas width - 1 and height - 1 as 24-bit little-endian numbers.
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return ImageInfo("webp", width, height)
    return ImageInfo("webp")


def _jpeg_info(read: Reader) -> ImageInfo:
    position = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        segment = read(position, 4)
        if len(segment) < 2 or segment[0] != 0xFF:
            break
        marker = segment[1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_NO_LENGTH:
            position += 2
            continue
        if marker in (0xD9, 0xDA) or len(segment) < 4:  # end of image, or scan data begins
            break
        if marker in _JPEG_SOF:
            # Segment: length (2), sample precision (1), height (2), width (2).
            size = read(position + 5, 4)
            if len(size) == 4:
                height, width = struct.unpack(">HH", size)
                return ImageInfo("jpeg", width, height)
            break
        position += 2 + int.from_bytes(segment[2:4], "big")
    return ImageInfo("jpeg")


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
            from utils.clients import client

            self._s3 = client("s3")
        return self._s3

    def _fetch(self, bucket: str, key: str, kind: str) -> _ObjectFacts:
        from botocore.exceptions import ClientError

        try:
            s3 = self._client()
            size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            image = None
            if kind == "image" and size:
                image = _image_info(_s3_reader(s3, bucket, key, size))
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
