"""The service role Bedrock assumes to read training data and write results, least privilege."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from botocore.exceptions import ClientError

from utils import clients, resources
from utils.errors import error_code
from utils.resources import TAG_KEY, Kind
from utils.state import State

JOB_KINDS = ("model-customization-job", "model-invocation-job")
"""Bedrock jobs that may assume the role: customization and batch inference."""


def trust_policy(account_id: str, region: str) -> dict[str, Any]:
    """Lets only Bedrock customization and batch inference jobs of this account and region in."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {
                        "aws:SourceArn": [
                            f"arn:aws:bedrock:{region}:{account_id}:{kind}/*" for kind in JOB_KINDS
                        ]
                    },
                },
            }
        ],
    }


def s3_policy(
    bucket: str, kms_key_arn: str | None = None, vpc_config: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Read and write access to the workshop bucket only (plus the key and VPC, when given).

    With a KMS key, jobs may use that key and no other; with a VPC configuration, they
    may create and delete network interfaces in the given subnets and security groups.
    """
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "kms:Decrypt",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                    "kms:CreateGrant",
                ],
                "Resource": [kms_key_arn],
            }
        )
    if vpc_config:
        arn = "arn:aws:ec2:*:*"
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                "Resource": "*",
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                "Resource": [
                    f"{arn}:network-interface/*",
                    *(f"{arn}:subnet/{s}" for s in vpc_config["subnetIds"]),
                    *(f"{arn}:security-group/{g}" for g in vpc_config["securityGroupIds"]),
                ],
            }
        )
        # Bedrock tags the interfaces it creates; without this the job fails once it starts
        # ("Protect your model customization jobs using a VPC", Amazon Bedrock user guide,
        # read 2026-12-01).
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": [f"{arn}:network-interface/*"],
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


FIXES = {
    "AccessDenied": (
        "Your principal may not manage IAM roles and policies. Ask for iam:CreateRole, "
        "iam:CreatePolicy, iam:AttachRolePolicy, iam:PassRole and their delete actions "
        "(the README's 'Running against your own AWS account' lists them), then run the "
        "cell again."
    ),
    "LimitExceeded": "The account has too many roles or policies: delete unused ones.",
}
"""What to do when IAM refuses to make the role or its policy, by error code."""


def ensure_role(
    role_name: str,
    policy_name: str,
    account_id: str,
    region: str,
    bucket: str,
    state: State,
    *,
    kms_key_arn: str | None = None,
    vpc_config: dict[str, list[str]] | None = None,
) -> str:
    """Create (or reuse) the role and its bucket policy, recorded first; returns the role ARN.

    A re-run with other key or VPC settings updates the policy to match them.
    """
    iam = clients.client("iam")
    tags = [{"Key": TAG_KEY, "Value": state.workshop_id}]
    trust = json.dumps(trust_policy(account_id, region))

    def take_over_role() -> dict[str, Any]:
        # Ours from an earlier run: its trust may name another account or Region by now.
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=trust)
        return dict(iam.get_role(RoleName=role_name))

    role = resources.create(
        state,
        Kind.ROLE,
        role_name,
        lambda: iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=trust,
            Description="Lets Amazon Bedrock customization jobs of the workshop use its bucket.",
            Tags=tags,
        ),
        arn=lambda answer: answer["Role"]["Arn"],
        status="created",
        action=f"Creating the IAM role {role_name}",
        fixes=FIXES,
        adopt={"EntityAlreadyExists": take_over_role},
    )["Role"]

    policy_arn = f"arn:aws:iam::{account_id}:policy/{policy_name}"
    document = s3_policy(bucket, kms_key_arn, vpc_config)

    def take_over_policy() -> dict[str, Any]:
        _update_policy(policy_arn, document)
        return {"Policy": {"Arn": policy_arn}}

    resources.create(
        state,
        Kind.POLICY,
        policy_name,
        lambda: iam.create_policy(
            PolicyName=policy_name, PolicyDocument=json.dumps(document), Tags=tags
        ),
        # Known before the call, so that cleanup can delete a policy made by an interrupted run.
        arn=policy_arn,
        status="created",
        action=f"Creating the IAM policy {policy_name}",
        fixes=FIXES,
        adopt={"EntityAlreadyExists": take_over_policy},
    )
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return str(role["Arn"])


def _update_policy(policy_arn: str, document: dict[str, Any]) -> None:
    """Make ``document`` the policy's default version unless it already is."""
    iam = clients.client("iam")
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    current = iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])
    text = current["PolicyVersion"]["Document"]
    if isinstance(text, str):
        text = json.loads(urllib.parse.unquote(text))
    if text == document:
        return
    versions = iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]
    old = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
    if len(versions) >= 5 and old:  # IAM keeps at most five versions
        iam.delete_policy_version(PolicyArn=policy_arn, VersionId=old[0]["VersionId"])
    iam.create_policy_version(
        PolicyArn=policy_arn, PolicyDocument=json.dumps(document), SetAsDefault=True
    )


def wait_until_usable(role_name: str, backend: str, settle_seconds: float = 10.0) -> None:
    """Give IAM time to propagate a new role before Bedrock tries to assume it.

    IAM is eventually consistent: a role that ``get_role`` returns can still be unknown
    to Bedrock for a few seconds, and the job creation then fails. The local stand-in
    is consistent at once, so there is nothing to wait for there.
    """
    if backend == "local":
        return
    iam = clients.client("iam")
    iam.get_waiter("role_exists").wait(RoleName=role_name)
    time.sleep(settle_seconds)


def delete_role(role_name: str) -> bool:
    """Detach and delete every policy of a role, then the role; False if it was already gone."""
    iam = clients.client("iam")
    try:
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
            for pol in page["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role_name, PolicyArn=pol["PolicyArn"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
            for name in page["PolicyNames"]:
                iam.delete_role_policy(RoleName=role_name, PolicyName=name)
        iam.delete_role(RoleName=role_name)
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return False
        raise
    return True


def delete_policy(policy_arn: str) -> bool:
    """Detach a managed policy everywhere and delete it with all its versions."""
    iam = clients.client("iam")
    try:
        attached = iam.list_entities_for_policy(PolicyArn=policy_arn)
        for role in attached.get("PolicyRoles", []):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy_arn)
        for version in iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=policy_arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=policy_arn)
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return False
        raise
    return True
