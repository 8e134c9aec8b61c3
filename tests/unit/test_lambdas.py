"""The workshop's Lambda helpers against the stand-in's Lambda control plane (moto's)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from standin import StandIn
from tests.helpers import remaining
from utils import cleanup, clients, iam, lambdas
from utils.errors import WorkshopError
from utils.resources import Kind
from utils.state import State

ACCOUNT, REGION = "123456789012", "us-east-1"
SOURCE = "def lambda_handler(event, context):\n    return {'seen': event}\n"


@pytest.fixture
def handler_file(tmp_path: Path) -> Path:
    path = tmp_path / "echo_reward.py"
    path.write_text(SOURCE)
    return path


def test_the_package_holds_the_one_file_at_its_root(handler_file: Path) -> None:
    code = lambdas.zip_file(handler_file)
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        assert archive.namelist() == ["echo_reward.py"]
        assert archive.read("echo_reward.py").decode() == SOURCE
    assert lambdas.zip_file(handler_file) == code  # fixed timestamps: the same bytes again
    with pytest.raises(WorkshopError, match="does not exist"):
        lambdas.zip_file(handler_file.with_name("missing.py"))


def test_the_role_may_only_write_the_functions_own_logs() -> None:
    policy = lambdas.log_policy("grader", ACCOUNT, REGION)
    resources = [s["Resource"] for s in policy["Statement"]]
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/grader"
    assert resources == [group, f"{group}:*"]
    trust = lambdas.trust_policy()["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    extra = {"Effect": "Allow", "Action": "bedrock:Converse", "Resource": "arn:aws:bedrock:x"}
    assert lambdas.log_policy("g", ACCOUNT, REGION, [extra])["Statement"][-1] == extra


def test_deploy_records_first_waits_for_active_then_cleanup_removes_it(
    aws: StandIn, state: State, handler_file: Path
) -> None:
    role = lambdas.ensure_function_role("grader-role", "grader", ACCOUNT, REGION, state)
    made = lambdas.deploy(handler_file, name="grader", role_arn=role, state=state, timeout=30)
    assert made.arn.endswith(":function:grader") and made.reused is False
    config = clients.client("lambda").get_function(FunctionName="grader")["Configuration"]
    assert config["Handler"] == "echo_reward.lambda_handler"
    assert config["Runtime"] == lambdas.RUNTIME and config["Timeout"] == 30
    assert config["State"] == "Active"
    record = state.find_resource(Kind.LAMBDA_FUNCTION, "grader")
    assert record is not None and record["arn"] == made.arn and record["status"] == "active"
    again = lambdas.deploy(
        handler_file, name="grader", role_arn=role, state=state, environment={"K": "v"}
    )
    assert again.reused is True and again.arn == made.arn
    config = clients.client("lambda").get_function(FunctionName="grader")["Configuration"]
    assert config["Environment"]["Variables"] == {"K": "v"}
    cleanup.cleanup(state)
    assert remaining()["lambda functions"] == [] and remaining()["roles"] == []
    assert state.resources() == []


def test_a_function_of_the_same_name_not_ours_is_refused(
    aws: StandIn, state: State, tmp_path: Path, handler_file: Path
) -> None:
    role = lambdas.ensure_function_role("grader-role", "grader", ACCOUNT, REGION, state)
    other = State(tmp_path / "other.json")
    lambdas.deploy(handler_file, name="taken", role_arn=role, state=other)
    with pytest.raises(WorkshopError, match="this workshop did not make it"):
        lambdas.deploy(handler_file, name="taken", role_arn=role, state=state)
    assert state.find_resource(Kind.LAMBDA_FUNCTION, "taken") is None  # not ours to remove
    lambdas.delete("taken", other)
    assert lambdas.delete("taken", other) is False  # already gone


def _stubbed_create(errors: int) -> tuple[Any, Stubber]:
    client = clients.client("lambda")
    stub = Stubber(client)
    for _ in range(errors):
        stub.add_client_error(
            "create_function",
            service_error_code="InvalidParameterValueException",
            service_message="The role defined for the function cannot be assumed by Lambda.",
        )
    return client, stub


def test_a_role_too_young_for_lambda_is_waited_for_then_given_up_on(
    state: State, handler_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = _stubbed_create(errors=10)
    monkeypatch.setattr(clients, "client", lambda name, **_: client)
    slept: list[float] = []
    with stub, pytest.raises(WorkshopError, match="cannot be assumed by Lambda"):
        lambdas.deploy(
            handler_file,
            name="young",
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/young",
            state=state,
            role_wait=30,
            sleep=slept.append,
        )
    assert slept and slept[0] == 2.0 and max(slept) <= 10.0
    assert state.find_resource(Kind.LAMBDA_FUNCTION, "young") is None  # nothing was made


def test_a_function_error_is_raised_with_its_type_and_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = clients.client("lambda")
    payload = json.dumps({"errorType": "KeyError", "errorMessage": "'reference_answer'"})
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(payload.encode()),
            },
        )
        stub.add_response("invoke", {"StatusCode": 200, "Payload": io.BytesIO(b'[{"id": "1"}]')})
        monkeypatch.setattr(clients, "client", lambda name, **_: client)
        with pytest.raises(WorkshopError, match=r"failed: KeyError: 'reference_answer'"):
            lambdas.invoke("grader", {"x": 1})
        assert lambdas.invoke("grader", {"x": 1}) == [{"id": "1"}]


def test_the_service_role_may_invoke_that_one_function(aws: StandIn, state: State) -> None:
    role = iam.ensure_role("svc", "svc-s3", ACCOUNT, REGION, "bucket", state)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:grader"
    policy_arn = iam.allow_invoke("svc", "svc-invoke-grader", arn, state)
    iam_api = clients.client("iam")
    attached = iam_api.list_attached_role_policies(RoleName="svc")["AttachedPolicies"]
    assert policy_arn in [p["PolicyArn"] for p in attached]
    version = iam_api.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam_api.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    statements = document["PolicyVersion"]["Document"]["Statement"]
    assert statements == [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn}]
    assert role.endswith(":role/svc")
    cleanup.cleanup(state)
    assert remaining()["policies"] == [] and remaining()["roles"] == []
    with pytest.raises(ClientError):
        iam_api.get_policy(PolicyArn=policy_arn)


def test_a_deployed_file_answers_through_the_stand_ins_real_invoke(
    aws: StandIn, state: State, tmp_path: Path
) -> None:
    path = tmp_path / "double_reward.py"
    path.write_text(
        "import os\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('boom'):\n"
        "        raise KeyError('reference_answer')\n"
        "    return {'double': 2 * event['n'], 'mode': os.environ['MODE']}\n"
    )
    role = lambdas.ensure_function_role("double-role", "double", ACCOUNT, REGION, state)
    made = lambdas.deploy(
        path, name="double", role_arn=role, state=state, environment={"MODE": "strict"}
    )
    assert lambdas.invoke(made, {"n": 21}) == {"double": 42, "mode": "strict"}
    assert lambdas.invoke(made, {"n": 5}) == {"double": 10, "mode": "strict"}
    with pytest.raises(WorkshopError, match=r"failed: KeyError: 'reference_answer'"):
        lambdas.invoke(made, {"boom": True})
    cleanup.cleanup(state)
    assert remaining()["lambda functions"] == []


def test_a_judges_role_may_call_its_model_and_through_a_profile_its_regions() -> None:
    direct = iam.invoke_model_statement(
        "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", REGION, ACCOUNT
    )
    assert direct == {
        "Effect": "Allow",
        "Action": "bedrock:InvokeModel",
        "Resource": [f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-pro-v1:0"],
    }
    profiled = iam.invoke_model_statement(
        "amazon.nova-2-lite-v1:0", "us.amazon.nova-2-lite-v1:0", REGION, ACCOUNT
    )
    assert profiled["Resource"] == [
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.amazon.nova-2-lite-v1:0",
        "arn:aws:bedrock:*::foundation-model/amazon.nova-2-lite-v1:0",
    ]


def test_remove_deletes_the_function_its_role_and_only_the_policies_it_recorded(
    aws: StandIn, state: State, handler_file: Path
) -> None:
    role = lambdas.ensure_function_role("grader", "grader", ACCOUNT, REGION, state)
    made = lambdas.deploy(handler_file, name="grader", role_arn=role, state=state)
    iam_api = clients.client("iam")
    foreign = iam_api.create_policy(
        PolicyName="someone-elses",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam_api.attach_role_policy(RoleName="grader", PolicyArn=foreign)
    assert lambdas.remove(made.name, "grader", state) == {"function": "deleted", "role": "deleted"}
    left = remaining()
    assert left["lambda functions"] == [] and left["roles"] == []
    assert left["policies"] == ["someone-elses"]  # detached so the role could go, never deleted
    assert state.resources() == []
    assert lambdas.remove(made.name, "grader", state) == {
        "function": "already gone",
        "role": "already gone",
    }


def test_remove_policy_takes_the_grant_off_the_service_role(aws: StandIn, state: State) -> None:
    iam.ensure_role("svc", "svc-s3", ACCOUNT, REGION, "bucket", state)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:grader"
    grant = iam.allow_invoke("svc", "svc-grader", arn, state)
    assert iam.remove_policy(grant, state) is True
    attached = clients.client("iam").list_attached_role_policies(RoleName="svc")
    assert [p["PolicyName"] for p in attached["AttachedPolicies"]] == ["svc-s3"]
    assert [r["id"] for r in state.resources(Kind.POLICY)] == ["svc-s3"]
    assert iam.remove_policy(grant, state) is False
