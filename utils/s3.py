"""The workshop bucket: create it safely, move data in and out, and empty it completely."""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pandas as pd
from botocore.exceptions import ClientError

from utils import clients, resources
from utils.errors import WorkshopError, error_code
from utils.resources import TAG_KEY, Kind
from utils.state import State


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` as ``(bucket, key)``."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise WorkshopError(f"{uri!r} is not an S3 URI.", "Use the form s3://bucket/key.")
    return parsed.netloc, parsed.path.lstrip("/")


def uri(bucket: str, key: str) -> str:
    """The ``s3://`` URI of a key."""
    return f"s3://{bucket}/{key.lstrip('/')}"


def bucket_name(account_id: str, region: str, workshop_id: str) -> str:
    """A bucket name unique to this account, region and workshop copy."""
    return f"bedrock-workshop-{account_id}-{region}-{workshop_id}"[:63]


def ensure_bucket(name: str, region: str, state: State) -> str:
    """Create the bucket if needed (recorded in state first) and lock it down; returns its name.

    The bucket blocks public access, encrypts objects by default and refuses requests
    that do not use TLS.
    """
    s3 = clients.client("s3", region)
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        # us-east-1 rejects a LocationConstraint; every other region requires one.
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    resources.create(
        state,
        Kind.BUCKET,
        name,
        lambda: s3.create_bucket(**kwargs),
        arn=None,
        status="created",
        action=f"Creating the S3 bucket {name}",
        fixes={
            "BucketAlreadyExists": (
                "The name is taken by another AWS account (bucket names are global): delete "
                "the state file's workshop_id (or the state file) to get a new name."
            )
        },
        adopt={"BucketAlreadyOwnedByYou": dict},
        region=region,
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_tagging(
        Bucket=name, Tagging={"TagSet": [{"Key": TAG_KEY, "Value": state.workshop_id}]}
    )
    require_tls(name)
    return name


TLS_SID = "DenyInsecureTransport"


def tls_statement(bucket: str) -> dict[str, Any]:
    """The bucket policy statement that refuses every request not made over TLS."""
    return {
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def merge_policy_statement(bucket: str, statement: dict[str, Any]) -> dict[str, Any]:
    """Put ``statement`` in the bucket policy (replacing one with its Sid); returns the policy.

    Other statements stay, so the TLS rule and the invocation-logging grant live together.
    """
    client = clients.client("s3")
    try:
        policy: dict[str, Any] = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as err:
        if error_code(err) != "NoSuchBucketPolicy":
            raise
        policy = {"Version": "2012-10-17", "Statement": []}
    kept = [st for st in policy.get("Statement", []) if st.get("Sid") != statement["Sid"]]
    policy["Statement"] = [*kept, statement]
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    return policy


def require_tls(bucket: str) -> dict[str, Any]:
    """Make the bucket refuse requests that do not use TLS; returns the policy."""
    return merge_policy_statement(bucket, tls_statement(bucket))


def upload_file(path: Path | str, target: str) -> str:
    """Upload a local file to an ``s3://`` URI; returns the URI."""
    bucket, key = split_uri(target)
    clients.client("s3").upload_file(str(path), bucket, key)
    return target


def upload_jsonl(records: Iterable[dict[str, Any]], target: str) -> str:
    """Write records as JSON Lines straight to an ``s3://`` URI; returns the URI."""
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    bucket, key = split_uri(target)
    clients.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return target


def read_bytes(source: str) -> bytes:
    """The bytes of an S3 object."""
    bucket, key = split_uri(source)
    return cast(bytes, clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def exists(source: str) -> bool:
    """Whether an S3 object exists."""
    bucket, key = split_uri(source)
    try:
        clients.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if error_code(err) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def read_csv(source: str) -> pd.DataFrame:
    """An S3 CSV object as a DataFrame."""
    return pd.read_csv(io.BytesIO(read_bytes(source)))


def list_keys(bucket: str, prefix: str = "") -> list[str]:
    """Every key under a prefix."""
    paginator = clients.client("s3").get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def empty_bucket(bucket: str) -> int:
    """Delete every object version, delete marker and unfinished upload; returns objects removed."""
    s3 = clients.client("s3")
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000]})
        removed += len(page.get("Versions", []))
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    return removed


def delete_bucket(bucket: str) -> bool:
    """Empty and delete a bucket; False when it was already gone."""
    try:
        empty_bucket(bucket)
        clients.client("s3").delete_bucket(Bucket=bucket)
    except ClientError as err:
        if error_code(err) == "NoSuchBucket":
            return False
        raise
    return True


def delete_keys(bucket: str, keys: Iterable[str]) -> int:
    """Delete these keys, a thousand a request (S3's limit); returns how many were asked."""
    client = clients.client("s3")
    doomed = [{"Key": k} for k in keys]
    for start in range(0, len(doomed), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000]})
    return len(doomed)
