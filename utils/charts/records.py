"""Training records of the charts, and their images in Amazon S3.

:func:`to_records` turns charts into ``bedrock-conversation-2024`` records whose user turn
holds the image (by ``s3Location``) and :data:`~utils.charts.data.QUESTION`, and whose
assistant turn holds the caption; :func:`upload_images` puts the images where the records
point. The records themselves go up like any other dataset: written and validated locally
(:func:`utils.datasets.write_jsonl`, :mod:`utils.validation`), then
:func:`utils.s3.upload_file`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from utils import s3
from utils.charts.data import QUESTION, SYSTEM, Chart


def image_key(prefix: str, chart: Chart) -> str:
    """The S3 key of a chart's image under ``prefix``."""
    return f"{prefix.strip('/')}/{chart.name}.png".lstrip("/")


def to_record(
    chart: Chart, bucket: str, prefix: str, bucket_owner: str, question: str = QUESTION
) -> dict[str, Any]:
    """One ``bedrock-conversation-2024`` record: the image and question, then the caption."""
    location = {"uri": s3.uri(bucket, image_key(prefix, chart)), "bucketOwner": bucket_owner}
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": SYSTEM}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"image": {"format": "png", "source": {"s3Location": location}}},
                    {"text": question},
                ],
            },
            {"role": "assistant", "content": [{"text": chart.caption}]},
        ],
    }


def to_records(
    charts: Sequence[Chart], bucket: str, prefix: str, bucket_owner: str, question: str = QUESTION
) -> list[dict[str, Any]]:
    """Records for ``charts`` whose images are (to be) uploaded under ``s3://bucket/prefix``.

    Args:
        charts: The charts.
        bucket: The bucket the images go to (the dataset's bucket).
        prefix: Key prefix of the images.
        bucket_owner: The 12-digit account id owning the bucket.
        question: The user's question next to each image.
    """
    return [to_record(c, bucket, prefix, bucket_owner, question) for c in charts]


def upload_images(s3_client: Any, charts: Sequence[Chart], bucket: str, prefix: str) -> list[str]:
    """Put each chart's PNG at :func:`image_key` with a boto3 S3 client; returns the URIs.

    :mod:`utils.s3` moves files and records, not bytes held in memory
    (:func:`~utils.s3.upload_file` reads a local path, :func:`~utils.s3.upload_jsonl`
    encodes records), so the images are put here, each with the ``image/png`` content type.
    """
    uris = []
    for chart in charts:
        key = image_key(prefix, chart)
        s3_client.put_object(Bucket=bucket, Key=key, Body=chart.png, ContentType="image/png")
        uris.append(s3.uri(bucket, key))
    return uris
