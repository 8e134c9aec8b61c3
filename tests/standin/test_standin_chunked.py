"""The stand-in's S3 takes botocore's aws-chunked bodies, checking their trailing checksums."""

from __future__ import annotations

import base64
import io
import os
import zlib
from typing import Any

import pytest
import requests
from boto3.s3.transfer import TransferConfig

from standin import StandIn, chunked
from tests.helpers import make_bucket
from utils import clients

BUCKET = "workshop-chunked-bucket"
MIB = 1024 * 1024


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def encode(data: bytes, sizes: list[int], trailer: str) -> bytes:
    """An aws-chunked body of ``data`` cut into chunks of ``sizes``, then its trailer."""
    out, pos = b"", 0
    for size in sizes:
        out += f"{size:x}\r\n".encode() + data[pos : pos + size] + b"\r\n"
        pos += size
    return out + b"0\r\n" + trailer.encode() + b"\r\n\r\n"


def test_decode_joins_the_chunks_and_reads_the_trailer() -> None:
    data = os.urandom(5000)
    body, trailers = chunked.decode(
        encode(data, [4096, 904], f"x-amz-checksum-crc32:{crc32(data)}")
    )
    assert body == data
    assert trailers == {"x-amz-checksum-crc32": crc32(data)}
    chunked.check(body, trailers)  # the right checksum passes


def test_a_wrong_checksum_is_a_bad_digest() -> None:
    data = b"weights"
    body, trailers = chunked.decode(encode(data, [7], f"x-amz-checksum-crc32:{crc32(b'other')}"))
    with pytest.raises(chunked.ChunkedBodyError) as caught:
        chunked.check(body, trailers)
    assert caught.value.code == "BadDigest" and "CRC32" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"a\r\nshort\r\n0\r\n\r\n", "IncompleteBody"),  # 10 bytes announced, 5 sent
        (b"zz\r\nabc\r\n0\r\n\r\n", "InvalidRequest"),
        (b"5\r\nabcde\r\n", "IncompleteBody"),  # no final chunk
    ],
)
def test_malformed_bodies_are_refused(raw: bytes, code: str) -> None:
    with pytest.raises(chunked.ChunkedBodyError) as caught:
        chunked.decode(raw)
    assert caught.value.code == code


def test_other_requests_are_left_alone() -> None:
    environ: dict[str, Any] = {"wsgi.input": io.BytesIO(b"plain"), "CONTENT_LENGTH": "5"}
    chunked.rewrite(environ)
    assert environ["wsgi.input"].read() == b"plain" and environ["CONTENT_LENGTH"] == "5"


def test_put_and_multipart_bodies_arrive_whole_with_their_checksum(aws: StandIn) -> None:
    make_bucket(BUCKET)
    s3 = clients.client("s3")
    small = os.urandom(70_000)
    s3.put_object(Bucket=BUCKET, Key="small.bin", Body=small, ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=BUCKET, Key="small.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == small
    assert got["ChecksumCRC32"] == crc32(small)  # the trailer's value, stored by moto
    large = os.urandom(11 * MIB)  # three parts of at most 5 MiB
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(large), BUCKET, "large.bin", Config=config)
    assert s3.get_object(Bucket=BUCKET, Key="large.bin")["Body"].read() == large


def test_a_body_whose_trailer_does_not_match_is_refused_and_not_stored(aws: StandIn) -> None:
    make_bucket(BUCKET)
    data = b"the weights as sent"
    response = requests.put(
        f"{aws.endpoint}/{BUCKET}/corrupt.bin",
        data=encode(data, [len(data)], f"x-amz-checksum-crc32:{crc32(b'what was meant')}"),
        headers={
            # The scope routes the request to S3; the stand-in, like moto, checks no signature.
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/s3/"
            "aws4_request, SignedHeaders=host, Signature=0",
            "x-amz-content-sha256": chunked.TRAILER_PAYLOAD,
            "Content-Encoding": "aws-chunked",
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-sdk-checksum-algorithm": "CRC32",
        },
        verify=str(aws.ca_bundle) if aws.ca_bundle else True,
        timeout=30,
    )
    assert response.status_code == 400
    assert "<Code>BadDigest</Code>" in response.text
    listed = clients.client("s3").list_objects_v2(Bucket=BUCKET)
    assert "Contents" not in listed
