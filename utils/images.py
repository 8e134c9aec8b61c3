"""Image headers: an encoded image's format and dimensions, read from its first bytes.

Only headers are parsed (no image library is needed). :mod:`utils.models` names the format
of images it sends to a model; :mod:`utils.validation` checks the images a dataset names.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

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
    return read_image_info(lambda offset, size: data[offset : offset + size])


def read_image_info(read: Reader) -> ImageInfo | None:
    """:func:`image_info` over a reader, which fetches only the bytes the header needs.

    Args:
        read: ``read(offset, size)`` of the file; a JPEG may take several reads.

    Returns:
        As :func:`image_info`.
    """
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
