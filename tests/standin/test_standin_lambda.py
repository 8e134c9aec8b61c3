"""The stand-in's Lambda ``Invoke``: the function's own code runs, through boto3 and directly."""

from __future__ import annotations

import base64
import io
import json
import textwrap
import time
import zipfile
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from standin import StandIn
from standin.lambdas import LambdaError
from tests.helpers import REGION, checked, make_bucket
from utils import clients, lambdas

LAMBDA = botocore.session.get_session().get_service_model("lambda")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


def _role() -> str:
    iam = clients.client("iam")
    try:
        return str(iam.get_role(RoleName="lambda-test-role")["Role"]["Arn"])
    except ClientError:
        made = iam.create_role(
            RoleName="lambda-test-role", AssumeRolePolicyDocument=json.dumps(lambdas.trust_policy())
        )
        return str(made["Role"]["Arn"])


def _function(name: str, files: dict[str, str], handler: str, **extra: Any) -> str:
    """Create a function from source files and wait until it is Active; returns its ARN."""
    api = clients.client("lambda")
    made = api.create_function(
        FunctionName=name,
        Runtime=extra.pop("Runtime", "python3.11"),
        Role=_role(),
        Handler=handler,
        Code={"ZipFile": _zip(files)},
        **extra,
    )
    api.get_waiter("function_active_v2").wait(FunctionName=name)
    return str(made["FunctionArn"])


def _invoke(**kwargs: Any) -> tuple[dict[str, Any], bytes]:
    """``invoke`` through boto3, its output checked against botocore's shape; and the payload."""
    resp = clients.client("lambda").invoke(**kwargs)
    payload = resp["Payload"].read()
    checked(LAMBDA, "Invoke", {**resp, "Payload": payload})
    return resp, payload


PROOF = """
    import json
    import os

    import boto3


    def handler(event, context):
        key = f"proof/{event['n']}.json"
        record = {
            "square": event["n"] ** 2,
            "request": context.aws_request_id,
            "function": context.function_name,
            "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
        }
        boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(record))
        return {"key": key, "square": record["square"]}
"""


def test_function_writes_to_s3_through_the_standin(aws: StandIn) -> None:
    bucket = make_bucket("lambda-proof-bucket")
    arn = _function(
        "proof-writer",
        {"app.py": PROOF},
        "app.handler",
        Timeout=30,
        MemorySize=256,
        Environment={"Variables": {"BUCKET": bucket}},
    )
    answers = []
    for n in (3, 7):
        resp, payload = _invoke(FunctionName="proof-writer", Payload=json.dumps({"n": n}))
        assert resp["StatusCode"] == 200
        assert "FunctionError" not in resp
        assert resp["ExecutedVersion"] == "$LATEST"
        answers.append(json.loads(payload))
    assert answers == [{"key": "proof/3.json", "square": 9}, {"key": "proof/7.json", "square": 49}]
    s3 = clients.client("s3")
    proofs = [
        json.loads(s3.get_object(Bucket=bucket, Key=a["key"])["Body"].read()) for a in answers
    ]
    assert [p["square"] for p in proofs] == [9, 49]
    assert proofs[0]["request"] != proofs[1]["request"]
    assert {p["function"] for p in proofs} == {"proof-writer"}
    assert {p["arn"] for p in proofs} == {arn}
    assert {p["memory"] for p in proofs} == {256}
    assert all(0 < p["remaining"] <= 30_000 for p in proofs)


def test_handler_name_and_environment_are_honoured(aws: StandIn) -> None:
    code = """
        import importlib.util
        import os


        def lambda_handler(event, context):
            return "wrong handler"


        def main(event, context):
            return {
                "greeting": os.environ["GREETING"] + ", " + event["who"],
                "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
                "region": os.environ["AWS_REGION"],
                "default_region": os.environ["AWS_DEFAULT_REGION"],
                "handler_var": os.environ["_HANDLER"],
                "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
                "key": os.environ.get("AWS_ACCESS_KEY_ID"),
                "workshop_home": os.environ.get("WORKSHOP_HOME"),
                # The stand-in's own code is not on the function's path.
                "sees_project": importlib.util.find_spec("standin") is not None,
            }
    """
    _function(
        "env-reader",
        {"pkg/__init__.py": "", "pkg/greeter.py": code},
        "pkg.greeter.main",
        Environment={"Variables": {"GREETING": "Hello", "AWS_REGION": "eu-west-9"}},
    )
    _, payload = _invoke(FunctionName="env-reader", Payload=b'{"who": "Ada"}')
    answer = json.loads(payload)
    assert answer == {
        "greeting": "Hello, Ada",
        "name": "env-reader",
        # Reserved variables are Lambda's, whatever the function's configuration says.
        "region": REGION,
        "default_region": REGION,
        "handler_var": "pkg.greeter.main",
        "endpoint": aws.endpoint,
        "key": "testing",
        "workshop_home": None,
        "sees_project": False,
    }


def test_timeout_is_a_timed_out_function_error(aws: StandIn) -> None:
    code = """
        import time


        def handler(event, context):
            print("going to sleep")
            time.sleep(5)
            return "woke up"
    """
    _function("sleeper", {"sleeper.py": code}, "sleeper.handler", Timeout=1)
    started = time.monotonic()
    resp, payload = _invoke(FunctionName="sleeper", LogType="Tail")
    took = time.monotonic() - started
    assert took < 3, f"the timeout took {took:.1f} s to be enforced"
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    error = json.loads(payload)
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1." in error["errorMessage"]
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "going to sleep" in log
    assert "Task timed out after 1." in log


