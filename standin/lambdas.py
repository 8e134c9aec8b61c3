"""Lambda ``Invoke`` for the stand-in: run the function's own Python code in a subprocess.

moto 5.2.5 keeps Lambda's control plane (create, get, update, waiters) without Docker, but its
``Invoke`` needs Docker or echoes the request. This module reads a function's configuration and
zip from moto's in-process backend, unzips it once per code hash, and runs the handler in a
fresh ``sys.executable`` process through a bootstrap of our own, with the function's
environment, the stand-in's endpoint and dummy credentials (so boto3 calls made by the function
reach the stand-in), its timeout enforced and its output kept as the execution log.

Facts about Lambda, each read 2026-12-02:

- ``LAMBDA_ERRORS``: "AWS Lambda function errors in Python"
  (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html): an exception raised by
  the handler comes back, for a ``RequestResponse`` call, as a JSON payload with
  ``errorMessage``, ``errorType`` and ``stackTrace``; the same goes to the function's logs.
- ``INVOKE_API``: the documentation of ``Invoke`` in botocore 1.44.5's ``lambda`` model (the
  text of "Invoke", https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, and of the
  AWS SDK references, e.g. the Kotlin SDK's ``InvokeResponse.logResult``): status 200 for
  ``RequestResponse``, 202 for ``Event``, 204 for ``DryRun``; a function error sets
  ``X-Amz-Function-Error``; ``LogType=Tail`` (synchronous calls only) returns "the last 4 KB of
  the execution log, which is base64-encoded" in ``X-Amz-Log-Result``; payloads are at most
  6 MB for synchronous and 1 MB for asynchronous calls (``RequestTooLargeException``, 413;
  its message text here is the stand-in's own).
- ``TIMEOUTS``: "Troubleshoot invocation issues in Lambda"
  (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts)
  names the timeout error type ``Sandbox.Timedout``; the message text ("RequestId: <id> Error:
  Task timed out after 3.00 seconds") is as reported by users (e.g.
  aws/aws-appsync-community#386), not quoted on an AWS page read here.
- ``RUNTIME_FAULTS``: the error types the Python runtime gives for faults outside the handler
  (``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ``Runtime.MarshalError`` with
  "Unable to marshal response: ..." for a result ``json`` cannot encode, ``Runtime.ExitError``)
  are the names of the AWS Lambda Python runtime interface client and of public reports; no
  AWS guide page read here states them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_TAIL_BYTES = 4096
"""``LogType=Tail`` returns the last 4 KB of the execution log (INVOKE_API)."""

MAX_PAYLOAD = {"RequestResponse": 6 * 1024 * 1024, "Event": 1024 * 1024}
"""Largest request payload per invocation type, in bytes (INVOKE_API: 6 MB and 1 MB)."""

DEFAULT_ACCOUNT = "123456789012"
"""moto's default account: the stand-in's only one."""

_ARN = re.compile(
    r"^(?:arn:[^:]+:lambda:(?P<region>[^:]+):)?(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[^:]+))?$"
)

# Variables of the stand-in process that the function must not inherit: they would point it at
# the learner's own AWS setup or at this project's code instead of a clean runtime.
_KEPT_FROM_HOST = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR", "HOME")

_BOOTSTRAP = r'''
"""Run one Lambda handler for the stand-in: argv = task dir, handler, result file."""
import importlib
import json
import os
import sys
import time
import traceback

task_dir, handler_name, result_path = sys.argv[1:4]
deadline = float(os.environ.pop("_STANDIN_DEADLINE"))


class LambdaContext:
    """The attributes of Lambda's Python context object that functions use most."""

    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.pop("_STANDIN_INVOKED_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = os.environ.pop("_STANDIN_REQUEST_ID", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.time()) * 1000))


def finish(answer):
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(answer, out)


def failure(message, kind, stack):
    # The runtime logs the error as well as returning it (python-exceptions page).
    print(f"[ERROR] {kind}: {message}", file=sys.stderr)
    for line in stack:
        print(line.rstrip("\n"), file=sys.stderr)
    finish({"error": {"errorMessage": message, "errorType": kind, "stackTrace": stack}})


def main():
    # The venv may hold this project as an editable install: a Lambda runtime would not have
    # it, so its import hook goes (boto3 and the other installed packages stay, as in Lambda).
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not getattr(f, "__module__", "").startswith("__editable__")]
    sys.path_hooks[:] = [h for h in sys.path_hooks
                         if not getattr(h, "__module__", "").startswith("__editable__")]
    sys.path_importer_cache.clear()
    sys.path.insert(0, task_dir)
    os.chdir(task_dir)
    event = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    module_name, _, function_name = handler_name.rpartition(".")
    if not module_name:
        failure(f"Bad handler '{handler_name}': not enough values to unpack (expected 2, got 1)",
                "Runtime.MalformedHandlerName", [])
        return
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as err:
        failure(f"Unable to import module '{module_name}': {err}", "Runtime.ImportModuleError", [])
        return
    handler = getattr(module, function_name, None)
    if handler is None:
        failure(f"Handler '{function_name}' missing on module '{module_name}'",
                "Runtime.HandlerNotFound", [])
        return
    try:
        result = handler(event, LambdaContext())
    except Exception as err:
        frames = traceback.extract_tb(err.__traceback__)[1:]  # drop this bootstrap's frame
        failure(str(err), type(err).__name__, traceback.format_list(frames))
        return
    try:
        body = json.dumps(result)
    except (TypeError, ValueError) as err:
        failure(f"Unable to marshal response: {err}", "Runtime.MarshalError", [])
        return
    finish({"result": body})


