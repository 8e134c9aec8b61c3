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

JOB_KINDS = ("model-customization-job", "model-invocation-job", "model-import-job")
"""Bedrock jobs that may assume the workshop's service role: customization, batch inference
and Custom Model Import. Bedrock assumes the role with ``aws:SourceArn`` = the job's ARN, so
each kind of job must be named (the project's design guide, section IAM, read 2026-12-02;
AWS's page on the import service role was not read here)."""

IMPORT_JOB_KINDS = ("model-import-job",)
"""The only jobs the import role trusts: it exists to read one model folder."""

MODEL_PREFIX = "models/"
"""Where in the workshop bucket a lesson puts Hugging Face folders to import."""


def trust_policy(
    account_id: str, region: str, kinds: tuple[str, ...] = JOB_KINDS
) -> dict[str, Any]:
    """Lets only Bedrock jobs of ``kinds`` of this account and region in."""
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
                            f"arn:aws:bedrock:{region}:{account_id}:{kind}/*" for kind in kinds
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
    statements += _protection_statements(kms_key_arn, vpc_config)
    return {"Version": "2012-10-17", "Statement": statements}


def import_s3_policy(
    bucket: str,
    prefix: str = MODEL_PREFIX,
    kms_key_arn: str | None = None,
    vpc_config: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Read-only access to one model prefix of the bucket: what a model import job needs.

    An import job only reads the folder (``s3:ListBucket`` to find its files, ``s3:GetObject``
    to read them; the stand-in's import checks both, and the design guide scopes the role's
    access to what the job uses), so the role may neither write nor read anything else.
    """
    folder = prefix.strip("/") + "/"
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{folder}*"],
        },
        {
            # Listing is a bucket action; the s3:prefix condition keeps it to the folder.
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": {"StringLike": {"s3:prefix": [folder, f"{folder}*"]}},
        },
    ]
    statements += _protection_statements(kms_key_arn, vpc_config)
    return {"Version": "2012-10-17", "Statement": statements}


def _protection_statements(
    kms_key_arn: str | None, vpc_config: dict[str, list[str]] | None
) -> list[dict[str, Any]]:
    """The statements a KMS key and a VPC configuration add to a job role's policy."""
    statements: list[dict[str, Any]] = []
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
    return statements


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
    return _ensure(
        role_name,
        policy_name,
        account_id,
        trust_policy(account_id, region),
        s3_policy(bucket, kms_key_arn, vpc_config),
        "Lets Amazon Bedrock customization jobs of the workshop use its bucket.",
        state,
    )


def ensure_import_role(
    role_name: str,
    policy_name: str,
    account_id: str,
    region: str,
    bucket: str,
    state: State,
    *,
    prefix: str = MODEL_PREFIX,
    kms_key_arn: str | None = None,
    vpc_config: dict[str, list[str]] | None = None,
) -> str:
    """A role only model import jobs may assume, reading only ``prefix``; returns its ARN.

    One role's access is the union of its policies, so the read-write role of
    :func:`ensure_role` cannot be made read-only for imports alone: an import gets a role of
    its own. Created (or reused, its trust and policy brought up to date) like that one, and
    recorded first, so cleanup removes it.
    """
    return _ensure(
        role_name,
        policy_name,
        account_id,
        trust_policy(account_id, region, IMPORT_JOB_KINDS),
        import_s3_policy(bucket, prefix, kms_key_arn, vpc_config),
        f"Lets Amazon Bedrock model import jobs of the workshop read s3://{bucket}/{prefix}.",
        state,
    )


def ensure_service_role(
    role_name: str,
    policy_name: str,
    account_id: str,
    trust_document: dict[str, Any],
    document: dict[str, Any],
    description: str,
    state: State,
) -> str:
    """A role with this trust and one managed policy of ``document``, recorded first; its ARN.

    For roles other services assume (a Lambda function's execution role); created or
    brought up to date like :func:`ensure_role`'s.
    """
    return _ensure(role_name, policy_name, account_id, trust_document, document, description, state)


def invoke_policy(function_arn: str) -> dict[str, Any]:
    """Calling one Lambda function (the grader of a reinforcement fine-tuning job), no other."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}
        ],
    }


def allow_invoke(role_name: str, policy_name: str, function_arn: str, state: State) -> str:
    """Let the Bedrock service role call one function: a policy of its own, recorded first.

    Bedrock calls a reinforcement fine-tuning job's grader with the job's service role
    (``rftConfig.graderConfig.lambdaGrader``; the guide's section 3, read 2026-12-02), so
    that role, and only for that function, needs ``lambda:InvokeFunction``. A re-run with
    another function updates the policy. Returns the policy's ARN.
    """
    account_id = function_arn.split(":")[4]
    return _attach_policy(role_name, policy_name, account_id, invoke_policy(function_arn), state)


def invoke_model_statement(
    model_id: str, called_as: str, region: str, account_id: str
) -> dict[str, Any]:
    """Calling one model, as a function's role needs to (a model-as-judge grader).

    Converse is authorised as ``bedrock:InvokeModel`` (the Bedrock API reference's Converse
    page, read 2026-12-02). Called through an inference profile, the caller needs the
    profile and the model in every Region the profile may route to, hence ``*`` there.
    """
    resources_ = [f"arn:aws:bedrock:{region}::foundation-model/{model_id}"]
    if called_as != model_id:
        resources_ = [
            f"arn:aws:bedrock:{region}:{account_id}:inference-profile/{called_as}",
            f"arn:aws:bedrock:*::foundation-model/{model_id}",
        ]
    return {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": resources_}


def remove_policy(policy_arn: str, state: State) -> bool:
    """Delete a managed policy the workshop recorded and forget it; False if already gone."""
    existed = delete_policy(policy_arn)
    resources.forget(state, Kind.POLICY, policy_arn)
    return existed


def remove_role(role_name: str, state: State) -> bool:
    """Delete a recorded role with the recorded policies attached to it; forget them all.

    A policy attached to the role that the workshop did not record is only detached (the
    role cannot be deleted with it attached), never deleted. False if the role was gone.
    """
    ours = {rec.get("arn") for rec in state.resources(Kind.POLICY)}
    detached = _delete_role(role_name)
    for arn in detached or []:
        if arn in ours:
            remove_policy(arn, state)
    resources.forget(state, Kind.ROLE, role_name)
    return detached is not None


def _ensure(
    role_name: str,
    policy_name: str,
    account_id: str,
    trust_document: dict[str, Any],
    document: dict[str, Any],
    description: str,
    state: State,
) -> str:
    """Create or adopt a role with this trust and one managed policy holding ``document``."""
    iam = clients.client("iam")
    tags = [{"Key": TAG_KEY, "Value": state.workshop_id}]
    trust = json.dumps(trust_document)

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
            Description=description,
            Tags=tags,
        ),
        arn=lambda answer: answer["Role"]["Arn"],
        status="created",
        action=f"Creating the IAM role {role_name}",
        fixes=FIXES,
        adopt={"EntityAlreadyExists": take_over_role},
    )["Role"]

    _attach_policy(role_name, policy_name, account_id, document, state)
    return str(role["Arn"])


def _attach_policy(
    role_name: str, policy_name: str, account_id: str, document: dict[str, Any], state: State
) -> str:
    """Create (or update) a managed policy of ``document``, recorded first; attach it; its ARN."""
    iam = clients.client("iam")
    policy_arn = f"arn:aws:iam::{account_id}:policy/{policy_name}"

    def take_over_policy() -> dict[str, Any]:
        _update_policy(policy_arn, document)
        return {"Policy": {"Arn": policy_arn}}

    resources.create(
        state,
        Kind.POLICY,
        policy_name,
        lambda: iam.create_policy(
            PolicyName=policy_name,
            PolicyDocument=json.dumps(document),
            Tags=[{"Key": TAG_KEY, "Value": state.workshop_id}],
        ),
        # Known before the call, so that cleanup can delete a policy made by an interrupted run.
        arn=policy_arn,
        status="created",
        action=f"Creating the IAM policy {policy_name}",
        fixes=FIXES,
        adopt={"EntityAlreadyExists": take_over_policy},
    )
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    return policy_arn


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
    return _delete_role(role_name) is not None


def _delete_role(role_name: str) -> list[str] | None:
    """:func:`delete_role`, returning the managed policies it detached (None: no such role)."""
    iam = clients.client("iam")
    detached: list[str] = []
    try:
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
            for pol in page["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role_name, PolicyArn=pol["PolicyArn"])
                detached.append(pol["PolicyArn"])
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
            for name in page["PolicyNames"]:
                iam.delete_role_policy(RoleName=role_name, PolicyName=name)
        iam.delete_role(RoleName=role_name)
    except ClientError as err:
        if error_code(err) == "NoSuchEntity":
            return None
        raise
    return detached


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