def test_exception_is_an_unhandled_function_error(aws: StandIn) -> None:
    code = """
        def handler(event, context):
            raise ValueError(f"cannot grade {event['answer']!r}")


        def unserialisable(event, context):
            return {1, 2}
    """
    _function("failer", {"failer.py": code}, "failer.handler")
    _function("marshal", {"failer.py": code}, "failer.unserialisable")
    resp, payload = _invoke(FunctionName="failer", Payload=b'{"answer": "forty-two"}')
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    error = json.loads(payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "cannot grade 'forty-two'"
    assert any("failer.py" in line and "in handler" in line for line in error["stackTrace"])
    resp, payload = _invoke(FunctionName="marshal")
    assert resp["FunctionError"] == "Unhandled"
    error = json.loads(payload)
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response:")
    assert "set" in error["errorMessage"]


def test_log_tail_holds_what_the_function_printed(aws: StandIn) -> None:
    code = """
        import sys


        def handler(event, context):
            print("scoring", event["id"])
            print("x" * 6000)
            print("warning on stderr", file=sys.stderr)
            print("last line", event["id"])
            return "ok"
    """
    _function("printer", {"printer.py": code}, "printer.handler")
    resp, payload = _invoke(FunctionName="printer", Payload=b'{"id": 17}', LogType="Tail")
    assert json.loads(payload) == "ok"
    tail = base64.b64decode(resp["LogResult"])
    assert len(tail) == 4096  # the last 4 KB only: the first line is gone
    text = tail.decode()
    assert "scoring 17" not in text
    assert "warning on stderr\nlast line 17\n" in text
    assert f"END RequestId: {resp['ResponseMetadata']['RequestId']}" in text
    assert "REPORT RequestId:" in text
    plain, _ = _invoke(FunctionName="printer", Payload=b'{"id": 18}')
    assert "LogResult" not in plain


def test_dry_run_and_event_invocations(aws: StandIn) -> None:
    bucket = make_bucket("lambda-dry-run-bucket")
    _function(
        "proof-writer",
        {"app.py": PROOF},
        "app.handler",
        Timeout=30,
        Environment={"Variables": {"BUCKET": bucket}},
    )
    s3 = clients.client("s3")
    resp, payload = _invoke(
        FunctionName="proof-writer", InvocationType="DryRun", Payload=b'{"n": 1}'
    )
    assert resp["StatusCode"] == 204
    assert payload == b""
    time.sleep(0.5)  # a run, had there been one, would have written by now
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    resp, payload = _invoke(
        FunctionName="proof-writer", InvocationType="Event", Payload=b'{"n": 4}'
    )
    assert resp["StatusCode"] == 202
    assert payload == b""
    deadline = time.monotonic() + 10
    while s3.list_objects_v2(Bucket=bucket).get("KeyCount") != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    proof = json.loads(s3.get_object(Bucket=bucket, Key="proof/4.json")["Body"].read())
    assert proof["square"] == 16


def test_unknown_function_and_bad_requests_are_lambda_errors(aws: StandIn) -> None:
    api = clients.client("lambda")
    with pytest.raises(api.exceptions.ResourceNotFoundException) as caught:
        api.invoke(FunctionName="no-such-function", Payload=b"{}")
    error = caught.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Message"] == (
        f"Function not found: arn:aws:lambda:{REGION}:123456789012:function:no-such-function"
    )
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        api.invoke(FunctionName="no-such-function", InvocationType="DryRun")
    _function(
        "echo", {"echo.py": "def handler(event, context):\n    return event\n"}, "echo.handler"
    )
    with pytest.raises(api.exceptions.InvalidRequestContentException):
        api.invoke(FunctionName="echo", Payload=b"{not json")
    too_big = json.dumps({"blob": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(api.exceptions.RequestTooLargeException):
        api.invoke(FunctionName="echo", Payload=too_big)
    _, payload = _invoke(FunctionName="echo", Payload=b'{"back": [1, "two"]}')
    assert json.loads(payload) == {"back": [1, "two"]}
    _function("node", {"index.js": "exports.handler = async () => 1;\n"}, "index.handler",
              Runtime="nodejs20.x")  # fmt: skip
    with pytest.raises(api.exceptions.InvalidRuntimeException, match="Python functions only"):
        api.invoke(FunctionName="node", Payload=b"{}")
    # Other Lambda calls stay moto's.
    names = [f["FunctionName"] for f in api.list_functions()["Functions"]]
    assert sorted(names) == ["echo", "node"]


def test_python_api_runs_a_function_directly(aws: StandIn) -> None:
    code = """
        def handler(event, context):
            print("seen", event)
            return {"total": sum(event["values"]), "function": context.function_name}
    """
    arn = _function("adder", {"adder.py": code}, "adder.handler")
    result = aws.lambdas.invoke(f"{arn}:$LATEST", b'{"values": [1, 2, 39]}', region=REGION)
    assert result.status == 200
    assert result.function_error is None
    assert result.json() == {"total": 42, "function": "adder"}
    assert "seen {'values': [1, 2, 39]}" in result.log
    assert "seen" in base64.b64decode(result.log_tail).decode()
    empty = aws.lambdas.invoke("adder", b"", region=REGION)
    assert empty.function_error == "Unhandled"
    assert empty.json()["errorType"] == "KeyError"
    with pytest.raises(LambdaError) as caught:
        aws.lambdas.invoke("adder", b"{}", region="us-west-2")
    assert (caught.value.code, caught.value.status) == ("ResourceNotFoundException", 404)
