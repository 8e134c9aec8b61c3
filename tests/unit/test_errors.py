"""utils.errors.explain: AWS's refusals, as the stand-in sends them, become learners' errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from utils import clients
from utils.errors import GENERIC_FIXES, explain


def _refusal(call: Callable[[], object]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_the_callers_fix_wins_for_its_code(aws: StandIn) -> None:
    aws.inject(operation="ListCustomModels", error="AccessDeniedException", times=1)
    err = _refusal(clients.client("bedrock").list_custom_models)
    explained = explain(
        err,
        "Listing custom models",
        {"AccessDeniedException": "Allow bedrock:ListCustomModels."},
        default="not this one",
    )
    assert explained.problem == (
        "Listing custom models failed with AccessDeniedException: "
        "You don't have access to the model with the specified model ID."
    )
    assert explained.fix == "Allow bedrock:ListCustomModels."
    assert str(explained) == f"{explained.problem}\nWhat to do: Allow bedrock:ListCustomModels."


def test_a_common_code_gets_the_generic_fix(aws: StandIn) -> None:
    err = _refusal(lambda: clients.client("bedrock").get_custom_model(modelIdentifier="nothing"))
    explained = explain(err, "Looking up the model nothing", {"ValidationException": "no"})
    assert explained.problem == (
        "Looking up the model nothing failed with ResourceNotFoundException: "
        "Custom model nothing was not found."
    )
    assert explained.fix == GENERIC_FIXES["ResourceNotFoundException"]
    assert "this account and Region" in (explained.fix or "")


def test_throttling_in_either_spelling_says_to_wait(aws: StandIn) -> None:
    aws.inject(operation="iam:ListRoles", error="Throttling", times=1)
    err = _refusal(clients.client("iam").list_roles)
    explained = explain(err, "Listing roles")
    assert explained.problem == "Listing roles failed with Throttling: Rate exceeded"
    assert explained.fix == GENERIC_FIXES["ThrottlingException"]
    assert explained.fix == "Wait a minute and run the cell again."


def test_an_unknown_code_gets_the_default_or_no_fix(aws: StandIn) -> None:
    ec2 = clients.client("ec2")
    err = _refusal(lambda: ec2.describe_subnets(SubnetIds=["subnet-00000000"]))
    with_default = explain(err, "Looking up the subnets", default="Give subnets that exist.")
    assert with_default.problem == (
        "Looking up the subnets failed with InvalidSubnetID.NotFound: "
        "The subnet ID 'subnet-00000000' does not exist"
    )
    assert with_default.fix == "Give subnets that exist."
    bare = explain(err, "Looking up the subnets")
    assert bare.problem == with_default.problem
    assert bare.fix is None
    assert str(bare) == bare.problem  # no empty "What to do" line


def test_an_answer_without_a_code_still_says_what_failed() -> None:
    err = ClientError({"Error": {"Message": "Something broke."}}, "GetThing")
    assert explain(err, "Getting the thing").problem == "Getting the thing failed: Something broke."


def test_expired_and_unknown_credentials_say_how_to_renew_them() -> None:
    assert "aws sso login" in GENERIC_FIXES["ExpiredToken"]
    assert GENERIC_FIXES["ExpiredToken"] == GENERIC_FIXES["ExpiredTokenException"]
    assert "aws configure" in GENERIC_FIXES["UnrecognizedClientException"]
    assert GENERIC_FIXES["AccessDenied"] == GENERIC_FIXES["AccessDeniedException"]
