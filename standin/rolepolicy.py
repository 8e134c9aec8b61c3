"""What a service role's own policies allow, for the checks Bedrock makes while a job runs.

moto keeps roles and policies but evaluates none of them; the stand-in reads the role's
attached and inline policies and evaluates Allow and Deny statements for one action on one
resource, with the request context Bedrock would send. A condition it cannot evaluate
never grants (deny rather than guess).
"""

from __future__ import annotations

import fnmatch
import json
import urllib.parse
from typing import Any

from standin.s3policy import condition_holds, listify


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return dict(json.loads(urllib.parse.unquote(raw)))
    return dict(raw)


def role_policies(iam: Any, role_name: str) -> list[dict[str, Any]]:
    """The policy documents in force for a role: attached (default version) and inline."""
    documents = []
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        found = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        documents.append(_document(found["Document"]))
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        found = iam.get_role_policy(RoleName=role_name, PolicyName=name)
        documents.append(_document(found["PolicyDocument"]))
    return documents


def _matches(st: dict[str, Any], action: str, resource: str) -> bool:
    actions = [a.lower() for a in listify(st.get("Action", []))]
    if not any(fnmatch.fnmatchcase(action.lower(), a) for a in actions):
        return False
    return any(fnmatch.fnmatchcase(resource, r) for r in listify(st.get("Resource", [])))


def allows(
    documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]
) -> bool:
    """Whether the documents allow ``action`` on ``resource``: some Allow holds, no Deny does."""
    allowed = False
    for doc in documents:
        for st in listify(doc.get("Statement", [])):
            if not _matches(st, action, resource):
                continue
            holds = condition_holds(st.get("Condition", {}), context)
            if st.get("Effect") == "Deny" and holds is not False:
                return False  # an explicit deny wins, even one the stand-in cannot evaluate
            if st.get("Effect") == "Allow" and holds:
                allowed = True
    return allowed


_TRUST_OPERATORS = {
    "StringEquals": lambda have, wanted: have in wanted,
    "ArnEquals": lambda have, wanted: have in wanted,
    "StringNotEquals": lambda have, wanted: have not in wanted,
    "StringLike": lambda have, wanted: any(fnmatch.fnmatchcase(have, w) for w in wanted),
    "ArnLike": lambda have, wanted: any(fnmatch.fnmatchcase(have, w) for w in wanted),
}


def trusts(document: Any, service: str, context: dict[str, str]) -> bool:
    """Whether a role's trust policy lets ``service`` assume it, for a request with ``context``
    (such as ``aws:SourceAccount`` and ``aws:SourceArn``).

    A condition on a key the request does not carry, or with an operator the stand-in does not
    evaluate, never holds (deny rather than guess); an explicit Deny that matches wins.
    """
    allowed = False
    for st in listify(_document(document).get("Statement", [])):
        principal = st.get("Principal", {})
        services = listify(principal.get("Service", [])) if isinstance(principal, dict) else []
        actions = listify(st.get("Action", []))
        if service not in services or not any(
            fnmatch.fnmatchcase("sts:assumerole", str(a).lower()) for a in actions
        ):
            continue
        holds = True
        for operator, tests in st.get("Condition", {}).items():
            compare = _TRUST_OPERATORS.get(operator)
            for key, wanted in tests.items():
                have = context.get(key)
                if compare is None or have is None or not compare(have, listify(wanted)):
                    holds = False
        if st.get("Effect") == "Deny" and holds:
            return False
        if st.get("Effect") == "Allow" and holds:
            allowed = True
    return allowed