main()
sys.stdout.flush()
sys.stderr.flush()
# End now: a normal exit would wait for threads the handler left running.
os._exit(0)
'''


class LambdaError(Exception):
    """A Lambda API error (not a function error): code, message, HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Function:
    """What running a function needs from its configuration (read from moto)."""

    name: str
    arn: str
    region: str
    runtime: str
    handler: str
    timeout: float
    memory_mb: int
    variables: dict[str, str]
    code: bytes


@dataclass(frozen=True)
class InvokeResult:
    """One invocation: status, the payload bytes, ``Unhandled`` or None, and the log."""

    status: int
    payload: bytes
    function_error: str | None
    log: str
    request_id: str
    executed_version: str = "$LATEST"

    @property
    def log_tail(self) -> str:
        """The last 4 KB of the log, base64-encoded, as ``X-Amz-Log-Result`` carries it."""
        return base64.b64encode(self.log.encode("utf-8")[-LOG_TAIL_BYTES:]).decode("ascii")

    def json(self) -> Any:
        """The payload decoded from JSON (None when empty)."""
        return json.loads(self.payload) if self.payload else None


def parse_name(function: str, region: str) -> tuple[str, str, str]:
    """(account, region, name) of a function name, partial ARN or ARN; the qualifier dropped."""
    found = _ARN.match(function)
    if not found:
        raise LambdaError(
            "ValidationException",
            f"1 validation error detected: Value '{function}' at 'functionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern",
            400,
        )
    return (
        found.group("account") or DEFAULT_ACCOUNT,
        found.group("region") or region,
        found.group("name"),
    )


def find_function(function: str, region: str) -> Function:
    """The function's configuration and code from moto's backend, or ResourceNotFoundException."""
    from moto.awslambda.models import lambda_backends

    account, where, name = parse_name(function, region)
    arn = f"arn:aws:lambda:{where}:{account}:function:{name}"
    try:
        fn = lambda_backends[account][where].get_function(name, None)
    except Exception:  # moto's UnknownFunctionException (or an unknown Region)
        raise LambdaError("ResourceNotFoundException", f"Function not found: {arn}", 404) from None
    return Function(
        name=fn.function_name,
        arn=arn,
        region=where,
        runtime=str(fn.run_time or ""),
        handler=str(fn.handler or ""),
        timeout=float(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        variables={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        code=bytes(getattr(fn, "code_bytes", b"") or b""),
    )


class LocalLambda:
    """Runs functions held by moto's Lambda backend; :attr:`endpoint` is the stand-in's."""

    def __init__(self, endpoint: str | None = None, ca_bundle: str | None = None) -> None:
        self.endpoint = endpoint
        self.ca_bundle = ca_bundle
        self._root = Path(tempfile.mkdtemp(prefix="standin-lambda-"))
        self._lock = threading.Lock()
        self._bootstrap = self._root / "bootstrap.py"
        self._bootstrap.write_text(_BOOTSTRAP, encoding="utf-8")

    def check(self, function: str, region: str) -> Function:
        """The function, if this stand-in can run it (else a Lambda API error)."""
        fn = find_function(function, region)
        if not fn.runtime.startswith("python3"):
            raise LambdaError(
                "InvalidRuntimeException",
                f"The local stand-in runs Python functions only; {fn.name} has runtime "
                f"{fn.runtime or 'none (a container image)'}.",
                502,
            )
        return fn

    def invoke(
        self, function_arn: str, payload: bytes = b"", *, region: str = "us-east-1"
    ) -> InvokeResult:
        """Run the function once on ``payload`` (JSON bytes) and wait for its answer."""
        fn = self.check(function_arn, region)
        return self.run(fn, decode_event(payload, "RequestResponse"))

    def invoke_later(self, function_arn: str, payload: bytes, *, region: str) -> str:
        """Start an ``Event`` invocation in a background thread; returns its request id."""
        fn = self.check(function_arn, region)
        event = decode_event(payload, "Event")
        request_id = str(uuid.uuid4())
        threading.Thread(
            target=self.run, args=(fn, event, request_id), name=f"lambda-{fn.name}", daemon=True
        ).start()
        return request_id

    def run(self, fn: Function, event: bytes, request_id: str | None = None) -> InvokeResult:
        """Run ``fn`` on the JSON ``event`` in a subprocess, enforcing its timeout."""
        request_id = request_id or str(uuid.uuid4())
        task_dir = self._unpacked(fn.code)
        result_file = self._root / f"result-{request_id}.json"
        started = time.time()
        env = self._environment(fn, request_id, started + fn.timeout)
        # -I: none of the host's PYTHON* variables or folders; -u: prints reach the log even
        # when a timeout kills the process. A session of its own, so a timeout kills whatever
        # the handler started too.
        proc = subprocess.Popen(
            [sys.executable, "-I", "-u", str(self._bootstrap), str(task_dir), fn.handler,
             str(result_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=task_dir,
            start_new_session=True,
        )  # fmt: skip
        timed_out = False
        try:
            output, _ = proc.communicate(event, timeout=fn.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            output, _ = proc.communicate()
        elapsed = time.time() - started
        printed = output.decode("utf-8", "replace")
        if printed and not printed.endswith("\n"):
            printed += "\n"
        log = [f"START RequestId: {request_id} Version: $LATEST\n", printed]
        answer: dict[str, Any] = {}
        if result_file.exists():
            answer = json.loads(result_file.read_text(encoding="utf-8"))
            result_file.unlink()
        if timed_out:
            message = f"Task timed out after {elapsed:.2f} seconds"
            log.append(f"{_timestamp()} {request_id} {message}\n")
            error = {"errorType": "Sandbox.Timedout",
                     "errorMessage": f"RequestId: {request_id} Error: {message}"}  # fmt: skip
        elif "error" in answer:
            error = answer["error"]
        elif "result" in answer:
            error = None
        else:
            code = proc.returncode
            reason = f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": f"RequestId: {request_id} Error: Runtime exited with "
                                     f"error: {reason}"}  # fmt: skip
        log.append(f"END RequestId: {request_id}\n")
        log.append(
            f"REPORT RequestId: {request_id}\tDuration: {elapsed * 1000:.2f} ms\t"
            f"Billed Duration: {max(1, round(elapsed * 1000))} ms\t"
            f"Memory Size: {fn.memory_mb} MB\n"
        )
        text = "".join(log)
        if error is not None:
            return InvokeResult(200, json.dumps(error).encode(), "Unhandled", text, request_id)
        return InvokeResult(200, str(answer["result"]).encode(), None, text, request_id)

    def _environment(self, fn: Function, request_id: str, deadline: float) -> dict[str, str]:
        env = {k: os.environ[k] for k in _KEPT_FROM_HOST if k in os.environ}
        env.update(fn.variables)
        # Reserved variables and credentials come after the function's own: Lambda does not let
        # a function set them (they are the runtime's and the execution role's).
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": fn.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "_HANDLER": fn.handler,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "_STANDIN_DEADLINE": repr(deadline),
                "_STANDIN_REQUEST_ID": request_id,
                "_STANDIN_INVOKED_ARN": fn.arn,
            }
        )
        env["LAMBDA_TASK_ROOT"] = str(self._unpacked(fn.code))
        if self.endpoint:
            env["AWS_ENDPOINT_URL"] = self.endpoint
        if self.ca_bundle:
            env["AWS_CA_BUNDLE"] = self.ca_bundle
        return env

    def _unpacked(self, code: bytes) -> Path:
        """The folder the zip is unpacked in, made once per code hash."""
        digest = hashlib.sha256(code).hexdigest()
        folder = self._root / "code" / digest
        with self._lock:
            if not folder.exists():
                partial = folder.with_name(digest + ".partial")
                shutil.rmtree(partial, ignore_errors=True)
                partial.mkdir(parents=True)
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(partial)
                partial.rename(folder)
        return folder

    def close(self) -> None:
        """Remove the unpacked code."""
        shutil.rmtree(self._root, ignore_errors=True)


def decode_event(payload: bytes, kind: str) -> bytes:
    """The payload checked for size and as JSON (an empty one is ``{}``), else a Lambda error."""
    if len(payload) > MAX_PAYLOAD[kind]:
        raise LambdaError(
            "RequestTooLargeException",
            f"Request must be smaller than {MAX_PAYLOAD[kind]} bytes for a {kind} invocation.",
            413,
        )
    # An empty payload reaches the handler as {} (the stand-in's choice: not on a page read).
    if not payload.strip():
        return b"{}"
    try:
        json.loads(payload)
    except ValueError as err:
        raise LambdaError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: {err}",
            400,
        ) from None
    return payload


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
